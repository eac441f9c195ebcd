/*
 * workflow/docflow.c: the engine of the lifecycle tables: looks a kind's
 * table up by version, matches (state, action), checks who may act and the
 * guard, and answers the next state and the effects.  The tables are one
 * file per kind (flow_outgoing.c, flow_incoming.c, flow_request.c, joined
 * by docflow-int.h); what an effect does is app/doc_action.c's.  See
 * docflow.h.
 */
#include "workflow/docflow.h"

#include <stddef.h>
#include <string.h>

#include "workflow/deadline.h"
#include "workflow/docflow-int.h"

/* What each guard needs the request to carry (oa_flow_rule_describe). */
static const char *const guard_needs[G__COUNT] = {
    [G_OPINION] = "opinion",
    [G_PREFIX] = "params.prefix",
    [G_LEAD_DEPT] = "params.lead_department_id",
    [G_READERS] = "params.readers",
    [G_ASSIGNEE] = "params.assignee",
    [G_REPLY] = "params.reply_document_id",
    [G_EXTEND] = "opinion,params.days",
    [G_REPLY_EXPORT] = "params.reply_document_id,params.form",
    [G_TARGET] = "params.target",
};

static const char *const guard_reason[G__COUNT] = {
    [G_REPLY_EXPORT] = "Link the reply (outgoing) in params.reply_document_id; params.form is a form of 第36条; "
                       "partial, not_disclosed, not_ours, other_law need params.reason; responsible_organ "
                       "goes only with not_ours.",
    [G_OPINION] = "This action needs a written opinion (意见): say why.",
    [G_PREFIX] = "Name the document-number prefix in params.prefix, e.g. 府办发.",
    [G_LEAD_DEPT] = "Name the lead department in params.lead_department_id.",
    [G_READERS] = "Name the readers in params.readers.",
    [G_ASSIGNEE] = "Name the handler in params.assignee.",
    [G_REPLY] = "Link the reply in params.reply_document_id: an outgoing document labelled 公开.",
    [G_EXTEND] = "The deadline can be extended only once, by 1 to " OA_REQUEST_EXTEND_MAX_TEXT
                 " working days, with an opinion.",
    [G_TARGET] = "Name whom to chase in params.target.",
};

static const struct oa__flow_kind *const kinds[OA_KIND__COUNT] = {
#define OA_FLOW_KIND(e, name, title) [OA_KIND_##e] = &oa__flow_##name,
#include "workflow/flow_kinds.def"
#undef OA_FLOW_KIND
};

/* The branch a rule's `next` leads to, or NULL for a plain next state. */
static const struct oa__flow_branch *branch_of(const struct oa_flow_rule *r)
{
    if (r->next == NULL || r->next[0] != OA__FLOW_BRANCH_MARK)
        return NULL;
    return (const struct oa__flow_branch *)(const void *)(r->next - offsetof(struct oa__flow_branch, marker));
}

int oa_flow_version(enum oa_doc_kind kind)
{
    return (unsigned)kind < OA_KIND__COUNT ? kinds[kind]->nversions : 0;
}

static const struct oa__flow *flow_of(enum oa_doc_kind kind, int version)
{
    if ((unsigned)kind >= OA_KIND__COUNT || version < 1 || version > kinds[kind]->nversions)
        return NULL;
    return &kinds[kind]->versions[version - 1];
}

static bool is_terminal(const struct oa__flow *f, const char *state)
{
    for (const char *const *t = f->terminal; *t; t++)
        if (strcmp(*t, state) == 0)
            return true;
    return false;
}

static bool state_known(const struct oa__flow *f, const char *state)
{
    for (int i = 0; i < f->nstates; i++)
        if (strcmp(f->states[i], state) == 0)
            return true;
    return false;
}

static bool guard_holds(int g, const struct oa_doc_facts *x)
{
    switch (g) {
    case G_NONE: return true;
    case G_OPINION: return x->has_opinion;
    case G_PREFIX: return x->has_prefix;
    case G_LEAD_DEPT: return x->has_lead_dept;
    case G_READERS: return x->has_readers;
    case G_ASSIGNEE: return x->has_assignee;
    case G_REPLY: return x->reply_is_public_outgoing;
    case G_EXTEND:
        return !x->extended && x->extend_days >= 1 && x->extend_days <= OA_REQUEST_EXTEND_MAX && x->has_opinion;
    case G_TARGET: return x->has_target;
    case G_REPLY_EXPORT: return x->reply_form_ok && x->reply_is_outgoing && x->reply_exportable;
    }
    return false;
}

