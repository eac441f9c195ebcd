/* storage/accounts.c: users and sessions.  See accounts.h. */
#include "storage/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/value.h"

#include <stdatomic.h>

static atomic_uint_fast64_t epoch = 1;

uint64_t oa_accounts_epoch(void)
{
    return atomic_load(&epoch);
}

static void bump(void)
{
    atomic_fetch_add(&epoch, 1);
}

#define USER_COLS                                                                              \
    "id, username, display_name, coalesce(department_id, 0), roles, clearance, pw_hash,"      \
    " must_change_pw, disabled, failed_logins, locked_until, version, created_at, updated_at,"   \
    " totp_required, totp_confirmed, totp_last_step, totp_secret, declassifier, clearance_hold"

static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    pv_utf8_copy(dst, cap, (const char *)t);
}

static int read_user(sqlite3_stmt *st, struct oa_user *u)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(st, 0);
    copy_text(u->username, sizeof(u->username), st, 1);
    copy_text(u->display_name, sizeof(u->display_name), st, 2);
    u->department_id = sqlite3_column_int64(st, 3);
    u->roles = (unsigned)sqlite3_column_int64(st, 4);
    u->clearance = sqlite3_column_int(st, 5);
    copy_text(u->pw_hash, sizeof(u->pw_hash), st, 6);
    u->must_change_pw = sqlite3_column_int(st, 7) != 0;
    u->disabled = sqlite3_column_int(st, 8) != 0;
    u->failed_logins = sqlite3_column_int(st, 9);
    u->locked_until = sqlite3_column_int64(st, 10);
    u->version = sqlite3_column_int64(st, 11);
    u->created_at = sqlite3_column_int64(st, 12);
    u->updated_at = sqlite3_column_int64(st, 13);
    u->totp_required = sqlite3_column_int(st, 14) != 0;
    u->totp_confirmed = sqlite3_column_int(st, 15) != 0;
    u->totp_last_step = sqlite3_column_int64(st, 16);
    u->declassifier = sqlite3_column_int(st, 18) != 0;
    u->clearance_hold = sqlite3_column_int(st, 19) != 0;
    int n = sqlite3_column_bytes(st, 17);
    if (n > 0 && (size_t)n <= sizeof(u->totp_secret)) {
        memcpy(u->totp_secret, sqlite3_column_blob(st, 17), (size_t)n);
        u->totp_secret_len = (size_t)n;
    }
    return 1;
}

int oa_user_by_name(struct oa_store *s, const char *username, struct oa_user *u)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT " USER_COLS " FROM users WHERE username = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    return read_user(st, u);
}

int oa_user_by_id(struct oa_store *s, int64_t id, struct oa_user *u)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT " USER_COLS " FROM users WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    return read_user(st, u);
}

int oa_user_insert(struct oa_store *s, struct oa_user *u)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO users(username, display_name, department_id, roles, clearance, pw_hash,"
        " must_change_pw, disabled, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT(username) DO NOTHING");
    if (st == NULL)
        return -1;
    int64_t now = oa_now();
    sqlite3_bind_text(st, 1, u->username, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, u->display_name, -1, SQLITE_STATIC);
    if (u->department_id > 0)
        sqlite3_bind_int64(st, 3, u->department_id);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, u->roles);
    sqlite3_bind_int(st, 5, u->clearance);
    sqlite3_bind_text(st, 6, u->pw_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, u->must_change_pw);
    sqlite3_bind_int(st, 8, u->disabled);
    sqlite3_bind_int64(st, 9, now);
    sqlite3_bind_int64(st, 10, now);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    if (sqlite3_changes(s->db) == 0)
        return 0;
    u->id = sqlite3_last_insert_rowid(s->db);
    u->version = 1;
    u->created_at = u->updated_at = now;
    if (oa_change_record(s, "user", u->id, "create") < 0)
        return -1;
    return 1;
}

