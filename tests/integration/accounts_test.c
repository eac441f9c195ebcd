/*
 * tests/integration/accounts_test.c: accounts, sessions, roles and the three
 * administrators, against the real oad.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/accounts_fixture.h"

static struct oad srv;

Test(accounts, first_login_forces_a_password_change)
{
    oad_start(&srv, NULL);
    char otp[64], token[128];
    oad_initial_password(&srv, "sysadmin", otp, sizeof(otp));
    cr_assert_eq(login(&srv, "sysadmin", otp, token, sizeof(token)), 201);
    struct resp r = http_json(&srv, "GET", "/v1/users", token, NULL, NULL);
    account_expect_error(&r, 403, "password_change_required");
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/users/me", token, NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "\"must_change_password\":true"));
    resp_free(&r);

    /* The policy refuses weak passwords, and changes nothing. */
    const char *weak[] = {"short", "sysadmin-is-me-1", "administrator", "aaaaaaaaaaaaaaaa"};
    for (int i = 0; i < 4; i++) {
        char body[256];
        snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"%s\"}", otp, weak[i]);
        r = http_json(&srv, "POST", "/v1/users/me/password", token, body, NULL);
        account_expect_error(&r, 400, "bad_field");
        resp_free(&r);
    }
    char body[256];
    snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"Corr3ct-Horse-Battery\"}", otp);
    r = http_json(&srv, "POST", "/v1/users/me/password", token, body, NULL);
    cr_assert_eq(r.status, 204, "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/users", token, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    /* The one-time password is spent. */
    char t2[128];
    cr_assert_eq(login(&srv, "sysadmin", otp, t2, sizeof(t2)), 401);
    cr_assert_eq(login(&srv, "sysadmin", "Corr3ct-Horse-Battery", t2, sizeof(t2)), 201);
    cr_assert(audit_count(&srv, "event = 'password.change' AND outcome = 'ok'") == 1);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(accounts, unknown_user_wrong_password_and_locked_account_look_the_same)
{
    const char *extra[] = {"security.account_lockout_threshold=3", "security.lockout_threshold=100", NULL};
    oad_start(&srv, extra);
    char token[128];
    struct resp a = http_json(&srv, "POST", "/v1/sessions", NULL, "{\"username\":\"nobody\",\"password\":\"x\"}", NULL);
    struct resp b = http_json(&srv, "POST", "/v1/sessions", NULL, "{\"username\":\"auditor\",\"password\":\"x\"}", NULL);
    cr_assert_eq(a.status, 401);
    cr_assert_eq(b.status, 401);
    cr_assert_str_eq(a.body, b.body);
    resp_free(&a);
    resp_free(&b);
    /* Two more failures lock auditor; then even the right password fails, identically. */
    cr_assert_eq(login(&srv, "auditor", "wrong-1", token, sizeof(token)), 401);
    cr_assert_eq(login(&srv, "auditor", "wrong-2", token, sizeof(token)), 401);
    char otp[64];
    oad_initial_password(&srv, "auditor", otp, sizeof(otp));
    char body[256];
    snprintf(body, sizeof(body), "{\"username\":\"auditor\",\"password\":\"%s\"}", otp);
    struct resp c = http_json(&srv, "POST", "/v1/sessions", NULL, body, NULL);
    cr_assert_eq(c.status, 401);
    struct resp d = http_json(&srv, "POST", "/v1/sessions", NULL, "{\"username\":\"nobody\",\"password\":\"x\"}", NULL);
    cr_assert_str_eq(c.body, d.body);
    resp_free(&c);
    resp_free(&d);
    cr_assert(audit_count(&srv, "event = 'account.lock' AND target = 'auditor'") == 1);
    cr_assert(audit_count(&srv, "event = 'login.fail' AND target = 'nobody'") == 2);

    /* sysadmin lifts the lockout. */
    char sys[128];
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    struct resp u = http_json(&srv, "GET", "/v1/users", sys, NULL, NULL);
    json_t *j = resp_json(&u);
    long long auditor_id = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(j, "users"), i, it)
        if (strcmp(json_string_value(json_object_get(it, "username")), "auditor") == 0) {
            auditor_id = json_integer_value(json_object_get(it, "id"));
            cr_assert(json_is_true(json_object_get(it, "locked")));
        }
    json_decref(j);
    resp_free(&u);
    char path[64];
    snprintf(path, sizeof(path), "/v1/users/%lld/unlock", auditor_id);
    u = http_json(&srv, "POST", path, sys, NULL, NULL);
    cr_assert_eq(u.status, 200, "%s", u.body);
    resp_free(&u);
    cr_assert_eq(login(&srv, "auditor", otp, token, sizeof(token)), 201);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(accounts, tokens_die_at_logout_password_change_and_expiry)
{
    const char *extra[] = {"security.session_lifetime_seconds=2", NULL};
    oad_start(&srv, extra);
    char t1[128], t2[128];
    admin_login(&srv, "auditor", "Log-Reader-2026xy", t1, sizeof(t1));
    cr_assert_eq(login(&srv, "auditor", "Log-Reader-2026xy", t2, sizeof(t2)), 201);

    /* Logout ends t2 only. */
    struct resp r = http_json(&srv, "DELETE", "/v1/sessions/current", t2, NULL, NULL);
    cr_assert_eq(r.status, 204);
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/users/me", t2, NULL, NULL);
    account_expect_error(&r, 401, "unauthenticated");
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/users/me", t1, NULL, NULL);
    cr_assert_eq(r.status, 200);
    resp_free(&r);

    /* A password change ends the other sessions. */
    cr_assert_eq(login(&srv, "auditor", "Log-Reader-2026xy", t2, sizeof(t2)), 201);
    r = http_json(&srv, "POST", "/v1/users/me/password", t1,
                  "{\"current_password\":\"Log-Reader-2026xy\",\"new_password\":\"Another-Good-Pass-7\"}", NULL);
    cr_assert_eq(r.status, 204, "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/users/me", t2, NULL, NULL);
    account_expect_error(&r, 401, "unauthenticated");
    resp_free(&r);

    /* Expiry: the lifetime is 2 s. */
    sleep(3);
    r = http_json(&srv, "GET", "/v1/users/me", t1, NULL, NULL);
    account_expect_error(&r, 401, "unauthenticated");
    resp_free(&r);
    /* Garbage tokens too. */
    r = http_json(&srv, "GET", "/v1/users/me", "not-a-token", NULL, NULL);
    account_expect_error(&r, 401, "unauthenticated");
    resp_free(&r);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(accounts, the_three_administrators_stay_apart)
{
    oad_start(&srv, NULL);
    char sys[128], sec[128], aud[128], otp[64], staff[128];
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", sec, sizeof(sec));
    admin_login(&srv, "auditor", "Log-Reader-2026xy", aud, sizeof(aud));
    long long id = create_staff(&srv, sys, "zhang.san", otp, sizeof(otp));
    char path[64];
    snprintf(path, sizeof(path), "/v1/users/%lld/clearance", id);

    /* sysadmin cannot grant a clearance. */
    struct resp r = http_json(&srv, "PUT", path, sys, "{\"clearance\":2}", "If-Match: *\r\n");
    account_expect_error(&r, 403, "forbidden");
    resp_free(&r);
    /* secadmin cannot create a user. */
    r = http_json(&srv, "POST", "/v1/users", sec, "{\"username\":\"li.si\",\"display_name\":\"Li\",\"roles\":[\"staff\"]}", NULL);
    account_expect_error(&r, 403, "forbidden");
    resp_free(&r);
    /* auditor can change nothing. */
    r = http_json(&srv, "POST", "/v1/users", aud, "{\"username\":\"li.si\",\"display_name\":\"Li\",\"roles\":[\"staff\"]}", NULL);
    account_expect_error(&r, 403, "forbidden");
    resp_free(&r);
    r = http_json(&srv, "PUT", path, aud, "{\"clearance\":4}", "If-Match: *\r\n");
    account_expect_error(&r, 403, "forbidden");
    resp_free(&r);
    /* Nobody grants an administrator role through the API. */
    r = http_json(&srv, "POST", "/v1/users", sys, "{\"username\":\"li.si\",\"display_name\":\"Li\",\"roles\":[\"staff\",\"auditor\"]}", NULL);
    account_expect_error(&r, 400, "bad_field");
    resp_free(&r);
    /* A user cannot raise their own role. */
    cr_assert_eq(login(&srv, "zhang.san", otp, staff, sizeof(staff)), 201);
    char body[256];
    snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"Zhang-San-Pass-99\"}", otp);
    r = http_json(&srv, "POST", "/v1/users/me/password", staff, body, NULL);
    cr_assert_eq(r.status, 204);
    resp_free(&r);
    snprintf(path, sizeof(path), "/v1/users/%lld", id);
    r = http_json(&srv, "PATCH", path, staff, "{\"roles\":[\"leader\"]}", "If-Match: *\r\n");
    account_expect_error(&r, 403, "forbidden");
    resp_free(&r);
    /* The right administrator does it, with If-Match. */
    r = http_json(&srv, "GET", path, sec, NULL, NULL);
    cr_assert_eq(r.status, 200);
    char etag[64];
    snprintf(etag, sizeof(etag), "%s", r.etag);
    cr_assert(etag[0] == '"');
    resp_free(&r);
    snprintf(path, sizeof(path), "/v1/users/%lld/clearance", id);
    r = http_json(&srv, "PUT", path, sec, "{\"clearance\":2,\"compartments\":[\"办公室\"]}", NULL);
    account_expect_error(&r, 428, "precondition_required");
    resp_free(&r);
    r = http_json(&srv, "PUT", path, sec, "{\"clearance\":2}", "If-Match: \"u1-999\"\r\n");
    account_expect_error(&r, 412, "precondition_failed");
    resp_free(&r);
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "If-Match: %s\r\n", etag);
    r = http_json(&srv, "PUT", path, sec, "{\"clearance\":2,\"compartments\":[\"办公室\"]}", hdr);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "\"clearance\":2"));
    cr_assert(strcmp(r.etag, etag) != 0);
    resp_free(&r);
    /* The clearance change ended zhang.san's session. */
    r = http_json(&srv, "GET", "/v1/users/me", staff, NULL, NULL);
    account_expect_error(&r, 401, "unauthenticated");
    resp_free(&r);

    cr_assert_eq(audit_count(&srv, "outcome = 'refused' AND event != 'login.fail'"), 5);
    cr_assert_eq(audit_count(&srv, "event = 'user.clearance' AND outcome = 'ok'"), 1);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(accounts, bad_input_gets_400_and_changes_nothing)
{
    oad_start(&srv, NULL);
    char sys[128];
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    int before = user_count(&srv);
    char huge[70000];
    memset(huge, 'a', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = 0;
    char *huge_body = malloc(sizeof(huge) + 100);
    snprintf(huge_body, sizeof(huge) + 100, "{\"username\":\"%s\",\"display_name\":\"x\",\"roles\":[\"staff\"]}", huge);
    const char *bodies[] = {
        "{}",
        "{\"username\":\"wang.wu\"}",
        "{\"username\":7,\"display_name\":\"x\",\"roles\":[\"staff\"]}",
        "{\"username\":\"wang.wu\",\"display_name\":\"x\",\"roles\":\"staff\"}",
        "{\"username\":\"wang.wu\",\"display_name\":\"x\",\"roles\":[\"emperor\"]}",
        "{\"username\":\"Wang Wu\",\"display_name\":\"x\",\"roles\":[\"staff\"]}",
        "{\"username\":\"wang.wu\",\"username\":\"zhao.liu\",\"display_name\":\"x\",\"roles\":[\"staff\"]}",
        "[1,2,3]",
        "{\"username\":\"wang.wu\",\"display_name\":\"x\",\"roles\":[\"staff\"],\"department_id\":\"one\"}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct resp r = http_json(&srv, "POST", "/v1/users", sys, bodies[i], NULL);
        cr_assert_eq(r.status, 400, "body %zu: %d %s", i, r.status, r.body);
        resp_free(&r);
    }
    struct resp r = http_json(&srv, "POST", "/v1/users", sys, huge_body, NULL);
    cr_assert(r.status == 400 || r.status == 413, "%d", r.status);
    resp_free(&r);
    free(huge_body);
    r = http_json(&srv, "POST", "/v1/sessions", NULL, "{\"username\":[],\"password\":{}}", NULL);
    account_expect_error(&r, 400, "bad_field");
    resp_free(&r);
    cr_assert_eq(user_count(&srv), before);
    cr_assert_eq(oad_stop(&srv), 0);
}

/* ---- a second factor ---- */

Test(accounts, secadmin_requires_a_second_factor_for_administrators)
{
    oad_start(&srv, NULL);
    char sys[128], sec[128], otp[64];
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", sec, sizeof(sec));
    long long staff_id = create_staff(&srv, sys, "wang.wu", otp, sizeof(otp));

    /* Not for staff; yes for sysadmin (id 1). */
    char path[64];
    snprintf(path, sizeof(path), "/v1/users/%lld/totp", staff_id);
    struct resp r = http_json(&srv, "PUT", path, sec, "{\"required\":true}", "If-Match: *\r\n");
    account_expect_error(&r, 400, "bad_field");
    resp_free(&r);
    r = http_json(&srv, "PUT", "/v1/users/1/totp", sys, "{\"required\":true}", "If-Match: *\r\n");
    account_expect_error(&r, 403, "forbidden");
    resp_free(&r);
    r = http_json(&srv, "PUT", "/v1/users/1/totp", sec, "{\"required\":true}", "If-Match: *\r\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);

    /* sysadmin must now enrol before anything else. */
    r = http_json(&srv, "GET", "/v1/users", sys, NULL, NULL);
    account_expect_error(&r, 403, "totp_enrollment_required");
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/users/me/totp", sys, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    json_t *j = resp_json(&r);
    char secret[64];
    snprintf(secret, sizeof(secret), "%s", json_string_value(json_object_get(j, "secret")));
    cr_assert(strstr(json_string_value(json_object_get(j, "otpauth_uri")), "otpauth://totp/oa:sysadmin?secret="));
    json_decref(j);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/users/me/totp/confirm", sys, "{\"code\":\"000000\"}", NULL);
    cr_assert(r.status == 400 || r.status == 204);
    int first = r.status;
    resp_free(&r);
    char code[7], body[256];
    time_t now = time(NULL);
    if (first == 400) { /* "000000" was, by chance, not the current code */
        totp_at(secret, now, code);
        snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
        r = http_json(&srv, "POST", "/v1/users/me/totp/confirm", sys, body, NULL);
        cr_assert_eq(r.status, 204, "%s", r.body);
        resp_free(&r);
    }
    r = http_json(&srv, "GET", "/v1/users", sys, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);

    /* Login now needs the code; a missing or replayed one fails like a wrong password. */
    char tok[128];
    cr_assert_eq(login(&srv, "sysadmin", "Root-Of-Trust-2026", tok, sizeof(tok)), 401);
    totp_at(secret, now + 30, code);
    snprintf(body, sizeof(body), "{\"username\":\"sysadmin\",\"password\":\"Root-Of-Trust-2026\",\"totp\":\"%s\"}", code);
    r = http_json(&srv, "POST", "/v1/sessions", NULL, body, NULL);
    cr_assert_eq(r.status, 201, "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/sessions", NULL, body, NULL);
    account_expect_error(&r, 401, "bad_credentials");
    resp_free(&r);
    cr_assert_eq(audit_count(&srv, "event = 'totp.enroll' AND outcome = 'ok' AND actor = 'sysadmin'"), 1);
    cr_assert_eq(audit_count(&srv, "detail = 'wrong or missing second factor'"), 2);

    /* The secret is not in the database in clear. */
    char dbpath[400];
    snprintf(dbpath, sizeof(dbpath), "%s/oa.db", srv.dir);
    sqlite3 *db;
    sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT length(totp_secret) FROM users WHERE username = 'sysadmin'", -1, &st, NULL);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(st, 0), 61);
    sqlite3_finalize(st);
    sqlite3_close(db);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(accounts, organs_and_departments)
{
    oad_start(&srv, NULL);
    char sys[128], otp[64], staff[128];
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    cr_assert_eq(r.status, 201, "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"again\"}", NULL);
    account_expect_error(&r, 409, "conflict");
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"办公室\"}", NULL);
    cr_assert_eq(r.status, 201, "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":99,\"code\":\"x\",\"name\":\"y\"}", NULL);
    account_expect_error(&r, 400, "bad_field");
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/users", sys,
                  "{\"username\":\"li.si\",\"display_name\":\"李四\",\"roles\":[\"staff\"],\"department_id\":7}", NULL);
    account_expect_error(&r, 400, "bad_field");
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/users", sys,
                  "{\"username\":\"li.si\",\"display_name\":\"李四\",\"roles\":[\"staff\"],\"department_id\":1}", NULL);
    cr_assert_eq(r.status, 201, "%s", r.body);
    json_t *j = resp_json(&r);
    snprintf(otp, sizeof(otp), "%s", json_string_value(json_object_get(j, "one_time_password")));
    json_decref(j);
    resp_free(&r);
    cr_assert_eq(login(&srv, "li.si", otp, staff, sizeof(staff)), 201);
    char body[256];
    snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"Li-Si-Strong-Pass1\"}", otp);
    r = http_json(&srv, "POST", "/v1/users/me/password", staff, body, NULL);
    cr_assert_eq(r.status, 204);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/organs", staff, "{\"code\":\"x\",\"name\":\"y\"}", NULL);
    account_expect_error(&r, 403, "forbidden");
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/organs", staff, NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "\"code\":\"府办\""), "%s", r.body);
    resp_free(&r);
    cr_assert_eq(audit_count(&srv, "event = 'organ.create' AND outcome = 'refused'"), 1);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(accounts, a_disabled_account_loses_its_sessions_and_cannot_log_in)
{
    oad_start(&srv, NULL);
    char sys[128], otp[64], staff[128];
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    long long id = create_staff(&srv, sys, "zhao.liu", otp, sizeof(otp));
    cr_assert_eq(login(&srv, "zhao.liu", otp, staff, sizeof(staff)), 201);
    char path[64];
    snprintf(path, sizeof(path), "/v1/users/%lld", id);
    struct resp r = http_json(&srv, "PATCH", path, sys, "{\"disabled\":true}", "If-Match: *\r\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "\"disabled\":true"));
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/users/me", staff, NULL, NULL);
    account_expect_error(&r, 401, "unauthenticated");
    resp_free(&r);
    cr_assert_eq(login(&srv, "zhao.liu", otp, staff, sizeof(staff)), 401);
    r = http_json(&srv, "PATCH", path, sys, "{\"disabled\":false}", "If-Match: *\r\n");
    cr_assert_eq(r.status, 200);
    resp_free(&r);
    cr_assert_eq(login(&srv, "zhao.liu", otp, staff, sizeof(staff)), 201);
    cr_assert_eq(audit_count(&srv, "event = 'user.disable'"), 1);
    cr_assert_eq(audit_count(&srv, "event = 'user.enable'"), 1);
    cr_assert_eq(oad_stop(&srv), 0);
}

