/* storage/keytoken.c: see keytoken.h. */
#include "storage/keytoken.h"

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "storage/keys.h"

#define NONCE_LEN 12
#define TAG_LEN 16

static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER;
static CK_FUNCTION_LIST *mod;
static CK_SESSION_HANDLE session;
static bool logged_in;
/* Object handles found so far, per level and version (0: not looked up, or absent). */
static CK_OBJECT_HANDLE handles[OA_KEY_LEVELS][OA_KEY_VERSIONS];

static void label_of(int level, int version, char *out, size_t cap)
{
    snprintf(out, cap, "oa-kek-%d-%d", level, version);
}

/* A token label is 32 bytes padded with spaces. */
static bool token_label_is(const unsigned char label[32], const char *want)
{
    size_t n = strlen(want), len = 32;
    while (len > 0 && label[len - 1] == ' ')
        len--;
    return len == n && memcmp(label, want, n) == 0;
}

int oa_keytoken_open(const char *module, const char *token_label, const char *pin, size_t pinlen, char *cause,
                     size_t causelen)
{
    CK_RV rv;
    CK_SLOT_ID slots[64];
    CK_ULONG nslots = 64;
    pthread_mutex_lock(&token_lock);
    if (mod != NULL) {
        pthread_mutex_unlock(&token_lock);
        return 0;
    }
    mod = p11_kit_module_load(module, 0);
    if (mod == NULL) {
        snprintf(cause, causelen, "cannot load the PKCS#11 module %s: %s", module, p11_kit_message());
        goto fail_unlocked;
    }
    rv = p11_kit_module_initialize(mod);
    if (rv != CKR_OK) {
        snprintf(cause, causelen, "the PKCS#11 module %s failed to initialise: %s", module, p11_kit_strerror(rv));
        p11_kit_module_release(mod);
        mod = NULL;
        goto fail_unlocked;
    }
    rv = mod->C_GetSlotList(CK_TRUE, slots, &nslots);
    if (rv != CKR_OK) {
        snprintf(cause, causelen, "cannot list the PKCS#11 slots: %s", p11_kit_strerror(rv));
        goto fail;
    }
    CK_SLOT_ID slot = 0;
    bool found = false;
    for (CK_ULONG i = 0; i < nslots && !found; i++) {
        CK_TOKEN_INFO info;
        if (mod->C_GetTokenInfo(slots[i], &info) == CKR_OK && token_label_is(info.label, token_label)) {
            slot = slots[i];
            found = true;
        }
    }
    if (!found) {
        snprintf(cause, causelen, "no PKCS#11 token labelled '%s' in %s (is it plugged in and initialised?)",
                 token_label, module);
        goto fail;
    }
    rv = mod->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session);
    if (rv != CKR_OK) {
        snprintf(cause, causelen, "cannot open a session on the token '%s': %s", token_label, p11_kit_strerror(rv));
        goto fail;
    }
    rv = mod->C_Login(session, CKU_USER, (CK_UTF8CHAR *)pin, (CK_ULONG)pinlen);
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        snprintf(cause, causelen, "cannot log in to the token '%s': %s", token_label,
                 rv == CKR_PIN_INCORRECT ? "wrong PIN" : p11_kit_strerror(rv));
        mod->C_CloseSession(session);
        goto fail;
    }
    logged_in = true;
    memset(handles, 0, sizeof(handles));
    pthread_mutex_unlock(&token_lock);
    return 0;
fail:
    p11_kit_module_finalize(mod);
    p11_kit_module_release(mod);
    mod = NULL;
fail_unlocked:
    pthread_mutex_unlock(&token_lock);
    return -1;
}

void oa_keytoken_close(void)
{
    pthread_mutex_lock(&token_lock);
    if (mod != NULL) {
        if (logged_in)
            mod->C_Logout(session);
        mod->C_CloseSession(session);
        p11_kit_module_finalize(mod);
        p11_kit_module_release(mod);
        mod = NULL;
        logged_in = false;
        memset(handles, 0, sizeof(handles));
    }
    pthread_mutex_unlock(&token_lock);
}

bool oa_keytoken_is_open(void)
{
    pthread_mutex_lock(&token_lock);
    bool open = mod != NULL;
    pthread_mutex_unlock(&token_lock);
    return open;
}

/* The handle of KEK (level, version), looked up once.  Locked.  0 when absent. */
static CK_OBJECT_HANDLE find(int level, int version)
{
    if (mod == NULL || level < 0 || level >= OA_KEY_LEVELS || version < 1 || version >= OA_KEY_VERSIONS)
        return 0;
    if (handles[level][version] != 0)
        return handles[level][version];
    char label[32];
    label_of(level, version, label, sizeof(label));
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_LABEL, label, strlen(label)},
    };
    CK_OBJECT_HANDLE h = 0;
    CK_ULONG n = 0;
    if (mod->C_FindObjectsInit(session, tmpl, 2) != CKR_OK)
        return 0;
    if (mod->C_FindObjects(session, &h, 1, &n) != CKR_OK || n != 1)
        h = 0;
    mod->C_FindObjectsFinal(session);
    handles[level][version] = h;
    return h;
}

bool oa_keytoken_has(int level, int version)
{
    pthread_mutex_lock(&token_lock);
    bool has = find(level, version) != 0;
    pthread_mutex_unlock(&token_lock);
    return has;
}

