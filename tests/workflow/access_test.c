/* tests/workflow/access_test.c: the access decision and role rules, table-driven. */
#include <criterion/criterion.h>

#include "workflow/access.h"
#include "workflow/password.h"

static const unsigned roles[] = {
    OA_ROLE_STAFF, OA_ROLE_SECRETARIAT, OA_ROLE_DEPT_HEAD, OA_ROLE_LEADER, OA_ROLE_RECORDS,
    OA_ROLE_GATEWAY, OA_ROLE_SYSADMIN, OA_ROLE_SECADMIN, OA_ROLE_AUDITOR,
};
#define NROLES (sizeof(roles) / sizeof(roles[0]))

/* The one role allowed each action; everyone else is refused. */
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
        return OA_ROLE_SECADMIN;
    case OA_ACT_AUDIT_READ:
        return OA_ROLE_AUDITOR;
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
            a == OA_ACT_AUDIT_READ)
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
    /* ...but a locked-out or forgotten administrator can be recovered. */
    cr_assert_eq(oa_access_decide(&sys, OA_ACT_USER_UNLOCK, &auditor), OA_ALLOW);
    cr_assert_eq(oa_access_decide(&sys, OA_ACT_USER_RESET_PW, &auditor), OA_ALLOW);
    cr_assert_eq(oa_access_decide(NULL, OA_ACT_USER_READ, NULL), OA_DENY_ROLE);
    cr_assert_eq(oa_access_decide(&sys, OA_ACT__COUNT, NULL), OA_DENY_ROLE);
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
