/*
 * server/h_documents.c: official documents over HTTP.
 *
 *   POST  /v1/documents                    create (outgoing, incoming, request)
 *   GET   /v1/documents/{id}               read, with ETag "d<id>-<revision>"
 *   PATCH /v1/documents/{id}               edit draft fields (If-Match)
 *   POST  /v1/documents/{id}/actions       act: {action, opinion, params, on_behalf_of}
 *                                          with an Idempotency-Key header
 *   GET   /v1/documents/{id}/history       steps and opinions, revisions, participants
 *   GET   /v1/documents/{id}/revisions/{n} one earlier text
 *   GET   /v1/documents?view=todo|done|all&state=&kind=&number=&from=&to=&overdue=1&q=
 *
 * This file holds the routes, decoding their fields, the job plumbing,
 * reading and the sync protocol's pushed operations; creating and editing
 * are in h_doc_write.c, actions in h_doc_action.c, lists and labels in
 * h_doc_list.c, the helpers they all use in h_doc_common.c (documents-int.h
 * joins them; the calls go one way: routes -> uses -> common).
 *
 * Who may act is decided by workflow/docflow.c, who may see by
 * app/doc_read.c; a document someone may not see answers 404 exactly as
 * a missing one does, and the refusal is audited.  Every change takes the
 * next value of the global change sequence (storage/documents.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/doc_action.h"
#include "app/doc_history.h"
#include "app/doc_read.h"
#include "app/jobs.h"
#include "proto/value.h"
#include "server/documents-int.h"
#include "server/handlers.h"
#include "server/server.h"
#include "workflow/access.h"
#include "workflow/calendar.h"
#include "workflow/deadline.h"
#include "workflow/docflow.h"

/* ---- read, history, one revision ---- */

static int run_get(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    struct oa_doc d;
    int rc;
    const char *what = j->op == OP_GET ? "document.read" : j->op == OP_HISTORY ? "document.history"
                                                                                : "document.revision";
    if (!oa__doc_open(s, j, &me, &d, what, &rc))
        return rc;
    if (d.level > OA_LEVEL_PUBLIC && oa__doc_audit(s, j, what, &d, NULL, NULL, NULL, "ok", NULL) != 0) {
        oa_doc_free(&d);
        return OA_E_STORAGE;
    }
    if (j->op == OP_GET)
        return oa__doc_answer(s, j, &d, 200);
    j->base.status = 200;
    oa_doc_free(&d);
    if (j->op == OP_REVISION) {
        int found = oa_app_doc_revision(s, j->id, j->revision, &j->base.out);
        if (found == 0)
            return oa__doc_refuse(j, OA_E_NOT_FOUND, "The document has no text revision with that number.");
        return found == 1 ? 0 : OA_E_STORAGE;
    }
    /* History: steps with opinions, text revisions, participants, chases. */
    return oa_app_doc_history(s, j->id, &j->base.out) == 0 ? 0 : OA_E_STORAGE;
}

/* ---- the sync protocol's pushed operations ---- */

static struct doc_job *doc_job_new(struct oa_req *r, enum doc_op op);
static enum oa_err doc_fields(const cbor_item_t *in, struct oa_arena *arena, struct doc_job *j, bool create,
                              char *why, size_t n);

/* Undoes one pushed operation (its savepoint). */
static void push_undo(struct oa_store *s)
{
    oa_jobs_step_undo(s, "push_op");
}

