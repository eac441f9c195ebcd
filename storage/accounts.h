/*
 * storage/accounts.h: users and sessions in the database.
 *
 * These functions run inside a writer job (or oad init's own transaction).
 * Passwords never reach this module: it stores and returns Argon2id hash
 * strings produced elsewhere.  Session tokens are stored only as SHA-256
 * hashes.
 */
#ifndef OA_STORAGE_ACCOUNTS_H
#define OA_STORAGE_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/account.h"
#include "storage/store.h"

/*
 * A counter that every change to an account or a session increases (on the
 * writer thread).  Caches of authentication state compare it to know that
 * nothing changed since they looked.
 */
uint64_t oa_accounts_epoch(void);

/* 1 found, 0 not found, -1 database error. */
int oa_user_by_name(struct oa_store *s, const char *username, struct oa_user *u);
int oa_user_by_id(struct oa_store *s, int64_t id, struct oa_user *u);

/*
 * Inserts a user (u->id and timestamps are set here).  Returns 1, 0 when the
 * username is taken, or -1.
 */
int oa_user_insert(struct oa_store *s, struct oa_user *u);

/*
 * Writes back the mutable fields of u (roles, clearance, department,
 * password hash and flags, lockout counters), bumps its version and records
 * a change.  Returns 0 or -1.
 */
int oa_user_update(struct oa_store *s, struct oa_user *u);

/* The user's compartments as a NULL-terminated array of strings the caller frees with oa_strv_free. */
char **oa_user_compartments(struct oa_store *s, int64_t user_id);
int oa_user_set_compartments(struct oa_store *s, int64_t user_id, const char *const *comps, int n);

/* Inserts a session; returns its id or -1. */
int64_t oa_session_insert(struct oa_store *s, const unsigned char hash[OA_TOKEN_HASH_LEN], int64_t user_id,
                          int64_t expires_at, const char *source);
/* 1 found, 0 not found, -1 error. */
int oa_session_by_hash(struct oa_store *s, const unsigned char hash[OA_TOKEN_HASH_LEN], struct oa_session *out);
/* A person's sessions, oldest first, at most cap into out; *n how many. 0 or -1. */
int oa_session_list(struct oa_store *s, int64_t user_id, struct oa_session *out, size_t cap, size_t *n);
/* The ids of accounts after `after`, in id order, at most limit (and cap) into ids. 0 or -1. */
int oa_user_ids_page(struct oa_store *s, int64_t after, int64_t limit, int64_t *ids, size_t cap, size_t *n);
/*
 * Creates an organ (or a department of organ_id) with a code unique in its
 * scope; returns the new id, 0 when the code is taken, -1 on error.
 */
int64_t oa_organ_insert(struct oa_store *s, const char *code, const char *name);

/* One row of the organisation: an organ and one of its departments (dept_id 0: none). */
struct oa_org_row {
    int64_t organ_id;
    const char *organ_code, *organ_name;
    int64_t dept_id;
    const char *dept_code, *dept_name;
};
/*
 * Calls fn for each organ and department, grouped by organ, in id order (at
 * most 10,000 rows); the strings live until fn returns.  0, or -1 on error.
 */
int oa_org_each(struct oa_store *s, void (*fn)(void *arg, const struct oa_org_row *row), void *arg);
int64_t oa_department_insert(struct oa_store *s, int64_t organ_id, const char *code, const char *name);
int oa_session_touch(struct oa_store *s, int64_t id, int64_t now);
int oa_session_delete(struct oa_store *s, int64_t id);
/* Ends session `id` if it belongs to user_id: 1 ended, 0 no such session of theirs, -1 error. */
int oa_session_delete_owned(struct oa_store *s, int64_t id, int64_t user_id);
/* Ends every session of a user except `keep` (0: keep none). Returns the count or -1. */
int oa_session_delete_user(struct oa_store *s, int64_t user_id, int64_t keep);
/* Deletes the sessions that ended: expired by `now`, or last used before
 * `idle_before`.  *n their number; 0 or -1. */
int oa_session_prune(struct oa_store *s, int64_t now, int64_t idle_before, int64_t *n);

/*
 * #17: authenticator secrets wrapped under a version of the top level's KEK
 * other than `current` (the version is the wrapped secret's first byte,
 * app/totp.c), so a key rotation rewraps them before it retires that
 * version.  At most cap rows; 0 or -1.
 */
struct oa_totp_row {
    int64_t user_id;
    unsigned char secret[OA_TOTP_WRAPPED_MAX];
    size_t len;
};
int oa_user_totp_stale(struct oa_store *s, int current, struct oa_totp_row *rows, size_t cap, size_t *n);
/* Replaces a user's wrapped authenticator secret; 0 or -1. */
int oa_user_totp_set(struct oa_store *s, int64_t user_id, const unsigned char *secret, size_t len);
/* How many authenticator secrets are wrapped under `version`; -1 on error. */
int64_t oa_user_totp_count_version(struct oa_store *s, int version);

#endif