int oa_user_update(struct oa_store *s, struct oa_user *u)
{
    bump();
    sqlite3_stmt *st = oa_store_stmt(s,
        "UPDATE users SET display_name = ?, department_id = ?, roles = ?, clearance = ?, pw_hash = ?,"
        " must_change_pw = ?, disabled = ?, failed_logins = ?, locked_until = ?,"
        " version = version + 1, updated_at = ?, totp_required = ?, totp_confirmed = ?,"
        " totp_last_step = ?, totp_secret = ?, declassifier = ?, clearance_hold = ? WHERE id = ?");
    if (st == NULL)
        return -1;
    int64_t now = oa_now();
    sqlite3_bind_text(st, 1, u->display_name, -1, SQLITE_STATIC);
    if (u->department_id > 0)
        sqlite3_bind_int64(st, 2, u->department_id);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int64(st, 3, u->roles);
    sqlite3_bind_int(st, 4, u->clearance);
    sqlite3_bind_text(st, 5, u->pw_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, u->must_change_pw);
    sqlite3_bind_int(st, 7, u->disabled);
    sqlite3_bind_int(st, 8, u->failed_logins);
    sqlite3_bind_int64(st, 9, u->locked_until);
    sqlite3_bind_int64(st, 10, now);
    sqlite3_bind_int(st, 11, u->totp_required);
    sqlite3_bind_int(st, 12, u->totp_confirmed);
    sqlite3_bind_int64(st, 13, u->totp_last_step);
    if (u->totp_secret_len > 0)
        sqlite3_bind_blob(st, 14, u->totp_secret, (int)u->totp_secret_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 14);
    sqlite3_bind_int(st, 15, u->declassifier);
    sqlite3_bind_int(st, 16, u->clearance_hold);
    sqlite3_bind_int64(st, 17, u->id);
    if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(s->db) != 1)
        return -1;
    u->version++;
    u->updated_at = now;
    return oa_change_record(s, "user", u->id, "update") < 0 ? -1 : 0;
}

char **oa_user_compartments(struct oa_store *s, int64_t user_id)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT compartment FROM user_compartments WHERE user_id = ? ORDER BY compartment");
    if (st == NULL)
        return NULL;
    sqlite3_bind_int64(st, 1, user_id);
    size_t n = 0, cap = 4;
    char **v = oa_xmalloc(cap * sizeof(*v));
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n + 1 >= cap) {
            cap *= 2;
            v = oa_xrealloc(v, cap * sizeof(*v));
        }
        v[n++] = oa_xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    v[n] = NULL;
    return v;
}

int oa_user_set_compartments(struct oa_store *s, int64_t user_id, const char *const *comps, int n)
{
    bump();
    sqlite3_stmt *del = oa_store_stmt(s, "DELETE FROM user_compartments WHERE user_id = ?");
    if (del == NULL)
        return -1;
    sqlite3_bind_int64(del, 1, user_id);
    if (sqlite3_step(del) != SQLITE_DONE)
        return -1;
    for (int i = 0; i < n; i++) {
        sqlite3_stmt *ins = oa_store_stmt(s,
            "INSERT OR IGNORE INTO user_compartments(user_id, compartment) VALUES (?, ?)");
        if (ins == NULL)
            return -1;
        sqlite3_bind_int64(ins, 1, user_id);
        sqlite3_bind_text(ins, 2, comps[i], -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            return -1;
    }
    return 0;
}

int64_t oa_session_insert(struct oa_store *s, const unsigned char hash[OA_TOKEN_HASH_LEN], int64_t user_id,
                          int64_t expires_at, const char *source)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO sessions(token_hash, user_id, created_at, last_used_at, expires_at, source)"
        " VALUES (?,?,?,?,?,?)");
    if (st == NULL)
        return -1;
    int64_t now = oa_now();
    sqlite3_bind_blob(st, 1, hash, OA_TOKEN_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, expires_at);
    sqlite3_bind_text(st, 6, source, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    return sqlite3_last_insert_rowid(s->db);
}

int oa_session_by_hash(struct oa_store *s, const unsigned char hash[OA_TOKEN_HASH_LEN], struct oa_session *out)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT id, user_id, created_at, last_used_at, expires_at, source FROM sessions WHERE token_hash = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_blob(st, 1, hash, OA_TOKEN_HASH_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    out->id = sqlite3_column_int64(st, 0);
    out->user_id = sqlite3_column_int64(st, 1);
    out->created_at = sqlite3_column_int64(st, 2);
    out->last_used_at = sqlite3_column_int64(st, 3);
    out->expires_at = sqlite3_column_int64(st, 4);
    copy_text(out->source, sizeof(out->source), st, 5);
    return 1;
}

int oa_session_list(struct oa_store *s, int64_t user_id, struct oa_session *out, size_t cap, size_t *n)
{
    *n = 0;
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT id, created_at, last_used_at, expires_at, source FROM sessions"
        " WHERE user_id = ? ORDER BY id LIMIT 100");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user_id);
    while (*n < cap && sqlite3_step(st) == SQLITE_ROW) {
        struct oa_session *x = &out[(*n)++];
        x->id = sqlite3_column_int64(st, 0);
        x->user_id = user_id;
        x->created_at = sqlite3_column_int64(st, 1);
        x->last_used_at = sqlite3_column_int64(st, 2);
        x->expires_at = sqlite3_column_int64(st, 3);
        copy_text(x->source, sizeof(x->source), st, 4);
    }
    sqlite3_reset(st);
    return 0;
}

