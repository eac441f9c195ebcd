/*
 * server/h_sessions.c: logging in and out, the caller's sessions, the
 * caller's own account and password.
 *
 * Login answers the same way -- 401 bad_credentials, after the same Argon2id
 * work and the same delay -- for an unknown user, a wrong password, a locked
 * and a disabled account, so nothing tells from outside which it was.
 * Failures are throttled per (source, account) pair, per source and per
 * account: see "throttles" below.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/accounts.h"
#include "model/clock.h"
#include "proto/value.h"
#include "server/auth.h"
#include "server/handlers.h"
#include "proto/log.h"
#include "server/server.h"
#include "app/totp.h"
#include "workflow/access.h"
#include "workflow/password.h"

/* ---- throttles (loop thread only) ----
 *
 * Brute force is made slow where it happens without handing anyone a way to
 * lock others out:
 *   - per (source address, account name) pair: each failure doubles the
 *     answer's delay (login_failure_delay_ms, up to 32x), and after
 *     `lockout_threshold` failures the pair is refused (429) for
 *     `lockout_seconds`: the guesser is stopped, the account's owner at
 *     another workstation is not;
 *   - per source address: after `source_failure_limit` failures in 15 minutes
 *     only logins that carry a second factor are tried (a terminal room
 *     behind one address keeps working for people with an authenticator);
 *   - per account (in the database): `account_lockout_threshold` failures
 *     from any sources lock it for `lockout_seconds`, or until sysadmin
 *     unlocks it: a slow guesser spread over many addresses.
 * Each table is bounded: a slot is reused when its window has passed or by a
 * newer key that hashes to it, so months of traffic cannot grow it.
 */

#define THROTTLE_SLOTS 4096
#define SOURCE_WINDOW_S 900

struct throttle {
    char key[64 + 1 + OA_USERNAME_MAX + 1]; /* "source" or "source\nusername" */
    unsigned failures;
    int64_t since;
    bool audited; /* the refusal was recorded once for this window */
};

static struct throttle sources[THROTTLE_SLOTS], pairs[THROTTLE_SLOTS];


/* The slot for key in table t, or NULL when it holds another key or an old window and create is false. */
static struct throttle *throttle_of(struct throttle *t, const char *key, int64_t window, bool create)
{
    /* Keyed (SipHash, a key drawn at start): nobody can pick a name that
     * lands on someone else's slot and so reset its count. */
    static unsigned char hash_key[crypto_shorthash_KEYBYTES];
    static bool keyed;
    if (!keyed) {
        randombytes_buf(hash_key, sizeof(hash_key));
        keyed = true;
    }
    unsigned char h8[crypto_shorthash_BYTES];
    crypto_shorthash(h8, (const unsigned char *)key, strlen(key), hash_key);
    uint64_t h = 0;
    memcpy(&h, h8, sizeof(h));
    struct throttle *s = &t[h % THROTTLE_SLOTS];
    int64_t now = oa_now();
    if (strcmp(s->key, key) != 0 || now - s->since > window) {
        if (!create)
            return NULL;
        snprintf(s->key, sizeof(s->key), "%s", key);
        s->failures = 0;
        s->since = now;
        s->audited = false;
    }
    return s;
}

/* Sources are IPv4 addresses and IPv6 /64s (r->source, server/source.h). */
static struct throttle *source_of(const char *source, bool create)
{
    return throttle_of(sources, source, SOURCE_WINDOW_S, create);
}

static struct throttle *pair_of(const char *source, const char *username, int64_t window, bool create)
{
    char key[sizeof(pairs[0].key)];
    snprintf(key, sizeof(key), "%s\n%s", source, username);
    return throttle_of(pairs, key, window, create);
}

/* ---- login ---- */

struct login {
    struct oa_req_job base;
    const char *password;   /* in the request's arena */
    int phase;              /* 1: read the user; 2: record the outcome */
    struct oa_app_login in; /* the use case's (app/sessions.c) */
    char token[OA_TOKEN_TEXT];
    unsigned char hash[32];
};

