/* storage/writer.c: the writer thread and its group commit.  See writer.h. */
#include "storage/writer.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "proto/alloc.h"
#include "proto/errors.h"
#include "proto/log.h"
#include "storage/audit.h"
#include "storage/fault.h"
#include "storage/jobq.h"

/* A bound on one group, so that one commit's latency stays bounded too. */
#define MAX_GROUP 512

struct oa_writer {
    uv_loop_t *loop;
    struct oa_store *store;
    uv_thread_t thread;
    struct oa_jobq q;
    struct oa_audit_log audit; /* writer thread only */
    struct oa_writer_stats stats;
    /* A full-disk period that is over and not yet in the audit trail (writer thread only). */
    struct {
        bool pending;
        int64_t from, to;
        uint64_t refused;
    } full;
};

static void record_commit(struct oa_writer *w, uint64_t us, unsigned jobs)
{
    atomic_fetch_add(&w->stats.commits, 1);
    atomic_fetch_add(&w->stats.jobs, jobs);
    atomic_fetch_add(&w->stats.commit_us_sum, us);
    int b = 0;
    while (b < OA_COMMIT_BUCKETS && (double)us > oa_commit_bucket_us[b])
        b++;
    atomic_fetch_add(&w->stats.bucket[b], 1);
}

/* Runs a cached statement with no result rows; 0 or -1. */
static int step_once(struct oa_store *s, const char *sql)
{
    sqlite3_stmt *st = oa_store_stmt(s, sql);
    if (st == NULL)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* A job's state in its transaction (oa_db_job.state). */
#define JOB_WROTE 1u  /* it kept changes, which must commit before it answers */
#define JOB_AFTER 2u  /* it ran after another job's uncommitted changes, and may have read them */

/*
 * Runs BEGIN, COMMIT or ROLLBACK: 0, or the error (a full disk is a fault
 * that says so itself; anything else is logged here).
 */
static int txn_exec(struct oa_store *s, const char *sql)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    int e = oa_fault_sqlite(s->db, OA_E_STORAGE);
    if (e == OA_E_STORAGE)
        oa_log(OA_LOG_ERROR, "sql_failed", "sql=\"%s\" error=%d", sql, sqlite3_extended_errcode(s->db));
    return e;
}

/*
 * The transaction of jobs [from, end) is lost (its commit failed, or SQLite
 * rolled it back): each job that kept changes, or may have read some, fails
 * with e; a job that only read what was committed keeps its answer.
 */
static void txn_lost(struct oa_db_job *from, struct oa_db_job *end, int e)
{
    for (struct oa_db_job *j = from; j != end; j = j->next)
        if (j->state & (JOB_WROTE | JOB_AFTER))
            j->rc = e;
}

/*
 * Commits the transaction of jobs [from, end); `wrote` when some of them kept
 * changes.  True when it committed.
 */
static bool txn_commit(struct oa_writer *w, struct oa_db_job *from, struct oa_db_job *end, bool wrote)
{
    uint64_t t0 = uv_hrtime();
    int e = txn_exec(w->store, "COMMIT");
    if (e != 0) {
        if (!sqlite3_get_autocommit(w->store->db))
            txn_exec(w->store, "ROLLBACK");
        txn_lost(from, end, e);
        return false;
    }
    unsigned n = 0;
    for (struct oa_db_job *j = from; j != end; j = j->next)
        n++;
    record_commit(w, (uv_hrtime() - t0) / 1000, n);
    int64_t since;
    uint64_t raises;
    /* Changes reached the disk: there is room again -- unless they fitted
     * only in the reserve's space, and the reserve itself does not fit. */
    if (wrote && oa_fault_active(OA_FAULT_NO_SPACE) && oa_reserve_take() &&
        oa_fault_clear(OA_FAULT_NO_SPACE, &since, &raises)) {
        if (!w->full.pending) {
            w->full.from = since;
            w->full.refused = 0;
        }
        w->full.pending = true;
        w->full.to = oa_now();
        w->full.refused += raises;
    }
    return true;
}

static void utc_text(int64_t t, char *out, size_t cap)
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Records a full-disk period that is over as an alarm in the audit trail, in
 * a transaction of its own (after a commit: there is room); one that cannot
 * be recorded yet is tried again after the next commit.
 */
