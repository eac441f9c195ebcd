/*
 * storage/keytoken.h: key-encryption keys inside a PKCS#11 token (an HSM or
 * a USB key), reached through p11-kit (#17, keys off the data disk).
 *
 * A KEK version kept in the token is an AES-256 secret key object labelled
 * "oa-kek-LEVEL-VERSION", generated there (sensitive, never extractable);
 * the key file names it with a line "kek-token LEVEL VERSION" instead of
 * its bytes (storage/keys.h).  Data keys are wrapped and unwrapped inside
 * the token with CKM_AES_GCM, in the same 60-byte form as under a KEK from
 * the file (nonce, ciphertext, tag; storage/blob.h), so a blob row does not
 * say where its KEK lives.
 *
 * One token per process, one session behind a mutex (a PKCS#11 session runs
 * one operation at a time; wraps come from the thread pool and the writer).
 */
#ifndef OA_STORAGE_KEYTOKEN_H
#define OA_STORAGE_KEYTOKEN_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Loads the PKCS#11 module (a path, through p11-kit), finds the token by its
 * label, opens a read-write session and logs in with the user PIN.  0, or -1
 * with a cause that never holds the PIN.
 */
int oa_keytoken_open(const char *module, const char *token_label, const char *pin, size_t pinlen, char *cause,
                     size_t causelen);
/* Logs out, closes the session, finalizes and releases the module. */
void oa_keytoken_close(void);
bool oa_keytoken_is_open(void);

/* Generates KEK (level, version) inside the token.  0, or -1 with a cause. */
int oa_keytoken_generate(int level, int version, char *cause, size_t causelen);
/* Whether the token holds KEK (level, version). */
bool oa_keytoken_has(int level, int version);

/*
 * AES-256-GCM under the token's KEK (level, version) with associated data
 * aad.  Seal: out = 12-byte nonce || len bytes || 16-byte tag.  Open: in is
 * that form (len is the plaintext's length), out the len plaintext bytes.
 * 0, or -1 (no such key, a token failure, or a tag that does not match).
 */
int oa_keytoken_seal(int level, int version, const void *aad, size_t aadlen, const unsigned char *in, size_t len,
                     unsigned char *out);
int oa_keytoken_open_sealed(int level, int version, const void *aad, size_t aadlen, const unsigned char *in,
                            size_t len, unsigned char *out);

/*
 * The key file's other secrets (the audit signing seed, the database key)
 * wrapped by the token's key object "oa-wrap-1" (made on first use, like a
 * KEK), with `what` as associated data: out = nonce || 32 bytes || tag
 * (60 bytes).  0 or -1.
 */
int oa_keytoken_wrap_secret(const char *what, const unsigned char in[32], unsigned char out[60]);
int oa_keytoken_unwrap_secret(const char *what, const unsigned char in[60], unsigned char out[32]);

/*
 * A 32-byte key derived inside the token from KEK (level, version) for
 * `label` (AES-GCM of zeros under a nonce fixed by the label: AES-CTR's
 * keystream, a PRF of the KEK), for keys that are not wrapped data keys (the
 * authenticator secrets' key, app/totp.c).  0 or -1.
 */
int oa_keytoken_derive(int level, int version, const char *label, unsigned char out[32]);

#endif