static int login_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct login *l = (struct login *)job;
    struct oa_req *r = l->base.r;
    if (l->phase == 1)
        return oa_app_login_find(s, &l->in);
    const struct oa_config *cfg = r->srv->cfg;
    const struct oa_app_login_policy p = {cfg->account_lockout_threshold, cfg->lockout_s, cfg->session_lifetime_s};
    return oa_app_login_record(s, OA_REQ_ACTOR(r), r->srv->keys, &p, &l->in);
}

static void login_finish(struct oa_req_job *j, bool ok)
{
    struct login *l = (struct login *)j;
    (void)ok;
    sodium_memzero(l->token, sizeof(l->token));
    sodium_memzero(l->hash, sizeof(l->hash));
    sodium_memzero(&l->in.user, sizeof(l->in.user)); /* its password hash and wrapped TOTP secret */
}

static void login_delay_closed(uv_handle_t *h)
{
    free(h);
}

/* A failed login is answered after its delay. */
static void login_on_delay(uv_timer_t *t)
{
    struct login *l = t->data;
    uv_close((uv_handle_t *)t, login_delay_closed);
    oa_req_fail(&l->base, OA_E_BAD_CREDENTIALS, NULL);
    oa_req_job_answer(&l->base);
}

static void login_on_verified(void *arg, bool verified, const char *new_hash)
{
    struct login *l = arg;
    (void)new_hash;
    int64_t now = oa_now();
    l->in.verified = verified && l->in.found == 1 && !l->in.user.disabled && l->in.user.locked_until <= now;
    l->phase = 2;
    oa_token_new(l->token, l->hash); /* the session's, if the login holds */
    oa_req_job_submit(&l->base);
}

/* After the read: check the password on the pool; after the record: the session, or a delayed refusal. */
static bool login_step(struct oa_req_job *j)
{
    struct login *l = (struct login *)j;
    struct oa_req *r = j->r;
    const struct oa_config *cfg = r->srv->cfg;
    if (l->phase == 1) {
        /* A throttled source spends no Argon2id on anyone who could not pass
         * anyway: only an account with an authenticator, and a code of the
         * right shape, gets its password checked. */
        if (l->in.source_throttled && (l->in.found != 1 || !l->in.user.totp_confirmed || l->in.totp == NULL ||
                                    strspn(l->in.totp, "0123456789") != 6 || l->in.totp[6] != '\0')) {
            oa_req_fail(j, OA_E_RATE_LIMITED,
                        "Too many failed logins from this address: log in with your authenticator's code, or wait.");
            return false;
        }
        oa_password_work(r->srv->loop, l->in.found == 1 ? l->in.user.pw_hash : NULL, l->password, NULL,
                         cfg->argon2_opslimit, cfg->argon2_memlimit, login_on_verified, l);
        return true;
    }
    if (l->in.verified) {
        cbor_item_t *m = pv_map(5);
        pv_put_text(m, "token", l->token);
        pv_put_int(m, "expires_at", l->in.expires_at);
        pv_put_bool(m, "must_change_password", l->in.user.must_change_pw);
        pv_put_bool(m, "totp_enrollment_required", l->in.user.totp_required && !l->in.user.totp_confirmed);
        cbor_item_t *u = pv_map(3);
        pv_put_int(u, "id", l->in.user.id);
        pv_put_text(u, "username", l->in.user.username);
        pv_put_int(u, "clearance", l->in.user.clearance);
        pv_put(m, "user", u);
        snprintf(r->who.username, sizeof(r->who.username), "%s", l->in.user.username);
        j->status = 201;
        j->out = m;
        return false;
    }
    /* Slow the failure down by the pair's failure count; count the source's too. */
    struct throttle *src = source_of(r->source, true);
    src->failures++;
    struct throttle *pair = pair_of(r->source, l->in.username, cfg->lockout_s, true);
    pair->failures++;
    unsigned shift = pair->failures > 6 ? 5 : pair->failures - 1;
    uint64_t ms = (uint64_t)cfg->login_delay_ms << shift; /* 250 ms, doubling, up to 8 s */
    uv_timer_t *delay = oa_xcalloc(1, sizeof(*delay));
    uv_timer_init(r->srv->loop, delay);
    delay->data = l;
    uv_timer_start(delay, login_on_delay, ms, 0);
    return true;
}

