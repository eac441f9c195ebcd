/*
 * server/h_doc_common.c: what every document route uses: ETags, the
 * response items, the job's answers, the caller, the audit entry (through
 * app/audit.c) and opening a document through the read gate.  Step
 * deadlines and the to-do queue are app/doc_steps.c's.
 * Part of the document routes (h_documents.c), joined by documents-int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/doc_read.h"
#include "app/gateway.h"
#include "app/records.h"
#include "proto/value.h"
#include "server/documents-int.h"
#include "server/handlers.h"
#include "server/server.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "workflow/access.h"
#include "workflow/calendar.h"
#include "workflow/deadline.h"
#include "workflow/docflow.h"

/* ------------------------------------------------------------------------ */
/* shared helpers                                                           */
/* ------------------------------------------------------------------------ */

void oa__doc_etag(const struct oa_doc *d, char *out, size_t n)
{
    snprintf(out, n, "\"d%lld-%lld\"", (long long)d->id, (long long)d->revision);
}

void oa__doc_put_opt(cbor_item_t *m, const char *k, const char *v)
{
    pv_put_text(m, k, v && v[0] ? v : NULL);
}

/*
 * Where a document's fields go: an item tree (m), or CBOR bytes written
 * directly (o, the list pages' path: no tree to build, encode and free).
 * One list of fields for both, so that their bytes stay the same.
 */
struct doc_sink {
    cbor_item_t *m;
    struct pv_out *o;
    size_t n; /* pairs written to o */
};

static void sink_text(struct doc_sink *k, const char *key, const char *v)
{
    if (k->m != NULL) {
        pv_put_text(k->m, key, v);
        return;
    }
    pv_out_text(k->o, key);
    pv_out_text(k->o, v);
    k->n++;
}

static void sink_int(struct doc_sink *k, const char *key, int64_t v)
{
    if (k->m != NULL) {
        pv_put_int(k->m, key, v);
        return;
    }
    pv_out_text(k->o, key);
    pv_out_int(k->o, v);
    k->n++;
}

static void sink_bool(struct doc_sink *k, const char *key, bool v)
{
    if (k->m != NULL) {
        pv_put_bool(k->m, key, v);
        return;
    }
    pv_out_text(k->o, key);
    pv_out_bool(k->o, v);
    k->n++;
}

/* An id, or null when there is none. */
static void sink_id(struct doc_sink *k, const char *key, int64_t v)
{
    if (v > 0)
        sink_int(k, key, v);
    else
        sink_text(k, key, NULL);
}

/* Text, or null when empty. */
static void sink_opt(struct doc_sink *k, const char *key, const char *v)
{
    sink_text(k, key, v && v[0] ? v : NULL);
}

#define DOC_ITEM_PAIRS 35 /* without the body */

/* The document as the API shows it, with its label's scope; the body only when asked. */
static void doc_fields(struct oa_store *s, const struct oa_doc *d, bool with_body, struct doc_sink *k)
{
    size_t nscope = 0;
    char **scope = oa_doc_scope_of(s, d, &nscope);
    if (k->m != NULL) {
        cbor_item_t *sc = pv_array(nscope);
        for (size_t i = 0; i < nscope; i++)
            pv_push(sc, pv_text(scope[i]));
        pv_put(k->m, "scope", sc);
    } else {
        pv_out_text(k->o, "scope");
        pv_out_array(k->o, nscope);
        for (size_t i = 0; i < nscope; i++)
            pv_out_text(k->o, scope[i]);
        k->n++;
    }
    oa_strv_free(scope);
    sink_opt(k, "declass_date", d->declass_date);
    sink_int(k, "id", d->id);
    sink_text(k, "kind", d->kind);
    sink_int(k, "def_version", d->def_version);
    sink_text(k, "state", d->state);
    sink_int(k, "revision", d->revision);
    sink_text(k, "title", d->title);
    sink_text(k, "doc_type", d->doc_type);
    sink_text(k, "copy_no", d->copy_no);
    sink_int(k, "level", d->level);
    sink_text(k, "level_name", oa_level_name(d->level));
    sink_text(k, "secrecy_period", d->secrecy_period);
    sink_text(k, "urgency", d->urgency);
    sink_id(k, "organ_id", d->organ_id);
    sink_id(k, "department_id", d->department_id);
    sink_opt(k, "doc_number", d->doc_number);
    sink_text(k, "signer", d->signer);
    sink_text(k, "main_recipients", d->main_recipients);
    sink_text(k, "copied_recipients", d->copied_recipients);
    if (with_body) {
        oa_doc_load_body(s, (struct oa_doc *)d);
        sink_text(k, "body", d->body ? d->body : "");
    }
    sink_text(k, "attachment_note", d->attachment_note);
    sink_text(k, "doc_date", d->doc_date);
    sink_text(k, "note", d->note);
    sink_text(k, "printing_organ", d->printing_organ);
    sink_text(k, "printing_date", d->printing_date);
    sink_int(k, "drafter_id", d->drafter_id);
    sink_id(k, "source_id", d->source_id);
    sink_id(k, "reply_id", d->reply_id);
    sink_id(k, "assignee_id", d->assignee_id);
    sink_id(k, "lead_department_id", d->lead_department_id);
    sink_opt(k, "step_due", d->step_due);
    sink_opt(k, "request_due", d->request_due);
    sink_bool(k, "extended", d->extended);
    sink_int(k, "created_at", d->created_at);
    sink_int(k, "updated_at", d->updated_at);
}

