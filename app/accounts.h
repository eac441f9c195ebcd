/*
 * app/accounts.h: the account use cases.  sessions.c: a login's outcome,
 * a session's check on each request, logging out, listing one's sessions;
 * second_factor.c: enrolling one's authenticator and the step-up that
 * secadmin's changes need; users.c: one's own account and password, and
 * account administration.  No HTTP: the caller passes what the request
 * said and encodes the answer.
 */
#ifndef OA_APP_ACCOUNTS_H
#define OA_APP_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/audit.h"
#include "app/outcome.h"
#include "model/account.h"
#include "model/keys.h"

struct oa_store;

/* What a second factor is checked with, and what wrong codes cost. */
struct oa_app_second_factor {
    const struct oa_keys *keys;   /* unwraps the TOTP secrets */
    const char *otp;              /* the code the request carries (X-OA-OTP), or NULL */
    unsigned lockout_threshold;   /* wrong codes (like wrong passwords) before the account locks */
    unsigned lockout_s;
};

/* The caller's account as it is now; 0, or OA_E_STORAGE (also when it is gone). */
int oa_app_me(struct oa_store *s, const struct oa_app_actor *by, struct oa_user *me);

/* ---- second_factor.c ---- */

/*
 * Step-up for secadmin's changes of clearances, compartments and labels: the
 * actor must have an authenticator (else OA_E_TOTP_ENROLLMENT_REQUIRED) and
 * f->otp must be a current code (else OA_E_SECOND_FACTOR_REQUIRED).  A code
 * may confirm several changes within its 30 seconds, but never one older
 * than the last code this account used; wrong codes count towards the
 * lockout.  Records the refusals.  Returns OA_E_OK, the error to answer, or
 * OA_E_STORAGE.
 */
enum oa_err oa_app_step_up(struct oa_store *s, const struct oa_app_actor *by, const struct oa_app_second_factor *f);

/*
 * Starts enrolling the caller's authenticator: a new secret, stored wrapped
 * and not yet active; its base32 goes to secret32 (cap bytes; the caller
 * wipes it).  Refused (o) when one is already active.  0 or OA_E_STORAGE.
 */
int oa_app_totp_enroll(struct oa_store *s, const struct oa_app_actor *by, const struct oa_keys *keys,
                       char *secret32, size_t cap, struct oa_app_outcome *o);
/* Confirms it with a current code: active from now on.  Refused (o, audited) on a wrong code.  0 or OA_E_STORAGE. */
int oa_app_totp_confirm(struct oa_store *s, const struct oa_app_actor *by, const struct oa_keys *keys,
                        const char *code, struct oa_app_outcome *o);

#endif
