/*
 * server/h_doc_common.c: what every document route uses: the job's
 * answers, the caller, the audit entry (through app/audit.c) and opening a
 * document through the read gate.  The document's wire form and ETag are
 * app/doc_view.c's; step deadlines and the to-do queue app/doc_steps.c's.
 * Part of the document routes (h_documents.c), joined by documents-int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/accounts.h"
#include "app/doc_read.h"
#include "app/gateway.h"
#include "app/records.h"
#include "proto/value.h"
#include "server/documents-int.h"
#include "server/handlers.h"
#include "server/server.h"
#include "workflow/access.h"
#include "workflow/calendar.h"
#include "workflow/deadline.h"
#include "workflow/docflow.h"

int oa__doc_refuse(struct doc_job *j, enum oa_err e, const char *message)
{
    j->base.err = e;
    j->base.message = message;
    return 0;
}

int oa__doc_undo(struct doc_job *j, enum oa_err e, const char *message)
{
    j->base.err = e;
    j->base.message = message;
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
    return oa_app_me(s, OA_REQ_ACTOR(j->base.r), me) == 0 ? 0 : -1;
}

/*
 * The caller as the session layer knows them, without a query, when no
 * account or session has changed since it was read
 * (oa_app_accounts_epoch); otherwise read again.
 */
int oa__doc_me_from_session(struct oa_store *s, struct doc_job *j, struct oa_user *me)
{
    const struct oa_principal *p = &j->base.r->who;
    if (p->epoch != oa_app_accounts_epoch())
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
    return oa_app_audit_doc(s, OA_REQ_ACTOR(j->base.r), event, d, from, to, on_behalf, outcome, detail);
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
    int rc = oa_doc_open_for(s, OA_REQ_ACTOR(j->base.r), j->id, false, what, me, d, &err, &message);
    if (rc == 1)
        return true;
    *ret = rc < 0 ? OA_E_STORAGE : oa__doc_refuse(j, err, message);
    return false;
}

int oa__doc_guard_filed(struct oa_store *s, struct doc_job *j, struct oa_doc *d, const char *what)
{
    enum oa_err err = OA_E_OK;
    const char *message = NULL;
    int rc = oa_rec_guard_write(s, OA_REQ_ACTOR(j->base.r), d, what, &err, &message);
    if (rc == 0)
        return -1;
    oa_doc_free(d);
    return rc < 0 ? OA_E_STORAGE : oa__doc_refuse(j, err, message);
}

int oa__doc_answer(struct oa_store *s, struct doc_job *j, struct oa_doc *d, int status)
{
    j->base.status = status;
    bool request = strcmp(d->kind, "request") == 0;
    if (!request && j->base.r->out_fmt == OA_FMT_CBOR) {
        /* Written as it goes, as the list pages are: no item tree to build, encode and free. */
        struct pv_out o = {0};
        oa_app_doc_item_out(&o, s, d, true);
        j->base.bytes = o.p;
        j->base.nbytes = o.n;
        oa_app_doc_etag(d, j->base.etag, sizeof(j->base.etag));
        oa_doc_free(d);
        return 0;
    }
    j->base.out = oa_app_doc_item(s, d, true);
    if (request) {
        /* A public request's facts, the applicant's personal data only for those handling it. */
        struct oa_user viewer = {.id = j->base.r->who.user_id, .roles = j->base.r->who.roles};
        cbor_item_t *q = oa_gw_request_item(s, &viewer, d);
        if (q != NULL)
            pv_put(j->base.out, "request", q);
    }
    oa_app_doc_etag(d, j->base.etag, sizeof(j->base.etag));
    oa_doc_free(d);
    return 0;
}
