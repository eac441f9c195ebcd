/*
 * server/h_doc_write.c: creating a document (fields, rights by kind, the derived
 * label) and editing draft fields.
 * Part of the document routes (h_documents.c), joined by documents-int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/doc_read.h"
#include "app/doc_steps.h"
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

/* ---- create ---- */

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
static bool apply_fields(struct doc_job *j, struct oa_doc *d, char *changed, size_t changed_len)
{
    bool too_long = false;
    struct {
        const char *name, *v;
        char *dst;
        size_t cap;
    } f[] = {
        {"title", j->title, d->title, sizeof(d->title)},
        {"doc_type", j->doc_type, d->doc_type, sizeof(d->doc_type)},
        {"copy_no", j->copy_no, d->copy_no, sizeof(d->copy_no)},
        {"secrecy_period", j->secrecy_period, d->secrecy_period, sizeof(d->secrecy_period)},
        {"urgency", j->urgency, d->urgency, sizeof(d->urgency)},
        {"main_recipients", j->main_recipients, d->main_recipients, sizeof(d->main_recipients)},
        {"copied_recipients", j->copied_recipients, d->copied_recipients, sizeof(d->copied_recipients)},
        {"attachment_note", j->attachment_note, d->attachment_note, sizeof(d->attachment_note)},
        {"doc_date", j->doc_date, d->doc_date, sizeof(d->doc_date)},
        {"note", j->note, d->note, sizeof(d->note)},
        {"printing_organ", j->printing_organ, d->printing_organ, sizeof(d->printing_organ)},
        {"printing_date", j->printing_date, d->printing_date, sizeof(d->printing_date)},
    };
    changed[0] = '\0';
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (f[i].v == NULL || strcmp(f[i].v, f[i].dst) == 0)
            continue;
        fit(f[i].v, f[i].dst, f[i].cap, &too_long);
        size_t cl = strlen(changed);
        snprintf(changed + cl, changed_len - cl, "%s%s", cl ? "," : "", f[i].name);
    }
    if (j->body != NULL && strcmp(j->body, d->body ? d->body : "") != 0) {
        free(d->body);
        d->body = oa_xstrdup(j->body);
        size_t cl = strlen(changed);
        snprintf(changed + cl, changed_len - cl, "%sbody", cl ? "," : "");
    }
    return !too_long;
}

