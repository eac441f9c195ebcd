/* tests/workflow/access_test.c: the access decision and role rules, table-driven. */
#include <criterion/criterion.h>

#include "workflow/access.h"
#include "workflow/password.h"

static const unsigned roles[] = {
    OA_ROLE_STAFF, OA_ROLE_SECRETARIAT, OA_ROLE_DEPT_HEAD, OA_ROLE_LEADER, OA_ROLE_RECORDS,
    OA_ROLE_GATEWAY, OA_ROLE_SYSADMIN, OA_ROLE_SECADMIN, OA_ROLE_AUDITOR,
};
#define NROLES (sizeof(roles) / sizeof(roles[0]))

/* The roles allowed each action; everyone else is refused. */
static unsigned allowed(enum oa_action a)
{
    switch (a) {
    case OA_ACT_USER_CREATE:
    case OA_ACT_USER_ENABLE:
    case OA_ACT_USER_ROLES:
    case OA_ACT_USER_RESET_PW:
    case OA_ACT_USER_UNLOCK:
    case OA_ACT_ORG_MANAGE:
    case OA_ACT_CONFIG:
        return OA_ROLE_SYSADMIN;
    case OA_ACT_USER_READ:
        return OA_ROLE_SYSADMIN | OA_ROLE_SECADMIN;
    case OA_ACT_USER_CLEARANCE:
    case OA_ACT_USER_REQUIRE_2FA:
    case OA_ACT_RELABEL:
        return OA_ROLE_SECADMIN;
    case OA_ACT_AUDIT_READ:
        return OA_ROLE_AUDITOR;
    case OA_ACT_METRICS_READ:
        return OA_ROLE_SYSADMIN | OA_ROLE_AUDITOR;
    case OA_ACT_RECORDS_MANAGE:
        return OA_ROLE_RECORDS;
    case OA_ACT_RECORDS_READ:
        return OA_ROLE_RECORDS | OA_ROLE_LEADER;
    case OA_ACT_DISPOSAL_APPROVE:
        return OA_ROLE_LEADER;
    case OA_ACT__COUNT:
        break;
    }
    return 0;
}

Test(access, every_action_by_every_role_on_a_staff_account)
{
    struct oa_object staff = {.user_id = 100, .user_roles = OA_ROLE_STAFF};
    for (int a = 0; a < OA_ACT__COUNT; a++)
        for (size_t i = 0; i < NROLES; i++) {
            struct oa_subject who = {.id = 1, .roles = roles[i], .clearance = 4};
            enum oa_decision d = oa_access_decide(&who, (enum oa_action)a, &staff);
            bool want = (allowed((enum oa_action)a) & roles[i]) != 0;
            cr_assert_eq(d == OA_ALLOW, want, "action %d by role %s: %s", a, oa_role_name(roles[i]),
                         oa_decision_reason(d));
        }
}

Test(access, nobody_changes_their_own_standing)
{
    for (int a = 0; a < OA_ACT__COUNT; a++) {
        if (a == OA_ACT_USER_READ || a == OA_ACT_USER_CREATE || a == OA_ACT_ORG_MANAGE || a == OA_ACT_CONFIG ||
            a == OA_ACT_AUDIT_READ || a == OA_ACT_RELABEL || a == OA_ACT_METRICS_READ ||
            a == OA_ACT_RECORDS_MANAGE || a == OA_ACT_RECORDS_READ)
            continue;
        for (size_t i = 0; i < NROLES; i++) {
            struct oa_subject who = {.id = 7, .roles = roles[i]};
            struct oa_object self = {.user_id = 7, .user_roles = roles[i]};
            cr_assert_neq(oa_access_decide(&who, (enum oa_action)a, &self), OA_ALLOW);
        }
    }
}

