/* storage/blob.c: the blob format (BLOB-FORMAT.md).  See blob.h. */
#include "storage/blob.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "proto/alloc.h"

#define HEADER 64
#define PROBE OA_BLOB_SEGMENT
#define ZSTD_LEVEL 3
#define WRITEBACK (4u << 20) /* bytes written between two early writeback requests */
#define TAIL_SPLIT (256 * 1024) /* a last frame this long is compressed as two, at once */

static void say(char *cause, size_t n, const char *fmt, ...)
{
    if (cause == NULL || n == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cause, n, fmt, ap);
    va_end(ap);
}

static size_t tag_len(int suite)
{
    return suite == OA_BLOB_SM4_SM3 ? 32 : 16;
}

/* ---- keys ---- */

struct seg_keys {
    int suite;
    unsigned char enc[32]; /* AES-256 key, or the SM4 key in its first 16 bytes */
    unsigned char mac[32]; /* HMAC-SM3 key (suite 2) */
    unsigned char prefix[7];
};

static int derive(const unsigned char dek[OA_DEK_LEN], const unsigned char header[HEADER], const void *ad,
                  size_t adlen, struct seg_keys *k)
{
    unsigned char info[16 + 512];
    if (adlen > 512)
        return -1;
    memcpy(info, header, 16);
    memcpy(info + 16, ad, adlen);
    unsigned char out[64];
    size_t outlen = header[7] == OA_BLOB_SM4_SM3 ? 48 : 32;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)dek, OA_DEK_LEN),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(header + 16), 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, 16 + adlen),
        OSSL_PARAM_construct_end(),
    };
    int rc = kctx && EVP_KDF_derive(kctx, out, outlen, params) == 1 ? 0 : -1;
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    k->suite = header[7];
    if (k->suite == OA_BLOB_SM4_SM3) {
        memcpy(k->enc, out, 16);
        memcpy(k->mac, out + 16, 32);
    } else {
        memcpy(k->enc, out, 32);
    }
    memcpy(k->prefix, header + 48, 7);
    OPENSSL_cleanse(out, sizeof(out));
    OPENSSL_cleanse(info, sizeof(info));
    return rc;
}

static void nonce_for(const struct seg_keys *k, uint32_t index, bool last, unsigned char nonce[12])
{
    memcpy(nonce, k->prefix, 7);
    nonce[7] = (unsigned char)(index >> 24);
    nonce[8] = (unsigned char)(index >> 16);
    nonce[9] = (unsigned char)(index >> 8);
    nonce[10] = (unsigned char)index;
    nonce[11] = last ? 1 : 0;
}

static int hmac_sm3(const unsigned char key[32], const unsigned char *nonce, const unsigned char *ct, size_t n,
                    unsigned char out[32])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SM3", 0), OSSL_PARAM_construct_end()};
    size_t len = 0;
    int rc = ctx && EVP_MAC_init(ctx, key, 32, params) == 1 && EVP_MAC_update(ctx, nonce, 12) == 1 &&
                     EVP_MAC_update(ctx, ct, n) == 1 && EVP_MAC_final(ctx, out, &len, 32) == 1 && len == 32
                 ? 0
                 : -1;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return rc;
}

/* Encrypts one segment in place and writes its tag after it (buf has room). */
static int seal(const struct seg_keys *k, uint32_t index, bool last, unsigned char *buf, size_t n)
{
    unsigned char nonce[12], iv[16];
    nonce_for(k, index, last, nonce);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, rc = -1;
    if (c == NULL)
        return -1;
    if (k->suite == OA_BLOB_SM4_SM3) {
        memcpy(iv, nonce, 12);
        memset(iv + 12, 0, 4);
        if (EVP_EncryptInit_ex(c, EVP_sm4_ctr(), NULL, k->enc, iv) == 1 &&
            (n == 0 || EVP_EncryptUpdate(c, buf, &len, buf, (int)n) == 1) &&
            hmac_sm3(k->mac, nonce, buf, n, buf + n) == 0)
            rc = 0;
    } else if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
               EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
               EVP_EncryptInit_ex(c, NULL, NULL, k->enc, nonce) == 1 &&
               (n == 0 || EVP_EncryptUpdate(c, buf, &len, buf, (int)n) == 1) &&
               EVP_EncryptFinal_ex(c, buf + len, &len) == 1 &&
               EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, buf + n) == 1) {
        rc = 0;
    }
    EVP_CIPHER_CTX_free(c);
    return rc;
}

/*
 * Checks and decrypts one segment (n bytes of ciphertext at buf, then the
 * tag) into out, which may be buf.
 */
