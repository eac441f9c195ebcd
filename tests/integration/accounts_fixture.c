/* tests/integration/accounts_fixture.c: see accounts_fixture.h. */
#include "tests/integration/accounts_fixture.h"

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

void account_expect_error(struct resp *r, int status, const char *code)
{
    cr_assert_eq(r->status, status, "status %d (want %d), body %s", r->status, status, r->body);
    json_t *j = resp_json(r);
    cr_assert_not_null(j);
    cr_assert_str_eq(json_string_value(json_object_get(j, "code")), code);
    json_decref(j);
}

/* Counts audit entries matching a WHERE clause, reading the live database. */
int audit_count(const struct oad *o, const char *where)
{
    char path[400], sql[512];
    snprintf(path, sizeof(path), "%s/oa.db", o->dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_log WHERE %s", where);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

int user_count(const struct oad *o)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/oa.db", o->dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM users", -1, &st, NULL);
    sqlite3_step(st);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* sysadmin creates a staff user; returns its id and one-time password. */
long long create_staff(const struct oad *o, const char *sys_token, const char *name, char *otp, size_t n)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"display_name\":\"%s\",\"roles\":[\"staff\"]}", name, name);
    struct resp r = http_json(o, "POST", "/v1/users", sys_token, body, NULL);
    cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
    json_t *j = resp_json(&r);
    snprintf(otp, n, "%s", json_string_value(json_object_get(j, "one_time_password")));
    long long id = json_integer_value(json_object_get(json_object_get(j, "user"), "id"));
    json_decref(j);
    resp_free(&r);
    return id;
}
