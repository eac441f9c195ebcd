/* storage/store.c: opening, migrating and using the database.  See store.h. */
#include "storage/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/alloc.h"
#include "storage/sqlite_init.h"
#include "proto/log.h"
#include "storage/cryptvfs.h"
#include "storage/doc_items.h"
#include "storage/schema.h"

static char *fmt_cause(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return oa_xstrdup(buf);
}

int oa_store_exec(struct oa_store *s, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        char q[400];
        const char *e = err ? err : "?";
        oa_log(OA_LOG_ERROR, "sql_failed", "error=%s", oa_log_str(q, sizeof(q), e, strlen(e)));
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int migrate(sqlite3 *db, char **cause)
{
    int have = user_version(db);
    int want = oa_schema_version();
    char *err = NULL;

    if (have < 0) {
        *cause = fmt_cause("cannot read the schema version: %s", sqlite3_errmsg(db));
        return -1;
    }
    if (have > want) {
        *cause = fmt_cause("the database schema is version %d but this oad knows only up to %d: "
                           "run a newer oad", have, want);
        return -1;
    }
    if (have == want)
        return 0;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &err) != SQLITE_OK)
        goto fail;
    for (int v = have + 1; v <= want; v++) {
        if (sqlite3_exec(db, oa__schema_migration(v), NULL, NULL, &err) != SQLITE_OK)
            goto fail;
    }
    char pragma[64];
    snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", want);
    if (sqlite3_exec(db, pragma, NULL, NULL, &err) != SQLITE_OK ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, &err) != SQLITE_OK)
        goto fail;
    return 0;
