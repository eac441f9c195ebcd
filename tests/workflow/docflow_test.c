/*
 * tests/workflow/docflow_test.c: every action in every state by every role
 * and relationship, for the three document kinds, against a specification
 * written here independently of the tables in workflow/docflow.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "workflow/access.h"
#include "workflow/docflow.h"

/* "state action who next": who is a role or a relationship; '*' = every non-terminal state. */
static const char *const outgoing_spec[] = {
    "draft submit drafter review",       "draft edit drafter draft",
    "draft cancel drafter cancelled",    "review approve secretariat signoff",
    "review return secretariat draft",   "review withdraw drafter draft",
    "countersign approve countersigner signoff", "countersign object countersigner draft",
    "countersign return secretariat draft", "countersign withdraw drafter draft",
    "signoff sign leader register",      "signoff return leader draft",
    "signoff withdraw drafter draft",    "register edit secretariat signoff",
    "register register secretariat issue", "issue edit secretariat signoff",
    "issue void_number secretariat register", "issue issue secretariat issued",
    "issued archive records archived",   "issued revoke leader revoked",
    "* chase secretariat =",             "* chase leader =",
    "* comment staff =", "* comment secretariat =", "* comment dept_head =", "* comment leader =",
    "* comment records =",
};
static const char *const outgoing_terminal[] = {"archived", "revoked", "cancelled"};

static const char *const incoming_spec[] = {
    "receiving sign_for secretariat registering", "registering register secretariat first_check",
    "first_check accept secretariat proposing",   "first_check send_back secretariat returned",
    "proposing propose secretariat instructing",  "proposing propose dept_head instructing",
    "instructing instruct leader handling",       "handling complete lead_dept completed",
    "completed archive records archived",
    "* circulate secretariat =", "* circulate leader =", "* read reader =",
    "* chase secretariat =", "* chase leader =",
    "* comment staff =", "* comment secretariat =", "* comment dept_head =", "* comment leader =",
    "* comment records =",
};
static const char *const incoming_terminal[] = {"archived", "returned"};

/* Version 1 of requests (documents started under it keep it). */
static const char *const request_v1_spec[] = {
    "imported register secretariat registered", "registered assign secretariat assigned",
    "assigned start assignee handling",         "handling reply assignee replied",
    "registered extend leader =", "assigned extend leader =", "handling extend leader =",
    "replied archive records archived",
    "* chase secretariat =", "* chase leader =",
    "* comment staff =", "* comment secretariat =", "* comment dept_head =", "* comment leader =",
    "* comment records =",
};
static const char *const request_v1_terminal[] = {"archived"};

/* Version 2 (#15): receipts, 补正, consultation, secrecy review, the reply's form and its export. */
static const char *const request_spec[] = {
    "imported register secretariat registered", "imported refuse secretariat refused",
    "registered assign secretariat assigned",   "assigned start assignee handling",
    "registered request_correction secretariat correcting",
    "assigned request_correction secretariat correcting", "assigned request_correction assignee correcting",
    "handling request_correction secretariat correcting", "handling request_correction assignee correcting",
    "correcting close secretariat withdrawn",
    "handling consult assignee consulting",     "consulting consult_done assignee handling",
    "registered extend leader =", "assigned extend leader =", "handling extend leader =",
    "consulting extend leader =",
    "handling secrecy_review secretariat =",    "handling secrecy_review leader =",
    "handling reply assignee replied",          "replied archive records archived",
    "* chase secretariat =", "* chase leader =",
    "* comment staff =", "* comment secretariat =", "* comment dept_head =", "* comment leader =",
    "* comment records =",
};
static const char *const request_terminal[] = {"archived", "refused", "withdrawn"};

struct who {
    const char *name;
    unsigned roles, relations;
};

static const struct who everyone[] = {
    {"staff", OA_ROLE_STAFF, 0},        {"secretariat", OA_ROLE_SECRETARIAT, 0},
    {"dept_head", OA_ROLE_DEPT_HEAD, 0}, {"leader", OA_ROLE_LEADER, 0},
    {"records", OA_ROLE_RECORDS, 0},     {"gateway", OA_ROLE_GATEWAY, 0},
    {"sysadmin", OA_ROLE_SYSADMIN, 0},   {"secadmin", OA_ROLE_SECADMIN, 0},
    {"auditor", OA_ROLE_AUDITOR, 0},     {"drafter", 0, OA_REL_DRAFTER},
    {"countersigner", 0, OA_REL_COUNTERSIGNER}, {"assignee", 0, OA_REL_ASSIGNEE},
    {"lead_dept", 0, OA_REL_LEAD_DEPT},  {"reader", 0, OA_REL_READER},
};

