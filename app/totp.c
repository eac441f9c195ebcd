/* app/totp.c: see totp.h. */
#include "app/totp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "storage/keytoken.h"

uint32_t oa_totp_code(const unsigned char *secret, size_t len, uint64_t step)
{
    unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    for (int i = 7; i >= 0; i--) {
        msg[i] = (unsigned char)(step & 0xff);
        step >>= 8;
    }
    HMAC(EVP_sha1(), secret, (int)len, msg, sizeof(msg), mac, &maclen);
    unsigned off = mac[maclen - 1] & 0x0f;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    sodium_memzero(mac, sizeof(mac));
    return bin % 1000000;
}

bool oa_totp_verify(const unsigned char *secret, size_t len, const char *code, int64_t now,
                    int64_t last_step, int64_t *step)
{
    if (strlen(code) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (code[i] < '0' || code[i] > '9')
            return false;
    int64_t cur = now / OA_TOTP_STEP;
    bool ok = false;
    for (int64_t s = cur - 1; s <= cur + 1; s++) {
        char want[7];
        snprintf(want, sizeof(want), "%06u", oa_totp_code(secret, len, (uint64_t)s));
        /* Constant time, and every candidate is compared. */
        if (sodium_memcmp(want, code, 6) == 0 && s > last_step && !ok) {
            ok = true;
            *step = s;
        }
    }
    return ok;
}

void oa_base32(const unsigned char *in, size_t len, char *out, size_t outlen)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    size_t o = 0;
    uint32_t buf = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        buf = (buf << 8) | in[i];
        bits += 8;
        while (bits >= 5 && o + 1 < outlen) {
            out[o++] = alphabet[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0 && o + 1 < outlen)
        out[o++] = alphabet[(buf << (5 - bits)) & 31];
    out[o] = '\0';
}

static int wrap_key(const struct oa_keys *k, int version, unsigned char key[crypto_secretbox_KEYBYTES])
{
    if (version < 1 || version >= OA_KEY_VERSIONS || !k->kek_present[OA_KEY_LEVELS - 1][version])
        return -1;
    if (k->kek_token[OA_KEY_LEVELS - 1][version]) /* #17: the KEK is in a PKCS#11 token */
        return oa_keytoken_derive(OA_KEY_LEVELS - 1, version, "oa-totp", key);
    return crypto_kdf_derive_from_key(key, crypto_secretbox_KEYBYTES, 1, "oa-totp_",
                                      k->kek[OA_KEY_LEVELS - 1][version]);
}

int oa_totp_wrap(const struct oa_keys *k, const unsigned char secret[OA_TOTP_SECRET], unsigned char *out,
                 size_t cap, size_t *outlen)
{
    size_t need = 1 + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + OA_TOTP_SECRET;
    unsigned char key[crypto_secretbox_KEYBYTES];
    int version = k->kek_version[OA_KEY_LEVELS - 1];
    if (cap < need || version > 255 || wrap_key(k, version, key) != 0)
        return -1;
    out[0] = (unsigned char)version;
    randombytes_buf(out + 1, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + 1 + crypto_secretbox_NONCEBYTES, secret, OA_TOTP_SECRET, out + 1, key);
    sodium_memzero(key, sizeof(key));
    *outlen = need;
    return 0;
}

int oa_totp_unwrap(const struct oa_keys *k, const unsigned char *in, size_t len,
                   unsigned char secret[OA_TOTP_SECRET])
{
    unsigned char key[crypto_secretbox_KEYBYTES];
    if (len != 1 + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + OA_TOTP_SECRET ||
        wrap_key(k, in[0], key) != 0)
        return -1;
    int rc = crypto_secretbox_open_easy(secret, in + 1 + crypto_secretbox_NONCEBYTES,
                                        len - 1 - crypto_secretbox_NONCEBYTES, in + 1, key);
    sodium_memzero(key, sizeof(key));
    return rc == 0 ? 0 : -1;
}