fail:
    *cause = fmt_cause("schema migration failed: %s", err ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* 64 MiB of page cache for the writer: a group commit's dirty pages stay in
 * memory until COMMIT writes each once, instead of spilling mid-group.  The
 * readers keep SQLite's default (2000 KiB each). */
static unsigned writer_cache_kib = 65536, reader_cache_kib = 2000;

void oa_store_cache_kib(unsigned writer_kib, unsigned reader_kib)
{
    if (writer_kib > 0)
        writer_cache_kib = writer_kib;
    if (reader_kib > 0)
        reader_cache_kib = reader_kib;
}

static int set_cache(sqlite3 *db, unsigned kib)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%u", kib);
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int oa_store_open(struct oa_store *s, const char *path, bool create, char **cause)
{
    oa_sqlite_init();
    memset(s, 0, sizeof(*s));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    const char *vfs = oa_cryptvfs_active();
    if (sqlite3_open_v2(path, &s->db, flags, vfs) != SQLITE_OK) {
        *cause = fmt_cause("cannot open the database %s: %s", path,
                           s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    /* Encrypted, each page keeps room for its nonce and tag; a new
     * database takes it before its first page is written. */
    int reserve = OA_CRYPTVFS_RESERVE;
    if (vfs != NULL && sqlite3_file_control(s->db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve) != SQLITE_OK) {
        *cause = fmt_cause("cannot open the database %s: no page reserve", path);
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 5000);
    static const char *const pragmas[] = {
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = FULL",
        "PRAGMA foreign_keys = ON",
        /* Deleted content is zeroed in place; only freelist pages, which would
         * cost extra I/O, are left as they are. */
        "PRAGMA secure_delete = FAST",
        "PRAGMA trusted_schema = OFF",
        /* Every job runs in a savepoint, whose statement journal would
         * otherwise be a temporary file written through the kernel on every
         * job: keep it (and other temporaries) in memory. */
        "PRAGMA temp_store = MEMORY",
    };
    for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
        char *err = NULL;
        if (sqlite3_exec(s->db, pragmas[i], NULL, NULL, &err) != SQLITE_OK) {
            *cause = fmt_cause("cannot configure the database (%s): %s", pragmas[i], err ? err : "?");
            sqlite3_free(err);
            goto fail;
        }
    }
    if (set_cache(s->db, writer_cache_kib) != 0) {
        *cause = fmt_cause("cannot configure the database's page cache");
        goto fail;
    }
    if (migrate(s->db, cause) != 0)
        goto fail;
    return 0;
fail:
    sqlite3_close(s->db);
    s->db = NULL;
    return -1;
}

int oa_store_open_readonly(struct oa_store *s, const char *path, char **cause)
{
    oa_sqlite_init();
    memset(s, 0, sizeof(*s));
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, oa_cryptvfs_active()) !=
        SQLITE_OK) {
        *cause = fmt_cause("cannot open the database %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_close(s->db);
        s->db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(s->db, 5000);
    sqlite3_exec(s->db, "PRAGMA trusted_schema = OFF; PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
    set_cache(s->db, reader_cache_kib);
    return 0;
}

/* Appends a finding to a "; "-separated report, cutting what does not fit. */
static void report_add(char *report, size_t cap, const char *what)
{
    size_t len = strlen(report);
    if (len + 1 >= cap)
        return;
    snprintf(report + len, cap - len, "%s%s", len ? "; " : "", what);
}

/* Whether SQLite's last error on db says the file is damaged. */
static bool damaged(sqlite3 *db)
{
    int code = sqlite3_errcode(db) & 0xff;
    return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

int oa_store_check(struct oa_store *s, bool full, char *report, size_t cap)
{
    report[0] = '\0';
    const char *sql = full ? "PRAGMA integrity_check(100)" : "PRAGMA quick_check(100)";
    sqlite3_stmt *st = NULL;
    int bad = 0, rc;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        goto failed;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        if (line != NULL && strcmp(line, "ok") != 0) {
            bad = 1;
            report_add(report, cap, line);
        }
    }
    if (rc != SQLITE_DONE)
        goto failed;
    sqlite3_finalize(st);
    st = NULL;
    if (!full)
        return bad;
    /* Rows naming a parent that does not exist: table, rowid, parent. */
    if (sqlite3_prepare_v2(s->db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK)
        goto failed;
    int orphans = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (orphans++ < 20) {
            char what[200];
            snprintf(what, sizeof(what), "foreign key: row %lld of %s names a missing row of %s",
                     (long long)sqlite3_column_int64(st, 1), (const char *)sqlite3_column_text(st, 0),
                     (const char *)sqlite3_column_text(st, 2));
            report_add(report, cap, what);
        }
    }
    if (rc != SQLITE_DONE)
        goto failed;
    sqlite3_finalize(st);
    return bad || orphans > 0 ? 1 : 0;
failed:
    report_add(report, cap, sqlite3_errmsg(s->db));
    bad = damaged(s->db) ? 1 : -1;
    sqlite3_finalize(st);
    return bad;
}

void oa_store_close(struct oa_store *s)
{
    if (s->db == NULL)
        return;
    oa_doc_items_free(s);
    for (int i = 0; i < OA_STMT_CACHE; i++) {
        sqlite3_finalize(s->cache[i].stmt);
        s->cache[i].stmt = NULL;
        s->cache[i].sql = NULL;
    }
    if (!sqlite3_db_readonly(s->db, "main"))
        sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    sqlite3_close(s->db);
    s->db = NULL;
}

sqlite3_stmt *oa_store_stmt(struct oa_store *s, const char *sql)
{
    struct oa_stmt_slot *victim = NULL;
    s->clock++;
    for (int i = 0; i < OA_STMT_CACHE; i++) {
        struct oa_stmt_slot *slot = &s->cache[i];
        if (slot->sql == sql) {
            slot->used = s->clock;
            sqlite3_reset(slot->stmt);
            sqlite3_clear_bindings(slot->stmt);
            return slot->stmt;
        }
        /* An empty slot first, else the least recently used idle one. */
        if (slot->sql == NULL) {
            if (victim == NULL || victim->sql != NULL)
                victim = slot;
        } else if (!sqlite3_stmt_busy(slot->stmt) &&
                   (victim == NULL || (victim->sql != NULL && slot->used < victim->used))) {
            victim = slot;
        }
    }
    if (victim == NULL) {
        oa_log(OA_LOG_ERROR, "sql_cache_busy", "slots=%d", OA_STMT_CACHE);
        return NULL;
    }
    if (victim->sql != NULL) {
        sqlite3_finalize(victim->stmt);
        s->evictions++;
    }
    victim->sql = NULL;
    victim->stmt = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &victim->stmt, NULL) != SQLITE_OK) {
        oa_log(OA_LOG_ERROR, "sql_prepare_failed", "error=%s", sqlite3_errmsg(s->db));
        sqlite3_finalize(victim->stmt);
        victim->stmt = NULL;
        return NULL;
    }
    victim->sql = sql;
    victim->used = s->clock;
    return victim->stmt;
}

void oa_store_reset_all(struct oa_store *s)
{
    for (int i = 0; i < OA_STMT_CACHE; i++)
        if (s->cache[i].stmt != NULL)
            sqlite3_reset(s->cache[i].stmt);
}


atomic_int_fast64_t oa_change_latest;

int64_t oa_change_record(struct oa_store *s, const char *entity, int64_t entity_id, const char *kind)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT INTO changes(entity, entity_id, kind, at) VALUES (?,?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, entity, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, entity_id);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, oa_now());
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    int64_t seq = sqlite3_last_insert_rowid(s->db);
    /* The feed sends an entity at its latest change only: the earlier ones go
     * (one row per entity, whatever the number of changes). */
    sqlite3_stmt *del = oa_store_stmt(s, "DELETE FROM changes WHERE entity = ? AND entity_id = ? AND seq < ?");
    if (del == NULL)
        return -1;
    sqlite3_bind_text(del, 1, entity, -1, SQLITE_STATIC);
    sqlite3_bind_int64(del, 2, entity_id);
    sqlite3_bind_int64(del, 3, seq);
    if (sqlite3_step(del) != SQLITE_DONE)
        return -1;
    atomic_store(&oa_change_latest, seq);
    return seq;
}