/* Facts under which every guard holds and no branch is taken. */
static const struct oa_doc_facts all_good = {
    .countersign_pending = 1, .countersign_named = 0, .has_opinion = true, .extended = false,
    .extend_days = 10, .has_lead_dept = true, .has_readers = true, .has_prefix = true,
    .has_recipients = true, .has_assignee = true, .reply_is_public_outgoing = true, .has_target = true,
    .reply_form_ok = true, .reply_is_outgoing = true, .reply_exportable = true,
};

static bool terminal_in(const char *state, const char *const *t, size_t nt)
{
    for (size_t i = 0; i < nt; i++)
        if (strcmp(t[i], state) == 0)
            return true;
    return false;
}

/* Finds the spec's answer: 1 allowed (next in *next), 0 the state has the action for someone else, -1 none. */
static int spec_lookup(const char *const *spec, size_t n, const char *const *term, size_t nt, const char *state,
                       const char *action, const char *who, char *next)
{
    int found = -1;
    for (size_t i = 0; i < n; i++) {
        char s[32], a[32], w[32], nx[32];
        sscanf(spec[i], "%31s %31s %31s %31s", s, a, w, nx);
        bool state_ok = strcmp(s, state) == 0 || (strcmp(s, "*") == 0 && !terminal_in(state, term, nt));
        if (!state_ok || strcmp(a, action) != 0)
            continue;
        if (found < 0)
            found = 0;
        if (strcmp(w, who) == 0) {
            strcpy(next, strcmp(nx, "=") == 0 ? state : nx);
            return 1;
        }
    }
    return found;
}

static void check_kind(enum oa_doc_kind kind, int ver, const char *const *spec, size_t n, const char *const *term,
                       size_t nt)
{
    int nstates = 0;
    const char *const *states = oa_flow_states(kind, ver, &nstates);
    cr_assert(nstates > 0);
    int checked = 0;
    for (int si = 0; si < nstates; si++) {
        cr_assert_eq(oa_flow_terminal(kind, ver, states[si]), terminal_in(states[si], term, nt),
                     "terminal mismatch for %s", states[si]);
        for (size_t ai = 0; ai < n; ai++) {
            char a[32];
            sscanf(spec[ai], "%*s %31s", a);
            for (size_t wi = 0; wi < sizeof(everyone) / sizeof(everyone[0]); wi++) {
                const struct who *w = &everyone[wi];
                struct oa_doc_actor actor = {w->roles, w->relations};
                struct oa_flow_answer ans;
                char want_next[32] = "";
                int want = spec_lookup(spec, n, term, nt, states[si], a, w->name, want_next);
                enum oa_flow_result got =
                    oa_flow_step(kind, ver, states[si], a, &actor, &all_good, &ans);
                if (want == 1) {
                    cr_assert_eq(got, OA_FLOW_OK, "%s %s by %s: refused (%s)", states[si], a, w->name, ans.reason);
                    cr_assert_str_eq(ans.next_state, want_next, "%s %s by %s", states[si], a, w->name);
                } else if (want == 0) {
                    cr_assert_eq(got, OA_FLOW_NOT_ALLOWED, "%s %s by %s: want 403, got %d", states[si], a, w->name, got);
                } else {
                    cr_assert_eq(got, OA_FLOW_BAD_STATE, "%s %s by %s: want 409, got %d", states[si], a, w->name, got);
                }
                checked++;
            }
        }
    }
    cr_assert(checked > 100);
}

#define CHECK_V(kind, ver, spec, term) \
    check_kind(kind, ver, spec, sizeof(spec) / sizeof(spec[0]), term, sizeof(term) / sizeof(term[0]))
#define CHECK(kind, spec, term) CHECK_V(kind, oa_flow_version(kind), spec, term)

Test(docflow, outgoing_every_action_state_and_actor)
{
    CHECK(OA_KIND_OUTGOING, outgoing_spec, outgoing_terminal);
}

Test(docflow, incoming_every_action_state_and_actor)
{
    CHECK(OA_KIND_INCOMING, incoming_spec, incoming_terminal);
}

Test(docflow, request_every_action_state_and_actor)
{
    cr_assert_eq(oa_flow_version(OA_KIND_REQUEST), 2);
    CHECK(OA_KIND_REQUEST, request_spec, request_terminal);
    CHECK_V(OA_KIND_REQUEST, 1, request_v1_spec, request_v1_terminal);
}

