/*
 * model/account.h: a person's account and a login session, as storage/
 * reads and writes them (storage/accounts.h) and app/ and server/ use them.
 */
#ifndef OA_MODEL_ACCOUNT_H
#define OA_MODEL_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OA_USERNAME_MAX 64
#define OA_TOKEN_HASH_LEN 32
#define OA_TOTP_WRAPPED_MAX 96

struct oa_user {
    int64_t id;
    char username[OA_USERNAME_MAX + 1];
    char display_name[256];
    int64_t department_id;   /* 0: none */
    unsigned roles;
    int clearance;
    char pw_hash[256];
    bool must_change_pw;
    bool disabled;
    int failed_logins;
    int64_t locked_until;
    int64_t version;
    int64_t created_at, updated_at;
    bool declassifier;           /* secadmin named this person a declassifier */
    bool clearance_hold;         /* reset by sysadmin: no document access until secadmin confirms */
    bool totp_required;          /* secadmin requires a second factor */
    bool totp_confirmed;         /* the user has proven their authenticator */
    int64_t totp_last_step;      /* the last time step accepted (no replay) */
    unsigned char totp_secret[OA_TOTP_WRAPPED_MAX]; /* wrapped; see totp.h */
    size_t totp_secret_len;
};

struct oa_session {
    int64_t id, user_id;
    int64_t created_at, last_used_at, expires_at;
    char source[64];
};

/* Frees a NULL-terminated array of malloc'd strings (such as a user's compartments) and its strings; NULL is fine. */
void oa_strv_free(char **v);

#endif
