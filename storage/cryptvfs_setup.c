/*
 * storage/cryptvfs_setup.c: a data directory's database under the
 * encrypting VFS (storage/cryptvfs.c): probing a file, encrypting a plain
 * one in place, and the setup every command that opens oa.db starts with.
 * See cryptvfs.h.
 */
#include "storage/cryptvfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/keys.h"

#define HEADER_CLEAR 100 /* page 1's database header */


int oa_cryptvfs_probe(const char *path)
{
    unsigned char hdr[HEADER_CLEAR];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 2 : -1;
    ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
    close(fd);
    if (n == 0)
        return 2;
    if (n != (ssize_t)sizeof(hdr) || memcmp(hdr, "SQLite format 3", 16) != 0)
        return -1;
    return hdr[20] == OA_CRYPTVFS_RESERVE ? 1 : 0;
}

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* The directory part of path, for fsync after a rename. */
static void dir_of(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash == NULL)
        snprintf(out, cap, ".");
    else
        *(slash == out ? slash + 1 : slash) = '\0';
}

/* "file:PATH?vfs=oa-crypt", with the characters a URI gives meaning to escaped. */
static int crypt_uri(const char *path, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "file:");
    for (const char *c = path; *c; c++) {
        if (o + 4 >= cap)
            return -1;
        if (*c == '?' || *c == '#' || *c == '%')
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", (unsigned char)*c);
        else
            out[o++] = *c;
    }
    return snprintf(out + o, cap - o, "?vfs=%s", OA_CRYPTVFS_NAME) >= (int)(cap - o) ? -1 : 0;
}

/* Whether the database at path opens and reads through the VFS: SQLITE_OK or SQLite's code. */
static int crypt_check(const char *path, bool full)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, OA_CRYPTVFS_NAME);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, full ? "PRAGMA quick_check" : "SELECT count(*) FROM sqlite_schema", -1, &st,
                                NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            rc = !full || strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0 ? SQLITE_OK : SQLITE_CORRUPT;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

int oa_cryptvfs_encrypt_file(const char *path, char *cause, size_t causelen)
{
    char tmp[4200], uri[13000], side[4300], dir[4200];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int reserve = OA_CRYPTVFS_RESERVE;
    int kind = oa_cryptvfs_probe(path);
    if (kind == 1 || kind == 2)
        return 0;
    if (kind < 0) {
        snprintf(cause, causelen, "%s is not an SQLite database", path);
        return -1;
    }
    if (oa_cryptvfs_active() == NULL || snprintf(tmp, sizeof(tmp), "%s.enc", path) >= (int)sizeof(tmp) ||
        crypt_uri(tmp, uri, sizeof(uri)) != 0) {
        snprintf(cause, causelen, "cannot encrypt %s: no key or a path too long", path);
        return -1;
    }
    /* What an interrupted attempt left. */
    unlink(tmp);
    snprintf(side, sizeof(side), "%s-journal", tmp);
    unlink(side);
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "PRAGMA temp_store = MEMORY; PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    /* The copy asks for the page reserve its source asks for. */
    if (rc == SQLITE_OK)
        rc = sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "VACUUM INTO ?", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    if (rc != SQLITE_OK)
        snprintf(cause, causelen, "cannot encrypt %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_finalize(st);
    /* The last connection's close checkpoints and removes the plain WAL. */
    sqlite3_close(db);
    if (rc != SQLITE_OK)
        goto fail;
    if (fsync_path(tmp, O_RDONLY) != 0 || oa_cryptvfs_probe(tmp) != 1 || crypt_check(tmp, true) != SQLITE_OK) {
        snprintf(cause, causelen, "cannot encrypt %s: the encrypted copy %s does not check", path, tmp);
        goto fail;
    }
    /* Nothing plain may be read back as a WAL of the encrypted file. */
    snprintf(side, sizeof(side), "%s-wal", path);
    if (unlink(side) != 0 && errno != ENOENT)
        goto fail_errno;
    snprintf(side, sizeof(side), "%s-shm", path);
    if (unlink(side) != 0 && errno != ENOENT)
        goto fail_errno;
    dir_of(path, dir, sizeof(dir));
    if (rename(tmp, path) != 0 || fsync_path(dir, O_RDONLY | O_DIRECTORY) != 0)
        goto fail_errno;
    return 0;
fail_errno:
    snprintf(cause, causelen, "cannot encrypt %s: %s", path, strerror(errno));
fail:
    unlink(tmp);
    return -1;
}

/* Whether path-wal holds nothing (a fresh database's first commits live only there until a checkpoint). */
static bool no_wal(const char *db_path)
{
    char wal[4300];
    struct stat st;
    snprintf(wal, sizeof(wal), "%s-wal", db_path);
    return stat(wal, &st) != 0 || st.st_size == 0;
}

int oa_cryptvfs_setup(const char *key_file, const char *db_path, bool migrate, enum oa_db_suite suite, char *cause,
                      size_t causelen)
{
    int rc = -1;
    struct oa_keys *k = sodium_malloc(sizeof(*k));
    if (k == NULL) {
        snprintf(cause, causelen, "out of memory");
        return -1;
    }
    if (oa_keys_load(key_file, k, cause, causelen) != 0)
        goto out;
    int kind = oa_cryptvfs_probe(db_path);
    if (kind < 0) {
        snprintf(cause, causelen, "%s is not an SQLite database", db_path);
        goto out;
    }
    if (!k->has_db_key) {
        if (kind == 1) {
            snprintf(cause, causelen, "%s is encrypted but the key file %s has no database key (db-key): "
                                      "use the key file it was encrypted with", db_path, key_file);
            goto out;
        }
        if (!migrate) {
            rc = 1;
            goto out;
        }
        randombytes_buf(k->db_key, OA_KEY_LEN);
        k->has_db_key = true;
        k->db_suite = suite;
        if (oa_keys_save(key_file, k, cause, causelen) != 0)
            goto out;
    } else if (migrate && (kind == 0 || (kind == 2 && no_wal(db_path))) &&
               k->db_suite != (int)suite) {
        /* The key has encrypted nothing yet (oad init made it; the database is plain, or not yet written):
         * it takes the configured suite. */
        k->db_suite = suite;
        if (oa_keys_save(key_file, k, cause, causelen) != 0)
            goto out;
    }
    if (oa_cryptvfs_install(k->db_key, (enum oa_db_suite)k->db_suite) != 0) {
        snprintf(cause, causelen, "cannot register the encrypting VFS");
        goto out;
    }
    if (kind == 0 && !migrate) {
        oa_cryptvfs_uninstall();
        rc = 1;
        goto out;
    }
    if (kind == 0 && oa_cryptvfs_encrypt_file(db_path, cause, causelen) != 0)
        goto out;
    if (kind != 2) {
        int check = crypt_check(db_path, false);
        if (check != SQLITE_OK) {
            if ((check & 0xff) == SQLITE_CORRUPT || (check & 0xff) == SQLITE_NOTADB)
                snprintf(cause, causelen, "the database key in %s does not open %s: a key file from another "
                                          "data directory, or a damaged database (run 'oad fsck')", key_file,
                         db_path);
            else
                snprintf(cause, causelen, "cannot open %s: %s", db_path, sqlite3_errstr(check));
            goto out;
        }
    }
    rc = 0;
out:
    if (rc < 0)
        oa_cryptvfs_uninstall();
    sodium_free(k);
    return rc;
}
