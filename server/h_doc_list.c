/*
 * server/h_doc_list.c: the document list (to-do, done, all, filters, search:
 * the use case app/doc_list.c, the query storage/doc_list.c; this encodes
 * the page) and the label routes (declassification, the review list).
 * Part of the document routes (h_documents.c), joined by documents-int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/doc_list.h"
#include "app/doc_read.h"
#include "app/doc_steps.h"
#include "proto/alloc.h"
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

/* ---- lists ---- */

int oa__doc_run_list(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    if (oa__doc_load_me(s, j, &me) != 0)
        return OA_E_STORAGE;
    struct oa_doc_query q = {
        .view = strcmp(j->view, "todo") == 0 ? OA_VIEW_TODO : strcmp(j->view, "done") == 0 ? OA_VIEW_DONE : OA_VIEW_ALL,
        .state = j->state,
        .kind = j->kind,
        .number = j->number,
        .from = j->from,
        .to = j->to,
        .overdue = j->overdue,
        .q = j->q,
        .after = j->after,
        .limit = j->limit,
    };
    struct oa_doc_page page;
    if (oa_doc_list(s, OA_REQ_ACTOR(j->r), &me, &q, &page) != 0)
        return OA_E_STORAGE;
    /* The cursor is the last document this caller was shown, never an id
     * they were not: a full page of visible documents goes on after it. */
    bool more = page.full && page.n > 0;
    j->status = 200;
    if (j->r->out_fmt == OA_FMT_CBOR) {
        /* A CBOR answer is written as it goes, without an item tree. */
        struct pv_out out = {0};
        pv_out_map(&out, 2);
        pv_out_text(&out, "documents");
        pv_out_array(&out, page.n);
        for (size_t i = 0; i < page.n; i++)
            oa_app_doc_item_out(&out, s, &page.docs[i], false);
        pv_out_text(&out, "next_after");
        if (more)
            pv_out_int(&out, page.next_after);
        else
            pv_out_null(&out);
        oa_doc_page_free(&page);
        j->bytes = out.p;
        j->nbytes = out.n;
        return 0;
    }
    cbor_item_t *arr = pv_array(page.n);
    for (size_t i = 0; i < page.n; i++)
        pv_push(arr, oa_app_doc_item(s, &page.docs[i], false));
    cbor_item_t *out = pv_map(2);
    pv_put(out, "documents", arr);
    if (more)
        pv_put_int(out, "next_after", page.next_after);
    else
        pv_put_text(out, "next_after", NULL);
    oa_doc_page_free(&page);
    j->out = out;
    return 0;
}

/* ---- labels: declassification by secadmin, and the review list ---- */

/*
 * Changes a document's label: level, scope, declassification date.  Lowering
 * a level or widening a scope is declassification and only secadmin does it,
 * with a reason, as a recorded step; secadmin sees the label, never the text.
 */
