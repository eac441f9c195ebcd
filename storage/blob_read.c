/* storage/blob_read.c: reading a blob (BLOB-FORMAT.md).  See blob.h. */
#include "storage/blob.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
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
        oa__blob_say(cause, causelen, "cannot open the blob %s: %s", path, strerror(errno));
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
        oa__blob_say(cause, causelen, "cannot open the blob %s: %s", path, strerror(errno));
        goto fail;
    }
    if (pread(r->fd, header, HEADER, 0) != HEADER || memcmp(header, "OABLOB", 6) != 0 || header[6] != 1 ||
        (header[7] != OA_BLOB_AES256GCM && header[7] != OA_BLOB_SM4_SM3) ||
        ((uint32_t)header[10] << 24 | (uint32_t)header[11] << 16 | (uint32_t)header[12] << 8 | header[13]) !=
            OA_BLOB_SEGMENT) {
        oa__blob_say(cause, causelen, "the blob %s is not an oa blob (version 1)", path);
        goto fail;
    }
    if (oa__blob_derive(dek, header, ad, adlen, &r->keys) != 0) {
        oa__blob_say(cause, causelen, "cannot derive the blob's key");
        goto fail;
    }
    r->tl = oa__blob_tag_len(header[7]);
    r->full = OA_BLOB_SEGMENT + r->tl;
    if ((uint64_t)st.st_size < HEADER + r->tl) {
        oa__blob_say(cause, causelen, "the blob %s is truncated", path);
        goto fail;
    }
    r->body = (uint64_t)st.st_size - HEADER;
    r->nseg = (r->body + r->full - 1) / r->full;
    if (r->body - (r->nseg - 1) * r->full < r->tl) { /* a last segment shorter than its tag */
        oa__blob_say(cause, causelen, "the blob %s is truncated", path);
        goto fail;
    }
    r->compressed = header[8] & 1;
    r->framed = r->compressed && (header[8] & 2);
    if (expect_digest && offset == 0 && r->to == UINT64_MAX) {
        memcpy(r->expect, expect_digest, 32);
        r->digest = EVP_MD_CTX_new();
        if (r->digest == NULL ||
            EVP_DigestInit_ex(r->digest, header[7] == OA_BLOB_SM4_SM3 ? EVP_sm3() : EVP_sha256(), NULL) != 1) {
            oa__blob_say(cause, causelen, "cannot start the blob digest");
            goto fail;
        }
    }
    /*
     * zstd's streaming decoder allocates the window a frame asks for (up to
     * 128 MiB by default): no more than the writer ever used.
     */
    if (r->compressed && ((r->dz = ZSTD_createDCtx()) == NULL ||
                          ZSTD_isError(ZSTD_DCtx_setParameter(r->dz, ZSTD_d_windowLogMax, WINDOW_LOG_MAX)))) {
        oa__blob_say(cause, causelen, "out of memory");
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
        oa__blob_open_segment(&r->keys, (uint32_t)i, last, r->seg, n - r->tl) != 0) {
        oa__blob_say(cause, causelen, "the blob %s is damaged or not this document's (segment %llu fails authentication)",
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
                oa__blob_say(cause, causelen, "the blob %s does not decompress", r->path);
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
        oa__blob_say(cause, causelen, "the blob %s ends inside its compressed stream", r->path);
        return -1;
    }
    if (r->digest) {
        unsigned char d[32];
        unsigned int dl = 0;
        EVP_DigestFinal_ex(r->digest, d, &dl);
        if (CRYPTO_memcmp(d, r->expect, 32) != 0) {
            oa__blob_say(cause, causelen, "the blob %s does not match its recorded digest", r->path);
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
        oa__blob_say(cause, causelen, "the blob %s holds a broken compressed frame", r->path);
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
            if (oa__blob_open_segment_to(&r->keys, (uint32_t)i, i == r->nseg - 1, p->buf + at, n, out + plain) != 0)
                goto damaged;
            plain += n;
        }
    } else {
        if (p->dz == NULL && (p->dz = ZSTD_createDCtx()) == NULL) {
            oa__blob_say(cause, causelen, "out of memory");
            return -1;
        }
        size_t z = cap < p->plain ? 0 : ZSTD_decompressDCtx(p->dz, out, cap, p->buf, p->len);
        if (cap < p->plain || ZSTD_isError(z) || z != p->plain) {
            oa__blob_say(cause, causelen, "the blob %s does not decompress", r->path);
            return -1;
        }
        plain = z;
    }
    size_t skip;
    *len = in_range(r, p->pos, (size_t)plain, &skip);
    *data = out + skip;
    return 0;
damaged:
    oa__blob_say(cause, causelen, "the blob %s is damaged or not this document's (segment %llu fails authentication)",
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