enum oa_flow_result oa_flow_step(enum oa_doc_kind kind, int def_version, const char *state, const char *action,
                                 const struct oa_doc_actor *actor, const struct oa_doc_facts *facts,
                                 struct oa_flow_answer *out)
{
    static const struct oa_doc_facts none;
    const struct oa__flow *f = flow_of(kind, def_version);
    memset(out, 0, sizeof(*out));
    if (facts == NULL)
        facts = &none;
    if (f == NULL || !state_known(f, state)) {
        out->reason = "This document's workflow definition is unknown to this server.";
        return OA_FLOW_BAD_VERSION;
    }
    bool action_known = false;
    const struct oa_flow_rule *rule = NULL;
    for (int i = 0; i < f->nrules; i++) {
        const struct oa_flow_rule *r = &f->rules[i];
        if (strcmp(r->action, action) != 0)
            continue;
        action_known = true;
        bool matches = strcmp(r->state, state) == 0 || (strcmp(r->state, "*") == 0 && !is_terminal(f, state));
        if (matches) {
            rule = r;
            break;
        }
    }
    if (!action_known) {
        out->reason = "No such action for this kind of document.";
        return OA_FLOW_UNKNOWN_ACTION;
    }
    if (rule == NULL) {
        out->reason = "The document's state does not allow this action.";
        return OA_FLOW_BAD_STATE;
    }
    if (actor == NULL || ((actor->roles & rule->roles) == 0 && (actor->relations & rule->relations) == 0)) {
        out->reason = "You are not the one to take this action on this document.";
        return OA_FLOW_NOT_ALLOWED;
    }
    if (!guard_holds(rule->guard, facts)) {
        out->reason = guard_reason[rule->guard];
        out->conflict = rule->guard == G_EXTEND && facts->extended;
        if (rule->guard == G_REPLY_EXPORT && facts->reply_form_ok && facts->reply_is_outgoing) {
            /* Complete, but it may not leave: oa_access_export refused it. */
            out->reason = "Only a reply labelled 公开 with no scope, after its secrecy review (保密审查, action "
                          "secrecy_review), may leave through the gateway.";
            out->forbidden = true;
        }
        return OA_FLOW_GUARD;
    }
    out->effects = rule->effects & ~PRIMARY;
    const struct oa__flow_branch *b = branch_of(rule);
    if (rule->next == NULL) {
        out->next_state = state;
    } else if (b != NULL) {
        int k = b->first(facts) ? 0 : 1;
        out->next_state = b->next[k];
        out->effects |= b->effects[k];
    } else {
        out->next_state = rule->next;
    }
    return OA_FLOW_OK;
}

const char *oa_flow_initial(enum oa_doc_kind kind)
{
    const struct oa__flow *f = flow_of(kind, oa_flow_version(kind));
    return f ? f->initial : NULL;
}

bool oa_flow_terminal(enum oa_doc_kind kind, int def_version, const char *state)
{
    const struct oa__flow *f = flow_of(kind, def_version);
    return f != NULL && is_terminal(f, state);
}

bool oa_flow_state_known(enum oa_doc_kind kind, int def_version, const char *state)
{
    const struct oa__flow *f = flow_of(kind, def_version);
    return f != NULL && state_known(f, state);
}

bool oa_flow_department_step(enum oa_doc_kind kind, int def_version, const char *state)
{
    const struct oa__flow *f = flow_of(kind, def_version);
    for (const char *const *t = f ? f->dept_states : NULL; t && *t; t++)
        if (strcmp(*t, state) == 0)
            return true;
    return false;
}

void oa_flow_expected(enum oa_doc_kind kind, int def_version, const char *state, unsigned *roles,
                      unsigned *relations)
{
    const struct oa__flow *f = flow_of(kind, def_version);
    *roles = *relations = 0;
    if (f == NULL)
        return;
    for (int i = 0; i < f->nrules; i++)
        if ((f->rules[i].effects & PRIMARY) && strcmp(f->rules[i].state, state) == 0) {
            *roles |= f->rules[i].roles;
            *relations |= f->rules[i].relations;
        }
}

static const char *const kind_names[OA_KIND__COUNT] = {
#define OA_FLOW_KIND(e, name, title) [OA_KIND_##e] = #name,
#include "workflow/flow_kinds.def"
#undef OA_FLOW_KIND
};
static const char *const kind_titles[OA_KIND__COUNT] = {
#define OA_FLOW_KIND(e, name, title) [OA_KIND_##e] = title,
#include "workflow/flow_kinds.def"
#undef OA_FLOW_KIND
};

const char *oa_kind_title(enum oa_doc_kind k)
{
    return (unsigned)k < OA_KIND__COUNT ? kind_titles[k] : NULL;
}

bool oa_flow_may_create(enum oa_doc_kind kind, unsigned roles)
{
    const struct oa__flow *f = flow_of(kind, oa_flow_version(kind));
    return f != NULL && (roles & f->creators) != 0;
}

const char *oa_kind_name(enum oa_doc_kind k)
{
    return (unsigned)k < OA_KIND__COUNT ? kind_names[k] : NULL;
}

int oa_kind_parse(const char *s)
{
    for (int i = 0; i < OA_KIND__COUNT; i++)
        if (strcmp(s, kind_names[i]) == 0)
            return i;
    return -1;
}

const struct oa_flow_rule *oa_flow_rules(enum oa_doc_kind kind, int def_version, int *count)
{
    const struct oa__flow *f = flow_of(kind, def_version);
    *count = f ? f->nrules : 0;
    return f ? f->rules : NULL;
}

const char *const *oa_flow_states(enum oa_doc_kind kind, int def_version, int *count)
{
    const struct oa__flow *f = flow_of(kind, def_version);
    *count = f ? f->nstates : 0;
    return f ? f->states : NULL;
}

void oa_flow_rule_describe(const struct oa_flow_rule *r, struct oa_flow_rule_info *out)
{
    memset(out, 0, sizeof(*out));
    const struct oa__flow_branch *b = branch_of(r);
    out->effects = r->effects & ~PRIMARY;
    if (b != NULL) {
        out->next[0] = b->next[0];
        out->next[1] = b->next[1];
        out->branch = b->sentence;
        out->effects |= b->effects[0] | b->effects[1];
    } else {
        out->next[0] = r->next;
    }
    out->primary = (r->effects & PRIMARY) != 0;
    if (r->guard > G_NONE && r->guard < G__COUNT) {
        out->guard = guard_reason[r->guard];
        out->guard_needs = guard_needs[r->guard];
    }
}
