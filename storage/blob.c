/*
 * storage/blob.c: the blob format (BLOB-FORMAT.md), see blob.h: the segment
 * keys and their sealing, and the data keys.  Writing a blob is blob_write.c,
 * reading one blob_read.c.
 */
#include "storage/blob.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "proto/alloc.h"
#include "storage/blob-int.h"
#include "storage/keytoken.h"


void oa__blob_say(char *cause, size_t n, const char *fmt, ...)
{
    if (cause == NULL || n == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cause, n, fmt, ap);
    va_end(ap);
}

size_t oa__blob_tag_len(int suite)
{
    return suite == OA_BLOB_SM4_SM3 ? 32 : 16;
}

/* ---- keys ---- */

int oa__blob_derive(const unsigned char dek[OA_DEK_LEN], const unsigned char header[HEADER], const void *ad,
                  size_t adlen, struct seg_keys *k)
{
    unsigned char info[16 + 512];
    if (adlen > 512)
        return -1;
    memcpy(info, header, 16);
    memcpy(info + 16, ad, adlen);
    unsigned char out[64];
    size_t outlen = header[7] == OA_BLOB_SM4_SM3 ? 48 : 32;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)dek, OA_DEK_LEN),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(header + 16), 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, 16 + adlen),
        OSSL_PARAM_construct_end(),
    };
    int rc = kctx && EVP_KDF_derive(kctx, out, outlen, params) == 1 ? 0 : -1;
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    k->suite = header[7];
    if (k->suite == OA_BLOB_SM4_SM3) {
        memcpy(k->enc, out, 16);
        memcpy(k->mac, out + 16, 32);
    } else {
        memcpy(k->enc, out, 32);
    }
    memcpy(k->prefix, header + 48, 7);
    OPENSSL_cleanse(out, sizeof(out));
    OPENSSL_cleanse(info, sizeof(info));
    return rc;
}

static void nonce_for(const struct seg_keys *k, uint32_t index, bool last, unsigned char nonce[12])
{
    memcpy(nonce, k->prefix, 7);
    nonce[7] = (unsigned char)(index >> 24);
    nonce[8] = (unsigned char)(index >> 16);
    nonce[9] = (unsigned char)(index >> 8);
    nonce[10] = (unsigned char)index;
    nonce[11] = last ? 1 : 0;
}

static int hmac_sm3(const unsigned char key[32], const unsigned char *nonce, const unsigned char *ct, size_t n,
                    unsigned char out[32])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SM3", 0), OSSL_PARAM_construct_end()};
    size_t len = 0;
    int rc = ctx && EVP_MAC_init(ctx, key, 32, params) == 1 && EVP_MAC_update(ctx, nonce, 12) == 1 &&
                     EVP_MAC_update(ctx, ct, n) == 1 && EVP_MAC_final(ctx, out, &len, 32) == 1 && len == 32
                 ? 0
                 : -1;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return rc;
}

/* Encrypts one segment in place and writes its tag after it (buf has room). */
int oa__blob_seal(const struct seg_keys *k, uint32_t index, bool last, unsigned char *buf, size_t n)
{
    unsigned char nonce[12], iv[16];
    nonce_for(k, index, last, nonce);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, rc = -1;
    if (c == NULL)
        return -1;
    if (k->suite == OA_BLOB_SM4_SM3) {
        memcpy(iv, nonce, 12);
        memset(iv + 12, 0, 4);
        if (EVP_EncryptInit_ex(c, EVP_sm4_ctr(), NULL, k->enc, iv) == 1 &&
            (n == 0 || EVP_EncryptUpdate(c, buf, &len, buf, (int)n) == 1) &&
            hmac_sm3(k->mac, nonce, buf, n, buf + n) == 0)
            rc = 0;
    } else if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
               EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
               EVP_EncryptInit_ex(c, NULL, NULL, k->enc, nonce) == 1 &&
               (n == 0 || EVP_EncryptUpdate(c, buf, &len, buf, (int)n) == 1) &&
               EVP_EncryptFinal_ex(c, buf + len, &len) == 1 &&
               EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, buf + n) == 1) {
        rc = 0;
    }
    EVP_CIPHER_CTX_free(c);
    return rc;
}

