/*
 * workflow/docflow.c: the lifecycle tables of outgoing documents (发文),
 * incoming documents (收文) and public information requests (依申请公开).
 * See docflow.h.
 */
#include "workflow/docflow.h"

#include <stddef.h>
#include <string.h>

#include "workflow/access.h"
#include "workflow/deadline.h"

#define ST OA_ROLE_STAFF
#define SEC OA_ROLE_SECRETARIAT
#define HEAD OA_ROLE_DEPT_HEAD
#define LEAD OA_ROLE_LEADER
#define REC OA_ROLE_RECORDS
#define GW OA_ROLE_GATEWAY
#define PEOPLE (ST | SEC | HEAD | LEAD | REC)

enum guard {
    G_NONE,
    G_OPINION,
    G_PREFIX,
    G_LEAD_DEPT,
    G_READERS,
    G_ASSIGNEE,
    G_REPLY,
    G_EXTEND,
    G_TARGET,
    G__COUNT
};

/* What each guard needs the request to carry (oa_flow_rule_describe). */
static const char *const guard_needs[G__COUNT] = {
    [G_OPINION] = "opinion",
    [G_PREFIX] = "params.prefix",
    [G_LEAD_DEPT] = "params.lead_department_id",
    [G_READERS] = "params.readers",
    [G_ASSIGNEE] = "params.assignee",
    [G_REPLY] = "params.reply_document_id",
    [G_EXTEND] = "opinion,params.days",
    [G_TARGET] = "params.target",
};