/* A reply must be complete (第36条, 400) and may leave only when oa_access_export allows it (403). */
Test(docflow, a_request_reply_is_complete_and_exportable)
{
    static const struct {
        bool form_ok, outgoing, exportable;
        enum oa_flow_result res;
        bool forbidden;
    } rows[] = {
        {true, true, true, OA_FLOW_OK, false},     {false, true, true, OA_FLOW_GUARD, false},
        {true, false, true, OA_FLOW_GUARD, false}, {true, true, false, OA_FLOW_GUARD, true},
        {false, true, false, OA_FLOW_GUARD, false},
    };
    struct oa_doc_actor assignee = {0, OA_REL_ASSIGNEE};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct oa_doc_facts f = all_good;
        f.reply_form_ok = rows[i].form_ok;
        f.reply_is_outgoing = rows[i].outgoing;
        f.reply_exportable = rows[i].exportable;
        struct oa_flow_answer ans;
        cr_assert_eq(oa_flow_step(OA_KIND_REQUEST, 2, "handling", "reply", &assignee, &f, &ans), rows[i].res,
                     "row %zu", i);
        cr_assert_eq(ans.forbidden, rows[i].forbidden, "row %zu", i);
        if (rows[i].res == OA_FLOW_OK)
            cr_assert_eq(ans.effects, OA_FX_REPLY_REQUEST);
    }
}

Test(docflow, countersigning_branches)
{
    struct oa_doc_actor sec = {OA_ROLE_SECRETARIAT, 0}, cs = {0, OA_REL_COUNTERSIGNER};
    struct oa_flow_answer ans;
    struct oa_doc_facts f = all_good;
    f.countersign_named = 3;
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, 1, "review", "approve", &sec, &f, &ans), OA_FLOW_OK);
    cr_assert_str_eq(ans.next_state, "countersign");
    cr_assert(ans.effects & OA_FX_NAME_COUNTERSIGNERS);
    f.countersign_pending = 3;
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, 1, "countersign", "approve", &cs, &f, &ans), OA_FLOW_OK);
    cr_assert_str_eq(ans.next_state, "countersign", "moved on before the last approval");
    cr_assert_eq(ans.effects, OA_FX_COUNTERSIGN_VOTE, "the round goes on");
    f.countersign_pending = 1;
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, 1, "countersign", "approve", &cs, &f, &ans), OA_FLOW_OK);
    cr_assert_str_eq(ans.next_state, "signoff");
    cr_assert_eq(ans.effects, OA_FX_COUNTERSIGN_VOTE | OA_FX_END_ROUND, "the last approval ends the round");
}

/* Every way out of countersign ends the round; an objection is recorded as such; staying does not end it. */
Test(docflow, leaving_countersign_ends_the_round)
{
    struct oa_doc_actor sec = {OA_ROLE_SECRETARIAT | OA_ROLE_LEADER, 0},
                        cs = {0, OA_REL_COUNTERSIGNER | OA_REL_DRAFTER};
    struct oa_flow_answer ans;
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, 1, "countersign", "object", &cs, &all_good, &ans), OA_FLOW_OK);
    cr_assert_eq(ans.effects, OA_FX_COUNTERSIGN_OBJECT | OA_FX_END_ROUND);
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, 1, "countersign", "return", &sec, &all_good, &ans), OA_FLOW_OK);
    cr_assert_eq(ans.effects, OA_FX_END_ROUND);
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, 1, "countersign", "withdraw", &cs, &all_good, &ans), OA_FLOW_OK);
    cr_assert_eq(ans.effects, OA_FX_END_ROUND);
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, 1, "countersign", "comment", &sec, &all_good, &ans), OA_FLOW_OK);
    cr_assert_eq(ans.effects & OA_FX_END_ROUND, 0u);
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, 1, "signoff", "return", &sec, &all_good, &ans), OA_FLOW_OK);
    cr_assert_eq(ans.effects & OA_FX_END_ROUND, 0u, "no round outside countersign");
}

