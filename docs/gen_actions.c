/*
 * docs/gen_actions.c: prints the action reference of the document
 * lifecycles (docs/actions.md) as markdown, from the tables in
 * workflow/flow_*.c (one file per kind), through workflow's public API only.
 *
 *   bazel run //docs:gen_actions > docs/actions.md
 *
 * The tables say which states and actions exist, where each action leads,
 * who may take it, its guard and its effects.  What the server reads from
 * `params` for each effect is described here (from app/doc_action.c, one
 * function per effect), keyed by the public effect bits; a table entry this program
 * has no words for (a new effect bit, relationship bit, kind or guard
 * requirement) stops it with exit status 1, so a change to the tables
 * cannot pass //docs:actions_doc_test without a change here too.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workflow/access.h"
#include "workflow/docflow.h"

static void fail(const char *what, unsigned long value)
{
    fprintf(stderr, "gen_actions: %s (0x%lx) has no description: add it to docs/gen_actions.c\n", what, value);
    exit(1);
}

/* ---- words for the public names the tables use ---- */

static const struct {
    unsigned bit;
    const char *name, *meaning;
} relations[] = {
    {OA_REL_DRAFTER, "drafter", "wrote the document (the drafter's delegate acts as the drafter)"},
    {OA_REL_COUNTERSIGNER, "countersigner", "named to countersign in the current round, and has not acted yet"},
    {OA_REL_ASSIGNEE, "assignee", "the handler a public request is assigned to"},
    {OA_REL_LEAD_DEPT, "lead_dept", "a member of the lead department handling the document"},
    {OA_REL_READER, "reader", "named to read it in circulation (传阅), and has not read it yet"},
};

/* What the server reads from the action's request, by name. */
struct param {
    const char *name, *type, *meaning;
};
static const struct param params[] = {
    {"opinion", "text, 0 to 4000 bytes (a top-level field, not in params)",
     "the written opinion (意见) stored with the step; also the reason of a voided number and the note of a chase"},
    {"params.countersigners", "list of at most 64 usernames",
     "who countersigns (会签); given, it starts a new round with exactly these people (an empty list: none)"},
    {"params.prefix", "text, 1 to 63 bytes", "the document-number prefix, e.g. 府办发; the number is PREFIX〔YEAR〕N号"},
    {"params.to_departments", "list of at most 64 department ids", "departments that receive an incoming copy"},
    {"params.to_organs", "list of at most 64 organ ids", "organs that receive an incoming copy"},
    {"params.received_on", "date, YYYY-MM-DD", "the day the request was received; default: today"},
    {"params.days", "integer, 1 to 20", "working days to add to the reply deadline"},
    {"params.assignee", "username", "the handler of the request"},
    {"params.lead_department_id", "department id (must exist)", "the lead department (主办)"},
    {"params.readers", "list of 1 to 64 usernames", "who reads the document in circulation"},
    {"params.target", "username", "whom the chase (催办) is for"},
    {"params.reply_document_id", "document id", "the reply: an outgoing document labelled 公开"},
    {"params.form", "text", "the reply's form (第36条): public, partial, not_disclosed, not_exist, not_ours, repeated, "
     "other_law"},
    {"params.reason", "text, 1 to 511 bytes", "why (第36条): required with partial, not_disclosed, not_ours, other_law"},
    {"params.responsible_organ", "text, 1 to 255 bytes", "the organ responsible, with not_ours, when known"},
    {"params.since", "date, YYYY-MM-DD, between receipt and today", "the day the consultation letter went out"},
};

static const struct param *param_named(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
        if (strlen(params[i].name) == len && strncmp(params[i].name, name, len) == 0)
            return &params[i];
    return NULL;
}

