/* storage/reader.c: the reader threads.  See reader.h. */
#include "storage/reader.h"

#include <stdlib.h>

#include "proto/alloc.h"
#include "proto/errors.h"
#include "proto/log.h"
#include "storage/audit.h"
#include "storage/fault.h"

struct reader {
    struct oa_readers *pool;
    uv_thread_t thread;
    struct oa_store store; /* this thread's only */
};

struct oa_readers {
    uv_loop_t *loop;
    struct oa_writer *writer;
    unsigned n;
    struct reader *readers;
    uv_mutex_t lock;
    uv_cond_t wake;
    struct oa_db_job *queue_head, **queue_tail; /* guarded by lock */
    struct oa_db_job *done_head, **done_tail;   /* guarded by lock */
    int stopping;                               /* guarded by lock */
    unsigned pending;                           /* loop thread only */
    struct oa_db_job *local_head, **local_tail; /* loop thread only: this turn's jobs */
    uv_async_t async;
    uv_prepare_t flush;
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

/* Runs one job in a read transaction of its own; keeps its writes (audit entries, `then`) on the job. */
static void reader_run(struct oa_store *s, struct oa_db_job *j)
{
    if (step_once(s, "BEGIN") != 0) {
        j->rc = oa_fault_sqlite(s->db, OA_E_STORAGE);
        return;
    }
    j->rc = j->run(s, j);
    if (j->rc == OA_E_STORAGE)
        j->rc = oa_fault_sqlite(s->db, OA_E_STORAGE);
    /* A statement left on a row would keep the snapshot (and the WAL) pinned. */
    oa_store_reset_all(s);
    if (!sqlite3_get_autocommit(s->db))
        step_once(s, "COMMIT");
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

static void reader_main(void *arg)
{
    struct reader *rd = arg;
    struct oa_readers *p = rd->pool;
    for (;;) {
        uv_mutex_lock(&p->lock);
        while (p->queue_head == NULL && !p->stopping)
            uv_cond_wait(&p->wake, &p->lock);
        struct oa_db_job *j = p->queue_head;
        if (j == NULL) {
            uv_mutex_unlock(&p->lock);
            return;
        }
        p->queue_head = j->next;
        if (p->queue_head == NULL)
            p->queue_tail = &p->queue_head;
        else
            uv_cond_signal(&p->wake); /* more waiting: wake the next thread */
        uv_mutex_unlock(&p->lock);

        j->next = NULL;
        reader_run(&rd->store, j);

        uv_mutex_lock(&p->lock);
        *p->done_tail = j;
        p->done_tail = &j->next;
        uv_mutex_unlock(&p->lock);
        uv_async_send(&p->async);
    }
}

/* On the loop: answer the finished jobs, or hand their audit entries to the writer first. */
static void readers_on_async(uv_async_t *a)
{
    struct oa_readers *p = a->data;
    uv_mutex_lock(&p->lock);
    struct oa_db_job *j = p->done_head;
    p->done_head = NULL;
    p->done_tail = &p->done_head;
    uv_mutex_unlock(&p->lock);
    while (j != NULL) {
        struct oa_db_job *next = j->next;
        p->pending--;
        j->next = NULL;
        if (j->flags & OA_JOB_CONTINUED)
            oa_writer_submit(p->writer, j); /* done runs after the writes' commit */
        else
            j->done(j);
        j = next;
    }
}

static void readers_flush(struct oa_readers *p)
{
    if (p->local_head == NULL)
        return;
    uv_mutex_lock(&p->lock);
    *p->queue_tail = p->local_head;
    p->queue_tail = p->local_tail;
    uv_cond_signal(&p->wake);
    uv_mutex_unlock(&p->lock);
    p->local_head = NULL;
    p->local_tail = &p->local_head;
}

static void readers_on_prepare(uv_prepare_t *h)
{
    readers_flush(h->data);
}

struct oa_readers *oa_readers_start(uv_loop_t *loop, const char *path, unsigned n, struct oa_writer *w)
{
    if (n == 0)
        n = 1;
    struct oa_readers *p = oa_xcalloc(1, sizeof(*p));
    p->loop = loop;
    p->writer = w;
    p->queue_tail = &p->queue_head;
    p->done_tail = &p->done_head;
    p->local_tail = &p->local_head;
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
    }
    if (uv_mutex_init(&p->lock) != 0 || uv_cond_init(&p->wake) != 0 ||
        uv_async_init(loop, &p->async, readers_on_async) != 0)
        goto fail; /* (the mutex and cond leak with this failure; start-up then exits) */
    p->async.data = p;
    uv_prepare_init(loop, &p->flush);
    p->flush.data = p;
    uv_prepare_start(&p->flush, readers_on_prepare);
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
    p->pending++;
    *p->local_tail = job;
    p->local_tail = &job->next;
}

unsigned oa_readers_count(const struct oa_readers *p)
{
    return p->n;
}

unsigned oa_readers_pending(const struct oa_readers *p)
{
    return p->pending;
}

static void readers_on_close(uv_handle_t *h)
{
    struct oa_readers *p = h->data;
    uv_mutex_destroy(&p->lock);
    uv_cond_destroy(&p->wake);
    free(p->readers);
    free(p);
}

static void flush_on_close(uv_handle_t *h)
{
    struct oa_readers *p = h->data;
    uv_close((uv_handle_t *)&p->async, readers_on_close);
}

void oa_readers_stop(struct oa_readers *p)
{
    readers_flush(p);
    uv_mutex_lock(&p->lock);
    p->stopping = 1;
    uv_cond_broadcast(&p->wake);
    uv_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n; i++)
        uv_thread_join(&p->readers[i].thread);
    for (unsigned i = 0; i < p->n; i++)
        oa_store_close(&p->readers[i].store);
    readers_on_async(&p->async); /* hand back what finished last */
    uv_prepare_stop(&p->flush);
    uv_close((uv_handle_t *)&p->flush, flush_on_close);
}
