/*
 * server/handlers.h: internal to server/: the route handlers and the helpers
 * they share.
 */
#ifndef OA_SERVER_HANDLERS_H
#define OA_SERVER_HANDLERS_H

#include <stdbool.h>

#include "app/doc_read.h"
#include "model/job.h"
#include "proto/value.h"
#include "server/http.h"
#include "server/params.h"

/*
 * Reads the body's fields; on failure answers 400 with the reason and returns
 * false (the handler then just returns).
 */
bool oa_req_fields(struct oa_req *r, const struct pv_field *fields, size_t n);

/*
 * Records an audit event for a refusal, durably, then answers with error e.
 * Used wherever a request is refused for lack of rights.
 */
void oa_refuse(struct oa_req *r, enum oa_err e, const char *message, const char *event, const char *target);


/*
 * Step-up for secadmin's changes of clearances, compartments and labels
 * (app/accounts.h oa_app_step_up) with the code the request carries in
 * X-OA-OTP and the server's keys and lockout policy (h_totp.c).  Runs in a
 * writer job.  Returns OA_E_OK, an error to answer, or OA_E_STORAGE.
 */
enum oa_err oa_step_up(struct oa_store *s, struct oa_req *r);

/*
 * Who asks, for the use cases in app/ (struct oa_app_actor): a pointer to a
 * compound literal that lives as long as the enclosing block.
 */
#define OA_REQ_ACTOR(r)                                                                                      \
    (&(struct oa_app_actor){(r)->who.user_id, (r)->who.username[0] ? (r)->who.username : NULL, (r)->peer})

/*
 * One request's database job and its answer (server/jobs.c).  A handler
 * whose job needs more fields embeds it first in a struct of its own; the
 * one completion, oa_req_job_done, answers: the job's rc when it failed (its
 * changes were rolled back), else err and message when set, else `bytes`
 * (of content_type; CBOR already encoded on the database thread when NULL)
 * or `out`, with `status` and `etag`, after calling `finish`, if set; then
 * it frees the struct (one allocation, from oa_req_job_new).
 */
struct oa_req_job {
    struct oa_db_job job;
    struct oa_req *r;
    int status;
    enum oa_err err;
    const char *message;
    cbor_item_t *out;
    unsigned char *bytes;
    size_t nbytes;
    const char *content_type; /* of bytes; NULL: application/cbor */
    char etag[48];            /* sent as ETag when not empty */
    /*
     * On the loop, after the commit and before the answer goes out (whoever
     * reads it may look for what follows the commit): what follows the
     * commit (ok: the job succeeded), the handler's own allocations, wiping
     * its secrets.  It must leave the answer (out, bytes) alone; it may
     * only turn a failed run into an error of its own (job.rc 0, err set).
     */
    void (*finish)(struct oa_req_job *j, bool ok);
    /*
     * A job of several stages (password hashing on the pool, a second
     * database run, a long poll's timer): on the loop, when a run succeeded
     * and before finish and the answer, returns true to keep the job for
     * its next stage, which ends in oa_req_job_submit (another run) or
     * oa_req_job_answer (the authentication gate instead frees it and
     * hands the request to its handler; a download, to the stream that
     * answers in pieces).  Returning false answers now: it
     * may set err or the answer first.
     */
    bool (*step)(struct oa_req_job *j);
};
/*
 * A GET's job that must stay on the writer, ordered with its commits: one
 * that unwraps a file's key with the key ring, which retires a key version
 * once the writer has committed the files' rewrapping.  A reader's snapshot
 * may predate that commit, and its row name a version already gone.
 */
#define OA_REQ_ON_WRITER 0x10000u
/*
 * A zeroed job of `size` bytes (at least the struct) for r, running `run`;
 * OA_JOB_* flags.  A GET's job is a read (OA_JOB_READ), unless
 * OA_REQ_ON_WRITER or OA_JOB_BOOKKEEPING.
 */
void *oa_req_job_new(struct oa_req *r, size_t size, oa_db_run_fn run, unsigned flags);
/* Submits it (oa_db_submit; again for a further stage) with oa_req_job_done as its completion. */
void oa_req_job_submit(struct oa_req_job *j);
/* Answers and frees it (finish first): the end of a stage that is not a database run. */
void oa_req_job_answer(struct oa_req_job *j);
/* Records a refusal to answer; returns 0 (the run keeps its changes, such as an audit entry). */
int oa_req_fail(struct oa_req_job *j, enum oa_err e, const char *message);
void oa_req_job_done(struct oa_db_job *job);

/* system */
void h_healthz(struct oa_req *r);
void h_metrics(struct oa_req *r);
void h_hello(struct oa_req *r);

/* sessions and the caller's own account */
void h_login(struct oa_req *r);
void h_logout(struct oa_req *r);
void h_sessions_list(struct oa_req *r);
void h_session_delete(struct oa_req *r);
void h_me(struct oa_req *r);
void h_me_password(struct oa_req *r);
void h_me_totp_enroll(struct oa_req *r);
void h_me_totp_confirm(struct oa_req *r);