static int open_segment_to(const struct seg_keys *k, uint32_t index, bool last, const unsigned char *buf, size_t n,
                           unsigned char *out)
{
    unsigned char nonce[12], iv[16];
    nonce_for(k, index, last, nonce);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, rc = -1;
    if (c == NULL)
        return -1;
    if (k->suite == OA_BLOB_SM4_SM3) {
        unsigned char tag[32];
        memcpy(iv, nonce, 12);
        memset(iv + 12, 0, 4);
        if (hmac_sm3(k->mac, nonce, buf, n, tag) == 0 && CRYPTO_memcmp(tag, buf + n, 32) == 0 &&
            EVP_DecryptInit_ex(c, EVP_sm4_ctr(), NULL, k->enc, iv) == 1 &&
            (n == 0 || EVP_DecryptUpdate(c, out, &len, buf, (int)n) == 1))
            rc = 0;
    } else if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
               EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
               EVP_DecryptInit_ex(c, NULL, NULL, k->enc, nonce) == 1 &&
               (n == 0 || EVP_DecryptUpdate(c, out, &len, buf, (int)n) == 1) &&
               EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(buf + n)) == 1 &&
               EVP_DecryptFinal_ex(c, out + len, &len) == 1) {
        rc = 0;
    }
    EVP_CIPHER_CTX_free(c);
    return rc;
}

static int open_segment(const struct seg_keys *k, uint32_t index, bool last, unsigned char *buf, size_t n)
{
    return open_segment_to(k, index, last, buf, n, buf);
}

/* ---- writing ---- */

struct oa_blob_writer {
    int fd;
    char tmp[4096], final[4096];
    unsigned char header[HEADER];
    struct seg_keys keys;
    EVP_MD_CTX *digest;
    uint64_t size, stored;
    uint64_t flushed;       /* stored bytes already handed to writeback */
    int decided;            /* 0: still probing; 1: decided */
    bool compress;
    ZSTD_CCtx *zc;
    unsigned char *probe;   /* first PROBE bytes, until decided */
    size_t probe_len;
    unsigned char *seg;     /* one segment of the stored stream, plus room for the tag */
    size_t seg_len;
    uint32_t index;
    unsigned char *frame;   /* plaintext of the frame being gathered (compressed blobs) */
    size_t frame_len;
    unsigned char *zout;    /* a compressed frame */
    size_t zout_cap;
};

/* The derivation input until decide(): the DEK and the associated data. */
struct pending {
    unsigned char dek[OA_DEK_LEN];
    unsigned char ad[512];
    size_t adlen;
};

static int write_all(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t r = write(fd, b, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

static int emit(struct oa_blob_writer *w, bool last)
{
    if (seal(&w->keys, w->index, last, w->seg, w->seg_len) != 0)
        return -1;
    size_t n = w->seg_len + tag_len(w->keys.suite);
    if (write_all(w->fd, w->seg, n) != 0)
        return -1;
    w->stored += n;
    w->index++;
    w->seg_len = 0;
    if (w->stored - w->flushed >= WRITEBACK) {
        /* Start writing these pages to disk now, so that the fsync at the end finds little left. */
        (void)sync_file_range(w->fd, (off_t)w->flushed, (off_t)(w->stored - w->flushed), SYNC_FILE_RANGE_WRITE);
        w->flushed = w->stored;
    }
    return w->index == 0 ? -1 : 0; /* 2^32 segments: refuse rather than reuse a nonce */
}

/* Adds bytes of the stored stream; a full segment is sealed once more bytes follow it. */
static int push_stored(struct oa_blob_writer *w, const unsigned char *p, size_t n)
{
    while (n > 0) {
        if (w->seg_len == OA_BLOB_SEGMENT && emit(w, false) != 0)
            return -1;
        size_t take = OA_BLOB_SEGMENT - w->seg_len;
        if (take > n)
            take = n;
        memcpy(w->seg + w->seg_len, p, take);
        w->seg_len += take;
        p += take;
        n -= take;
    }
    return 0;
}

/* Compresses n plaintext bytes (at most OA_BLOB_FRAME) as one frame: level 3, content size recorded. */
static size_t frame_compress(ZSTD_CCtx *zc, const void *in, size_t n, unsigned char *out, size_t cap)
{
    if (ZSTD_isError(ZSTD_CCtx_reset(zc, ZSTD_reset_session_only)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel, ZSTD_LEVEL)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_contentSizeFlag, 1)))
        return 0;
    size_t c = ZSTD_compress2(zc, out, cap, in, n);
    return ZSTD_isError(c) ? 0 : c;
}

/* Compresses the gathered frame and adds it to the stored stream. */
static int flush_frame(struct oa_blob_writer *w)
{
    if (w->frame_len == 0)
        return 0;
    size_t c = frame_compress(w->zc, w->frame, w->frame_len, w->zout, w->zout_cap);
    w->frame_len = 0;
    return c == 0 ? -1 : push_stored(w, w->zout, c);
}

/* One half of a split tail, compressed on a helper thread. */
struct half {
    const unsigned char *in;
    size_t n;
    unsigned char *out;
    size_t cap, got;
};

