/*
 * tests/fuzz/fuzz_blob.c: libFuzzer target for the blob reader
 * (storage/blob_read.c, format in storage/BLOB-FORMAT.md).  Every input
 * becomes a blob file in a temporary directory and is read back with a fixed
 * data key and associated data through the public reader API: whole
 * (oa_blob_read, which fills), in pieces (take, then decode), and over a
 * range both ways, then against its digest.  Any failure must be -1 with a
 * cause; reads that succeed must agree with each other.
 *
 * Input: mode(1) repeat(1) offset(4, big-endian) length(4, 0xffffffff: to
 * the end) then the payload.  Mode bit 0 clear: the payload is the file as
 * it is (the committed corpus holds real blobs written with this key, so
 * mutations reach the header and length checks; past them a changed byte
 * fails authentication).  Bit 0 set: the payload, repeated 1 + repeat % 24
 * times, is the stored stream, and this file seals it itself, after
 * BLOB-FORMAT.md, so that mutations of a compressed stream get past the tags
 * and reach the decompression: bit 1 suite 2 (else 1), bits 2 and 3 the
 * header's flags (compressed, independent frames), bit 4 the final segment
 * not marked last (a truncated blob), bit 5 sealed for another document.
 * LLVMFuzzerInitialize checks that this sealing is the writer's.
 */
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/blob.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                                    \
    do {                                                                                                            \
        if (!(c)) {                                                                                                 \
            fprintf(stderr, "fuzz_blob: %s fails (line %d)\n", #c, __LINE__);                                     \
            __builtin_trap();                                                                                       \
        }                                                                                                           \
    } while (0)

#define HEADER 64
#define PREFIX 10
#define MAX_STORED (5 * OA_BLOB_SEGMENT) /* a sealed stream is cut here: five segments */
#define LIMIT (2u * OA_BLOB_FRAME)      /* plaintext kept per read; past it a read stops */

enum { M_SEALED = 1, M_SM4 = 2, M_COMPRESSED = 4, M_FRAMED = 8, M_NOT_LAST = 16, M_OTHER_DOC = 32 };

/* tests/storage/blob_test.c's key for testdata/stream-v1.blob, and its associated data. */
static unsigned char dek[OA_DEK_LEN];
static const char ad[] = "doc:7|rev:2|level:2";
static const char other_ad[] = "doc:8|rev:2|level:2";
static char dir[4096], path[4200];
static unsigned char *file, *frame;
static bool verbose; /* FUZZ_BLOB_VERBOSE=1: a line per input, how each read went */

/* ---- sealing, after BLOB-FORMAT.md (not the writer's code) ---- */

static void header_for(unsigned char h[HEADER], int suite, int flags)
{
    memset(h, 0, HEADER);
    memcpy(h, "OABLOB", 6);
    h[6] = 1;
    h[7] = (unsigned char)suite;
    h[8] = (unsigned char)flags;
    h[10] = (OA_BLOB_SEGMENT >> 24) & 0xff;
    h[11] = (OA_BLOB_SEGMENT >> 16) & 0xff;
    h[12] = (OA_BLOB_SEGMENT >> 8) & 0xff;
    h[13] = OA_BLOB_SEGMENT & 0xff;
    memset(h + 16, 0x5a, 32); /* salt */
    memcpy(h + 48, "fuzzing", 7); /* nonce prefix */
}

/* HKDF-SHA256(dek, salt, header[0..16) || ad): the AES key, or the SM4 key then the HMAC-SM3 key. */
static void derive(const unsigned char h[HEADER], const char *a, unsigned char key[48])
{
    unsigned char info[16 + 64];
    size_t al = strlen(a);
    memcpy(info, h, 16);
    memcpy(info + 16, a, al);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *k = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, dek, OA_DEK_LEN),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(h + 16), 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, 16 + al),
        OSSL_PARAM_construct_end(),
    };
    CHECK(EVP_KDF_derive(k, key, h[7] == OA_BLOB_SM4_SM3 ? 48 : 32, params) == 1);
    EVP_KDF_CTX_free(k);
    EVP_KDF_free(kdf);
}

