/* storage/reader.c: the reader threads.  See reader.h. */
#include "storage/reader.h"

#include <stdlib.h>

#include "proto/alloc.h"
#include "proto/errors.h"
#include "proto/log.h"
#include "storage/audit.h"
#include "storage/fault.h"
#include "storage/jobq.h"

struct reader {
    struct oa_readers *pool;
    uv_thread_t thread;
    struct oa_store store; /* this thread's only */
    unsigned share;        /* the threads taking jobs: each takes at most its share of those waiting */
};

struct oa_readers {
    uv_loop_t *loop;
    struct oa_writer *writer;
    unsigned n;
    struct reader *readers;
    struct oa_jobq q;
};

/* Steps a cached statement with no rows (BEGIN, COMMIT); 0 or -1. */
static int step_once(struct oa_store *s, const char *sql)
{
    sqlite3_stmt *st = oa_store_stmt(s, sql);
    if (st == NULL)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Runs a batch of jobs (taken together, so each was queued before the batch
 * began) in one read transaction: every job sees everything answered before
 * it was submitted, and the batch pays for one BEGIN and one COMMIT (the WAL
 * read lock's fcntl calls and snapshot) instead of one each.  Keeps each
 * job's writes (audit entries, `then`) on the job.
 */
static void reader_run(struct oa_store *s, struct oa_db_job *batch)
{
    for (struct oa_db_job *j = batch; j != NULL; j = j->next) {
        /* Open unless the last job's error ended the transaction (SQLite rolls back after some). */
        if (sqlite3_get_autocommit(s->db) && step_once(s, "BEGIN") != 0) {
            j->rc = oa_fault_sqlite(s->db, OA_E_STORAGE);
            continue;
        }
        j->rc = j->run(s, j);
        if (j->rc == OA_E_STORAGE)
            j->rc = oa_fault_sqlite(s->db, OA_E_STORAGE);
        /* A statement left on a row would keep the snapshot (and the WAL) pinned. */
        oa_store_reset_all(s);
        struct oa_audit_pending *audit = oa_audit_pending_take(s);
        if (j->rc == 0) {
            j->audit = audit;
            if (audit != NULL || j->then != NULL)
                j->flags |= OA_JOB_CONTINUED;
        } else {
            oa_audit_pending_free(audit); /* as a failed job's savepoint undoes them on the writer */
            j->then = NULL;
        }
    }
    if (!sqlite3_get_autocommit(s->db))
        step_once(s, "COMMIT");
}

/* Jobs one thread takes at most at a time, and never more than its share of those waiting. */
#define READ_BATCH 8

static void reader_main(void *arg)
{
    struct reader *rd = arg;
    struct oa_jobq *q = &rd->pool->q;
    struct oa_db_job *batch;
    while ((batch = oa__jobq_take(q, READ_BATCH, rd->share, 0, NULL)) != NULL) {
        reader_run(&rd->store, batch);
        struct oa_db_job *last = batch;
        while (last->next != NULL)
            last = last->next;
        oa__jobq_finished(q, batch, last);
    }
}

/* On the loop: answer a finished job, or hand its audit entries to the writer first. */
static void reader_finished(void *owner, struct oa_db_job *j)
{
    struct oa_readers *p = owner;
    if (j->flags & OA_JOB_CONTINUED)
        oa_writer_submit(p->writer, j); /* done runs after the writes' commit */
    else
        j->done(j);
}

struct oa_readers *oa_readers_start(uv_loop_t *loop, const char *path, unsigned n, struct oa_writer *w)
{
    if (n == 0)
        n = 1;
    struct oa_readers *p = oa_xcalloc(1, sizeof(*p));
    p->loop = loop;
    p->writer = w;
    p->readers = oa_xcalloc(n, sizeof(*p->readers));
    unsigned opened = 0, started = 0;
    for (; opened < n; opened++) {
        char *why = NULL;
        struct oa_store *s = &p->readers[opened].store;
        if (oa_store_open_readonly(s, path, &why) != 0) {
            oa_log(OA_LOG_ERROR, "reader_open_failed", "cause=\"%s\"", why ? why : "?");
            free(why);
            goto fail;
        }
        /* Sorting a page needs temporaries: in memory, as on the writer. */
        sqlite3_exec(s->db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
        s->audit_deferred = true;
        p->readers[opened].pool = p;
        p->readers[opened].share = n;
    }
    if (oa__jobq_init(&p->q, loop, reader_finished, p) != 0)
        goto fail;
    for (; started < n; started++)
        if (uv_thread_create(&p->readers[started].thread, reader_main, &p->readers[started]) != 0)
            break;
    p->n = started;
    if (started < n) {
        for (unsigned i = started; i < n; i++)
            oa_store_close(&p->readers[i].store);
        oa_readers_stop(p);
        oa_log(OA_LOG_ERROR, "reader_start_failed", NULL);
        return NULL;
    }
    return p;
fail:
    for (unsigned i = 0; i < opened; i++)
        oa_store_close(&p->readers[i].store);
    free(p->readers);
    free(p);
    oa_log(OA_LOG_ERROR, "reader_start_failed", NULL);
    return NULL;
}

void oa_readers_submit(struct oa_readers *p, struct oa_db_job *job)
{
    job->next = NULL;
    job->rc = 0;
    job->state = 0;
    job->audit = NULL;
    job->then = NULL;
    job->flags &= ~OA_JOB_CONTINUED;
    oa__jobq_submit(&p->q, job);
}

unsigned oa_readers_count(const struct oa_readers *p)
{
    return p->n;
}

unsigned oa_readers_pending(const struct oa_readers *p)
{
    return p->q.pending;
}

static void readers_closed(void *owner)
{
    struct oa_readers *p = owner;
    free(p->readers);
    free(p);
}

void oa_readers_stop(struct oa_readers *p)
{
    oa__jobq_stop(&p->q);
    for (unsigned i = 0; i < p->n; i++)
        uv_thread_join(&p->readers[i].thread);
    for (unsigned i = 0; i < p->n; i++)
        oa_store_close(&p->readers[i].store);
    oa__jobq_close(&p->q, readers_closed);
}
