/*
 * app/attachments.h: a document's attachments (attachments.c): the check
 * before an upload, recording an uploaded revision, listing them, and
 * opening one to download.  The bytes stream through app/blob_stream.h.
 */
#ifndef OA_APP_ATTACHMENTS_H
#define OA_APP_ATTACHMENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "app/audit.h"
#include "model/blob.h"
#include "proto/errors.h"
#include "proto/value.h"

struct oa_store;

/* An attachment as the API shows it; the caller owns the item. */
cbor_item_t *oa_app_attachment_item(const struct oa_attachment *a);

/* Where an upload goes, as the check found it. */
struct oa_app_upload_target {
    int level;                               /* the document's: the blob is sealed for it */
    int rev;                                 /* the revision the upload makes */
    char name[OA_ATTACHMENT_NAME_MAX + 1];
    char role[16];
};
/*
 * Before an upload to document doc_id (a new attachment, or a new revision
 * of att_id): the caller may edit the document (the read gate for edits);
 * a new revision names an attachment that exists and, when if_match is
 * given, matches it.  name and role: as asked (NULL: the attachment's, or
 * "attachment").  0 (*t filled, or *err and *message: refused) or
 * OA_E_STORAGE.
 */
int oa_app_upload_check(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, int64_t att_id,
                        const char *name, const char *role, const char *if_match, struct oa_app_upload_target *t,
                        enum oa_err *err, const char **message);
/*
 * Records an uploaded blob (b: sealed and durable) as the attachment's new
 * revision, if the caller may still edit the document and nobody added a
 * revision meanwhile; audited.  0 (or *err and *message) or OA_E_STORAGE.
 */
int oa_app_upload_commit(struct oa_store *s, const struct oa_app_actor *by, struct oa_blob_row *b, const char *name,
                         const char *role, enum oa_err *err, const char **message);
/* A document's attachments (current revisions) as {attachments: [...]}.  0 (or *err, *message) or OA_E_STORAGE. */
int oa_app_attachments_list(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, cbor_item_t **out,
                            enum oa_err *err, const char **message);
/*
 * Opens revision rev (0: the current one) of attachment att_id to download,
 * through the read gate; audited when the document is classified.  *fd is
 * its blob file in the blob store under data_dir, opened in the transaction
 * that read the row (a re-seal swaps the row in a later one and only then
 * removes this file), or -1.  0 (or *err, *message) or OA_E_STORAGE.
 */
int oa_app_attachment_open(struct oa_store *s, const struct oa_app_actor *by, const char *data_dir, int64_t doc_id,
                           int64_t att_id, int rev, struct oa_attachment *a, int *fd, enum oa_err *err,
                           const char **message);

#endif
