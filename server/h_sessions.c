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

#include "app/audit.h"
#include "proto/value.h"
#include "server/auth.h"
#include "server/handlers.h"
#include "proto/log.h"
#include "server/server.h"
#include "app/totp.h"
#include "storage/accounts.h"
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
    struct oa_db_job job;
    struct oa_req *r;
    const char *username, *password, *totp; /* in the request's arena */
    int phase;              /* 1: read the user; 2: record the outcome */
    int found;
    struct oa_user user;
    bool verified;
    bool second_factor_failed;
    bool locked_now;
    bool source_throttled;  /* the source is over its limit: only a second factor lets this through */
    unsigned threshold, lockout_s, lifetime_s;
    char token[OA_TOKEN_TEXT];
    unsigned char hash[32];
    int64_t expires_at;
    uv_timer_t delay;
};

static int login_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct login *l = (struct login *)job;
    int64_t now = oa_now();
    if (l->phase == 1) {
        l->found = oa_user_by_name(s, l->username, &l->user);
        return l->found < 0 ? OA_E_STORAGE : 0;
    }
    struct oa_audit_event ev = {0};
    oa_audit_actor(l->r, &ev);
    ev.actor_id = l->found == 1 ? l->user.id : 0;
    ev.actor = l->username;
    ev.target = l->username;
    if (l->found == 1) {
        /* Re-read: the account may have changed since phase 1, and this
         * phase writes it back. */
        struct oa_user fresh;
        int rc = oa_user_by_id(s, l->user.id, &fresh);
        if (rc < 0)
            return OA_E_STORAGE;
        if (rc == 0) {
            l->found = 0;
            l->verified = false;
        } else {
            if (fresh.disabled || fresh.locked_until > now || strcmp(fresh.pw_hash, l->user.pw_hash) != 0)
                l->verified = false;
            l->user = fresh;
        }
    }
    if (l->verified && l->user.totp_confirmed) {
        unsigned char secret[OA_TOTP_SECRET];
        int64_t step = 0;
        bool ok = l->totp != NULL &&
                  oa_totp_unwrap(l->r->srv->keys, l->user.totp_secret, l->user.totp_secret_len, secret) == 0 &&
                  oa_totp_verify(secret, OA_TOTP_SECRET, l->totp, now, l->user.totp_last_step, &step);
        sodium_memzero(secret, sizeof(secret));
        if (ok)
            l->user.totp_last_step = step;
        else
            l->verified = false;
        l->second_factor_failed = !ok;
    } else if (l->verified && l->source_throttled) {
        /* A throttled source gets in only with a second factor. */
        l->verified = false;
        l->second_factor_failed = true;
    }
    if (l->verified) {
        l->user.failed_logins = 0;
        l->user.locked_until = 0;
        if (oa_user_update(s, &l->user) != 0)
            return OA_E_STORAGE;
        oa_token_new(l->token, l->hash);
        l->expires_at = now + l->lifetime_s;
        if (oa_session_insert(s, l->hash, l->user.id, l->expires_at, l->r->peer) < 0)
            return OA_E_STORAGE;
        ev.event = "login.ok";
        ev.outcome = "ok";
        return oa_audit(s, &ev) == 0 ? 0 : OA_E_STORAGE;
    }
    ev.event = "login.fail";
    ev.outcome = "refused";
    if (l->found == 1) {
        bool was_locked = l->user.locked_until > now;
        ev.detail = l->user.disabled ? "account disabled" : was_locked ? "account locked"
                  : l->second_factor_failed ? "wrong or missing second factor" : "wrong password";
        if (!l->user.disabled && !was_locked) {
            l->user.failed_logins++;
            if ((unsigned)l->user.failed_logins >= l->threshold) { /* account_lockout_threshold */
                l->user.locked_until = now + l->lockout_s;
                l->user.failed_logins = 0;
                l->locked_now = true;
            }
            if (oa_user_update(s, &l->user) != 0)
                return OA_E_STORAGE;
        }
    } else {
        ev.detail = "unknown user";
    }
    if (oa_audit(s, &ev) != 0)
        return OA_E_STORAGE;
    if (l->locked_now) {
        struct oa_audit_event lk = ev;
        lk.event = "account.lock";
        lk.outcome = "ok";
        lk.detail = "too many failed logins";
        if (oa_audit(s, &lk) != 0)
            return OA_E_STORAGE;
    }
    return 0;
}

