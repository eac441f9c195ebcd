/*
 * server/h_totp.c: enrolling one's own authenticator (RFC 6238).
 *
 *   POST /v1/users/me/totp          -> {secret, otpauth_uri}; not yet active
 *   POST /v1/users/me/totp/confirm  {code} -> active from now on
 *
 * Once active, login needs {"totp": "123456"} as well.  A confirmed
 * authenticator is replaced only after secadmin resets it.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/audit.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "server/server.h"
#include "server/totp.h"
#include "storage/accounts.h"

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
    const struct oa_keys *keys = t->r->srv->keys;
    struct oa_user u;
    unsigned char secret[OA_TOTP_SECRET];

    if (oa_user_by_id(s, t->r->who.user_id, &u) != 1)
        return OA_E_STORAGE;
    const struct oa_app_actor *by = OA_REQ_ACTOR(t->r);
    if (u.totp_confirmed) {
        t->result = OA_E_CONFLICT;
        t->message = "An authenticator is already active; ask secadmin to reset it first.";
        return 0;
    }
    if (!t->confirm) {
        randombytes_buf(secret, sizeof(secret));
        int rc = oa_totp_wrap(keys, secret, u.totp_secret, sizeof(u.totp_secret), &u.totp_secret_len);
        oa_base32(secret, sizeof(secret), t->secret32, sizeof(t->secret32));
        sodium_memzero(secret, sizeof(secret));
        if (rc != 0 || oa_user_update(s, &u) != 0)
            return OA_E_STORAGE;
        return oa_app_audit(s, by, "totp.enroll_start", u.username, "ok", NULL) == 0 ? 0 : OA_E_STORAGE;
    }
    int64_t step = 0;
    bool ok = u.totp_secret_len > 0 && oa_totp_unwrap(keys, u.totp_secret, u.totp_secret_len, secret) == 0 &&
              oa_totp_verify(secret, OA_TOTP_SECRET, t->code, oa_now(), u.totp_last_step, &step);
    sodium_memzero(secret, sizeof(secret));
    if (!ok) {
        t->result = OA_E_BAD_FIELD;
        t->message = u.totp_secret_len ? "The code is wrong or expired: type the current one."
                                       : "Start with POST /v1/users/me/totp.";
        return oa_app_audit(s, by, "totp.enroll", u.username, "refused", "wrong code") == 0 ? 0 : OA_E_STORAGE;
    }
    u.totp_confirmed = true;
    u.totp_last_step = step;
    if (oa_user_update(s, &u) != 0)
        return OA_E_STORAGE;
    return oa_app_audit(s, by, "totp.enroll", u.username, "ok", NULL) == 0 ? 0 : OA_E_STORAGE;
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
    struct oa_user u;
    int rc = oa_user_by_id(s, r->who.user_id, &u);
    if (rc != 1)
        return OA_E_STORAGE;
    const struct oa_app_actor *by = OA_REQ_ACTOR(r);
    if (!u.totp_confirmed)
        return oa_app_audit(s, by, "step_up", NULL, "refused", "no authenticator enrolled") != 0
                   ? OA_E_STORAGE
                   : OA_E_TOTP_ENROLLMENT_REQUIRED;
    unsigned char secret[OA_TOTP_SECRET];
    int64_t step = 0;
    /* last_step - 1: the code of the step last used still confirms, an older one never. */
    bool ok = r->otp != NULL && strlen(r->otp) == 6 &&
              oa_totp_unwrap(r->srv->keys, u.totp_secret, u.totp_secret_len, secret) == 0 &&
              oa_totp_verify(secret, OA_TOTP_SECRET, r->otp, oa_now(), u.totp_last_step - 1, &step);
    sodium_memzero(secret, sizeof(secret));
    if (!ok) {
        if (oa_app_audit(s, by, "step_up", NULL, "refused", r->otp ? "wrong second factor" : "no second factor") != 0)
            return OA_E_STORAGE;
        if (r->otp == NULL)
            return OA_E_SECOND_FACTOR_REQUIRED;
        /* Wrong codes count like wrong passwords: a stolen session cannot
         * try a million codes; after lockout_threshold the account locks
         * and its sessions end. */
        const struct oa_config *cfg = r->srv->cfg;
        if ((unsigned)++u.failed_logins >= cfg->lockout_threshold) {
            u.failed_logins = 0;
            u.locked_until = oa_now() + cfg->lockout_s;
            if (oa_user_update(s, &u) != 0 || oa_session_delete_user(s, u.id, 0) < 0 ||
                oa_app_audit(s, by, "account.lock", u.username, "ok", "too many wrong second-factor codes") != 0)
                return OA_E_STORAGE;
        } else if (oa_user_update(s, &u) != 0) {
            return OA_E_STORAGE;
        }
        return OA_E_SECOND_FACTOR_REQUIRED;
    }
    if (step > u.totp_last_step || u.failed_logins != 0) {
        u.totp_last_step = step > u.totp_last_step ? step : u.totp_last_step;
        u.failed_logins = 0;
        if (oa_user_update(s, &u) != 0)
            return OA_E_STORAGE;
    }
    return OA_E_OK;
}