Test(access, administrators_cannot_reshape_each_other)
{
    struct oa_subject sys = {.id = 1, .roles = OA_ROLE_SYSADMIN};
    struct oa_subject sec = {.id = 2, .roles = OA_ROLE_SECADMIN};
    struct oa_object auditor = {.user_id = 3, .user_roles = OA_ROLE_AUDITOR};
    cr_assert_eq(oa_access_decide(&sys, OA_ACT_USER_ROLES, &auditor), OA_DENY_ADMIN);
    cr_assert_eq(oa_access_decide(&sys, OA_ACT_USER_ENABLE, &auditor), OA_DENY_ADMIN);
    cr_assert_eq(oa_access_decide(&sec, OA_ACT_USER_CLEARANCE, &auditor), OA_DENY_ADMIN);
    /* A locked-out administrator can be unlocked, which gives no rights... */
    cr_assert_eq(oa_access_decide(&sys, OA_ACT_USER_UNLOCK, &auditor), OA_ALLOW);
    /* ...but no administrator resets another's password: that would be a way
     * in as them (#13 item 3).  The console does it (oad admin reset-password). */
    struct oa_object secadmin = {.user_id = 2, .user_roles = OA_ROLE_SECADMIN};
    cr_assert_eq(oa_access_decide(&sys, OA_ACT_USER_RESET_PW, &auditor), OA_DENY_ADMIN);
    cr_assert_eq(oa_access_decide(&sys, OA_ACT_USER_RESET_PW, &secadmin), OA_DENY_ADMIN);
    struct oa_object staff = {.user_id = 9, .user_roles = OA_ROLE_STAFF};
    cr_assert_eq(oa_access_decide(&sys, OA_ACT_USER_RESET_PW, &staff), OA_ALLOW);
    cr_assert_eq(oa_access_decide(NULL, OA_ACT_USER_READ, NULL), OA_DENY_ROLE);
    cr_assert_eq(oa_access_decide(&sys, OA_ACT__COUNT, NULL), OA_DENY_ROLE);
}

Test(access, a_disposal_list_is_approved_by_a_leader_who_did_not_propose_it)
{
    struct oa_subject leader = {.id = 5, .roles = OA_ROLE_LEADER};
    struct oa_object by_other = {.user_id = 6}, by_self = {.user_id = 5};
    cr_assert_eq(oa_access_decide(&leader, OA_ACT_DISPOSAL_APPROVE, &by_other), OA_ALLOW);
    cr_assert_eq(oa_access_decide(&leader, OA_ACT_DISPOSAL_APPROVE, &by_self), OA_DENY_SELF);
    struct oa_subject officer = {.id = 6, .roles = OA_ROLE_RECORDS | OA_ROLE_STAFF};
    cr_assert_eq(oa_access_decide(&officer, OA_ACT_DISPOSAL_APPROVE, &by_self), OA_DENY_ROLE);
}

Test(roles, three_administrators_never_share_an_account)
{
    for (size_t i = 0; i < NROLES; i++) {
        cr_assert(oa_roles_valid(roles[i]));
        for (size_t j = i + 1; j < NROLES; j++) {
            unsigned both = roles[i] | roles[j];
            bool special = (both & (OA_ROLES_ADMIN | OA_ROLE_GATEWAY)) != 0;
            cr_assert_eq(oa_roles_valid(both), !special, "%s+%s", oa_role_name(roles[i]), oa_role_name(roles[j]));
        }
    }
    cr_assert(!oa_roles_valid(0));
    cr_assert(!oa_roles_valid(1u << 20));
    cr_assert(oa_roles_valid(OA_ROLE_STAFF | OA_ROLE_DEPT_HEAD | OA_ROLE_LEADER));
}

Test(levels, names_parse_both_ways)
{
    for (int l = 0; l <= OA_LEVEL_MAX; l++)
        cr_assert_eq(oa_level_parse(oa_level_name(l)), l);
    cr_assert_eq(oa_level_parse("机密"), OA_LEVEL_CONFIDENTIAL);
    cr_assert_eq(oa_level_parse("绝密"), OA_LEVEL_TOP_SECRET);
    cr_assert_eq(oa_level_parse("ultra"), -1);
    cr_assert_null(oa_level_name(5));
    cr_assert_eq(oa_role_parse(oa_role_name(OA_ROLE_LEADER)), OA_ROLE_LEADER);
    cr_assert_eq(oa_role_parse("emperor"), 0);
}

Test(password, policy)
{
    cr_assert_null(oa_password_check("zhang.san", "Corr3ct-Horse-Battery"));
    cr_assert_not_null(oa_password_check("zhang.san", "short"));
    cr_assert_not_null(oa_password_check("zhang.san", "my-ZHANG.SAN-password"));
    cr_assert_not_null(oa_password_check("x", "1qaz2wsx3edc4rfv"));
    cr_assert_not_null(oa_password_check("x", "ADMINISTRATOR"));
    cr_assert_not_null(oa_password_check("x", "zzzzzzzzzzzzzzzz"));
    char longpw[300];
    memset(longpw, 'a', sizeof(longpw) - 1);
    longpw[0] = 'b';
    longpw[sizeof(longpw) - 1] = 0;
    cr_assert_not_null(oa_password_check("x", longpw));
}

