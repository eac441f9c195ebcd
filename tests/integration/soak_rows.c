/*
 * tests/integration/soak_rows.c: what the soak test counts in a running
 * oad's database (tests/integration/soak_test.py).  Opens DATA/oa.db
 * read-only beside the running server, through the data directory's
 * database key as oad does (storage/cryptvfs.h), and prints one
 * `name value` line per count: the rows that must stay bounded however long
 * oad runs.
 *
 * usage: soak_rows DATA_DIR      exit 0, or 1 with the reason on stderr
 */
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>

#include "storage/cryptvfs.h"
#include "storage/keys.h"

static const struct {
    const char *name, *sql;
} counts[] = {
    {"sessions", "SELECT count(*) FROM sessions"},
    {"idempotency", "SELECT count(*) FROM idempotency"},
    {"changes", "SELECT count(*) FROM changes"},
    /* oa_change_record keeps one row per entity: its latest change. */
    {"changes_per_entity_max", "SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM changes GROUP BY entity, entity_id)"},
    {"record_unseal", "SELECT count(*) FROM record_unseal"},
    {"blobs_live", "SELECT count(*) FROM blobs WHERE dek IS NOT NULL"},
    {"blobs_shredded", "SELECT count(*) FROM blobs WHERE dek IS NULL"},
    {"outbox_unsent", "SELECT count(*) FROM outbox WHERE sent_at IS NULL"},
    {"doc_queue", "SELECT count(*) FROM doc_queue"},
    {"documents", "SELECT count(*) FROM documents"},
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: soak_rows DATA_DIR\n");
        return 2;
    }
    char path[4200], cause[400];
    if (sodium_init() < 0)
        return 1;
    struct oa_keys k;
    snprintf(path, sizeof(path), "%s/keys", argv[1]);
    if (oa_keys_load(path, &k, cause, sizeof(cause)) != 0) {
        fprintf(stderr, "soak_rows: %s\n", cause);
        return 1;
    }
    int rc = k.has_db_key && (oa_cryptvfs_install(k.db_key, (enum oa_db_suite)k.db_suite) != 0 || oa_cryptvfs_as_default() != 0);
    oa_keys_wipe(&k);
    if (rc) {
        fprintf(stderr, "soak_rows: the encrypting VFS did not install\n");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/oa.db", argv[1]);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "soak_rows: %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return 1;
    }
    sqlite3_busy_timeout(db, 5000);
    /* One read transaction: the counts are of one moment. */
    rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : 1;
    for (size_t i = 0; rc == 0 && i < sizeof(counts) / sizeof(counts[0]); i++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, counts[i].sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
            fprintf(stderr, "soak_rows: %s: %s\n", counts[i].name, sqlite3_errmsg(db));
            rc = 1;
        } else {
            printf("%s %lld\n", counts[i].name, (long long)sqlite3_column_int64(st, 0));
        }
        sqlite3_finalize(st);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}
