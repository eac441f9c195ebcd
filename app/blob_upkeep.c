/* app/blob_upkeep.c: see blob_upkeep.h. */
#include "app/blob_upkeep.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/totp.h"
#include "proto/alloc.h"
#include "proto/errors.h"
#include "proto/log.h"
#include "storage/accounts.h"
#include "storage/blobs.h"
#include "storage/keys.h"
#include "storage/keytoken.h"
#include "storage/store.h"

struct oa_app_reseal {
    int64_t after;
    struct oa_blob_row old, neu;
    int doc_level;
    unsigned char old_dek[OA_DEK_LEN], new_dek[OA_DEK_LEN];
    char old_path[4096], new_path[4096];
    char cause[300];
};

struct oa_app_reseal *oa_app_reseal_new(void)
{
    return oa_xcalloc(1, sizeof(struct oa_app_reseal));
}

void oa_app_reseal_free(struct oa_app_reseal *x)
{
    if (x == NULL)
        return;
    sodium_memzero(x->old_dek, sizeof(x->old_dek));
    sodium_memzero(x->new_dek, sizeof(x->new_dek));
    free(x);
}

int oa_app_reseal_next(struct oa_store *s, struct oa_app_reseal *x)
{
    return oa_blob_next_reseal(s, x->after, &x->old, &x->doc_level);
}

int oa_app_reseal_prepare(struct oa_app_reseal *x, const struct oa_keys *keys, const char *data_dir)
{
    x->neu = x->old;
    x->neu.level = x->doc_level;
    x->neu.staged = false; /* a staged file is bound to its document now */
    oa_blob_file_new(x->neu.file);
    oa_dek_new(x->new_dek);
    if (oa_dek_unwrap(keys, x->old.level, x->old.kek_version, x->old.dek, x->old_dek) != 0 ||
        oa_dek_wrap(keys, x->neu.level, x->new_dek, x->neu.dek, &x->neu.kek_version) != 0 ||
        oa_blob_path(data_dir, x->old.file, x->old_path, sizeof(x->old_path)) != 0 ||
        oa_blob_path(data_dir, x->neu.file, x->new_path, sizeof(x->new_path)) != 0 ||
        oa_blob_dir_make(data_dir, x->neu.file) != 0) {
        oa_log(OA_LOG_ERROR, "blob_reseal_failed", "blob=%lld cause=\"key or path\"", (long long)x->old.id);
        x->after = x->old.id;
        return -1;
    }
    return 0;
}

struct copy_ctx {
    struct oa_blob_writer *w;
    char *cause;
    size_t causelen;
};

static int copy_sink(void *arg, const void *data, size_t len)
{
    struct copy_ctx *c = arg;
    if (oa_blob_write(c->w, data, len, c->cause, c->causelen) != 0) {
        c->w = NULL;
        return -1;
    }
    return 0;
}

int oa_app_reseal_copy(struct oa_app_reseal *x)
{
    char oad[256], nad[256];
    size_t oadl = oa_blob_ad(&x->old, oad, sizeof(oad)), nadl = oa_blob_ad(&x->neu, nad, sizeof(nad));
    struct copy_ctx c = {NULL, x->cause, sizeof(x->cause)};
    if (oa_blob_writer_open(x->new_path, (enum oa_blob_suite)x->neu.suite, x->new_dek, nad, nadl, &c.w, x->cause,
                            sizeof(x->cause)) != 0)
        return -1;
    if (oa_blob_read(x->old_path, x->old_dek, oad, oadl, 0, UINT64_MAX, x->old.info.digest, copy_sink, &c,
                     x->cause, sizeof(x->cause)) != 0 ||
        c.w == NULL) {
        oa_blob_writer_abort(c.w);
        return -1;
    }
    struct oa_blob_info info;
    if (oa_blob_writer_finish(c.w, &info, x->cause, sizeof(x->cause)) != 0)
        return -1;
    x->neu.info.stored = info.stored;
    x->neu.info.compressed = info.compressed;
    return 0;
}

int oa_app_reseal_swap(struct oa_store *s, struct oa_app_reseal *x)
{
    int found = oa_blob_replace_file(s, &x->neu, x->old.file);
    if (found == 1) {
        char detail[160];
        snprintf(detail, sizeof(detail), "blob %lld re-sealed from level %d to %d", (long long)x->old.id,
                 x->old.level, x->neu.level);
        struct oa_audit_event ev = {.event = "blob.reseal", .doc_id = x->old.doc_id, .label = x->neu.level,
                                    .outcome = "ok", .detail = detail, .actor = "oad"};
        if (oa_audit(s, &ev) != 0)
            return -1;
    }
    return found;
}

void oa_app_reseal_done(struct oa_app_reseal *x, bool swapped)
{
    unlink(swapped ? x->old_path : x->new_path);
    x->after = x->old.id; /* a failed one is skipped: fsck names it */
}

int64_t oa_app_reseal_blob(const struct oa_app_reseal *x)
{
    return x->old.id;
}

const char *oa_app_reseal_cause(const struct oa_app_reseal *x)
{
    return x->cause;
}