/* ---- labels ---- */

Test(labels, no_read_up_at_every_level_and_clearance)
{
    const unsigned people[] = {OA_ROLE_STAFF, OA_ROLE_SECRETARIAT, OA_ROLE_DEPT_HEAD, OA_ROLE_LEADER, OA_ROLE_RECORDS};
    for (size_t p = 0; p < sizeof(people) / sizeof(people[0]); p++)
        for (int clearance = 0; clearance <= OA_LEVEL_MAX; clearance++)
            for (int level = 0; level <= OA_LEVEL_MAX; level++) {
                struct oa_subject who = {1, people[p], clearance, false, false};
                struct oa_reader rd = {&who, "a", 1, NULL, 0};
                struct oa_label lb = {level, NULL, 0};
                enum oa_decision d = oa_access_read(&rd, &lb);
                cr_assert_eq(d == OA_ALLOW, clearance >= level, "clearance %d level %d", clearance, level);
                if (clearance < level)
                    cr_assert_eq(d, OA_DENY_LABEL);
            }
}

Test(labels, an_account_held_after_a_password_reset_sees_no_document_at_any_level)
{
    for (int level = 0; level <= OA_LEVEL_MAX; level++) {
        struct oa_subject who = {.id = 1, .roles = OA_ROLE_STAFF, .clearance = OA_LEVEL_MAX, .held = true};
        struct oa_reader rd = {&who, "a", 1, NULL, 0};
        struct oa_label lb = {level, NULL, 0};
        cr_assert_eq(oa_access_read(&rd, &lb), OA_DENY_HELD);
        cr_assert_eq(oa_access_read_doc(&who, level), OA_DENY_HELD);
        who.held = false;
        cr_assert_eq(oa_access_read_doc(&who, level), OA_ALLOW);
    }
}

Test(labels, administrators_see_no_documents_and_the_gateway_only_public_ones)
{
    const unsigned admins[] = {OA_ROLE_SYSADMIN, OA_ROLE_SECADMIN, OA_ROLE_AUDITOR};
    for (int i = 0; i < 3; i++) {
        struct oa_subject who = {1, admins[i], OA_LEVEL_MAX, false, false};
        struct oa_reader rd = {&who, "admin", 0, NULL, 0};
        struct oa_label lb = {OA_LEVEL_PUBLIC, NULL, 0};
        cr_assert_eq(oa_access_read(&rd, &lb), OA_DENY_ROLE);
    }
    struct oa_subject gw = {9, OA_ROLE_GATEWAY, OA_LEVEL_MAX, false, false};
    struct oa_reader rd = {&gw, "gateway", 0, NULL, 0};
    const char *scope[] = {"dept:1"};
    for (int level = 0; level <= OA_LEVEL_MAX; level++) {
        struct oa_label lb = {level, NULL, 0};
        cr_assert_eq(oa_access_read(&rd, &lb) == OA_ALLOW, level == 0);
    }
    struct oa_label scoped = {0, scope, 1};
    cr_assert_neq(oa_access_read(&rd, &scoped), OA_ALLOW);
}

Test(labels, need_to_know_scope_by_compartment_department_and_name)
{
    const char *comps[] = {"finance-audit", "land"};
    struct oa_subject who = {7, OA_ROLE_STAFF, OA_LEVEL_SECRET, false, false};
    struct oa_reader rd = {&who, "zhang.san", 3, comps, 2};
    struct {
        const char *scope[3];
        size_t n;
        int level;
        enum oa_decision want;
    } cases[] = {
        {{NULL}, 0, OA_LEVEL_SECRET, OA_ALLOW},
        {{"finance-audit"}, 1, OA_LEVEL_SECRET, OA_ALLOW},
        {{"water", "land"}, 2, OA_LEVEL_INTERNAL, OA_ALLOW},
        {{"water"}, 1, OA_LEVEL_INTERNAL, OA_DENY_SCOPE},
        {{"dept:3"}, 1, OA_LEVEL_SECRET, OA_ALLOW},
        {{"dept:30"}, 1, OA_LEVEL_SECRET, OA_DENY_SCOPE},
        {{"user:zhang.san"}, 1, OA_LEVEL_SECRET, OA_ALLOW},
        {{"user:zhang.sa"}, 1, OA_LEVEL_SECRET, OA_DENY_SCOPE},
        {{"user:li.si", "dept:4"}, 2, OA_LEVEL_PUBLIC, OA_DENY_SCOPE},
        {{"finance-audit"}, 1, OA_LEVEL_CONFIDENTIAL, OA_DENY_LABEL}, /* in scope, above clearance */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct oa_label lb = {cases[i].level, cases[i].scope, cases[i].n};
        cr_assert_eq(oa_access_read(&rd, &lb), cases[i].want, "case %zu", i);
    }
    /* A person with no department and no compartments matches no dept: entry. */
    struct oa_reader none = {&who, "x", 0, NULL, 0};
    const char *d0[] = {"dept:0"};
    struct oa_label lb = {0, d0, 1};
    cr_assert_eq(oa_access_read(&none, &lb), OA_DENY_SCOPE);
}