/* Each effect: what the server does when the action is taken, and the params it reads for it. */
static const struct {
    unsigned bit;
    const char *does;
    const char *reads[3];
} effects[] = {
    {OA_FX_ALLOCATE_NUMBER, "allocates the document number (发文字号) for the organ, prefix and year",
     {"params.prefix"}},
    {OA_FX_VOID_NUMBER, "voids the allocated number (recorded with the opinion as its reason, never reused)",
     {"opinion"}},
    {OA_FX_DISTRIBUTE, "creates an incoming copy, with the same label, for each named department and organ",
     {"params.to_departments", "params.to_organs"}},
    {OA_FX_NAME_COUNTERSIGNERS, "starts a new countersign round when params.countersigners is given",
     {"params.countersigners"}},
    {OA_FX_COUNTERSIGN_VOTE, "records this countersigner's approval", {NULL}},
    {OA_FX_SET_DUE_REQUEST, "sets the reply deadline: 20 working days after the day received",
     {"params.received_on"}},
    {OA_FX_EXTEND_DUE, "moves the reply deadline params.days working days later and marks the request extended",
     {"params.days"}},
    {OA_FX_SET_ASSIGNEE, "makes params.assignee the handler", {"params.assignee"}},
    {OA_FX_SET_LEAD_DEPT, "makes params.lead_department_id the lead department", {"params.lead_department_id"}},
    {OA_FX_CIRCULATE, "adds params.readers as readers", {"params.readers"}},
    {OA_FX_READ_RECEIPT, "records that this reader has read it", {NULL}},
    {OA_FX_CHASE, "records a chase for params.target, with the opinion as its note", {"params.target", "opinion"}},
    {OA_FX_LINK_REPLY, "links the reply document to this request, and the request to the reply",
     {"params.reply_document_id"}},
    {OA_FX_SET_SIGNER, "sets the signer (签发人) to the acting person's display name", {NULL}},
    {OA_FX_COUNTERSIGN_OBJECT, "records this countersigner's objection", {NULL}},
    {OA_FX_END_ROUND, "ends the countersign round: whoever has not acted yet is no longer asked", {NULL}},
    {OA_FX_REGISTER_REQUEST, "sets the deadline on the request's clock: 20 working days after receipt (the "
     "portal's confirmation day, or params.received_on); a receipt (回执) goes out",
     {"params.received_on"}},
    {OA_FX_REFUSE_REQUEST, "sends a refusal receipt (回退) with the opinion as its reason", {"opinion"}},
    {OA_FX_ASK_CORRECTION, "asks for a correction (补正), once, within 7 working days of receipt; the clock "
     "stops until the corrected application arrives", {"opinion"}},
    {OA_FX_CONSULT, "pauses the clock for a third-party consultation (第32条) from params.since (default today)",
     {"params.since"}},
    {OA_FX_CONSULT_DONE, "ends the consultation: its working days are not counted", {NULL}},
    {OA_FX_EXTEND_CLOCK, "gives the clock params.days more working days and marks the request extended",
     {"params.days"}},
    {OA_FX_SECRECY_REVIEW, "records the secrecy review (保密审查) with the opinion", {"opinion"}},
    {OA_FX_REPLY_REQUEST, "records the reply's form (第36条), links the reply document and puts it in the "
     "gateway's outbox", {"params.reply_document_id", "params.form", "params.reason"}},
};

/* ---- helpers ---- */

/* Appends to a fixed buffer; the cells are short, and a longer one is a bug here. */
static void cat(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    if (n + strlen(s) >= cap) {
        fprintf(stderr, "gen_actions: a table cell is longer than %zu bytes\n", cap);
        exit(1);
    }
    memcpy(buf + n, s, strlen(s) + 1);
}

static void sep(char *buf, size_t cap, const char *s)
{
    if (buf[0] != '\0')
        cat(buf, cap, s);
}

/* "roles `a`, `b`; relationships `c`" for role and relationship bits. */
static void who(unsigned roles, unsigned rels, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (roles & ~OA_ROLES_ALL)
        fail("role bits", roles & ~OA_ROLES_ALL);
    for (unsigned b = 1; b <= OA_ROLES_ALL; b <<= 1)
        if (roles & b) {
            sep(buf, cap, ", ");
            cat(buf, cap, "`");
            cat(buf, cap, oa_role_name(b));
            cat(buf, cap, "`");
        }
    unsigned known = 0;
    for (size_t i = 0; i < sizeof(relations) / sizeof(relations[0]); i++) {
        known |= relations[i].bit;
        if (rels & relations[i].bit) {
            sep(buf, cap, ", ");
            cat(buf, cap, "*");
            cat(buf, cap, relations[i].name);
            cat(buf, cap, "*");
        }
    }
    if (rels & ~known)
        fail("relationship bits", rels & ~known);
    if (buf[0] == '\0')
        cat(buf, cap, "nobody");
}

