/*
 * tests/storage/labelmac_test.c: a document's label (level, scope,
 * declassification date) bound by its MAC (storage/labelmac.h, #17), on a
 * real SQLite file: what oad writes checks; the same label edited with SQL
 * behind oad's back, a scope row removed, the scoped flag cleared, or one
 * row's MAC copied to another fail; without the key every check fails;
 * migration 15's rows get a MAC once, and never again afterwards; the MAC is
 * the one labelmac.h describes (recomputed here with libsodium's HMAC), so
 * the labels sealed by an earlier oad still check.
 */
#include <criterion/criterion.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/documents.h"
#include "storage/labelmac.h"
#include "storage/store.h"

static char dir[256], path[300];
static struct oa_store s;
static unsigned char seed[32];

static void setup(void)
{
    cr_assert_geq(sodium_init(), 0);
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/labelmac-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/oa.db", dir);
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    randombytes_buf(seed, sizeof(seed));
    cr_assert_eq(oa_labelmac_key(seed), 0);
    cr_assert_eq(oa_store_exec(&s, "INSERT INTO users(id, username, display_name, pw_hash, roles, clearance,"
                                   " department_id, created_at, updated_at) VALUES (10, 'me', 'me', 'x', 1, 4, NULL,"
                                   " 0, 0)"),
                 0);
}

static void teardown(void)
{
    oa_labelmac_forget();
    oa_store_close(&s);
}

TestSuite(labelmac, .init = setup, .fini = teardown);

static void exec(const char *sql)
{
    cr_assert_eq(oa_store_exec(&s, sql), 0, "%s", sql);
}

static int64_t new_doc(int level, const char *declass)
{
    struct oa_doc d;
    memset(&d, 0, sizeof(d));
    snprintf(d.kind, sizeof(d.kind), "outgoing");
    d.def_version = 1;
    snprintf(d.state, sizeof(d.state), "draft");
    snprintf(d.title, sizeof(d.title), "关于标签完整性的通知");
    snprintf(d.urgency, sizeof(d.urgency), "ordinary");
    d.level = level;
    snprintf(d.declass_date, sizeof(d.declass_date), "%s", declass);
    d.drafter_id = 10;
    cr_assert_eq(oa_doc_insert(&s, &d, 10), 0, "%s", oa_store_errmsg(&s));
    return d.id;
}

/* The check of document id as stored now: 1 intact, 0 tampered. */
static int check(int64_t id)
{
    struct oa_doc d;
    cr_assert_eq(oa_doc_load(&s, id, &d), 1);
    int rc = oa_doc_label_check(&s, &d);
    oa_doc_free(&d);
    cr_assert_geq(rc, 0);
    return rc;
}

static void sqlf(const char *fmt, long long id)
{
    char sql[300];
    snprintf(sql, sizeof(sql), fmt, id);
    exec(sql);
}

Test(labelmac, what_oad_writes_checks_and_an_edit_behind_its_back_does_not)
{
    int64_t id = new_doc(3, "2030-01-01");
    cr_assert_eq(check(id), 1, "a fresh document's label does not check");
    /* Lowered with SQL: detected.  Put back: intact again (the MAC is of the label, not of a moment). */
    sqlf("UPDATE documents SET level = 0 WHERE id = %lld", id);
    cr_assert_eq(check(id), 0, "a level lowered behind oad's back passed");
    sqlf("UPDATE documents SET level = 3 WHERE id = %lld", id);
    cr_assert_eq(check(id), 1);
    sqlf("UPDATE documents SET declass_date = '2026-01-01' WHERE id = %lld", id);
    cr_assert_eq(check(id), 0, "a declassification date moved behind oad's back passed");
    sqlf("UPDATE documents SET declass_date = '2030-01-01' WHERE id = %lld", id);
    /* A save through oad (a relabel) reseals. */
    struct oa_doc d;
    cr_assert_eq(oa_doc_load(&s, id, &d), 1);
    d.level = 1;
    d.declass_date[0] = '\0';
    cr_assert_eq(oa_doc_save(&s, &d, 10, 0, NULL), 0);
    oa_doc_free(&d);
    cr_assert_eq(check(id), 1, "a label oad changed does not check");
    /* Another row's MAC for the same label: the id is bound in. */
    int64_t other = new_doc(1, "");
    exec("UPDATE documents SET label_mac = (SELECT label_mac FROM documents WHERE id = 1) WHERE id = 2");
    cr_assert_eq(other, 2);
    cr_assert_eq(check(other), 0, "a MAC copied from another document passed");
    sqlf("UPDATE documents SET label_mac = NULL WHERE id = %lld", id);
    cr_assert_eq(check(id), 0, "a removed MAC passed");
}

