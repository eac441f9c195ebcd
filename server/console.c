/* server/console.c: see console.h. */
#include "server/console.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/auth.h"
#include "storage/accounts.h"
#include "workflow/access.h"

int oa_console_argon2(struct oa_store *s, struct oa_config *cfg, bool write)
{
    if (write) {
        char ops[32], mem[32];
        snprintf(ops, sizeof(ops), "%llu", (unsigned long long)cfg->argon2_opslimit);
        snprintf(mem, sizeof(mem), "%zu", cfg->argon2_memlimit);
        const char *const kv[2][2] = {{"argon2_opslimit", ops}, {"argon2_memlimit", mem}};
        for (int i = 0; i < 2; i++) {
            sqlite3_stmt *st = oa_store_stmt(s, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)");
            if (st == NULL)
                return -1;
            sqlite3_bind_text(st, 1, kv[i][0], -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, kv[i][1], -1, SQLITE_TRANSIENT);
            if (sqlite3_step(st) != SQLITE_DONE)
                return -1;
        }
        return 0;
    }
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT key, value FROM meta WHERE key LIKE 'argon2_%'");
    if (st == NULL)
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        long long v = sqlite3_column_int64(st, 1);
        if (k != NULL && strcmp(k, "argon2_opslimit") == 0 && v >= 1)
            cfg->argon2_opslimit = (uint64_t)v;
        else if (k != NULL && strcmp(k, "argon2_memlimit") == 0 && v >= 8192)
            cfg->argon2_memlimit = (size_t)v;
    }
    sqlite3_reset(st);
    return 0;
}

int oa_console_reset_password(struct oa_config *cfg, const char *username)
{
    char path[600], pw[21] = "", *why = NULL;
    struct oa_store store;
    struct oa_user u;
    int rc = 1, found;
    snprintf(path, sizeof(path), "%s/oa.db", cfg->data_dir);
    if (oa_store_open(&store, path, false, &why) != 0) {
        fprintf(stderr, "oad: %s\n", why);
        free(why);
        return 1;
    }
    if (oa_console_argon2(&store, cfg, false) != 0 || oa_store_exec(&store, "BEGIN IMMEDIATE") != 0)
        goto out;
    found = oa_user_by_name(&store, username, &u);
    if (found <= 0) {
        oa_store_exec(&store, "ROLLBACK");
        if (found == 0)
            fprintf(stderr, "oad: no account is named '%s'\n", username);
        rc = found == 0 ? 2 : 1;
        goto out;
    }
    oa_password_generate(pw);
    if (oa_password_hash(pw, cfg->argon2_opslimit, cfg->argon2_memlimit, u.pw_hash) != 0)
        goto rollback;
    u.must_change_pw = true;
    u.failed_logins = 0;
    u.locked_until = 0;
    bool admin = (u.roles & OA_ROLES_ADMIN) != 0;
    if (!admin)
        u.clearance_hold = true;
    struct oa_audit_event ev = {
        .event = "console.password_reset", .target = u.username, .label = -1, .outcome = "ok",
        .source = "oad console",
        .detail = admin ? "one-time password issued at the console"
                        : "one-time password issued at the console; clearance held until secadmin confirms it",
    };
    if (oa_user_update(&store, &u) != 0 || oa_session_delete_user(&store, u.id, 0) < 0 ||
        oa_audit(&store, &ev) != 0 || oa_store_exec(&store, "COMMIT") != 0)
        goto rollback;
    printf("oad: a one-time password for %s (to be changed at the first login):\n%s\n", u.username, pw);
    if (!admin)
        printf("oad: %s sees no documents until secadmin confirms the clearance (PUT /v1/users/%lld/clearance)\n",
               u.username, (long long)u.id);
    rc = 0;
    goto out;
rollback:
    fprintf(stderr, "oad: the password of %s could not be reset: %s\n", username, sqlite3_errmsg(store.db));
    oa_store_exec(&store, "ROLLBACK");
out:
    sodium_memzero(pw, sizeof(pw));
    oa_store_close(&store);
    return rc;
}