int oa__doc_run_create(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    if (oa__doc_load_me(s, j, &me) != 0)
        return OA_E_STORAGE;
    int kind = oa_kind_parse(j->kind);
    if (!oa_flow_may_create((enum oa_doc_kind)kind, me.roles)) {
        struct oa_audit_event ev = {0};
        oa_audit_actor(j->r, &ev);
        ev.event = "document.create";
        ev.label = (int)j->level;
        ev.outcome = "refused";
        ev.detail = "role may not create this kind of document";
        if (oa_audit(s, &ev) != 0)
            return OA_E_STORAGE;
        return oa__doc_refuse(j, OA_E_FORBIDDEN, "Your role may not create this kind of document.");
    }
    struct oa_subject subj = {me.id, me.roles, me.clearance, false, me.clearance_hold};
    if (oa_access_read_doc(&subj, (int)j->level) != OA_ALLOW)
        return oa__doc_refuse(j, OA_E_FORBIDDEN, "You cannot create a document labelled above your own clearance.");

    struct oa_doc d = {0};
    snprintf(d.kind, sizeof(d.kind), "%s", j->kind);
    d.def_version = oa_flow_version((enum oa_doc_kind)kind);
    snprintf(d.state, sizeof(d.state), "%s", oa_flow_initial((enum oa_doc_kind)kind));
    snprintf(d.urgency, sizeof(d.urgency), "ordinary");
    d.body = oa_xstrdup("");
    d.level = (int)j->level;
    d.drafter_id = me.id;
    d.department_id = me.department_id;
    if (me.department_id > 0 && (d.organ_id = oa_department_organ(s, me.department_id)) < 0)
        goto storage;
    char changed[256];
    if (!apply_fields(j, &d, changed, sizeof(changed))) {
        oa_doc_free(&d);
        return oa__doc_refuse(j, OA_E_BAD_FIELD, "A field is longer than the document format allows.");
    }
    if (j->declass_date)
        snprintf(d.declass_date, sizeof(d.declass_date), "%s", j->declass_date);
    const char *const *scope = (const char *const *)j->scope_v;
    size_t nscope = j->nscope;
    char **source_scope = NULL;
    if (j->derived_from > 0) {
        /* A reply, copy or excerpt starts at least as high as its source. */
        struct oa_doc src;
        int rc = oa_doc_load(s, j->derived_from, &src);
        if (rc < 0)
            goto storage;
        if (rc == 0 || (rc = oa_doc_gate_read(s, OA_REQ_ACTOR(j->r), &me, &src, "document.derive")) <= 0) {
            if (rc == 1)
                oa_doc_free(&src);
            oa_doc_free(&d);
            return rc < 0 ? OA_E_STORAGE
                          : oa__doc_refuse(j, OA_E_BAD_FIELD, "derived_from names no document you can see.");
        }
        size_t nsrc = 0;
        source_scope = oa_doc_scope(s, src.id, &nsrc);
        struct oa_label lsrc = {src.level, (const char *const *)source_scope, nsrc};
        struct oa_label asked = {d.level, scope, nscope};
        struct oa_label lnew;
        bool dominates = oa_label_derive(&lsrc, &asked, j->has_level, j->scope != NULL, &lnew);
        d.level = lnew.level;
        scope = lnew.scope;
        nscope = lnew.nscope;
        d.source_id = src.id;
        oa_doc_free(&src);
        if (!dominates) {
            oa_strv_free(source_scope);
            oa_doc_free(&d);
            return oa__doc_refuse(
                j, OA_E_FORBIDDEN, "A derived document is labelled at least as high, and scoped no wider, than its source.");
        }
    }
    if (nscope > 0) {
        size_t ncomp = 0;
        char **comps = oa_user_compartments(s, me.id);
        while (comps && comps[ncomp])
            ncomp++;
        struct oa_subject me_subj = {me.id, me.roles, me.clearance, false, me.clearance_hold};
        struct oa_reader rd = {&me_subj, me.username, me.department_id, (const char *const *)comps, ncomp};
        struct oa_label lb = {d.level, scope, nscope};
        enum oa_decision dec = oa_access_read(&rd, &lb);
        oa_strv_free(comps);
        if (dec != OA_ALLOW) {
            oa_strv_free(source_scope);
            oa_doc_free(&d);
            return oa__doc_refuse(j, OA_E_BAD_FIELD, "That scope would leave you unable to read your own document.");
        }
    }
    oa_doc_set_step_due(s, &d);
    if (oa_doc_insert(s, &d, me.id) != 0 || oa_doc_scope_set(s, &d, scope, nscope) != 0) {
        oa_strv_free(source_scope);
        goto storage;
    }
    oa_strv_free(source_scope);
    if (oa_doc_update_queue(s, &d) != 0 ||
        oa_doc_step(s, d.id, "create", "", d.state, me.id, 0, "", "") < 0 ||
        oa__doc_audit(s, j, "document.create", &d, NULL, d.state, NULL, "ok", d.kind) != 0)
        goto storage;
    return oa__doc_answer(s, j, &d, 201);
storage:
    oa_doc_free(&d);
    return OA_E_STORAGE;
}

/* ---- edit ---- */

