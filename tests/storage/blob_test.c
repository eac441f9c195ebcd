/*
 * tests/storage/blob_test.c: the encrypted blob format on real files: round
 * trips at the sizes around segment boundaries and at 100 MB, both suites,
 * compressible or not; every kind of damage is detected; a blob opens only
 * for its own document and key; ranges; no plaintext on disk.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/blob.h"

static char dir[256];
static unsigned char dek[OA_DEK_LEN];
static const char ad[] = "doc:7|rev:2|level:2";

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/blob-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    oa_dek_new(dek);
}

TestSuite(blob, .init = setup);

struct buf {
    unsigned char *p;
    size_t n, cap;
};

static int collect(void *arg, const void *data, size_t len)
{
    struct buf *b = arg;
    if (b->n + len > b->cap) {
        b->cap = (b->n + len) * 2 + 1;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    return 0;
}

/* Writes data in uneven chunks, as an HTTP body arrives. */
static struct oa_blob_info put(const char *name, enum oa_blob_suite suite, const unsigned char *data, size_t len)
{
    char path[512], cause[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct oa_blob_writer *w;
    cr_assert_eq(oa_blob_writer_open(path, suite, dek, ad, strlen(ad), &w, cause, sizeof(cause)), 0, "%s", cause);
    size_t off = 0, step = 1;
    while (off < len) {
        size_t n = step < len - off ? step : len - off;
        cr_assert_eq(oa_blob_write(w, data + off, n, cause, sizeof(cause)), 0, "%s", cause);
        off += n;
        step = step * 3 + 7;
        if (step > 300000)
            step = 4093;
    }
    struct oa_blob_info info;
    cr_assert_eq(oa_blob_writer_finish(w, &info, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert_eq(info.size, len);
    return info;
}

static int get(const char *name, const void *adv, size_t adlen, uint64_t off, uint64_t len, const unsigned char *digest,
               struct buf *out, char *cause)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    memset(out, 0, sizeof(*out));
    return oa_blob_read(path, dek, adv, adlen, off, len, digest, collect, out, cause, 256);
}

static unsigned char *make(size_t n, bool compressible)
{
    unsigned char *p = malloc(n ? n : 1);
    if (compressible)
        for (size_t i = 0; i < n; i++)
            p[i] = (unsigned char)("关于做好安全生产工作的通知。"[i % 42]);
    else
        randombytes_buf(p, n);
    return p;
}

static void round_trip(size_t n, bool compressible, enum oa_blob_suite suite)
{
    unsigned char *data = make(n, compressible);
    char name[64], cause[256];
    snprintf(name, sizeof(name), "b-%zu-%d-%d", n, compressible, suite);
    struct oa_blob_info info = put(name, suite, data, n);
    if (n >= 4096)
        cr_assert_eq(info.compressed, compressible, "size %zu: compression choice", n);
    struct buf b;
    cr_assert_eq(get(name, ad, strlen(ad), 0, UINT64_MAX, info.digest, &b, cause), 0, "size %zu: %s", n, cause);
    cr_assert_eq(b.n, n);
    cr_assert(n == 0 || memcmp(b.p, data, n) == 0, "size %zu differs", n);
    free(b.p);
    free(data);
}

Test(blob, round_trips_at_segment_boundaries_both_suites)
{
    const size_t sizes[] = {0, 1, 65535, 65536, 65537, 3 * 65536 + 17};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        for (int c = 0; c < 2; c++) {
            round_trip(sizes[i], c, OA_BLOB_AES256GCM);
            round_trip(sizes[i], c, OA_BLOB_SM4_SM3);
        }
}

Test(blob, round_trips_at_100_megabytes)
{
    round_trip(100u << 20, true, OA_BLOB_AES256GCM);
    round_trip(100u << 20, false, OA_BLOB_AES256GCM);
}

static long file_size(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return (long)st.st_size;
}

static void poke(const char *name, long off, unsigned char xor_mask)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDWR);
    unsigned char c;
    cr_assert_eq(pread(fd, &c, 1, off), 1);
    c ^= xor_mask;
    cr_assert_eq(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void cut(const char *name, long size)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    cr_assert_eq(truncate(path, size), 0);
}

static void expect_refused(const char *name, const char *what)
{
    struct buf b;
    char cause[256];
    cr_assert_eq(get(name, ad, strlen(ad), 0, UINT64_MAX, NULL, &b, cause), -1, "%s was not detected", what);
    cr_assert(strstr(cause, "blob"), "%s", cause);
    free(b.p);
}

Test(blob, every_kind_of_damage_is_detected)
{
    for (int suite = OA_BLOB_AES256GCM; suite <= OA_BLOB_SM4_SM3; suite++) {
        size_t n = 4 * 65536 + 100;
        unsigned char *data = make(n, false);
        char name[64];
        long seg = 65536 + (suite == OA_BLOB_SM4_SM3 ? 32 : 16);
        /* A flipped bit in the middle, in a tag, in the header. */
        long offsets[] = {64 + 2 * seg + 1000, 64 + seg - 3, 20, 50, 7};
        for (size_t k = 0; k < sizeof(offsets) / sizeof(offsets[0]); k++) {
            snprintf(name, sizeof(name), "flip-%d-%zu", suite, k);
            put(name, (enum oa_blob_suite)suite, data, n);
            poke(name, offsets[k], 0x04);
            expect_refused(name, "a flipped bit");
        }
        /* Truncated inside the last segment, and exactly at a segment boundary. */
        snprintf(name, sizeof(name), "cut1-%d", suite);
        put(name, (enum oa_blob_suite)suite, data, n);
        cut(name, file_size(name) - 40);
        expect_refused(name, "a truncated tail");
        snprintf(name, sizeof(name), "cut2-%d", suite);
        put(name, (enum oa_blob_suite)suite, data, n);
        cut(name, 64 + 4 * seg);
        expect_refused(name, "truncation at a segment boundary");
        /* Two segments swapped. */
        snprintf(name, sizeof(name), "swap-%d", suite);
        put(name, (enum oa_blob_suite)suite, data, n);
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int fd = open(path, O_RDWR);
        unsigned char *a = malloc((size_t)seg), *b = malloc((size_t)seg);
        cr_assert_eq(pread(fd, a, (size_t)seg, 64), seg);
        cr_assert_eq(pread(fd, b, (size_t)seg, 64 + seg), seg);
        cr_assert_eq(pwrite(fd, b, (size_t)seg, 64), seg);
        cr_assert_eq(pwrite(fd, a, (size_t)seg, 64 + seg), seg);
        close(fd);
        free(a);
        free(b);
        expect_refused(name, "swapped segments");
        free(data);
    }
}

Test(blob, a_blob_opens_only_for_its_own_document_label_and_key)
{
    unsigned char *data = make(200000, true);
    struct oa_blob_info info = put("own", OA_BLOB_AES256GCM, data, 200000);
    struct buf b;
    char cause[256];
    const char *other[] = {"doc:8|rev:2|level:2", "doc:7|rev:3|level:2", "doc:7|rev:2|level:1"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(get("own", other[i], strlen(other[i]), 0, UINT64_MAX, NULL, &b, cause), -1,
                     "opened with '%s'", other[i]);
        free(b.p);
    }
    /* A copy under another name is the same blob; another document's data key does not open it. */
    unsigned char saved[OA_DEK_LEN];
    memcpy(saved, dek, sizeof(saved));
    oa_dek_new(dek);
    cr_assert_eq(get("own", ad, strlen(ad), 0, UINT64_MAX, NULL, &b, cause), -1);
    free(b.p);
    memcpy(dek, saved, sizeof(saved));
    /* A wrong recorded digest is refused too. */
    unsigned char bad[32];
    memcpy(bad, info.digest, 32);
    bad[0] ^= 1;
    cr_assert_eq(get("own", ad, strlen(ad), 0, UINT64_MAX, bad, &b, cause), -1);
    cr_assert(strstr(cause, "digest"), "%s", cause);
    free(b.p);
    free(data);
}

Test(blob, ranges_decrypt_what_they_need)
{
    for (int c = 0; c < 2; c++) {
        size_t n = 5 * 65536 + 321;
        unsigned char *data = make(n, c);
        char name[32];
        snprintf(name, sizeof(name), "range-%d", c);
        put(name, OA_BLOB_AES256GCM, data, n);
        struct {
            uint64_t off, len;
        } r[] = {{0, 10}, {65530, 20}, {3 * 65536, 65536}, {n - 5, 100}, {n + 10, 5}, {123456, 0}};
        for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
            struct buf b;
            char cause[256];
            cr_assert_eq(get(name, ad, strlen(ad), r[i].off, r[i].len, NULL, &b, cause), 0, "%s", cause);
            size_t want = r[i].off >= n ? 0 : (r[i].off + r[i].len > n ? n - r[i].off : r[i].len);
            cr_assert_eq(b.n, want, "range %zu", i);
            cr_assert(want == 0 || memcmp(b.p, data + r[i].off, want) == 0, "range %zu bytes", i);
            free(b.p);
        }
        free(data);
    }
    /* A damaged segment outside the range is not read (uncompressed blobs). */
    cut("range-0", 64 + 2 * (65536 + 16) + 100);
    struct buf b;
    char cause[256];
    cr_assert_eq(get("range-0", ad, strlen(ad), 10, 100, NULL, &b, cause), 0, "%s", cause);
    free(b.p);
}

