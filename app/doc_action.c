/*
 * app/doc_action.c: taking a lifecycle action on a document (use case; see
 * doc_action.h).
 *
 * Gathers the facts from storage (the acting person's relationships to the
 * document, the countersign round, the names and ids the params carry),
 * decides through workflow/docflow.c oa_flow_step, and applies the
 * answer's effects through `effects[]` below: one named function per
 * OA_FX_* bit, run in the table's order.  Which action carries which effect
 * is the lifecycle tables' (workflow/flow_*.c), never this file's.
 */
#include "app/doc_action.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/doc_read.h"
#include "app/doc_steps.h"
#include "app/records.h"
#include "app/request.h"
#include "proto/alloc.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "storage/store.h"
#include "workflow/access.h"
#include "workflow/calendar.h"
#include "workflow/deadline.h"
#include "workflow/docflow.h"

#define MAX_NAMES OA_ACTION_MAX_NAMES

/* One action in progress: what was asked, the facts, and what the effects read and write. */
struct act {
    struct oa_store *s;
    const struct oa_app_actor *by;
    const struct oa_user *me;  /* who acts */
    const struct oa_user *eff; /* for whom: me, or the person who delegated to me */
    const struct oa_doc_action *a;
    struct oa_doc *d;
    struct oa_doc_facts facts;

    /* the params, resolved */
    int64_t cs[MAX_NAMES], readers[MAX_NAMES];
    int ncs, nreaders;
    bool cs_given;
    char prefix[64], target_name[OA_USERNAME_MAX + 1];
    int64_t target, assignee, lead, reply_id;

    char detail[512]; /* the step's and the audit entry's detail */
    struct oa_doc_action_result *out;
};

/* ---- reading the params ---- */

/* Resolves a list of usernames in params[key] to ids; -1 unknown name or bad type, -2 storage. */
static int names_to_ids(struct oa_store *s, const cbor_item_t *params, const char *key, int64_t *ids, int *n,
                        const char **bad)
{
    const cbor_item_t *arr = pv_get(params, key);
    *n = 0;
    if (arr == NULL)
        return 0;
    if (!cbor_isa_array(arr) || cbor_array_size(arr) > MAX_NAMES)
        return -1;
    for (size_t i = 0; i < cbor_array_size(arr); i++) {
        cbor_item_t *it = cbor_array_handle(arr)[i];
        char name[OA_USERNAME_MAX + 1];
        if (!cbor_isa_string(it) || !cbor_string_is_definite(it) || cbor_string_length(it) > OA_USERNAME_MAX)
            return -1;
        memcpy(name, cbor_string_handle(it), cbor_string_length(it));
        name[cbor_string_length(it)] = '\0';
        int64_t id = oa_user_id_by_name(s, name);
        if (id < 0)
            return -2;
        if (id == 0) {
            *bad = key;
            return -1;
        }
        ids[(*n)++] = id;
    }
    return 0;
}

static const char *param_text(const cbor_item_t *params, const char *key, char *buf, size_t cap)
{
    const cbor_item_t *v = pv_get(params, key);
    if (v == NULL || !cbor_isa_string(v) || !cbor_string_is_definite(v) || cbor_string_length(v) == 0 ||
        cbor_string_length(v) >= cap || !pv_utf8_ok(cbor_string_handle(v), cbor_string_length(v)))
        return NULL;
    memcpy(buf, cbor_string_handle(v), cbor_string_length(v));
    buf[cbor_string_length(v)] = '\0';
    return buf;
}

static int64_t param_int(const cbor_item_t *params, const char *key)
{
    const cbor_item_t *v = pv_get(params, key);
    if (v == NULL || !cbor_isa_uint(v) || cbor_get_int(v) > INT64_MAX)
        return 0;
    return (int64_t)cbor_get_int(v);
}

/* Whether `from` has delegated to `to` for today. */
static bool delegation_active(struct oa_store *s, int64_t from, int64_t to)
{
    char today[11];
    oa_day_format(oa_app_today_local(), today);
    return oa_delegation_active(s, from, to, today);
}

/* ---- the effects, one function each ---- */

/* An effect that refuses after the action wrote something: the caller rolls back. */
static int undo(struct act *c, enum oa_err e, const char *message)
{
    oa_app_undo(&c->out->outcome, e, message);
    return e;
}