static bool needs(const struct oa_flow_rule_info *info, const char *name)
{
    const char *p = info->guard_needs;
    size_t n = strlen(name);
    while (p != NULL && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

/* The request fields a rule reads: what its guard needs first, then what its effects read. */
static void rule_params(const struct oa_flow_rule_info *info, char *buf, size_t cap)
{
    const char *names[16];
    size_t n = 0;
    const char *p = info->guard_needs;
    while (p != NULL && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const struct param *pr = param_named(p, len);
        if (pr == NULL) {
            fprintf(stderr, "gen_actions: the guard requirement '%.*s' has no description: add it to docs/gen_actions.c\n",
                    (int)len, p);
            exit(1);
        }
        names[n++] = pr->name;
        p = comma ? comma + 1 : NULL;
    }
    for (size_t i = 0; i < sizeof(effects) / sizeof(effects[0]); i++)
        for (size_t k = 0; k < 3 && (info->effects & effects[i].bit) && effects[i].reads[k]; k++) {
            bool seen = false;
            for (size_t j = 0; j < n; j++)
                seen = seen || strcmp(names[j], effects[i].reads[k]) == 0;
            if (!seen && n < sizeof(names) / sizeof(names[0]))
                names[n++] = effects[i].reads[k];
        }
    buf[0] = '\0';
    for (size_t j = 0; j < n; j++) {
        sep(buf, cap, ", ");
        cat(buf, cap, "`");
        cat(buf, cap, names[j]);
        cat(buf, cap, needs(info, names[j]) ? "` (required)" : "`");
    }
    if (buf[0] == '\0')
        cat(buf, cap, "—");
}

static void rule_effects(const struct oa_flow_rule_info *info, char *buf, size_t cap)
{
    buf[0] = '\0';
    unsigned known = 0;
    for (size_t i = 0; i < sizeof(effects) / sizeof(effects[0]); i++) {
        known |= effects[i].bit;
        if (info->effects & effects[i].bit) {
            sep(buf, cap, "; ");
            cat(buf, cap, effects[i].does);
        }
    }
    if (info->effects & ~known)
        fail("effect bits", info->effects & ~known);
    if (buf[0] == '\0')
        cat(buf, cap, "—");
}

static void rule_next(const struct oa_flow_rule_info *info, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (info->next[0] == NULL) {
        cat(buf, cap, "(stays)");
        return;
    }
    cat(buf, cap, "`");
    cat(buf, cap, info->next[0]);
    cat(buf, cap, "`");
    if (info->next[1] != NULL) {
        cat(buf, cap, " or `");
        cat(buf, cap, info->next[1]);
        cat(buf, cap, "`: ");
        cat(buf, cap, info->branch);
    }
}

static void rule_guard(const struct oa_flow_rule_info *info, char *buf, size_t cap)
{
    buf[0] = '\0';
    cat(buf, cap, info->guard ? info->guard : "—");
}

static void print_row(const struct oa_flow_rule *r)
{
    struct oa_flow_rule_info info;
    char next[512], whom[256], guard[256], prm[512], fx[1024];
    oa_flow_rule_describe(r, &info);
    rule_next(&info, next, sizeof(next));
    who(r->roles, r->relations, whom, sizeof(whom));
    rule_guard(&info, guard, sizeof(guard));
    rule_params(&info, prm, sizeof(prm));
    rule_effects(&info, fx, sizeof(fx));
    printf("| `%s`%s | %s | %s | %s | %s | %s |\n", r->action, info.primary ? " ▶" : "", next, whom, guard, prm,
           fx);
}

static void print_table_head(void)
{
    printf("| Action | Next state | Who may act | Guard (refusal when it does not hold) | Reads | Effects |\n");
    printf("| --- | --- | --- | --- | --- | --- |\n");
}

static void print_kind(enum oa_doc_kind kind, int version)
{
    int nrules = 0, nstates = 0;
    const struct oa_flow_rule *rules = oa_flow_rules(kind, version, &nrules);
    const char *const *states = oa_flow_states(kind, version, &nstates);
    const char *zh = oa_kind_title(kind);
    if (zh == NULL)
        fail("document kind", (unsigned long)kind);
    printf("## `%s` (%s), definition version %d\n\n", oa_kind_name(kind), zh, version);
    printf("A new document starts in `%s`. Terminal states (nothing more happens):", oa_flow_initial(kind));
    int nterm = 0;
    for (int i = 0; i < nstates; i++)
        if (oa_flow_terminal(kind, version, states[i]))
            printf("%s `%s`", nterm++ ? "," : "", states[i]);
    printf(".\n\n");

    for (int i = 0; i < nstates; i++) {
        const char *st = states[i];
        bool terminal = oa_flow_terminal(kind, version, st);
        printf("### `%s`%s\n\n", st, terminal ? " (terminal)" : strcmp(st, oa_flow_initial(kind)) == 0 ? " (initial)" : "");
        if (terminal) {
            printf("No action is taken in this state.\n\n");
            continue;
        }
        unsigned roles = 0, rels = 0;
        char whom[256];
        oa_flow_expected(kind, version, st, &roles, &rels);
        who(roles, rels, whom, sizeof(whom));
        printf("To-do list: %s.\n\n", whom);
        print_table_head();
        for (int k = 0; k < nrules; k++)
            if (strcmp(rules[k].state, st) == 0)
                print_row(&rules[k]);
        printf("\n");
    }
    bool any = false;
    for (int k = 0; k < nrules; k++)
        if (strcmp(rules[k].state, "*") == 0) {
            if (!any) {
                printf("### In every state that is not terminal\n\n");
                printf("Where a state's own table above names the same action, the rule listed first in\n"
                       "`workflow/docflow.c` applies (oa_flow_step takes the first match).\n\n");
                print_table_head();
                any = true;
            }
            print_row(&rules[k]);
        }
    if (any)
        printf("\n");
}

int main(void)
{
    printf("# Actions of the document lifecycles\n\n");
    printf("<!-- Generated by `bazel run //docs:gen_actions > docs/actions.md` from workflow/docflow.c;\n"
           "     do not edit: //docs:actions_doc_test fails when this file and the tables differ. -->\n\n");
    printf("Generated from the lifecycle tables in `workflow/docflow.c` (`oa_flow_rules`, `oa_flow_states`,\n"
           "`oa_flow_rule_describe`). An action is taken with `POST /v1/documents/{id}/actions`\n"
           "`{action, opinion, params, on_behalf_of}` and an `Idempotency-Key` header; the request, the answer\n"
           "and the error codes are in [API.md](API.md#post-v1documentsidactions).\n\n");
    printf("How to read the tables:\n\n");
    printf("- **Who may act**: anyone holding one of the `roles`, or having one of the *relationships* to the\n"
           "  document. With `on_behalf_of`, the roles and relationships are those of the person who delegated\n"
           "  (an active delegation from them to the caller is required).\n");
    printf("- **▶** marks the forward action of a state: the people who may take it make up the state's to-do\n"
           "  list (`GET /v1/documents?view=todo`).\n");
    printf("- **Next state** \"(stays)\": the document stays in the state it is in; the step is still recorded.\n");
    printf("- **Guard**: a precondition over the request and the document; when it does not hold the action is\n"
           "  refused with this sentence as the error message.\n");
    printf("- **Reads**: the request fields the action uses; \"(required)\" when its guard needs it.\n");
    printf("- `edit` is the rule `PATCH /v1/documents/{id}` asks before it changes fields (and, after sign-off,\n"
           "  the state it leads to); taken through `/actions` it changes no field.\n\n");

    printf("## Relationships\n\n");
    for (size_t i = 0; i < sizeof(relations) / sizeof(relations[0]); i++)
        printf("- *%s*: %s.\n", relations[i].name, relations[i].meaning);
    printf("\n## Request fields actions read\n\n");
    printf("| Field | Type | Meaning |\n| --- | --- | --- |\n");
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
        printf("| `%s` | %s | %s |\n", params[i].name, params[i].type, params[i].meaning);
    printf("\n");

    for (int k = 0; k < OA_KIND__COUNT; k++)
        for (int v = 1; v <= oa_flow_version((enum oa_doc_kind)k); v++)
            print_kind((enum oa_doc_kind)k, v);
    return 0;
}