/* Encrypts n bytes of segment i from in to out and appends its tag; returns the bytes written. */
static size_t seal_segment(const unsigned char h[HEADER], const unsigned char *key, uint32_t i, bool last,
                           const unsigned char *in, size_t n, unsigned char *out)
{
    unsigned char nonce[16] = {0};
    memcpy(nonce, h + 48, 7);
    nonce[7] = (unsigned char)(i >> 24);
    nonce[8] = (unsigned char)(i >> 16);
    nonce[9] = (unsigned char)(i >> 8);
    nonce[10] = (unsigned char)i;
    nonce[11] = last;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0;
    if (h[7] == OA_BLOB_SM4_SM3) {
        CHECK(EVP_EncryptInit_ex(c, EVP_sm4_ctr(), NULL, key, nonce) == 1); /* counter block nonce || 0 */
        CHECK(n == 0 || EVP_EncryptUpdate(c, out, &len, in, (int)n) == 1);
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        EVP_MAC_CTX *m = EVP_MAC_CTX_new(mac);
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SM3", 0),
                               OSSL_PARAM_construct_end()};
        size_t tl = 0;
        CHECK(EVP_MAC_init(m, key + 16, 32, params) == 1 && EVP_MAC_update(m, nonce, 12) == 1 &&
              EVP_MAC_update(m, out, n) == 1 && EVP_MAC_final(m, out + n, &tl, 32) == 1 && tl == 32);
        EVP_MAC_CTX_free(m);
        EVP_MAC_free(mac);
    } else {
        CHECK(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) == 1); /* 12-byte IV, the default */
        CHECK(n == 0 || EVP_EncryptUpdate(c, out, &len, in, (int)n) == 1);
        CHECK(EVP_EncryptFinal_ex(c, out + n, &len) == 1);
        CHECK(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + n) == 1);
    }
    EVP_CIPHER_CTX_free(c);
    return n + (h[7] == OA_BLOB_SM4_SM3 ? 32 : 16);
}

/* A whole blob file of `stored` into file (header first); returns its length. */
static size_t seal(const unsigned char h[HEADER], const char *a, const unsigned char *stored, size_t n, bool mark_last)
{
    unsigned char key[48];
    derive(h, a, key);
    memcpy(file, h, HEADER);
    size_t at = HEADER;
    uint32_t i = 0;
    size_t off = 0;
    do {
        size_t take = n - off < OA_BLOB_SEGMENT ? n - off : OA_BLOB_SEGMENT;
        bool last = off + take == n;
        at += seal_segment(h, key, i++, last && mark_last, stored + off, take, file + at);
        off += take;
    } while (off < n);
    return at;
}

/* ---- reading ---- */

struct out {
    unsigned char *p;
    size_t n;
    bool over; /* stopped at LIMIT */
};

static void keep(struct out *o, const void *data, size_t len)
{
    if (o->n + len > LIMIT) {
        len = LIMIT - o->n;
        o->over = true;
    }
    memcpy(o->p + o->n, data, len);
    o->n += len;
}

static int sink(void *arg, const void *data, size_t len)
{
    struct out *o = arg;
    keep(o, data, len);
    return o->over;
}

static void check_failure(int rc, const char *cause)
{
    CHECK(rc == 0 || rc == -1);
    CHECK(rc == 0 || cause[0] != '\0'); /* every failure says why */
}

/* The range through open and fill, with a small buffer so that fills end anywhere. */
static int read_filled(uint64_t off, uint64_t len, const unsigned char *digest, struct out *o)
{
    struct oa_blob_reader *r = NULL;
    char cause[512] = "";
    unsigned char buf[3000];
    int rc = oa_blob_reader_open(path, dek, ad, strlen(ad), off, len, digest, &r, cause, sizeof(cause));
    check_failure(rc, cause);
    while (rc == 0) {
        size_t got = 0;
        int f = oa_blob_reader_fill(r, buf, sizeof(buf), &got, cause, sizeof(cause));
        check_failure(f < 0 ? -1 : 0, cause);
        CHECK(got <= sizeof(buf));
        keep(o, buf, got);
        if (f <= 0 || o->over) {
            rc = f < 0 ? -1 : 0;
            break;
        }
        CHECK(f == 1);
    }
    oa_blob_reader_close(r);
    return rc;
}