static void record_full_period(struct oa_writer *w)
{
    if (!w->full.pending)
        return;
    char from[32], to[32], detail[200];
    utc_text(w->full.from, from, sizeof(from));
    utc_text(w->full.to, to, sizeof(to));
    snprintf(detail, sizeof(detail), "the data directory's disk was full from %s to %s; %llu writes refused", from,
             to, (unsigned long long)w->full.refused);
    struct oa_audit_event ev = {.event = "system.no_space", .actor = "oad", .label = -1, .outcome = "failed",
                                .detail = detail};
    struct oa_store *s = w->store;
    if (txn_exec(s, "BEGIN IMMEDIATE") != 0)
        return;
    if (oa_audit(s, &ev) != 0 || txn_exec(s, "COMMIT") != 0) {
        oa_store_reset_all(s);
        if (!sqlite3_get_autocommit(s->db))
            txn_exec(s, "ROLLBACK");
        return;
    }
    w->full.pending = false;
}

/*
 * Runs one group of jobs, in one transaction -- or, while the disk is full,
 * one per job that changes something.
 */
static void run_group(struct oa_writer *w, struct oa_db_job *jobs)
{
    struct oa_store *s = w->store;
    struct oa_db_job *txn = NULL; /* the first job of the open transaction; NULL when none is open */
    bool wrote = false;           /* the open transaction holds kept changes */

    for (struct oa_db_job *j = jobs; j != NULL; j = j->next) {
        j->state = 0;
        if (txn == NULL) {
            int e = txn_exec(s, "BEGIN IMMEDIATE");
            if (e != 0) {
                j->rc = e;
                continue;
            }
            txn = j;
            wrote = false;
        }
        if (step_once(s, "SAVEPOINT job") != 0) {
            j->rc = oa_fault_sqlite(s->db, OA_E_STORAGE);
            continue;
        }
        if (wrote)
            j->state |= JOB_AFTER;
        sqlite3_int64 before = sqlite3_total_changes64(s->db);
        uint64_t audit_before = s->audit_rows;
        /* A read job's writes, brought from a reader (storage/reader.c). */
        if (j->flags & OA_JOB_CONTINUED) {
            j->rc = j->audit != NULL && oa_audit_pending_apply(s, j->audit) != 0 ? OA_E_STORAGE : 0;
            if (j->rc == 0 && j->then != NULL)
                j->rc = j->then(s, j);
        } else {
            j->rc = j->run(s, j);
        }
        /* SQLite rolls the whole transaction back itself after some errors
         * (an I/O error, a full disk in the middle of a statement). */
        bool lost = sqlite3_get_autocommit(s->db) != 0;
        int why = j->rc == OA_E_STORAGE || lost ? oa_fault_sqlite(s->db, OA_E_STORAGE) : 0;
        if (j->rc == OA_E_STORAGE)
            j->rc = why;
        oa_store_reset_all(s);
        sqlite3_int64 delta = sqlite3_total_changes64(s->db) - before;
        bool changed = j->rc == 0 && delta != 0;
        bool bookkeeping = (j->flags & OA_JOB_BOOKKEEPING) != 0;
        /* While the disk is full, the reserve's space is for audit entries
         * (a read's record, a refusal's) and for jobs marked essential (a
         * login); any other change is refused unless the reserve is back. */
        bool essential = (j->flags & OA_JOB_ESSENTIAL) || (uint64_t)delta == s->audit_rows - audit_before;
        if (changed && !bookkeeping && !essential && oa_fault_active(OA_FAULT_NO_SPACE) && !oa_reserve_take()) {
            oa_fault_raise(OA_FAULT_NO_SPACE, "database");
            j->rc = OA_E_NO_SPACE;
            changed = false;
        }
        if (changed && !bookkeeping)
            j->state |= JOB_WROTE;
        if (lost) {
            txn_lost(txn, j->next, why);
            txn = NULL;
            continue;
        }
        /* While the disk is full, bookkeeping is not even tried. */
        if (j->rc != 0 || (changed && bookkeeping && oa_fault_active(OA_FAULT_NO_SPACE)))
            step_once(s, "ROLLBACK TO job");
        step_once(s, "RELEASE job");
        if (j->state & JOB_WROTE) {
            wrote = true;
            if (oa_fault_active(OA_FAULT_NO_SPACE)) {
                txn_commit(w, txn, j->next, true);
                txn = NULL;
            }
        }
    }
    if (txn != NULL)
        txn_commit(w, txn, NULL, wrote);
}