Test(blob, no_plaintext_reaches_the_disk)
{
    const char marker[] = "MARKER-机密-7f3a9c";
    size_t n = 300000;
    unsigned char *data = make(n, false);
    for (size_t off = 0; off + sizeof(marker) < n; off += 9000)
        memcpy(data + off, marker, sizeof(marker) - 1);
    put("m1", OA_BLOB_AES256GCM, data, n);
    put("m2", OA_BLOB_SM4_SM3, data, n);
    unsigned char *comp = make(n, true);
    memcpy(comp + 5000, marker, sizeof(marker) - 1);
    put("m3", OA_BLOB_AES256GCM, comp, n);
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        cr_assert(strstr(e->d_name, ".tmp-") == NULL, "a temporary file was left: %s", e->d_name);
        char path[600];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        rewind(f);
        char *all = malloc((size_t)len + 1);
        cr_assert_eq(fread(all, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        cr_assert_null(memmem(all, (size_t)len, marker, sizeof(marker) - 1), "plaintext found in %s", e->d_name);
        free(all);
        files++;
    }
    closedir(d);
    cr_assert_eq(files, 3);
    free(data);
    free(comp);
}

Test(blob, an_aborted_blob_leaves_nothing)
{
    char path[512], cause[256];
    snprintf(path, sizeof(path), "%s/aborted", dir);
    struct oa_blob_writer *w;
    cr_assert_eq(oa_blob_writer_open(path, OA_BLOB_AES256GCM, dek, ad, strlen(ad), &w, cause, sizeof(cause)), 0);
    unsigned char *data = make(300000, false);
    cr_assert_eq(oa_blob_write(w, data, 300000, cause, sizeof(cause)), 0);
    oa_blob_writer_abort(w);
    free(data);
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        cr_assert(e->d_name[0] == '.', "left behind: %s", e->d_name);
    closedir(d);
}

Test(blob, data_keys_are_wrapped_per_level_and_version)
{
    struct oa_keys k;
    memset(&k, 0, sizeof(k));
    for (int l = 0; l < OA_KEY_LEVELS; l++) {
        k.kek_version[l] = 1;
        k.kek_present[l][1] = 1;
        randombytes_buf(k.kek[l][1], OA_KEY_LEN);
    }
    unsigned char wrapped[OA_DEK_WRAPPED], back[OA_DEK_LEN];
    int version = 0;
    cr_assert_eq(oa_dek_wrap(&k, 3, dek, wrapped, &version), 0);
    cr_assert_eq(version, 1);
    cr_assert_null(memmem(wrapped, sizeof(wrapped), dek, sizeof(dek)));
    cr_assert_eq(oa_dek_unwrap(&k, 3, 1, wrapped, back), 0);
    cr_assert(memcmp(back, dek, sizeof(dek)) == 0);
    /* A lower level's key opens nothing of a higher level's; an unknown version fails. */
    cr_assert_eq(oa_dek_unwrap(&k, 2, 1, wrapped, back), -1);
    cr_assert_eq(oa_dek_unwrap(&k, 3, 2, wrapped, back), -1);
    /* Rotation: version 2 becomes current; version 1's wraps still open until rewrapped. */
    k.kek_version[3] = 2;
    k.kek_present[3][2] = 1;
    randombytes_buf(k.kek[3][2], OA_KEY_LEN);
    unsigned char rewrapped[OA_DEK_WRAPPED];
    cr_assert_eq(oa_dek_wrap(&k, 3, dek, rewrapped, &version), 0);
    cr_assert_eq(version, 2);
    cr_assert_eq(oa_dek_unwrap(&k, 3, 1, wrapped, back), 0);
    cr_assert_eq(oa_dek_unwrap(&k, 3, 2, rewrapped, back), 0);
    wrapped[20] ^= 1;
    cr_assert_eq(oa_dek_unwrap(&k, 3, 1, wrapped, back), -1);
}

/* ---- pieces: cut in order, decoded in any order ---- */

/* Reads [off, off + len) by taking every piece first and decoding them last to first; the number of pieces. */
static int read_by_pieces(const char *path, const unsigned char *key, uint64_t off, uint64_t len, struct buf *out)
{
    char cause[256];
    struct oa_blob_reader *r;
    cr_assert_eq(oa_blob_reader_open(path, key, ad, strlen(ad), off, len, NULL, &r, cause, sizeof(cause)), 0, "%s",
                 cause);
    struct oa_blob_piece *p[64];
    int n = 0, rc;
    do {
        cr_assert_lt(n, 64);
        p[n] = oa_blob_piece_new();
        rc = oa_blob_reader_take(r, p[n], cause, sizeof(cause));
        cr_assert_geq(rc, 0, "%s", cause);
        if (rc == 1)
            n++;
        else
            oa_blob_piece_free(p[n]);
    } while (rc == 1 && !oa_blob_piece_last(p[n - 1]));
    cr_assert_eq(oa_blob_reader_take(r, p[n] = oa_blob_piece_new(), cause, sizeof(cause)), 0,
                 "nothing follows the last piece");
    oa_blob_piece_free(p[n]);
    unsigned char **outs = calloc((size_t)n + 1, sizeof(*outs));
    const unsigned char **data = calloc((size_t)n + 1, sizeof(*data));
    size_t *lens = calloc((size_t)n + 1, sizeof(*lens));
    for (int i = n - 1; i >= 0; i--) {
        outs[i] = malloc(OA_BLOB_FRAME);
        cr_assert_eq(oa_blob_piece_decode(r, p[i], outs[i], OA_BLOB_FRAME, &data[i], &lens[i], cause, sizeof(cause)),
                     0, "piece %d: %s", i, cause);
    }
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < n; i++) {
        collect(out, data[i], lens[i]);
        free(outs[i]);
        oa_blob_piece_free(p[i]);
    }
    free(outs);
    free(data);
    free(lens);
    oa_blob_reader_close(r);
    return n;
}

