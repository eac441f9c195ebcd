/*
 * tests/integration/accounts_fixture.h: what accounts_test and
 * login_limits_test share: an error's status and code, counts read from the
 * live database, and a staff account made by sysadmin.
 */
#ifndef OA_TESTS_ACCOUNTS_FIXTURE_H
#define OA_TESTS_ACCOUNTS_FIXTURE_H

#include "tests/integration/harness.h"

/* Asserts r is the error (status, code). */
void account_expect_error(struct resp *r, int status, const char *code);

/* The number of audit entries matching a WHERE clause, read from o's live database. */
int audit_count(const struct oad *o, const char *where);

/* The number of accounts in o's database. */
int user_count(const struct oad *o);

/* sysadmin (sys_token) creates staff account name: its id, and its one-time password in otp. */
long long create_staff(const struct oad *o, const char *sys_token, const char *name, char *otp, size_t n);

#endif