static int fx_countersign_object(struct act *c)
{
    return oa_part_set(c->s, c->d->id, "countersigner", c->eff->id, "objected") == 0 ? 0 : OA_E_STORAGE;
}

static int fx_countersign_vote(struct act *c)
{
    return oa_part_set(c->s, c->d->id, "countersigner", c->eff->id, "approved") == 0 ? 0 : OA_E_STORAGE;
}

static int fx_end_round(struct act *c)
{
    return oa_part_cancel_pending(c->s, c->d->id) == 0 ? 0 : OA_E_STORAGE;
}

static int fx_name_countersigners(struct act *c)
{
    if (!c->cs_given)
        return 0;
    return oa_part_new_round(c->s, c->d->id, c->cs, c->ncs) == 0 ? 0 : OA_E_STORAGE;
}

static int fx_set_signer(struct act *c)
{
    snprintf(c->d->signer, sizeof(c->d->signer), "%s", c->eff->display_name);
    return 0;
}

static int fx_allocate_number(struct act *c)
{
    if (oa_number_allocate(c->s, c->d->organ_id, c->prefix, oa_app_year_local(), c->d->id, c->d->doc_number,
                           sizeof(c->d->doc_number)) != 0)
        return OA_E_STORAGE;
    snprintf(c->detail, sizeof(c->detail), "number %s", c->d->doc_number);
    return 0;
}

static int fx_void_number(struct act *c)
{
    if (!c->d->doc_number[0])
        return 0;
    if (oa_number_void(c->s, c->d->id, c->d->doc_number, c->a->opinion ? c->a->opinion : "") != 0)
        return OA_E_STORAGE;
    snprintf(c->detail, sizeof(c->detail), "voided %s", c->d->doc_number);
    c->d->doc_number[0] = '\0';
    return 0;
}

/*
 * One incoming copy of d for an organ (and department, when given).  The
 * copy carries d's whole label, scope included: a copy never writes down.
 */
static int issue_copy(struct act *c, int64_t organ_id, int64_t dept, size_t *off)
{
    struct oa_store *s = c->s;
    struct oa_doc *d = c->d;
    struct oa_doc in = *d;
    in.id = 0;
    snprintf(in.kind, sizeof(in.kind), "incoming");
    in.def_version = oa_flow_version(OA_KIND_INCOMING);
    snprintf(in.state, sizeof(in.state), "%s", oa_flow_initial(OA_KIND_INCOMING));
    in.organ_id = organ_id;
    in.department_id = dept;
    if (oa_doc_load_body(s, d) != 0)
        return -1;
    in.body = oa_xstrdup(d->body);
    in.source_id = d->id;
    in.reply_id = in.assignee_id = in.lead_department_id = 0;
    in.request_due[0] = '\0';
    in.extended = false;
    in.drafter_id = c->me->id;
    oa_doc_set_step_due(s, &in);
    size_t nscope = 0;
    char **scope = oa_doc_scope_of(s, d, &nscope);
    int rc = scope == NULL || oa_doc_insert(s, &in, c->me->id) != 0 ||
             oa_doc_scope_set(s, &in, (const char *const *)scope, nscope) != 0 || oa_doc_update_queue(s, &in) != 0 ||
             oa_doc_step(s, in.id, "receive", "", in.state, c->me->id, 0, "", d->doc_number) < 0;
    oa_strv_free(scope);
    if (!rc && *off < sizeof(c->detail))
        *off += (size_t)snprintf(c->detail + *off, sizeof(c->detail) - *off, "%sincoming:%lld", *off ? " " : "",
                                 (long long)in.id);
    oa_doc_free(&in);
    return rc ? -1 : 0;
}

/*
 * Creates the incoming copies of an issued document for each named
 * department (params.to_departments) and organ (params.to_organs) on this
 * server, linked back to it.
 */