static void check_ranges(const char *name, const unsigned char *key, const unsigned char *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    const uint64_t F = OA_BLOB_FRAME, S = OA_BLOB_SEGMENT;
    uint64_t ranges[][2] = {
        {0, UINT64_MAX}, {0, 1},         {F - 1, 2},     {F, F},         {F + 5, 2 * F + 17},
        {S - 3, 7},      {3 * S + 1, S}, {n - 1, 1},     {n - F - 9, UINT64_MAX}, {2 * F, 0},
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        uint64_t off = ranges[i][0], len = ranges[i][1];
        if (off >= n)
            continue;
        uint64_t want = len == UINT64_MAX || len > n - off ? n - off : len;
        struct buf b;
        read_by_pieces(path, key, off, len == UINT64_MAX ? UINT64_MAX : want, &b);
        cr_assert_eq(b.n, want, "%s [%llu, +%llu): %zu bytes", name, (unsigned long long)off,
                     (unsigned long long)want, b.n);
        cr_assert(want == 0 || memcmp(b.p, data + off, want) == 0, "%s [%llu, +%llu) differs", name,
                  (unsigned long long)off, (unsigned long long)want);
        free(b.p);
    }
}

Test(blob, pieces_decode_out_of_order_and_cover_every_range)
{
    size_t n = 3 * OA_BLOB_FRAME + 12345;
    unsigned char *text = make(n, true), *noise = make(n, false);
    cr_assert(put("pieces-text", OA_BLOB_AES256GCM, text, n).compressed);
    cr_assert(!put("pieces-noise", OA_BLOB_SM4_SM3, noise, n).compressed);
    check_ranges("pieces-text", dek, text, n);
    check_ranges("pieces-noise", dek, noise, n);
    free(text);
    free(noise);
}