static const char *const guard_reason[G__COUNT] = {
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

/* Branches: a rule whose next state depends on the facts. */
#define NEXT_REVIEW "\x01"   /* countersign when countersigners are named, else signoff */
#define NEXT_CS_VOTE "\x02"  /* signoff after the last approval, else stay */
#define BRANCH_REVIEW "countersign when countersigners are named (facts.countersign_named > 0), else signoff."
#define BRANCH_CS_VOTE \
    "signoff when this is the last pending countersigner (facts.countersign_pending <= 1), else it stays in countersign."

#define PRIMARY 0x80000000u  /* in `effects`: the forward action that fills the to-do list */

static const struct oa_flow_rule outgoing_v1[] = {
    {"draft", "submit", "review", 0, OA_REL_DRAFTER, PRIMARY | OA_FX_NAME_COUNTERSIGNERS, G_NONE},
    {"draft", "edit", NULL, 0, OA_REL_DRAFTER, OA_FX_NONE, G_NONE},
    {"draft", "cancel", "cancelled", 0, OA_REL_DRAFTER, OA_FX_NONE, G_NONE},
    {"review", "approve", NEXT_REVIEW, SEC, 0, PRIMARY | OA_FX_NAME_COUNTERSIGNERS, G_NONE},
    {"review", "return", "draft", SEC, 0, OA_FX_NONE, G_OPINION},
    {"review", "withdraw", "draft", 0, OA_REL_DRAFTER, OA_FX_NONE, G_NONE},
    {"countersign", "approve", NEXT_CS_VOTE, 0, OA_REL_COUNTERSIGNER, PRIMARY | OA_FX_COUNTERSIGN_VOTE, G_NONE},
    {"countersign", "object", "draft", 0, OA_REL_COUNTERSIGNER, OA_FX_NONE, G_OPINION},
    {"countersign", "return", "draft", SEC, 0, OA_FX_NONE, G_OPINION},
    {"countersign", "withdraw", "draft", 0, OA_REL_DRAFTER, OA_FX_NONE, G_NONE},
    {"signoff", "sign", "register", LEAD, 0, PRIMARY | OA_FX_SET_SIGNER, G_NONE},
    {"signoff", "return", "draft", LEAD, 0, OA_FX_NONE, G_OPINION},
    {"signoff", "withdraw", "draft", 0, OA_REL_DRAFTER, OA_FX_NONE, G_NONE},
    /* A substantive change after sign-off goes back to the signer (复核). */
    {"register", "edit", "signoff", SEC, 0, OA_FX_NONE, G_OPINION},
    {"register", "register", "issue", SEC, 0, PRIMARY | OA_FX_ALLOCATE_NUMBER, G_PREFIX},
    {"issue", "edit", "signoff", SEC, 0, OA_FX_VOID_NUMBER, G_OPINION},
    {"issue", "void_number", "register", SEC, 0, OA_FX_VOID_NUMBER, G_OPINION},
    {"issue", "issue", "issued", SEC, 0, PRIMARY | OA_FX_DISTRIBUTE, G_NONE},
    {"issued", "archive", "archived", REC, 0, PRIMARY, G_NONE},
    {"issued", "revoke", "revoked", LEAD, 0, OA_FX_NONE, G_OPINION},
    {"*", "chase", NULL, SEC | LEAD, 0, OA_FX_CHASE, G_TARGET},
    {"*", "comment", NULL, PEOPLE, 0, OA_FX_NONE, G_OPINION},
};

static const char *const outgoing_states[] = {
    "draft", "review", "countersign", "signoff", "register", "issue", "issued", "archived", "revoked", "cancelled",
};

static const struct oa_flow_rule incoming_v1[] = {
    {"receiving", "sign_for", "registering", SEC, 0, PRIMARY, G_NONE},
    {"registering", "register", "first_check", SEC, 0, PRIMARY, G_NONE},
    {"first_check", "accept", "proposing", SEC, 0, PRIMARY, G_NONE},
    {"first_check", "send_back", "returned", SEC, 0, OA_FX_NONE, G_OPINION},
    {"proposing", "propose", "instructing", SEC | HEAD, 0, PRIMARY, G_OPINION},
    {"instructing", "instruct", "handling", LEAD, 0, PRIMARY | OA_FX_SET_LEAD_DEPT, G_LEAD_DEPT},
    {"handling", "complete", "completed", 0, OA_REL_LEAD_DEPT, PRIMARY, G_NONE},
    {"completed", "archive", "archived", REC, 0, PRIMARY, G_NONE},
    {"*", "circulate", NULL, SEC | LEAD, 0, OA_FX_CIRCULATE, G_READERS},
    {"*", "read", NULL, 0, OA_REL_READER, OA_FX_READ_RECEIPT, G_NONE},
    {"*", "chase", NULL, SEC | LEAD, 0, OA_FX_CHASE, G_TARGET},
    {"*", "comment", NULL, PEOPLE, 0, OA_FX_NONE, G_OPINION},
};

static const char *const incoming_states[] = {
    "receiving", "registering", "first_check", "proposing", "instructing", "handling", "completed", "archived",
    "returned",
};

static const struct oa_flow_rule request_v1[] = {
    {"imported", "register", "registered", SEC, 0, PRIMARY | OA_FX_SET_DUE_REQUEST, G_NONE},
    {"registered", "assign", "assigned", SEC, 0, PRIMARY | OA_FX_SET_ASSIGNEE, G_ASSIGNEE},
    {"assigned", "start", "handling", 0, OA_REL_ASSIGNEE, PRIMARY, G_NONE},
    {"handling", "reply", "replied", 0, OA_REL_ASSIGNEE, PRIMARY | OA_FX_LINK_REPLY, G_REPLY},
    {"registered", "extend", NULL, LEAD, 0, OA_FX_EXTEND_DUE, G_EXTEND},
    {"assigned", "extend", NULL, LEAD, 0, OA_FX_EXTEND_DUE, G_EXTEND},
    {"handling", "extend", NULL, LEAD, 0, OA_FX_EXTEND_DUE, G_EXTEND},
    {"replied", "archive", "archived", REC, 0, PRIMARY, G_NONE},
    {"*", "chase", NULL, SEC | LEAD, 0, OA_FX_CHASE, G_TARGET},
    {"*", "comment", NULL, PEOPLE, 0, OA_FX_NONE, G_OPINION},
};

static const char *const request_states[] = {
    "imported", "registered", "assigned", "handling", "replied", "archived",
};

struct flow {
    const struct oa_flow_rule *rules;
    int nrules;
    const char *const *states;
    int nstates;
    const char *initial;
    const char *const *terminal; /* NULL-terminated */
    unsigned creators;           /* roles that may create a document of this kind */
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
static const char *const outgoing_terminal[] = {"archived", "revoked", "cancelled", NULL};
static const char *const incoming_terminal[] = {"archived", "returned", NULL};
static const char *const request_terminal[] = {"archived", NULL};

/* Each kind's definitions, version 1 first; the last is the current one. */
static const struct flow outgoing_flows[] = {
    {outgoing_v1, N(outgoing_v1), outgoing_states, N(outgoing_states), "draft", outgoing_terminal,
     ST | SEC | HEAD | LEAD},
};
static const struct flow incoming_flows[] = {
    {incoming_v1, N(incoming_v1), incoming_states, N(incoming_states), "receiving", incoming_terminal, SEC},
};
static const struct flow request_flows[] = {
    {request_v1, N(request_v1), request_states, N(request_states), "imported", request_terminal, GW | SEC},
};

static const struct {
    const struct flow *versions;
    int nversions;
} kinds[OA_KIND__COUNT] = {
    [OA_KIND_OUTGOING] = {outgoing_flows, N(outgoing_flows)},
    [OA_KIND_INCOMING] = {incoming_flows, N(incoming_flows)},
    [OA_KIND_REQUEST] = {request_flows, N(request_flows)},
};

int oa_flow_version(enum oa_doc_kind kind)
{
    return (unsigned)kind < OA_KIND__COUNT ? kinds[kind].nversions : 0;
}

static const struct flow *flow_of(enum oa_doc_kind kind, int version)
{
    if ((unsigned)kind >= OA_KIND__COUNT || version < 1 || version > kinds[kind].nversions)
        return NULL;
    return &kinds[kind].versions[version - 1];
}

static bool is_terminal(const struct flow *f, const char *state)
{
    for (const char *const *t = f->terminal; *t; t++)
        if (strcmp(*t, state) == 0)
            return true;
    return false;
}

static bool state_known(const struct flow *f, const char *state)
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
    }
    return false;
}

