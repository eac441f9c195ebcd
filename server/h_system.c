/*
 * server/h_system.c: routes about the server itself: health, metrics, and the
 * protocol handshake a client makes first.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/audit.h"
#include "app/health.h"
#include "proto/alloc.h"
#include "proto/value.h"
#include "server/auth.h"
#include "server/handlers.h"
#include "proto/log.h"
#include "server/server.h"
#include "server/version.h"
#include "workflow/access.h"

/*
 * GET /healthz: 200 {status: "ok", version} when all is well; 200 {status:
 * "degraded", reason, since, message, version} while a fault (app/health.h)
 * degrades the server -- it still answers what it can, so it is alive, but
 * it is not well; 503 {status: "draining"} while it shuts down.
 */
void h_healthz(struct oa_req *r)
{
    struct oa_app_fault faults[OA_APP_FAULT_KINDS];
    size_t n = oa_app_faults(faults, OA_APP_FAULT_KINDS);
    const struct oa_app_fault *f = NULL;
    for (size_t i = 0; i < n && f == NULL; i++)
        if (faults[i].active)
            f = &faults[i];
    if (r->srv->draining || f == NULL) {
        cbor_item_t *m = pv_map(2);
        pv_put_text(m, "status", r->srv->draining ? "draining" : "ok");
        pv_put_text(m, "version", OA_VERSION);
        oa_reply(r, r->srv->draining ? 503 : 200, m);
        return;
    }
    cbor_item_t *m = pv_map(5);
    pv_put_text(m, "status", "degraded");
    pv_put_text(m, "reason", f->name);
    pv_put_int(m, "since", f->since);
    pv_put_text(m, "message", f->advice);
    pv_put_text(m, "version", OA_VERSION);
    oa_reply(r, 200, m);
}