Test(labelmac, the_scope_is_bound_too)
{
    int64_t id = new_doc(2, "");
    struct oa_doc d;
    cr_assert_eq(oa_doc_load(&s, id, &d), 1);
    const char *scope[] = {"user:alice", "dept:3"};
    cr_assert_eq(oa_doc_scope_set(&s, &d, scope, 2), 0);
    oa_doc_free(&d);
    cr_assert_eq(check(id), 1);
    sqlf("DELETE FROM doc_scope WHERE doc_id = %lld AND entry = 'user:alice'", id);
    cr_assert_eq(check(id), 0, "a widened scope (an entry removed) passed");
    sqlf("INSERT INTO doc_scope(doc_id, entry) VALUES (%lld, 'user:alice')", id);
    cr_assert_eq(check(id), 1);
    sqlf("INSERT INTO doc_scope(doc_id, entry) VALUES (%lld, 'user:mallory')", id);
    cr_assert_eq(check(id), 0, "an entry added behind oad's back passed");
    sqlf("DELETE FROM doc_scope WHERE doc_id = %lld AND entry = 'user:mallory'", id);
    sqlf("UPDATE documents SET scoped = 0 WHERE id = %lld", id);
    cr_assert_eq(check(id), 0, "the scope switched off behind oad's back passed");
}

/*
 * oa_doc_save writes the MAC in the row's own UPDATE when the copy's scoped
 * flag is the row's, with the scope rows as stored; a copy whose flag is
 * stale (its scope changed after it was loaded) is sealed from the row.
 */
Test(labelmac, a_save_seals_the_label_it_writes)
{
    int64_t id = new_doc(2, "");
    struct oa_doc d, stale;
    cr_assert_eq(oa_doc_load(&s, id, &d), 1);
    cr_assert_eq(oa_doc_load(&s, id, &stale), 1);
    const char *scope[] = {"dept:3"};
    cr_assert_eq(oa_doc_scope_set(&s, &d, scope, 1), 0);
    d.level = 3;
    cr_assert_eq(oa_doc_save(&s, &d, 10, 0, NULL), 0);
    cr_assert_eq(check(id), 1, "a scoped document's save does not check");
    cr_assert(d.has_label_mac, "the saved copy does not hold its new MAC");
    struct oa_doc now;
    cr_assert_eq(oa_doc_load(&s, id, &now), 1);
    cr_assert_eq(memcmp(now.label_mac, d.label_mac, sizeof(d.label_mac)), 0, "the copy's MAC is not the row's");
    oa_doc_free(&now);
    /* The stale copy (unscoped, level 2) is saved over it: the row keeps its scope, and the MAC covers it. */
    cr_assert_not(stale.scoped);
    cr_assert_eq(oa_doc_save(&s, &stale, 10, 0, NULL), 0);
    cr_assert_eq(check(id), 1, "a save from a copy with a stale scoped flag does not check");
    sqlf("DELETE FROM doc_scope WHERE doc_id = %lld", id);
    cr_assert_eq(check(id), 0, "the scope the stale save kept is not bound");
    oa_doc_free(&d);
    oa_doc_free(&stale);
}

