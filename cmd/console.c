/* cmd/console.c: see console.h. */
#include "cmd/console.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/auth.h"
#include "proto/value.h"
#include "storage/accounts.h"
#include "storage/report.h"
#include "workflow/access.h"

int oa_console_argon2(struct oa_store *s, struct oa_config *cfg, bool write)
{
    if (write) {
        char ops[32], mem[32];
        snprintf(ops, sizeof(ops), "%llu", (unsigned long long)cfg->argon2_opslimit);
        snprintf(mem, sizeof(mem), "%zu", cfg->argon2_memlimit);
        return oa_meta_set(s, "argon2_opslimit", ops) == 0 && oa_meta_set(s, "argon2_memlimit", mem) == 0 ? 0 : -1;
    }
    int64_t ops, mem;
    int a = oa_meta_get_int(s, "argon2_opslimit", &ops), b = oa_meta_get_int(s, "argon2_memlimit", &mem);
    if (a < 0 || b < 0)
        return -1;
    if (a == 1 && ops >= 1)
        cfg->argon2_opslimit = (uint64_t)ops;
    if (b == 1 && mem >= 8192)
        cfg->argon2_memlimit = (size_t)mem;
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
    if (oa_console_argon2(&store, cfg, false) != 0 || oa_store_begin(&store) != 0)
        goto out;
    found = oa_user_by_name(&store, username, &u);
    if (found <= 0) {
        oa_store_rollback(&store);
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
        oa_audit(&store, &ev) != 0 || oa_store_commit(&store) != 0)
        goto rollback;
    printf("oad: a one-time password for %s (to be changed at the first login):\n%s\n", u.username, pw);
    if (!admin)
        printf("oad: %s sees no documents until secadmin confirms the clearance (PUT /v1/users/%lld/clearance)\n",
               u.username, (long long)u.id);
    rc = 0;
    goto out;
rollback:
    fprintf(stderr, "oad: the password of %s could not be reset: %s\n", username, oa_store_errmsg(&store));
    oa_store_rollback(&store);
out:
    sodium_memzero(pw, sizeof(pw));
    oa_store_close(&store);
    return rc;
}

/* ---- oad report security --month YYYY-MM ---- */

static void print_rows(cbor_item_t *r, const char *key, const char *title)
{
    const cbor_item_t *arr = pv_get(r, key);
    size_t n = arr ? cbor_array_size(arr) : 0;
    printf("\n%s: %zu\n", title, n);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        char *js = pv_encode_json(cbor_array_handle(arr)[i], &len);
        printf("  %s\n", js ? js : "?");
        free(js);
    }
}

int oa_console_report(struct oa_store *store, const char *month)
{
    cbor_item_t *r = oa_security_report(store, month);
    if (r == NULL) {
        fprintf(stderr, "oad: --month must be YYYY-MM\n");
        return 2;
    }
    const cbor_item_t *v;
    printf("Security report for %s\n", month);
    v = pv_get(r, "entries");
    printf("audit entries: %llu\n", (unsigned long long)(v ? cbor_get_int(v) : 0));
    v = pv_get(r, "logins_ok");
    printf("logins: %llu", (unsigned long long)(v ? cbor_get_int(v) : 0));
    v = pv_get(r, "logins_failed");
    printf(", failed: %llu\n", (unsigned long long)(v ? cbor_get_int(v) : 0));
    print_rows(r, "failed_logins_by_account", "failed logins by account");
    print_rows(r, "lockouts", "lockouts");
    print_rows(r, "refused_accesses", "refused accesses by user and level");
    print_rows(r, "label_changes", "label changes");
    print_rows(r, "administrator_actions", "administrator actions");
    print_rows(r, "password_resets", "password resets");
    print_rows(r, "alarms", "alarms");
    print_rows(r, "disk_full", "disk-full periods");
    print_rows(r, "database_damage", "database damage found");
    cbor_decref(&r);
    return 0;
}
