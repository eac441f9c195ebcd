/* storage/labelmac.c: see labelmac.h. */
#include "storage/labelmac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/accounts.h"
#include "storage/documents.h"

static unsigned char label_key[crypto_auth_hmacsha256_KEYBYTES];
static bool have_key;
static _Atomic unsigned key_gen = 1; /* bumped by a new key, or none: every remembered label is stale */

/*
 * HMAC-SHA256 (RFC 2104) with the key's two padded blocks hashed once, when
 * the key is set: a check then hashes two blocks instead of four, with
 * OpenSSL's SHA-256 (which uses the CPU's SHA instructions where it has
 * them).  A list page checks every label it shows, so this is on the read
 * path of every page.  The states are only read after they are set (every
 * thread copies them), like the key.
 */
static EVP_MD_CTX *pad_inner, *pad_outer;

static void pads_free(void)
{
    EVP_MD_CTX_free(pad_inner);
    EVP_MD_CTX_free(pad_outer);
    pad_inner = pad_outer = NULL;
}

/* Hashes key XOR ipad into pad_inner and key XOR opad into pad_outer; 0 or -1. */
static int pads_set(void)
{
    unsigned char block[64];
    const EVP_MD *md = EVP_sha256();
    pads_free();
    pad_inner = EVP_MD_CTX_new();
    pad_outer = EVP_MD_CTX_new();
    int ok = pad_inner != NULL && pad_outer != NULL;
    for (int pass = 0; ok && pass < 2; pass++) {
        memset(block, pass == 0 ? 0x36 : 0x5c, sizeof(block));
        for (size_t i = 0; i < sizeof(label_key); i++)
            block[i] ^= label_key[i];
        EVP_MD_CTX *c = pass == 0 ? pad_inner : pad_outer;
        ok = EVP_DigestInit_ex(c, md, NULL) == 1 && EVP_DigestUpdate(c, block, sizeof(block)) == 1;
    }
    OPENSSL_cleanse(block, sizeof(block));
    if (!ok)
        pads_free();
    return ok ? 0 : -1;
}

int oa_labelmac_key(const unsigned char audit_seed[32])
{
    static const char salt[] = "oa-label-mac", info[] = "oa label MAC v1";
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)audit_seed, 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, sizeof(salt) - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, sizeof(info) - 1),
        OSSL_PARAM_construct_end(),
    };
    int ok = ctx != NULL && EVP_KDF_derive(ctx, label_key, sizeof(label_key), params) == 1 && pads_set() == 0;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    have_key = ok;
    key_gen++;
    if (!ok)
        sodium_memzero(label_key, sizeof(label_key));
    return ok ? 0 : -1;
}

void oa_labelmac_forget(void)
{
    sodium_memzero(label_key, sizeof(label_key));
    pads_free();
    have_key = false;
    key_gen++;
}

static void put_bytes(EVP_MD_CTX *h, const char *s)
{
    size_t len = strlen(s);
    unsigned char n[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                          (unsigned char)len};
    EVP_DigestUpdate(h, n, 4);
    EVP_DigestUpdate(h, s, len);
}

/* The MAC of a label (see labelmac.h); scope sorted ascending.  0, or -1 without a key (or out of memory). */
static int label_mac(int64_t id, int level, const char *declass, bool scoped, char *const *scope, size_t n,
                     unsigned char out[OA_LABEL_MAC_LEN])
{
    if (!have_key)
        return -1;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    unsigned char head[12 + 8 + 1], inner[32];
    unsigned int len = 0;
    memcpy(head, "oa-label-v1", 12); /* with its NUL */
    for (int i = 0; i < 8; i++)
        head[12 + i] = (unsigned char)((uint64_t)id >> (56 - 8 * i));
    head[20] = (unsigned char)level;
    int ok = h != NULL && EVP_MD_CTX_copy_ex(h, pad_inner) == 1;
    if (ok) {
        EVP_DigestUpdate(h, head, sizeof(head));
        put_bytes(h, declass);
        unsigned char flag = scoped ? 1 : 0;
        EVP_DigestUpdate(h, &flag, 1);
        for (size_t i = 0; scoped && i < n; i++)
            put_bytes(h, scope[i]);
        ok = EVP_DigestFinal_ex(h, inner, &len) == 1 && len == sizeof(inner) &&
             EVP_MD_CTX_copy_ex(h, pad_outer) == 1 && EVP_DigestUpdate(h, inner, sizeof(inner)) == 1 &&
             EVP_DigestFinal_ex(h, out, &len) == 1 && len == OA_LABEL_MAC_LEN;
    }
    EVP_MD_CTX_free(h);
    OPENSSL_cleanse(inner, sizeof(inner));
    return ok ? 0 : -1;
}

int oa_doc_label_mac_of(struct oa_store *s, const struct oa_doc *d, unsigned char mac[OA_LABEL_MAC_LEN])
{
    size_t n = 0;
    char **scope = d->scoped ? oa_doc_scope(s, d->id, &n) : NULL;
    if (d->scoped && scope == NULL)
        return -1;
    int have = label_mac(d->id, d->level, d->declass_date, d->scoped, scope, n, mac) == 0;
    oa_strv_free(scope);
    return have;
}

