/*
 * app/publication.c: 主动公开 (#15), the publication of an issued 公开
 * outgoing document through the exchange gateway, in three steps, each
 * audited (refusals too):
 *
 *   1. proposal: the drafter or the secretariat (oa_publication_may);
 *   2. secrecy review (保密审查): the secretariat or a leader, not the one
 *      who proposed it (oa_publication_secrecy_may);
 *   3. publication review (信息发布审核): a leader approves (-> a
 *      `publication` outbox item) or refuses.  Approval needs what
 *      oa_access_export needs: 公开, no scope, and the secrecy review
 *      recorded; without it the approval is refused (403, gateway.export).
 *
 * A refusal at step 3 ends the proposal; a new proposal starts again from
 * step 1 (its secrecy review too).  Declared in app/gateway.h.
 */
#include <stdio.h>
#include <string.h>

#include "app/audit.h"
#include "app/gateway-int.h"
#include "app/gateway.h"
#include "proto/alloc.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "storage/gateway.h"
#include "storage/store.h"
#include "workflow/access.h"
#include "workflow/calendar.h"

enum pub_step { PUB_PROPOSE, PUB_SECRECY, PUB_REVIEW };

static cbor_item_t *publication_item(const struct oa_publication_row *p)
{
    cbor_item_t *m = pv_map(6);
    pv_put_int(m, "document_id", p->doc_id);
    pv_put_text(m, "status", p->approved < 0 ? "proposed" : p->approved ? "published" : "refused");
    pv_put_int(m, "proposed_at", p->proposed_at);
    pv_put_text(m, "opinion", p->opinion[0] ? p->opinion : NULL);
    pv_put_bool(m, "secrecy_reviewed", p->secrecy_by > 0);
    if (p->outbox_id > 0)
        pv_put_int(m, "outbox_id", p->outbox_id);
    else
        pv_put_text(m, "outbox_id", NULL);
    return m;
}

/* Opens doc_id for a publication step: readable, an issued outgoing document. */
static int open_for_publication(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id,
                                struct oa_user *me, struct oa_doc *d, enum oa_err *err, const char **message)
{
    int rc = oa_doc_open_for(s, by, doc_id, false, "document.publication", me, d, err, message);
    if (rc <= 0)
        return rc;
    if (strcmp(d->kind, "outgoing") != 0 || (strcmp(d->state, "issued") != 0 && strcmp(d->state, "archived") != 0)) {
        oa_doc_free(d);
        *err = OA_E_CONFLICT;
        *message = "Only an issued outgoing document can be published (主动公开).";
        return 0;
    }
    return 1;
}

static int refuse(struct oa_store *s, const struct oa_app_actor *by, const struct oa_doc *d, const char *event,
                  const char *why, enum oa_err e, enum oa_err *err, const char **message)
{
    *err = e;
    *message = why;
    return oa_app_audit_doc(s, by, event, d, NULL, NULL, NULL, "refused", why);
}

static const char *const step_event[] = {"publication.propose", "publication.secrecy_review", "publication.review"};

/* Whose step it is (workflow/access.c); the refusal's sentence, or NULL when `me` may take it. */
static const char *not_yours(enum pub_step step, const struct oa_user *me, const struct oa_doc *d,
                             const struct oa_publication_row *p, bool have)
{
    switch (step) {
    case PUB_PROPOSE:
        return oa_publication_may(me->roles, d->drafter_id == me->id, false)
                   ? NULL
                   : "Only the drafter or the secretariat proposes publication.";
    case PUB_SECRECY:
        return oa_publication_secrecy_may(me->roles, have && p->proposed_by == me->id)
                   ? NULL
                   : "The secrecy review (保密审查) of a publication is the secretariat's or a leader's, and not "
                     "the proposer's.";
    case PUB_REVIEW:
        return oa_publication_may(me->roles, d->drafter_id == me->id, true)
                   ? NULL
                   : "The publication review (信息发布审核) is a leader's.";
    }
    return "Unknown step.";
}

/* Whether the step comes out of turn: the sentence (409), or NULL. */
static const char *out_of_turn(enum pub_step step, const struct oa_publication_row *p, bool have)
{
    switch (step) {
    case PUB_PROPOSE:
        /* Proposed once (again after a refusal). */
        return have && p->approved != 0 ? "This document was proposed for publication already." : NULL;
    case PUB_SECRECY:
        if (!have || p->approved >= 0)
            return !have ? "Propose the document for publication first."
                         : "The publication review was recorded already: propose it again first.";
        return p->secrecy_by > 0 ? "The secrecy review (保密审查) was recorded already." : NULL;
    case PUB_REVIEW:
        if (!have)
            return "Propose the document for publication first.";
        return p->approved >= 0 ? "The review was recorded already." : NULL;
    }
    return "Unknown step.";
}

/*
 * One step of 主动公开 (see the top of this file): the document readable,
 * issued, 公开 with no scope, the step's person and turn; refusals audited.
 */
