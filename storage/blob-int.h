/*
 * storage/blob-int.h: what blob.c (the segment keys and their sealing),
 * blob_write.c and blob_read.c share.  Not for use outside them.
 */
#ifndef OA_STORAGE_BLOB_INT_H
#define OA_STORAGE_BLOB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/blob.h"

#define HEADER 64
#define PROBE OA_BLOB_SEGMENT
#define ZSTD_LEVEL 3
#define WRITEBACK (4u << 20)    /* bytes written between two early writeback requests */
#define TAIL_SPLIT (256 * 1024) /* a last frame this long is compressed as two, at once */
/*
 * The largest zstd window a reader allows (2 MiB): a frame holds at most
 * OA_BLOB_FRAME (1 MiB) and blobs written as one stream used level 3's 2 MiB.
 */
#define WINDOW_LOG_MAX 21

/* One blob's segment keys, derived from its data key and header. */
struct seg_keys {
    int suite;
    unsigned char enc[32]; /* AES-256 key, or the SM4 key in its first 16 bytes */
    unsigned char mac[32]; /* HMAC-SM3 key (suite 2) */
    unsigned char prefix[7];
};

/* Formats a cause (when there is room for one). */
void oa__blob_say(char *cause, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The tag's length for a suite. */
size_t oa__blob_tag_len(int suite);
/* Derives the segment keys from the data key, the header and the associated data; 0 or -1. */
int oa__blob_derive(const unsigned char dek[OA_DEK_LEN], const unsigned char header[HEADER], const void *ad,
                    size_t adlen, struct seg_keys *k);
/* Encrypts one segment in place and writes its tag after it (buf has room); 0 or -1. */
int oa__blob_seal(const struct seg_keys *k, uint32_t index, bool last, unsigned char *buf, size_t n);
/* Opens one segment (n bytes with the tag) into out, or in place; 0, or -1 when it fails authentication. */
int oa__blob_open_segment_to(const struct seg_keys *k, uint32_t index, bool last, const unsigned char *buf, size_t n,
                             unsigned char *out);
int oa__blob_open_segment(const struct seg_keys *k, uint32_t index, bool last, unsigned char *buf, size_t n);

#endif