static void *half_main(void *arg)
{
    struct half *h = arg;
    ZSTD_CCtx *zc = ZSTD_createCCtx();
    h->got = zc ? frame_compress(zc, h->in, h->n, h->out, h->cap) : 0;
    ZSTD_freeCCtx(zc);
    return NULL;
}

/*
 * The blob's last frame.  Nothing is left to overlap its compression with,
 * and the upload waits for it: a long tail is cut into two frames compressed
 * at once, the second on a helper thread, which halves that wait where a core
 * is free (and lets a download decode the two halves at once too).
 */
static int flush_tail(struct oa_blob_writer *w)
{
    if (w->frame_len < TAIL_SPLIT)
        return flush_frame(w);
    size_t a = w->frame_len / 2;
    struct half h = {.in = w->frame + a, .n = w->frame_len - a, .cap = ZSTD_compressBound(w->frame_len - a)};
    h.out = oa_xmalloc(h.cap);
    pthread_t t;
    bool helper = pthread_create(&t, NULL, half_main, &h) == 0;
    size_t c = frame_compress(w->zc, w->frame, a, w->zout, w->zout_cap);
    if (helper)
        pthread_join(t, NULL);
    else
        half_main(&h);
    w->frame_len = 0;
    int rc = c == 0 || h.got == 0 || push_stored(w, w->zout, c) != 0 || push_stored(w, h.out, h.got) != 0 ? -1 : 0;
    OPENSSL_cleanse(h.out, h.cap);
    free(h.out);
    return rc;
}

static int feed(struct oa_blob_writer *w, const unsigned char *p, size_t n)
{
    if (!w->compress)
        return push_stored(w, p, n);
    while (n > 0) {
        size_t take = OA_BLOB_FRAME - w->frame_len < n ? OA_BLOB_FRAME - w->frame_len : n;
        memcpy(w->frame + w->frame_len, p, take);
        w->frame_len += take;
        p += take;
        n -= take;
        if (w->frame_len == OA_BLOB_FRAME && flush_frame(w) != 0)
            return -1;
    }
    return 0;
}

/*
 * Decides on a sample of the first bytes whether to compress (a fast-level
 * probe: worth it only below 90% of the input), then fixes the header,
 * derives the keys from it and writes it.
 */
static int start(struct oa_blob_writer *w, const unsigned char *sample, size_t n)
{
    w->decided = 1;
    if (n >= 512) {
        size_t cap = ZSTD_compressBound(n);
        unsigned char *tmp = oa_xmalloc(cap);
        size_t c = ZSTD_compress(tmp, cap, sample, n, 1);
        free(tmp);
        w->compress = !ZSTD_isError(c) && c < n * 9 / 10;
    }
    if (w->compress) {
        w->header[8] |= 1 | 2; /* compressed, in independent frames */
        w->zc = ZSTD_createCCtx();
        w->zout_cap = ZSTD_compressBound(OA_BLOB_FRAME);
        w->zout = oa_xmalloc(w->zout_cap);
        w->frame = oa_xmalloc(OA_BLOB_FRAME);
        if (w->zc == NULL)
            return -1;
    }
    struct pending *pd = (struct pending *)(w->probe + PROBE);
    int drc = derive(pd->dek, w->header, pd->ad, pd->adlen, &w->keys);
    OPENSSL_cleanse(pd, sizeof(*pd));
    if (drc != 0)
        return -1;
    if (write_all(w->fd, w->header, HEADER) != 0)
        return -1;
    w->stored = HEADER;
    return 0;
}

/* Forgets the probe and what the key derivation kept beside it. */
static void drop_probe(struct oa_blob_writer *w)
{
    if (w->probe)
        OPENSSL_cleanse(w->probe, PROBE + sizeof(struct pending));
    free(w->probe);
    w->probe = NULL;
}

/* Decides on the probe gathered so far, then writes it. */
static int decide(struct oa_blob_writer *w)
{
    int rc = start(w, w->probe, w->probe_len);
    if (rc == 0)
        rc = feed(w, w->probe, w->probe_len);
    drop_probe(w);
    return rc;
}

static void writer_free(struct oa_blob_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    EVP_MD_CTX_free(w->digest);
    ZSTD_freeCCtx(w->zc);
    drop_probe(w);
    if (w->seg)
        OPENSSL_cleanse(w->seg, OA_BLOB_SEGMENT);
    free(w->seg);
    if (w->zout)
        OPENSSL_cleanse(w->zout, w->zout_cap);
    free(w->zout);
    if (w->frame)
        OPENSSL_cleanse(w->frame, OA_BLOB_FRAME);
    free(w->frame);
    OPENSSL_cleanse(&w->keys, sizeof(w->keys));
    free(w);
}

void oa_blob_writer_abort(struct oa_blob_writer *w)
{
    if (w == NULL)
        return;
    unlink(w->tmp);
    writer_free(w);
}

