/* storage/fault.c: see fault.h. */
#include "storage/fault.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/log.h"
#include "storage/store.h"

static const char *const names[OA_FAULT__COUNT] = {"no_space", "storage_corrupt"};
static const char *const advice[OA_FAULT__COUNT] = {
    "The data directory's disk is full: writes are refused (507 no_space); reads, downloads and logins go on "
    "in the space oad held back (storage.reserve_bytes). Free space there; oad recovers by itself once its "
    "reserve fits again.",
    "The database is damaged: what touches the damage fails (500 storage_corrupt) and will not recover. Stop "
    "oad, run oad fsck --data DIR, and restore the database from backup.",
};

static char journal[4200]; /* set before the writer starts; "" for none */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool raised[OA_FAULT__COUNT];
static int64_t since[OA_FAULT__COUNT];    /* guarded by lock */
static uint64_t raises[OA_FAULT__COUNT];  /* guarded by lock */

const char *oa_fault_name(enum oa_fault f)
{
    return f < OA_FAULT__COUNT ? names[f] : "?";
}

bool oa_fault_errno_full(int e)
{
    return e == ENOSPC || e == EDQUOT;
}

enum oa_err oa_fault_sqlite(sqlite3 *db, enum oa_err otherwise)
{
    int code = sqlite3_extended_errcode(db);
    if ((code & 0xff) == SQLITE_FULL ||
        ((code & 0xff) == SQLITE_IOERR && oa_fault_errno_full(sqlite3_system_errno(db)))) {
        oa_fault_raise(OA_FAULT_NO_SPACE, "database");
        return OA_E_NO_SPACE;
    }
    if ((code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB) {
        oa_fault_raise(OA_FAULT_CORRUPT, sqlite3_errmsg(db));
        return OA_E_STORAGE_CORRUPT;
    }
    return otherwise;
}

void oa_fault_raise(enum oa_fault f, const char *where)
{
    if (f >= OA_FAULT__COUNT)
        return;
    pthread_mutex_lock(&lock);
    bool first = !atomic_load(&raised[f]);
    if (first) {
        since[f] = oa_now();
        raises[f] = 0;
        atomic_store(&raised[f], true);
    }
    raises[f]++;
    pthread_mutex_unlock(&lock);
    if (f == OA_FAULT_NO_SPACE)
        oa_reserve_release();
    if (first) {
        char q[300];
        oa_log(OA_LOG_ERROR, "fault_raised", "fault=%s where=%s", names[f],
               oa_log_str(q, sizeof(q), where, strlen(where)));
        if (f == OA_FAULT_CORRUPT && journal[0] != '\0') {
            char what[400];
            snprintf(what, sizeof(what), "met while serving: %s", where);
            if (oa_fault_note(journal, "serve", what) != 0)
                oa_log(OA_LOG_ERROR, "fault_journal_failed", "path=%s", journal);
        }
    }
}

bool oa_fault_active(enum oa_fault f)
{
    return f < OA_FAULT__COUNT && atomic_load(&raised[f]);
}

int64_t oa_fault_since(enum oa_fault f)
{
    if (!oa_fault_active(f))
        return 0;
    pthread_mutex_lock(&lock);
    int64_t t = atomic_load(&raised[f]) ? since[f] : 0;
    pthread_mutex_unlock(&lock);
    return t;
}

const char *oa_fault_advice(enum oa_fault f)
{
    return f < OA_FAULT__COUNT ? advice[f] : "?";
}

bool oa_fault_clear(enum oa_fault f, int64_t *when, uint64_t *count)
{
    if (f >= OA_FAULT__COUNT || !atomic_load(&raised[f]))
        return false;
    pthread_mutex_lock(&lock);
    bool was = atomic_exchange(&raised[f], false);
    *when = since[f];
    *count = raises[f];
    pthread_mutex_unlock(&lock);
    if (was)
        oa_log(OA_LOG_INFO, "fault_cleared", "fault=%s since=%lld refused=%llu", names[f], (long long)*when,
               (unsigned long long)*count);
    return was;
}

/* ---- the fault journal ---- */

int oa_fault_journal_path(const char *data_dir, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/faults", data_dir);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

void oa_fault_journal_at(const char *path)
{
    snprintf(journal, sizeof(journal), "%s", path ? path : "");
}

int oa_fault_note(const char *path, const char *source, const char *what)
{
    char line[600];
    int n = snprintf(line, sizeof(line), "%lld %s ", (long long)oa_now(), source);
    if (n < 0 || (size_t)n >= sizeof(line))
        return -1;
    /* One line: control characters (newlines in SQLite's reports) become "; ". */
    size_t len = (size_t)n;
    for (const char *p = what; *p && len + 3 < sizeof(line); p++) {
        if ((unsigned char)*p < 0x20) {
            if (len >= 2 && line[len - 2] == ';')
                continue;
            line[len++] = ';';
            line[len++] = ' ';
        } else {
            line[len++] = *p;
        }
    }
    line[len++] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = write(fd, line, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -1;
    if (close(fd) != 0)
        rc = -1;
    return rc;
}

/* The journal's length that this database has recorded (meta faults_recorded); -1 on error. */
static long long recorded(struct oa_store *s)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT value FROM meta WHERE key = 'faults_recorded'");
    if (st == NULL)
        return -1;
    int rc = sqlite3_step(st);
    long long v = rc == SQLITE_ROW ? strtoll((const char *)sqlite3_column_text(st, 0), NULL, 10) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? v : -1;
}

/* One journal line "<time> <source> <what>" as an audit entry. */
static int import_line(struct oa_store *s, char *line)
{
    char *end = NULL;
    long long at = strtoll(line, &end, 10);
    const char *source = "?", *what = "";
    if (end != line && *end == ' ') {
        source = end + 1;
        char *sp = strchr(end + 1, ' ');
        if (sp != NULL) {
            *sp = '\0';
            what = sp + 1;
        }
    }
    char when[32] = "?", detail[700];
    time_t t = (time_t)at;
    struct tm tm;
    if (at > 0 && gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(detail, sizeof(detail), "the database was found damaged at %s by oad %s: %s", when, source, what);
    struct oa_audit_event ev = {.event = "system.storage_corrupt", .actor = "oad", .label = -1,
                                .outcome = "failed", .source = "fault journal", .detail = detail};
    return oa_audit(s, &ev);
}

int oa_fault_import(struct oa_store *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return errno == ENOENT ? 0 : -1;
    int count = -1;
    if (oa_store_exec(s, "BEGIN IMMEDIATE") != 0) {
        fclose(f);
        return -1;
    }
    long long from = recorded(s);
    if (from < 0 || fseek(f, 0, SEEK_END) != 0)
        goto out;
    long size = ftell(f);
    if (size < 0)
        goto out;
    if (from > size) /* a journal that was replaced: it is all new */
        from = 0;
    if (fseek(f, (long)from, SEEK_SET) != 0)
        goto out;
    char line[1024];
    long long pos = from;
    count = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strlen(line);
        if (n == 0 || line[n - 1] != '\n')
            break; /* a line still being written, or too long: not yet */
        pos += (long long)n;
        line[n - 1] = '\0';
        if (import_line(s, line) != 0) {
            count = -1;
            goto out;
        }
        count++;
    }
    if (count > 0) {
        char v[32];
        snprintf(v, sizeof(v), "%lld", pos);
        sqlite3_stmt *st = oa_store_stmt(s, "INSERT OR REPLACE INTO meta(key, value) VALUES ('faults_recorded', ?)");
        if (st == NULL) {
            count = -1;
            goto out;
        }
        sqlite3_bind_text(st, 1, v, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            count = -1;
    }
out:
    fclose(f);
    if (count < 0 || oa_store_exec(s, "COMMIT") != 0) {
        oa_store_reset_all(s);
        oa_store_exec(s, "ROLLBACK");
        return -1;
    }
    return count;
}
