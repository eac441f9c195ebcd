/* storage/blob_write.c: writing a blob (BLOB-FORMAT.md).  See blob.h. */
#include "storage/blob.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "proto/alloc.h"
#include "storage/blob-int.h"

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
    if (oa__blob_seal(&w->keys, w->index, last, w->seg, w->seg_len) != 0)
        return -1;
    size_t n = w->seg_len + oa__blob_tag_len(w->keys.suite);
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
    int drc = oa__blob_derive(pd->dek, w->header, pd->ad, pd->adlen, &w->keys);
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
        oa__blob_say(cause, causelen, "bad blob parameters");
        return -1;
    }
    struct oa_blob_writer *w = oa_xcalloc(1, sizeof(*w));
    snprintf(w->final, sizeof(w->final), "%s", final_path);
    snprintf(w->tmp, sizeof(w->tmp), "%s.tmp-XXXXXX", final_path);
    w->fd = mkstemp(w->tmp);
    if (w->fd < 0) {
        int e = errno;
        oa__blob_say(cause, causelen, "cannot create a blob beside %s: %s", final_path, strerror(e));
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
        oa__blob_say(cause, causelen, "cannot start the blob digest");
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
    oa__blob_say(cause, causelen, "cannot write the blob %s: %s", w->final, e ? strerror(e) : "encryption failed");
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
    oa__blob_say(cause, causelen, "cannot finish the blob %s: %s", w->final, e ? strerror(e) : "encryption failed");
    oa_blob_writer_abort(w);
    errno = e;
    return -1;
}