Test(docflow, guards_refuse_with_a_reason)
{
    struct oa_doc_actor sec = {OA_ROLE_SECRETARIAT, 0}, lead = {OA_ROLE_LEADER, 0}, cs = {0, OA_REL_COUNTERSIGNER};
    struct oa_flow_answer ans;
    struct oa_doc_facts f = {0};
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, 1, "review", "return", &sec, &f, &ans), OA_FLOW_GUARD);
    cr_assert(strstr(ans.reason, "opinion"));
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, 1, "countersign", "object", &cs, &f, &ans), OA_FLOW_GUARD);
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, 1, "register", "register", &sec, &f, &ans), OA_FLOW_GUARD);
    cr_assert_eq(oa_flow_step(OA_KIND_INCOMING, 1, "instructing", "instruct", &lead, &f, &ans), OA_FLOW_GUARD);
    f.has_opinion = true;
    f.extend_days = 21;
    cr_assert_eq(oa_flow_step(OA_KIND_REQUEST, 1, "handling", "extend", &lead, &f, &ans), OA_FLOW_GUARD);
    cr_assert(!ans.conflict, "too many days is the request's fault (400)");
    f.extend_days = 20;
    cr_assert_eq(oa_flow_step(OA_KIND_REQUEST, 1, "handling", "extend", &lead, &f, &ans), OA_FLOW_OK);
    f.extended = true;
    cr_assert_eq(oa_flow_step(OA_KIND_REQUEST, 1, "handling", "extend", &lead, &f, &ans), OA_FLOW_GUARD,
                 "extended twice");
    cr_assert(ans.conflict, "extended already is the document's state (409)");
    struct oa_doc_actor asg = {0, OA_REL_ASSIGNEE};
    f.reply_is_public_outgoing = false;
    cr_assert_eq(oa_flow_step(OA_KIND_REQUEST, 1, "handling", "reply", &asg, &f, &ans), OA_FLOW_GUARD);
}

Test(docflow, definitions_are_versioned)
{
    struct oa_doc_actor d = {0, OA_REL_DRAFTER};
    struct oa_flow_answer ans;
    int next = oa_flow_version(OA_KIND_OUTGOING) + 1;
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, next, "draft", "submit", &d, NULL, &ans), OA_FLOW_BAD_VERSION);
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, 0, "draft", "submit", &d, NULL, &ans), OA_FLOW_BAD_VERSION);
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, 1, "nowhere", "submit", &d, NULL, &ans), OA_FLOW_BAD_VERSION);
    cr_assert_eq(oa_flow_step(OA_KIND_OUTGOING, 1, "draft", "teleport", &d, NULL, &ans), OA_FLOW_UNKNOWN_ACTION);
    cr_assert_str_eq(oa_flow_initial(OA_KIND_INCOMING), "receiving");
    cr_assert_str_eq(oa_flow_initial(OA_KIND_REQUEST), "imported");
    cr_assert_eq(oa_kind_parse("outgoing"), OA_KIND_OUTGOING);
    cr_assert_eq(oa_kind_parse("memo"), -1);
}

Test(docflow, the_to_do_queue_follows_the_forward_action)
{
    unsigned roles, rels;
    oa_flow_expected(OA_KIND_OUTGOING, 1, "signoff", &roles, &rels);
    cr_assert_eq(roles, OA_ROLE_LEADER);
    cr_assert_eq(rels, 0);
    oa_flow_expected(OA_KIND_OUTGOING, 1, "countersign", &roles, &rels);
    cr_assert_eq(rels, OA_REL_COUNTERSIGNER);
    oa_flow_expected(OA_KIND_INCOMING, 1, "handling", &roles, &rels);
    cr_assert_eq(rels, OA_REL_LEAD_DEPT);
    oa_flow_expected(OA_KIND_OUTGOING, 1, "archived", &roles, &rels);
    cr_assert_eq(roles | rels, 0);
}