int oa_blob_writer_open(const char *final_path, enum oa_blob_suite suite, const unsigned char dek[OA_DEK_LEN],
                        const void *ad, size_t adlen, struct oa_blob_writer **out, char *cause, size_t causelen)
{
    *out = NULL;
    if ((suite != OA_BLOB_AES256GCM && suite != OA_BLOB_SM4_SM3) || adlen > 512 ||
        strlen(final_path) + 16 > sizeof(((struct oa_blob_writer *)0)->tmp)) {
        say(cause, causelen, "bad blob parameters");
        return -1;
    }
    struct oa_blob_writer *w = oa_xcalloc(1, sizeof(*w));
    snprintf(w->final, sizeof(w->final), "%s", final_path);
    snprintf(w->tmp, sizeof(w->tmp), "%s.tmp-XXXXXX", final_path);
    w->fd = mkstemp(w->tmp);
    if (w->fd < 0) {
        int e = errno;
        say(cause, causelen, "cannot create a blob beside %s: %s", final_path, strerror(e));
        w->fd = -1;
        writer_free(w);
        errno = e;
        return -1;
    }
    fchmod(w->fd, 0600);
    memcpy(w->header, "OABLOB", 6);
    w->header[6] = 1;
    w->header[7] = (unsigned char)suite;
    w->header[10] = (OA_BLOB_SEGMENT >> 24) & 0xff;
    w->header[11] = (OA_BLOB_SEGMENT >> 16) & 0xff;
    w->header[12] = (OA_BLOB_SEGMENT >> 8) & 0xff;
    w->header[13] = OA_BLOB_SEGMENT & 0xff;
    RAND_bytes(w->header + 16, 32 + 7);
    /* Keep what the key derivation needs until the header is final. */
    struct pending *pd = oa_xcalloc(1, sizeof(*pd));
    memcpy(pd->dek, dek, OA_DEK_LEN);
    memcpy(pd->ad, ad, adlen);
    pd->adlen = adlen;
    w->probe = oa_xmalloc(PROBE + sizeof(*pd));
    memcpy(w->probe + PROBE, pd, sizeof(*pd));
    OPENSSL_cleanse(pd, sizeof(*pd));
    free(pd);
    w->seg = oa_xmalloc(OA_BLOB_SEGMENT + 32);
    w->digest = EVP_MD_CTX_new();
    if (w->digest == NULL ||
        EVP_DigestInit_ex(w->digest, suite == OA_BLOB_SM4_SM3 ? EVP_sm3() : EVP_sha256(), NULL) != 1) {
        say(cause, causelen, "cannot start the blob digest");
        oa_blob_writer_abort(w);
        return -1;
    }
    *out = w;
    return 0;
}

void oa_blob_writer_external_digest(struct oa_blob_writer *w)
{
    EVP_MD_CTX_free(w->digest);
    w->digest = NULL;
}

int oa_blob_write(struct oa_blob_writer *w, const void *data, size_t len, char *cause, size_t causelen)
{
    errno = 0;
    if (w->digest && EVP_DigestUpdate(w->digest, data, len) != 1)
        goto fail;
    w->size += len;
    const unsigned char *p = data;
    if (!w->decided) {
        size_t take = PROBE - w->probe_len < len ? PROBE - w->probe_len : len;
        memcpy(w->probe + w->probe_len, p, take);
        w->probe_len += take;
        p += take;
        len -= take;
        if (w->probe_len < PROBE)
            return 0;
        if (decide(w) != 0)
            goto fail;
    }
    if (len > 0 && feed(w, p, len) != 0)
        goto fail;
    return 0;
fail:;
    int e = errno;
    say(cause, causelen, "cannot write the blob %s: %s", w->final, e ? strerror(e) : "encryption failed");
    oa_blob_writer_abort(w);
    errno = e;
    return -1;
}

int oa_blob_writer_finish(struct oa_blob_writer *w, struct oa_blob_info *info, char *cause, size_t causelen)
{
    unsigned int dl = 0;
    errno = 0;
    if (!w->decided && decide(w) != 0)
        goto fail;
    if (w->compress && flush_tail(w) != 0)
        goto fail;
    if (emit(w, true) != 0 || fsync(w->fd) != 0)
        goto fail; /* the abort closes the file */
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0)
        goto fail;
    if (rename(w->tmp, w->final) != 0)
        goto fail;
    /* The rename is durable only once the directory is. */
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", w->final);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
    if (dfd < 0 || fsync(dfd) != 0) {
        if (dfd >= 0)
            close(dfd);
        unlink(w->final);
        goto fail;
    }
    close(dfd);
    memset(info, 0, sizeof(*info));
    info->size = w->size;
    info->stored = w->stored;
    info->compressed = w->compress;
    if (w->digest)
        EVP_DigestFinal_ex(w->digest, info->digest, &dl);
    writer_free(w);
    return 0;
fail:;
    int e = errno;
    say(cause, causelen, "cannot finish the blob %s: %s", w->final, e ? strerror(e) : "encryption failed");
    oa_blob_writer_abort(w);
    errno = e;
    return -1;
}

