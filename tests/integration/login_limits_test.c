/*
 * tests/integration/login_limits_test.c: what stops a password guesser and a
 * login burst (per-account and per-source throttles, step-up lockout, the
 * Argon2id threads), against the real oad.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/accounts_fixture.h"

static struct oad srv;

static struct resp json_from(const char *src_ip, const char *method, const char *path, const char *json)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in me = {.sin_family = AF_INET}, to = {.sin_family = AF_INET};
    inet_pton(AF_INET, src_ip, &me.sin_addr);
    cr_assert_eq(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    to.sin_port = htons((uint16_t)srv.port);
    cr_assert_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
    char head[512];
    int n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", method, path, strlen(json));
    cr_assert(http_send(fd, head, (size_t)n) && http_send(fd, json, strlen(json)));
    struct resp r;
    cr_assert(http_read(fd, &r, 20000));
    http_close(fd);
    return r;
}

static int login_from(const char *src_ip, const char *user, const char *pw, const char *totp)
{
    char body[256];
    if (totp)
        snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\",\"totp\":\"%s\"}", user, pw, totp);
    else
        snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
    struct resp r = json_from(src_ip, "POST", "/v1/sessions", body);
    int st = r.status;
    resp_free(&r);
    return st;
}

Test(login_limits, a_guesser_is_throttled_without_locking_out_the_account_or_the_room)
{
    const char *extra[] = {"security.lockout_threshold=3", "security.source_failure_limit=6",
                           "security.login_failure_delay_ms=1", NULL};
    oad_start(&srv, extra);
    char sys[128], sec[128];
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", sec, sizeof(sec));
    /* A guesser at 127.0.0.2 tries sysadmin's password three times... */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(login_from("127.0.0.2", "sysadmin", "guess", NULL), 401);
    /* ...and that pair is refused from then on, even with the right password... */
    cr_assert_eq(login_from("127.0.0.2", "sysadmin", "Root-Of-Trust-2026", NULL), 429);
    /* ...but sysadmin at another workstation logs in: the account is not locked. */
    cr_assert_eq(login_from("127.0.0.3", "sysadmin", "Root-Of-Trust-2026", NULL), 201);
    cr_assert_eq(audit_count(&srv, "event = 'login.throttle' AND target = 'sysadmin'"), 1);
    cr_assert_eq(audit_count(&srv, "event = 'account.lock'"), 0);

    /* The guesser moves on to other names from the same address (a terminal room behind one address). */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(login_from("127.0.0.2", "auditor", "guess", NULL), 401);
    cr_assert_eq(login_from("127.0.0.2", "secadmin", "Label-Keeper-2026", NULL), 429,
                 "a throttled source let a password without a second factor through");
    cr_assert_eq(audit_count(&srv, "event = 'login.source_throttle'"), 1);
    /* A colleague in that room with an authenticator still gets in. */
    char code[7];
    totp_at(secadmin_totp_secret(), time(NULL) + 30, code);
    cr_assert_eq(login_from("127.0.0.2", "secadmin", "Label-Keeper-2026", code), 201);
    oad_stop(&srv);
}

/* Review S1: wrong step-up codes count like wrong passwords; a stolen
 * secadmin session cannot try a million of them. */
Test(login_limits, wrong_step_up_codes_lock_the_account_and_end_its_sessions)
{
    const char *extra[] = {"security.lockout_threshold=3", NULL};
    oad_start(&srv, extra);
    char sys[128], sec[128], otp[64], path[64], hdr[96];
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", sec, sizeof(sec));
    long long id = create_staff(&srv, sys, "qian.qi", otp, sizeof(otp));
    snprintf(path, sizeof(path), "/v1/users/%lld/clearance", id);
    char good[7];
    totp_at(secadmin_totp_secret(), time(NULL), good);
    for (int i = 0; i < 3; i++) {
        /* A code that is surely wrong: the current one plus one. */
        snprintf(hdr, sizeof(hdr), "If-Match: *\r\nX-OA-OTP: %06d\r\n", (int)((strtol(good, NULL, 10) + 1 + i) % 1000000));
        struct resp r = http_json(&srv, "PUT", path, sec, "{\"clearance\":1}", hdr);
        cr_assert(r.status == 403 || r.status == 401, "%d %s", r.status, r.body);
        resp_free(&r);
    }
    struct resp r = http_json(&srv, "GET", "/v1/users/me", sec, NULL, NULL);
    account_expect_error(&r, 401, "unauthenticated");
    resp_free(&r);
    cr_assert_eq(audit_count(&srv, "event = 'account.lock' AND target = 'secadmin'"), 1);
    oad_stop(&srv);
}

/* #13 item 5: a login burst never takes more than two of the pool's threads
 * for Argon2id; the rest wait in line, so sealing and downloads keep theirs. */
struct burst { int i; int status; };

static void *burst_login(void *arg)
{
    struct burst *b = arg;
    char body[128];
    snprintf(body, sizeof(body), "{\"username\":\"nobody%d\",\"password\":\"wrong\"}", b->i);
    struct resp r = http_json(&srv, "POST", "/v1/sessions", NULL, body, NULL);
    b->status = r.status;
    resp_free(&r);
    return NULL;
}

Test(login_limits, a_login_burst_takes_at_most_two_threads_for_argon2id)
{
    const char *extra[] = {"security.argon2_memlimit=16777216", "security.argon2_opslimit=2", NULL};
    oad_start(&srv, extra);
    char sys[128];
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    enum { N = 8 };
    pthread_t th[N];
    struct burst b[N];
    for (int i = 0; i < N; i++) {
        b[i].i = i;
        cr_assert_eq(pthread_create(&th[i], NULL, burst_login, &b[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(b[i].status, 401);
    }
    struct resp r = http_json(&srv, "GET", "/metrics", sys, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    const char *p = strstr(r.body, "\noa_password_work_peak ");
    cr_assert_not_null(p, "no oa_password_work_peak in /metrics");
    long peak = strtol(p + strlen("\noa_password_work_peak "), NULL, 10);
    cr_assert(peak >= 1 && peak <= 2, "Argon2id ran %ld at once", peak);
    resp_free(&r);
    oad_stop(&srv);
}
