/*
 * tests/fuzz/make_blob_corpus.c: writes fuzz_blob's seed corpus (the input
 * layout is described at the top of fuzz_blob.c) into the directory given:
 * real blob files written by oa_blob_writer_* with fuzz_blob's key, both
 * suites, plain and compressed, an empty one, truncated and flipped ones;
 * and stored streams for fuzz_blob to seal itself: plain, zstd frames with
 * and without their content size, a skippable frame, one stream.
 *   bazel run //tests/fuzz:make_blob_corpus -- "$PWD/tests/fuzz/corpus/blob"
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "storage/blob.h"

static unsigned char dek[OA_DEK_LEN];
static const char ad[] = "doc:7|rev:2|level:2";
static const char *dir;

static void die(const char *what)
{
    fprintf(stderr, "make_blob_corpus: %s\n", what);
    exit(1);
}

/* A seed: the 10-byte prefix (mode, repeat, offset, length), then the payload. */
static void seed(const char *name, int mode, int repeat, unsigned off, unsigned len, const void *p, size_t n)
{
    char path[4200];
    unsigned char pre[10] = {(unsigned char)mode, (unsigned char)repeat, (unsigned char)(off >> 24),
                             (unsigned char)(off >> 16), (unsigned char)(off >> 8), (unsigned char)off,
                             (unsigned char)(len >> 24), (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                             (unsigned char)len};
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(pre, 1, sizeof(pre), f) != sizeof(pre) || (n > 0 && fwrite(p, 1, n, f) != n) ||
        fclose(f) != 0)
        die(path);
}

static unsigned char *text(size_t n)
{
    static const char *w[] = {"关于", "公文", "处理", "通知", "各部门", "要求", "落实", "2026", "年", " ", "\n"};
    unsigned char *p = malloc(n);
    unsigned x = 12345;
    for (size_t i = 0; i < n;) {
        x = x * 1103515245 + 12345;
        const char *s = w[(x >> 16) % 11];
        for (size_t k = 0; s[k] && i < n; k++)
            p[i++] = (unsigned char)s[k];
    }
    return p;
}

static unsigned char *noise(size_t n)
{
    unsigned char *p = malloc(n);
    unsigned x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (unsigned char)(x >> 24);
    }
    return p;
}

/* A blob file of p written by the writer, read back into *len bytes. */
static unsigned char *blob(enum oa_blob_suite suite, const void *p, size_t n, size_t *len)
{
    char path[4200], cause[512];
    snprintf(path, sizeof(path), "%s/.blob", dir);
    struct oa_blob_writer *w;
    struct oa_blob_info info;
    if (oa_blob_writer_open(path, suite, dek, ad, strlen(ad), &w, cause, sizeof(cause)) != 0 ||
        (n > 0 && oa_blob_write(w, p, n, cause, sizeof(cause)) != 0) ||
        oa_blob_writer_finish(w, &info, cause, sizeof(cause)) != 0)
        die(cause);
    unsigned char *b = malloc(n + 4096);
    int fd = open(path, O_RDONLY);
    ssize_t got = read(fd, b, n + 4096);
    close(fd);
    unlink(path);
    if (got < 64)
        die("short blob");
    *len = (size_t)got;
    return b;
}