static void login_free(struct login *l)
{
    sodium_memzero(l->token, sizeof(l->token));
    free(l);
}

static void login_on_delay_close(uv_handle_t *h)
{
    struct login *l = h->data;
    oa_reply_error(l->r, OA_E_BAD_CREDENTIALS, NULL);
    login_free(l);
}

static void login_on_delay(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, login_on_delay_close);
}

static void login_on_verified(void *arg, bool verified, const char *new_hash);

static void login_on_done(struct oa_db_job *job)
{
    struct login *l = (struct login *)job;
    struct oa_req *r = l->r;
    if (job->rc) {
        oa_reply_error(r, (enum oa_err)job->rc, NULL);
        login_free(l);
        return;
    }
    const struct oa_config *cfg = r->srv->cfg;
    if (l->phase == 1) {
        /* A throttled source spends no Argon2id on anyone who could not pass
         * anyway: only an account with an authenticator, and a code of the
         * right shape, gets its password checked. */
        if (l->source_throttled && (l->found != 1 || !l->user.totp_confirmed || l->totp == NULL ||
                                    strspn(l->totp, "0123456789") != 6 || l->totp[6] != '\0')) {
            oa_reply_error(r, OA_E_RATE_LIMITED,
                           "Too many failed logins from this address: log in with your authenticator's code, or wait.");
            login_free(l);
            return;
        }
        oa_password_work(r->srv->loop, l->found == 1 ? l->user.pw_hash : NULL, l->password, NULL,
                         cfg->argon2_opslimit, cfg->argon2_memlimit, login_on_verified, l);
        return;
    }
    if (l->verified) {
        cbor_item_t *m = pv_map(5);
        pv_put_text(m, "token", l->token);
        pv_put_int(m, "expires_at", l->expires_at);
        pv_put_bool(m, "must_change_password", l->user.must_change_pw);
        pv_put_bool(m, "totp_enrollment_required", l->user.totp_required && !l->user.totp_confirmed);
        cbor_item_t *u = pv_map(3);
        pv_put_int(u, "id", l->user.id);
        pv_put_text(u, "username", l->user.username);
        pv_put_int(u, "clearance", l->user.clearance);
        pv_put(m, "user", u);
        snprintf(r->who.username, sizeof(r->who.username), "%s", l->user.username);
        oa_reply(r, 201, m);
        login_free(l);
        return;
    }
    /* Slow the failure down by the pair's failure count; count the source's too. */
    struct throttle *src = source_of(r->source, true);
    src->failures++;
    struct throttle *pair = pair_of(r->source, l->username, cfg->lockout_s, true);
    pair->failures++;
    unsigned shift = pair->failures > 6 ? 5 : pair->failures - 1;
    uint64_t ms = (uint64_t)cfg->login_delay_ms << shift; /* 250 ms, doubling, up to 8 s */
    uv_timer_init(r->srv->loop, &l->delay);
    l->delay.data = l;
    uv_timer_start(&l->delay, login_on_delay, ms, 0);
}

static void login_on_verified(void *arg, bool verified, const char *new_hash)
{
    struct login *l = arg;
    int64_t now = oa_now();
    l->verified = verified && l->found == 1 && !l->user.disabled && l->user.locked_until <= now;
    l->phase = 2;
    oa_jobs_write(l->r->srv->jobs, &l->job);
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
    struct login *l = oa_xcalloc(1, sizeof(*l));
    l->r = r;
    l->username = username;
    l->password = password;
    l->totp = totp;
    l->phase = 1;
    l->source_throttled = source_throttled;
    l->threshold = cfg->account_lockout_threshold;
    l->lockout_s = cfg->lockout_s;
    l->lifetime_s = cfg->session_lifetime_s;
    l->job.run = login_on_run;
    l->job.done = login_on_done;
    l->job.flags = OA_JOB_ESSENTIAL; /* logins go on while the disk is full */
    oa_jobs_write(r->srv->jobs, &l->job);
}

/* ---- logout and the caller's sessions ---- */

struct session_job {
    struct oa_db_job job;
    struct oa_req *r;
    int64_t target;      /* session id to end */
    bool found;
    cbor_item_t *list;   /* built on the writer thread, handed to the loop */
};

