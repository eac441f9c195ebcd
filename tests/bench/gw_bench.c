/*
 * tests/bench/gw_bench.c: the ceilings for tests/bench/gateway.sh, over the
 * same bundle files: libarchive alone (every header and every byte read,
 * nothing checked), then proto/bundle.c's reader (every check, the files
 * written into a directory, as oagw does before its scans).
 *   gw_bench KEY_SENDER=BASE64 SCRATCH_DIR BUNDLE...
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto/bundle.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void rm_files(const char *dir, const struct bundle *b)
{
    for (size_t i = 0; i < b->nfiles; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, b->files[i].name);
        unlink(p);
    }
}

int main(int argc, char **argv)
{
    setlocale(LC_CTYPE, "C.UTF-8");
    if (argc < 4 || sodium_init() < 0 || !strchr(argv[1], '=')) {
        fprintf(stderr, "usage: gw_bench SENDER=BASE64KEY SCRATCH_DIR BUNDLE...\n");
        return 2;
    }
    struct bundle_key key = {0};
    size_t len = 0;
    char *eq = strchr(argv[1], '=');
    snprintf(key.sender, sizeof key.sender, "%.*s", (int)(eq - argv[1]), argv[1]);
    if (sodium_base642bin(key.pk, 32, eq + 1, strlen(eq + 1), NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) ||
        len != 32)
        return 2;
    int n = argc - 3;
    static char buf[1 << 16];
    unsigned long long bytes = 0;
    double t0 = now();
    for (int i = 3; i < argc; i++) {
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        archive_read_support_filter_gzip(a);
        archive_read_support_format_tar(a);
        if (archive_read_open_filename(a, argv[i], 65536) != ARCHIVE_OK)
            return 1;
        while (archive_read_next_header(a, &e) == ARCHIVE_OK)
            for (la_ssize_t r; (r = archive_read_data(a, buf, sizeof buf)) > 0;)
                bytes += (unsigned long long)r;
        archive_read_free(a);
    }
    double t1 = now();
    printf("libarchive alone:      %8.0f bundles/s  (%d bundles, %.1f MB of entries)\n", n / (t1 - t0), n,
           (double)bytes / 1e6);
    int dfd = open(argv[2], O_RDONLY | O_DIRECTORY);
    struct bundle_limits lim;
    bundle_limits_default(&lim);
    t0 = now();
    for (int i = 3; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY);
        struct bundle b;
        char why[512];
        enum bundle_reason r = bundle_read(fd, dfd, &lim, &key, 1, &b, why, sizeof why);
        close(fd);
        if (r != BUNDLE_R_OK) {
            fprintf(stderr, "%s: %s: %s\n", argv[i], bundle_reason_code(r), why);
            return 1;
        }
        rm_files(argv[2], &b);
        bundle_free(&b);
    }
    t1 = now();
    printf("bundle_read (checked): %8.0f bundles/s  (signature, schema, names, digests, files written)\n",
           n / (t1 - t0));
    close(dfd);
    return 0;
}
