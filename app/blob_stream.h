/*
 * app/blob_stream.h: a blob's bytes streaming in and out of the blob store
 * (blob_stream.c), for the upload and download routes, which run these on
 * the thread pool while the loop moves the bytes.  What is decided here is
 * the blob's crypto and place: a new data key wrapped under the level's KEK,
 * the associated data binding the blob to its document, revision and label,
 * the file under the data directory; and whether the disk may take more
 * (storage/fault.h).  The codec itself is storage/blob.h.
 */
#ifndef OA_APP_BLOB_STREAM_H
#define OA_APP_BLOB_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/blob.h"
#include "model/keys.h"
#include "proto/errors.h"

/* ---- in: sealing a new blob ---- */

struct oa_app_blob_out;

/*
 * Whether a new blob may be written now: no, while the disk is full and
 * the reserve is spent (the reserve's space is not for blobs).
 */
bool oa_app_blob_space(void);

/*
 * Starts a new blob for row b (doc_id, attachment_id, rev, level, suite,
 * staged and created_by set): picks its file, makes its data key and wraps
 * it under keys (b->file, b->dek, b->kek_version filled) and opens its
 * file under data_dir; the plaintext digest is the caller's.  NULL with
 * *err: OA_E_NO_SPACE (the disk is full: the fault is raised) or
 * OA_E_INTERNAL (logged).  Loop thread.
 */
struct oa_app_blob_out *oa_app_blob_out_open(const struct oa_keys *keys, const char *data_dir,
                                             struct oa_blob_row *b, enum oa_err *err);
/* Seals len more bytes.  0, or -1 (see oa_app_blob_out_failed).  Thread pool. */
int oa_app_blob_out_write(struct oa_app_blob_out *o, const void *data, size_t len);
/* Finishes the blob, durable on disk; *info its sizes (not its digest).  0 or -1.  Thread pool. */
int oa_app_blob_out_finish(struct oa_app_blob_out *o, struct oa_blob_info *info);
/*
 * After a failed write or finish: OA_E_NO_SPACE when the disk is full (the
 * fault raised: one line for it, not one per upload), else OA_E_INTERNAL
 * (logged with doc_id and the cause).  Loop thread.
 */
enum oa_err oa_app_blob_out_failed(struct oa_app_blob_out *o, int64_t doc_id);
/* The blob's row points at its file now: freeing o keeps the file. */
void oa_app_blob_out_keep(struct oa_app_blob_out *o);
/* Ends it: a writer still open is aborted, a finished file not kept is removed, the key wiped.  NULL is fine. */
void oa_app_blob_out_free(struct oa_app_blob_out *o);

/* ---- out: reading a blob's range ---- */

struct oa_app_blob_in;
struct oa_blob_piece;

/*
 * Prepares reading bytes [from, from + len) of blob b: its data key
 * unwrapped under keys, its file under data_dir (fd: already opened, which
 * it takes, or -1).  NULL when the key is not in the key file (then fd is
 * closed).  Loop thread.
 */
struct oa_app_blob_in *oa_app_blob_in_new(const struct oa_keys *keys, const char *data_dir,
                                          const struct oa_blob_row *b, int fd, uint64_t from, uint64_t len);
/*
 * Cuts the range's next piece into *p (made on first use), in order, one
 * caller at a time; opens the file first.  Each segment's tag is checked
 * before its bytes are decoded.  1 took one, 0 the range is done, -1
 * damage (cause).  Thread pool.
 */
int oa_app_blob_in_take(struct oa_app_blob_in *in, struct oa_blob_piece **p, char *cause, size_t cap);
/* Whether taken piece p is the range's last. */
bool oa_app_blob_piece_last(const struct oa_blob_piece *p);
/* Decodes taken piece p into out (OA_BLOB_FRAME bytes); *data, *len what to send.  0 or -1.  Any thread. */
int oa_app_blob_in_decode(const struct oa_app_blob_in *in, struct oa_blob_piece *p, unsigned char *out,
                          const unsigned char **data, size_t *len, char *cause, size_t cap);
void oa_app_blob_piece_free(struct oa_blob_piece *p);
/* Closes the file, wipes the key, frees in.  NULL is fine. */
void oa_app_blob_in_free(struct oa_app_blob_in *in);

#endif