static int logout_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct session_job *j = (struct session_job *)job;
    int rc = oa_session_delete_owned(s, j->target, j->r->who.user_id);
    if (rc < 0)
        return OA_E_STORAGE;
    j->found = rc == 1;
    if (!j->found)
        return 0;
    const char *event = j->target == j->r->who.session_id ? "logout" : "session.end";
    return oa_app_audit(s, OA_REQ_ACTOR(j->r), event, NULL, "ok", NULL) == 0 ? 0 : OA_E_STORAGE;
}

static void session_job_done(struct oa_db_job *job)
{
    struct session_job *j = (struct session_job *)job;
    struct oa_req *r = j->r;
    cbor_item_t *list = j->list;
    bool found = j->found;
    int rc = job->rc;
    free(j);
    if (rc) {
        if (list)
            cbor_decref(&list);
        oa_reply_error(r, (enum oa_err)rc, NULL);
    } else if (list) {
        oa_reply(r, 200, list);
    } else if (!found) {
        oa_reply_error(r, OA_E_NOT_FOUND, "You have no session with that id.");
    } else {
        oa_reply(r, 204, NULL);
    }
}

static void session_submit(struct oa_req *r, oa_db_run_fn run, int64_t target)
{
    struct session_job *j = oa_xcalloc(1, sizeof(*j));
    j->r = r;
    j->target = target;
    j->job.run = run;
    j->job.done = session_job_done;
    oa_jobs_write(r->srv->jobs, &j->job);
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
    if (oa_session_list(s, j->r->who.user_id, sessions, 100, &n) != 0)
        return OA_E_STORAGE;
    cbor_item_t *list = pv_array(n);
    for (size_t i = 0; i < n; i++) {
        cbor_item_t *m = pv_map(6);
        pv_put_int(m, "id", sessions[i].id);
        pv_put_int(m, "created_at", sessions[i].created_at);
        pv_put_int(m, "last_used_at", sessions[i].last_used_at);
        pv_put_int(m, "expires_at", sessions[i].expires_at);
        pv_put_text(m, "source", sessions[i].source);
        pv_put_bool(m, "current", sessions[i].id == j->r->who.session_id);
        pv_push(list, m);
    }
    cbor_item_t *out = pv_map(1);
    pv_put(out, "sessions", list);
    j->list = out;
    return 0;
}

void h_sessions_list(struct oa_req *r)
{
    session_submit(r, sessions_on_run, 0);
}

/* ---- the caller's account ---- */

struct me_job {
    struct oa_db_job job;
    struct oa_req *r;
    struct oa_user user;
    char **compartments;
    /* password change */
    const char *new_hash;
    char hash_copy[128];
    int ended;
};

cbor_item_t *oa_user_item(const struct oa_user *u, char **compartments);

cbor_item_t *oa_user_item(const struct oa_user *u, char **compartments)
{
    cbor_item_t *m = pv_map(14);
    pv_put_int(m, "id", u->id);
    pv_put_text(m, "username", u->username);
    pv_put_text(m, "display_name", u->display_name);
    if (u->department_id > 0)
        pv_put_int(m, "department_id", u->department_id);
    else
        pv_put_text(m, "department_id", NULL);
    size_t nroles = 0;
    for (unsigned b = 1; b <= OA_ROLES_ALL; b <<= 1)
        if (u->roles & b)
            nroles++;
    cbor_item_t *roles = pv_array(nroles);
    for (unsigned b = 1; b <= OA_ROLES_ALL; b <<= 1)
        if (u->roles & b)
            pv_push(roles, pv_text(oa_role_name(b)));
    pv_put(m, "roles", roles);
    pv_put_int(m, "clearance", u->clearance);
    pv_put_text(m, "clearance_name", oa_level_name(u->clearance));
    size_t nc = 0;
    while (compartments && compartments[nc])
        nc++;
    cbor_item_t *comps = pv_array(nc);
    for (size_t i = 0; i < nc; i++)
        pv_push(comps, pv_text(compartments[i]));
    pv_put(m, "compartments", comps);
    pv_put_bool(m, "must_change_password", u->must_change_pw);
    pv_put_bool(m, "disabled", u->disabled);
    pv_put_bool(m, "locked", u->locked_until > oa_now());
    pv_put_bool(m, "totp_required", u->totp_required);
    pv_put_bool(m, "totp_active", u->totp_confirmed);
    pv_put_bool(m, "declassifier", u->declassifier);
    return m;
}