/* ---- reading ---- */

#define SCRATCH (128 * 1024) /* oa_blob_read's piece size */

struct oa_blob_reader {
    int fd;
    char path[4096];
    struct seg_keys keys;
    size_t tl, full;
    uint64_t body, nseg, next; /* stored bytes after the header, segments, the next to open */
    bool compressed, framed, finished;
    ZSTD_DCtx *dz;
    size_t zleft;              /* ZSTD_decompressStream's last hint: 0 at the end of a frame */
    unsigned char *seg;        /* the segment opened last, decrypted */
    size_t seg_off, seg_len;   /* its bytes not yet consumed */
    uint64_t pos, from, to;    /* plaintext position; the wanted range [from, to) */
    EVP_MD_CTX *digest;        /* only when the whole blob is read against a digest */
    unsigned char expect[32];
};

void oa_blob_reader_close(struct oa_blob_reader *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        close(r->fd);
    if (r->seg)
        OPENSSL_cleanse(r->seg, r->full);
    free(r->seg);
    ZSTD_freeDCtx(r->dz);
    EVP_MD_CTX_free(r->digest);
    OPENSSL_cleanse(&r->keys, sizeof(r->keys));
    free(r);
}

int oa_blob_reader_open(const char *path, const unsigned char dek[OA_DEK_LEN], const void *ad, size_t adlen,
                        uint64_t offset, uint64_t len, const unsigned char *expect_digest,
                        struct oa_blob_reader **out, char *cause, size_t causelen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *out = NULL;
        say(cause, causelen, "cannot open the blob %s: %s", path, strerror(errno));
        return -1;
    }
    return oa_blob_reader_open_fd(fd, path, dek, ad, adlen, offset, len, expect_digest, out, cause, causelen);
}

int oa_blob_reader_open_fd(int fd, const char *path, const unsigned char dek[OA_DEK_LEN], const void *ad,
                           size_t adlen, uint64_t offset, uint64_t len, const unsigned char *expect_digest,
                           struct oa_blob_reader **out, char *cause, size_t causelen)
{
    unsigned char header[HEADER];
    struct stat st;
    struct oa_blob_reader *r = oa_xcalloc(1, sizeof(*r));
    *out = NULL;
    snprintf(r->path, sizeof(r->path), "%s", path);
    r->from = offset;
    r->to = len == UINT64_MAX || offset + len < offset ? UINT64_MAX : offset + len;
    r->fd = fd;
    if (fstat(r->fd, &st) != 0) {
        say(cause, causelen, "cannot open the blob %s: %s", path, strerror(errno));
        goto fail;
    }
    if (pread(r->fd, header, HEADER, 0) != HEADER || memcmp(header, "OABLOB", 6) != 0 || header[6] != 1 ||
        (header[7] != OA_BLOB_AES256GCM && header[7] != OA_BLOB_SM4_SM3) ||
        ((uint32_t)header[10] << 24 | (uint32_t)header[11] << 16 | (uint32_t)header[12] << 8 | header[13]) !=
            OA_BLOB_SEGMENT) {
        say(cause, causelen, "the blob %s is not an oa blob (version 1)", path);
        goto fail;
    }
    if (derive(dek, header, ad, adlen, &r->keys) != 0) {
        say(cause, causelen, "cannot derive the blob's key");
        goto fail;
    }
    r->tl = tag_len(header[7]);
    r->full = OA_BLOB_SEGMENT + r->tl;
    if ((uint64_t)st.st_size < HEADER + r->tl) {
        say(cause, causelen, "the blob %s is truncated", path);
        goto fail;
    }
    r->body = (uint64_t)st.st_size - HEADER;
    r->nseg = (r->body + r->full - 1) / r->full;
    if (r->body - (r->nseg - 1) * r->full < r->tl) { /* a last segment shorter than its tag */
        say(cause, causelen, "the blob %s is truncated", path);
        goto fail;
    }
    r->compressed = header[8] & 1;
    r->framed = r->compressed && (header[8] & 2);
    if (expect_digest && offset == 0 && r->to == UINT64_MAX) {
        memcpy(r->expect, expect_digest, 32);
        r->digest = EVP_MD_CTX_new();
        if (r->digest == NULL ||
            EVP_DigestInit_ex(r->digest, header[7] == OA_BLOB_SM4_SM3 ? EVP_sm3() : EVP_sha256(), NULL) != 1) {
            say(cause, causelen, "cannot start the blob digest");
            goto fail;
        }
    }
    if (r->compressed && (r->dz = ZSTD_createDCtx()) == NULL) {
        say(cause, causelen, "out of memory");
        goto fail;
    }
    r->seg = oa_xmalloc(r->full);
    /* Uncompressed: start at the segment holding `offset`.  Compressed: from the start. */
    r->next = r->compressed ? 0 : offset / OA_BLOB_SEGMENT;
    r->pos = r->next * OA_BLOB_SEGMENT;
    *out = r;
    return 0;
fail:
    oa_blob_reader_close(r);
    return -1;
}

