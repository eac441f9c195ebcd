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

#include <cbor.h>

#include "app/audit.h"
#include "app/outcome.h"
#include "model/account.h"
#include "model/keys.h"
#include "workflow/access.h"

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

/* ---- sessions.c ---- */

/*
 * A counter that every change to an account or a session increases: what
 * was read of them (a session the gate admitted) stands while it holds.
 */
uint64_t oa_app_accounts_epoch(void);

/* What a login may cost: lockout_threshold failures lock the account for lockout_s; a session lasts lifetime_s. */
struct oa_app_login_policy {
    unsigned lockout_threshold, lockout_s, lifetime_s;
};

/* One login, read in two steps around the password's check (on the thread pool). */
struct oa_app_login {
    const char *username, *totp;   /* as sent; totp NULL when none */
    bool source_throttled;         /* the source is over its limit: only a second factor lets this through */
    const unsigned char *token_hash; /* the new session's token's hash (OA_TOKEN_HASH_LEN bytes) */
    int found;                     /* oa_app_login_find: 1 when the account exists */
    struct oa_user user;           /* its account */
    bool verified;                 /* in: the password held; out: the login succeeded */
    bool second_factor_failed;     /* out */
    bool locked_now;               /* out: this failure locked the account */
    int64_t expires_at;            /* out: the session's end */
};

/* Step 1: finds the account (l->found, l->user).  0 or OA_E_STORAGE. */
int oa_app_login_find(struct oa_store *s, struct oa_app_login *l);
/*
 * Step 2, after the password's check: reads the account again (it may have
 * changed), checks the second factor, and records the outcome: a success
 * resets the failures and opens the session (token_hash); a failure counts
 * towards the lockout.  Both are audited (login.ok, login.fail,
 * account.lock).  by: the source (no one is logged in yet).  0 or
 * OA_E_STORAGE.
 */
int oa_app_login_record(struct oa_store *s, const struct oa_app_actor *by, const struct oa_keys *keys,
                        const struct oa_app_login_policy *p, struct oa_app_login *l);

/* A session the gate admitted, and its account. */
struct oa_app_session_check {
    uint64_t epoch;                /* oa_app_accounts_epoch() as the check read them */
    struct oa_session session;
    struct oa_user user;
};
/*
 * Finds the session whose token hashes to `hash`, and its account.  An
 * expired session, one idle for more than idle_s, or one whose account is
 * gone or disabled is ended.  Everything it writes is bookkeeping (the last
 * use, an ended session's row): run it as an OA_JOB_BOOKKEEPING job.
 * Writer thread only.  0 with *result OA_E_OK (out filled) or
 * OA_E_UNAUTHENTICATED, or OA_E_STORAGE.
 */
int oa_app_session_check(struct oa_store *s, const unsigned char hash[OA_TOKEN_HASH_LEN], unsigned idle_s,
                         struct oa_app_session_check *out, enum oa_err *result);

/* Ends session `id` of the caller (by); *found false when they have none such.  Audited.  0 or OA_E_STORAGE. */
int oa_app_session_end(struct oa_store *s, const struct oa_app_actor *by, int64_t id, bool current, bool *found);
/* The caller's sessions, at most cap into out (*n).  0 or OA_E_STORAGE. */
int oa_app_sessions(struct oa_store *s, const struct oa_app_actor *by, struct oa_session *out, size_t cap, size_t *n);

/* ---- users.c ---- */

/* An account as the API shows it (CBOR map; compartments NULL-terminated or NULL); the caller owns it. */
cbor_item_t *oa_app_user_item(const struct oa_user *u, char **compartments);
/* An account's entity tag ("u<id>-<version>"), for If-Match. */
void oa_app_user_etag(const struct oa_user *u, char *out, size_t n);

/* The caller's account and compartments (the caller frees them with oa_strv_free).  0 or OA_E_STORAGE. */
int oa_app_me_read(struct oa_store *s, const struct oa_app_actor *by, struct oa_user *me, char ***compartments);
/*
 * A password change, after the pool checked the current password
 * (verified) and hashed the new one (new_hash): sets it, ends the caller's
 * other sessions (all but keep_session), audits either way.  0 or
 * OA_E_STORAGE.
 */
int oa_app_password_change(struct oa_store *s, const struct oa_app_actor *by, int64_t keep_session, bool verified,
                           const char *new_hash);

#define OA_APP_MAX_COMPARTMENTS 64

/* Account administration: what sysadmin and secadmin do to accounts. */
enum oa_app_user_op {
    OA_USER_CREATE, OA_USER_GET, OA_USER_PATCH, OA_USER_RESET, OA_USER_UNLOCK, OA_USER_CLEARANCE, OA_USER_TOTP,
    OA_USER_LIST
};
struct oa_app_user_cmd {
    enum oa_app_user_op op;
    enum oa_action action;        /* what oa_access_decide is asked */
    int64_t target_id;            /* all but CREATE and LIST */
    const char *if_match;         /* PATCH, CLEARANCE, TOTP: the request's If-Match, or NULL */
    const char *otp_hash;         /* CREATE, RESET: the one-time password's hash */
    struct oa_user in;            /* CREATE: the new account */
    /* PATCH */
    bool set_name, set_roles, set_dept, set_disabled;
    const char *display_name;
    unsigned roles;
    int64_t department_id;
    bool disabled;
    /* CLEARANCE (with its step-up) */
    const struct oa_app_second_factor *step_up;
    int clearance;
    bool declassifier, set_declassifier;
    const char *compartments[OA_APP_MAX_COMPARTMENTS];
    int ncomp;
    /* TOTP */
    bool totp_required, totp_reset;
    /* LIST */
    int64_t after, limit;
};
struct oa_app_user_answer {
    struct oa_user user;          /* the account, after the change */
    char **compartments;          /* its compartments; free with oa_strv_free */
    cbor_item_t *list;            /* LIST: {users, next_after}; the caller owns it */
};
/*
 * Runs c for the caller (by, who): decided by oa_access_decide, refused
 * (o) and audited when not allowed, and each change audited with it; a
 * change that ends the account's rights ends its sessions.  0 (see o and
 * out) or OA_E_STORAGE.
 */
int oa_app_user_admin(struct oa_store *s, const struct oa_app_actor *by, const struct oa_subject *who,
                      const struct oa_app_user_cmd *c, struct oa_app_user_answer *out, struct oa_app_outcome *o);

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