int oa__doc_run_edit(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    struct oa_doc d;
    int rc;
    if (!oa__doc_open(s, j, &me, &d, "document.edit", &rc))
        return rc;
    if ((rc = oa__doc_guard_filed(s, j, &d, "document.edit")) >= 0)
        return rc;
    char etag[48];
    oa__doc_etag(&d, etag, sizeof(etag));
    enum oa_err pre = j->from_sync ? OA_E_OK : oa_req_if_match(j->r, etag);
    if (pre != OA_E_OK) {
        oa_doc_free(&d);
        return oa__doc_refuse(j, pre, NULL);
    }
    struct oa_doc_actor actor = {.roles = me.roles, .relations = d.drafter_id == me.id ? OA_REL_DRAFTER : 0};
    struct oa_doc_facts facts = {.has_opinion = j->opinion != NULL && j->opinion[0] != '\0'};
    struct oa_flow_answer ans;
    enum oa_flow_result res = oa_flow_step((enum oa_doc_kind)oa_kind_parse(d.kind), d.def_version, d.state, "edit",
                                           &actor, &facts, &ans);
    if (res != OA_FLOW_OK) {
        if (oa__doc_audit(s, j, "document.edit", &d, d.state, NULL, NULL, "refused", ans.reason) != 0) {
            oa_doc_free(&d);
            return OA_E_STORAGE;
        }
        oa_doc_free(&d);
        return oa__doc_refuse(j, res == OA_FLOW_NOT_ALLOWED ? OA_E_FORBIDDEN : res == OA_FLOW_GUARD ? OA_E_BAD_FIELD
                                                                                         : OA_E_CONFLICT,
                    res == OA_FLOW_UNKNOWN_ACTION ? "This kind of document is not edited through PATCH."
                                                  : ans.reason);
    }
    /* Raising a label is an edit; lowering or widening it is a declassification step. */
    bool scope_changed = false;
    size_t nold = 0;
    char **old_scope = j->scope != NULL ? oa_doc_scope(s, d.id, &nold) : NULL;
    struct oa_subject subj = {me.id, me.roles, me.clearance, false, me.clearance_hold};
    struct oa_label cur = {d.level, (const char *const *)old_scope, nold};
    struct oa_label asked = {(int)j->level, (const char *const *)j->scope_v, j->nscope};
    enum oa_label_edit le = oa_label_edit_check(&subj, &cur, &asked, j->has_level, j->scope != NULL);
    if (j->scope != NULL) {
        scope_changed = nold != j->nscope;
        for (size_t i = 0; i < j->nscope && !scope_changed; i++)
            scope_changed = strcmp(j->scope_v[i], old_scope[i]) != 0;
    }
    oa_strv_free(old_scope);
    if (le != OA_LABEL_EDIT_OK) {
        oa_doc_free(&d);
        return oa__doc_refuse(j, OA_E_FORBIDDEN, oa_label_edit_reason(le));
    }
    if (oa_doc_load_body(s, &d) != 0) {
        oa_doc_free(&d);
        return OA_E_STORAGE;
    }
    char changed[256];
    if (!apply_fields(j, &d, changed, sizeof(changed))) {
        oa_doc_free(&d);
        return oa__doc_refuse(j, OA_E_BAD_FIELD, "A field is longer than the document format allows.");
    }
    if (scope_changed) {
        if (oa_doc_scope_set(s, &d, (const char *const *)j->scope_v, j->nscope) != 0) {
            oa_doc_free(&d);
            return OA_E_STORAGE;
        }
        size_t cl = strlen(changed);
        snprintf(changed + cl, sizeof(changed) - cl, "%sscope", cl ? "," : "");
    }
    char from_level[8] = "";
    if (j->has_level && j->level != d.level) {
        snprintf(from_level, sizeof(from_level), "%d", d.level);
        d.level = (int)j->level;
        size_t cl = strlen(changed);
        snprintf(changed + cl, sizeof(changed) - cl, "%slevel", cl ? "," : "");
    }
    if (changed[0] == '\0')
        return oa__doc_answer(s, j, &d, 200);
    char from[32];
    snprintf(from, sizeof(from), "%s", d.state);
    if ((ans.effects & OA_FX_VOID_NUMBER) && d.doc_number[0]) {
        if (oa_number_void(s, d.id, d.doc_number, j->opinion) != 0)
            goto storage;
        d.doc_number[0] = '\0';
    }
    char next[32];
    snprintf(next, sizeof(next), "%s", ans.next_state); /* may point into d.state */
    memcpy(d.state, next, sizeof(next));
    if (strcmp(from, d.state) != 0)
        oa_doc_set_step_due(s, &d);
    if (oa_doc_save(s, &d, me.id, 0, changed) != 0 || oa_doc_update_queue(s, &d) != 0 ||
        oa_doc_step(s, d.id, "edit", from, d.state, me.id, 0, j->opinion, changed) < 0 ||
        oa__doc_audit(s, j, from_level[0] || scope_changed ? "document.label_raise" : "document.edit", &d, from,
                      d.state, NULL, "ok", changed) != 0)
        goto storage;
    return oa__doc_answer(s, j, &d, 200);
storage:
    oa_doc_free(&d);
    return OA_E_STORAGE;
}
