/*
 * storage/blob.h: the encrypted blob store's file format and streaming
 * codec (BLOB-FORMAT.md).  Writing streams: memory is one segment plus the
 * compressor, whatever the blob's size.  Reading a range decrypts only the
 * segments it needs (uncompressed blobs).  Nothing here logs, and no error
 * message contains key material.
 */
#ifndef OA_STORAGE_BLOB_H
#define OA_STORAGE_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/blob.h"
#include "storage/keys.h"

struct oa_blob_writer;

/*
 * The writer's functions that fail with -1 leave errno as the failed system
 * call set it (ENOSPC when the disk is full), or 0 when no system call
 * failed (the encryption did).
 *
 * Starts a blob that will become final_path: data goes to a temporary file
 * beside it (mode 0600).  ad binds the blob to its document, revision and
 * label.  Returns 0, or -1 with a sentence in cause.
 */
int oa_blob_writer_open(const char *final_path, enum oa_blob_suite suite, const unsigned char dek[OA_DEK_LEN],
                        const void *ad, size_t adlen, struct oa_blob_writer **out, char *cause, size_t causelen);
/*
 * The caller computes the plaintext digest itself (e.g. on another thread,
 * in parallel with the sealing) and puts it in the info after finish.
 */
void oa_blob_writer_external_digest(struct oa_blob_writer *w);
/* Appends plaintext; 0 or -1 (the writer is then aborted and freed). */
int oa_blob_write(struct oa_blob_writer *w, const void *data, size_t len, char *cause, size_t causelen);
/*
 * Seals the last segment, fsyncs the file, renames it into place and fsyncs
 * the directory: when this returns 0 the blob survives a crash.  Frees w.
 */
int oa_blob_writer_finish(struct oa_blob_writer *w, struct oa_blob_info *info, char *cause, size_t causelen);
/* Drops an unfinished blob and its temporary file.  Frees w. */
void oa_blob_writer_abort(struct oa_blob_writer *w);

/* Receives plaintext as it is decrypted; nonzero stops the read. */
typedef int (*oa_blob_sink)(void *arg, const void *data, size_t len);

/*
 * Reads plaintext bytes [offset, offset + len) (len UINT64_MAX: to the end)
 * into sink.  Any damage, a wrong key, another blob's file or another
 * document's associated data fails with -1 and a cause: never wrong bytes.
 * When expect_digest is given and the whole blob is read, the digest is
 * checked too.
 */
int oa_blob_read(const char *path, const unsigned char dek[OA_DEK_LEN], const void *ad, size_t adlen,
                 uint64_t offset, uint64_t len, const unsigned char *expect_digest, oa_blob_sink sink, void *arg,
                 char *cause, size_t causelen);

/*
 * The same, in steps, for streaming a blob out without holding it: open
 * checks the header and derives the key; each fill() places the range's next
 * plaintext bytes straight into buf (up to cap: a compressed blob is
 * decompressed into it, with no copy of ours between) and returns 1 while
 * more follow, 0 once the range is done (and, for a whole-blob read with a
 * digest, checked), -1 with a cause on damage; *got says how many it placed.
 * Every segment's tag is checked before its bytes are placed.  close() frees
 * (NULL is fine).
 */
struct oa_blob_reader;
int oa_blob_reader_open(const char *path, const unsigned char dek[OA_DEK_LEN], const void *ad, size_t adlen,
                        uint64_t offset, uint64_t len, const unsigned char *expect_digest,
                        struct oa_blob_reader **out, char *cause, size_t causelen);
/* The same on a file already open: the reader takes fd (closed on failure and by close()); path names it in causes. */
int oa_blob_reader_open_fd(int fd, const char *path, const unsigned char dek[OA_DEK_LEN], const void *ad,
                           size_t adlen, uint64_t offset, uint64_t len, const unsigned char *expect_digest,
                           struct oa_blob_reader **out, char *cause, size_t causelen);
int oa_blob_reader_fill(struct oa_blob_reader *r, void *buf, size_t cap, size_t *got, char *cause, size_t causelen);
void oa_blob_reader_close(struct oa_blob_reader *r);

/*
 * Reading on several threads: take() cuts the range's next piece off the
 * reader, in order, one caller at a time (16 segments of an uncompressed
 * blob, or one compressed frame, decrypted), and returns 1, or 0 when the
 * range is done, -1 on damage.  decode() turns a taken piece into the
 * range's plaintext in out (cap at least OA_BLOB_FRAME), on any thread,
 * several pieces of one reader at once; *data and *len are what to send.
 * Blobs written as one compressed stream are decoded in take().
 */
struct oa_blob_piece;
struct oa_blob_piece *oa_blob_piece_new(void);
void oa_blob_piece_free(struct oa_blob_piece *p);
bool oa_blob_piece_last(const struct oa_blob_piece *p);
int oa_blob_reader_take(struct oa_blob_reader *r, struct oa_blob_piece *p, char *cause, size_t causelen);
int oa_blob_piece_decode(const struct oa_blob_reader *r, struct oa_blob_piece *p, unsigned char *out, size_t cap,
                         const unsigned char **data, size_t *len, char *cause, size_t causelen);

/* A new random data key. */
void oa_dek_new(unsigned char dek[OA_DEK_LEN]);
/* Wraps a DEK under the current KEK of `level`; *version receives the KEK version.  0 or -1. */
int oa_dek_wrap(const struct oa_keys *k, int level, const unsigned char dek[OA_DEK_LEN],
                unsigned char out[OA_DEK_WRAPPED], int *version);
/* Unwraps; -1 when the key, level or version does not match. */
int oa_dek_unwrap(const struct oa_keys *k, int level, int version, const unsigned char in[OA_DEK_WRAPPED],
                  unsigned char dek[OA_DEK_LEN]);

#endif
