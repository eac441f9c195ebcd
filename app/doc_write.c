/*
 * app/doc_write.c: creating a document and editing its draft fields and
 * label (see doc_write.h).  The rules are workflow/'s: who may create
 * which kind (oa_flow_may_create), the derived label (oa_label_derive),
 * label edits (oa_label_edit_check), whether an edit is allowed in a
 * state and what it does (oa_flow_step).
 */
#include "app/doc_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/accounts.h"
#include "app/doc_read.h"
#include "app/doc_steps.h"
#include "app/doc_view.h"
#include "proto/alloc.h"
#include "proto/etag.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "workflow/access.h"
#include "workflow/docflow.h"

static const char *fit(const char *v, char *dst, size_t cap, bool *too_long)
{
    if (v == NULL)
        return dst;
    if (strlen(v) >= cap)
        *too_long = true;
    else
        memcpy(dst, v, strlen(v) + 1);
    return dst;
}

/* Copies the given text fields into d; false when one is too long. */
static bool apply_fields(const struct oa_app_doc_fields *in, struct oa_doc *d, char *changed, size_t changed_len)
{
    bool too_long = false;
    struct {
        const char *name, *v;
        char *dst;
        size_t cap;
    } f[] = {
        {"title", in->title, d->title, sizeof(d->title)},
        {"doc_type", in->doc_type, d->doc_type, sizeof(d->doc_type)},
        {"copy_no", in->copy_no, d->copy_no, sizeof(d->copy_no)},
        {"secrecy_period", in->secrecy_period, d->secrecy_period, sizeof(d->secrecy_period)},
        {"urgency", in->urgency, d->urgency, sizeof(d->urgency)},
        {"main_recipients", in->main_recipients, d->main_recipients, sizeof(d->main_recipients)},
        {"copied_recipients", in->copied_recipients, d->copied_recipients, sizeof(d->copied_recipients)},
        {"attachment_note", in->attachment_note, d->attachment_note, sizeof(d->attachment_note)},
        {"doc_date", in->doc_date, d->doc_date, sizeof(d->doc_date)},
        {"note", in->note, d->note, sizeof(d->note)},
        {"printing_organ", in->printing_organ, d->printing_organ, sizeof(d->printing_organ)},
        {"printing_date", in->printing_date, d->printing_date, sizeof(d->printing_date)},
    };
    changed[0] = '\0';
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (f[i].v == NULL || strcmp(f[i].v, f[i].dst) == 0)
            continue;
        fit(f[i].v, f[i].dst, f[i].cap, &too_long);
        size_t cl = strlen(changed);
        snprintf(changed + cl, changed_len - cl, "%s%s", cl ? "," : "", f[i].name);
    }
    if (in->body != NULL && strcmp(in->body, d->body ? d->body : "") != 0) {
        free(d->body);
        d->body = oa_xstrdup(in->body);
        size_t cl = strlen(changed);
        snprintf(changed + cl, changed_len - cl, "%sbody", cl ? "," : "");
    }
    return !too_long;
}

/* The caller may create this kind, at this label; refusals audited or not as before.  0, 1 refused, or OA_E_STORAGE. */
static int may_create(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me,
                      const struct oa_app_doc_fields *f, struct oa_app_outcome *o)
{
    int kind = oa_kind_parse(f->kind);
    if (!oa_flow_may_create((enum oa_doc_kind)kind, me->roles)) {
        struct oa_audit_event ev = {0};
        oa_app_audit_actor(by, &ev);
        ev.event = "document.create";
        ev.label = (int)f->level;
        ev.outcome = "refused";
        ev.detail = "role may not create this kind of document";
        if (oa_audit(s, &ev) != 0)
            return OA_E_STORAGE;
        oa_app_refuse(o, OA_E_FORBIDDEN, "Your role may not create this kind of document.");
        return 1;
    }
    struct oa_subject subj = {me->id, me->roles, me->clearance, false, me->clearance_hold};
    if (oa_access_read_doc(&subj, (int)f->level) != OA_ALLOW) {
        oa_app_refuse(o, OA_E_FORBIDDEN, "You cannot create a document labelled above your own clearance.");
        return 1;
    }
    return 0;
}

