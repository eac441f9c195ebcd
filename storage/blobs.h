/*
 * storage/blobs.h: the rows that describe blob files, and attachments.
 *
 * A blob file (blob.h) is immutable; its row records where it is, the data
 * key wrapped under its level's KEK, and what it holds.  An attachment is a
 * named, revisioned thing of a document whose every revision is one blob.
 * Writer thread only, inside jobs.
 */
#ifndef OA_STORAGE_BLOBS_H
#define OA_STORAGE_BLOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/blob.h"
#include "storage/blob.h"
#include "storage/store.h"

/* A fresh random file name. */
void oa_blob_file_new(char out[OA_BLOB_FILE_LEN + 1]);
/* DATA/blobs/ab/abcdef...: the path of a blob file; 0, or -1 when it does not fit. */
int oa_blob_path(const char *data_dir, const char *file, char *out, size_t cap);
/* Creates DATA/blobs/ab/ for a file; 0 or -1. */
int oa_blob_dir_make(const char *data_dir, const char *file);
/* The associated data that binds a blob to its document, revision, label and file. */
size_t oa_blob_ad(const struct oa_blob_row *b, char *out, size_t cap);

/*
 * Records a finished blob as revision b->rev of an attachment: a new one
 * (b->attachment_id == 0: named `name`, role `role`; the new id is written
 * back) or the next revision of an existing one.  Records a change of the
 * document.  0 or -1.
 */
int oa_attachment_put(struct oa_store *s, struct oa_blob_row *b, const char *name, const char *role);

/* One attachment of a document, at revision rev (0: current).  1 found, 0 not, -1 error. */
int oa_attachment_get(struct oa_store *s, int64_t doc_id, int64_t att_id, int rev, struct oa_attachment *a);
/* The next revision number of an attachment of doc_id (1 for none): 0 when it is not the document's, -1 error. */
int oa_attachment_next_rev(struct oa_store *s, int64_t doc_id, int64_t att_id);

/* A document's attachments, current revisions, in id order; *n entries, malloc'd (free()), NULL when none. */
struct oa_attachment *oa_attachment_list(struct oa_store *s, int64_t doc_id, size_t *n, int *rc);

/* 1 when a live blob row names this file, 0 when none or only a shredded one (its file is dead), -1 error. */
int oa_blob_file_known(struct oa_store *s, const char *file);

/* Every blob row, in id order, for fsck: calls fn for each; stops when fn returns non-zero. */
int oa_blob_each(struct oa_store *s, int (*fn)(void *arg, const struct oa_blob_row *b), void *arg);

/* One blob whose level differs from its document's (it must be re-sealed): 1 found, 0 none, -1 error. */
int oa_blob_next_reseal(struct oa_store *s, int64_t after_id, struct oa_blob_row *b, int *doc_level);
/*
 * Points blob row b->id at a new file sealed at a new level, if it still names
 * old_file (else returns 0 and changes nothing: it moved on meanwhile).
 * 1 replaced, 0 not, -1 error.
 */
int oa_blob_replace_file(struct oa_store *s, const struct oa_blob_row *b, const char *old_file);

/*
 * Up to max blob rows whose wrapped DEK is under a KEK version that is not
 * the current one of their level (cur[level]).  malloc'd array (free()), *n.
 */
struct oa_blob_row *oa_blob_stale_keys(struct oa_store *s, const int cur[], int max, size_t *n, int *rc);
/* Stores a rewrapped DEK; 0 or -1. */
int oa_blob_set_dek(struct oa_store *s, int64_t id, int kek_version, const unsigned char dek[OA_DEK_WRAPPED]);
/* How many live blobs have their DEK under (level, version); -1 on error. */
int64_t oa_blob_count_kek(struct oa_store *s, int level, int version);

/*
 * Removes what an interrupted upload or a crash left under DATA/blobs:
 * temporary files, and files that no row names.  Run before serving.
 * *removed counts them; 0 or -1.
 */
int oa_blob_sweep(struct oa_store *s, const char *data_dir, int *removed);

/*
 * Crypto-shredding: forgets the wrapped data key of a blob, so that its file
 * can never be opened again.  The caller deletes the file afterwards.  0 or -1.
 */
int oa_blob_shred(struct oa_store *s, int64_t id);

/* struct oa_blob_files, the blob files a disposal leaves dead: model/blob.h. */

/*
 * Adds to f the files of doc_id's shredded blobs that nothing else refers
 * to: no attachment of another document points at the blob, no other blob
 * row names the file, and no outbox item of another document lists the
 * attachment (such a file is kept).  0 or -1.
 */
int oa_blob_dead_files(struct oa_store *s, int64_t doc_id, struct oa_blob_files *f);
/* Unlinks each of f's files under DATA/blobs (one already gone is no error); the number removed. */
size_t oa_blob_files_unlink(const char *data_dir, const struct oa_blob_files *f);
void oa_blob_files_free(struct oa_blob_files *f);

#endif
