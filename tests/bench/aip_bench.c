/*
 * tests/bench/aip_bench.c: packaging records (proto/aip.c) next to its
 * ceiling, libarchive writing the same entries with the same bytes alone,
 * in the same run; then reading and verifying the package offline, and the
 * whole four-property check.   Usage: aip_bench DIR [RECORDS [FILE_BYTES]]
 *
 * Each record has a formal file of FILE_BYTES (40 KB by default), a small
 * attachment, three process steps and two audit entries with their
 * inclusion proofs in a log of 2 * RECORDS + 1 entries.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/aip.h"
#include "tests/proto/aip_fixture.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        abort();
    fclose(f);
    *len = (size_t)n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: aip_bench DIR [RECORDS [FILE_BYTES]]\n");
        return 2;
    }
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
    size_t bytes = argc > 3 ? strtoul(argv[3], NULL, 10) : 40000;
    char pkg[4096], plain[4096];
    snprintf(pkg, sizeof pkg, "%s/batch.tar", argv[1]);
    snprintf(plain, sizeof plain, "%s/plain.tar", argv[1]);
    static const unsigned char seed[32] = {1, 2, 3};
    char vkey[256];

    /* The package: metadata, digests (SHA-256 and SM3, twice: manifests and metadata), proofs, tar. */
    int fd = open(pkg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    double t0 = now();
    if (aip_fixture_write(fd, n, bytes, seed, vkey, sizeof vkey, NULL) != 0 || fsync(fd) != 0)
        return 1;
    double t_pkg = now() - t0;
    close(fd);

    /* Read it back (not timed here) for the ceiling's entries. */
    size_t len = 0;
    unsigned char *buf = slurp(pkg, &len);
    struct aip_pkg p = {0};
    struct aip_limits lim;
    aip_limits_default(&lim);
    lim.max_total_bytes = (uint64_t)len * 2;
    char why[256];
    t0 = now();
    if (aip_read(buf, len, &lim, &p, why, sizeof why) != 0) {
        fprintf(stderr, "aip_read: %s\n", why);
        return 1;
    }
    double t_read = now() - t0;

    /* The ceiling: libarchive alone writing the same entries and bytes. */
    fd = open(plain, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    t0 = now();
    struct archive *a = archive_write_new();
    archive_write_set_format_gnutar(a);
    archive_write_add_filter_none(a);
    archive_write_open_fd(a, fd);
    for (size_t i = 0; i < p.n; i++) {
        char full[1024];
        snprintf(full, sizeof full, "%s/%s", p.base, p.entries[i].path);
        struct archive_entry *e = archive_entry_new();
        archive_entry_copy_pathname(e, full);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)p.entries[i].len);
        archive_write_header(a, e);
        archive_write_data(a, p.entries[i].data, p.entries[i].len);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    if (fsync(fd) != 0)
        return 1;
    double t_plain = now() - t0;
    close(fd);

    t0 = now();
    struct aip_report r = {0};
    aip_verify(&p, vkey, &r);
    double t_verify = now() - t0;
    bool ok = aip_report_ok(&r);
    aip_report_free(&r);
    t0 = now();
    struct aip_check_policy pol = {.scan_optional = true};
    if (aip_check(&p, vkey, &pol, &r, why, sizeof why) != 0)
        return 1;
    double t_check = now() - t0;
    bool ok2 = aip_report_ok(&r);
    aip_report_free(&r);

    double mb = (double)len / 1e6;
    printf("%zu records, %zu files, package %.1f MB (%zu entries), verified: %s, checked: %s\n", n, 2 * n, mb, p.n,
           ok ? "yes" : "NO", ok2 ? "yes" : "NO");
    printf("  package (aip_write + fsync):    %8.0f records/s %7.1f MB/s  (%.2f s)\n", n / t_pkg, mb / t_pkg, t_pkg);
    printf("  ceiling, libarchive alone:      %8.0f records/s %7.1f MB/s  (%.2f s, same entries and bytes)\n",
           n / t_plain, mb / t_plain, t_plain);
    printf("  read (aip_read, from memory):   %8.0f records/s %7.1f MB/s\n", n / t_read, mb / t_read);
    printf("  verify offline (aip_verify):    %8.0f records/s %7.1f MB/s\n", n / t_verify, mb / t_verify);
    printf("  four-property check (+libmagic):%8.0f records/s %7.1f MB/s\n", n / t_check, mb / t_check);
    aip_pkg_free(&p);
    free(buf);
    unlink(pkg);
    unlink(plain);
    return ok && ok2 ? 0 : 1;
}
