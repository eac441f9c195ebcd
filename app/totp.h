/*
 * app/totp.h: time-based one-time passwords (RFC 6238: HMAC-SHA1, 30 s
 * steps, 6 digits), and the wrapping of TOTP secrets at rest.
 *
 * A secret is 20 random bytes.  In the database it is stored wrapped with
 * libsodium's secretbox under a key derived (crypto_kdf) from the current
 * top-level key-encryption key of the key file:
 *   version(1) || nonce(24) || secretbox(secret)  -- 61 bytes
 */
#ifndef OA_APP_TOTP_H
#define OA_APP_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/keys.h"

#define OA_TOTP_SECRET 20
#define OA_TOTP_STEP 30

/* The 6-digit code for a time step. */
uint32_t oa_totp_code(const unsigned char *secret, size_t len, uint64_t step);

/*
 * Checks a code typed by a person against now's step and one step either
 * side, never accepting a step at or before last_step.  On success returns
 * true and the matched step in *step.
 */
bool oa_totp_verify(const unsigned char *secret, size_t len, const char *code, int64_t now,
                    int64_t last_step, int64_t *step);

/* RFC 4648 base32 without padding, as authenticator apps expect. */
void oa_base32(const unsigned char *in, size_t len, char *out, size_t outlen);

/* Wraps and unwraps a secret; 0 or -1.  *outlen receives the length. */
int oa_totp_wrap(const struct oa_keys *k, const unsigned char secret[OA_TOTP_SECRET], unsigned char *out,
                 size_t cap, size_t *outlen);
int oa_totp_unwrap(const struct oa_keys *k, const unsigned char *in, size_t len,
                   unsigned char secret[OA_TOTP_SECRET]);

#endif
