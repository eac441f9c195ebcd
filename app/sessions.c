/*
 * app/sessions.c: a login's outcome, the session gate's check, ending and
 * listing one's sessions (see accounts.h).  The password's Argon2id check
 * and the per-source throttles are the server's (server/auth.c,
 * server/h_sessions.c): they run on the loop and its thread pool.
 */
#include <sodium.h>
#include <string.h>

#include "app/accounts.h"
#include "app/totp.h"
#include "storage/accounts.h"
#include "storage/store.h"

uint64_t oa_app_accounts_epoch(void)
{
    return oa_accounts_epoch();
}

int oa_app_login_find(struct oa_store *s, struct oa_app_login *l)
{
    l->found = oa_user_by_name(s, l->username, &l->user);
    return l->found < 0 ? OA_E_STORAGE : 0;
}

/* The second factor of a login whose password held; false when it fails. */
static bool login_second_factor(const struct oa_keys *keys, struct oa_app_login *l, int64_t now)
{
    if (l->user.totp_confirmed) {
        unsigned char secret[OA_TOTP_SECRET];
        int64_t step = 0;
        bool ok = l->totp != NULL && oa_totp_unwrap(keys, l->user.totp_secret, l->user.totp_secret_len, secret) == 0 &&
                  oa_totp_verify(secret, OA_TOTP_SECRET, l->totp, now, l->user.totp_last_step, &step);
        sodium_memzero(secret, sizeof(secret));
        if (ok)
            l->user.totp_last_step = step;
        return ok;
    }
    /* A throttled source gets in only with a second factor. */
    return !l->source_throttled;
}

int oa_app_login_record(struct oa_store *s, const struct oa_app_actor *by, const struct oa_keys *keys,
                        const struct oa_app_login_policy *p, struct oa_app_login *l)
{
    int64_t now = oa_now();
    /* The entries name the account tried, whoever it is. */
    const struct oa_app_actor who = {l->found == 1 ? l->user.id : 0, l->username, by->source};
    if (l->found == 1) {
        /* Re-read: the account may have changed since step 1, and this step writes it back. */
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
    if (l->verified) {
        l->second_factor_failed = !login_second_factor(keys, l, now);
        l->verified = !l->second_factor_failed;
    }
    if (l->verified) {
        l->user.failed_logins = 0;
        l->user.locked_until = 0;
        if (oa_user_update(s, &l->user) != 0)
            return OA_E_STORAGE;
        l->expires_at = now + p->lifetime_s;
        if (oa_session_insert(s, l->token_hash, l->user.id, l->expires_at, by->source) < 0)
            return OA_E_STORAGE;
        return oa_app_audit(s, &who, "login.ok", l->username, "ok", NULL) == 0 ? 0 : OA_E_STORAGE;
    }
    const char *detail = "unknown user";
    if (l->found == 1) {
        bool was_locked = l->user.locked_until > now;
        detail = l->user.disabled ? "account disabled" : was_locked ? "account locked"
               : l->second_factor_failed ? "wrong or missing second factor" : "wrong password";
        if (!l->user.disabled && !was_locked) {
            l->user.failed_logins++;
            if ((unsigned)l->user.failed_logins >= p->lockout_threshold) { /* account_lockout_threshold */
                l->user.locked_until = now + p->lockout_s;
                l->user.failed_logins = 0;
                l->locked_now = true;
            }
            if (oa_user_update(s, &l->user) != 0)
                return OA_E_STORAGE;
        }
    }
    if (oa_app_audit(s, &who, "login.fail", l->username, "refused", detail) != 0)
        return OA_E_STORAGE;
    if (l->locked_now && oa_app_audit(s, &who, "account.lock", l->username, "ok", "too many failed logins") != 0)
        return OA_E_STORAGE;
    return 0;
}

/*
 * When sessions were last used, as the gate saw them, kept beside the
 * database's last_used_at: writing that is bookkeeping, dropped while the
 * disk is full, and a session in use must not time out for idleness then.
 * Writer thread only (oa_app_session_check).
 */
#define RECENT_SLOTS 4096

static struct {
    int64_t session_id, at;
} recent[RECENT_SLOTS];

/* The session's last use: the later of the database's and the gate's. */
static int64_t last_used(const struct oa_session *se)
{
    size_t i = (size_t)se->id % RECENT_SLOTS;
    return recent[i].session_id == se->id && recent[i].at > se->last_used_at ? recent[i].at : se->last_used_at;
}

static void note_used(int64_t session_id, int64_t now)
{
    size_t i = (size_t)session_id % RECENT_SLOTS;
    recent[i].session_id = session_id;
    recent[i].at = now;
}

int oa_app_session_check(struct oa_store *s, const unsigned char hash[OA_TOKEN_HASH_LEN], unsigned idle_s,
                         struct oa_app_session_check *out, enum oa_err *result)
{
    int64_t now = oa_now();
    out->epoch = oa_accounts_epoch();
    *result = OA_E_UNAUTHENTICATED;
    int rc = oa_session_by_hash(s, hash, &out->session);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0)
        return 0;
    int64_t used = last_used(&out->session);
    if (now >= out->session.expires_at || now - used > (int64_t)idle_s) {
        (void)oa_session_delete(s, out->session.id);
        return 0;
    }
    rc = oa_user_by_id(s, out->session.user_id, &out->user);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0 || out->user.disabled) {
        (void)oa_session_delete(s, out->session.id);
        return 0;
    }
    note_used(out->session.id, now);
    /* Idle time is tracked to the minute's quarter: no write on every request. */
    if (now - out->session.last_used_at >= 15)
        (void)oa_session_touch(s, out->session.id, now);
    *result = OA_E_OK;
    return 0;
}

int oa_app_session_end(struct oa_store *s, const struct oa_app_actor *by, int64_t id, bool current, bool *found)
{
    int rc = oa_session_delete_owned(s, id, by->user_id);
    if (rc < 0)
        return OA_E_STORAGE;
    *found = rc == 1;
    if (!*found)
        return 0;
    return oa_app_audit(s, by, current ? "logout" : "session.end", NULL, "ok", NULL) == 0 ? 0 : OA_E_STORAGE;
}

int oa_app_sessions(struct oa_store *s, const struct oa_app_actor *by, struct oa_session *out, size_t cap, size_t *n)
{
    return oa_session_list(s, by->user_id, out, cap, n) != 0 ? OA_E_STORAGE : 0;
}
