/*
 * tests/app/outcome_test.c: how a use case's end decides its transaction
 * (app/outcome.c): a refusal keeps its audit entry (commit), an undone one
 * rolls back with its error.
 */
#include <criterion/criterion.h>

#include "app/outcome.h"

Test(outcome, done_commits)
{
    struct oa_app_outcome o = {0};
    cr_assert_eq(o.end, OA_APP_DONE);
    cr_assert_eq(oa_app_job_rc(&o), 0);
}

Test(outcome, a_refusal_commits_so_its_audit_entry_stays)
{
    struct oa_app_outcome o = {0};
    cr_assert_eq(oa_app_refuse(&o, OA_E_FORBIDDEN, "no"), OA_APP_REFUSED);
    cr_assert_eq(o.err, OA_E_FORBIDDEN);
    cr_assert_str_eq(o.message, "no");
    cr_assert_eq(oa_app_job_rc(&o), 0);
}

Test(outcome, undone_rolls_back_with_its_error)
{
    struct oa_app_outcome o = {0};
    cr_assert_eq(oa_app_undo(&o, OA_E_BAD_FIELD, "bad date"), OA_APP_UNDONE);
    cr_assert_eq(oa_app_job_rc(&o), OA_E_BAD_FIELD);
    oa_app_undo(&o, OA_E_STORAGE, NULL);
    cr_assert_eq(oa_app_job_rc(&o), OA_E_STORAGE);
    cr_assert_null(o.message);
}