Test(labelmac, without_the_key_nothing_checks)
{
    int64_t id = new_doc(2, "");
    oa_labelmac_forget();
    cr_assert_eq(check(id), 0);
    int64_t bare = new_doc(2, "");
    cr_assert_eq(oa_labelmac_key(seed), 0);
    cr_assert_eq(check(bare), 0, "a document written without the key has a MAC");
    /* Another key (another key file): nothing checks. */
    unsigned char other[32];
    randombytes_buf(other, sizeof(other));
    cr_assert_eq(oa_labelmac_key(other), 0);
    cr_assert_eq(check(id), 0);
}

Test(labelmac, rows_from_before_migration_15_are_sealed_once)
{
    int64_t a = new_doc(2, ""), b = new_doc(0, "");
    exec("UPDATE documents SET label_mac = NULL"); /* as migration 15 finds them */
    int n = 0;
    cr_assert_eq(oa_doc_label_fill(&s, &n), 0, "%s", oa_store_errmsg(&s));
    cr_assert_eq(n, 2);
    cr_assert_eq(check(a), 1);
    cr_assert_eq(check(b), 1);
    /* After that, a MAC removed with a lowered level is tampering, even across a restart. */
    sqlf("UPDATE documents SET label_mac = NULL, level = 0 WHERE id = %lld", a);
    cr_assert_eq(oa_doc_label_fill(&s, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(check(a), 0);
}

/* The label MAC as labelmac.h describes it, computed independently: HKDF-SHA256 of the seed, then libsodium's HMAC. */
static void reference_mac(int64_t id, int level, const char *declass, const char *const *scope, size_t n,
                          unsigned char out[32])
{
    static const char salt[] = "oa-label-mac", info[] = "oa label MAC v1";
    unsigned char key[32];
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, seed, 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, sizeof(salt) - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, sizeof(info) - 1),
        OSSL_PARAM_construct_end(),
    };
    cr_assert_eq(EVP_KDF_derive(ctx, key, sizeof(key), params), 1);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    crypto_auth_hmacsha256_state h;
    crypto_auth_hmacsha256_init(&h, key, sizeof(key));
    unsigned char head[21] = "oa-label-v1";
    for (int i = 0; i < 8; i++)
        head[12 + i] = (unsigned char)((uint64_t)id >> (56 - 8 * i));
    head[20] = (unsigned char)level;
    crypto_auth_hmacsha256_update(&h, head, sizeof(head));
    const char *parts[8] = {declass};
    size_t np = 1;
    for (size_t i = 0; i < n && np < 8; i++)
        parts[np++] = scope[i];
    for (size_t i = 0; i < np; i++) {
        size_t len = strlen(parts[i]);
        unsigned char be[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                               (unsigned char)len};
        crypto_auth_hmacsha256_update(&h, be, 4);
        crypto_auth_hmacsha256_update(&h, (const unsigned char *)parts[i], len);
        if (i == 0) {
            unsigned char flag = n > 0;
            crypto_auth_hmacsha256_update(&h, &flag, 1);
        }
    }
    crypto_auth_hmacsha256_final(&h, out);
}

static void assert_stored_mac(int64_t id, const unsigned char want[32])
{
    struct oa_doc d;
    cr_assert_eq(oa_doc_load(&s, id, &d), 1);
    cr_assert(d.has_label_mac);
    cr_assert_eq(memcmp(d.label_mac, want, 32), 0, "document %lld: the stored MAC is not labelmac.h's",
                 (long long)id);
    oa_doc_free(&d);
}