/* The last frame, with nothing left to overlap it with, is compressed as two halves at once when long. */
Test(blob, a_long_last_frame_is_split_in_two_and_reads_across_the_cut)
{
    const size_t F = OA_BLOB_FRAME, tail = 400000, n = 2 * F + tail;
    unsigned char *text = make(n, true);
    cr_assert(put("long-tail", OA_BLOB_AES256GCM, text, n).compressed);
    char path[512];
    snprintf(path, sizeof(path), "%s/long-tail", dir);
    const uint64_t cut = 2 * F + tail / 2;
    const uint64_t ranges[][2] = {{0, n}, {cut - 1, 2}, {cut, tail / 2}, {cut - 5000, 10000}, {2 * F - 1, 3}};
    const int pieces[] = {4, 2, 1, 2, 2};
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        struct buf b;
        int got = read_by_pieces(path, dek, ranges[i][0], ranges[i][1], &b);
        cr_assert_eq(got, pieces[i], "[%llu, +%llu): %d pieces", (unsigned long long)ranges[i][0],
                     (unsigned long long)ranges[i][1], got);
        cr_assert_eq(b.n, ranges[i][1]);
        cr_assert(memcmp(b.p, text + ranges[i][0], b.n) == 0, "[%llu, +%llu) differs",
                  (unsigned long long)ranges[i][0], (unsigned long long)ranges[i][1]);
        free(b.p);
    }
    /* A short last frame stays one. */
    cr_assert(put("short-tail", OA_BLOB_AES256GCM, text, 2 * F + 1000).compressed);
    snprintf(path, sizeof(path), "%s/short-tail", dir);
    struct buf b;
    cr_assert_eq(read_by_pieces(path, dek, 0, 2 * F + 1000, &b), 3);
    cr_assert(memcmp(b.p, text, b.n) == 0);
    free(b.p);
    free(text);
}

