/*
 * tests/storage/keytoken_test.c: key-encryption keys inside a PKCS#11 token
 * (storage/keytoken.h) through p11-kit, on a SoftHSM2 token initialised in
 * the test's own directory (SOFTHSM2_CONF): data keys wrap and unwrap inside
 * it in the file KEKs' form, survive closing and reopening the token, are
 * bound to their level and version, a damaged wrap is refused; the KEK
 * cannot be read out of the token; a wrong PIN or an absent token is a
 * clear refusal.
 */
#include <criterion/criterion.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/blob.h"
#include "storage/keys.h"
#include "storage/keytoken.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define PIN "246810"

static char dir[256];

static void setup(void)
{
    cr_assert_geq(sodium_init(), 0);
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/keytoken-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    char conf[400], tokens[300], cmd[1200];
    snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
    snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
    snprintf(cmd, sizeof(cmd), "mkdir -p %s && printf 'directories.tokendir = %s\\nobjectstore.backend = file\\n"
                               "log.level = ERROR\\n' > %s", tokens, tokens, conf);
    cr_assert_eq(system(cmd), 0);
    setenv("SOFTHSM2_CONF", conf, 1);
    snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free --label oa-kek --pin " PIN " --so-pin 13579 "
                               ">/dev/null");
    cr_assert_eq(system(cmd), 0, "softhsm2-util could not initialise a token");
}

static void teardown(void)
{
    oa_keytoken_close();
}

TestSuite(keytoken, .init = setup, .fini = teardown);

static void open_token(void)
{
    char cause[400];
    cr_assert_eq(oa_keytoken_open(MODULE, "oa-kek", PIN, strlen(PIN), cause, sizeof(cause)), 0, "%s", cause);
}

