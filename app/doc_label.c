/* app/doc_label.c: see doc_label.h. */
#include "app/doc_label.h"

#include <stdio.h>
#include <stdlib.h>

#include "app/doc_read.h"
#include "app/doc_steps.h"
#include "app/doc_view.h"
#include "app/records.h"
#include "proto/alloc.h"
#include "storage/documents.h"
#include "workflow/access.h"
#include "workflow/calendar.h"

/*
 * Whether `me` may relabel d: the label intact (secadmin), the read gate
 * passed (everyone else), the decision, the immutability guard and
 * secadmin's step-up.  0 allowed, 1 refused (o), or OA_E_STORAGE.
 */
static int may_relabel(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me,
                       const struct oa_doc *d, const struct oa_app_relabel *rl, struct oa_app_outcome *o)
{
    int rc;
    /* A label edited outside oad is never relabelled (which would seal the edit as oad's): #17. */
    if ((me->roles & OA_ROLE_SECADMIN) != 0 && (rc = oa_doc_label_intact(s, by, d, "document.relabel")) <= 0) {
        if (rc < 0)
            return OA_E_STORAGE;
        oa_app_refuse(o, OA_E_LABEL_TAMPERED, oa_err_message(OA_E_LABEL_TAMPERED));
        return 1;
    }
    /* Anyone but secadmin (who sees every label, never a text) passes the
     * read gate first: a document they may not see answers exactly as a
     * missing one, so the label route tells nobody which ids exist. */
    if ((me->roles & OA_ROLE_SECADMIN) == 0 && (rc = oa_doc_gate_read(s, by, me, d, "document.relabel")) <= 0) {
        if (rc < 0)
            return OA_E_STORAGE;
        oa_app_refuse(o, OA_E_NOT_FOUND, "No such document.");
        return 1;
    }
    struct oa_subject subj = {me->id, me->roles, me->clearance, me->declassifier, me->clearance_hold};
    enum oa_decision dec = oa_access_decide(&subj, OA_ACT_RELABEL, NULL);
    if (dec != OA_ALLOW) {
        if (oa_app_audit_doc(s, by, "document.relabel", d, NULL, NULL, NULL, "refused", oa_decision_reason(dec)) != 0)
            return OA_E_STORAGE;
        oa_app_refuse(o, OA_E_FORBIDDEN, "Only secadmin or a named declassifier changes a document's label.");
        return 1;
    }
    enum oa_err err = OA_E_OK;
    const char *message = NULL;
    rc = oa_rec_guard_write(s, by, d, "document.relabel", &err, &message);
    if (rc != 0) {
        if (rc < 0)
            return OA_E_STORAGE;
        oa_app_refuse(o, err, message);
        return 1;
    }
    if (me->roles & OA_ROLE_SECADMIN) {
        enum oa_err e = oa_app_step_up(s, by, rl->step_up);
        if (e == OA_E_STORAGE)
            return OA_E_STORAGE;
        if (e != OA_E_OK) {
            oa_app_refuse(o, e, e == OA_E_TOTP_ENROLLMENT_REQUIRED
                                    ? "Enrol an authenticator (POST /v1/users/me/totp) before changing labels."
                                    : "A label change needs a current code from your authenticator in X-OA-OTP.");
            return 1;
        }
    }
    return 0;
}

int oa_app_doc_relabel(struct oa_store *s, const struct oa_app_actor *by, const struct oa_app_relabel *rl,
                       cbor_item_t **out, struct oa_app_outcome *o)
{
    struct oa_user me;
    struct oa_doc d;
    if (oa_app_me(s, by, &me) != 0)
        return OA_E_STORAGE;
    int rc = oa_doc_load(s, rl->doc_id, &d);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0) {
        oa_app_refuse(o, OA_E_NOT_FOUND, "No such document.");
        return 0;
    }
    rc = may_relabel(s, by, &me, &d, rl, o);
    if (rc != 0) {
        oa_doc_free(&d);
        return rc == 1 ? 0 : rc;
    }
    size_t nold = 0;
    char **old_scope = oa_doc_scope(s, d.id, &nold);
    int old_level = d.level;
    if (rl->has_level)
        d.level = (int)rl->level;
    if (rl->declass_date)
        snprintf(d.declass_date, sizeof(d.declass_date), "%s", rl->declass_date);
    size_t nnew = rl->has_scope ? rl->nscope : nold;
    struct oa_label lold = {old_level, (const char *const *)old_scope, nold};
    struct oa_label lnew = {d.level, rl->has_scope ? rl->scope : (const char *const *)old_scope, nnew};
    bool lowered = !oa_label_dominates(&lnew, &lold);
    char detail[512];
    snprintf(detail, sizeof(detail), "level %d -> %d, scope %zu -> %zu entries%s%s: %s", old_level, d.level, nold,
             nnew, d.declass_date[0] ? ", declassify on " : "", d.declass_date, rl->reason);
    pv_utf8_trim(detail);
    oa_strv_free(old_scope);
    if ((rl->has_scope && oa_doc_scope_set(s, &d, rl->scope, rl->nscope) != 0) || oa_doc_save(s, &d, me.id, 0, NULL) != 0 ||
        oa_doc_step(s, d.id, lowered ? "declassify" : "relabel", d.state, d.state, me.id, 0, rl->reason, detail) < 0 ||
        oa_app_audit_doc(s, by, lowered ? "document.declassify" : "document.relabel", &d, NULL, NULL, NULL, "ok",
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
    *out = m;
    oa_doc_free(&d);
    return 0;
}

int oa_app_labels_expired(struct oa_store *s, const struct oa_app_actor *by, cbor_item_t **out,
                          struct oa_app_outcome *o)
{
    struct oa_user me;
    if (oa_app_me(s, by, &me) != 0)
        return OA_E_STORAGE;
    struct oa_subject subj = {me.id, me.roles, me.clearance, me.declassifier, me.clearance_hold};
    if (oa_access_decide(&subj, OA_ACT_RELABEL, NULL) != OA_ALLOW) {
        oa_app_refuse(o, OA_E_FORBIDDEN, "Only secadmin or a named declassifier reviews labels.");
        return 0;
    }
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
    *out = pv_map(1);
    pv_put(*out, "documents", arr);
    return 0;
}