/* The text and key stream-v1.blob was written with (before frames: one zstd stream). */
static unsigned char *stream_v1_text(size_t *n, unsigned char key[OA_DEK_LEN])
{
    static const char *w[] = {"关于", "公文", "处理", "通知", "各部门", "要求", "落实",
                              "2026", "年",   "第",   "号",   " ",      "\n"};
    size_t cap = 1500000, len = 0;
    unsigned char *p = malloc(cap);
    unsigned x = 12345;
    for (int i = 0; i < OA_DEK_LEN; i++)
        key[i] = (unsigned char)(i * 7 + 1);
    while (len < cap - 16) {
        x = x * 1103515245 + 12345;
        const char *s = w[(x >> 16) % 13];
        memcpy(p + len, s, strlen(s));
        len += strlen(s);
    }
    while (len < cap)
        p[len++] = '.';
    *n = len;
    return p;
}

Test(blob, a_blob_written_as_one_stream_still_reads)
{
    unsigned char key[OA_DEK_LEN];
    size_t n;
    unsigned char *text = stream_v1_text(&n, key);
    char src[512], cmd[1200];
    const char *root = getenv("TEST_SRCDIR"), *ws = getenv("TEST_WORKSPACE");
    snprintf(src, sizeof(src), "%s/%s/tests/storage/testdata/stream-v1.blob", root ? root : ".", ws ? ws : "oa");
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s/stream-v1'", src, dir);
    cr_assert_eq(system(cmd), 0, "cannot copy %s", src);
    check_ranges("stream-v1", key, text, n);
    free(text);
}

/*
 * A compressed stream sets its own window, and zstd's streaming decoder
 * allocates that window: 128 MiB for one byte of a frame header.  The reader
 * allows what the writer ever used (2 MiB: level 3, one stream).  Both files
 * are one stream of the same 12000 bytes (testdata/window_blobs.py), and
 * differ only in that byte.  Found by tests/fuzz:fuzz_blob.
 */
Test(blob, a_compressed_stream_may_not_ask_for_a_large_window)
{
    unsigned char key[OA_DEK_LEN];
    for (int i = 0; i < OA_DEK_LEN; i++)
        key[i] = (unsigned char)(i * 7 + 1);
    const char *root = getenv("TEST_SRCDIR"), *ws = getenv("TEST_WORKSPACE");
    const char *names[] = {"window-21", "window-27"};
    for (int i = 0; i < 2; i++) {
        char src[512], cause[256] = "";
        snprintf(src, sizeof(src), "%s/%s/tests/storage/testdata/%s.blob", root ? root : ".", ws ? ws : "oa", names[i]);
        struct buf b = {0};
        int rc = oa_blob_read(src, key, ad, strlen(ad), 0, UINT64_MAX, NULL, collect, &b, cause, sizeof(cause));
        if (i == 0) {
            cr_assert_eq(rc, 0, "%s: %s", names[i], cause);
            cr_assert_eq(b.n, 12000);
        } else {
            cr_assert_eq(rc, -1, "%s read %zu bytes", names[i], b.n);
            cr_assert(strstr(cause, "does not decompress"), "%s", cause);
        }
        free(b.p);
    }
}