/* Opens and checks the next segment into r->seg; -1 with a cause on damage. */
static int open_next(struct oa_blob_reader *r, char *cause, size_t causelen)
{
    uint64_t i = r->next++;
    bool last = i == r->nseg - 1;
    size_t n = last ? (size_t)(r->body - i * r->full) : r->full;
    if (pread(r->fd, r->seg, n, (off_t)(HEADER + i * r->full)) != (ssize_t)n ||
        open_segment(&r->keys, (uint32_t)i, last, r->seg, n - r->tl) != 0) {
        say(cause, causelen, "the blob %s is damaged or not this document's (segment %llu fails authentication)",
            r->path, (unsigned long long)i);
        return -1;
    }
    r->seg_off = 0;
    r->seg_len = n - r->tl;
    return 0;
}

/* Of n plaintext bytes starting at `start`, the ones in the range: [*skip, *skip + return). */
static size_t in_range(const struct oa_blob_reader *r, uint64_t start, size_t n, size_t *skip)
{
    uint64_t end = start + n;
    *skip = 0;
    if (end <= r->from || start >= r->to)
        return 0;
    *skip = start < r->from ? (size_t)(r->from - start) : 0;
    return (end > r->to ? n - (size_t)(end - r->to) : n) - *skip;
}

/*
 * Keeps the part of the n plaintext bytes just placed at buf + at that falls
 * in the range, moving it to buf + at; returns how many were kept.
 */
static size_t keep_range(struct oa_blob_reader *r, unsigned char *buf, size_t at, size_t n)
{
    if (r->digest)
        EVP_DigestUpdate(r->digest, buf + at, n);
    size_t skip, keep = in_range(r, r->pos, n, &skip);
    r->pos += n;
    if (skip > 0)
        memmove(buf + at, buf + at + skip, keep);
    return keep;
}

int oa_blob_reader_fill(struct oa_blob_reader *r, void *out, size_t cap, size_t *got, char *cause, size_t causelen)
{
    unsigned char *buf = out;
    size_t n = 0;
    *got = 0;
    if (r->finished)
        return 0;
    while (n < cap && r->pos < r->to) {
        bool have = r->seg_off < r->seg_len;
        if (!have && r->next < r->nseg) {
            if (open_next(r, cause, causelen) != 0)
                return -1;
            continue;
        }
        size_t made;
        if (!r->compressed) {
            if (!have)
                break;
            made = r->seg_len - r->seg_off < cap - n ? r->seg_len - r->seg_off : cap - n;
            memcpy(buf + n, r->seg + r->seg_off, made);
            r->seg_off += made;
        } else {
            /* Straight into the caller's buffer; with no input left, whatever zstd still holds. */
            ZSTD_inBuffer in = {r->seg, r->seg_len, r->seg_off};
            ZSTD_outBuffer o = {buf, cap, n};
            size_t z = ZSTD_decompressStream(r->dz, &o, &in);
            if (ZSTD_isError(z)) {
                say(cause, causelen, "the blob %s does not decompress", r->path);
                return -1;
            }
            made = o.pos - n;
            if (made == 0 && !have)
                break; /* nothing was held back */
            r->zleft = z;
            r->seg_off = in.pos;
        }
        n += keep_range(r, buf, n, made);
    }
    *got = n;
    bool more = r->pos < r->to && (r->seg_off < r->seg_len || r->next < r->nseg || (r->compressed && n == cap));
    if (more)
        return 1;
    r->finished = true;
    if (r->compressed && r->zleft != 0 && r->pos < r->to) {
        say(cause, causelen, "the blob %s ends inside its compressed stream", r->path);
        return -1;
    }
    if (r->digest) {
        unsigned char d[32];
        unsigned int dl = 0;
        EVP_DigestFinal_ex(r->digest, d, &dl);
        if (CRYPTO_memcmp(d, r->expect, 32) != 0) {
            say(cause, causelen, "the blob %s does not match its recorded digest", r->path);
            return -1;
        }
    }
    return 0;
}

/* ---- reading in pieces, decoded on several threads ---- */

enum { PIECE_SEGMENTS = 1, PIECE_FRAME, PIECE_PLAIN };
#define PIECE_SEGS (OA_BLOB_FRAME / OA_BLOB_SEGMENT)

struct oa_blob_piece {
    int kind;
    unsigned char *buf; /* ciphertext segments, a decrypted frame, or plaintext (PLAIN) */
    size_t len, cap;
    uint64_t pos;       /* plaintext offset of the piece's first byte */
    uint64_t plain;     /* plaintext bytes it decodes to (FRAME) */
    uint64_t seg;       /* SEGMENTS: the first segment and how many */
    unsigned nseg;
    bool last;
    ZSTD_DCtx *dz;
};