static int fx_distribute(struct act *c)
{
    const cbor_item_t *params = c->a->params;
    size_t off = strlen(c->detail);
    for (int organs = 0; organs < 2; organs++) {
        const cbor_item_t *to = pv_get(params, organs ? "to_organs" : "to_departments");
        if (to == NULL)
            continue;
        if (!cbor_isa_array(to) || cbor_array_size(to) > MAX_NAMES)
            return undo(c, OA_E_BAD_FIELD, "params.to_departments and params.to_organs must be lists of ids.");
        for (size_t i = 0; i < cbor_array_size(to); i++) {
            cbor_item_t *it = cbor_array_handle(to)[i];
            int64_t target = cbor_isa_uint(it) ? (int64_t)cbor_get_int(it) : 0;
            int64_t organ_id = target <= 0 ? 0 : organs ? oa_organ_find(c->s, target)
                                                        : oa_department_organ(c->s, target);
            if (organ_id < 0)
                return OA_E_STORAGE;
            if (organ_id == 0)
                return undo(c, OA_E_BAD_FIELD, "params names a department or organ that does not exist.");
            if (issue_copy(c, organ_id, organs ? 0 : target, &off) != 0)
                return OA_E_STORAGE;
        }
    }
    return 0;
}

/* Sets the request's reply deadline to `due` (INT32_MIN: a bad date, refused). */
static int set_request_due(struct act *c, int32_t due)
{
    if (due == INT32_MIN)
        return undo(c, OA_E_BAD_FIELD, "params.received_on must be a date, YYYY-MM-DD.");
    oa_day_format(due, c->d->request_due);
    snprintf(c->detail, sizeof(c->detail), "due %s", c->d->request_due);
    return 0;
}

/* The request deadline runs from the day the request was received (params.received_on, or today). */
static int fx_set_due_request(struct act *c)
{
    char received[16];
    size_t nex = 0;
    const struct oa_day_exception *ex = oa_calendar_get(c->s, &nex);
    int32_t start = param_text(c->a->params, "received_on", received, sizeof(received)) ? oa_day_parse(received)
                                                                                         : oa_app_today_local();
    return set_request_due(c, start != INT32_MIN ? oa_request_due(start, ex, nex) : INT32_MIN);
}

static int fx_extend_due(struct act *c)
{
    size_t nex = 0;
    const struct oa_day_exception *ex = oa_calendar_get(c->s, &nex);
    int32_t start = oa_day_parse(c->d->request_due);
    c->d->extended = true;
    return set_request_due(c, start != INT32_MIN ? oa_request_extend(start, c->facts.extend_days, ex, nex)
                                                 : INT32_MIN);
}

static int fx_set_assignee(struct act *c)
{
    c->d->assignee_id = c->assignee;
    return 0;
}

static int fx_set_lead_dept(struct act *c)
{
    c->d->lead_department_id = c->lead;
    return 0;
}

static int fx_circulate(struct act *c)
{
    return oa_part_add_readers(c->s, c->d->id, c->readers, c->nreaders) == 0 ? 0 : OA_E_STORAGE;
}

static int fx_read_receipt(struct act *c)
{
    return oa_part_set(c->s, c->d->id, "reader", c->eff->id, "read") == 0 ? 0 : OA_E_STORAGE;
}

static int fx_chase(struct act *c)
{
    if (oa_chase_add(c->s, c->d->id, c->target, c->me->id, c->a->opinion ? c->a->opinion : "") != 0)
        return OA_E_STORAGE;
    snprintf(c->detail, sizeof(c->detail), "chased %s", c->target_name);
    return 0;
}

static int fx_link_reply(struct act *c)
{
    struct oa_doc reply;
    if (oa_doc_load(c->s, c->reply_id, &reply) != 1)
        return OA_E_STORAGE;
    reply.source_id = c->d->id;
    c->d->reply_id = c->reply_id;
    int rc = oa_doc_save(c->s, &reply, c->me->id, 0, NULL);
    oa_doc_free(&reply);
    return rc == 0 ? 0 : OA_E_STORAGE;
}

/* A public request's effects (version 2) are app/request.c's; these run them for this action. */
static int request_fx(struct act *c, int (*fx)(struct oa_request_fx *))
{
    struct oa_request_fx x = {c->s, c->by, c->eff, c->d, c->a->params, c->a->opinion, c->facts.extend_days,
                              c->reply_id, c->detail, sizeof(c->detail), NULL};
    int rc = fx(&x);
    return rc == 0 ? 0 : undo(c, (enum oa_err)rc, x.message);
}

static int fx_register_request(struct act *c)
{
    return request_fx(c, oa_request_fx_register);
}