cbor_item_t *oa__doc_item(struct oa_store *s, const struct oa_doc *d, bool with_body)
{
    /* with the body, room for a request's facts too (oa__doc_answer) */
    struct doc_sink k = {.m = pv_map(DOC_ITEM_PAIRS + (with_body ? 2 : 0))};
    doc_fields(s, d, with_body, &k);
    return k.m;
}

void oa__doc_item_out(struct pv_out *o, struct oa_store *s, const struct oa_doc *d, bool with_body)
{
    struct doc_sink k = {.o = o};
    pv_out_map(o, DOC_ITEM_PAIRS + with_body);
    doc_fields(s, d, with_body, &k);
    if (k.n != DOC_ITEM_PAIRS + (size_t)with_body)
        abort(); /* the head above says how many pairs follow */
}

/* What an action changed: the answer to an action, also kept for its retries. */
cbor_item_t *oa__doc_state_item(const struct oa_doc *d)
{
    cbor_item_t *m = pv_map(11);
    pv_put_int(m, "id", d->id);
    pv_put_text(m, "kind", d->kind);
    pv_put_text(m, "state", d->state);
    pv_put_int(m, "revision", d->revision);
    pv_put_int(m, "level", d->level);
    oa__doc_put_opt(m, "doc_number", d->doc_number);
    pv_put_text(m, "signer", d->signer);
    oa__doc_put_opt(m, "step_due", d->step_due);
    oa__doc_put_opt(m, "request_due", d->request_due);
    pv_put_bool(m, "extended", d->extended);
    pv_put_int(m, "updated_at", d->updated_at);
    return m;
}

int oa__doc_refuse(struct doc_job *j, enum oa_err e, const char *message)
{
    j->err = e;
    j->message = message;
    return 0;
}

int oa__doc_undo(struct doc_job *j, enum oa_err e, const char *message)
{
    j->err = e;
    j->message = message;
    return e;
}

int oa__doc_end(struct doc_job *j, const struct oa_app_outcome *o)
{
    if (o->end == OA_APP_REFUSED)
        return oa__doc_refuse(j, o->err, o->message);
    /* Without a sentence (storage failed) the writer's code is the answer: it tells a full disk apart. */
    if (o->end == OA_APP_UNDONE && o->message != NULL)
        return oa__doc_undo(j, o->err, o->message);
    return oa_app_job_rc(o);
}

int oa__doc_not_found(struct doc_job *j)
{
    return oa__doc_refuse(j, OA_E_NOT_FOUND, "No such document.");
}

/* Reads the caller fresh from the database (roles and clearance may have changed). */
int oa__doc_load_me(struct oa_store *s, struct doc_job *j, struct oa_user *me)
{
    return oa_user_by_id(s, j->r->who.user_id, me) == 1 ? 0 : -1;
}

/*
 * The caller as the session layer knows them, without a query, when no
 * account or session has changed since it was read (oa_accounts_epoch);
 * otherwise read again.
 */
int oa__doc_me_from_session(struct oa_store *s, struct doc_job *j, struct oa_user *me)
{
    const struct oa_principal *p = &j->r->who;
    if (p->epoch != oa_accounts_epoch())
        return oa__doc_load_me(s, j, me); /* an account changed since: read it again */
    memset(me, 0, sizeof(*me));
    me->id = p->user_id;
    me->roles = p->roles;
    me->clearance = p->clearance;
    me->declassifier = p->declassifier;
    me->department_id = p->department_id;
    snprintf(me->username, sizeof(me->username), "%s", p->username);
    snprintf(me->display_name, sizeof(me->display_name), "%s", p->display_name);
    return 0;
}

int oa__doc_audit(struct oa_store *s, struct doc_job *j, const char *event, const struct oa_doc *d,
                  const char *from, const char *to, const char *on_behalf, const char *outcome, const char *detail)
{
    return oa_app_audit_doc(s, OA_REQ_ACTOR(j->r), event, d, from, to, on_behalf, outcome, detail);
}

/*
 * Loads the caller and the document and applies the read gate.  Returns true
 * with d loaded (the caller frees it); false with *ret set to what the job
 * returns (a refusal reads as "no such document", as a missing one does).
 */
bool oa__doc_open(struct oa_store *s, struct doc_job *j, struct oa_user *me, struct oa_doc *d, const char *what,
                  int *ret)
{
    enum oa_err err = OA_E_OK;
    const char *message = NULL;
    int rc = oa_doc_open_for(s, OA_REQ_ACTOR(j->r), j->id, false, what, me, d, &err, &message);
    if (rc == 1)
        return true;
    *ret = rc < 0 ? OA_E_STORAGE : oa__doc_refuse(j, err, message);
    return false;
}

int oa__doc_guard_filed(struct oa_store *s, struct doc_job *j, struct oa_doc *d, const char *what)
{
    enum oa_err err = OA_E_OK;
    const char *message = NULL;
    int rc = oa_rec_guard_write(s, OA_REQ_ACTOR(j->r), d, what, &err, &message);
    if (rc == 0)
        return -1;
    oa_doc_free(d);
    return rc < 0 ? OA_E_STORAGE : oa__doc_refuse(j, err, message);
}

int oa__doc_answer(struct oa_store *s, struct doc_job *j, struct oa_doc *d, int status)
{
    j->status = status;
    j->out = oa__doc_item(s, d, true);
    if (strcmp(d->kind, "request") == 0) {
        /* A public request's facts, the applicant's personal data only for those handling it. */
        struct oa_user viewer = {.id = j->r->who.user_id, .roles = j->r->who.roles};
        cbor_item_t *q = oa_gw_request_item(s, &viewer, d);
        if (q != NULL)
            pv_put(j->out, "request", q);
    }
    oa__doc_etag(d, j->etag, sizeof(j->etag));
    oa_doc_free(d);
    return 0;
}
