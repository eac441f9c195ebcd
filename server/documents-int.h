/*
 * server/documents-int.h: internal to the document routes (h_documents.c,
 * h_doc_write.c, h_doc_action.c, h_doc_list.c, h_doc_label.c, h_doc_common.c): the job
 * every document route runs and the functions they share.  Nobody else
 * includes it.
 */
#ifndef OA_SERVER_DOCUMENTS_INT_H
#define OA_SERVER_DOCUMENTS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/doc_view.h"
#include "app/outcome.h"
#include "model/account.h"
#include "model/document.h"
#include "model/job.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "server/http.h"

#define MAX_NAMES 64

/* ------------------------------------------------------------------------ */
/* the job every document route runs                                        */
/* ------------------------------------------------------------------------ */

enum doc_op { OP_CREATE, OP_GET, OP_EDIT, OP_ACTION, OP_HISTORY, OP_REVISION, OP_LIST, OP_RELABEL, OP_EXPIRED };

struct doc_job {
    struct oa_req_job base; /* the request and its answer (status, err, message, out or bytes, etag) */
    enum doc_op op;
    int64_t id;

    /* create and edit: the fields given (NULL when absent) */
    const char *kind, *title, *body, *doc_type, *copy_no, *secrecy_period, *urgency, *main_recipients,
        *copied_recipients, *attachment_note, *doc_date, *note, *printing_organ, *printing_date;
    int64_t level;
    bool has_level;
    const cbor_item_t *scope;     /* array of text, or NULL */
    const char *declass_date, *reason;
    int64_t derived_from;
    char **scope_v;               /* parsed scope (owned) */
    size_t nscope;

    /* actions */
    const char *action, *opinion, *on_behalf, *idem_key;
    bool from_sync;               /* a pushed operation: its base revision was checked already */
    const cbor_item_t *params;

    /* revision and list */
    int64_t revision;
    const char *view, *state, *number, *q;
    int64_t from, to, after, limit;
    bool overdue;
};

/* h_doc_common.c (the document's wire form is app/doc_view.h) */
/* Answers the document whole (body, ETag) with `status`, frees d; returns 0. */
int oa__doc_answer(struct oa_store *s, struct doc_job *j, struct oa_doc *d, int status);
/*
 * How a document job ends, said explicitly (app/outcome.h):
 * oa__doc_refuse: refused, and the job commits, so an audit entry written
 * for the refusal stays; returns 0.  oa__doc_undo: refused after the job
 * wrote something: everything is rolled back; returns e.  oa__doc_end: the
 * same for a use case's outcome.
 */
int oa__doc_refuse(struct doc_job *j, enum oa_err e, const char *message);
int oa__doc_undo(struct doc_job *j, enum oa_err e, const char *message);
int oa__doc_end(struct doc_job *j, const struct oa_app_outcome *o);
int oa__doc_not_found(struct doc_job *j);
/*
 * The immutability guard (#16): when d is a filed record, refuses with
 * record_filed (audited under `what`), frees d and returns what the job
 * returns (0, or OA_E_STORAGE); -1 when d is not filed (go on).
 */
int oa__doc_guard_filed(struct oa_store *s, struct doc_job *j, struct oa_doc *d, const char *what);
int oa__doc_load_me(struct oa_store *s, struct doc_job *j, struct oa_user *me);
int oa__doc_me_from_session(struct oa_store *s, struct doc_job *j, struct oa_user *me);
int oa__doc_audit(struct oa_store *s, struct doc_job *j, const char *event, const struct oa_doc *d,
                  const char *from, const char *to, const char *on_behalf, const char *outcome, const char *detail);
bool oa__doc_open(struct oa_store *s, struct doc_job *j, struct oa_user *me, struct oa_doc *d, const char *what,
                  int *ret);

/* h_doc_write.c */
int oa__doc_run_create(struct oa_store *s, struct doc_job *j);
int oa__doc_run_edit(struct oa_store *s, struct doc_job *j);

/* h_doc_action.c */
int oa__doc_run_action(struct oa_store *s, struct doc_job *j);

/* h_doc_list.c */
int oa__doc_run_list(struct oa_store *s, struct doc_job *j);
/* h_doc_label.c */
int oa__doc_run_relabel(struct oa_store *s, struct doc_job *j);
int oa__doc_run_expired(struct oa_store *s, struct doc_job *j);

#endif
