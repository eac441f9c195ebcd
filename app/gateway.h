/*
 * app/gateway.h: the exchange gateway's use cases (#15): importing a
 * validated inbound bundle whole or not at all, recording a quarantined one,
 * the outbox oagw writes out (receipts, replies, publications) and its
 * acknowledgements, and 主动公开 (proposal and publication review).
 *
 * Every function runs on the writer thread inside the caller's job; every
 * bundle in and out is audited with its digest in the same transaction.  The
 * rules come from workflow/ (access.c: oa_access_export, deadline.c: the
 * request clock); no HTTP here.  docs/API.md "The exchange gateway" is the
 * contract with oagw.
 */
#ifndef OA_APP_GATEWAY_H
#define OA_APP_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/doc_read.h"
#include "model/blob.h"
#include "model/document.h"
#include "model/gateway.h"
#include "proto/value.h"

struct oa_request_row; /* storage/gateway.h */

#define OA_GW_MAX_FILES 64

/* One file of a bundle: what the manifest says, and the blob its upload sealed (staged). */
struct oa_gw_file {
    const char *name;
    const char *sha256;      /* 64 lowercase hex */
    int64_t size;
    struct oa_blob_row blob; /* the finished upload's blob: doc 0, staged */
};

/* An inbound bundle, checked for shape by the caller (lengths, hex, types). */
struct oa_gw_import {
    const char *sender, *bundle_id, *type, *created;
    int64_t seq;
    /* public_request */
    const char *name, *id_type, *id_number, *contact, *organisation, *subject, *reply_form, *submitted, *confirmed;
    /* correction (and confirmed, above) */
    const char *request_ref, *text;
    struct oa_gw_file *files;
    size_t nfiles;
};

struct oa_gw_import_result {
    bool duplicate;     /* the same (sender, bundle_id) came before: nothing was written */
    int64_t doc_id;     /* the request it made or corrected */
    int64_t expected;   /* OA_E_OUT_OF_SEQUENCE: the seq expected */
    enum oa_err err;    /* OA_E_OK, or the refusal (nothing written but its record and audit entry) */
    const char *message;
    char reason[512];   /* OA_E_CORRECTION_REFUSED again: the first refusal's sentence (message points here) */
};

/* Whether s is 64 lowercase hex digits (a SHA-256). */
bool oa_gw_hex64(const char *s);

/*
 * Imports one bundle: a public request becomes a request document in
 * `imported` (its receipt date the day of `confirmed` in Asia/Shanghai), a
 * correction is taken only by a request awaiting it (workflow/deadline.h
 * oa_correction_verdict): attached to it, the clock restarted from its
 * `confirmed`.  Any other correction is refused for good
 * (OA_E_CORRECTION_REFUSED, audited, its seq kept; the same bundle again is
 * answered the same).  Files become the document's attachments (their blobs staged,
 * re-sealed in the background).  Duplicates, replays and gaps are decided
 * here (see struct oa_gw_import_result).  0, or -1 storage error (roll back).
 */
int oa_gw_import(struct oa_store *s, const struct oa_app_actor *by, const struct oa_gw_import *in,
                 struct oa_gw_import_result *out);

/*
 * A bundle oagw refused after it read it whole and its signature verified
 * (the virus scan or the content types refused a file): who sent it, its
 * id and seq are the sender's own, and the same id is always refused.
 */
struct oa_gw_signed {
    const char *sender, *bundle_id;
    int64_t seq;
};

/*
 * Records a refused inbound bundle in the audit trail; its entry's id in
 * *audit_id.  With `signed_by` (else NULL) the refusal also spends the
 * sender's seq, as oad's own refusals do, so the sender's next bundles are
 * not held behind it: when seq is the sender's next it is recorded
 * (gateway_refusals); when its id or seq is known already only the audit
 * entry is written; when seq is beyond the next, nothing is written and
 * *expected is the seq awaited (oagw tries again later).  0 or -1.
 */
int oa_gw_quarantine(struct oa_store *s, const struct oa_app_actor *by, const char *file, const char *sha256,
                     const char *reason, const char *detail, const struct oa_gw_signed *signed_by,
                     int64_t *audit_id, int64_t *expected);

/*
 * The outbox page after `after` (at most `limit` items that export allows),
 * as the response map {items, next_after}; NULL on a storage error.
 */
cbor_item_t *oa_gw_outbox_page(struct oa_store *s, int64_t after, int limit);

/*
 * The k-th file of outbox item id, if the item may still leave: 1 (*a
 * filled, and *fd its blob file in the blob store under data_dir, opened
 * to read, or -1 when it cannot be), 0 not found, -1 storage error;
 * OA_E_FORBIDDEN in *err (audited) when its document no longer may,
 * OA_E_GONE when its blob was shredded.
 */
int oa_gw_outbox_file(struct oa_store *s, const struct oa_app_actor *by, const char *data_dir, int64_t id, int k,
                      struct oa_attachment *a, int *fd, enum oa_err *err);

/* Records that oagw wrote item id out (idempotent; other values: OA_E_CONFLICT).  0 or -1. */
int oa_gw_outbox_sent(struct oa_store *s, const struct oa_app_actor *by, int64_t id, const char *bundle_id,
                      const char *sha256, enum oa_err *err);

/*
 * Outbox items made by the request lifecycle.  A receipt (回执 when
 * accepted, 回退 with the reason when not) for the request `req`; a reply:
 * the reply document `reply` (its text and files) with the form, only when
 * oa_access_export allows it (公开, no scope, the request's secrecy review
 * recorded) -- else *err = OA_E_FORBIDDEN, audited, nothing written.
 * 0 or -1.
 */
int oa_gw_outbox_receipt(struct oa_store *s, const struct oa_doc *req, const struct oa_request_row *q, bool accepted,
                         const char *reason);
int oa_gw_outbox_reply(struct oa_store *s, const struct oa_app_actor *by, const struct oa_doc *req,
                       const struct oa_request_row *q, struct oa_doc *reply, enum oa_err *err, const char **message);

/*
 * 主动公开: `who` proposes issued 公开 outgoing document doc_id for
 * publication; a leader reviews it (信息发布审核) and, approved, it becomes a
 * `publication` outbox item.  0 (*err, *message set on a refusal, audited),
 * -1 storage error.  On success *out is the publication's state map.
 */
int oa_gw_publication_propose(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id,
                              const char *opinion, enum oa_err *err, const char **message, cbor_item_t **out);
int oa_gw_publication_review(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, bool approve,
                             const char *opinion, enum oa_err *err, const char **message, cbor_item_t **out);
/*
 * 主动公开's secrecy review (保密审查), between the proposal and the
 * publication review: the secretariat or a leader, not the proposer
 * (oa_publication_secrecy_may), once per proposal.  The publication review
 * cannot approve without it (oa_access_export: 403, audited).  These three
 * are app/publication.c's.
 */
int oa_gw_publication_secrecy_review(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id,
                                     const char *opinion, enum oa_err *err, const char **message, cbor_item_t **out);

/*
 * A public request's facts for a reader of it, as a map: the applicant's
 * personal data only for those handling it (oa_request_personal_visible),
 * else redacted.  NULL when the document has no request row.
 */
cbor_item_t *oa_gw_request_item(struct oa_store *s, const struct oa_user *who, const struct oa_doc *d);

#endif