static int fx_refuse_request(struct act *c)
{
    return request_fx(c, oa_request_fx_refuse);
}

static int fx_ask_correction(struct act *c)
{
    return request_fx(c, oa_request_fx_ask_correction);
}

static int fx_consult(struct act *c)
{
    return request_fx(c, oa_request_fx_consult);
}

static int fx_consult_done(struct act *c)
{
    return request_fx(c, oa_request_fx_consult_done);
}

static int fx_extend_clock(struct act *c)
{
    return request_fx(c, oa_request_fx_extend);
}

static int fx_secrecy_review(struct act *c)
{
    return request_fx(c, oa_request_fx_secrecy_review);
}

static int fx_reply_request(struct act *c)
{
    return request_fx(c, oa_request_fx_reply);
}

/*
 * Each effect and the function that performs it, in the order they run
 * (an objection is recorded before the round ends, the round ends before
 * a new one starts).  Every OA_FX_* bit has exactly one entry.
 */
static const struct {
    unsigned effect;
    int (*apply)(struct act *c); /* 0, or an OA_E_* code: roll back */
} effects[] = {
    {OA_FX_COUNTERSIGN_OBJECT, fx_countersign_object},
    {OA_FX_COUNTERSIGN_VOTE, fx_countersign_vote},
    {OA_FX_END_ROUND, fx_end_round},
    {OA_FX_NAME_COUNTERSIGNERS, fx_name_countersigners},
    {OA_FX_SET_SIGNER, fx_set_signer},
    {OA_FX_ALLOCATE_NUMBER, fx_allocate_number},
    {OA_FX_VOID_NUMBER, fx_void_number},
    {OA_FX_DISTRIBUTE, fx_distribute},
    {OA_FX_SET_DUE_REQUEST, fx_set_due_request},
    {OA_FX_EXTEND_DUE, fx_extend_due},
    {OA_FX_SET_ASSIGNEE, fx_set_assignee},
    {OA_FX_SET_LEAD_DEPT, fx_set_lead_dept},
    {OA_FX_CIRCULATE, fx_circulate},
    {OA_FX_READ_RECEIPT, fx_read_receipt},
    {OA_FX_CHASE, fx_chase},
    {OA_FX_LINK_REPLY, fx_link_reply},
    {OA_FX_REGISTER_REQUEST, fx_register_request},
    {OA_FX_REFUSE_REQUEST, fx_refuse_request},
    {OA_FX_ASK_CORRECTION, fx_ask_correction},
    {OA_FX_CONSULT, fx_consult},
    {OA_FX_CONSULT_DONE, fx_consult_done},
    {OA_FX_EXTEND_CLOCK, fx_extend_clock},
    {OA_FX_SECRECY_REVIEW, fx_secrecy_review},
    {OA_FX_REPLY_REQUEST, fx_reply_request},
};