int oa_doc_push_op(struct oa_store *s, struct oa_req *r, const struct oa_push_op *op, struct oa_push_result *res)
{
    memset(res, 0, sizeof(*res));
    char key[160];
    snprintf(key, sizeof(key), "sync:%s", op->op_id);
    /* A retried push answers as the first did. */
    unsigned char *stored = NULL;
    size_t stored_len = 0;
    int stored_status = 0;
    int rc = oa_app_answer_recall(s, OA_REQ_ACTOR(r), key, &stored_status, &stored, &stored_len);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        free(stored);
        res->outcome = OA_PUSH_APPLIED;
        res->revision = stored_status;
        return 0;
    }
    struct oa_user me;
    struct oa_doc d;
    struct doc_job *j = doc_job_new(r, op->is_action ? OP_ACTION : OP_EDIT);
    j->id = op->doc_id;
    j->from_sync = true;
    if (!oa__doc_open(s, j, &me, &d, op->is_action ? "document.action" : "document.edit", &rc)) {
        res->outcome = OA_PUSH_REFUSED;
        res->err = j->base.err;
        res->message = j->base.message;
        free(j);
        return rc == OA_E_STORAGE ? -1 : 0;
    }
    if ((rc = oa__doc_guard_filed(s, j, &d, op->is_action ? "document.action" : "document.edit")) >= 0) {
        res->outcome = OA_PUSH_REFUSED;
        res->err = j->base.err;
        res->message = j->base.message;
        free(j);
        return rc == OA_E_STORAGE ? -1 : 0;
    }
    if (d.revision != op->base_rev) {
        /* Never merged: the person decides what to do with the server's version. */
        res->outcome = OA_PUSH_CONFLICT;
        res->revision = d.revision;
        oa_doc_free(&d);
        free(j);
        return 0;
    }
    oa_doc_free(&d);
    if (oa_jobs_step_begin(s, "push_op") != 0) {
        free(j);
        return -1;
    }
    if (op->is_action) {
        j->action = op->action;
        j->opinion = op->opinion;
        j->params = op->params;
        char akey[170];
        snprintf(akey, sizeof(akey), "sync-act:%s", op->op_id);
        j->idem_key = akey;
        rc = oa__doc_run_action(s, j);
    } else {
        char why[256];
        enum oa_err e = op->fields ? doc_fields(op->fields, &r->arena, j, false, why, sizeof(why)) : OA_E_BAD_FIELD;
        if (e != OA_E_OK) {
            j->base.err = e;
            j->base.message = op->fields ? oa_arena_strndup(&r->arena, why, strlen(why)) : "An edit needs its fields.";
            rc = 0;
        } else {
            rc = oa__doc_run_edit(s, j);
        }
    }
    if (j->base.out)
        cbor_decref(&j->base.out);
    free(j->base.bytes);
    if (rc != 0 || j->base.err != OA_E_OK) {
        push_undo(s);
        res->outcome = OA_PUSH_REFUSED;
        res->err = rc != 0 ? (enum oa_err)rc : j->base.err;
        res->message = j->base.message;
        free(j->scope_v);
        free(j);
        return rc == OA_E_STORAGE ? -1 : 0;
    }
    free(j->scope_v);
    free(j);
    if (oa_app_doc_current_revision(s, op->doc_id, &res->revision) != 1) {
        push_undo(s);
        return -1;
    }
    res->outcome = OA_PUSH_APPLIED;
    /* The key remembers the revision the operation made. */
    if (oa_app_answer_keep(s, OA_REQ_ACTOR(r), key, (int)res->revision, "", 0) != 0) {
        push_undo(s);
        return -1;
    }
    return oa_jobs_step_keep(s, "push_op") == 0 ? 0 : -1;
}

/* ---- job plumbing ---- */

static int doc_run_op(struct oa_store *s, struct doc_job *j)
{
    switch (j->op) {
    case OP_CREATE: return oa__doc_run_create(s, j);
    case OP_GET:
    case OP_HISTORY:
    case OP_REVISION: return run_get(s, j);
    case OP_EDIT: return oa__doc_run_edit(s, j);
    case OP_ACTION: return oa__doc_run_action(s, j);
    case OP_LIST: return oa__doc_run_list(s, j);
    case OP_RELABEL: return oa__doc_run_relabel(s, j);
    case OP_EXPIRED: return oa__doc_run_expired(s, j);
    }
    return OA_E_INTERNAL;
}

static int doc_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct doc_job *j = (struct doc_job *)job;
    j->base.err = OA_E_OK;
    int rc = doc_run_op(s, j);
    /* Encode CBOR answers here: the item tree is built, encoded and freed on
     * one thread, and the loop only writes bytes. */
    if (rc == 0 && j->base.err == OA_E_OK && j->base.out != NULL && j->base.bytes == NULL && j->base.r->out_fmt == OA_FMT_CBOR) {
        j->base.bytes = pv_encode_cbor(j->base.out, &j->base.nbytes);
        if (j->base.bytes != NULL)
            cbor_decref(&j->base.out);
    }
    return rc;
}