/* organs and departments */
void h_org_list(struct oa_req *r);
void h_organ_create(struct oa_req *r);
void h_department_create(struct oa_req *r);

/* documents (the read gate is app/doc_read.h) */

/* One operation of a sync push (h_sync.c), applied by the document code. */
struct oa_push_op {
    const char *op_id;            /* the client's id: a retry is answered as the first try */
    bool is_action;               /* an action; else an edit of draft fields */
    int64_t doc_id, base_rev;
    const cbor_item_t *fields;    /* edit: the fields */
    const char *action, *opinion; /* action */
    const cbor_item_t *params;
};
enum oa_push_outcome { OA_PUSH_APPLIED, OA_PUSH_CONFLICT, OA_PUSH_REFUSED };
struct oa_push_result {
    enum oa_push_outcome outcome;
    int64_t revision;             /* applied: the new one; conflict: the server's */
    enum oa_err err;              /* refused */
    const char *message;
};
/* Applies one operation in its own savepoint; 0 (see res), -1 storage error. */
int oa_doc_push_op(struct oa_store *s, struct oa_req *r, const struct oa_push_op *op, struct oa_push_result *res);

void h_doc_create(struct oa_req *r);
void h_doc_get(struct oa_req *r);
void h_doc_edit(struct oa_req *r);
void h_doc_action(struct oa_req *r);
void h_doc_history(struct oa_req *r);
void h_doc_revision(struct oa_req *r);
void h_doc_list(struct oa_req *r);
void h_doc_relabel(struct oa_req *r);
void h_labels_expired(struct oa_req *r);

/* around documents */
void h_delegation_create(struct oa_req *r);
void h_delegation_list(struct oa_req *r);
void h_delegation_end(struct oa_req *r);
void h_calendar_list(struct oa_req *r);
void h_calendar_put(struct oa_req *r);
void h_calendar_delete(struct oa_req *r);
void h_chases_list(struct oa_req *r);

/* attachments and uploads (h_blobs.c) */
void h_attachments_list(struct oa_req *r);
void h_attachment_create(struct oa_req *r);
void h_attachment_replace(struct oa_req *r);
void h_attachment_get(struct oa_req *r);
void h_upload_create(struct oa_req *r);
void h_upload_get(struct oa_req *r);
void h_upload_patch(struct oa_req *r);
void h_upload_delete(struct oa_req *r);

/* the sync protocol (h_sync.c) */
void h_sync_changes(struct oa_req *r);
void h_sync_push(struct oa_req *r);

/* the exchange gateway and 主动公开 (h_gateway.c) */
void h_gw_import(struct oa_req *r);
void h_gw_quarantine(struct oa_req *r);
void h_gw_outbox(struct oa_req *r);
void h_gw_outbox_file(struct oa_req *r);
void h_gw_outbox_sent(struct oa_req *r);
void h_publication_propose(struct oa_req *r);
void h_publication_review(struct oa_req *r);
void h_publication_secrecy_review(struct oa_req *r);

/* the audit trail (auditor) */
void h_audit_entries(struct oa_req *r);
void h_audit_checkpoint(struct oa_req *r);
void h_audit_inclusion(struct oa_req *r);
void h_audit_consistency(struct oa_req *r);
void h_audit_export(struct oa_req *r);
void h_audit_report(struct oa_req *r);

/* user administration */
void h_users_list(struct oa_req *r);
void h_user_create(struct oa_req *r);
void h_user_get(struct oa_req *r);
void h_user_patch(struct oa_req *r);
void h_user_reset_password(struct oa_req *r);
void h_user_unlock(struct oa_req *r);
void h_user_clearance(struct oa_req *r);
void h_user_totp(struct oa_req *r);

/* records (#16): h_records.c */
void h_record_file(struct oa_req *r);
void h_record_get(struct oa_req *r);
void h_record_correct(struct oa_req *r);
void h_record_hold(struct oa_req *r);
void h_organ_fonds(struct oa_req *r);
void h_records_schedule_list(struct oa_req *r);
void h_records_schedule_put(struct oa_req *r);
/* h_records_list.c */
void h_records_catalogue(struct oa_req *r);
void h_records_appraisal(struct oa_req *r);
void h_records_declassification(struct oa_req *r);
void h_disposals_list(struct oa_req *r);
void h_disposal_propose(struct oa_req *r);
void h_disposal_decide(struct oa_req *r);

/* archival packages (#16): h_aip.c (oa_aip_serve, in server.h, installs the filing check) */
void h_record_package(struct oa_req *r);
void h_record_check(struct oa_req *r);
void h_transfer_create(struct oa_req *r);
void h_transfer_get(struct oa_req *r);
void h_transfer_package(struct oa_req *r);
void h_transfer_receipt(struct oa_req *r);

#endif