/* After a commit: feed the tree, and sign a checkpoint when one is due. */
static void audit_after_commit(struct oa_writer *w, bool force)
{
    if (!w->audit.signing)
        return;
    if (oa_audit_log_catch_up(w->store, &w->audit) != 0) {
        oa_log(OA_LOG_ERROR, "audit_tree_gap", NULL);
        return;
    }
    /* A checkpoint is a write: while the disk is full it waits, and is signed once there is room. */
    if (oa_fault_active(OA_FAULT_NO_SPACE))
        return;
    uint64_t now = uv_hrtime() / 1000000;
    if (w->audit.acc.size > w->audit.checkpoint_size && (force || now - w->audit.checkpoint_ms >= 1000))
        if (oa_audit_log_checkpoint(w->store, &w->audit, now) != 0)
            oa_log(OA_LOG_ERROR, "audit_checkpoint_failed", NULL);
}

static void writer_main(void *arg)
{
    struct oa_writer *w = arg;
    if (w->audit.signing && oa_audit_log_load(w->store, &w->audit) != 0) {
        oa_log(OA_LOG_ERROR, "audit_tree_load_failed", NULL);
        w->audit.signing = false;
    }
    for (;;) {
        /* Entries not yet under a checkpoint get one within a second. */
        bool due = w->audit.signing && w->audit.acc.size > w->audit.checkpoint_size, timed_out = false;
        struct oa_db_job *group = oa__jobq_take(&w->q, MAX_GROUP, 1, due ? 1000 * 1000 * 1000 : 0, &timed_out);
        if (group == NULL) {
            audit_after_commit(w, true);
            if (timed_out)
                continue;
            return; /* stopping, and every job done */
        }
        struct oa_db_job *last = group;
        while (last->next != NULL)
            last = last->next;

        run_group(w, group);
        record_full_period(w);
        audit_after_commit(w, false);
        if (w->store->wal_truncate_due) {
            w->store->wal_truncate_due = false;
            int busy = 0, logged = 0, done = 0;
            if (sqlite3_wal_checkpoint_v2(w->store->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &logged, &done) != SQLITE_OK)
                busy = 1;
            if (busy || done < logged)
                oa_log(OA_LOG_WARN, "wal_truncate_incomplete", "logged=%d done=%d", logged, done);
        }

        oa__jobq_finished(&w->q, group, last);
    }
}

/* On the loop: a job whose commit is done (or failed) is answered. */
static void writer_finished(void *owner, struct oa_db_job *j)
{
    (void)owner;
    oa_audit_pending_free(j->audit);
    j->audit = NULL;
    j->then = NULL;
    j->flags &= ~OA_JOB_CONTINUED;
    j->done(j);
}

static void writer_closed(void *owner)
{
    struct oa_writer *w = owner;
    sodium_memzero(w->audit.sk, sizeof(w->audit.sk));
    free(w);
}

struct oa_writer *oa_writer_start(uv_loop_t *loop, struct oa_store *store, const unsigned char *audit_seed)
{
    struct oa_writer *w = oa_xcalloc(1, sizeof(*w));
    if (audit_seed != NULL) {
        oa_audit_keypair(audit_seed, w->audit.pk, w->audit.sk);
        w->audit.signing = true;
    }
    w->loop = loop;
    w->store = store;
    if (oa__jobq_init(&w->q, loop, writer_finished, w) != 0)
        goto fail;
    if (uv_thread_create(&w->thread, writer_main, w) != 0) {
        oa__jobq_close(&w->q, writer_closed);
        oa_log(OA_LOG_ERROR, "writer_start_failed", NULL);
        return NULL;
    }
    return w;
fail:
    oa_log(OA_LOG_ERROR, "writer_start_failed", NULL);
    sodium_memzero(w->audit.sk, sizeof(w->audit.sk));
    free(w);
    return NULL;
}

void oa_writer_submit(struct oa_writer *w, struct oa_db_job *job)
{
    job->next = NULL;
    job->rc = 0;
    job->state = 0;
    oa__jobq_submit(&w->q, job);
}

unsigned oa_writer_pending(const struct oa_writer *w)
{
    return w->q.pending;
}

const struct oa_writer_stats *oa_writer_stats(const struct oa_writer *w)
{
    return &w->stats;
}

void oa_writer_stop(struct oa_writer *w)
{
    oa__jobq_stop(&w->q);
    uv_thread_join(&w->thread);
    oa__jobq_close(&w->q, writer_closed);
}