/* After the answer: a changed label's blobs follow it; the parsed scope goes. */
static void doc_finish(struct oa_req_job *base, bool ok)
{
    struct doc_job *j = (struct doc_job *)base;
    if (ok && (j->op == OP_RELABEL || (j->op == OP_EDIT && j->has_level)))
        oa_blobs_reseal_kick(base->r->srv);
    free(j->scope_v);
}

static struct doc_job *doc_job_new(struct oa_req *r, enum doc_op op)
{
    struct doc_job *j = oa_req_job_new(r, sizeof(*j), doc_on_run, 0);
    j->op = op;
    j->base.job.done = oa_req_job_done;
    j->base.finish = doc_finish;
    return j;
}

static bool doc_id_param(struct oa_req *r, int64_t *id)
{
    return oa_path_id(r, 0, "No such document.", id);
}

/* Reads j->scope into j->scope_v; replies 400 and returns false when malformed. */
/* Reads a scope list into j->scope_v (strings in the arena); OA_E_OK or a reason in why. */
static enum oa_err parse_scope(struct oa_arena *arena, struct doc_job *j, char *why, size_t n)
{
    if (j->scope == NULL)
        return OA_E_OK;
    if (!cbor_isa_array(j->scope) || cbor_array_size(j->scope) > 32) {
        snprintf(why, n, "field 'scope' must be a list of at most 32 entries");
        return OA_E_BAD_FIELD;
    }
    j->nscope = cbor_array_size(j->scope);
    j->scope_v = oa_xcalloc(j->nscope + 1, sizeof(char *));
    for (size_t i = 0; i < j->nscope; i++) {
        cbor_item_t *it = cbor_array_handle(j->scope)[i];
        if (!cbor_isa_string(it) || !cbor_string_is_definite(it) || cbor_string_length(it) == 0 ||
            cbor_string_length(it) > 64 || !pv_utf8_ok(cbor_string_handle(it), cbor_string_length(it))) {
            snprintf(why, n, "scope entries are compartment names, dept:ID or user:NAME (1 to 64 bytes)");
            return OA_E_BAD_FIELD;
        }
        j->scope_v[i] = oa_arena_strndup(arena, cbor_string_handle(it), cbor_string_length(it));
    }
    return OA_E_OK;
}

/*
 * The fields of a document that create, PATCH and a pushed edit accept, one
 * table for all three: kind and derived_from are fixed at creation, so an
 * edit that sends them is refused (never ignored), as is any field the
 * table does not name.  Returns OA_E_OK, or the error with a sentence in why.
 */
