/* server/auth.c: tokens, passwords and the session gate.  See auth.h. */
#include "server/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/accounts.h"
#include "model/clock.h"
#include "proto/alloc.h"
#include "proto/log.h"
#include "server/handlers.h"
#include "server/server.h"
#include "workflow/access.h"

void oa_token_new(char text[OA_TOKEN_TEXT], unsigned char hash[32])
{
    unsigned char raw[OA_TOKEN_BYTES];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(text, OA_TOKEN_TEXT, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    crypto_hash_sha256(hash, raw, sizeof(raw));
    sodium_memzero(raw, sizeof(raw));
}

/* Decodes a token and hashes it; -1 when it is not a token at all. */
static int token_hash(const char *text, unsigned char hash[32])
{
    unsigned char raw[OA_TOKEN_BYTES + 1];
    size_t n = 0;
    if (strlen(text) != OA_TOKEN_TEXT - 1 ||
        sodium_base642bin(raw, sizeof(raw), text, strlen(text), NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        n != OA_TOKEN_BYTES)
        return -1;
    crypto_hash_sha256(hash, raw, OA_TOKEN_BYTES);
    sodium_memzero(raw, sizeof(raw));
    return 0;
}

int oa_password_hash(const char *password, uint64_t opslimit, size_t memlimit, char out[128])
{
    return crypto_pwhash_str_alg(out, password, strlen(password), opslimit, memlimit,
                                 crypto_pwhash_ALG_ARGON2ID13);
}

uint64_t oa_password_calibrate(size_t memlimit, unsigned target_ms)
{
    char pw[21], out[128];
    oa_password_generate(pw);
    uint64_t t0 = uv_hrtime();
    if (oa_password_hash(pw, 2, memlimit, out) != 0)
        return 2;
    double ms = (double)(uv_hrtime() - t0) / 1e6;
    uint64_t ops = ms > 0 ? (uint64_t)(2.0 * target_ms / ms) : 16;
    return ops < 2 ? 2 : ops > 16 ? 16 : ops;
}

void oa_password_generate(char out[21])
{
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    for (int i = 0; i < 20; i++)
        out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
    out[20] = '\0';
}

/* ---- password work on the thread pool ---- */

struct oa_pw_work {
    uv_work_t work;
    uv_loop_t *loop;
    struct oa_pw_work *next; /* in the waiting line */
    char hash[128];
    char *password, *newpw;
    uint64_t opslimit;
    size_t memlimit;
    bool verified;
    char new_hash[128];
    bool hashed;
    oa_pw_done_fn done;
    void *arg;
};

static char *secret_dup(const char *s)
{
    return s ? oa_xstrdup(s) : NULL;
}

static void secret_free(char *s)
{
    if (s) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

static void pw_on_work(uv_work_t *w)
{
    struct oa_pw_work *pw = w->data;
    if (pw->password != NULL)
        pw->verified = crypto_pwhash_str_verify(pw->hash, pw->password, strlen(pw->password)) == 0;
    if (pw->newpw != NULL)
        pw->hashed = oa_password_hash(pw->newpw, pw->opslimit, pw->memlimit, pw->new_hash) == 0;
}

/*
 * Argon2id (tens of MiB and hundreds of ms each) never takes more than
 * PW_RUNNING of libuv's threads: a 9:00 login burst waits in this line
 * instead of stalling every upload's sealing and every download.  The line
 * holds at most one entry per open connection, so it is bounded by
 * http.max_connections.  Loop thread only.
 */
#define PW_RUNNING 2
static struct oa_pw_work *pw_head, **pw_tail = &pw_head;
static unsigned pw_running, pw_waiting, pw_peak;

static void pw_on_done(uv_work_t *w, int status);

static void pw_start(struct oa_pw_work *pw)
{
    if (++pw_running > pw_peak)
        pw_peak = pw_running;
    if (uv_queue_work(pw->loop, &pw->work, pw_on_work, pw_on_done) != 0)
        pw_on_done(&pw->work, UV_ECANCELED);
}

static void pw_on_done(uv_work_t *w, int status)
{
    struct oa_pw_work *pw = w->data;
    pw_running--;
    if (pw_head != NULL && pw_running < PW_RUNNING) {
        struct oa_pw_work *next = pw_head;
        pw_waiting--;
        pw_head = next->next;
        if (pw_head == NULL)
            pw_tail = &pw_head;
        pw_start(next);
    }
    secret_free(pw->password);
    secret_free(pw->newpw);
    pw->done(pw->arg, status == 0 && pw->verified, pw->hashed ? pw->new_hash : NULL);
    sodium_memzero(pw, sizeof(*pw));
    free(pw);
}

/*
 * A verification against an unknown user still costs one Argon2id run, on
 * this dummy hash, so that timing does not tell whether a username exists.
 */
static const char *dummy_hash(uint64_t ops, size_t mem)
{
    static char h[128];
    static uint64_t h_ops;
    static size_t h_mem;
    if (h[0] == '\0' || h_ops != ops || h_mem != mem) {
        char pw[21];
        oa_password_generate(pw);
        if (oa_password_hash(pw, ops, mem, h) != 0)
            h[0] = '\0';
        h_ops = ops;
        h_mem = mem;
    }
    return h;
}

void oa_password_work(uv_loop_t *loop, const char *hash, const char *password, const char *newpw,
                      uint64_t opslimit, size_t memlimit, oa_pw_done_fn done, void *arg)
{
    struct oa_pw_work *pw = oa_xcalloc(1, sizeof(*pw));
    pw->work.data = pw;
    if (password != NULL) {
        const char *h = (hash && hash[0]) ? hash : dummy_hash(opslimit, memlimit);
        snprintf(pw->hash, sizeof(pw->hash), "%s", h);
        pw->password = secret_dup(password);
    }
    pw->newpw = secret_dup(newpw);
    pw->opslimit = opslimit;
    pw->memlimit = memlimit;
    pw->done = done;
    pw->arg = arg;
    pw->loop = loop;
    if (pw_running < PW_RUNNING) {
        pw_start(pw);
        return;
    }
    *pw_tail = pw;
    pw_tail = &pw->next;
    pw_waiting++;
}

void oa_password_work_stats(unsigned *running, unsigned *waiting, unsigned *peak)
{
    *running = pw_running;
    *waiting = pw_waiting;
    *peak = pw_peak;
}

void oa_password_prepare(uint64_t opslimit, size_t memlimit)
{
    (void)dummy_hash(opslimit, memlimit);
}

/* ---- the session gate ---- */

/*
 * Validated sessions are remembered on the loop for at most CACHE_TTL_S
 * seconds, keyed by the token's hash.  An entry is good only while no
 * account or session anywhere has changed since (oa_app_accounts_epoch): a
 * logout, password, role, clearance or disable change takes effect on the
 * very next request.  Expiry is checked against the session's own deadline.
 */
#define CACHE_SLOTS 4096
#define CACHE_TTL_S 10

struct cached_session {
    unsigned char hash[32];
    struct oa_principal who;
    int64_t expires_at;
    uint64_t validated_ms;
    uint64_t epoch;
    bool used;
};

static struct cached_session cache[CACHE_SLOTS];

static struct cached_session *cache_slot(const unsigned char hash[32])
{
    size_t i = ((size_t)hash[0] | (size_t)hash[1] << 8 | (size_t)hash[2] << 16) % CACHE_SLOTS;
    return &cache[i];
}

static bool cache_get(uv_loop_t *loop, const unsigned char hash[32], struct oa_principal *who)
{
    struct cached_session *c = cache_slot(hash);
    if (!c->used || sodium_memcmp(c->hash, hash, 32) != 0)
        return false;
    if (c->epoch != oa_app_accounts_epoch() || uv_now(loop) - c->validated_ms > CACHE_TTL_S * 1000 ||
        oa_now() >= c->expires_at) {
        c->used = false;
        return false;
    }
    *who = c->who;
    return true;
}

static void cache_put(uv_loop_t *loop, const unsigned char hash[32], const struct oa_principal *who,
                      int64_t expires_at, uint64_t epoch)
{
    struct cached_session *c = cache_slot(hash);
    memcpy(c->hash, hash, 32);
    c->who = *who;
    c->expires_at = expires_at;
    c->validated_ms = uv_now(loop);
    c->epoch = epoch;
    c->used = true;
}

struct auth_job {
    struct oa_req_job base;
    oa_handler_fn next;    /* what runs once the session is good */
    unsigned char hash[32];
    unsigned idle_s;
    struct oa_app_session_check found; /* the session, its account, the accounts epoch as read */
};

/* The session's check (app/sessions.c); what it writes is bookkeeping (OA_JOB_BOOKKEEPING). */
static int auth_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct auth_job *a = (struct auth_job *)job;
    enum oa_err result = OA_E_OK;
    int rc = oa_app_session_check(s, a->hash, a->idle_s, &a->found, &result);
    if (rc == 0 && result != OA_E_OK)
        return oa_req_fail(&a->base, result, NULL);
    return rc;
}

static void auth_admit(struct oa_req *r, oa_handler_fn next);

static void auth_finish(struct oa_req_job *j, bool ok)
{
    struct auth_job *a = (struct auth_job *)j;
    (void)ok;
    sodium_memzero(a->hash, sizeof(a->hash));
    sodium_memzero(&a->found, sizeof(a->found));
}

/* The session is good: the request goes on to its handler, which answers it; this job ends here. */
static bool auth_step(struct oa_req_job *j)
{
    struct auth_job *a = (struct auth_job *)j;
    struct oa_req *r = j->r;
    oa_handler_fn next = a->next;
    const struct oa_user *u = &a->found.user;
    r->who.user_id = u->id;
    r->who.session_id = a->found.session.id;
    r->who.roles = u->roles;
    r->who.clearance = u->clearance;
    r->who.must_change_pw = u->must_change_pw;
    r->who.must_enroll_totp = u->totp_required && !u->totp_confirmed;
    r->who.declassifier = u->declassifier;
    r->who.epoch = a->found.epoch;
    r->who.department_id = u->department_id;
    snprintf(r->who.username, sizeof(r->who.username), "%s", u->username);
    snprintf(r->who.display_name, sizeof(r->who.display_name), "%s", u->display_name);
    cache_put(r->srv->loop, a->hash, &r->who, a->found.session.expires_at, a->found.epoch);
    auth_finish(j, true);
    free(a);
    auth_admit(r, next);
    return true;
}

/* The session is good: apply the first-login gates, then the handler. */
static void auth_admit(struct oa_req *r, oa_handler_fn next)
{
    if (!(r->route->flags & OA_ROUTE_BEFORE_PWCHANGE)) {
        if (r->who.must_change_pw) {
            oa_reply_error(r, OA_E_PASSWORD_CHANGE_REQUIRED, NULL);
            return;
        }
        if (r->who.must_enroll_totp) {
            oa_reply_error(r, OA_E_TOTP_ENROLLMENT_REQUIRED, NULL);
            return;
        }
    }
    /* #17: with mutual TLS mapped to accounts, a session is used only over its own account's certificate. */
    if (oa_access_client_cert(r->srv->cfg->tls_client_account, r->client_cn, r->who.username) != OA_ALLOW) {
        oa_refuse(r, OA_E_FORBIDDEN, oa_decision_reason(OA_DENY_CERT), "tls.client_cert_refused",
                  r->client_cn ? r->client_cn : "(none)");
        return;
    }
    /* The gateway's confinement: its account uses only its routes, and nobody else uses those. */
    bool gateway_route = strncmp(r->route->pattern, "/v1/gateway/", 12) == 0;
    if (oa_access_route(r->who.roles, gateway_route, (r->route->flags & OA_ROUTE_GATEWAY) != 0) != OA_ALLOW) {
        oa_refuse(r, OA_E_FORBIDDEN,
                  gateway_route ? "Only the exchange gateway's account uses /v1/gateway/."
                                : "The exchange gateway's account may use only its own routes.",
                  "route.refused", r->route->name);
        return;
    }
    next(r);
}

void oa_auth_dispatch(struct oa_req *r)
{
    oa_auth_then(r, r->route->handler);
}

void oa_auth_then(struct oa_req *r, oa_handler_fn next)
{
    const char *h = r->authorization;
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        oa_reply_error(r, OA_E_UNAUTHENTICATED, NULL);
        return;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    unsigned char hash[32];
    if (token_hash(tok, hash) != 0) {
        oa_reply_error(r, OA_E_UNAUTHENTICATED, NULL);
        return;
    }
    if (cache_get(r->srv->loop, hash, &r->who)) {
        sodium_memzero(hash, sizeof(hash));
        auth_admit(r, next);
        return;
    }
    struct auth_job *a = oa_req_job_new(r, sizeof(*a), auth_on_run, OA_JOB_BOOKKEEPING);
    memcpy(a->hash, hash, sizeof(hash));
    sodium_memzero(hash, sizeof(hash));
    a->next = next;
    a->idle_s = r->srv->cfg->session_idle_s;
    a->base.step = auth_step;
    a->base.finish = auth_finish;
    oa_req_job_submit(&a->base);
}