Test(keytoken, data_keys_wrap_inside_the_token_and_survive_a_reopen)
{
    char cause[400];
    open_token();
    struct oa_keys k;
    memset(&k, 0, sizeof(k));
    for (int l = 0; l < OA_KEY_LEVELS; l++) {
        cr_assert_eq(oa_keys_rotate(&k, l, cause, sizeof(cause)), 0, "%s", cause);
        cr_assert(k.kek_token[l][1], "level %d's KEK was not made in the token", l);
    }
    static const unsigned char zero[OA_KEY_LEN];
    cr_assert(memcmp(k.kek[3][1], zero, OA_KEY_LEN) == 0, "a token KEK's bytes are in memory");
    unsigned char dek[OA_DEK_LEN], back[OA_DEK_LEN], wrapped[OA_DEK_WRAPPED], again[OA_DEK_WRAPPED];
    int version = 0;
    oa_dek_new(dek);
    cr_assert_eq(oa_dek_wrap(&k, 3, dek, wrapped, &version), 0);
    cr_assert_eq(version, 1);
    cr_assert_eq(oa_dek_wrap(&k, 3, dek, again, &version), 0);
    cr_assert(memcmp(wrapped, again, sizeof(wrapped)) != 0, "two wraps of one key are equal (a nonce reused)");
    cr_assert_eq(oa_dek_unwrap(&k, 3, 1, wrapped, back), 0);
    cr_assert(memcmp(dek, back, sizeof(dek)) == 0);
    /* Bound to its level: level 2's KEK does not open it, nor does a flipped byte. */
    cr_assert_neq(oa_dek_unwrap(&k, 2, 1, wrapped, back), 0);
    wrapped[20] ^= 1;
    cr_assert_neq(oa_dek_unwrap(&k, 3, 1, wrapped, back), 0);
    wrapped[20] ^= 1;
    /* The key file names them; closed and reopened (a restart), the same KEK opens it. */
    char kpath[400];
    snprintf(kpath, sizeof(kpath), "%s/keys", dir);
    k.has_db_key = false;
    cr_assert_eq(oa_keys_save(kpath, &k, cause, sizeof(cause)), 0, "%s", cause);
    oa_keytoken_close();
    cr_assert_neq(oa_dek_unwrap(&k, 3, 1, wrapped, back), 0, "unwrapped with the token closed");
    open_token();
    struct oa_keys loaded;
    cr_assert_eq(oa_keys_load(kpath, &loaded, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert(oa_keys_use_token(&loaded));
    cr_assert_eq(oa_dek_unwrap(&loaded, 3, 1, wrapped, back), 0);
    cr_assert(memcmp(dek, back, sizeof(dek)) == 0);
    /* A derived key (the authenticator secrets') is the same each time, and differs per label. */
    unsigned char d1[32], d2[32], d3[32];
    cr_assert_eq(oa_keytoken_derive(4, 1, "oa-totp", d1), 0);
    cr_assert_eq(oa_keytoken_derive(4, 1, "oa-totp", d2), 0);
    cr_assert_eq(oa_keytoken_derive(4, 1, "other", d3), 0);
    cr_assert(memcmp(d1, d2, 32) == 0 && memcmp(d1, d3, 32) != 0);
    /* Generating a version the token already holds is refused (another data directory's key). */
    cr_assert_eq(oa_keytoken_generate(3, 1, cause, sizeof(cause)), -1);
    cr_assert(strstr(cause, "already holds"), "%s", cause);
}

Test(keytoken, the_kek_cannot_be_read_out_of_the_token)
{
    char cause[400];
    open_token();
    cr_assert_eq(oa_keytoken_generate(2, 1, cause, sizeof(cause)), 0, "%s", cause);
    /* Straight through p11-kit, as any program with the PIN would try. */
    CK_FUNCTION_LIST *m = p11_kit_module_load(MODULE, 0);
    cr_assert_not_null(m);
    cr_assert_eq(p11_kit_module_initialize(m), CKR_OK);
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    cr_assert_eq(m->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    cr_assert_geq(n, 1);
    CK_SESSION_HANDLE s;
    cr_assert_eq(m->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
    CK_RV rv = m->C_Login(s, CKU_USER, (CK_UTF8CHAR *)PIN, strlen(PIN));
    cr_assert(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, "oa-kek-2-1", 10}};
    CK_OBJECT_HANDLE h = 0;
    CK_ULONG found = 0;
    cr_assert_eq(m->C_FindObjectsInit(s, tmpl, 2), CKR_OK);
    cr_assert_eq(m->C_FindObjects(s, &h, 1, &found), CKR_OK);
    m->C_FindObjectsFinal(s);
    cr_assert_eq(found, 1);
    unsigned char value[64];
    CK_ATTRIBUTE get = {CKA_VALUE, value, sizeof(value)};
    rv = m->C_GetAttributeValue(s, h, &get, 1);
    cr_assert_eq(rv, CKR_ATTRIBUTE_SENSITIVE, "the KEK's value was readable (rv %lu)", (unsigned long)rv);
    CK_BBOOL extractable = CK_TRUE;
    CK_ATTRIBUTE ex = {CKA_EXTRACTABLE, &extractable, sizeof(extractable)};
    cr_assert_eq(m->C_GetAttributeValue(s, h, &ex, 1), CKR_OK);
    cr_assert_eq(extractable, CK_FALSE);
    m->C_CloseSession(s);
    p11_kit_module_finalize(m);
    p11_kit_module_release(m);
}

Test(keytoken, a_wrong_pin_or_an_absent_token_is_a_clear_refusal)
{
    char cause[400];
    cr_assert_eq(oa_keytoken_open(MODULE, "oa-kek", "000000", 6, cause, sizeof(cause)), -1);
    cr_assert(strstr(cause, "wrong PIN"), "%s", cause);
    cr_assert_null(strstr(cause, "000000"), "the PIN is in the message: %s", cause);
    cr_assert(!oa_keytoken_is_open());
    cr_assert_eq(oa_keytoken_open(MODULE, "no-such-token", PIN, strlen(PIN), cause, sizeof(cause)), -1);
    cr_assert(strstr(cause, "no PKCS#11 token labelled 'no-such-token'"), "%s", cause);
    cr_assert_eq(oa_keytoken_open("/nonexistent/module.so", "oa-kek", PIN, strlen(PIN), cause, sizeof(cause)), -1);
    cr_assert(strstr(cause, "cannot load the PKCS#11 module"), "%s", cause);
    /* Closed: new keys go to the file again. */
    struct oa_keys k;
    memset(&k, 0, sizeof(k));
    cr_assert_eq(oa_keys_rotate(&k, 0, cause, sizeof(cause)), 0);
    cr_assert(!k.kek_token[0][1]);
}