/*
 * Checks and decrypts one segment (n bytes of ciphertext at buf, then the
 * tag) into out, which may be buf.
 */
int oa__blob_open_segment_to(const struct seg_keys *k, uint32_t index, bool last, const unsigned char *buf, size_t n,
                           unsigned char *out)
{
    unsigned char nonce[12], iv[16];
    nonce_for(k, index, last, nonce);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, rc = -1;
    if (c == NULL)
        return -1;
    if (k->suite == OA_BLOB_SM4_SM3) {
        unsigned char tag[32];
        memcpy(iv, nonce, 12);
        memset(iv + 12, 0, 4);
        if (hmac_sm3(k->mac, nonce, buf, n, tag) == 0 && CRYPTO_memcmp(tag, buf + n, 32) == 0 &&
            EVP_DecryptInit_ex(c, EVP_sm4_ctr(), NULL, k->enc, iv) == 1 &&
            (n == 0 || EVP_DecryptUpdate(c, out, &len, buf, (int)n) == 1))
            rc = 0;
    } else if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
               EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
               EVP_DecryptInit_ex(c, NULL, NULL, k->enc, nonce) == 1 &&
               (n == 0 || EVP_DecryptUpdate(c, out, &len, buf, (int)n) == 1) &&
               EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(buf + n)) == 1 &&
               EVP_DecryptFinal_ex(c, out + len, &len) == 1) {
        rc = 0;
    }
    EVP_CIPHER_CTX_free(c);
    return rc;
}

int oa__blob_open_segment(const struct seg_keys *k, uint32_t index, bool last, unsigned char *buf, size_t n)
{
    return oa__blob_open_segment_to(k, index, last, buf, n, buf);
}

/* ---- data keys ---- */

void oa_dek_new(unsigned char dek[OA_DEK_LEN])
{
    RAND_bytes(dek, OA_DEK_LEN);
}

static int dek_aead(const struct oa_keys *k, int level, int version, bool enc, const unsigned char *in,
                    unsigned char *out)
{
    if (level < 0 || level >= OA_KEY_LEVELS || version < 1 || version >= OA_KEY_VERSIONS ||
        !k->kek_present[level][version])
        return -1;
    char aad[32];
    int aadlen = snprintf(aad, sizeof(aad), "oa-dek-v1|%d|%d", level, version);
    if (k->kek_token[level][version]) /* #17: wrapped and unwrapped inside the PKCS#11 token, same form */
        return enc ? oa_keytoken_seal(level, version, aad, (size_t)aadlen, in, OA_DEK_LEN, out)
                   : oa_keytoken_open_sealed(level, version, aad, (size_t)aadlen, in, OA_DEK_LEN, out);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, ok = 0;
    if (enc) {
        RAND_bytes(out, 12);
        ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->kek[level][version], out) == 1 &&
             EVP_EncryptUpdate(c, NULL, &len, (unsigned char *)aad, aadlen) == 1 &&
             EVP_EncryptUpdate(c, out + 12, &len, in, OA_DEK_LEN) == 1 && EVP_EncryptFinal_ex(c, out + 44, &len) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 44) == 1;
    } else {
        ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->kek[level][version], in) == 1 &&
             EVP_DecryptUpdate(c, NULL, &len, (unsigned char *)aad, aadlen) == 1 &&
             EVP_DecryptUpdate(c, out, &len, in + 12, OA_DEK_LEN) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(in + 44)) == 1 &&
             EVP_DecryptFinal_ex(c, out + len, &len) == 1;
        if (!ok)
            OPENSSL_cleanse(out, OA_DEK_LEN);
    }
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

int oa_dek_wrap(const struct oa_keys *k, int level, const unsigned char dek[OA_DEK_LEN],
                unsigned char out[OA_DEK_WRAPPED], int *version)
{
    if (level < 0 || level >= OA_KEY_LEVELS)
        return -1;
    *version = k->kek_version[level];
    return dek_aead(k, level, *version, true, dek, out);
}

int oa_dek_unwrap(const struct oa_keys *k, int level, int version, const unsigned char in[OA_DEK_WRAPPED],
                  unsigned char dek[OA_DEK_LEN])
{
    return dek_aead(k, level, version, false, in, dek);
}
