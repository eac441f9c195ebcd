/*
 * storage/cryptvfs.h: the database encrypted at rest.
 *
 * An SQLite VFS shim ("oa-crypt", over the default unix VFS) that encrypts
 * and authenticates every page of the main database, of its WAL and of a
 * rollback journal, in one of two suites (the database's, fixed when its key
 * is made, recorded in the key file):
 *   - AES-256-GCM (the default);
 *   - SM4-GCM, the national algorithm of GB/T 39786, with
 *     `blob.suite = sm4-sm3` (through libgcrypt: OpenSSL 3.0 has no SM4-GCM);
 *     its 128-bit key is derived from the database key with HKDF-SM3.
 * Each page keeps its last 28 bytes (SQLite's "reserved bytes", header byte
 * 20) for a 12-byte nonce, fresh from the CSPRNG on every write, and the
 * 16-byte tag.  The additional data binds
 * the file's role (database, WAL, journal), the page's position (page number;
 * in the WAL also the frame's salts, in a journal the offset) and the page
 * size, so a page cannot be moved to another position or replayed into
 * another WAL generation.  Page 1's first 100 bytes, the database header
 * (page size, counters, schema cookie: no content), stay in clear and are
 * authenticated as additional data; the WAL header, the WAL frame headers and
 * the -shm index hold no content and stay in clear.
 *
 * A page whose tag does not verify (a flipped byte, another key, a page from
 * elsewhere) is read as SQLITE_CORRUPT, never as data.  Temporary files
 * never reach the disk: every connection sets temp_store=MEMORY and the
 * shim refuses to open one.  Memory-mapped reads are disabled for encrypted
 * files (they would bypass decryption).
 *
 * The key is the database key of the key file (storage/keys.h, "db-key"),
 * unique per data directory; it is kept in locked memory and never logged.
 */
#ifndef OA_STORAGE_CRYPTVFS_H
#define OA_STORAGE_CRYPTVFS_H

#include <stdbool.h>
#include <stddef.h>

/* The name under which the VFS is registered (never as the default). */
#define OA_CRYPTVFS_NAME "oa-crypt"
/* Bytes reserved at the end of each page: nonce 12 + tag 16. */
#define OA_CRYPTVFS_RESERVE 28

/* The page suites, numbered as the blob.suite setting that chooses them (1 aes-256-gcm, 2 sm4-sm3). */
enum oa_db_suite {
    OA_DB_AES256GCM = 1,
    OA_DB_SM4_GCM = 2,
};

/*
 * Registers the VFS with a copy of the 32-byte key (in locked memory) and
 * its suite, or replaces the key of a VFS already registered.  From then on,
 * every oa_store_open*() opens through it.  0, or -1 when it cannot.
 */
int oa_cryptvfs_install(const unsigned char key[32], enum oa_db_suite suite);

/*
 * Makes the (installed) VFS SQLite's default, for tests and tools that open
 * oa.db with plain sqlite3_open.  0 or -1.
 */
int oa_cryptvfs_as_default(void);

/* Forgets the key (wiped); later opens are plain again.  Open connections keep theirs. */
void oa_cryptvfs_uninstall(void);

/* The VFS's name while a key is installed, else NULL (SQLite's default). */
const char *oa_cryptvfs_active(void);

/*
 * What the database file at path is: 1 encrypted (its header reserves our
 * 28 bytes), 0 plain SQLite, 2 missing or empty, -1 neither (unreadable or
 * not a database).
 */
int oa_cryptvfs_probe(const char *path);

/*
 * Encrypts the plain database at path in place, crash-safely: its WAL is
 * checkpointed, it is copied with VACUUM INTO through the VFS to PATH.enc,
 * which is fsynced and renamed over path, and the directory is fsynced.  A
 * crash at any point leaves either the plain or the encrypted database whole
 * (a stale PATH.enc is removed by the next attempt).  An already encrypted
 * database is left as it is.  The key must be installed.  0, or -1 with a
 * cause.
 */
int oa_cryptvfs_encrypt_file(const char *path, char *cause, size_t causelen);

/*
 * The start of every command that opens a data directory: loads the key
 * file, gives it a database key when it has none (`migrate` only; saved
 * atomically), installs the VFS, and when `migrate` is set encrypts a plain
 * database at db_path.  `suite` is the one a database key made now takes;
 * with `migrate`, a key that has encrypted nothing yet (no database, or a
 * plain one, and no WAL) takes it too, so that `oad init` with
 * blob.suite = sm4-sm3 encrypts the database with SM4-GCM.  A database already
 * encrypted keeps the suite its key file records.  Without `migrate`, a plain database is left plain and
 * opened plainly (returns 1).  0 encrypted, 1 plain, -1 with a cause (a wrong
 * key is "the database key does not open ...").
 */
int oa_cryptvfs_setup(const char *key_file, const char *db_path, bool migrate, enum oa_db_suite suite, char *cause,
                      size_t causelen);

#endif
