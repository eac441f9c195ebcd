/*
 * app/doc_read.c: the one document read gate and its audit (use case).
 *
 * Gathers the facts from storage (the document, its scope, the reader's
 * compartments), decides through workflow/access.c oa_access_read, and
 * records a refusal in the audit trail in the same transaction.  With
 * `edit`, also asks the document's state machine (workflow/docflow.c)
 * whether the caller may change it now.  Every decision first checks the
 * label's integrity (storage/labelmac.h, #17): a label edited outside oad
 * is refused whatever it says, and the gate audits it.  Runs on the writer thread, inside
 * the caller's job.  No HTTP here: the server passes who asks as an
 * oa_app_actor.
 */
#include "app/doc_read.h"

#include <stdio.h>

#include "app/records.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "storage/labelmac.h"
#include "workflow/access.h"
#include "workflow/docflow.h"

/* The decision alone, for `who` and document `d` (level and scope). */
static enum oa_decision decide_read(struct oa_store *s, const struct oa_user *who, const struct oa_doc *d,
                                    bool *scoped)
{
    size_t nscope = 0, ncomp = 0;
    char **scope = oa_doc_scope_of(s, d, &nscope);
    char **comps = nscope ? oa_user_compartments(s, who->id) : NULL;
    while (comps && comps[ncomp])
        ncomp++;
    struct oa_subject subj = {who->id, who->roles, who->clearance, who->declassifier, who->clearance_hold};
    struct oa_reader rd = {&subj, who->username, who->department_id, (const char *const *)comps, ncomp};
    struct oa_label lb = {d->level, (const char *const *)scope, nscope};
    enum oa_decision dec = oa_access_read(&rd, &lb);
    oa_strv_free(scope);
    oa_strv_free(comps);
    if (scoped)
        *scoped = nscope > 0;
    return dec;
}


bool oa_doc_readable(struct oa_store *s, const struct oa_user *who, int64_t doc_id)
{
    struct oa_doc d;
    if (oa_doc_load(s, doc_id, &d) != 1)
        return false;
    bool ok = oa_doc_label_check(s, &d) == 1 && decide_read(s, who, &d, NULL) == OA_ALLOW;
    oa_doc_free(&d);
    return ok;
}

int oa_doc_label_intact(struct oa_store *s, const struct oa_app_actor *by, const struct oa_doc *d,
                        const char *what)
{
    int intact = oa_doc_label_check(s, d);
    if (intact != 0)
        return intact;
    char detail[160];
    snprintf(detail, sizeof(detail), "%s: the label (level, scope, declassification date) does not match its MAC",
             what);
    return oa_app_audit_doc(s, by, "document.label_tampered", d, NULL, NULL, NULL, "refused", detail) != 0 ? -1 : 0;
}

/* The read gate; *tampered when the label was edited outside oad and would have let `who` read it. */
static int gate(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *who, const struct oa_doc *d,
                const char *what, bool *tampered)
{
    bool scoped = false;
    *tampered = false;
    int intact = oa_doc_label_intact(s, by, d, what);
    if (intact < 0)
        return -1;
    enum oa_decision dec = decide_read(s, who, d, &scoped);
    if (intact == 0) {
        /* Refused either way; only a caller the edited label lets in hears why (others: as if missing). */
        *tampered = dec == OA_ALLOW;
        return 0;
    }
    if (dec == OA_ALLOW)
        return 1;
    if (d->level > OA_LEVEL_PUBLIC || scoped || (who->roles & OA_ROLES_ADMIN)) {
        if (oa_app_audit_doc(s, by, what, d, NULL, NULL, NULL, "refused", oa_decision_reason(dec)) != 0)
            return -1;
    }
    return 0;
}

int oa_doc_gate_read(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *who,
                     const struct oa_doc *d, const char *what)
{
    bool tampered = false;
    return gate(s, by, who, d, what, &tampered);
}

int oa_doc_open_for(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, bool edit, const char *what,
                    struct oa_user *me, struct oa_doc *d, enum oa_err *err, const char **message)
{
    *err = OA_E_OK;
    *message = NULL;
    if (oa_user_by_id(s, by->user_id, me) != 1)
        return -1;
    int rc = oa_doc_load(s, doc_id, d);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        *err = OA_E_NOT_FOUND;
        *message = "No such document.";
        return 0;
    }
    bool tampered = false;
    rc = gate(s, by, me, d, what, &tampered);
    if (rc <= 0) {
        oa_doc_free(d);
        *err = tampered ? OA_E_LABEL_TAMPERED : OA_E_NOT_FOUND;
        *message = tampered ? oa_err_message(OA_E_LABEL_TAMPERED) : "No such document.";
        return rc;
    }
    if (!edit)
        return 1;
    /* A filed record never changes (#16). */
    if ((rc = oa_rec_guard_write(s, by, d, what, err, message)) != 0) {
        oa_doc_free(d);
        return rc < 0 ? -1 : 0;
    }
    struct oa_doc_actor actor = {.roles = me->roles, .relations = d->drafter_id == me->id ? OA_REL_DRAFTER : 0};
    struct oa_doc_facts facts = {0};
    struct oa_flow_answer ans;
    enum oa_flow_result res = oa_flow_step((enum oa_doc_kind)oa_kind_parse(d->kind), d->def_version, d->state,
                                           "edit", &actor, &facts, &ans);
    if (res == OA_FLOW_OK)
        return 1;
    rc = oa_app_audit_doc(s, by, what, d, d->state, NULL, NULL, "refused", ans.reason);
    oa_doc_free(d);
    if (rc != 0)
        return -1;
    *err = res == OA_FLOW_NOT_ALLOWED ? OA_E_FORBIDDEN : OA_E_CONFLICT;
    *message = res == OA_FLOW_NOT_ALLOWED ? "You may not change this document's files."
                                          : "The document's state does not allow changing its files.";
    return 0;
}

bool oa_doc_visible(struct oa_store *s, const struct oa_user *who, const struct oa_doc *d)
{
    return oa_doc_label_check(s, d) == 1 && decide_read(s, who, d, NULL) == OA_ALLOW;
}