int oa_app_doc_create(struct oa_store *s, const struct oa_app_actor *by, const struct oa_app_doc_fields *f,
                      struct oa_doc *d, struct oa_app_outcome *o)
{
    struct oa_user me;
    memset(d, 0, sizeof(*d));
    if (oa_app_me(s, by, &me) != 0)
        return OA_E_STORAGE;
    int rc = may_create(s, by, &me, f, o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    int kind = oa_kind_parse(f->kind);
    snprintf(d->kind, sizeof(d->kind), "%s", f->kind);
    d->def_version = oa_flow_version((enum oa_doc_kind)kind);
    snprintf(d->state, sizeof(d->state), "%s", oa_flow_initial((enum oa_doc_kind)kind));
    snprintf(d->urgency, sizeof(d->urgency), "ordinary");
    d->body = oa_xstrdup("");
    d->level = (int)f->level;
    d->drafter_id = me.id;
    d->department_id = me.department_id;
    if (me.department_id > 0 && (d->organ_id = oa_department_organ(s, me.department_id)) < 0)
        return OA_E_STORAGE;
    char changed[256];
    if (!apply_fields(f, d, changed, sizeof(changed))) {
        oa_app_refuse(o, OA_E_BAD_FIELD, "A field is longer than the document format allows.");
        return 0;
    }
    if (f->declass_date)
        snprintf(d->declass_date, sizeof(d->declass_date), "%s", f->declass_date);
    const char *const *scope = f->scope;
    size_t nscope = f->nscope;
    char **source_scope = NULL;
    if (f->derived_from > 0) {
        /* A reply, copy or excerpt starts at least as high as its source. */
        struct oa_doc src;
        rc = oa_doc_load(s, f->derived_from, &src);
        if (rc < 0)
            return OA_E_STORAGE;
        if (rc == 0 || (rc = oa_doc_gate_read(s, by, &me, &src, "document.derive")) <= 0) {
            if (rc == 1)
                oa_doc_free(&src);
            if (rc < 0)
                return OA_E_STORAGE;
            oa_app_refuse(o, OA_E_BAD_FIELD, "derived_from names no document you can see.");
            return 0;
        }
        size_t nsrc = 0;
        source_scope = oa_doc_scope(s, src.id, &nsrc);
        struct oa_label lsrc = {src.level, (const char *const *)source_scope, nsrc};
        struct oa_label asked = {d->level, scope, nscope};
        struct oa_label lnew;
        bool dominates = oa_label_derive(&lsrc, &asked, f->has_level, f->has_scope, &lnew);
        d->level = lnew.level;
        scope = lnew.scope;
        nscope = lnew.nscope;
        d->source_id = src.id;
        oa_doc_free(&src);
        if (!dominates) {
            oa_strv_free(source_scope);
            oa_app_refuse(o, OA_E_FORBIDDEN,
                          "A derived document is labelled at least as high, and scoped no wider, than its source.");
            return 0;
        }
    }
    if (nscope > 0) {
        size_t ncomp = 0;
        char **comps = oa_user_compartments(s, me.id);
        while (comps && comps[ncomp])
            ncomp++;
        struct oa_subject me_subj = {me.id, me.roles, me.clearance, false, me.clearance_hold};
        struct oa_reader rd = {&me_subj, me.username, me.department_id, (const char *const *)comps, ncomp};
        struct oa_label lb = {d->level, scope, nscope};
        enum oa_decision dec = oa_access_read(&rd, &lb);
        oa_strv_free(comps);
        if (dec != OA_ALLOW) {
            oa_strv_free(source_scope);
            oa_app_refuse(o, OA_E_BAD_FIELD, "That scope would leave you unable to read your own document.");
            return 0;
        }
    }
    oa_doc_set_step_due(s, d);
    rc = oa_doc_insert(s, d, me.id) != 0 || oa_doc_scope_set(s, d, scope, nscope) != 0;
    oa_strv_free(source_scope);
    if (rc != 0 || oa_doc_update_queue(s, d) != 0 || oa_doc_step(s, d->id, "create", "", d->state, me.id, 0, "", "") < 0 ||
        oa_app_audit_doc(s, by, "document.create", d, NULL, d->state, NULL, "ok", d->kind) != 0)
        return OA_E_STORAGE;
    return 0;
}

/*
 * The label change f asks of d, if the editor may make it: *scope_changed
 * when the scope differs.  0, 1 refused (o), or OA_E_STORAGE.
 */
static int label_edit(struct oa_store *s, const struct oa_user *me, const struct oa_doc *d,
                      const struct oa_app_doc_fields *f, bool *scope_changed, struct oa_app_outcome *o)
{
    /* Raising a label is an edit; lowering or widening it is a declassification step. */
    size_t nold = 0;
    char **old_scope = f->has_scope ? oa_doc_scope(s, d->id, &nold) : NULL;
    struct oa_subject subj = {me->id, me->roles, me->clearance, false, me->clearance_hold};
    struct oa_label cur = {d->level, (const char *const *)old_scope, nold};
    struct oa_label asked = {(int)f->level, f->scope, f->nscope};
    enum oa_label_edit le = oa_label_edit_check(&subj, &cur, &asked, f->has_level, f->has_scope);
    *scope_changed = false;
    if (f->has_scope) {
        *scope_changed = nold != f->nscope;
        for (size_t i = 0; i < f->nscope && !*scope_changed; i++)
            *scope_changed = strcmp(f->scope[i], old_scope[i]) != 0;
    }
    oa_strv_free(old_scope);
    if (le != OA_LABEL_EDIT_OK) {
        oa_app_refuse(o, OA_E_FORBIDDEN, oa_label_edit_reason(le));
        return 1;
    }
    return 0;
}

int oa_app_doc_edit(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me, struct oa_doc *d,
                    const struct oa_app_doc_fields *f, const char *if_match, bool version_checked,
                    struct oa_app_outcome *o)
{
    char etag[48];
    oa_app_doc_etag(d, etag, sizeof(etag));
    enum oa_err pre = version_checked ? OA_E_OK : oa_etag_if_match(if_match, etag);
    if (pre != OA_E_OK) {
        oa_app_refuse(o, pre, NULL);
        return 0;
    }
    struct oa_doc_actor actor = {.roles = me->roles, .relations = d->drafter_id == me->id ? OA_REL_DRAFTER : 0};
    struct oa_doc_facts facts = {.has_opinion = f->opinion != NULL && f->opinion[0] != '\0'};
    struct oa_flow_answer ans;
    enum oa_flow_result res = oa_flow_step((enum oa_doc_kind)oa_kind_parse(d->kind), d->def_version, d->state, "edit",
                                           &actor, &facts, &ans);
    if (res != OA_FLOW_OK) {
        if (oa_app_audit_doc(s, by, "document.edit", d, d->state, NULL, NULL, "refused", ans.reason) != 0)
            return OA_E_STORAGE;
        oa_app_refuse(o, res == OA_FLOW_NOT_ALLOWED ? OA_E_FORBIDDEN : res == OA_FLOW_GUARD ? OA_E_BAD_FIELD
                                                                                            : OA_E_CONFLICT,
                      res == OA_FLOW_UNKNOWN_ACTION ? "This kind of document is not edited through PATCH." : ans.reason);
        return 0;
    }
    bool scope_changed = false;
    int rc = label_edit(s, me, d, f, &scope_changed, o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (oa_doc_load_body(s, d) != 0)
        return OA_E_STORAGE;
    char changed[256];
    if (!apply_fields(f, d, changed, sizeof(changed))) {
        oa_app_refuse(o, OA_E_BAD_FIELD, "A field is longer than the document format allows.");
        return 0;
    }
    if (scope_changed) {
        if (oa_doc_scope_set(s, d, f->scope, f->nscope) != 0)
            return OA_E_STORAGE;
        size_t cl = strlen(changed);
        snprintf(changed + cl, sizeof(changed) - cl, "%sscope", cl ? "," : "");
    }
    char from_level[8] = "";
    if (f->has_level && f->level != d->level) {
        snprintf(from_level, sizeof(from_level), "%d", d->level);
        d->level = (int)f->level;
        size_t cl = strlen(changed);
        snprintf(changed + cl, sizeof(changed) - cl, "%slevel", cl ? "," : "");
    }
    if (changed[0] == '\0')
        return 0;
    char from[32];
    snprintf(from, sizeof(from), "%s", d->state);
    if ((ans.effects & OA_FX_VOID_NUMBER) && d->doc_number[0]) {
        if (oa_number_void(s, d->id, d->doc_number, f->opinion) != 0)
            return OA_E_STORAGE;
        d->doc_number[0] = '\0';
    }
    char next[32];
    snprintf(next, sizeof(next), "%s", ans.next_state); /* may point into d->state */
    memcpy(d->state, next, sizeof(next));
    if (strcmp(from, d->state) != 0)
        oa_doc_set_step_due(s, d);
    if (oa_doc_save(s, d, me->id, 0, changed) != 0 || oa_doc_update_queue(s, d) != 0 ||
        oa_doc_step(s, d->id, "edit", from, d->state, me->id, 0, f->opinion, changed) < 0 ||
        oa_app_audit_doc(s, by, from_level[0] || scope_changed ? "document.label_raise" : "document.edit", d, from,
                         d->state, NULL, "ok", changed) != 0)
        return OA_E_STORAGE;
    return 0;
}