Test(labels, derivatives_never_write_down_and_only_public_leaves)
{
    const char *ab[] = {"a", "b"}, *a[] = {"a"}, *c[] = {"c"};
    struct oa_label src = {OA_LEVEL_SECRET, ab, 2};
    struct oa_label same = {OA_LEVEL_SECRET, ab, 2}, higher = {OA_LEVEL_CONFIDENTIAL, a, 1};
    struct oa_label lower = {OA_LEVEL_INTERNAL, ab, 2}, wider = {OA_LEVEL_SECRET, NULL, 0},
                    other = {OA_LEVEL_SECRET, c, 1};
    cr_assert(oa_label_dominates(&same, &src));
    cr_assert(oa_label_dominates(&higher, &src));
    cr_assert(!oa_label_dominates(&lower, &src));
    cr_assert(!oa_label_dominates(&wider, &src));
    cr_assert(!oa_label_dominates(&other, &src));
    struct oa_label pub = {OA_LEVEL_PUBLIC, NULL, 0}, internal = {OA_LEVEL_INTERNAL, NULL, 0},
                    scoped_pub = {OA_LEVEL_PUBLIC, a, 1};
    cr_assert(oa_label_dominates(&internal, &pub));
    cr_assert(oa_access_export(&pub, true));
    cr_assert(!oa_access_export(&pub, false)); /* no secrecy review recorded */
    cr_assert(!oa_access_export(&internal, true));
    cr_assert(!oa_access_export(&scoped_pub, true));
    for (int l = 1; l <= OA_LEVEL_MAX; l++) {
        struct oa_label x = {l, NULL, 0};
        cr_assert(!oa_access_export(&x, true));
    }
    cr_assert(!oa_access_export(NULL, true));
}

