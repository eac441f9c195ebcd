/*
 * tests/proto/bundle_test.c: the bundle writer and reader together on real
 * files: what the writer makes the reader accepts, byte for byte; the
 * manifest builder refuses what the schema refuses; the reason codes are
 * the stable list docs/BUNDLE.md documents.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/bundle.h"
#include "proto/value.h"

static char tmp[64];
static unsigned char pk[32], sk[64];

static void setup(void)
{
    setlocale(LC_CTYPE, "C.UTF-8");
    cr_assert(sodium_init() >= 0);
    crypto_sign_keypair(pk, sk);
    snprintf(tmp, sizeof tmp, "/tmp/bundle-test-XXXXXX");
    cr_assert(mkdtemp(tmp));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(bundle, .init = setup, .fini = teardown);

static void put(const char *name, const void *p, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

static cbor_item_t *json(const char *text)
{
    cbor_item_t *it = NULL;
    char why[128];
    cr_assert_eq(pv_decode_json(text, strlen(text), &it, why, sizeof why), OA_E_OK, "%s", why);
    return it;
}

static const char *request =
    "{\"applicant\":{\"name\":\"张三\",\"id_type\":\"resident_id\",\"id_number\":\"1101\",\"contact\":\"138\"},"
    "\"subject\":\"预算\",\"reply_form\":\"paper\",\"submitted\":\"2026-12-01T09:00:00+08:00\","
    "\"confirmed\":\"2026-12-01T10:00:00Z\"}";

/* Writes a bundle of the given files into tmp/b.tar; returns its fd for reading. */
static int write_bundle(const struct bundle_src *src, size_t n, const char *content)
{
    cbor_item_t *c = json(content);
    size_t mlen = 0;
    char why[256] = "", path[128];
    unsigned char *m = bundle_manifest_build(BUNDLE_PUBLIC_REQUEST, "portal", 7, "2026-12-01T10:00:01Z", c, src, n,
                                             &mlen, why, sizeof why);
    cbor_decref(&c);
    cr_assert(m, "%s", why);
    snprintf(path, sizeof path, "%s/b.tar", tmp);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    cr_assert(fd >= 0);
    cr_assert_eq(bundle_write(fd, m, mlen, sk, src, n, why, sizeof why), 0, "%s", why);
    free(m);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

Test(bundle, what_the_writer_makes_the_reader_accepts)
{
    put("a.pdf", "%PDF-1.4\n", 9);
    put("说明.txt", "一份说明\n", 13);
    char p1[128], p2[128], out[128];
    snprintf(p1, sizeof p1, "%s/a.pdf", tmp);
    snprintf(p2, sizeof p2, "%s/说明.txt", tmp);
    struct bundle_src src[] = {{"a.pdf", p1}, {"说明.txt", p2}};
    int fd = write_bundle(src, 2, request);
    snprintf(out, sizeof out, "%s/out", tmp);
    cr_assert_eq(mkdir(out, 0700), 0);
    int dfd = open(out, O_RDONLY | O_DIRECTORY);
    struct bundle_key key = {.sender = "portal"};
    memcpy(key.pk, pk, 32);
    struct bundle b;
    char why[256] = "";
    cr_assert_eq(bundle_read(fd, dfd, NULL, &key, 1, &b, why, sizeof why), BUNDLE_R_OK, "%s", why);
    cr_assert_eq(b.type, BUNDLE_PUBLIC_REQUEST);
    cr_assert_eq(b.seq, 7);
    cr_assert_str_eq(b.sender, "portal");
    cr_assert_eq(b.nfiles, 2);
    cr_assert_str_eq(b.files[1].name, "说明.txt");
    char id[65];
    bundle_sha256_hex(b.manifest, b.manifest_len, id);
    cr_assert_str_eq(b.id, id);
    bundle_free(&b);
    char back[64] = {0};
    int f = openat(dfd, "说明.txt", O_RDONLY);
    cr_assert(f >= 0);
    cr_assert_eq(read(f, back, sizeof back), 13);
    cr_assert_str_eq(back, "一份说明\n");
    close(f);
    /* the same bytes again into the same directory: the reader never overwrites a file */
    lseek(fd, 0, SEEK_SET);
    cr_assert_eq(bundle_read(fd, dfd, NULL, &key, 1, &b, why, sizeof why), BUNDLE_R_IO);
    close(dfd);
    /* another key is not trusted */
    unsigned char pk2[32], sk2[64];
    crypto_sign_keypair(pk2, sk2);
    memcpy(key.pk, pk2, 32);
    lseek(fd, 0, SEEK_SET);
    cr_assert_eq(bundle_read(fd, -1, NULL, &key, 1, &b, why, sizeof why), BUNDLE_R_UNTRUSTED_KEY);
    close(fd);
}

Test(bundle, a_compression_bomb_is_refused_by_ratio_and_the_total_by_size)
{
    size_t n = 3u << 20;
    char *zeros = calloc(1, n);
    put("z.txt", zeros, n);
    free(zeros);
    char p[128], cmd[300];
    snprintf(p, sizeof p, "%s/z.txt", tmp);
    struct bundle_src src[] = {{"z.txt", p}};
    close(write_bundle(src, 1, request));
    snprintf(cmd, sizeof cmd, "gzip -9 -c %s/b.tar > %s/b.tgz", tmp, tmp);
    cr_assert_eq(system(cmd), 0);
    snprintf(p, sizeof p, "%s/b.tgz", tmp);
    struct bundle_key key = {.sender = "portal"};
    memcpy(key.pk, pk, 32);
    struct bundle_limits lim;
    bundle_limits_default(&lim);
    struct bundle b;
    char why[256];
    int fd = open(p, O_RDONLY);
    cr_assert_eq(bundle_read(fd, -1, &lim, &key, 1, &b, why, sizeof why), BUNDLE_R_RATIO, "%s", why);
    close(fd);
    lim.max_ratio = 100000;
    lim.max_total_bytes = 2u << 20;
    fd = open(p, O_RDONLY);
    cr_assert_eq(bundle_read(fd, -1, &lim, &key, 1, &b, why, sizeof why), BUNDLE_R_TOO_LARGE, "%s", why);
    close(fd);
    lim.max_total_bytes = 8u << 20;
    fd = open(p, O_RDONLY);
    cr_assert_eq(bundle_read(fd, -1, &lim, &key, 1, &b, why, sizeof why), BUNDLE_R_OK, "%s", why);
    bundle_free(&b);
    close(fd);
}

Test(bundle, the_builder_refuses_what_the_schema_refuses)
{
    static const char *const bad[] = {
        "{}",
        "{\"subject\":\"x\"}",
        "{\"applicant\":{\"name\":\"a\",\"id_type\":\"b\",\"id_number\":\"c\",\"contact\":\"d\"},\"subject\":\"x\","
        "\"reply_form\":\"carrier pigeon\",\"submitted\":\"2026-12-01T09:00:00Z\",\"confirmed\":\"2026-12-01T09:00:00Z\"}",
        "{\"applicant\":{\"name\":\"a\",\"id_type\":\"b\",\"id_number\":\"c\",\"contact\":\"d\",\"age\":3},\"subject\":"
        "\"x\",\"reply_form\":\"paper\",\"submitted\":\"2026-12-01T09:00:00Z\",\"confirmed\":\"2026-12-01T09:00:00Z\"}",
        "{\"applicant\":{\"name\":\"a\",\"id_type\":\"b\",\"id_number\":\"c\",\"contact\":\"d\"},\"subject\":\"x\","
        "\"reply_form\":\"paper\",\"submitted\":\"2026-13-01T09:00:00Z\",\"confirmed\":\"2026-12-01T09:00:00Z\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cbor_item_t *c = json(bad[i]);
        size_t len = 0;
        char why[256] = "";
        unsigned char *m = bundle_manifest_build(BUNDLE_PUBLIC_REQUEST, "portal", 1, "2026-12-01T10:00:01Z", c, NULL,
                                                 0, &len, why, sizeof why);
        cbor_decref(&c);
        cr_expect_null(m, "case %zu was accepted", i);
        cr_expect(why[0], "case %zu: no reason given", i);
        free(m);
    }
}

Test(bundle, the_reason_codes_are_the_documented_stable_list)
{
    static const char *const codes[] = {
        "ok",           "format",       "layout",           "path_traversal",  "absolute_path", "bad_name",
        "symlink",      "hardlink",     "device",           "fifo",            "special",       "duplicate",
        "too_many_entries", "entry_too_large", "too_large", "ratio",          "nested_archive", "unlisted",
        "missing",      "size_mismatch", "digest",          "no_signature",    "bad_signature", "untrusted_key",
        "schema",       "content_type", "virus",            "replayed",        "refused",       "io",
    };
    cr_assert_eq(sizeof codes / sizeof codes[0], BUNDLE_R__COUNT);
    for (int i = 0; i < BUNDLE_R__COUNT; i++)
        cr_expect_str_eq(bundle_reason_code((enum bundle_reason)i), codes[i]);
}