/* The range through take and decode, in order, as downloads do (on one thread here). */
static int read_pieces(uint64_t off, uint64_t len, struct out *o)
{
    struct oa_blob_reader *r = NULL;
    struct oa_blob_piece *p = oa_blob_piece_new();
    char cause[512] = "";
    int rc = oa_blob_reader_open(path, dek, ad, strlen(ad), off, len, NULL, &r, cause, sizeof(cause));
    check_failure(rc, cause);
    bool was_last = false;
    while (rc == 0 && !o->over) {
        int t = oa_blob_reader_take(r, p, cause, sizeof(cause));
        check_failure(t < 0 ? -1 : 0, cause);
        CHECK(t >= -1 && t <= 1);
        CHECK(!was_last || t == 0); /* nothing follows the piece marked last */
        if (t <= 0) {
            rc = t;
            break;
        }
        was_last = oa_blob_piece_last(p);
        const unsigned char *d = NULL;
        size_t n = 0;
        rc = oa_blob_piece_decode(r, p, frame, OA_BLOB_FRAME, &d, &n, cause, sizeof(cause));
        check_failure(rc, cause);
        if (rc == 0) {
            CHECK(n <= OA_BLOB_FRAME);
            keep(o, d, n);
        }
    }
    oa_blob_piece_free(p);
    oa_blob_reader_close(r);
    return rc;
}

/* The part of a whole read that a range is, when the whole read got that far. */
static bool slice_of(const struct out *whole, uint64_t off, uint64_t len, const struct out *part)
{
    if (whole->over || part->over)
        return true; /* not comparable */
    uint64_t want = off >= whole->n ? 0 : len == UINT64_MAX || len > whole->n - off ? whole->n - off : len;
    return part->n == want && (want == 0 || memcmp(part->p, whole->p + off, want) == 0);
}

static bool same(const struct out *a, const struct out *b)
{
    return a->over || b->over || (a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0));
}

static void digest_of(const struct out *o, int suite, unsigned char d[32])
{
    unsigned int dl = 0;
    CHECK(EVP_Digest(o->p, o->n, d, &dl, suite == OA_BLOB_SM4_SM3 ? EVP_sm3() : EVP_sha256(), NULL) == 1);
}