struct oa_blob_piece *oa_blob_piece_new(void)
{
    return oa_xcalloc(1, sizeof(struct oa_blob_piece));
}

void oa_blob_piece_free(struct oa_blob_piece *p)
{
    if (p == NULL)
        return;
    if (p->buf)
        OPENSSL_cleanse(p->buf, p->cap);
    free(p->buf);
    ZSTD_freeDCtx(p->dz);
    free(p);
}

bool oa_blob_piece_last(const struct oa_blob_piece *p)
{
    return p->last;
}

static void piece_room(struct oa_blob_piece *p, size_t need)
{
    if (need <= p->cap)
        return;
    if (p->buf)
        OPENSSL_cleanse(p->buf, p->cap);
    unsigned char *b = oa_xmalloc(need);
    if (p->len > 0)
        memcpy(b, p->buf, p->len);
    free(p->buf);
    p->buf = b;
    p->cap = need;
}

/* Gathers the next whole frame into p; 1 taken, 0 none left, -1 damage. */
static int take_frame(struct oa_blob_reader *r, struct oa_blob_piece *p, char *cause, size_t causelen)
{
    size_t most = ZSTD_compressBound(OA_BLOB_FRAME);
    bool whole = false;
    p->len = 0;
    while (!whole && p->len <= most) {
        if (r->seg_off == r->seg_len) {
            if (r->next == r->nseg)
                break;
            if (open_next(r, cause, causelen) != 0)
                return -1;
        }
        size_t n = r->seg_len - r->seg_off;
        piece_room(p, most + OA_BLOB_SEGMENT);
        memcpy(p->buf + p->len, r->seg + r->seg_off, n);
        p->len += n;
        r->seg_off = r->seg_len;
        size_t f = ZSTD_findFrameCompressedSize(p->buf, p->len);
        if ((whole = !ZSTD_isError(f))) {
            r->seg_off -= p->len - f; /* what follows the frame stays for the next one */
            p->len = f;
        }
    }
    if (p->len == 0)
        return 0;
    unsigned long long content = ZSTD_getFrameContentSize(p->buf, p->len);
    if (!whole || content == ZSTD_CONTENTSIZE_UNKNOWN ||
        content == ZSTD_CONTENTSIZE_ERROR || content > OA_BLOB_FRAME) {
        say(cause, causelen, "the blob %s holds a broken compressed frame", r->path);
        return -1;
    }
    p->plain = content;
    return 1;
}

int oa_blob_reader_take(struct oa_blob_reader *r, struct oa_blob_piece *p, char *cause, size_t causelen)
{
    p->last = false;
    p->len = 0;
    if (r->finished)
        return 0;
    if (!r->compressed) {
        uint64_t last = r->nseg - 1;
        if (r->to != UINT64_MAX && (r->to - 1) / OA_BLOB_SEGMENT < last)
            last = (r->to - 1) / OA_BLOB_SEGMENT;
        if (r->next > last || r->pos >= r->to) {
            r->finished = true;
            return 0;
        }
        p->kind = PIECE_SEGMENTS;
        p->seg = r->next;
        p->nseg = last - r->next + 1 < PIECE_SEGS ? (unsigned)(last - r->next + 1) : PIECE_SEGS;
        p->pos = r->pos;
        r->next += p->nseg;
        r->pos += (uint64_t)p->nseg * OA_BLOB_SEGMENT;
        p->last = r->finished = r->next > last;
        return 1;
    }
    if (!r->framed) {
        /* One compressed stream (older blobs): decoded here, in order. */
        p->kind = PIECE_PLAIN;
        piece_room(p, OA_BLOB_FRAME);
        int rc = oa_blob_reader_fill(r, p->buf, OA_BLOB_FRAME, &p->len, cause, causelen);
        if (rc < 0)
            return -1;
        p->last = rc == 0;
        return rc == 0 && p->len == 0 ? 0 : 1;
    }
    p->kind = PIECE_FRAME;
    for (;;) {
        int rc = r->pos < r->to ? take_frame(r, p, cause, causelen) : 0;
        if (rc <= 0) {
            r->finished = true;
            return rc;
        }
        p->pos = r->pos;
        r->pos += p->plain;
        if (r->pos > r->from || (p->plain == 0 && r->pos == r->from))
            break; /* frames wholly before the range are skipped undecoded */
    }
    p->last = r->finished = r->pos >= r->to || (r->seg_off == r->seg_len && r->next == r->nseg);
    return 1;
}