/* One zstd frame of p, with or without its content size. */
static unsigned char *frame(const void *p, size_t n, int sized, size_t *len)
{
    ZSTD_CCtx *z = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(n);
    unsigned char *out = malloc(cap);
    ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(z, ZSTD_c_contentSizeFlag, sized);
    size_t c;
    if (sized) {
        c = ZSTD_compress2(z, out, cap, p, n);
    } else { /* streamed: the size is not known when the frame starts */
        ZSTD_inBuffer in = {p, n, 0};
        ZSTD_outBuffer o = {out, cap, 0};
        ZSTD_compressStream2(z, &o, &in, ZSTD_e_continue);
        c = ZSTD_compressStream2(z, &o, &in, ZSTD_e_end);
        c = ZSTD_isError(c) || c != 0 ? c : o.pos;
    }
    ZSTD_freeCCtx(z);
    if (ZSTD_isError(c))
        die("zstd");
    *len = c;
    return out;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        die("usage: make_blob_corpus DIR");
    dir = argv[1];
    for (int i = 0; i < OA_DEK_LEN; i++)
        dek[i] = (unsigned char)(i * 7 + 1);
    size_t n;
    unsigned char *t = text(6000), *r = noise(4000), *b;

    /* Real blob files, as the writer leaves them. */
    b = blob(OA_BLOB_AES256GCM, r, 3000, &n);
    seed("file-aes-plain", 0, 0, 100, 500, b, n);
    seed("file-truncated", 0, 0, 0, 0xffffffff, b, 64 + 1000);
    b[64 + 200] ^= 0x10;
    seed("file-flipped-body", 0, 0, 0, 0xffffffff, b, n);
    b[64 + 200] ^= 0x10;
    b[12] ^= 0x01; /* the segment size */
    seed("file-flipped-header", 0, 0, 0, 0xffffffff, b, n);
    free(b);
    b = blob(OA_BLOB_SM4_SM3, r, 3000, &n);
    seed("file-sm4-plain", 0, 0, 2999, 0xffffffff, b, n);
    free(b);
    b = blob(OA_BLOB_AES256GCM, t, 6000, &n);
    seed("file-aes-zstd", 0, 0, 10, 100, b, n);
    b[n - 5] ^= 0x80;
    seed("file-flipped-tag", 0, 0, 10, 100, b, n);
    free(b);
    b = blob(OA_BLOB_SM4_SM3, t, 6000, &n);
    seed("file-sm4-zstd", 0, 0, 5000, 0xffffffff, b, n);
    free(b);
    b = blob(OA_BLOB_AES256GCM, NULL, 0, &n);
    seed("file-empty", 0, 0, 0, 0xffffffff, b, n);
    free(b);

    /* Stored streams that fuzz_blob seals (mode bit 0). */
    seed("sealed-aes-plain", 1, 0, 0, 100, t, 500);
    seed("sealed-sm4-plain-two-segments", 1 | 2, 19, 65530, 20, r, 4000);
    seed("sealed-not-last", 1 | 16, 0, 0, 0xffffffff, t, 500);
    seed("sealed-other-document", 1 | 32, 0, 0, 0xffffffff, t, 500);
    b = frame(t, 3000, 1, &n);
    seed("sealed-aes-frames", 1 | 4 | 8, 2, 2990, 20, b, n);
    unsigned char skip_then_frame[4096] = {0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 's', 'k', 'i', 'p'};
    memcpy(skip_then_frame + 12, b, n);
    seed("sealed-sm4-skippable-frame", 1 | 2 | 4 | 8, 0, 0, 0xffffffff, skip_then_frame, 12 + n);
    seed("sealed-aes-frames-as-stream", 1 | 4, 1, 0, 0xffffffff, b, n); /* an older blob's flags */
    free(b);
    b = frame(t, 6000, 0, &n);
    seed("sealed-aes-stream-unsized", 1 | 4, 1, 100, 3000, b, n);
    seed("sealed-aes-frames-unsized", 1 | 4 | 8, 0, 100, 3000, b, n);
    free(b);
    unsigned char *big = malloc(OA_BLOB_FRAME);
    for (size_t i = 0; i < OA_BLOB_FRAME; i++)
        big[i] = (unsigned char)("关于做好安全生产工作的通知。"[i % 42]);
    b = frame(big, OA_BLOB_FRAME, 1, &n);
    seed("sealed-aes-frame-of-1mib", 1 | 4 | 8, 0, OA_BLOB_FRAME - 6, 12, b, n);
    free(b);
    free(big);
    free(t);
    free(r);
    return 0;
}