/* Runs `oad admin reset-password` at the console; returns its exit status and
 * the one-time password it printed (last line) in pw. */
static int console_reset(const char *user, char *pw, size_t n)
{
    char cmd[600], out[1024];
    snprintf(cmd, sizeof(cmd), "server/oad admin reset-password %s --data %s --set security.argon2_opslimit=1"
             " --set security.argon2_memlimit=8192", user, srv.dir);
    int st = run_capture(cmd, out, sizeof(out));
    pw[0] = 0;
    /* The password is alone on the line after the one that announces it. */
    const char *at = strstr(out, "first login):\n");
    if (at)
        sscanf(at + strlen("first login):\n"), "%63s", pw);
    (void)n;
    return st;
}

/* #13 item 3: no administrator obtains another account's rights through a password reset. */
Test(accounts, a_password_reset_never_hands_over_another_accounts_rights)
{
    oad_start(&srv, NULL);
    char sys[128], sec[128], aud[128], boss[128], path[96], pw[64], tok[128];
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", sec, sizeof(sec));
    admin_login(&srv, "auditor", "Log-Reader-2026xy", aud, sizeof(aud));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    resp_free(&r);

    /* 1. sysadmin cannot reset secadmin's or the auditor's password (ids 2 and 3). */
    for (int id = 2; id <= 3; id++) {
        snprintf(path, sizeof(path), "/v1/users/%d/password-reset", id);
        r = http_json(&srv, "POST", path, sys, "{}", NULL);
        account_expect_error(&r, 403, "forbidden");
        resp_free(&r);
    }
    cr_assert_eq(audit_count(&srv, "event = 'access.refused' AND target IN ('secadmin', 'auditor')"), 2);

    /* 2. A 机密 reader reset by sysadmin sees nothing until secadmin confirms the clearance. */
    long long boss_id = make_person(&srv, sys, sec, "wang.wu", "[\"staff\"]", 3, "Office-Pass-W-9x", boss, sizeof(boss));
    r = http_json(&srv, "POST", "/v1/documents", boss, "{\"kind\":\"outgoing\",\"title\":\"机密件\",\"level\":3}", NULL);
    json_t *j = ok_json(&r, 201);
    long long doc = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/users/%lld/password-reset", boss_id);
    r = http_json(&srv, "POST", path, sys, "{}", NULL);
    j = ok_json(&r, 200);
    char otp[64];
    snprintf(otp, sizeof(otp), "%s", json_string_value(json_object_get(j, "one_time_password")));
    json_decref(j);
    cr_assert_eq(login(&srv, "wang.wu", otp, tok, sizeof(tok)), 201);
    r = http_json(&srv, "POST", "/v1/users/me/password", tok,
                  "{\"current_password\":\"x\",\"new_password\":\"Puppet-Pass-2026x\"}", NULL);
    resp_free(&r);
    char body[200];
    snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"Puppet-Pass-2026x\"}", otp);
    r = http_json(&srv, "POST", "/v1/users/me/password", tok, body, NULL);
    cr_assert_eq(r.status, 204, "%s", r.body);
    resp_free(&r);
    char dpath[64];
    snprintf(dpath, sizeof(dpath), "/v1/documents/%lld", doc);
    r = http_json(&srv, "GET", dpath, tok, NULL, NULL);
    account_expect_error(&r, 404, "not_found");
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/documents?view=all", tok, NULL, NULL);
    j = ok_json(&r, 200);
    cr_assert_eq(json_array_size(json_object_get(j, "items")), 0, "a held account listed documents");
    json_decref(j);
    r = http_json(&srv, "POST", "/v1/documents", tok, "{\"kind\":\"outgoing\",\"title\":\"x\",\"level\":0}", NULL);
    cr_assert_eq(r.status, 403, "%s", r.body);
    resp_free(&r);
    /* secadmin confirms: the same clearance again, and the account reads. */
    snprintf(path, sizeof(path), "/v1/users/%lld/clearance", boss_id);
    r = http_json(&srv, "PUT", path, sec, "{\"clearance\":3}", "If-Match: *\r\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    cr_assert_eq(login(&srv, "wang.wu", "Puppet-Pass-2026x", tok, sizeof(tok)), 201);
    r = http_json(&srv, "GET", dpath, tok, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);

    /* 3. The console resets secadmin; the one-time password works once and must be changed. */
    cr_assert_eq(console_reset("secadmin", pw, sizeof(pw)), 0);
    cr_assert_eq(strlen(pw), 20, "no password printed");
    cr_assert_eq(login(&srv, "secadmin", "Label-Keeper-2026", tok, sizeof(tok)), 401);
    char code[7], lbody[256];
    totp_at(secadmin_totp_secret(), time(NULL) + 30, code); /* a step the enrolment did not use */
    snprintf(lbody, sizeof(lbody), "{\"username\":\"secadmin\",\"password\":\"%s\",\"totp\":\"%s\"}", pw, code);
    r = http_json(&srv, "POST", "/v1/sessions", NULL, lbody, NULL);
    cr_assert_eq(r.status, 201, "%s", r.body);
    resp_free(&r);
    cr_assert_eq(console_reset("nobody.here", pw, sizeof(pw)), 2);

    /* Every reset is in the trail and in the monthly report. */
    cr_assert_eq(audit_count(&srv, "event = 'user.password_reset' AND outcome = 'ok' AND target = 'wang.wu'"), 1);
    cr_assert_eq(audit_count(&srv, "event = 'console.password_reset' AND target = 'secadmin'"), 1);
    char month[8];
    time_t now = time(NULL);
    strftime(month, sizeof(month), "%Y-%m", gmtime(&now));
    snprintf(path, sizeof(path), "/v1/audit/report?month=%s", month);
    r = http_json(&srv, "GET", path, aud, NULL, NULL);
    j = ok_json(&r, 200);
    json_t *resets = json_object_get(j, "password_resets");
    cr_assert_eq(json_array_size(resets), 2, "password_resets: %zu", json_array_size(resets));
    json_decref(j);
    oad_stop(&srv);
}