int64_t oa_change_head(struct oa_store *s)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT coalesce(max(seq), 0) FROM changes");
    if (st == NULL || sqlite3_step(st) != SQLITE_ROW)
        return -1;
    return sqlite3_column_int64(st, 0);
}

int oa_store_begin(struct oa_store *s)
{
    return oa_store_exec(s, "BEGIN IMMEDIATE");
}

int oa_store_commit(struct oa_store *s)
{
    return oa_store_exec(s, "COMMIT");
}

int oa_store_rollback(struct oa_store *s)
{
    return oa_store_exec(s, "ROLLBACK");
}

const char *oa_store_errmsg(struct oa_store *s)
{
    return sqlite3_errmsg(s->db);
}

int oa_meta_set(struct oa_store *s, const char *key, const char *value)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_meta_get_int(struct oa_store *s, const char *key, int64_t *v)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT value FROM meta WHERE key = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int savepoint_exec(struct oa_store *s, const char *verb, const char *name)
{
    char sql[96];
    int n = snprintf(sql, sizeof(sql), "%s %s", verb, name);
    return n > 0 && (size_t)n < sizeof(sql) ? oa_store_exec(s, sql) : -1;
}

int oa_store_savepoint(struct oa_store *s, const char *name)
{
    return savepoint_exec(s, "SAVEPOINT", name);
}

int oa_store_release(struct oa_store *s, const char *name)
{
    return savepoint_exec(s, "RELEASE", name);
}

int oa_store_undo_to(struct oa_store *s, const char *name)
{
    int a = savepoint_exec(s, "ROLLBACK TO", name), b = savepoint_exec(s, "RELEASE", name);
    return a == 0 && b == 0 ? 0 : -1;
}