static void metrics_render(struct oa_req *r)
{
    struct oa_server *srv = r->srv;
    const char *names[OA_METRIC_MAX_ROUTES];
    for (int i = 0; i < srv->nroutes && i < OA_METRIC_MAX_ROUTES; i++)
        names[i] = srv->routes[i].name;
    size_t len = 0;
    /* names holds at most OA_METRIC_MAX_ROUTES: a longer route table is never read past it. */
    int nroutes = srv->nroutes < OA_METRIC_MAX_ROUTES ? srv->nroutes : OA_METRIC_MAX_ROUTES;
    char *text = oa_metrics_render(&srv->metrics, names, nroutes, srv->nconns,
                                   srv->jobs ? oa_jobs_stats(srv->jobs) : NULL, &len);
    unsigned running, waiting, peak;
    oa_password_work_stats(&running, &waiting, &peak);
    char pw[400];
    int n = snprintf(pw, sizeof(pw),
                     "# HELP oa_password_work Argon2id hashes on the thread pool (at most 2) and waiting for it.\n"
                     "# TYPE oa_password_work gauge\n"
                     "oa_password_work{state=\"running\"} %u\noa_password_work{state=\"waiting\"} %u\n"
                     "oa_password_work_peak %u\n", running, waiting, peak);
    text = oa_xrealloc(text, len + (size_t)n + 1);
    memcpy(text + len, pw, (size_t)n + 1);
    len += (size_t)n;
    oa_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

/* Whether the request carries "Authorization: Bearer <metrics.scrape_token>". */
static bool scrape_token_ok(const struct oa_req *r)
{
    const char *want = r->srv->cfg->metrics_scrape_token, *h = r->authorization;
    if (want[0] == '\0' || h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *got = h + 7;
    while (*got == ' ')
        got++;
    /* Compared as hashes, in constant time: the timing tells neither the token nor its length. */
    unsigned char a[crypto_generichash_BYTES], b[crypto_generichash_BYTES];
    crypto_generichash(a, sizeof(a), (const unsigned char *)want, strlen(want), NULL, 0);
    crypto_generichash(b, sizeof(b), (const unsigned char *)got, strlen(got), NULL, 0);
    bool ok = sodium_memcmp(a, b, sizeof(a)) == 0;
    sodium_memzero(a, sizeof(a));
    sodium_memzero(b, sizeof(b));
    return ok;
}

static void metrics_for_session(struct oa_req *r)
{
    struct oa_subject who = {.id = r->who.user_id, .roles = r->who.roles, .clearance = r->who.clearance};
    if (oa_access_decide(&who, OA_ACT_METRICS_READ, NULL) != OA_ALLOW) {
        oa_refuse(r, OA_E_FORBIDDEN, "Only the system administrator and the auditor read the metrics.",
                  "metrics.read", r->path);
        return;
    }
    metrics_render(r);
}

/*
 * GET /metrics: for a scraper with the configured token (metrics.scrape_token
 * as "Authorization: Bearer <token>") or a session of sysadmin or the
 * auditor; from a loopback address only, unless metrics.allow_remote.
 * Without credentials 401; a refusal for the address or the role is
 * audited.
 */
void h_metrics(struct oa_req *r)
{
    if (!r->peer_loopback && !r->srv->cfg->metrics_allow_remote) {
        /* Anyone on the network can send this without a login: record the
         * refusal at most once a minute, or each probe would be a permanent
         * audit row (an unauthenticated way to fill the trail and the disk). */
        static uint64_t last_audited_ms;
        static const char msg[] = "The metrics are served to this machine only (metrics.allow_remote is off).";
        uint64_t now = uv_now(r->srv->loop);
        if (last_audited_ms != 0 && now - last_audited_ms < 60 * 1000) {
            oa_reply_error(r, OA_E_FORBIDDEN, msg);
            return;
        }
        last_audited_ms = now;
        oa_refuse(r, OA_E_FORBIDDEN, msg, "metrics.read", r->path);
        return;
    }
    if (scrape_token_ok(r)) {
        metrics_render(r);
        return;
    }
    oa_auth_then(r, metrics_for_session);
}

/*
 * POST /v1/hello {client, protocol}: the handshake a client makes before
 * anything else.  The server answers with its version and the protocol range
 * it speaks; a client whose protocol is outside that range gets 400 naming
 * the range.  No session is needed.
 */
void h_hello(struct oa_req *r)
{
    const char *client = NULL;
    int64_t protocol = 0;
    struct pv_field f[] = {
        {"client", PV_TEXT, PV_REQUIRED, 1, 128, &client, NULL},
        {"protocol", PV_INT, PV_REQUIRED, 0, INT32_MAX, &protocol, NULL},
    };
    if (!oa_req_fields(r, f, 2))
        return;
    if (protocol < OA_PROTOCOL_MIN || protocol > OA_PROTOCOL_MAX) {
        char msg[128];
        snprintf(msg, sizeof(msg), "This server speaks protocol versions %d to %d; update the client.",
                 OA_PROTOCOL_MIN, OA_PROTOCOL_MAX);
        oa_reply_error(r, OA_E_BAD_FIELD, msg);
        return;
    }
    cbor_item_t *m = pv_map(5);
    pv_put_text(m, "server", "oad");
    pv_put_text(m, "version", OA_VERSION);
    pv_put_int(m, "protocol", protocol);
    pv_put_int(m, "protocol_max", OA_PROTOCOL_MAX);
    pv_put_text(m, "request_id", r->id);
    oa_reply(r, 200, m);
}

bool oa_req_fields(struct oa_req *r, const struct pv_field *fields, size_t n)
{
    if (r->in == NULL) {
        oa_reply_error(r, OA_E_BAD_BODY, "This request needs a body (CBOR or JSON).");
        return false;
    }
    char why[256];
    enum oa_err e = pv_extract(r->in, fields, n, &r->arena, why, sizeof(why));
    if (e != OA_E_OK) {
        oa_reply_error(r, e, why);
        return false;
    }
    return true;
}

struct refusal {
    struct oa_req_job base;
    enum oa_err e;
    const char *message, *event, *target;
};

static int refusal_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct refusal *f = (struct refusal *)job;
    const char *why = f->message ? f->message : oa_err_message(f->e);
    if (oa_app_audit(s, OA_REQ_ACTOR(f->base.r), f->event, f->target, "refused", why) != 0)
        return OA_E_STORAGE; /* rolled back; refusal_finish logs it */
    return oa_req_fail(&f->base, f->e, f->message);
}

static void refusal_finish(struct oa_req_job *j, bool ok)
{
    struct refusal *f = (struct refusal *)j;
    (void)ok;
    if (j->job.rc != 0) { /* the entry could not be written: logged; the refusal stands */
        oa_log(OA_LOG_ERROR, "audit_failed", "id=%s", j->r->id);
        j->job.rc = 0; /* the answer is the refusal */
        j->err = f->e;
        j->message = f->message;
    }
}

void oa_refuse(struct oa_req *r, enum oa_err e, const char *message, const char *event, const char *target)
{
    struct refusal *f = oa_req_job_new(r, sizeof(*f), refusal_on_run, 0);
    f->e = e;
    f->message = message;
    f->event = event;
    f->target = target ? oa_arena_strndup(&r->arena, target, strlen(target)) : NULL;
    f->base.finish = refusal_finish;
    oa_req_job_submit(&f->base);
}