int oa_doc_label_seal(struct oa_store *s, int64_t doc_id)
{
    /* From the row as it is now, whatever a caller holds in memory. */
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT level, declass_date, scoped FROM documents WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return -1;
    }
    int level = sqlite3_column_int(st, 0);
    char declass[16];
    const unsigned char *t = sqlite3_column_text(st, 1);
    snprintf(declass, sizeof(declass), "%s", t ? (const char *)t : "");
    bool scoped = sqlite3_column_int(st, 2) != 0;
    sqlite3_reset(st);
    size_t n = 0;
    char **scope = scoped ? oa_doc_scope(s, doc_id, &n) : NULL;
    if (scoped && scope == NULL)
        return -1;
    unsigned char mac[OA_LABEL_MAC_LEN];
    int have = label_mac(doc_id, level, declass, scoped, scope, n, mac) == 0;
    oa_strv_free(scope);
    st = oa_store_stmt(s, "UPDATE documents SET label_mac = ? WHERE id = ?");
    if (st == NULL)
        return -1;
    if (have)
        sqlite3_bind_blob(st, 1, mac, sizeof(mac), SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 1); /* no key: unsealed, and so refused by every check */
    sqlite3_bind_int64(st, 2, doc_id);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

/*
 * The labels this thread checked and found intact, so that a list page read
 * again does not hash them again: direct-mapped by document id, LABEL_MEMO
 * entries per thread (bounded whatever the number of documents).  An entry
 * holds everything the MAC covers for an unscoped label (id, level,
 * declassification date, scoped = 0), the MAC that matched, and the key's
 * generation: a label whose level, date or MAC differs in any byte, a scoped
 * label, or a label checked under an earlier key, is hashed again.  The MAC
 * is a function of exactly those inputs, so a hit is the verdict the hash
 * would give.
 */
#define LABEL_MEMO 1024
struct label_memo {
    int64_t id;
    unsigned gen;
    int level;
    char declass[sizeof(((struct oa_doc *)0)->declass_date)];
    unsigned char mac[OA_LABEL_MAC_LEN];
};
static _Thread_local struct label_memo memo[LABEL_MEMO];

static struct label_memo *memo_slot(const struct oa_doc *d)
{
    return &memo[(uint64_t)d->id % LABEL_MEMO];
}

static bool memo_has(const struct oa_doc *d)
{
    const struct label_memo *m = memo_slot(d);
    return !d->scoped && m->id == d->id && m->gen == key_gen && m->level == d->level &&
           strncmp(m->declass, d->declass_date, sizeof(m->declass)) == 0 &&
           CRYPTO_memcmp(m->mac, d->label_mac, sizeof(m->mac)) == 0;
}

static void memo_put(const struct oa_doc *d)
{
    struct label_memo *m = memo_slot(d);
    if (d->scoped)
        return;
    m->id = d->id;
    m->gen = key_gen;
    m->level = d->level;
    memcpy(m->declass, d->declass_date, sizeof(m->declass));
    memcpy(m->mac, d->label_mac, sizeof(m->mac));
}

int oa_doc_label_check(struct oa_store *s, const struct oa_doc *d)
{
    unsigned char mac[OA_LABEL_MAC_LEN];
    if (!d->has_label_mac || !have_key)
        return 0;
    if (memo_has(d))
        return 1;
    size_t n = 0;
    char **scope = d->scoped ? oa_doc_scope(s, d->id, &n) : NULL;
    if (d->scoped && scope == NULL)
        return -1;
    int made = label_mac(d->id, d->level, d->declass_date, d->scoped, scope, n, mac);
    oa_strv_free(scope);
    if (made != 0)
        return -1; /* out of memory: an error, not a verdict */
    if (CRYPTO_memcmp(mac, d->label_mac, sizeof(mac)) != 0)
        return 0;
    memo_put(d);
    return 1;
}

int oa_doc_label_fill(struct oa_store *s, int *n)
{
    int64_t done = 0;
    *n = 0;
    int rc = oa_meta_get_int(s, "label_mac_filled", &done);
    if (rc < 0)
        return -1;
    if (rc == 1 && done == 1)
        return 0;
    if (!have_key || oa_store_begin(s) != 0)
        return -1;
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT id FROM documents WHERE label_mac IS NULL ORDER BY id");
    if (st == NULL)
        goto fail;
    size_t cap = 64, count = 0;
    int64_t *ids = malloc(cap * sizeof(*ids));
    while (ids != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            int64_t *more = realloc(ids, 2 * cap * sizeof(*ids));
            if (more == NULL)
                break;
            ids = more;
            cap *= 2;
        }
        ids[count++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    if (ids == NULL || rc != SQLITE_DONE) {
        free(ids);
        goto fail;
    }
    for (size_t i = 0; i < count; i++)
        if (oa_doc_label_seal(s, ids[i]) != 0) {
            free(ids);
            goto fail;
        }
    free(ids);
    if (oa_meta_set(s, "label_mac_filled", "1") != 0 || oa_store_commit(s) != 0)
        goto fail;
    *n = (int)count;
    return 0;
fail:
    oa_store_rollback(s);
    return -1;
}