Test(gateway, the_gateway_is_confined_to_its_routes_and_nobody_else_uses_them)
{
    static const struct {
        unsigned roles;
        bool gateway_route, gateway_allowed;
        enum oa_decision d;
    } rows[] = {
        {OA_ROLE_GATEWAY, true, true, OA_ALLOW},       /* /v1/gateway/... */
        {OA_ROLE_GATEWAY, false, true, OA_ALLOW},      /* its session, its uploads */
        {OA_ROLE_GATEWAY, false, false, OA_DENY_ROLE}, /* documents, users, audit, ... */
        {OA_ROLE_SECRETARIAT, true, true, OA_DENY_ROLE},
        {OA_ROLE_STAFF, true, true, OA_DENY_ROLE},
        {OA_ROLE_AUDITOR, true, true, OA_DENY_ROLE},
        {OA_ROLE_SYSADMIN, true, true, OA_DENY_ROLE},
        {OA_ROLE_STAFF, false, false, OA_ALLOW},
        {OA_ROLE_STAFF, false, true, OA_ALLOW},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_assert_eq(oa_access_route(rows[i].roles, rows[i].gateway_route, rows[i].gateway_allowed), rows[i].d,
                     "row %zu", i);
}

Test(gateway, personal_data_only_for_those_handling_the_request)
{
    static const struct {
        unsigned roles;
        bool assignee, visible;
    } rows[] = {
        {OA_ROLE_SECRETARIAT, false, true}, {OA_ROLE_LEADER, false, true},   {OA_ROLE_STAFF, true, true},
        {OA_ROLE_STAFF, false, false},      {OA_ROLE_DEPT_HEAD, false, false}, {OA_ROLE_RECORDS, false, false},
        {OA_ROLE_GATEWAY, false, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_assert_eq(oa_request_personal_visible(rows[i].roles, rows[i].assignee), rows[i].visible, "row %zu", i);
}

Test(labels, a_named_declassifier_may_relabel_and_an_administrator_never_is_one)
{
    struct oa_subject named = {5, OA_ROLE_LEADER, OA_LEVEL_SECRET, true, false};
    struct oa_subject plain = {6, OA_ROLE_LEADER, OA_LEVEL_SECRET, false, false};
    struct oa_subject sys = {1, OA_ROLE_SYSADMIN, 0, true, false};
    cr_assert_eq(oa_access_decide(&named, OA_ACT_RELABEL, NULL), OA_ALLOW);
    cr_assert_eq(oa_access_decide(&plain, OA_ACT_RELABEL, NULL), OA_DENY_ROLE);
    cr_assert_eq(oa_access_decide(&sys, OA_ACT_RELABEL, NULL), OA_DENY_ROLE);
    /* The flag grants nothing else. */
    cr_assert_eq(oa_access_decide(&named, OA_ACT_USER_CLEARANCE, NULL), OA_DENY_ROLE);
}

Test(labels, a_derivative_inherits_what_it_does_not_ask_for_and_never_writes_down)
{
    static const char *const hr[] = {"hr"};
    static const char *const hr_fin[] = {"hr", "finance"};
    static const char *const fin[] = {"finance"};
    static const struct {
        struct oa_label source, asked;
        bool has_level, has_scope;
        int level;              /* the derived label's */
        size_t nscope;
        const char *const *scope;
        bool allowed;
    } rows[] = {
        /* nothing asked: the source's label exactly */
        {{OA_LEVEL_SECRET, hr, 1}, {OA_LEVEL_PUBLIC, NULL, 0}, false, false, OA_LEVEL_SECRET, 1, hr, true},
        {{OA_LEVEL_INTERNAL, NULL, 0}, {OA_LEVEL_PUBLIC, NULL, 0}, false, false, OA_LEVEL_INTERNAL, 0, NULL, true},
        /* a level asked for: higher is fine, lower is writing down */
        {{OA_LEVEL_INTERNAL, NULL, 0}, {OA_LEVEL_SECRET, NULL, 0}, true, false, OA_LEVEL_SECRET, 0, NULL, true},
        {{OA_LEVEL_SECRET, NULL, 0}, {OA_LEVEL_INTERNAL, NULL, 0}, true, false, OA_LEVEL_INTERNAL, 0, NULL, false},
        {{OA_LEVEL_SECRET, hr, 1}, {OA_LEVEL_SECRET, NULL, 0}, true, false, OA_LEVEL_SECRET, 1, hr, true},
        /* a scope asked for: narrower is fine, wider or none is not */
        {{OA_LEVEL_SECRET, hr_fin, 2}, {OA_LEVEL_PUBLIC, fin, 1}, false, true, OA_LEVEL_SECRET, 1, fin, true},
        {{OA_LEVEL_SECRET, hr, 1}, {OA_LEVEL_PUBLIC, hr_fin, 2}, false, true, OA_LEVEL_SECRET, 2, hr_fin, false},
        {{OA_LEVEL_SECRET, hr, 1}, {OA_LEVEL_PUBLIC, NULL, 0}, false, true, OA_LEVEL_SECRET, 0, NULL, false},
        {{OA_LEVEL_SECRET, NULL, 0}, {OA_LEVEL_PUBLIC, fin, 1}, false, true, OA_LEVEL_SECRET, 1, fin, true},
        /* both */
        {{OA_LEVEL_INTERNAL, hr, 1}, {OA_LEVEL_TOP_SECRET, hr, 1}, true, true, OA_LEVEL_TOP_SECRET, 1, hr, true},
        {{OA_LEVEL_INTERNAL, hr, 1}, {OA_LEVEL_PUBLIC, hr, 1}, true, true, OA_LEVEL_PUBLIC, 1, hr, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct oa_label out;
        bool ok = oa_label_derive(&rows[i].source, &rows[i].asked, rows[i].has_level, rows[i].has_scope, &out);
        cr_assert_eq(ok, rows[i].allowed, "row %zu", i);
        cr_assert_eq(out.level, rows[i].level, "row %zu", i);
        cr_assert_eq(out.nscope, rows[i].nscope, "row %zu", i);
        cr_assert_eq(out.scope, rows[i].scope, "row %zu", i);
    }
}

Test(labels, an_edit_raises_or_narrows_and_leaves_lowering_and_widening_to_secadmin)
{
    static const char *const hr[] = {"hr"};
    static const char *const hr_fin[] = {"hr", "finance"};
    static const struct {
        int clearance;
        struct oa_label cur, asked;
        bool has_level, has_scope;
        enum oa_label_edit want;
    } rows[] = {
        /* nothing asked */
        {OA_LEVEL_INTERNAL, {OA_LEVEL_SECRET, hr, 1}, {0, NULL, 0}, false, false, OA_LABEL_EDIT_OK},
        /* the level */
        {OA_LEVEL_SECRET, {OA_LEVEL_INTERNAL, NULL, 0}, {OA_LEVEL_SECRET, NULL, 0}, true, false, OA_LABEL_EDIT_OK},
        {OA_LEVEL_SECRET, {OA_LEVEL_INTERNAL, NULL, 0}, {OA_LEVEL_INTERNAL, NULL, 0}, true, false, OA_LABEL_EDIT_OK},
        {OA_LEVEL_SECRET, {OA_LEVEL_SECRET, NULL, 0}, {OA_LEVEL_INTERNAL, NULL, 0}, true, false,
         OA_LABEL_EDIT_LOWERS},
        {OA_LEVEL_SECRET, {OA_LEVEL_INTERNAL, NULL, 0}, {OA_LEVEL_CONFIDENTIAL, NULL, 0}, true, false,
         OA_LABEL_EDIT_ABOVE_CLEARANCE},
        /* lowering is named before the clearance, and both before the scope */
        {OA_LEVEL_PUBLIC, {OA_LEVEL_SECRET, hr, 1}, {OA_LEVEL_INTERNAL, NULL, 0}, true, true, OA_LABEL_EDIT_LOWERS},
        {OA_LEVEL_INTERNAL, {OA_LEVEL_INTERNAL, hr, 1}, {OA_LEVEL_SECRET, hr_fin, 2}, true, true,
         OA_LABEL_EDIT_ABOVE_CLEARANCE},
        /* the scope */
        {OA_LEVEL_SECRET, {OA_LEVEL_SECRET, hr_fin, 2}, {0, hr, 1}, false, true, OA_LABEL_EDIT_OK},
        {OA_LEVEL_SECRET, {OA_LEVEL_SECRET, NULL, 0}, {0, hr, 1}, false, true, OA_LABEL_EDIT_OK},
        {OA_LEVEL_SECRET, {OA_LEVEL_SECRET, hr, 1}, {0, hr_fin, 2}, false, true, OA_LABEL_EDIT_WIDENS},
        {OA_LEVEL_SECRET, {OA_LEVEL_SECRET, hr, 1}, {0, NULL, 0}, false, true, OA_LABEL_EDIT_WIDENS},
        {OA_LEVEL_SECRET, {OA_LEVEL_INTERNAL, hr, 1}, {OA_LEVEL_SECRET, hr, 1}, true, true, OA_LABEL_EDIT_OK},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct oa_subject editor = {.id = 7, .roles = OA_ROLE_STAFF, .clearance = rows[i].clearance};
        enum oa_label_edit got =
            oa_label_edit_check(&editor, &rows[i].cur, &rows[i].asked, rows[i].has_level, rows[i].has_scope);
        cr_assert_eq(got, rows[i].want, "row %zu", i);
        cr_assert_eq(oa_label_edit_reason(got) == NULL, got == OA_LABEL_EDIT_OK, "row %zu", i);
    }
}

Test(office, delegation_calendar_and_sync_cache_rules)
{
    static const struct {
        int64_t from;
        unsigned from_roles;
        bool to_active;
        int64_t to;
        unsigned to_roles;
        enum oa_delegation want;
    } dl[] = {
        {1, OA_ROLE_LEADER, true, 2, OA_ROLE_DEPT_HEAD, OA_DELEGATION_OK},
        {1, OA_ROLE_STAFF, true, 2, OA_ROLE_STAFF | OA_ROLE_RECORDS, OA_DELEGATION_OK},
        {1, OA_ROLE_LEADER, false, 2, OA_ROLE_DEPT_HEAD, OA_DELEGATION_NO_SUCH_USER},
        {1, OA_ROLE_SYSADMIN, false, 1, 0, OA_DELEGATION_NO_SUCH_USER}, /* the first question answers */
        {1, OA_ROLE_LEADER, true, 1, OA_ROLE_LEADER, OA_DELEGATION_SELF},
        {1, OA_ROLE_SECADMIN, true, 1, OA_ROLE_SECADMIN, OA_DELEGATION_SELF},
        {1, OA_ROLE_LEADER, true, 2, OA_ROLE_AUDITOR, OA_DELEGATION_ROLE},
        {1, OA_ROLE_SYSADMIN, true, 2, OA_ROLE_STAFF, OA_DELEGATION_ROLE},
        {1, OA_ROLE_STAFF, true, 2, OA_ROLE_GATEWAY, OA_DELEGATION_ROLE},
        {1, OA_ROLE_GATEWAY, true, 2, OA_ROLE_STAFF, OA_DELEGATION_ROLE},
        {1, OA_ROLE_LEADER | OA_ROLE_SECADMIN, true, 2, OA_ROLE_LEADER, OA_DELEGATION_ROLE},
    };
    for (size_t i = 0; i < sizeof(dl) / sizeof(dl[0]); i++)
        cr_assert_eq(oa_delegation_check(dl[i].from, dl[i].from_roles, dl[i].to_active, dl[i].to, dl[i].to_roles),
                     dl[i].want, "row %zu", i);

    for (size_t i = 0; i < NROLES; i++)
        cr_assert_eq(oa_calendar_may_change(roles[i]), roles[i] == OA_ROLE_SECRETARIAT, "role %#x", roles[i]);
    cr_assert(oa_calendar_may_change(OA_ROLE_STAFF | OA_ROLE_SECRETARIAT));
    cr_assert_not(oa_calendar_may_change(0));

    for (int level = OA_LEVEL_PUBLIC; level <= OA_LEVEL_MAX; level++)
        for (unsigned max = 0; max <= OA_LEVEL_MAX; max++)
            cr_assert_eq(oa_sync_cacheable(level, max), level <= (int)max, "level %d max %u", level, max);
}

Test(gateway, publication_is_proposed_by_the_drafter_or_secretariat_and_reviewed_by_a_leader)
{
    static const struct {
        unsigned roles;
        bool drafter, review, may;
    } rows[] = {
        {OA_ROLE_STAFF, true, false, true},       {OA_ROLE_STAFF, false, false, false},
        {OA_ROLE_SECRETARIAT, false, false, true}, {OA_ROLE_LEADER, false, false, false},
        {OA_ROLE_LEADER, false, true, true},      {OA_ROLE_SECRETARIAT, false, true, false},
        {OA_ROLE_STAFF, true, true, false},       {OA_ROLE_GATEWAY, true, false, false},
        {OA_ROLE_SECADMIN, false, true, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_assert_eq(oa_publication_may(rows[i].roles, rows[i].drafter, rows[i].review), rows[i].may, "row %zu", i);
}

Test(tls, a_mapped_client_certificate_serves_only_its_own_account)
{
    static const struct {
        bool mapped;
        const char *cn, *account;
        enum oa_decision d;
    } rows[] = {
        {false, NULL, "alice", OA_ALLOW},        {false, "bob", "alice", OA_ALLOW},
        {true, "alice", "alice", OA_ALLOW},      {true, "bob", "alice", OA_DENY_CERT},
        {true, NULL, "alice", OA_DENY_CERT},     {true, "alice", NULL, OA_DENY_CERT},
        {true, "Alice", "alice", OA_DENY_CERT},  {true, "alice ", "alice", OA_DENY_CERT},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_assert_eq(oa_access_client_cert(rows[i].mapped, rows[i].cn, rows[i].account), rows[i].d, "row %zu", i);
}

Test(gateway, a_publications_secrecy_review_is_the_secretariats_or_a_leaders_not_the_proposers)
{
    static const struct {
        unsigned roles;
        bool proposer, may;
    } rows[] = {
        {OA_ROLE_SECRETARIAT, false, true},
        {OA_ROLE_LEADER, false, true},
        {OA_ROLE_SECRETARIAT | OA_ROLE_STAFF, false, true},
        {OA_ROLE_SECRETARIAT, true, false}, /* a second pair of eyes */
        {OA_ROLE_LEADER, true, false},
        {OA_ROLE_STAFF, false, false},
        {OA_ROLE_RECORDS, false, false},
        {OA_ROLE_GATEWAY, false, false},
        {OA_ROLE_SYSADMIN, false, false},
        {OA_ROLE_SECADMIN, false, false},
        {OA_ROLE_AUDITOR, false, false},
        {0, false, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_assert_eq(oa_publication_secrecy_may(rows[i].roles, rows[i].proposer), rows[i].may, "row %zu", i);
}

/* An account's access widened: it may now see a document (or a to-do) it could not before. */
Test(access, widened_only_when_the_account_may_see_more)
{
    static const char *const fin[] = {"财审"}, *const both[] = {"办公室", "财审"}, *const office[] = {"办公室"};
    enum { S = OA_ROLE_STAFF, L = OA_ROLE_LEADER, G = OA_ROLE_GATEWAY };
    static const struct {
        struct oa_access_view before, after;
        bool widened;
    } rows[] = {
        {{S, 1, false, false, 1, NULL, 0}, {S, 1, false, false, 1, NULL, 0}, false},   /* nothing changed */
        {{S, 1, false, false, 1, NULL, 0}, {S, 2, false, false, 1, NULL, 0}, true},    /* clearance raised */
        {{S, 2, false, false, 1, NULL, 0}, {S, 1, false, false, 1, NULL, 0}, false},   /* lowered */
        {{S, 1, false, false, 1, NULL, 0}, {S, 1, false, false, 1, fin, 1}, true},     /* a compartment added */
        {{S, 1, false, false, 1, fin, 1}, {S, 1, false, false, 1, NULL, 0}, false},    /* taken away */
        {{S, 1, false, false, 1, office, 1}, {S, 1, false, false, 1, fin, 1}, true},   /* swapped: one is new */
        {{S, 1, false, false, 1, office, 1}, {S, 1, false, false, 1, both, 2}, true},
        {{S, 1, false, false, 1, both, 2}, {S, 1, false, false, 1, fin, 1}, false},
        {{S, 1, false, false, 1, both, 2}, {S, 0, false, false, 1, both, 2}, false},
        {{S, 1, false, false, 1, NULL, 0}, {S | L, 1, false, false, 1, NULL, 0}, true}, /* a role added (to-do) */
        {{S | L, 1, false, false, 1, NULL, 0}, {S, 1, false, false, 1, NULL, 0}, false},
        {{S, 1, false, false, 1, NULL, 0}, {L, 1, false, false, 1, NULL, 0}, true},
        {{S, 1, false, false, 1, NULL, 0}, {S, 1, false, false, 2, NULL, 0}, true},    /* another department */
        {{S, 1, false, false, 0, NULL, 0}, {S, 1, false, false, 2, NULL, 0}, true},
        {{S, 1, false, false, 2, NULL, 0}, {S, 1, false, false, 0, NULL, 0}, false},   /* none: narrower */
        {{S, 1, false, true, 1, NULL, 0}, {S, 1, false, false, 1, NULL, 0}, true},     /* enabled again */
        {{S, 1, false, false, 1, NULL, 0}, {S, 1, false, true, 1, NULL, 0}, false},    /* disabled */
        {{S, 2, false, true, 1, NULL, 0}, {S, 3, false, true, 1, NULL, 0}, false},     /* raised but disabled */
        {{S, 1, true, false, 1, NULL, 0}, {S, 1, false, false, 1, NULL, 0}, true},     /* the hold lifted */
        {{S, 1, false, false, 1, NULL, 0}, {S, 1, true, false, 1, NULL, 0}, false},    /* held */
        {{S, 1, true, false, 1, NULL, 0}, {S, 2, true, false, 1, NULL, 0}, false},     /* still held */
        {{G, 0, false, false, 0, NULL, 0}, {S, 0, false, false, 0, NULL, 0}, true},    /* no longer the gateway */
        {{S, 4, false, false, 1, fin, 1}, {G, 4, false, false, 2, both, 2}, false},   /* the gateway sees less */
        {{G, 0, false, false, 0, NULL, 0}, {G, 4, false, false, 0, fin, 1}, false},
        {{OA_ROLE_SECADMIN, 4, false, false, 0, NULL, 0}, {S, 0, false, false, 0, NULL, 0}, true},
        {{S, 1, false, false, 1, NULL, 0}, {OA_ROLE_AUDITOR, 4, false, false, 2, fin, 1}, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_assert_eq(oa_access_widened(&rows[i].before, &rows[i].after), rows[i].widened, "row %zu", i);
    cr_assert_not(oa_access_widened(NULL, &rows[1].after));
    cr_assert_not(oa_access_widened(&rows[1].before, NULL));
}