int oa_user_ids_page(struct oa_store *s, int64_t after, int64_t limit, int64_t *ids, size_t cap, size_t *n)
{
    *n = 0;
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT id FROM users WHERE id > ? ORDER BY id LIMIT ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, limit);
    while (*n < cap && sqlite3_step(st) == SQLITE_ROW)
        ids[(*n)++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

/* Runs an INSERT ... ON CONFLICT DO NOTHING prepared in st: the new id, 0 when it conflicted, -1 on error. */
static int64_t insert_id(struct oa_store *s, sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    return sqlite3_changes(s->db) == 0 ? 0 : sqlite3_last_insert_rowid(s->db);
}

int64_t oa_organ_insert(struct oa_store *s, const char *code, const char *name)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT INTO organs(code, name) VALUES (?, ?) ON CONFLICT DO NOTHING");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    return insert_id(s, st);
}

int64_t oa_department_insert(struct oa_store *s, int64_t organ_id, const char *code, const char *name)
{
    sqlite3_stmt *st =
        oa_store_stmt(s, "INSERT INTO departments(organ_id, code, name) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, organ_id);
    sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    return insert_id(s, st);
}

int oa_session_touch(struct oa_store *s, int64_t id, int64_t now)
{
    sqlite3_stmt *st = oa_store_stmt(s, "UPDATE sessions SET last_used_at = ? WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, id);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int oa_session_delete(struct oa_store *s, int64_t id)
{
    bump();
    sqlite3_stmt *st = oa_store_stmt(s, "DELETE FROM sessions WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int oa_session_prune(struct oa_store *s, int64_t now, int64_t idle_before, int64_t *n)
{
    *n = 0;
    sqlite3_stmt *st = oa_store_stmt(s, "DELETE FROM sessions WHERE expires_at <= ? OR last_used_at < ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, idle_before);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    *n = sqlite3_changes(s->db);
    if (*n > 0)
        bump();
    return 0;
}

int oa_session_delete_owned(struct oa_store *s, int64_t id, int64_t user_id)
{
    bump();
    sqlite3_stmt *st = oa_store_stmt(s, "DELETE FROM sessions WHERE id = ? AND user_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, user_id);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    return sqlite3_changes(s->db) == 1 ? 1 : 0;
}

int oa_session_delete_user(struct oa_store *s, int64_t user_id, int64_t keep)
{
    bump();
    sqlite3_stmt *st = oa_store_stmt(s, "DELETE FROM sessions WHERE user_id = ? AND id != ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, keep);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    return sqlite3_changes(s->db);
}

int oa_org_each(struct oa_store *s, void (*fn)(void *arg, const struct oa_org_row *row), void *arg)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT o.id, o.code, o.name, d.id, d.code, d.name FROM organs o"
        " LEFT JOIN departments d ON d.organ_id = o.id ORDER BY o.id, d.id LIMIT 10000");
    if (st == NULL)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct oa_org_row row = {
            sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
            (const char *)sqlite3_column_text(st, 2), sqlite3_column_int64(st, 3),
            (const char *)sqlite3_column_text(st, 4), (const char *)sqlite3_column_text(st, 5),
        };
        fn(arg, &row);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- #17: authenticator secrets across a key rotation ---- */

int oa_user_totp_stale(struct oa_store *s, int current, struct oa_totp_row *rows, size_t cap, size_t *n)
{
    unsigned char v = (unsigned char)current;
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT id, totp_secret FROM users WHERE length(totp_secret) > 0"
                                        " AND substr(totp_secret, 1, 1) != ? ORDER BY id LIMIT ?");
    *n = 0;
    if (st == NULL)
        return -1;
    sqlite3_bind_blob(st, 1, &v, 1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)cap);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < cap) {
        int len = sqlite3_column_bytes(st, 1);
        if (len <= 0 || (size_t)len > sizeof(rows[*n].secret))
            continue;
        rows[*n].user_id = sqlite3_column_int64(st, 0);
        memcpy(rows[*n].secret, sqlite3_column_blob(st, 1), (size_t)len);
        rows[*n].len = (size_t)len;
        (*n)++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

int oa_user_totp_set(struct oa_store *s, int64_t user_id, const unsigned char *secret, size_t len)
{
    sqlite3_stmt *st = oa_store_stmt(s, "UPDATE users SET totp_secret = ? WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_blob(st, 1, secret, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, user_id);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

int64_t oa_user_totp_count_version(struct oa_store *s, int version)
{
    unsigned char v = (unsigned char)version;
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT count(*) FROM users WHERE length(totp_secret) > 0"
                                        " AND substr(totp_secret, 1, 1) = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_blob(st, 1, &v, 1, SQLITE_TRANSIENT);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return n;
}
