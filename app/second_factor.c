/*
 * app/second_factor.c: enrolling one's own authenticator (RFC 6238, app/totp.h)
 * and the step-up of secadmin's changes (see accounts.h).
 */
#include <sodium.h>
#include <string.h>

#include "app/accounts.h"
#include "app/totp.h"
#include "storage/accounts.h"
#include "storage/store.h"

int oa_app_me(struct oa_store *s, const struct oa_app_actor *by, struct oa_user *me)
{
    return oa_user_by_id(s, by->user_id, me) == 1 ? 0 : OA_E_STORAGE;
}

enum oa_err oa_app_step_up(struct oa_store *s, const struct oa_app_actor *by, const struct oa_app_second_factor *f)
{
    struct oa_user u;
    if (oa_app_me(s, by, &u) != 0)
        return OA_E_STORAGE;
    if (!u.totp_confirmed)
        return oa_app_audit(s, by, "step_up", NULL, "refused", "no authenticator enrolled") != 0
                   ? OA_E_STORAGE
                   : OA_E_TOTP_ENROLLMENT_REQUIRED;
    unsigned char secret[OA_TOTP_SECRET];
    int64_t step = 0;
    /* last_step - 1: the code of the step last used still confirms, an older one never. */
    bool ok = f->otp != NULL && strlen(f->otp) == 6 &&
              oa_totp_unwrap(f->keys, u.totp_secret, u.totp_secret_len, secret) == 0 &&
              oa_totp_verify(secret, OA_TOTP_SECRET, f->otp, oa_now(), u.totp_last_step - 1, &step);
    sodium_memzero(secret, sizeof(secret));
    if (!ok) {
        if (oa_app_audit(s, by, "step_up", NULL, "refused", f->otp ? "wrong second factor" : "no second factor") != 0)
            return OA_E_STORAGE;
        if (f->otp == NULL)
            return OA_E_SECOND_FACTOR_REQUIRED;
        /* Wrong codes count like wrong passwords: a stolen session cannot
         * try a million codes; after lockout_threshold the account locks
         * and its sessions end. */
        if ((unsigned)++u.failed_logins >= f->lockout_threshold) {
            u.failed_logins = 0;
            u.locked_until = oa_now() + f->lockout_s;
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

/* The caller's account, unless an authenticator is already active (refused). 0, 1 refused, or OA_E_STORAGE. */
static int enrolling(struct oa_store *s, const struct oa_app_actor *by, struct oa_user *u, struct oa_app_outcome *o)
{
    if (oa_app_me(s, by, u) != 0)
        return OA_E_STORAGE;
    if (u->totp_confirmed) {
        oa_app_refuse(o, OA_E_CONFLICT, "An authenticator is already active; ask secadmin to reset it first.");
        return 1;
    }
    return 0;
}

int oa_app_totp_enroll(struct oa_store *s, const struct oa_app_actor *by, const struct oa_keys *keys,
                       char *secret32, size_t cap, struct oa_app_outcome *o)
{
    struct oa_user u;
    int rc = enrolling(s, by, &u, o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    unsigned char secret[OA_TOTP_SECRET];
    randombytes_buf(secret, sizeof(secret));
    rc = oa_totp_wrap(keys, secret, u.totp_secret, sizeof(u.totp_secret), &u.totp_secret_len);
    oa_base32(secret, sizeof(secret), secret32, cap);
    sodium_memzero(secret, sizeof(secret));
    if (rc != 0 || oa_user_update(s, &u) != 0)
        return OA_E_STORAGE;
    return oa_app_audit(s, by, "totp.enroll_start", u.username, "ok", NULL) == 0 ? 0 : OA_E_STORAGE;
}

int oa_app_totp_confirm(struct oa_store *s, const struct oa_app_actor *by, const struct oa_keys *keys,
                        const char *code, struct oa_app_outcome *o)
{
    struct oa_user u;
    int rc = enrolling(s, by, &u, o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    unsigned char secret[OA_TOTP_SECRET];
    int64_t step = 0;
    bool ok = u.totp_secret_len > 0 && oa_totp_unwrap(keys, u.totp_secret, u.totp_secret_len, secret) == 0 &&
              oa_totp_verify(secret, OA_TOTP_SECRET, code, oa_now(), u.totp_last_step, &step);
    sodium_memzero(secret, sizeof(secret));
    if (!ok) {
        oa_app_refuse(o, OA_E_BAD_FIELD, u.totp_secret_len ? "The code is wrong or expired: type the current one."
                                                           : "Start with POST /v1/users/me/totp.");
        return oa_app_audit(s, by, "totp.enroll", u.username, "refused", "wrong code") == 0 ? 0 : OA_E_STORAGE;
    }
    u.totp_confirmed = true;
    u.totp_last_step = step;
    if (oa_user_update(s, &u) != 0)
        return OA_E_STORAGE;
    return oa_app_audit(s, by, "totp.enroll", u.username, "ok", NULL) == 0 ? 0 : OA_E_STORAGE;
}