int oa__doc_run_relabel(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    struct oa_doc d;
    if (oa__doc_load_me(s, j, &me) != 0)
        return OA_E_STORAGE;
    int rc = oa_doc_load(s, j->id, &d);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0)
        return oa__doc_not_found(j);
    /* A label edited outside oad is never relabelled (which would seal the edit as oad's): #17. */
    if ((me.roles & OA_ROLE_SECADMIN) != 0 &&
        (rc = oa_doc_label_intact(s, OA_REQ_ACTOR(j->r), &d, "document.relabel")) <= 0) {
        oa_doc_free(&d);
        return rc < 0 ? OA_E_STORAGE : oa__doc_refuse(j, OA_E_LABEL_TAMPERED, oa_err_message(OA_E_LABEL_TAMPERED));
    }
    /* Anyone but secadmin (who sees every label, never a text) passes the
     * read gate first: a document they may not see answers exactly as a
     * missing one, so the label route tells nobody which ids exist. */
    if ((me.roles & OA_ROLE_SECADMIN) == 0 &&
        (rc = oa_doc_gate_read(s, OA_REQ_ACTOR(j->r), &me, &d, "document.relabel")) <= 0) {
        oa_doc_free(&d);
        return rc < 0 ? OA_E_STORAGE : oa__doc_not_found(j);
    }
    struct oa_subject subj = {me.id, me.roles, me.clearance, me.declassifier, me.clearance_hold};
    enum oa_decision dec = oa_access_decide(&subj, OA_ACT_RELABEL, NULL);
    char detail[512];
    if (dec != OA_ALLOW) {
        rc = oa__doc_audit(s, j, "document.relabel", &d, NULL, NULL, NULL, "refused", oa_decision_reason(dec));
        oa_doc_free(&d);
        return rc != 0 ? OA_E_STORAGE
                       : oa__doc_refuse(j, OA_E_FORBIDDEN,
                                      "Only secadmin or a named declassifier changes a document's label.");
    }
    if ((rc = oa__doc_guard_filed(s, j, &d, "document.relabel")) >= 0)
        return rc;
    if (me.roles & OA_ROLE_SECADMIN) {
        enum oa_err e = oa_step_up(s, j->r);
        if (e != OA_E_OK) {
            oa_doc_free(&d);
            return e == OA_E_STORAGE ? OA_E_STORAGE
                                     : oa__doc_refuse(j, e, e == OA_E_TOTP_ENROLLMENT_REQUIRED
                                                      ? "Enrol an authenticator (POST /v1/users/me/totp) before changing labels."
                                                      : "A label change needs a current code from your authenticator in X-OA-OTP.");
        }
    }
    size_t nold = 0;
    char **old_scope = oa_doc_scope(s, d.id, &nold);
    int old_level = d.level;
    if (j->has_level)
        d.level = (int)j->level;
    if (j->declass_date)
        snprintf(d.declass_date, sizeof(d.declass_date), "%s", j->declass_date);
    size_t nnew = j->scope ? j->nscope : nold;
    struct oa_label lold = {old_level, (const char *const *)old_scope, nold};
    struct oa_label lnew = {d.level, (const char *const *)(j->scope ? j->scope_v : old_scope), nnew};
    bool lowered = !oa_label_dominates(&lnew, &lold);
    snprintf(detail, sizeof(detail), "level %d -> %d, scope %zu -> %zu entries%s%s: %s", old_level, d.level, nold,
             nnew, d.declass_date[0] ? ", declassify on " : "", d.declass_date, j->reason);
    pv_utf8_trim(detail);
    oa_strv_free(old_scope);
    if ((j->scope && oa_doc_scope_set(s, &d, (const char *const *)j->scope_v, j->nscope) != 0) ||
        oa_doc_save(s, &d, me.id, 0, NULL) != 0 ||
        oa_doc_step(s, d.id, lowered ? "declassify" : "relabel", d.state, d.state, me.id, 0, j->reason, detail) < 0 ||
        oa__doc_audit(s, j, lowered ? "document.declassify" : "document.relabel", &d, NULL, NULL, NULL, "ok",
                      detail) != 0) {
        oa_doc_free(&d);
        return OA_E_STORAGE;
    }
    cbor_item_t *m = pv_map(5);
    pv_put_int(m, "id", d.id);
    pv_put_int(m, "level", d.level);
    pv_put_text(m, "level_name", oa_level_name(d.level));
    oa_app_doc_put_opt(m, "declass_date", d.declass_date);
    pv_put_int(m, "revision", d.revision);
    j->status = 200;
    j->out = m;
    oa_doc_free(&d);
    return 0;
}

/* Labels whose declassification date has come: listed for review, never lowered silently. */
int oa__doc_run_expired(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    if (oa__doc_load_me(s, j, &me) != 0)
        return OA_E_STORAGE;
    struct oa_subject subj = {me.id, me.roles, me.clearance, me.declassifier, me.clearance_hold};
    if (oa_access_decide(&subj, OA_ACT_RELABEL, NULL) != OA_ALLOW)
        return oa__doc_refuse(j, OA_E_FORBIDDEN, "Only secadmin or a named declassifier reviews labels.");
    char today[11];
    oa_day_format(oa_app_today_local(), today);
    size_t n = 0;
    struct oa_declass_due *due = oa_xcalloc(500, sizeof(*due));
    if (oa_doc_declass_due(s, today, due, 500, &n) != 0) {
        free(due);
        return OA_E_STORAGE;
    }
    cbor_item_t *arr = pv_array(n);
    for (size_t i = 0; i < n; i++) {
        cbor_item_t *m = pv_map(5);
        pv_put_int(m, "id", due[i].id);
        pv_put_text(m, "kind", due[i].kind);
        pv_put_int(m, "level", due[i].level);
        pv_put_text(m, "declass_date", due[i].declass_date);
        pv_put_text(m, "doc_number", due[i].doc_number);
        pv_push(arr, m);
    }
    free(due);
    j->out = pv_map(1);
    pv_put(j->out, "documents", arr);
    j->status = 200;
    return 0;
}
