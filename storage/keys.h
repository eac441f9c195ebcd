/*
 * storage/keys.h: the key file.
 *
 * Keys live outside the database, in one text file (mode 0600; by default
 * DATA/keys, configurable so that it can sit on another disk).  It holds one
 * key-encryption key per classification level and version, so that a leaked
 * lower key opens no higher document, and the audit trail's signing seed:
 *
 *   oa-keys 1
 *   kek LEVEL VERSION HEX64
 *   kek-token LEVEL VERSION      (a KEK inside a PKCS#11 token: storage/keytoken.h)
 *   audit-sign VERSION HEX64
 *   db-key VERSION HEX64
 *   db-suite sm4-gcm             (only when the database's pages use SM4: storage/cryptvfs.h)
 *   check HEX32
 *
 * The database key (db-key) encrypts oa.db and its WAL page by page
 * (storage/cryptvfs.h); a key file from before it has none, and oad serve
 * (or oad encrypt) adds one when it encrypts the database.
 *
 * No key is ever logged or put in an error message.
 */
#ifndef OA_STORAGE_KEYS_H
#define OA_STORAGE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/keys.h"

/* Creates a new key file with fresh random keys; fails if it exists.  0 or -1 with cause. */
int oa_keys_create(const char *path, char *cause, size_t causelen);
/* The same, sealed with the key of oa_keyseal_rekey (storage/keyseal.h): its keys never touch the disk in plain. */
int oa_keys_create_sealed(const char *path, char *cause, size_t causelen);

/*
 * Loads a key file, plain or sealed (opened with the process's passphrase,
 * storage/keyseal.h).  Refuses one that others than its owner may read or
 * write.  0; -1 with a cause (which never contains key material);
 * OA_KEYS_WRONG_PASSPHRASE (-2) when the passphrase does not open it.
 */
int oa_keys_load(const char *path, struct oa_keys *k, char *cause, size_t causelen);

/*
 * Writes k to path atomically (temporary file, fsync, rename, directory
 * fsync), mode 0600; sealed when k->sealed.
 */
int oa_keys_save(const char *path, const struct oa_keys *k, char *cause, size_t causelen);

/*
 * Adds a fresh KEK version for `level` (-1: every level) and makes it
 * current; older versions stay until retired.  When a PKCS#11 token is
 * open (storage/keytoken.h) the new versions are generated inside it.  0 or
 * -1 with a cause.
 */
int oa_keys_rotate(struct oa_keys *k, int level, char *cause, size_t causelen);

/* Forgets an old (never the current) version; false when there is none to forget. */
bool oa_keys_retire(struct oa_keys *k, int level, int version);

/*
 * Whether the key file and the data directory are on one filesystem (a
 * stolen data disk would then carry its own keys).  False when either cannot
 * be examined.
 */
bool oa_keys_beside_data(const char *key_file, const char *data_dir);

/* Whether any KEK version of k lives in a PKCS#11 token. */
bool oa_keys_use_token(const struct oa_keys *k);

/* Wipes the keys from memory. */
void oa_keys_wipe(struct oa_keys *k);

#endif