/* Answers 429, and records the throttle in the audit trail once per window. */
static void throttle_refuse(struct oa_req *r, struct throttle *t, const char *username, const char *event,
                            const char *detail, const char *message)
{
    if (t->audited) {
        oa_reply_error(r, OA_E_RATE_LIMITED, message);
        return;
    }
    t->audited = true;
    oa_log(OA_LOG_WARN, "login_throttled", "event=%s reason=\"%s\"", event, detail);
    oa_refuse(r, OA_E_RATE_LIMITED, message, event, username);
}

void h_login(struct oa_req *r)
{
    const char *username = NULL, *password = NULL, *totp = NULL;
    struct pv_field f[] = {
        {"username", PV_TEXT, PV_REQUIRED, 1, OA_USERNAME_MAX, &username, NULL},
        {"password", PV_TEXT, PV_REQUIRED, 1, 1024, &password, NULL},
        {"totp", PV_TEXT, 0, 1, 16, &totp, NULL},
    };
    if (!oa_req_fields(r, f, 3))
        return;
    const struct oa_config *cfg = r->srv->cfg;
    /* #17: with client certificates bound to accounts, one logs in only as one's certificate's account. */
    if (oa_access_client_cert(cfg->tls_client_account, r->client_cn, username) != OA_ALLOW) {
        oa_refuse(r, OA_E_FORBIDDEN, oa_decision_reason(OA_DENY_CERT), "tls.client_cert_refused", username);
        return;
    }
    struct throttle *pair = pair_of(r->source, username, cfg->lockout_s, false);
    if (pair != NULL && pair->failures >= cfg->lockout_threshold) {
        throttle_refuse(r, pair, username, "login.throttle", "too many failed logins for this account from this address",
                        "Too many failed logins for this account from this address; wait and try again.");
        return;
    }
    struct throttle *src = source_of(r->source, false);
    bool source_throttled = src != NULL && src->failures >= cfg->source_failure_limit;
    if (source_throttled && totp == NULL) {
        throttle_refuse(r, src, username, "login.source_throttle", "too many failed logins from this address",
                        "Too many failed logins from this address: log in with your authenticator's code, or wait.");
        return;
    }
    struct login *l = oa_req_job_new(r, sizeof(*l), login_on_run, OA_JOB_ESSENTIAL); /* logins go on while the disk is full */
    l->in.username = username;
    l->password = password;
    l->in.totp = totp;
    l->phase = 1;
    l->in.source_throttled = source_throttled;
    l->in.token_hash = l->hash;
    l->base.step = login_step;
    l->base.finish = login_finish;
    oa_req_job_submit(&l->base);
}

/* ---- logout and the caller's sessions ---- */

struct session_job {
    struct oa_req_job base;
    int64_t target; /* session id to end */
};

static int logout_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct session_job *j = (struct session_job *)job;
    struct oa_req *r = j->base.r;
    bool found = false;
    int rc = oa_app_session_end(s, OA_REQ_ACTOR(r), j->target, j->target == r->who.session_id, &found);
    if (rc != 0)
        return rc;
    if (!found)
        return oa_req_fail(&j->base, OA_E_NOT_FOUND, "You have no session with that id.");
    j->base.status = 204;
    return 0;
}

static void session_submit(struct oa_req *r, oa_db_run_fn run, int64_t target)
{
    struct session_job *j = oa_req_job_new(r, sizeof(*j), run, 0);
    j->target = target;
    oa_req_job_submit(&j->base);
}

void h_logout(struct oa_req *r)
{
    session_submit(r, logout_on_run, r->who.session_id);
}

void h_session_delete(struct oa_req *r)
{
    int64_t id;
    if (!oa_path_id(r, 0, "You have no session with that id.", &id))
        return;
    session_submit(r, logout_on_run, id);
}