/* oa_flow_rule_describe says what oa_flow_step does, rule by rule (docs/actions.md is printed from it). */
Test(docflow, every_rule_is_described_as_it_acts)
{
    static const struct oa_doc_facts none;
    for (int k = 0; k < OA_KIND__COUNT; k++) {
        int ver = oa_flow_version((enum oa_doc_kind)k);
        int n = 0;
        const struct oa_flow_rule *rules = oa_flow_rules((enum oa_doc_kind)k, ver, &n);
        cr_assert(n > 0);
        for (int i = 0; i < n; i++) {
            const struct oa_flow_rule *r = &rules[i];
            const char *state = strcmp(r->state, "*") == 0 ? oa_flow_initial((enum oa_doc_kind)k) : r->state;
            struct oa_flow_rule_info info;
            oa_flow_rule_describe(r, &info);
            struct oa_doc_actor actor = {r->roles, r->relations};
            struct oa_flow_answer ans;
            cr_assert_eq(oa_flow_step((enum oa_doc_kind)k, ver, state, r->action, &actor, &all_good, &ans),
                         OA_FLOW_OK, "%s %s", state, r->action);
            cr_assert_eq(ans.effects, info.effects, "%s %s: effects", state, r->action);
            if (info.next[0] == NULL)
                cr_assert_str_eq(ans.next_state, state, "%s %s stays", state, r->action);
            else if (info.next[1] == NULL)
                cr_assert_str_eq(ans.next_state, info.next[0], "%s %s", state, r->action);
            else
                cr_assert(info.branch != NULL && (strcmp(ans.next_state, info.next[0]) == 0 ||
                                                  strcmp(ans.next_state, info.next[1]) == 0));
            cr_assert_eq(info.guard == NULL, info.guard_needs == NULL);
            enum oa_flow_result unguarded =
                oa_flow_step((enum oa_doc_kind)k, ver, state, r->action, &actor, &none, &ans);
            if (info.guard != NULL) {
                cr_assert_eq(unguarded, OA_FLOW_GUARD, "%s %s: guard", state, r->action);
                cr_assert_str_eq(ans.reason, info.guard);
            } else {
                cr_assert_eq(unguarded, OA_FLOW_OK, "%s %s: no guard", state, r->action);
            }
            if (info.primary) {
                unsigned roles, rels;
                oa_flow_expected((enum oa_doc_kind)k, ver, r->state, &roles, &rels);
                cr_assert_eq(roles & r->roles, r->roles, "%s %s: to-do roles", state, r->action);
                cr_assert_eq(rels & r->relations, r->relations, "%s %s: to-do relations", state, r->action);
            }
        }
    }
}

Test(docflow, who_may_create_each_kind)
{
    static const struct {
        enum oa_doc_kind kind;
        unsigned roles;
    } may[] = {
        {OA_KIND_OUTGOING, OA_ROLE_STAFF | OA_ROLE_SECRETARIAT | OA_ROLE_DEPT_HEAD | OA_ROLE_LEADER},
        {OA_KIND_INCOMING, OA_ROLE_SECRETARIAT},
        {OA_KIND_REQUEST, OA_ROLE_GATEWAY | OA_ROLE_SECRETARIAT},
    };
    for (size_t i = 0; i < sizeof(may) / sizeof(may[0]); i++) {
        for (unsigned bit = 1; bit <= OA_ROLE_AUDITOR; bit <<= 1)
            cr_assert_eq(oa_flow_may_create(may[i].kind, bit), (may[i].roles & bit) != 0, "kind %d role %#x",
                         (int)may[i].kind, bit);
        cr_assert_not(oa_flow_may_create(may[i].kind, 0));
        cr_assert_not(oa_flow_may_create(may[i].kind, OA_ROLES_ADMIN));
        cr_assert(oa_flow_may_create(may[i].kind, may[i].roles | OA_ROLE_AUDITOR));
    }
    cr_assert_not(oa_flow_may_create(OA_KIND__COUNT, OA_ROLE_SECRETARIAT));
}

Test(docflow, each_kind_has_its_own_current_version)
{
    for (int k = 0; k < OA_KIND__COUNT; k++) {
        int v = oa_flow_version((enum oa_doc_kind)k);
        cr_assert_geq(v, 1, "kind %d", k);
        int n = 0;
        cr_assert_not_null(oa_flow_rules((enum oa_doc_kind)k, v, &n));
        cr_assert_null(oa_flow_rules((enum oa_doc_kind)k, v + 1, &n));
    }
    cr_assert_eq(oa_flow_version(OA_KIND__COUNT), 0);
    cr_assert_eq(oa_flow_version((enum oa_doc_kind)-1), 0);
}

/* An incoming copy addressed to a department is signed for and registered there; later steps are organ-wide. */
Test(docflow, department_steps)
{
    cr_assert(oa_flow_department_step(OA_KIND_INCOMING, 1, "receiving"));
    cr_assert(oa_flow_department_step(OA_KIND_INCOMING, 1, "registering"));
    cr_assert(!oa_flow_department_step(OA_KIND_INCOMING, 1, "instructing"));
    cr_assert(!oa_flow_department_step(OA_KIND_OUTGOING, 1, "review"));
    cr_assert(!oa_flow_department_step(OA_KIND_REQUEST, 1, "registered"));
    cr_assert(!oa_flow_department_step(OA_KIND_INCOMING, 99, "receiving"), "unknown version");
}