/* Rewraps up to 256 data keys under the current KEKs; *n how many rows were stale.  0 or OA_E_STORAGE. */
static int rewrap_deks(struct oa_store *s, struct oa_app_rewrap *x, size_t *n)
{
    const struct oa_keys *k = x->keys;
    int rc = 0;
    struct oa_blob_row *rows = oa_blob_stale_keys(s, k->kek_version, 256, n, &rc);
    if (rc != 0)
        return OA_E_STORAGE;
    for (size_t i = 0; i < *n; i++) {
        unsigned char dek[OA_DEK_LEN], wrapped[OA_DEK_WRAPPED];
        int version = 0;
        if (oa_dek_unwrap(k, rows[i].level, rows[i].kek_version, rows[i].dek, dek) != 0)
            continue; /* its key is missing: fsck names it */
        int wrc = oa_dek_wrap(k, rows[i].level, dek, wrapped, &version);
        sodium_memzero(dek, sizeof(dek));
        if (wrc != 0 || oa_blob_set_dek(s, rows[i].id, version, wrapped) != 0) {
            free(rows);
            return OA_E_STORAGE;
        }
        x->done++;
    }
    free(rows);
    return 0;
}

/* Rewraps up to 64 authenticator secrets; *more when a full batch changed something.  0 or OA_E_STORAGE. */
static int rewrap_totp(struct oa_store *s, struct oa_app_rewrap *x, bool *more)
{
    const struct oa_keys *k = x->keys;
    struct oa_totp_row trows[64];
    size_t tn = 0;
    if (oa_user_totp_stale(s, k->kek_version[OA_KEY_LEVELS - 1], trows, 64, &tn) != 0)
        return OA_E_STORAGE;
    size_t rewrapped = 0;
    for (size_t i = 0; i < tn; i++) {
        unsigned char secret[OA_TOTP_SECRET], wrapped[OA_TOTP_WRAPPED_MAX];
        size_t wlen = 0;
        if (oa_totp_unwrap(k, trows[i].secret, trows[i].len, secret) != 0)
            continue; /* its key is missing */
        int wrc = oa_totp_wrap(k, secret, wrapped, sizeof(wrapped), &wlen);
        sodium_memzero(secret, sizeof(secret));
        if (wrc != 0 || oa_user_totp_set(s, trows[i].user_id, wrapped, wlen) != 0)
            return OA_E_STORAGE;
        x->done++;
        rewrapped++;
    }
    sodium_memzero(trows, sizeof(trows));
    *more = tn == 64 && rewrapped > 0;
    return 0;
}

/* Retires what nothing uses (into x->retired, saved to the key file); detail names them.  0 or OA_E_STORAGE. */
static int retire_unused(struct oa_store *s, struct oa_app_rewrap *x, char *detail, size_t cap)
{
    const struct oa_keys *k = x->keys;
    size_t o = 0;
    detail[0] = '\0';
    for (int l = 0; l < OA_KEY_LEVELS; l++)
        for (int v = 1; v < k->kek_version[l]; v++) {
            if (!k->kek_present[l][v] || x->busy[l][v])
                continue;
            int64_t used = oa_blob_count_kek(s, l, v);
            int64_t totp = l == OA_KEY_LEVELS - 1 ? oa_user_totp_count_version(s, v) : 0;
            if (used < 0 || totp < 0)
                return OA_E_STORAGE;
            used += totp;
            if (used > 0)
                continue;
            if (x->retired == NULL) {
                x->retired = sodium_malloc(sizeof(*x->retired));
                memcpy(x->retired, k, sizeof(*k));
            }
            oa_keys_retire(x->retired, l, v);
            o += (size_t)snprintf(detail + o, o < cap ? cap - o : 0, "%slevel %d version %d", o ? ", " : "", l, v);
        }
    char cause[256];
    if (x->retired && oa_keys_save(x->key_file, x->retired, cause, sizeof(cause)) != 0) {
        oa_log(OA_LOG_ERROR, "keys_retire_failed", "cause=\"%s\"", cause);
        sodium_free(x->retired);
        x->retired = NULL;
    }
    return 0;
}

int oa_app_rewrap_step(struct oa_store *s, struct oa_app_rewrap *x)
{
    size_t n = 0;
    int rc = rewrap_deks(s, x, &n);
    if (rc != 0)
        return rc;
    x->more = n == 256;
    if (x->more)
        return 0;
    /* Authenticator secrets are wrapped under the top level's KEK too (app/totp.c): rewrapped before
     * their version may retire, or secadmin could never pass a step-up again (#17). */
    if ((rc = rewrap_totp(s, x, &x->more)) != 0 || x->more)
        return rc;
    char detail[256];
    if ((rc = retire_unused(s, x, detail, sizeof(detail))) != 0)
        return rc;
    if (x->done > 0 || x->retired) {
        char d2[400];
        snprintf(d2, sizeof(d2), "%zu data keys rewrapped%s%s", x->done, x->retired ? "; retired " : "",
                 x->retired ? detail : "");
        struct oa_audit_event ev = {.event = "keys.rewrap", .label = -1, .outcome = "ok", .detail = d2,
                                    .actor = "oad"};
        if (oa_audit(s, &ev) != 0)
            return OA_E_STORAGE;
    }
    return 0;
}

struct oa_keys *oa_app_keys_reload(const char *key_file, char *cause, size_t cap)
{
    struct oa_keys *k = sodium_malloc(sizeof(*k));
    if (k == NULL) {
        snprintf(cause, cap, "out of memory");
        return NULL;
    }
    if (oa_keys_load(key_file, k, cause, cap) != 0) {
        sodium_free(k);
        return NULL;
    }
    if (oa_keys_use_token(k) && !oa_keytoken_is_open()) { /* #17 */
        snprintf(cause, cap, "the key file names KEKs in a PKCS#11 token this oad has not opened: restart it with "
                             "keys.pkcs11_module and keys.pkcs11_token");
        sodium_free(k);
        return NULL;
    }
    return k;
}