static enum oa_err doc_fields(const cbor_item_t *in, struct oa_arena *arena, struct doc_job *j, bool create,
                              char *why, size_t n)
{
    unsigned at_create = create ? 0 : PV_REFUSED;
    struct pv_field f[] = {
        {"kind", PV_TEXT, create ? PV_REQUIRED : PV_REFUSED, 1, 16, &j->kind, NULL},
        {"title", PV_TEXT, create ? PV_REQUIRED : 0, 1, OA_DOC_TEXT - 1, &j->title, NULL},
        {"body", PV_TEXT, 0, 0, OA_DOC_BODY_MAX, &j->body, NULL},
        {"doc_type", PV_TEXT, 0, 0, 31, &j->doc_type, NULL},
        {"copy_no", PV_TEXT, 0, 0, 31, &j->copy_no, NULL},
        {"level", PV_INT, 0, 0, OA_LEVEL_MAX, &j->level, &j->has_level},
        {"secrecy_period", PV_TEXT, 0, 0, 63, &j->secrecy_period, NULL},
        {"urgency", PV_TEXT, 0, 1, 15, &j->urgency, NULL},
        {"main_recipients", PV_TEXT, 0, 0, OA_DOC_TEXT - 1, &j->main_recipients, NULL},
        {"copied_recipients", PV_TEXT, 0, 0, OA_DOC_TEXT - 1, &j->copied_recipients, NULL},
        {"attachment_note", PV_TEXT, 0, 0, OA_DOC_TEXT - 1, &j->attachment_note, NULL},
        {"doc_date", PV_TEXT, 0, 0, 15, &j->doc_date, NULL},
        {"note", PV_TEXT, 0, 0, OA_DOC_TEXT - 1, &j->note, NULL},
        {"printing_organ", PV_TEXT, 0, 0, 127, &j->printing_organ, NULL},
        {"printing_date", PV_TEXT, 0, 0, 15, &j->printing_date, NULL},
        {"opinion", PV_TEXT, 0, 0, 4000, &j->opinion, NULL},
        {"scope", PV_ITEM, 0, 0, 0, &j->scope, NULL},
        {"declass_date", PV_TEXT, 0, 10, 10, &j->declass_date, NULL},
        {"derived_from", PV_INT, at_create, 1, INT64_MAX, &j->derived_from, NULL},
    };
    if (in == NULL) {
        snprintf(why, n, "This request needs a body (CBOR or JSON).");
        return OA_E_BAD_BODY;
    }
    enum oa_err e = pv_extract(in, f, sizeof(f) / sizeof(f[0]), arena, why, n);
    if (e != OA_E_OK || (e = parse_scope(arena, j, why, n)) != OA_E_OK)
        return e;
    if (j->declass_date && oa_day_parse(j->declass_date) == INT32_MIN) {
        snprintf(why, n, "field 'declass_date' must be a date, YYYY-MM-DD");
        return OA_E_BAD_FIELD;
    }
    if (create && oa_kind_parse(j->kind) < 0) {
        snprintf(why, n, "field 'kind' must be outgoing, incoming or request");
        return OA_E_BAD_FIELD;
    }
    if (j->urgency && strcmp(j->urgency, "ordinary") != 0 && strcmp(j->urgency, "urgent") != 0 &&
        strcmp(j->urgency, "very_urgent") != 0) {
        snprintf(why, n, "field 'urgency' must be ordinary, urgent (加急) or very_urgent (特急)");
        return OA_E_BAD_FIELD;
    }
    return OA_E_OK;
}

/* doc_fields for a request's body, answering the error itself; false when it did. */
static bool read_doc_fields(struct oa_req *r, struct doc_job *j, bool create)
{
    char why[256];
    enum oa_err e = doc_fields(r->in, &r->arena, j, create, why, sizeof(why));
    if (e != OA_E_OK)
        oa_reply_error(r, e, why);
    return e == OA_E_OK;
}

void h_doc_create(struct oa_req *r)
{
    struct doc_job *j = doc_job_new(r, OP_CREATE);
    if (!read_doc_fields(r, j, true)) {
        free(j->scope_v);
        free(j);
        return;
    }
    oa_jobs_write(r->srv->jobs, &j->base.job);
}

/* Routes that need nothing but the document's id. */
static void submit_by_id(struct oa_req *r, enum doc_op op)
{
    int64_t id;
    if (!doc_id_param(r, &id))
        return;
    struct doc_job *j = doc_job_new(r, op);
    j->id = id;
    j->base.job.flags = OA_JOB_READ;
    oa_db_submit(r->srv, &j->base.job);
}

void h_doc_get(struct oa_req *r)
{
    submit_by_id(r, OP_GET);
}

void h_doc_history(struct oa_req *r)
{
    submit_by_id(r, OP_HISTORY);
}

void h_doc_revision(struct oa_req *r)
{
    int64_t id, rev = 0;
    if (!doc_id_param(r, &id))
        return;
    if (!oa_parse_id(r->params[1], &rev)) {
        oa_reply_error(r, OA_E_NOT_FOUND, "The document has no text revision with that number.");
        return;
    }
    struct doc_job *j = doc_job_new(r, OP_REVISION);
    j->id = id;
    j->revision = rev;
    j->base.job.flags = OA_JOB_READ;
    oa_db_submit(r->srv, &j->base.job);
}

void h_doc_edit(struct oa_req *r)
{
    int64_t id;
    if (!doc_id_param(r, &id))
        return;
    struct doc_job *j = doc_job_new(r, OP_EDIT);
    j->id = id;
    if (!read_doc_fields(r, j, false)) {
        free(j->scope_v);
        free(j);
        return;
    }
    if (j->kind != NULL || j->derived_from != 0 || j->declass_date != NULL) {
        free(j->scope_v);
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD,
                       "kind and derived_from are set at creation; the declassification date is secadmin's (POST .../label).");
        return;
    }
    oa_jobs_write(r->srv->jobs, &j->base.job);
}