enum oa_flow_result oa_flow_step(enum oa_doc_kind kind, int def_version, const char *state, const char *action,
                                 const struct oa_doc_actor *actor, const struct oa_doc_facts *facts,
                                 struct oa_flow_answer *out)
{
    static const struct oa_doc_facts none;
    const struct flow *f = flow_of(kind, def_version);
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
        return OA_FLOW_GUARD;
    }
    out->effects = rule->effects & ~PRIMARY;
    if (rule->next == NULL)
        out->next_state = state;
    else if (strcmp(rule->next, NEXT_REVIEW) == 0)
        out->next_state = facts->countersign_named > 0 ? "countersign" : "signoff";
    else if (strcmp(rule->next, NEXT_CS_VOTE) == 0)
        out->next_state = facts->countersign_pending <= 1 ? "signoff" : "countersign";
    else
        out->next_state = rule->next;
    return OA_FLOW_OK;
}

const char *oa_flow_initial(enum oa_doc_kind kind)
{
    const struct flow *f = flow_of(kind, oa_flow_version(kind));
    return f ? f->initial : NULL;
}

bool oa_flow_terminal(enum oa_doc_kind kind, int def_version, const char *state)
{
    const struct flow *f = flow_of(kind, def_version);
    return f != NULL && is_terminal(f, state);
}

bool oa_flow_state_known(enum oa_doc_kind kind, int def_version, const char *state)
{
    const struct flow *f = flow_of(kind, def_version);
    return f != NULL && state_known(f, state);
}

void oa_flow_expected(enum oa_doc_kind kind, int def_version, const char *state, unsigned *roles,
                      unsigned *relations)
{
    const struct flow *f = flow_of(kind, def_version);
    *roles = *relations = 0;
    if (f == NULL)
        return;
    for (int i = 0; i < f->nrules; i++)
        if ((f->rules[i].effects & PRIMARY) && strcmp(f->rules[i].state, state) == 0) {
            *roles |= f->rules[i].roles;
            *relations |= f->rules[i].relations;
        }
}

static const char *const kind_names[OA_KIND__COUNT] = {"outgoing", "incoming", "request"};
static const char *const kind_titles[OA_KIND__COUNT] = {
    "发文, outgoing documents",
    "收文, incoming documents",
    "依申请公开, public information requests",
};

const char *oa_kind_title(enum oa_doc_kind k)
{
    return (unsigned)k < OA_KIND__COUNT ? kind_titles[k] : NULL;
}

bool oa_flow_may_create(enum oa_doc_kind kind, unsigned roles)
{
    const struct flow *f = flow_of(kind, oa_flow_version(kind));
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
    const struct flow *f = flow_of(kind, def_version);
    *count = f ? f->nrules : 0;
    return f ? f->rules : NULL;
}

const char *const *oa_flow_states(enum oa_doc_kind kind, int def_version, int *count)
{
    const struct flow *f = flow_of(kind, def_version);
    *count = f ? f->nstates : 0;
    return f ? f->states : NULL;
}

void oa_flow_rule_describe(const struct oa_flow_rule *r, struct oa_flow_rule_info *out)
{
    memset(out, 0, sizeof(*out));
    if (r->next != NULL && strcmp(r->next, NEXT_REVIEW) == 0) {
        out->next[0] = "countersign";
        out->next[1] = "signoff";
        out->branch = BRANCH_REVIEW;
    } else if (r->next != NULL && strcmp(r->next, NEXT_CS_VOTE) == 0) {
        out->next[0] = "signoff";
        out->next[1] = "countersign";
        out->branch = BRANCH_CS_VOTE;
    } else {
        out->next[0] = r->next;
    }
    out->effects = r->effects & ~PRIMARY;
    out->primary = (r->effects & PRIMARY) != 0;
    if (r->guard > G_NONE && r->guard < G__COUNT) {
        out->guard = guard_reason[r->guard];
        out->guard_needs = guard_needs[r->guard];
    }
}