Test(labelmac, the_mac_is_the_documented_hmac)
{
    unsigned char want[32];
    int64_t plain = new_doc(2, "2036-05-01");
    reference_mac(plain, 2, "2036-05-01", NULL, 0, want);
    assert_stored_mac(plain, want);
    int64_t scoped = new_doc(3, "");
    struct oa_doc d;
    cr_assert_eq(oa_doc_load(&s, scoped, &d), 1);
    const char *scope[] = {"user:alice", "dept:3"}, *sorted[] = {"dept:3", "user:alice"};
    cr_assert_eq(oa_doc_scope_set(&s, &d, scope, 2), 0);
    oa_doc_free(&d);
    reference_mac(scoped, 3, "", sorted, 2, want);
    assert_stored_mac(scoped, want);
    cr_assert_eq(check(plain), 1);
    cr_assert_eq(check(scoped), 1);
}

/* The labels a thread found intact are remembered (labelmac.c): nothing it remembers outlives a change. */
Test(labelmac, a_remembered_label_never_outlives_a_change)
{
    int64_t id = new_doc(2, "2031-01-01"), other = new_doc(2, "2031-01-01");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(check(id), 1);
    cr_assert_eq(check(other), 1);
    sqlf("UPDATE documents SET level = 0 WHERE id = %lld", id);
    cr_assert_eq(check(id), 0, "a level lowered after the label was remembered passed");
    sqlf("UPDATE documents SET level = 2 WHERE id = %lld", id);
    cr_assert_eq(check(id), 1);
    sqlf("UPDATE documents SET declass_date = '2026-01-01' WHERE id = %lld", id);
    cr_assert_eq(check(id), 0, "a date moved after the label was remembered passed");
    sqlf("UPDATE documents SET declass_date = '2031-01-01' WHERE id = %lld", id);
    cr_assert_eq(check(id), 1);
    /* The other row's MAC, for an identical label: the id is in the MAC, and in what is remembered. */
    char sql[200];
    snprintf(sql, sizeof(sql), "UPDATE documents SET label_mac = (SELECT label_mac FROM documents WHERE id = %lld)"
                               " WHERE id = %lld", (long long)other, (long long)id);
    exec(sql);
    cr_assert_eq(check(id), 0, "another row's MAC passed once the label was remembered");
    /* A scope added behind oad's back (the scoped flag and a row): never answered from memory. */
    struct oa_doc d;
    cr_assert_eq(oa_doc_load(&s, other, &d), 1);
    cr_assert_eq(oa_doc_label_check(&s, &d), 1);
    oa_doc_free(&d);
    sqlf("UPDATE documents SET scoped = 1 WHERE id = %lld", other);
    sqlf("INSERT INTO doc_scope(doc_id, entry) VALUES (%lld, 'user:mallory')", other);
    cr_assert_eq(check(other), 0, "a scope added after the label was remembered passed");
    sqlf("DELETE FROM doc_scope WHERE doc_id = %lld", other);
    sqlf("UPDATE documents SET scoped = 0 WHERE id = %lld", other);
    cr_assert_eq(check(other), 1);
    /* Without the key, or under another, nothing remembered passes. */
    oa_labelmac_forget();
    cr_assert_eq(check(other), 0, "a remembered label passed without the key");
    unsigned char key2[32];
    randombytes_buf(key2, sizeof(key2));
    cr_assert_eq(oa_labelmac_key(key2), 0);
    cr_assert_eq(check(other), 0, "a label remembered under another key passed");
    cr_assert_eq(oa_labelmac_key(seed), 0);
    cr_assert_eq(check(other), 1);
    /* Bounded: more documents than the table holds all still check, each against its own row. */
    int64_t first = 0, last = 0;
    for (int i = 0; i < 1100; i++) {
        last = new_doc(1, "");
        first = first ? first : last;
    }
    for (int64_t k = first; k <= last; k++)
        cr_assert_eq(check(k), 1);
    sqlf("UPDATE documents SET level = 3 WHERE id = %lld", first + 7);
    for (int64_t k = first; k <= last; k++)
        cr_assert_eq(check(k), k == first + 7 ? 0 : 1, "document %lld", (long long)k);
}