static void remove_dir(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (int i = 0; i < OA_DEK_LEN; i++)
        dek[i] = (unsigned char)(i * 7 + 1);
    verbose = getenv("FUZZ_BLOB_VERBOSE") != NULL;
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/fuzz-blob-XXXXXX", tmp ? tmp : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/blob", dir);
    atexit(remove_dir);
    file = malloc(HEADER + MAX_STORED + 6 * 32);
    frame = malloc(OA_BLOB_FRAME);
    /*
     * This file's sealing is the writer's: a blob the writer made of bytes
     * that do not compress (two segments and a bit), resealed here under its
     * own header, comes out byte for byte the same, for both suites.
     */
    size_t n = 2 * OA_BLOB_SEGMENT + 1000;
    unsigned char *plain = malloc(n), *written = malloc(HEADER + n + 3 * 32);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        plain[i] = (unsigned char)(x >> 24);
    }
    for (int suite = OA_BLOB_AES256GCM; suite <= OA_BLOB_SM4_SM3; suite++) {
        struct oa_blob_writer *w = NULL;
        struct oa_blob_info info;
        char cause[512] = "";
        CHECK(oa_blob_writer_open(path, suite, dek, ad, strlen(ad), &w, cause, sizeof(cause)) == 0);
        CHECK(oa_blob_write(w, plain, n, cause, sizeof(cause)) == 0);
        CHECK(oa_blob_writer_finish(w, &info, cause, sizeof(cause)) == 0 && !info.compressed);
        int fd = open(path, O_RDONLY);
        ssize_t got = read(fd, written, HEADER + n + 3 * 32);
        close(fd);
        CHECK(seal(written, ad, plain, n, true) == (size_t)got && memcmp(file, written, (size_t)got) == 0);
    }
    unlink(path);
    free(plain);
    free(written);
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < PREFIX)
        return 0;
    int mode = data[0];
    uint64_t off = be32(data + 2), len = be32(data + 6);
    if (len == 0xffffffffu)
        len = UINT64_MAX;
    const uint8_t *payload = data + PREFIX;
    size_t plen = size - PREFIX, flen = plen, stored_len = 0;
    unsigned char *stored = NULL;
    if (mode & M_SEALED) {
        unsigned char h[HEADER];
        header_for(h, mode & M_SM4 ? OA_BLOB_SM4_SM3 : OA_BLOB_AES256GCM, (mode >> 2) & 3);
        size_t times = 1 + data[1] % 24;
        stored_len = plen * times < MAX_STORED ? plen * times : MAX_STORED;
        stored = malloc(stored_len + 1);
        for (size_t at = 0; at < stored_len; at += plen)
            memcpy(stored + at, payload, stored_len - at < plen ? stored_len - at : plen);
        flen = seal(h, mode & M_OTHER_DOC ? other_ad : ad, stored, stored_len, !(mode & M_NOT_LAST));
    } else {
        memcpy(file, payload, plen);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0 && write(fd, file, flen) == (ssize_t)flen);
    close(fd);

    struct out whole = {0}, pieces = {0}, range = {0}, range_pieces = {0};
    whole.p = malloc(LIMIT);
    pieces.p = malloc(LIMIT);
    range.p = malloc(LIMIT);
    range_pieces.p = malloc(LIMIT);
    char cause[512] = "";
    int rc_whole = oa_blob_read(path, dek, ad, strlen(ad), 0, UINT64_MAX, NULL, sink, &whole, cause, sizeof(cause));
    check_failure(rc_whole, cause);
    int rc_pieces = read_pieces(0, UINT64_MAX, &pieces);
    int rc_range = read_filled(off, len, NULL, &range);
    int rc_range_pieces = read_pieces(off, len, &range_pieces);

    if (verbose)
        fprintf(stderr, "fuzz_blob: mode %#x, %zu bytes: whole %d (%zu%s), pieces %d (%zu), range [%llu, +%llu) %d (%zu), "
                "in pieces %d (%zu): %s\n", mode, flen, rc_whole, whole.n, whole.over ? "+" : "", rc_pieces, pieces.n,
                (unsigned long long)off, (unsigned long long)len, rc_range, range.n, rc_range_pieces, range_pieces.n,
                cause);
    /* The stream this file sealed, plain and whole, reads back as it is, every way. */
    if ((mode & (M_SEALED | M_COMPRESSED | M_NOT_LAST | M_OTHER_DOC)) == M_SEALED) {
        CHECK(rc_whole == 0 && rc_pieces == 0 && rc_range == 0 && rc_range_pieces == 0);
        struct out want = {stored, stored_len, stored_len > LIMIT};
        CHECK(same(&whole, &want) && same(&pieces, &want));
    }
    /* A truncated blob, or one sealed for another document, never reads whole. */
    if ((mode & M_SEALED) && (mode & (M_NOT_LAST | M_OTHER_DOC)))
        CHECK(rc_whole == -1 && rc_pieces == -1);
    /* Reads that succeed agree; a range of a blob that reads whole reads too. */
    if (rc_whole == 0 && rc_pieces == 0)
        CHECK(same(&whole, &pieces));
    if (rc_whole == 0 && !whole.over)
        CHECK(rc_range == 0 && slice_of(&whole, off, len, &range));
    if (rc_pieces == 0 && !pieces.over)
        CHECK(rc_range_pieces == 0 && slice_of(&pieces, off, len, &range_pieces));
    /* The whole against its digest: the right one passes, any other fails. */
    if (rc_whole == 0 && !whole.over && flen >= 8) {
        unsigned char d[32];
        struct out again = {0};
        again.p = range.p;
        digest_of(&whole, file[7], d);
        CHECK(read_filled(0, UINT64_MAX, d, &again) == 0 && same(&whole, &again));
        d[0] ^= 1;
        again.n = 0;
        CHECK(read_filled(0, UINT64_MAX, d, &again) == -1);
    }
    free(whole.p);
    free(pieces.p);
    free(range.p);
    free(range_pieces.p);
    free(stored);
    return 0;
}
