/*
 * storage/fault.h: faults that degrade oad instead of stopping it.
 *
 * A full disk fails every write -- the database's commit, an upload's file --
 * while everything that only reads goes on.  Each fault is a flag that any
 * thread raises where it meets the fault and that is cleared where the fault
 * is seen to be gone; the raise that sets it logs one line at error level and
 * the clear one at info level, so a fault that lasts says so twice, not once
 * per refused request.  /healthz and /metrics show the raised faults, and
 * the writer records each full-disk period in the audit trail once it is
 * over (nothing can be written while it lasts).
 *
 * A damaged database cannot be trusted to record its own damage, and the
 * remedy (restoring a backup) replaces it.  Damage is therefore noted in the
 * fault journal, DIR/faults, a text file beside the database, one line per
 * finding, by whoever finds it (oad serve at start or at run time, oad fsck);
 * `oad serve` copies the lines that the database in place has not seen into
 * its audit trail, where the monthly report finds them.
 */
#ifndef OA_STORAGE_FAULT_H
#define OA_STORAGE_FAULT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/errors.h"
#include "storage/store.h"

enum oa_fault {
    OA_FAULT_NO_SPACE, /* the data directory's filesystem is full */
    OA_FAULT_CORRUPT,  /* the database is damaged: for good, until it is restored */
    OA_FAULT__COUNT
};

/* The fault's stable name ("no_space"), as /healthz and /metrics show it. */
const char *oa_fault_name(enum oa_fault f);

/*
 * The error code of the last failed SQLite call on db: OA_E_NO_SPACE when the
 * disk is full (SQLITE_FULL, or an I/O error whose errno says so),
 * OA_E_STORAGE_CORRUPT when the database is damaged (SQLITE_CORRUPT,
 * SQLITE_NOTADB), each raising its fault; else `otherwise`.  Call it before
 * anything else runs on db.
 */
enum oa_err oa_fault_sqlite(sqlite3 *db, enum oa_err otherwise);

/* True when errno e of a failed write means the filesystem is full (ENOSPC, EDQUOT). */
bool oa_fault_errno_full(int e);

/* Raises fault f (any thread); `where` names what met it, for the log line. */
void oa_fault_raise(enum oa_fault f, const char *where);

/* Whether fault f is raised now (any thread). */
bool oa_fault_active(enum oa_fault f);

/* When fault f was raised (epoch seconds), 0 when it is not. */
int64_t oa_fault_since(enum oa_fault f);

/* A sentence for an administrator: what the fault means and what to do. */
const char *oa_fault_advice(enum oa_fault f);

/*
 * Clears fault f (any thread).  True when it was raised, with when it was
 * (epoch seconds) and how many raises it saw, each a refused write.
 */
bool oa_fault_clear(enum oa_fault f, int64_t *since, uint64_t *raises);

/* The fault journal of a data directory: DIR/faults.  0, or -1 when the path does not fit. */
int oa_fault_journal_path(const char *data_dir, char *out, size_t cap);

/*
 * Where damage met at run time is noted (the path is copied); NULL: nowhere.
 * Set once, before the writer starts.
 */
void oa_fault_journal_at(const char *path);

/*
 * Appends one finding to the journal at path: the time, who found it
 * ("serve", "fsck") and what (one line; newlines become "; ").  0 or -1.
 */
int oa_fault_note(const char *path, const char *source, const char *what);

/*
 * Copies the journal's findings that this database has not recorded yet into
 * its audit trail (system.storage_corrupt alarms), in a transaction of its
 * own; the journal's length so far is kept in meta.  Returns how many, or -1.
 */
int oa_fault_import(struct oa_store *s, const char *path);

/*
 * The reserve: DIR/reserve, a file of storage.reserve_bytes that oad keeps
 * allocated while there is room.  When the disk fills (OA_FAULT_NO_SPACE is
 * raised, by whichever write met it) the reserve is given up, and the space it
 * frees is for what must still be written while the disk is full: the audit
 * entries of reads (a classified read is refused rather than served
 * unrecorded) and the session rows of logins.  Ordinary writes stay refused
 * (no_space) until the reserve can be taken back, which is tried before each
 * refusal when the filesystem reports room for it; once it is back, writes go through again and
 * the first commit clears the fault.  With no reserve (oa_reserve_at never
 * called) writes are simply tried, as before.
 */

/*
 * Allocates DIR/reserve of `bytes` (0 keeps an empty one: the mechanism
 * without the space), before the writer starts.  0, or -1 when it cannot (a
 * full disk raises OA_FAULT_NO_SPACE: oad starts degraded).
 */
int oa_reserve_at(const char *data_dir, uint64_t bytes);

/* Gives the reserve up (any thread); oa_fault_raise does for OA_FAULT_NO_SPACE. */
void oa_reserve_release(void);

/* Whether the reserve is held now. */
bool oa_reserve_held(void);

/*
 * Takes the reserve back if it was given up and the disk has room for it
 * again (any thread; a statvfs while there is none).  True when it is held (or none is kept):
 * ordinary writes may be tried.
 */
bool oa_reserve_take(void);

#endif
