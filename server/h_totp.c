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
    struct oa_db_job job;
    struct oa_req *r;
    bool confirm;
    const char *code;
    enum oa_err result;
    const char *message;
    char secret32[64];
};

static int totp_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct totp_job *t = (struct totp_job *)job;
    const struct oa_app_actor *by = OA_REQ_ACTOR(t->r);
    struct oa_app_outcome o = {0};
    int rc = t->confirm ? oa_app_totp_confirm(s, by, t->r->srv->keys, t->code, &o)
                        : oa_app_totp_enroll(s, by, t->r->srv->keys, t->secret32, sizeof(t->secret32), &o);
    if (rc != 0)
        return rc;
    t->result = o.err;
    t->message = o.message;
    return oa_app_job_rc(&o);
}

static void totp_on_done(struct oa_db_job *job)
{
    struct totp_job *t = (struct totp_job *)job;
    struct oa_req *r = t->r;
    if (job->rc) {
        oa_reply_error(r, (enum oa_err)job->rc, NULL);
    } else if (t->result != OA_E_OK) {
        oa_reply_error(r, t->result, t->message);
    } else if (t->confirm) {
        oa_reply(r, 204, NULL);
    } else {
        char uri[256];
        snprintf(uri, sizeof(uri), "otpauth://totp/oa:%s?secret=%s&issuer=oa&algorithm=SHA1&digits=6&period=30",
                 r->who.username, t->secret32);
        cbor_item_t *m = pv_map(2);
        pv_put_text(m, "secret", t->secret32);
        pv_put_text(m, "otpauth_uri", uri);
        sodium_memzero(uri, sizeof(uri));
        oa_reply(r, 200, m);
    }
    sodium_memzero(t, sizeof(*t));
    free(t);
}

static void totp_submit(struct oa_req *r, bool confirm, const char *code)
{
    struct totp_job *t = oa_xcalloc(1, sizeof(*t));
    t->r = r;
    t->confirm = confirm;
    t->code = code;
    t->job.run = totp_on_run;
    t->job.done = totp_on_done;
    oa_jobs_write(r->srv->jobs, &t->job);
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