int oa_blob_piece_decode(const struct oa_blob_reader *r, struct oa_blob_piece *p, unsigned char *out, size_t cap,
                         const unsigned char **data, size_t *len, char *cause, size_t causelen)
{
    uint64_t plain = 0;
    *data = out;
    *len = 0;
    if (p->kind == PIECE_PLAIN) {
        *data = p->buf;
        *len = p->len;
        return 0;
    }
    if (p->kind == PIECE_SEGMENTS) {
        uint64_t first = p->seg, end = p->seg + p->nseg;
        size_t stored = (size_t)((end == r->nseg ? r->body : end * r->full) - first * r->full);
        piece_room(p, PIECE_SEGS * r->full);
        if (cap < (size_t)p->nseg * OA_BLOB_SEGMENT ||
            pread(r->fd, p->buf, stored, (off_t)(HEADER + first * r->full)) != (ssize_t)stored)
            goto damaged;
        for (uint64_t i = first; i < end; i++) {
            size_t at = (size_t)((i - first) * r->full);
            size_t n = (i == r->nseg - 1 ? stored - at : r->full) - r->tl;
            if (open_segment_to(&r->keys, (uint32_t)i, i == r->nseg - 1, p->buf + at, n, out + plain) != 0)
                goto damaged;
            plain += n;
        }
    } else {
        if (p->dz == NULL && (p->dz = ZSTD_createDCtx()) == NULL) {
            say(cause, causelen, "out of memory");
            return -1;
        }
        size_t z = cap < p->plain ? 0 : ZSTD_decompressDCtx(p->dz, out, cap, p->buf, p->len);
        if (cap < p->plain || ZSTD_isError(z) || z != p->plain) {
            say(cause, causelen, "the blob %s does not decompress", r->path);
            return -1;
        }
        plain = z;
    }
    size_t skip;
    *len = in_range(r, p->pos, (size_t)plain, &skip);
    *data = out + skip;
    return 0;
damaged:
    say(cause, causelen, "the blob %s is damaged or not this document's (segment %llu fails authentication)",
        r->path, (unsigned long long)p->seg);
    return -1;
}

int oa_blob_read(const char *path, const unsigned char dek[OA_DEK_LEN], const void *ad, size_t adlen,
                 uint64_t offset, uint64_t len, const unsigned char *expect_digest, oa_blob_sink sink, void *arg,
                 char *cause, size_t causelen)
{
    struct oa_blob_reader *r = NULL;
    if (oa_blob_reader_open(path, dek, ad, adlen, offset, len, expect_digest, &r, cause, causelen) != 0)
        return -1;
    unsigned char *piece = oa_xmalloc(SCRATCH);
    int rc;
    do {
        size_t n = 0;
        rc = oa_blob_reader_fill(r, piece, SCRATCH, &n, cause, causelen);
        if (rc >= 0 && n > 0 && sink(arg, piece, n) != 0)
            rc = 0; /* the sink has what it wanted */
    } while (rc > 0);
    OPENSSL_cleanse(piece, SCRATCH);
    free(piece);
    oa_blob_reader_close(r);
    return rc < 0 ? -1 : 0;
}

/* ---- data keys ---- */

void oa_dek_new(unsigned char dek[OA_DEK_LEN])
{
    RAND_bytes(dek, OA_DEK_LEN);
}

static int dek_aead(const struct oa_keys *k, int level, int version, bool enc, const unsigned char *in,
                    unsigned char *out)
{
    if (level < 0 || level >= OA_KEY_LEVELS || version < 1 || version >= OA_KEY_VERSIONS ||
        !k->kek_present[level][version])
        return -1;
    char aad[32];
    int aadlen = snprintf(aad, sizeof(aad), "oa-dek-v1|%d|%d", level, version);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, ok = 0;
    if (enc) {
        RAND_bytes(out, 12);
        ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->kek[level][version], out) == 1 &&
             EVP_EncryptUpdate(c, NULL, &len, (unsigned char *)aad, aadlen) == 1 &&
             EVP_EncryptUpdate(c, out + 12, &len, in, OA_DEK_LEN) == 1 && EVP_EncryptFinal_ex(c, out + 44, &len) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 44) == 1;
    } else {
        ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->kek[level][version], in) == 1 &&
             EVP_DecryptUpdate(c, NULL, &len, (unsigned char *)aad, aadlen) == 1 &&
             EVP_DecryptUpdate(c, out, &len, in + 12, OA_DEK_LEN) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(in + 44)) == 1 &&
             EVP_DecryptFinal_ex(c, out + len, &len) == 1;
        if (!ok)
            OPENSSL_cleanse(out, OA_DEK_LEN);
    }
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

int oa_dek_wrap(const struct oa_keys *k, int level, const unsigned char dek[OA_DEK_LEN],
                unsigned char out[OA_DEK_WRAPPED], int *version)
{
    if (level < 0 || level >= OA_KEY_LEVELS)
        return -1;
    *version = k->kek_version[level];
    return dek_aead(k, level, *version, true, dek, out);
}

int oa_dek_unwrap(const struct oa_keys *k, int level, int version, const unsigned char in[OA_DEK_WRAPPED],
                  unsigned char dek[OA_DEK_LEN])
{
    return dek_aead(k, level, version, false, in, dek);
}