static int publication_step(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, enum pub_step step,
                            bool approve, const char *opinion, enum oa_err *err, const char **message,
                            cbor_item_t **out)
{
    struct oa_user me;
    struct oa_doc d;
    *err = OA_E_OK;
    int rc = open_for_publication(s, by, doc_id, &me, &d, err, message);
    if (rc <= 0)
        return rc;
    const char *event = step_event[step];
    struct oa_publication_row p;
    if ((rc = oa_publication_load(s, doc_id, &p)) < 0)
        goto storage;
    bool have = rc == 1;
    const char *why = not_yours(step, &me, &d, &p, have);
    if (why != NULL) {
        rc = refuse(s, by, &d, event, why, OA_E_FORBIDDEN, err, message);
        oa_doc_free(&d);
        return rc;
    }
    if ((why = out_of_turn(step, &p, have)) != NULL) {
        oa_doc_free(&d);
        *err = OA_E_CONFLICT;
        *message = why;
        return 0;
    }
    size_t nscope = 0;
    char **scope = oa_doc_scope_of(s, &d, &nscope);
    if (scope == NULL)
        goto storage;
    struct oa_label lb = {d.level, (const char *const *)scope, nscope};
    bool label_ok = oa_access_export(&lb, true);
    bool may_leave = oa_access_export(&lb, have && p.secrecy_by > 0);
    oa_strv_free(scope);
    if (!label_ok && (step != PUB_REVIEW || approve)) {
        rc = refuse(s, by, &d, step == PUB_REVIEW ? "gateway.export" : event,
                    "Only a document labelled 公开 with no scope may be published.", OA_E_FORBIDDEN, err, message);
        oa_doc_free(&d);
        return rc;
    }
    if (step == PUB_REVIEW && approve && !may_leave) {
        rc = refuse(s, by, &d, "gateway.export",
                    "Record the secrecy review (保密审查, POST /v1/documents/{id}/publication/secrecy_review) before "
                    "the publication is approved.",
                    OA_E_FORBIDDEN, err, message);
        oa_doc_free(&d);
        return rc;
    }
    const char *step_name = "propose_publication";
    switch (step) {
    case PUB_PROPOSE:
        memset(&p, 0, sizeof(p));
        p.doc_id = doc_id;
        p.proposed_by = me.id;
        p.proposed_at = oa_now();
        p.approved = -1;
        pv_utf8_copy(p.opinion, sizeof(p.opinion), opinion);
        break;
    case PUB_SECRECY:
        p.secrecy_by = me.id;
        p.secrecy_at = oa_now();
        pv_utf8_copy(p.secrecy_opinion, sizeof(p.secrecy_opinion), opinion);
        step_name = "publication_secrecy_review";
        break;
    case PUB_REVIEW:
        p.reviewed_by = me.id;
        p.reviewed_at = oa_now();
        p.approved = approve ? 1 : 0;
        pv_utf8_copy(p.opinion, sizeof(p.opinion), opinion);
        step_name = approve ? "publish" : "refuse_publication";
        break;
    }
    if (step == PUB_REVIEW && approve) {
        cbor_item_t *c = pv_map(3);
        pv_put_text(c, "title", d.title);
        pv_put_text(c, "number", d.doc_number);
        /* `issued` is a date (docs/BUNDLE.md): the 成文日期 when it is one, else the day of this approval */
        char issued[11];
        int32_t day = oa_day_parse(d.doc_date);
        if (day == INT32_MIN)
            day = (int32_t)((oa_now() + (int64_t)OA_SHANGHAI_OFFSET_MIN * 60) / 86400);
        oa_day_format(day, issued);
        pv_put_text(c, "issued", issued);
        if (oa__gw_outbox_put(s, "publication", d.id, NULL, c, true, &p.outbox_id) != 0)
            goto storage;
    }
    if (oa_publication_put(s, &p) != 0 ||
        oa_doc_step(s, d.id, step_name, d.state, d.state, me.id, 0, opinion ? opinion : "", "") < 0)
        goto storage;
    char detail[96] = "";
    if (step == PUB_REVIEW)
        snprintf(detail, sizeof(detail), approve ? "publication outbox %lld" : "publication refused",
                 (long long)p.outbox_id);
    else if (step == PUB_SECRECY)
        snprintf(detail, sizeof(detail), "secrecy review (保密审查) recorded");
    rc = oa_app_audit_doc(s, by, event, &d, NULL, NULL, NULL, "ok", detail[0] ? detail : NULL);
    oa_doc_free(&d);
    if (rc != 0)
        return -1;
    *out = publication_item(&p);
    return 0;
storage:
    oa_doc_free(&d);
    return -1;
}

int oa_gw_publication_propose(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id,
                              const char *opinion, enum oa_err *err, const char **message, cbor_item_t **out)
{
    return publication_step(s, by, doc_id, PUB_PROPOSE, false, opinion, err, message, out);
}

int oa_gw_publication_secrecy_review(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id,
                                     const char *opinion, enum oa_err *err, const char **message, cbor_item_t **out)
{
    return publication_step(s, by, doc_id, PUB_SECRECY, false, opinion, err, message, out);
}

int oa_gw_publication_review(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, bool approve,
                             const char *opinion, enum oa_err *err, const char **message, cbor_item_t **out)
{
    return publication_step(s, by, doc_id, PUB_REVIEW, approve, opinion, err, message, out);
}