static int sessions_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct session_job *j = (struct session_job *)job;
    struct oa_session sessions[100];
    size_t n = 0;
    int rc = oa_app_sessions(s, OA_REQ_ACTOR(j->base.r), sessions, 100, &n);
    if (rc != 0)
        return rc;
    cbor_item_t *list = pv_array(n);
    for (size_t i = 0; i < n; i++) {
        cbor_item_t *m = pv_map(6);
        pv_put_int(m, "id", sessions[i].id);
        pv_put_int(m, "created_at", sessions[i].created_at);
        pv_put_int(m, "last_used_at", sessions[i].last_used_at);
        pv_put_int(m, "expires_at", sessions[i].expires_at);
        pv_put_text(m, "source", sessions[i].source);
        pv_put_bool(m, "current", sessions[i].id == j->base.r->who.session_id);
        pv_push(list, m);
    }
    cbor_item_t *out = pv_map(1);
    pv_put(out, "sessions", list);
    j->base.status = 200;
    j->base.out = out;
    return 0;
}

void h_sessions_list(struct oa_req *r)
{
    session_submit(r, sessions_on_run, 0);
}

/* ---- the caller's account ---- */

static int me_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct oa_req_job *j = (struct oa_req_job *)job;
    struct oa_user user;
    char **compartments = NULL;
    int rc = oa_app_me_read(s, OA_REQ_ACTOR(j->r), &user, &compartments);
    if (rc == 0) {
        oa_app_user_etag(&user, j->etag, sizeof(j->etag));
        j->status = 200;
        j->out = oa_app_user_item(&user, compartments);
    }
    oa_strv_free(compartments);
    return rc;
}

void h_me(struct oa_req *r)
{
    oa_req_job_submit(oa_req_job_new(r, sizeof(struct oa_req_job), me_on_run, 0));
}

/* Password change: read the hash, verify + hash on the pool, then write. */
struct pwchange {
    struct oa_req_job base;
    int phase;
    struct oa_user user;
    const char *current, *next;
    char new_hash[128];
    bool verified;
};

static int pwchange_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct pwchange *p = (struct pwchange *)job;
    const struct oa_app_actor *by = OA_REQ_ACTOR(p->base.r);
    if (p->phase == 1)
        return oa_app_me(s, by, &p->user);
    return oa_app_password_change(s, by, p->base.r->who.session_id, p->verified, p->new_hash);
}

static void pwchange_on_hashed(void *arg, bool verified, const char *new_hash)
{
    struct pwchange *p = arg;
    p->verified = verified && new_hash != NULL;
    if (new_hash)
        snprintf(p->new_hash, sizeof(p->new_hash), "%s", new_hash);
    p->phase = 2;
    oa_req_job_submit(&p->base);
}

/* After the read: verify and hash on the pool; after the write: the answer. */
static bool pwchange_step(struct oa_req_job *j)
{
    struct pwchange *p = (struct pwchange *)j;
    if (p->phase == 1) {
        const struct oa_config *cfg = j->r->srv->cfg;
        oa_password_work(j->r->srv->loop, p->user.pw_hash, p->current, p->next, cfg->argon2_opslimit,
                         cfg->argon2_memlimit, pwchange_on_hashed, p);
        return true;
    }
    if (!p->verified)
        oa_req_fail(j, OA_E_FORBIDDEN, "The current password is wrong.");
    else
        j->status = 204;
    return false;
}

static void pwchange_finish(struct oa_req_job *j, bool ok)
{
    struct pwchange *p = (struct pwchange *)j;
    (void)ok;
    sodium_memzero(&p->user, sizeof(p->user));
    sodium_memzero(p->new_hash, sizeof(p->new_hash));
}

void h_me_password(struct oa_req *r)
{
    const char *current = NULL, *next = NULL;
    struct pv_field f[] = {
        {"current_password", PV_TEXT, PV_REQUIRED, 1, 1024, &current, NULL},
        {"new_password", PV_TEXT, PV_REQUIRED, 1, 1024, &next, NULL},
    };
    if (!oa_req_fields(r, f, 2))
        return;
    const char *why = oa_password_check(r->who.username, next);
    if (why == NULL && strcmp(current, next) == 0)
        why = "The new password must differ from the current one.";
    if (why != NULL) {
        oa_reply_error(r, OA_E_BAD_FIELD, why);
        return;
    }
    struct pwchange *p = oa_req_job_new(r, sizeof(*p), pwchange_on_run, 0);
    p->phase = 1;
    p->current = current;
    p->next = next;
    p->base.step = pwchange_step;
    p->base.finish = pwchange_finish;
    oa_req_job_submit(&p->base);
}
