/*
 * tests/storage/keyseal_test.c: a key file sealed with a passphrase
 * (storage/keyseal.h): it opens with the passphrase only, a wrong one is told
 * apart from a damaged file, no key is in the file in plain, and sealing,
 * unsealing and a new passphrase keep every key.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/keys.h"
#include "storage/keyseal.h"

static char dir[256], kpath[300];

static void setup(void)
{
    cr_assert_geq(sodium_init(), 0);
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/keyseal-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(kpath, sizeof(kpath), "%s/keys", dir);
}

static void teardown(void)
{
    oa_keyseal_forget();
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

static void spit(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static void use_passphrase(const char *pw)
{
    cr_assert_eq(oa_keyseal_passphrase(pw, strlen(pw)), 0);
}

/* Seals a fresh key file with pw; its plain keys into *plain. */
static void sealed_file(const char *pw, struct oa_keys *plain)
{
    char cause[400];
    cr_assert_eq(oa_keys_create(kpath, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert_eq(oa_keys_load(kpath, plain, cause, sizeof(cause)), 0, "%s", cause);
    use_passphrase(pw);
    cr_assert_eq(oa_keyseal_rekey(1, 8192, cause, sizeof(cause)), 0, "%s", cause);
    struct oa_keys k = *plain;
    k.sealed = true;
    cr_assert_eq(oa_keys_save(kpath, &k, cause, sizeof(cause)), 0, "%s", cause);
    oa_keyseal_forget();
}

TestSuite(keyseal, .init = setup, .fini = teardown);

Test(keyseal, opens_with_its_passphrase_and_holds_no_key_in_plain)
{
    struct oa_keys plain, k;
    char cause[400], text[16384], hex[65];
    sealed_file("correct horse battery", &plain);
    cr_assert_eq(oa_keyseal_file_sealed(kpath), 1);
    slurp(kpath, text, sizeof(text));
    sodium_bin2hex(hex, sizeof(hex), plain.kek[2][1], OA_KEY_LEN);
    cr_assert_null(strstr(text, hex), "a KEK is in the sealed file in plain");
    sodium_bin2hex(hex, sizeof(hex), plain.db_key, OA_KEY_LEN);
    cr_assert_null(strstr(text, hex), "the database key is in the sealed file in plain");
    cr_assert_null(strstr(text, "kek "));
    struct stat st;
    cr_assert_eq(stat(kpath, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);

    /* Without a passphrase: a clear cause, not a wrong-passphrase answer. */
    int rc = oa_keys_load(kpath, &k, cause, sizeof(cause));
    cr_assert_eq(rc, -1);
    cr_assert(strstr(cause, "sealed with a passphrase"), "%s", cause);

    use_passphrase("correct horse battery");
    cr_assert_eq(oa_keys_load(kpath, &k, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert(k.sealed);
    cr_assert(memcmp(k.kek, plain.kek, sizeof(k.kek)) == 0);
    cr_assert(memcmp(k.db_key, plain.db_key, OA_KEY_LEN) == 0);
    cr_assert(memcmp(k.audit_seed, plain.audit_seed, OA_KEY_LEN) == 0);
}

Test(keyseal, a_wrong_passphrase_is_its_own_answer_and_leaves_no_key)
{
    struct oa_keys plain, k;
    char cause[400];
    sealed_file("correct horse battery", &plain);
    use_passphrase("correct horse batterY");
    memset(&k, 0xaa, sizeof(k));
    cr_assert_eq(oa_keys_load(kpath, &k, cause, sizeof(cause)), OA_KEYS_WRONG_PASSPHRASE, "%s", cause);
    cr_assert(strstr(cause, "passphrase does not open"), "%s", cause);
    static const struct oa_keys zero;
    cr_assert(memcmp(&k, &zero, sizeof(k)) == 0, "a failed load left key material behind");
}

Test(keyseal, a_damaged_header_or_body_is_damage_not_a_wrong_passphrase)
{
    struct oa_keys plain, k;
    char cause[400], text[16384], copy[16384];
    sealed_file("correct horse battery", &plain);
    size_t n = slurp(kpath, text, sizeof(text));
    use_passphrase("correct horse battery");
    const char *where[] = {"kdf argon2id13 ", "nonce ", "sealed "};
    for (size_t i = 0; i < 3; i++) {
        memcpy(copy, text, n + 1);
        char *p = strstr(copy, where[i]);
        cr_assert_not_null(p);
        p += strlen(where[i]) + 2;
        *p = *p == 'A' ? 'B' : (*p == '1' ? '2' : '1');
        spit(kpath, copy, n);
        int rc = oa_keys_load(kpath, &k, cause, sizeof(cause));
        cr_assert_eq(rc, -1, "%s: %d %s", where[i], rc, cause);
        cr_assert(strstr(cause, "damaged"), "%s", cause);
    }
    /* Header parameters that would make Argon2id allocate without bound are refused, even with a matching
     * check line (as a hostile file would have). */
    memcpy(copy, text, n + 1);
    char *p = strstr(copy, "kdf argon2id13 1 8192 ");
    cr_assert_not_null(p, "%s", copy);
    char big[16384];
    snprintf(big, sizeof(big), "%.*skdf argon2id13 1 999999999999 %s", (int)(p - copy), copy,
             p + strlen("kdf argon2id13 1 8192 "));
    char *check = strstr(big, "\ncheck ");
    cr_assert_not_null(check);
    unsigned char sum[16];
    char hex[33];
    crypto_generichash(sum, sizeof(sum), (unsigned char *)big, (size_t)(check + 1 - big), NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
    snprintf(check + 1, sizeof(big) - (size_t)(check + 1 - big), "check %s\n", hex);
    spit(kpath, big, strlen(big));
    cr_assert_eq(oa_keys_load(kpath, &k, cause, sizeof(cause)), -1);
    cr_assert(strstr(cause, "malformed"), "%s", cause);
    /* Cut short. */
    spit(kpath, text, n / 2);
    cr_assert_eq(oa_keys_load(kpath, &k, cause, sizeof(cause)), -1);
    cr_assert(strstr(cause, "damaged"), "%s", cause);
}

Test(keyseal, rotate_unseal_and_a_new_passphrase_keep_every_key)
{
    struct oa_keys plain, k;
    char cause[400];
    sealed_file("correct horse battery", &plain);
    use_passphrase("correct horse battery");
    /* A rotation saved by a process that opened the file keeps it sealed under the same passphrase. */
    cr_assert_eq(oa_keys_load(kpath, &k, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert_eq(oa_keys_rotate(&k, 3, cause, sizeof(cause)), 0);
    cr_assert_eq(oa_keys_save(kpath, &k, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert_eq(oa_keyseal_file_sealed(kpath), 1);
    oa_keyseal_forget();
    use_passphrase("correct horse battery");
    cr_assert_eq(oa_keys_load(kpath, &k, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert_eq(k.kek_version[3], 2);
    /* A new passphrase: the old one no longer opens it. */
    use_passphrase("a much longer new passphrase");
    cr_assert_eq(oa_keyseal_rekey(1, 8192, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert_eq(oa_keys_save(kpath, &k, cause, sizeof(cause)), 0, "%s", cause);
    use_passphrase("correct horse battery");
    cr_assert_eq(oa_keys_load(kpath, &k, cause, sizeof(cause)), OA_KEYS_WRONG_PASSPHRASE);
    use_passphrase("a much longer new passphrase");
    cr_assert_eq(oa_keys_load(kpath, &k, cause, sizeof(cause)), 0, "%s", cause);
    /* Unsealed: plain again, every key kept. */
    k.sealed = false;
    cr_assert_eq(oa_keys_save(kpath, &k, cause, sizeof(cause)), 0, "%s", cause);
    oa_keyseal_forget();
    cr_assert_eq(oa_keyseal_file_sealed(kpath), 0);
    cr_assert_eq(oa_keys_load(kpath, &k, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert(!k.sealed);
    cr_assert(memcmp(k.kek[0][1], plain.kek[0][1], OA_KEY_LEN) == 0);
    cr_assert(memcmp(k.db_key, plain.db_key, OA_KEY_LEN) == 0);
}

Test(keyseal, a_new_key_file_is_created_sealed)
{
    struct oa_keys k;
    char cause[400], text[16384];
    use_passphrase("correct horse battery");
    cr_assert_eq(oa_keys_create_sealed(kpath, cause, sizeof(cause)), -1, "sealed without a derived key");
    cr_assert_eq(oa_keyseal_rekey(1, 8192, cause, sizeof(cause)), 0, "%s", cause);
    unlink(kpath);
    cr_assert_eq(oa_keys_create_sealed(kpath, cause, sizeof(cause)), 0, "%s", cause);
    slurp(kpath, text, sizeof(text));
    cr_assert(strncmp(text, "oa-keys-sealed 1\n", 17) == 0, "%s", text);
    cr_assert_eq(oa_keys_load(kpath, &k, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert(k.has_db_key);
}
