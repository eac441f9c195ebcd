/*
 * server/h_totp.c: enrolling one's own authenticator (RFC 6238).
 *
 *   POST /v1/users/me/totp          -> {secret, otpauth_uri}; not yet active
 *   POST /v1/users/me/totp/confirm  {code} -> active from now on
 *
 * Once active, login needs {"totp": "123456"} as well.  A confirmed
 * authenticator is replaced only after secadmin resets it.  HTTP only: the
 * use cases are app/second_factor.c's (and so is the step-up, oa_step_up).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/accounts.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "server/server.h"

struct totp_job {
    struct oa_req_job base;
    bool confirm;
    const char *code;
    char secret32[64];
};

static int totp_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct totp_job *t = (struct totp_job *)job;
    struct oa_req *r = t->base.r;
    const struct oa_app_actor *by = OA_REQ_ACTOR(r);
    struct oa_app_outcome o = {0};
    int rc = t->confirm ? oa_app_totp_confirm(s, by, r->srv->keys, t->code, &o)
                        : oa_app_totp_enroll(s, by, r->srv->keys, t->secret32, sizeof(t->secret32), &o);
    if (rc != 0)
        return rc;
    if (o.end != OA_APP_DONE) {
        oa_req_fail(&t->base, o.err, o.message);
        return oa_app_job_rc(&o);
    }
    if (t->confirm) {
        t->base.status = 204;
        return 0;
    }
    char uri[256];
    snprintf(uri, sizeof(uri), "otpauth://totp/oa:%s?secret=%s&issuer=oa&algorithm=SHA1&digits=6&period=30",
             r->who.username, t->secret32);
    cbor_item_t *m = pv_map(2);
    pv_put_text(m, "secret", t->secret32);
    pv_put_text(m, "otpauth_uri", uri);
    sodium_memzero(uri, sizeof(uri));
    t->base.status = 200;
    t->base.out = m;
    return 0;
}

/* The secret leaves no copy of ours behind. */
static void totp_finish(struct oa_req_job *j, bool ok)
{
    (void)ok;
    struct totp_job *t = (struct totp_job *)j;
    sodium_memzero(t->secret32, sizeof(t->secret32));
}

static void totp_submit(struct oa_req *r, bool confirm, const char *code)
{
    struct totp_job *t = oa_req_job_new(r, sizeof(*t), totp_on_run, 0);
    t->confirm = confirm;
    t->code = code;
    t->base.finish = totp_finish;
    oa_req_job_submit(&t->base);
}

void h_me_totp_enroll(struct oa_req *r)
{
    totp_submit(r, false, NULL);
}

void h_me_totp_confirm(struct oa_req *r)
{
    const char *code = NULL;
    struct pv_field f[] = {{"code", PV_TEXT, PV_REQUIRED, 6, 6, &code, NULL}};
    if (oa_req_fields(r, f, 1))
        totp_submit(r, true, code);
}

enum oa_err oa_step_up(struct oa_store *s, struct oa_req *r)
{
    const struct oa_config *cfg = r->srv->cfg;
    struct oa_app_second_factor f = {r->srv->keys, r->otp, cfg->lockout_threshold, cfg->lockout_s};
    return oa_app_step_up(s, OA_REQ_ACTOR(r), &f);
}
