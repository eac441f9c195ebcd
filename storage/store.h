/*
 * storage/store.h: oa's SQLite database.
 *
 * One file in the data directory, in WAL mode with synchronous=FULL (a commit
 * is on disk before it returns) and foreign keys on.  The schema is a list of
 * numbered migrations (schema.c) applied at open in one transaction; a
 * database whose schema is newer than this binary is refused.
 *
 * Every mutation of a document, account or other synchronised entity takes
 * the next value of one global change sequence (oa_change_record), and every
 * security-relevant event goes through the one audit hook (oa_audit), in the
 * same transaction as the change it records.
 */
#ifndef OA_STORAGE_STORE_H
#define OA_STORAGE_STORE_H

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/clock.h"

struct oa_stmt_slot {
    const char *sql;
    sqlite3_stmt *stmt;
    uint64_t used; /* the cache's clock when this slot was last handed out */
};

/* Prepared statements kept per connection; the least recently used one that
 * is not being stepped is finalized to make room (SQLite's tclsqlite.c keeps
 * the same kind of bounded LRU).  Sized above the number of distinct
 * statements the program has (about 110), so that in steady state nothing is
 * evicted and re-prepared on the hot path; the bound only protects the
 * months-long run from a statement the count missed. */
#define OA_STMT_CACHE 192

struct oa_store {
    sqlite3 *db;
    struct oa_stmt_slot cache[OA_STMT_CACHE];
    uint64_t clock;        /* ticks once per oa_store_stmt() */
    uint64_t evictions;    /* statements finalized to make room */
    uint64_t audit_rows;   /* audit entries inserted (oa_audit), committed or not */
    /*
     * A reader's connection (storage/reader.h) cannot write: oa_audit keeps
     * its entries here instead, and the reader hands them to the writer,
     * which appends them before the job answers (oa_audit_pending_apply).
     */
    bool audit_deferred;
    struct oa_audit_pending *pending, **pending_tail;
    /*
     * #16: set by a job that erased text (a disposal): after the group's
     * commit the writer checkpoints the WAL and truncates it, so the erased
     * text's old pages do not linger in the WAL file.
     */
    bool wal_truncate_due;
    /* #14: the list pages' encoded items, a reader connection's only (storage/doc_items.h); close frees it. */
    struct oa_doc_items *doc_items;
};

/* The schema version this binary writes and understands. */
int oa_schema_version(void);

/*
 * Opens (creating when `create` is set) the database at path and brings its
 * schema up to date.  Returns 0, or -1 with a malloc'd sentence in *cause that
 * the caller frees.
 */
int oa_store_open(struct oa_store *s, const char *path, bool create, char **cause);
/*
 * The page cache of every connection opened after this call, in KiB: the
 * writer's (default 65536: a group commit's dirty pages stay in memory) and
 * each reader's (default 2000, SQLite's).  Process-wide; set once before
 * the stores open (server/main.c, from storage.cache_kib and
 * storage.reader_cache_kib).  0 keeps a default.
 */
void oa_store_cache_kib(unsigned writer_kib, unsigned reader_kib);

/*
 * Opens an existing database for reading only, on any thread (WAL lets it
 * read while the writer writes).  0, or -1 with a malloc'd cause.
 */
int oa_store_open_readonly(struct oa_store *s, const char *path, char **cause);

/*
 * Checks the database file: PRAGMA quick_check (the b-trees' structure; it
 * reads every page), or with `full` PRAGMA integrity_check (also every index
 * against its table) and PRAGMA foreign_key_check.  Returns 0 when intact, 1
 * when damaged -- including when the checks themselves meet the damage --
 * with what SQLite reported in `report` (one line, "; " between findings,
 * cut at cap), or -1 when it could not check (report says why).
 */
int oa_store_check(struct oa_store *s, bool full, char *report, size_t cap);

/* Checkpoints the WAL into the main file and closes the database. */
void oa_store_close(struct oa_store *s);

/*
 * A prepared statement for `sql`, reset and with its bindings cleared, or
 * NULL (logged) when it cannot be prepared.  `sql` must be a string literal:
 * the cache is keyed by its address.  The store owns the statement; it stays
 * valid until OA_STMT_CACHE other statements have been asked for, and is
 * never finalized while it is being stepped.
 */
sqlite3_stmt *oa_store_stmt(struct oa_store *s, const char *sql);

/*
 * Resets every cached statement.  A SELECT stepped to its first row and left
 * there keeps a read transaction open, and an open read transaction stops
 * the WAL from ever being checkpointed and restarted; the writer calls this
 * after every group of jobs.
 */
void oa_store_reset_all(struct oa_store *s);

/* Runs SQL with no result rows; returns 0 or -1 (the error is logged). */
int oa_store_exec(struct oa_store *s, const char *sql);

/* A write transaction for the console commands (the server's go through the writer); 0 or -1. */
int oa_store_begin(struct oa_store *s);
int oa_store_commit(struct oa_store *s);
int oa_store_rollback(struct oa_store *s);
/* SQLite's sentence for the last error on s. */
const char *oa_store_errmsg(struct oa_store *s);

/*
 * A savepoint within the current transaction (name: an identifier from the
 * code, never from input): begin it, keep what was done since (release),
 * or undo it (roll back to it and release it).  0 or -1.
 */
int oa_store_savepoint(struct oa_store *s, const char *name);
int oa_store_release(struct oa_store *s, const char *name);
int oa_store_undo_to(struct oa_store *s, const char *name);

/* Sets meta's key to value; 0 or -1. */
int oa_meta_set(struct oa_store *s, const char *key, const char *value);
/* Reads meta's integer key: 1 found (in *v), 0 absent, -1 error. */
int oa_meta_get_int(struct oa_store *s, const char *key, int64_t *v);

/* oa_now(): model/clock.h. */

/*
 * Records one change of an entity and returns its change sequence number,
 * strictly greater than every earlier one, or -1 on a database error.
 */
int64_t oa_change_record(struct oa_store *s, const char *entity, int64_t entity_id, const char *kind);

/*
 * The last change sequence number handed out, for any thread to watch (the
 * sync feed's long poll).  It may be ahead of what is committed; a writer job
 * queued after seeing it sees the change.
 */
extern atomic_int_fast64_t oa_change_latest;

/* The highest change sequence number so far (0 when there is none). */
int64_t oa_change_head(struct oa_store *s);

/* An audit event: who did what to which target, with what outcome. */
struct oa_audit_event {
    int64_t actor_id;        /* 0 when nobody is logged in */
    const char *actor;       /* username, or NULL */
    const char *on_behalf;   /* the delegating user, or NULL */
    const char *event;       /* e.g. "login.ok", "login.fail", "user.create" */
    const char *target;      /* e.g. "user:12", or NULL */
    int64_t doc_id;          /* 0 when no document is involved */
    int label;               /* the document's level, -1 when none */
    const char *from_state, *to_state;
    const char *source;      /* the client's address */
    const char *outcome;     /* "ok", "refused", "failed" */
    const char *detail;      /* a short sentence; never a secret */
};

/*
 * Appends an audit entry in the current transaction; returns 0 or -1.  On a
 * reader's connection (audit_deferred) the entry is kept for the writer
 * instead (storage/audit.h oa_audit_pending_take).
 */
int oa_audit(struct oa_store *s, const struct oa_audit_event *ev);

#endif