int oa_keytoken_generate(int level, int version, char *cause, size_t causelen)
{
    char label[32];
    label_of(level, version, label, sizeof(label));
    CK_MECHANISM mech = {CKM_AES_KEY_GEN, NULL, 0};
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG len = 32;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},       {CKA_KEY_TYPE, &type, sizeof(type)},
        {CKA_VALUE_LEN, &len, sizeof(len)},   {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &yes, sizeof(yes)},     {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &no, sizeof(no)},   {CKA_ENCRYPT, &yes, sizeof(yes)},
        {CKA_DECRYPT, &yes, sizeof(yes)},     {CKA_WRAP, &no, sizeof(no)},
        {CKA_LABEL, label, strlen(label)},
    };
    pthread_mutex_lock(&token_lock);
    int rc = -1;
    CK_OBJECT_HANDLE h = 0;
    if (mod == NULL) {
        snprintf(cause, causelen, "no PKCS#11 token is open (keys.pkcs11_module, keys.pkcs11_token)");
    } else if (find(level, version) != 0) {
        snprintf(cause, causelen, "the token already holds a key labelled %s: another data directory's? "
                                  "(use a token of its own)", label);
    } else {
        CK_RV rv = mod->C_GenerateKey(session, &mech, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &h);
        if (rv != CKR_OK) {
            snprintf(cause, causelen, "the token cannot generate an AES-256 key: %s", p11_kit_strerror(rv));
        } else {
            handles[level][version] = h;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&token_lock);
    return rc;
}

/* One GCM operation in the token.  Locked by the caller. */
static int gcm(CK_OBJECT_HANDLE h, bool enc, unsigned char nonce[NONCE_LEN], const void *aad, size_t aadlen,
               const unsigned char *in, CK_ULONG inlen, unsigned char *out, CK_ULONG outcap)
{
    CK_GCM_PARAMS p = {nonce, NONCE_LEN, NONCE_LEN * 8, (unsigned char *)aad, (CK_ULONG)aadlen, TAG_LEN * 8};
    CK_MECHANISM mech = {CKM_AES_GCM, &p, sizeof(p)};
    CK_ULONG outlen = outcap;
    if (enc) {
        if (mod->C_EncryptInit(session, &mech, h) != CKR_OK)
            return -1;
        return mod->C_Encrypt(session, (CK_BYTE *)in, inlen, out, &outlen) == CKR_OK && outlen == outcap ? 0 : -1;
    }
    /* Some tokens (SoftHSM2) want room for the whole input, tag included, before they check it; a
     * buffer too small would leave the operation active and block the session's next one. */
    unsigned char plain[256];
    if (inlen > sizeof(plain) || mod->C_DecryptInit(session, &mech, h) != CKR_OK)
        return -1;
    outlen = sizeof(plain);
    int rc = mod->C_Decrypt(session, (CK_BYTE *)in, inlen, plain, &outlen) == CKR_OK && outlen == outcap ? 0 : -1;
    if (rc == 0)
        memcpy(out, plain, outcap);
    sodium_memzero(plain, sizeof(plain));
    return rc;
}

int oa_keytoken_seal(int level, int version, const void *aad, size_t aadlen, const unsigned char *in, size_t len,
                     unsigned char *out)
{
    randombytes_buf(out, NONCE_LEN);
    pthread_mutex_lock(&token_lock);
    CK_OBJECT_HANDLE h = find(level, version);
    int rc = h ? gcm(h, true, out, aad, aadlen, in, (CK_ULONG)len, out + NONCE_LEN, (CK_ULONG)(len + TAG_LEN)) : -1;
    pthread_mutex_unlock(&token_lock);
    return rc;
}

int oa_keytoken_open_sealed(int level, int version, const void *aad, size_t aadlen, const unsigned char *in,
                            size_t len, unsigned char *out)
{
    unsigned char nonce[NONCE_LEN];
    memcpy(nonce, in, NONCE_LEN);
    pthread_mutex_lock(&token_lock);
    CK_OBJECT_HANDLE h = find(level, version);
    int rc = h ? gcm(h, false, nonce, aad, aadlen, in + NONCE_LEN, (CK_ULONG)(len + TAG_LEN), out, (CK_ULONG)len)
               : -1;
    pthread_mutex_unlock(&token_lock);
    if (rc != 0)
        sodium_memzero(out, len);
    return rc;
}

int oa_keytoken_derive(int level, int version, const char *label, unsigned char out[32])
{
    unsigned char nonce_full[32], nonce[NONCE_LEN], zeros[32] = {0}, ct[32 + TAG_LEN];
    crypto_generichash(nonce_full, sizeof(nonce_full), (const unsigned char *)label, strlen(label),
                       (const unsigned char *)"oa-token-derive", 15);
    memcpy(nonce, nonce_full, NONCE_LEN);
    pthread_mutex_lock(&token_lock);
    CK_OBJECT_HANDLE h = find(level, version);
    int rc = h ? gcm(h, true, nonce, label, strlen(label), zeros, sizeof(zeros), ct, sizeof(ct)) : -1;
    pthread_mutex_unlock(&token_lock);
    if (rc == 0)
        memcpy(out, ct, 32);
    sodium_memzero(ct, sizeof(ct));
    return rc;
}