void h_doc_action(struct oa_req *r)
{
    int64_t id;
    if (!doc_id_param(r, &id))
        return;
    struct doc_job *j = doc_job_new(r, OP_ACTION);
    j->id = id;
    const cbor_item_t *params = NULL;
    struct pv_field f[] = {
        {"action", PV_TEXT, PV_REQUIRED, 1, 32, &j->action, NULL},
        {"opinion", PV_TEXT, 0, 0, 4000, &j->opinion, NULL},
        {"params", PV_ITEM, 0, 0, 0, &params, NULL},
        {"on_behalf_of", PV_TEXT, 0, 1, OA_USERNAME_MAX, &j->on_behalf, NULL},
    };
    if (!oa_req_fields(r, f, 4)) {
        free(j);
        return;
    }
    if (params != NULL && !cbor_isa_map(params)) {
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD, "field 'params' must be a map");
        return;
    }
    j->params = params;
    if (r->idempotency_key == NULL || r->idempotency_key[0] == '\0' || strlen(r->idempotency_key) > 128) {
        free(j);
        oa_reply_error(r, OA_E_BAD_REQUEST, "Send an Idempotency-Key header (1 to 128 characters) with every action.");
        return;
    }
    j->idem_key = r->idempotency_key;
    oa_jobs_write(r->srv->jobs, &j->base.job);
}

void h_doc_list(struct oa_req *r)
{
    struct doc_job *j = doc_job_new(r, OP_LIST);
    const char *v = oa_query_param(r, "view");
    j->view = v ? v : "all";
    if (strcmp(j->view, "all") != 0 && strcmp(j->view, "todo") != 0 && strcmp(j->view, "done") != 0) {
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD, "view must be todo, done or all");
        return;
    }
    j->state = oa_query_param(r, "state");
    j->kind = oa_query_param(r, "kind");
    j->number = oa_query_param(r, "number");
    j->q = oa_query_param(r, "q");
    if (j->q && (strlen(j->q) == 0 || strlen(j->q) > 200 || !pv_utf8_ok((const unsigned char *)j->q, strlen(j->q)))) {
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD, "q must be 1 to 200 bytes of UTF-8 text");
        return;
    }
    if (!oa_query_int(r, "from", 0, INT64_MAX, 0, &j->from) || !oa_query_int(r, "to", 0, INT64_MAX, 0, &j->to) ||
        !oa_query_int(r, "after", 0, INT64_MAX, 0, &j->after) ||
        !oa_query_clamped(r, "limit", 1, 200, 50, &j->limit)) {
        free(j);
        return;
    }
    const char *overdue = oa_query_param(r, "overdue");
    j->overdue = overdue && strcmp(overdue, "1") == 0;
    j->base.job.flags = OA_JOB_READ;
    oa_db_submit(r->srv, &j->base.job);
}

void h_doc_relabel(struct oa_req *r)
{
    int64_t id;
    if (!doc_id_param(r, &id))
        return;
    struct doc_job *j = doc_job_new(r, OP_RELABEL);
    j->id = id;
    struct pv_field f[] = {
        {"level", PV_INT, 0, 0, OA_LEVEL_MAX, &j->level, &j->has_level},
        {"scope", PV_ITEM, 0, 0, 0, &j->scope, NULL},
        {"declass_date", PV_TEXT, 0, 10, 10, &j->declass_date, NULL},
        {"reason", PV_TEXT, PV_REQUIRED, 1, 1000, &j->reason, NULL},
    };
    char why[256];
    enum oa_err e = OA_E_OK;
    if (!oa_req_fields(r, f, 4) || (e = parse_scope(&r->arena, j, why, sizeof(why))) != OA_E_OK) {
        if (e != OA_E_OK)
            oa_reply_error(r, e, why);
        free(j->scope_v);
        free(j);
        return;
    }
    if (j->declass_date && oa_day_parse(j->declass_date) == INT32_MIN) {
        free(j->scope_v);
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD, "field 'declass_date' must be a date, YYYY-MM-DD");
        return;
    }
    oa_jobs_write(r->srv->jobs, &j->base.job);
}

void h_labels_expired(struct oa_req *r)
{
    oa_jobs_write(r->srv->jobs, &doc_job_new(r, OP_EXPIRED)->base.job);
}
