/*
 * storage/keyseal.h: a key file sealed with a passphrase.
 *
 * A sealed key file holds the plain key file's text (storage/keys.h)
 * encrypted and authenticated with XChaCha20-Poly1305 under a key derived
 * from a passphrase by Argon2id; the parameters and salt are in its header:
 *
 *   oa-keys-sealed 1
 *   kdf argon2id13 OPSLIMIT MEMLIMIT SALTHEX32
 *   nonce HEX48
 *   sealed BASE64
 *   check HEX32
 *
 * The header lines (through "nonce") are the AEAD's associated data.  The
 * check line is an unkeyed BLAKE2b over every byte before it: it tells a
 * damaged file (restore it from backup) from a wrong passphrase, which is
 * the only other reason the AEAD refuses.
 *
 * The passphrase is process-wide: oad reads it once at start (typed, a file,
 * a systemd credential) and gives it here; oa_keys_load and oa_keys_save
 * then open and seal the file transparently, so every place that reads the
 * key file (the VFS set-up, the SIGHUP reload) works on a sealed one.  The
 * derived key is kept, in guarded memory, for the same salt and parameters,
 * so Argon2id runs once per process and salt.
 */
#ifndef OA_STORAGE_KEYSEAL_H
#define OA_STORAGE_KEYSEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* oa_keys_load's answer for a sealed key file that the passphrase does not open. */
#define OA_KEYS_WRONG_PASSPHRASE (-2)
/* The shortest passphrase a key file may be sealed with, in bytes. */
#define OA_KEYSEAL_MIN_PASSPHRASE 12
#define OA_KEYSEAL_MAX_PASSPHRASE 1024

/*
 * Remembers the passphrase (copied into guarded memory; the caller wipes its
 * own) and forgets any key derived from an earlier one.  0, or -1 when it is
 * empty or longer than OA_KEYSEAL_MAX_PASSPHRASE.
 */
int oa_keyseal_passphrase(const char *pw, size_t len);

/*
 * Derives a key from the passphrase under a fresh salt with these Argon2id
 * parameters: the next seal (oa_keys_save of sealed keys) uses it.  For
 * `oad init --seal`, `oad keys seal` and `oad keys passwd`.  0 or -1 with a
 * cause.
 */
int oa_keyseal_rekey(uint64_t opslimit, size_t memlimit, char *cause, size_t causelen);

/* Wipes the passphrase and every derived key. */
void oa_keyseal_forget(void);

/* Whether this file's text is a sealed key file. */
bool oa_keyseal_is_sealed(const char *text, size_t len);

/* 1 when the file at path is sealed, 0 when it is not, -1 when it cannot be read. */
int oa_keyseal_file_sealed(const char *path);

/*
 * Opens a sealed key file's text into `plain` (cap bytes, NUL-terminated;
 * the caller wipes it).  0; -1 with a cause for a damaged file or a missing
 * passphrase; OA_KEYS_WRONG_PASSPHRASE when the passphrase does not open it.
 */
int oa__keyseal_open(const char *text, size_t len, char *plain, size_t cap, size_t *plainlen, char *cause,
                     size_t causelen);

/*
 * Seals a plain key file's text into `out` (cap bytes, NUL-terminated) with
 * the key of the last open or rekey and a fresh nonce.  0, or -1 with a cause.
 */
int oa__keyseal_close(const char *plain, size_t len, char *out, size_t cap, size_t *outlen, char *cause,
                      size_t causelen);

#endif