static int me_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct me_job *j = (struct me_job *)job;
    int rc = oa_user_by_id(s, j->r->who.user_id, &j->user);
    if (rc <= 0)
        return OA_E_STORAGE;
    j->compartments = oa_user_compartments(s, j->user.id);
    return 0;
}

static void me_on_done(struct oa_db_job *job)
{
    struct me_job *j = (struct me_job *)job;
    struct oa_req *r = j->r;
    if (job->rc) {
        oa_reply_error(r, (enum oa_err)job->rc, NULL);
    } else {
        snprintf(r->etag, sizeof(r->etag), "\"u%lld-%lld\"", (long long)j->user.id, (long long)j->user.version);
        oa_reply(r, 200, oa_user_item(&j->user, j->compartments));
    }
    oa_strv_free(j->compartments);
    free(j);
}

void h_me(struct oa_req *r)
{
    struct me_job *j = oa_xcalloc(1, sizeof(*j));
    j->r = r;
    j->job.run = me_on_run;
    j->job.done = me_on_done;
    oa_jobs_write(r->srv->jobs, &j->job);
}

/* Password change: read the hash, verify + hash on the pool, then write. */
struct pwchange {
    struct oa_db_job job;
    struct oa_req *r;
    int phase;
    struct oa_user user;
    const char *current, *next;
    char new_hash[128];
    bool verified;
};

static int pwchange_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct pwchange *p = (struct pwchange *)job;
    if (p->phase == 1)
        return oa_user_by_id(s, p->r->who.user_id, &p->user) == 1 ? 0 : OA_E_STORAGE;
    if (!p->verified)
        return oa_app_audit(s, OA_REQ_ACTOR(p->r), "password.change", p->user.username, "refused",
                            "the current password was wrong") == 0
                   ? 0
                   : OA_E_STORAGE;
    struct oa_user now;
    if (oa_user_by_id(s, p->user.id, &now) != 1)
        return OA_E_STORAGE;
    snprintf(now.pw_hash, sizeof(now.pw_hash), "%s", p->new_hash);
    now.must_change_pw = false;
    if (oa_user_update(s, &now) != 0 || oa_session_delete_user(s, now.id, p->r->who.session_id) < 0)
        return OA_E_STORAGE;
    return oa_app_audit(s, OA_REQ_ACTOR(p->r), "password.change", p->user.username, "ok", NULL) == 0 ? 0
                                                                                                  : OA_E_STORAGE;
}

static void pwchange_on_hashed(void *arg, bool verified, const char *new_hash);

static void pwchange_on_done(struct oa_db_job *job)
{
    struct pwchange *p = (struct pwchange *)job;
    struct oa_req *r = p->r;
    if (job->rc) {
        oa_reply_error(r, (enum oa_err)job->rc, NULL);
        goto out;
    }
    if (p->phase == 1) {
        const struct oa_config *cfg = r->srv->cfg;
        oa_password_work(r->srv->loop, p->user.pw_hash, p->current, p->next, cfg->argon2_opslimit,
                         cfg->argon2_memlimit, pwchange_on_hashed, p);
        return;
    }
    if (!p->verified)
        oa_reply_error(r, OA_E_FORBIDDEN, "The current password is wrong.");
    else
        oa_reply(r, 204, NULL);
out:
    sodium_memzero(p, sizeof(*p));
    free(p);
}

static void pwchange_on_hashed(void *arg, bool verified, const char *new_hash)
{
    struct pwchange *p = arg;
    p->verified = verified && new_hash != NULL;
    if (new_hash)
        snprintf(p->new_hash, sizeof(p->new_hash), "%s", new_hash);
    p->phase = 2;
    oa_jobs_write(p->r->srv->jobs, &p->job);
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
    struct pwchange *p = oa_xcalloc(1, sizeof(*p));
    p->r = r;
    p->phase = 1;
    p->current = current;
    p->next = next;
    p->job.run = pwchange_on_run;
    p->job.done = pwchange_on_done;
    oa_jobs_write(r->srv->jobs, &p->job);
}