static int apply_effects(struct act *c, unsigned bits)
{
    unsigned known = 0;
    for (size_t i = 0; i < sizeof(effects) / sizeof(effects[0]); i++)
        known |= effects[i].effect;
    if (bits & ~known)
        return undo(c, OA_E_INTERNAL, "This server cannot perform an effect its lifecycle tables name.");
    for (size_t i = 0; i < sizeof(effects) / sizeof(effects[0]); i++) {
        if (!(bits & effects[i].effect))
            continue;
        int rc = effects[i].apply(c);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- the facts ---- */

/* What the acting person is to this document. */
static int actor_of(struct act *c, struct oa_doc_actor *actor, int *cs_pending)
{
    const struct oa_user *eff = c->eff;
    const struct oa_doc *d = c->d;
    bool is_cs = false, is_reader = false;
    actor->roles = eff->roles;
    actor->relations = 0;
    if (oa_part_facts(c->s, d->id, eff->id, cs_pending, &is_cs, &is_reader) != 0)
        return -1;
    if (d->drafter_id == eff->id)
        actor->relations |= OA_REL_DRAFTER;
    if (is_cs)
        actor->relations |= OA_REL_COUNTERSIGNER;
    if (is_reader)
        actor->relations |= OA_REL_READER;
    if (d->assignee_id == eff->id)
        actor->relations |= OA_REL_ASSIGNEE;
    if (d->lead_department_id > 0 && eff->department_id == d->lead_department_id)
        actor->relations |= OA_REL_LEAD_DEPT;
    return 0;
}

/*
 * The facts the guards look at, from the params (names resolved to ids).
 * Returns 0, 1 when the params are refused (the outcome set), -1 storage.
 */
static int facts_of(struct act *c, int cs_pending)
{
    const cbor_item_t *p = c->a->params;
    struct oa_doc_facts *f = &c->facts;
    const char *bad = NULL;
    int rc;
    c->cs_given = pv_get(p, "countersigners") != NULL;
    if ((rc = names_to_ids(c->s, p, "countersigners", c->cs, &c->ncs, &bad)) != 0 ||
        (rc = names_to_ids(c->s, p, "readers", c->readers, &c->nreaders, &bad)) != 0) {
        if (rc == -2)
            return -1;
        oa_app_refuse(&c->out->outcome, OA_E_BAD_FIELD,
                      bad ? "A name in the params is not a user." : "params lists must hold usernames.");
        return 1;
    }
    f->countersign_pending = cs_pending;
    f->countersign_named = c->cs_given ? c->ncs : cs_pending;
    f->has_opinion = c->a->opinion != NULL && c->a->opinion[0] != '\0';
    f->extended = c->d->extended;
    f->extend_days = (int)param_int(p, "days");
    c->lead = param_int(p, "lead_department_id");
    f->has_lead_dept = c->lead > 0 && oa_department_exists(c->s, c->lead);
    f->has_readers = c->nreaders > 0;
    f->has_prefix = param_text(p, "prefix", c->prefix, sizeof(c->prefix)) != NULL;
    char assignee_name[OA_USERNAME_MAX + 1];
    if (param_text(p, "target", c->target_name, sizeof(c->target_name)) != NULL)
        c->target = oa_user_id_by_name(c->s, c->target_name);
    f->has_target = c->target > 0;
    if (param_text(p, "assignee", assignee_name, sizeof(assignee_name)) != NULL)
        c->assignee = oa_user_id_by_name(c->s, assignee_name);
    f->has_assignee = c->assignee > 0;
    f->has_recipients = pv_get(p, "to_departments") != NULL;
    c->reply_id = param_int(p, "reply_document_id");
    if (strcmp(c->d->kind, "request") == 0 &&
        oa_request_reply_facts(c->s, c->d, p, c->reply_id, &f->reply_form_ok, &f->reply_is_outgoing,
                               &f->reply_exportable) != 0)
        return -1;
    if (c->reply_id > 0) {
        struct oa_doc reply;
        rc = oa_doc_load(c->s, c->reply_id, &reply);
        if (rc < 0)
            return -1;
        f->reply_is_public_outgoing = rc == 1 && strcmp(reply.kind, "outgoing") == 0 && reply.level == OA_LEVEL_PUBLIC;
        if (rc == 1)
            oa_doc_free(&reply);
    }
    return 0;
}

/* A refusal kept in the audit trail: the transaction commits. */
static int refuse(struct act *c, enum oa_err e, const char *message, const char *on_behalf)
{
    if (oa_app_audit_doc(c->s, c->by, "document.action", c->d, c->d->state, NULL, on_behalf, "refused", message) != 0)
        return OA_E_STORAGE;
    oa_app_refuse(&c->out->outcome, e, message);
    return 0;
}

static enum oa_err refusal_code(enum oa_flow_result res, const struct oa_flow_answer *ans)
{
    switch (res) {
    case OA_FLOW_NOT_ALLOWED: return OA_E_FORBIDDEN;
    case OA_FLOW_BAD_STATE:
    case OA_FLOW_BAD_VERSION: return OA_E_CONFLICT;
    case OA_FLOW_GUARD: return ans->forbidden ? OA_E_FORBIDDEN : ans->conflict ? OA_E_CONFLICT : OA_E_BAD_FIELD;
    default: return OA_E_BAD_FIELD;
    }
}

/* ---- the use case ---- */

static int act(struct act *c)
{
    struct oa_doc *d = c->d;
    const char *behalf = c->eff->id != c->me->id ? c->eff->username : NULL;
    int rc;

    struct oa_doc_actor actor;
    int cs_pending = 0;
    if (actor_of(c, &actor, &cs_pending) != 0)
        return OA_E_STORAGE;
    rc = facts_of(c, cs_pending);
    if (rc != 0)
        return rc < 0 ? OA_E_STORAGE : 0;

    struct oa_flow_answer ans;
    enum oa_flow_result res = oa_flow_step((enum oa_doc_kind)oa_kind_parse(d->kind), d->def_version, d->state,
                                           c->a->action, &actor, &c->facts, &ans);
    if (res != OA_FLOW_OK)
        return refuse(c, refusal_code(res, &ans), ans.reason, behalf);

    char from[32];
    snprintf(from, sizeof(from), "%s", d->state);
    /* ans.next_state may point into d->state itself; `next` is the copy. */
    char next[32];
    snprintf(next, sizeof(next), "%s", ans.next_state);
    rc = apply_effects(c, ans.effects);
    if (rc != 0)
        return rc;

    bool moved = strcmp(from, next) != 0;
    memcpy(d->state, next, sizeof(next));
    if (moved)
        oa_doc_set_step_due(c->s, d);
    if (oa_doc_save(c->s, d, c->me->id, 0, NULL) != 0 || oa_doc_update_queue(c->s, d) != 0)
        return OA_E_STORAGE;
    int64_t step = oa_doc_step(c->s, d->id, c->a->action, from, d->state, c->me->id,
                               c->eff->id != c->me->id ? c->eff->id : 0, c->a->opinion, c->detail);
    char event[64];
    snprintf(event, sizeof(event), "document.%s", c->a->action);
    if (step < 0 || oa_app_audit_doc(c->s, c->by, event, d, from, d->state, behalf, "ok",
                                     c->detail[0] ? c->detail : NULL) != 0)
        return OA_E_STORAGE;
    c->out->step_id = step;
    return 0;
}

enum oa_app_end oa_doc_act(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me,
                           const struct oa_doc_action *a, struct oa_doc_action_result *out)
{
    memset(out, 0, sizeof(*out));
    struct act *c = oa_xcalloc(1, sizeof(*c));
    struct oa_user other;
    c->s = s;
    c->by = by;
    c->me = c->eff = me;
    c->a = a;
    c->d = &out->doc;
    c->out = out;

    int rc = oa_doc_load(s, a->doc_id, c->d);
    if (rc <= 0)
        goto not_found;
    if ((rc = oa_doc_gate_read(s, by, me, c->d, "document.action")) <= 0)
        goto not_found;
    /* A filed record never changes (#16). */
    {
        enum oa_err err = OA_E_OK;
        const char *message = NULL;
        if ((rc = oa_rec_guard_write(s, by, c->d, "document.action", &err, &message)) != 0) {
            if (rc > 0)
                oa_app_refuse(&out->outcome, err, message);
            rc = rc < 0 ? OA_E_STORAGE : 0;
            goto done;
        }
    }

    /* Acting for someone else needs their active delegation to me. */
    if (a->on_behalf != NULL) {
        rc = oa_user_by_name(s, a->on_behalf, &other);
        if (rc < 0) {
            rc = OA_E_STORAGE;
            goto done;
        }
        if (rc == 0 || !delegation_active(s, other.id, me->id)) {
            rc = oa_app_audit_doc(s, by, "document.action", c->d, c->d->state, NULL, a->on_behalf, "refused",
                                  "no active delegation") != 0 ? OA_E_STORAGE : 0;
            oa_app_refuse(&out->outcome, OA_E_FORBIDDEN, "You hold no active delegation from that person.");
            goto done;
        }
        c->eff = &other;
        if ((rc = oa_doc_gate_read(s, by, &other, c->d, "document.action")) <= 0)
            goto not_found;
    }
    rc = act(c);
    goto done;

not_found:
    /* Missing, or not this reader's to see (the gate audited that): the same answer. */
    if (rc == 0)
        oa_app_refuse(&out->outcome, OA_E_NOT_FOUND, "No such document.");
    rc = rc < 0 ? OA_E_STORAGE : 0;
done:
    if (rc != 0 && out->outcome.end != OA_APP_UNDONE)
        oa_app_undo(&out->outcome, (enum oa_err)rc, NULL);
    if (out->outcome.end != OA_APP_DONE)
        oa_doc_free(&out->doc);
    free(c);
    return out->outcome.end;
}
