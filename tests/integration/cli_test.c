/* tests/integration/cli_test.c: the oad and oa command lines, run as a new user would. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/harness.h"

static int run(const char *args, char *out, size_t n)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "server/oad %s 2>&1", args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(cli, help_and_version)
{
    char out[8192];
    cr_assert_eq(run("--help", out, sizeof(out)), 0);
    cr_assert(strstr(out, "Usage: oad COMMAND") && strstr(out, "serve") && strstr(out, "init"));
    cr_assert_eq(run("--version", out, sizeof(out)), 0);
    cr_assert(strncmp(out, "oad ", 4) == 0, "%s", out);
    cr_assert_eq(run("frobnicate", out, sizeof(out)), 2);
    cr_assert(strstr(out, "unknown command"));
    cr_assert_eq(run("serve --listen nonsense", out, sizeof(out)), 2);
}

Test(cli, init_creates_private_files_once_and_serve_needs_init)
{
    char dir[512], args[1024], out[4096], path[600];
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/cli-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(args, sizeof(args), "serve --data %s/none", dir);
    cr_assert_eq(run(args, out, sizeof(out)), 1);
    cr_assert(strstr(out, "oad init"), "%s", out);

    snprintf(args, sizeof(args), "init --data %s/d --set security.argon2_opslimit=1 --set security.argon2_memlimit=8192", dir);
    cr_assert_eq(run(args, out, sizeof(out)), 0, "%s", out);
    const char *files[] = {"keys", "initial-credentials", "oa.db"};
    for (int i = 0; i < 3; i++) {
        struct stat st;
        snprintf(path, sizeof(path), "%s/d/%s", dir, files[i]);
        cr_assert_eq(stat(path, &st), 0, "%s missing", path);
        cr_assert_eq(st.st_mode & 077, 0, "%s is readable by others: %o", path, st.st_mode & 0777);
    }
    snprintf(path, sizeof(path), "%s/d/initial-credentials", dir);
    FILE *f = fopen(path, "r");
    char user[64], pw[64];
    int n = 0;
    while (fscanf(f, "%63s %63s", user, pw) == 2) {
        cr_assert(strlen(pw) >= 20);
        n++;
    }
    fclose(f);
    cr_assert_eq(n, 3);
    cr_assert_eq(run(args, out, sizeof(out)), 1, "a second init succeeded");
    cr_assert(strstr(out, "already initialised"));
}

/* #18 item 5: one damaged key in the key file stops oad at start with a clear
 * message, instead of failing the first time that key is needed. */
Test(cli, a_damaged_key_file_is_refused_at_start)
{
    char dir[256], out[4096], args[512], path[400];
    const char *t = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/keys-XXXXXX", t ? t : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(args, sizeof(args), "init --data %s/d --set security.argon2_opslimit=1 --set security.argon2_memlimit=8192", dir);
    cr_assert_eq(run(args, out, sizeof(out)), 0, "%s", out);
    /* Flip one hex digit of the level-2 key: it still parses as a key. */
    snprintf(path, sizeof(path), "%s/d/keys", dir);
    FILE *f = fopen(path, "r+");
    cr_assert_not_null(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = 0;
    char *line = strstr(text, "kek 2 1 ");
    cr_assert_not_null(line, "%s", text);
    char *digit = line + strlen("kek 2 1 ") + 5;
    *digit = *digit == '0' ? '1' : '0';
    rewind(f);
    fwrite(text, 1, n, f);
    fclose(f);
    snprintf(args, sizeof(args), "serve --data %s/d --listen 127.0.0.1:0", dir);
    cr_assert_eq(run(args, out, sizeof(out)), 1, "oad served with a damaged key file: %s", out);
    cr_assert(strstr(out, "key file") && strstr(out, "damaged"), "%s", out);
}

/* Runs `oa` as a person with their own HOME and OA_PASSWORD; returns the exit status. */
static int oa(const struct oad *o, const char *home, const char *password, const char *args, char *out, size_t n)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "HOME=%s XDG_CONFIG_HOME= XDG_DATA_HOME= OA_PASSWORD='%s' clients/oa --server http://127.0.0.1:%d %s 2>&1",
             home, password, o->port, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A staff member "clerk" with password Ledger-Pass-2026-x, and a HOME for them; their session token in tok. */
static void clerk(struct oad *o, char *home, size_t n, char tok[128])
{
    char sys[128], sec[128];
    admin_login(o, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(o, "secadmin", "Label-Keeper-2026", sec, sizeof(sec));
    struct resp r = http_json(o, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    cr_assert_eq(r.status, 201, "%s", r.body);
    resp_free(&r);
    r = http_json(o, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    cr_assert_eq(r.status, 201, "%s", r.body);
    resp_free(&r);
    make_person(o, sys, sec, "clerk", "[\"staff\"]", 1, "Ledger-Pass-2026-x", tok, 128);
    snprintf(home, n, "%s/home-XXXXXX", getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp");
    cr_assert_not_null(mkdtemp(home));
}

Test(cli, oa_login_with_a_wrong_password_exits_1_and_keeps_the_session)
{
    struct oad o;
    oad_start(&o, NULL);
    char home[512], out[8192], path[600], tok[128];
    clerk(&o, home, sizeof(home), tok);
    cr_assert_eq(oa(&o, home, "Ledger-Pass-2026-x", "login clerk", out, sizeof(out)), 0, "%s", out);
    snprintf(path, sizeof(path), "%s/.config/oa/session", home);
    cr_assert_eq(access(path, F_OK), 0, "no session after logging in: %s", out);

    /* A mistyped password is a refusal (1), not "log in first" (5)... */
    int ex = oa(&o, home, "Ledger-Pass-2026-y", "login clerk", out, sizeof(out));
    cr_assert_eq(ex, 1, "exit %d: %s", ex, out);
    cr_assert(strstr(out, "password is wrong"), "%s", out);
    cr_assert(strstr(out, "log in again") == NULL, "%s", out);
    /* ...and does not throw away the session that was there, nor the local copy with what is queued in it. */
    cr_assert_eq(access(path, F_OK), 0, "the failed login removed the session");
    cr_assert_eq(oa(&o, home, "", "todo", out, sizeof(out)), 0, "%s", out);
    oad_stop(&o);
}

Test(cli, oa_login_sends_the_authenticator_code)
{
    struct oad o;
    oad_start(&o, NULL);
    char home[512], out[8192], tok[128], secret[64], code[7], body[64], args[64];
    clerk(&o, home, sizeof(home), tok);
    struct resp r = http_json(&o, "POST", "/v1/users/me/totp", tok, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    snprintf(secret, sizeof(secret), "%s", json_string_value(json_object_get(j, "secret")));
    json_decref(j);
    long long now = (long long)time(NULL);
    totp_at(secret, now, code);
    snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
    r = http_json(&o, "POST", "/v1/users/me/totp/confirm", tok, body, NULL);
    cr_assert_eq(r.status, 204, "%s", r.body);
    resp_free(&r);

    cr_assert_eq(oa(&o, home, "Ledger-Pass-2026-x", "login clerk", out, sizeof(out)), 1, "%s", out);
    totp_at(secret, now + 30, code); /* the next step: the confirmed one is used up */
    snprintf(args, sizeof(args), "login --otp %s clerk", code);
    int ex = oa(&o, home, "Ledger-Pass-2026-x", args, out, sizeof(out));
    cr_assert_eq(ex, 0, "exit %d: %s", ex, out);
    cr_assert(strstr(out, "logged in"), "%s", out);
    oad_stop(&o);
}