/* #13 item 4: PATCH of a field that is not sysadmin's, or of no known field,
 * is refused and changes nothing (the ETag stays). */
Test(accounts, a_patch_of_a_field_not_the_callers_is_refused_and_changes_nothing)
{
    oad_start(&srv, NULL);
    char sys[128], otp[64], path[64], h[128];
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    long long id = create_staff(&srv, sys, "li.si", otp, sizeof(otp));
    snprintf(path, sizeof(path), "/v1/users/%lld", id);
    struct resp r = http_json(&srv, "GET", path, sys, NULL, NULL);
    cr_assert_eq(r.status, 200);
    char etag[64];
    snprintf(etag, sizeof(etag), "%s", r.etag);
    resp_free(&r);
    snprintf(h, sizeof(h), "If-Match: %s\r\n", etag);
    r = http_json(&srv, "PATCH", path, sys, "{\"clearance\":4}", h);
    account_expect_error(&r, 403, "forbidden");
    resp_free(&r);
    r = http_json(&srv, "PATCH", path, sys, "{\"compartments\":[\"a\"],\"display_name\":\"x\"}", h);
    account_expect_error(&r, 403, "forbidden");
    resp_free(&r);
    r = http_json(&srv, "PATCH", path, sys, "{\"favourite_colour\":\"red\"}", h);
    account_expect_error(&r, 400, "bad_field");
    cr_assert(strstr(r.body, "favourite_colour"), "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "GET", path, sys, NULL, NULL);
    cr_assert_str_eq(r.etag, etag, "a refused PATCH changed the account");
    cr_assert(strstr(r.body, "\"clearance\":0"), "%s", r.body);
    resp_free(&r);
    oad_stop(&srv);
}

/* #18 item 3: secadmin enrols an authenticator before the first clearance,
 * compartment or label change, and each change carries a current code. */
Test(accounts, clearance_and_label_changes_need_secadmins_second_factor)
{
    oad_start(&srv, NULL);
    char sys[128], sec[128], otp[64], staff[128], path[96], hdr[64], code[7];
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    /* secadmin logged in by hand: no authenticator yet. */
    oad_initial_password(&srv, "secadmin", otp, sizeof(otp));
    cr_assert_eq(login(&srv, "secadmin", otp, sec, sizeof(sec)), 201);
    char body[256];
    snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"Label-Keeper-2026\"}", otp);
    struct resp r = http_json(&srv, "POST", "/v1/users/me/password", sec, body, NULL);
    cr_assert_eq(r.status, 204);
    resp_free(&r);
    long long id = create_staff(&srv, sys, "zhao.liu", otp, sizeof(otp));
    snprintf(path, sizeof(path), "/v1/users/%lld/clearance", id);
    r = http_json(&srv, "PUT", path, sec, "{\"clearance\":2}", "If-Match: *\r\n");
    account_expect_error(&r, 403, "totp_enrollment_required");
    resp_free(&r);
    /* Enrol. */
    r = http_json(&srv, "POST", "/v1/users/me/totp", sec, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    char secret[64];
    snprintf(secret, sizeof(secret), "%s", json_string_value(json_object_get(j, "secret")));
    json_decref(j);
    totp_at(secret, time(NULL), code);
    snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
    r = http_json(&srv, "POST", "/v1/users/me/totp/confirm", sec, body, NULL);
    cr_assert_eq(r.status, 204, "%s", r.body);
    resp_free(&r);
    /* No code, a wrong code: refused and audited; nothing changes. */
    r = http_json(&srv, "PUT", path, sec, "{\"clearance\":2}", "If-Match: *\r\n");
    account_expect_error(&r, 403, "second_factor_required");
    resp_free(&r);
    snprintf(hdr, sizeof(hdr), "If-Match: *\r\nX-OA-OTP: %06d\r\n", (int)((strtol(code, NULL, 10) + 1) % 1000000));
    r = http_json(&srv, "PUT", path, sec, "{\"clearance\":2}", hdr);
    account_expect_error(&r, 403, "second_factor_required");
    resp_free(&r);
    cr_assert_eq(audit_count(&srv, "event = 'step_up' AND outcome = 'refused'"), 3);
    /* The current code confirms the change (and may confirm another within its 30 s). */
    snprintf(hdr, sizeof(hdr), "If-Match: *\r\nX-OA-OTP: %s\r\n", code);
    r = http_json(&srv, "PUT", path, sec, "{\"clearance\":2}", hdr);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "\"clearance\":2"), "%s", r.body);
    resp_free(&r);
    /* A label change asks for it too. */
    struct resp o = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    resp_free(&o);
    o = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    resp_free(&o);
    cr_assert_eq(login(&srv, "zhao.liu", otp, staff, sizeof(staff)), 201);
    snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"Zhao-Liu-Pass-2026\"}", otp);
    r = http_json(&srv, "POST", "/v1/users/me/password", staff, body, NULL);
    cr_assert_eq(r.status, 204, "%s", r.body);
    resp_free(&r);
    cr_assert_eq(login(&srv, "zhao.liu", "Zhao-Liu-Pass-2026", staff, sizeof(staff)), 201);
    r = http_json(&srv, "POST", "/v1/documents", staff, "{\"kind\":\"outgoing\",\"title\":\"t\",\"level\":1}", NULL);
    j = ok_json(&r, 201);
    long long doc = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/documents/%lld/label", doc);
    r = http_json(&srv, "POST", path, sec, "{\"level\":2,\"reason\":\"定密\"}", NULL);
    account_expect_error(&r, 403, "second_factor_required");
    resp_free(&r);
    snprintf(hdr, sizeof(hdr), "X-OA-OTP: %s\r\n", code);
    r = http_json(&srv, "POST", path, sec, "{\"level\":2,\"reason\":\"定密\"}", hdr);
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    oad_stop(&srv);
}

/* ---- #18 item 4: throttles that stop a guesser without locking others out ---- */

/* One JSON request from a chosen loopback address (all of 127/8 is this machine). */
