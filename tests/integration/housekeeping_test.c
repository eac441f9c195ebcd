/*
 * tests/integration/housekeeping_test.c: what a server running for months
 * forgets (app/housekeeping.c): sessions that ended and action answers kept
 * past security.idempotency_keep_seconds.  Without it both tables only grow.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"

static struct oad srv;
static char sys[128], secadm[128], clerk[128];

static void start(const char *const *extra)
{
    oad_start(&srv, extra);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", secadm, sizeof(secadm));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    json_decref(ok_json(&r, 201));
    r = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    json_decref(ok_json(&r, 201));
    make_person(&srv, sys, secadm, "clerk", "[\"staff\"]", 2, "Office-Pass-H-9x", clerk, sizeof(clerk));
}

static int db_count(const char *sql)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/oa.db", srv.dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Waits up to `secs` for the count to reach `want`; returns the last count. */
static int wait_count(const char *sql, int want, int secs)
{
    int n = db_count(sql);
    for (int i = 0; i < secs * 10 && n != want; i++) {
        usleep(100000);
        n = db_count(sql);
    }
    return n;
}

TestSuite(housekeeping);

Test(housekeeping, ended_sessions_are_deleted_not_kept_for_ever)
{
    static const char *const extra[] = {"storage.housekeeping_seconds=1", "security.session_lifetime_seconds=4",
                                        NULL};
    start(extra);
    char t[128];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(login(&srv, "clerk", "Office-Pass-H-9x", t, sizeof(t)), 201);
    int before = db_count("SELECT count(*) FROM sessions");
    cr_assert_geq(before, 5, "the logins made sessions (%d)", before);
    /* Nobody uses them again: only housekeeping can remove their rows. */
    int after = wait_count("SELECT count(*) FROM sessions", 0, 10);
    cr_assert_eq(after, 0, "%d of %d ended sessions are still in oa.db", after, before);
    /* Logged by the run's done callback on the loop, just after the commit this test saw. */
    cr_assert(oad_log_wait(&srv, "housekeeping", 5), "the run is logged");
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(housekeeping, an_action_answer_is_forgotten_after_its_keeping_time_and_the_key_acts_again)
{
    static const char *const extra[] = {"storage.housekeeping_seconds=1", "security.idempotency_keep_seconds=2",
                                        NULL};
    start(extra);
    struct resp r = http_json(&srv, "POST", "/v1/documents", clerk,
                              "{\"kind\":\"outgoing\",\"title\":\"留存\",\"level\":0,\"body\":\"text\"}", NULL);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    char path[96], steps[160];
    snprintf(path, sizeof(path), "/v1/documents/%lld/actions", id);
    snprintf(steps, sizeof(steps), "SELECT count(*) FROM doc_steps WHERE doc_id = %lld AND action = 'comment'", id);
    const char *body = "{\"action\":\"comment\",\"opinion\":\"once\"}";
    struct resp a = http_json(&srv, "POST", path, clerk, body, "Idempotency-Key: kept-key\r\n");
    struct resp b = http_json(&srv, "POST", path, clerk, body, "Idempotency-Key: kept-key\r\n");
    cr_assert_eq(a.status, 200, "%s", a.body);
    cr_assert_str_eq(a.body, b.body, "within its keeping time the key answers as before");
    resp_free(&a);
    resp_free(&b);
    cr_assert_eq(db_count(steps), 1);
    cr_assert_eq(db_count("SELECT count(*) FROM idempotency"), 1);
    int left = wait_count("SELECT count(*) FROM idempotency", 0, 10);
    cr_assert_eq(left, 0, "the answer is still stored after its keeping time");
    struct resp c = http_json(&srv, "POST", path, clerk, body, "Idempotency-Key: kept-key\r\n");
    cr_assert_eq(c.status, 200, "%s", c.body);
    resp_free(&c);
    cr_assert_eq(db_count(steps), 2, "after its keeping time the key acts anew");
    cr_assert_eq(oad_stop(&srv), 0);
}
