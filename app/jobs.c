/* app/jobs.c: see jobs.h. */
#include "app/jobs.h"

#include <stdlib.h>

#include "proto/alloc.h"
#include "storage/reader.h"
#include "storage/store.h"
#include "storage/writer.h"

struct oa_jobs {
    struct oa_writer *writer;
    struct oa_readers *readers;
};

struct oa_jobs *oa_jobs_start(uv_loop_t *loop, struct oa_store *store, const char *path, unsigned readers,
                              const unsigned char *audit_seed)
{
    struct oa_jobs *q = oa_xcalloc(1, sizeof(*q));
    q->writer = oa_writer_start(loop, store, audit_seed);
    if (q->writer != NULL && readers > 0)
        q->readers = oa_readers_start(loop, path, readers, q->writer);
    if (q->writer == NULL || (readers > 0 && q->readers == NULL)) {
        if (q->writer != NULL)
            oa_writer_stop(q->writer);
        free(q);
        return NULL;
    }
    return q;
}

void oa_jobs_submit(struct oa_jobs *q, struct oa_db_job *job)
{
    if ((job->flags & OA_JOB_READ) && q->readers != NULL)
        oa_readers_submit(q->readers, job);
    else
        oa_writer_submit(q->writer, job);
}

void oa_jobs_write(struct oa_jobs *q, struct oa_db_job *job)
{
    oa_writer_submit(q->writer, job);
}

unsigned oa_jobs_pending(const struct oa_jobs *q)
{
    return oa_writer_pending(q->writer);
}

const struct oa_writer_stats *oa_jobs_stats(const struct oa_jobs *q)
{
    return oa_writer_stats(q->writer);
}

void oa_jobs_stop(struct oa_jobs *q)
{
    if (q->readers != NULL)
        oa_readers_stop(q->readers);
    oa_writer_stop(q->writer);
    free(q);
}

int oa_jobs_step_begin(struct oa_store *s, const char *name)
{
    return oa_store_savepoint(s, name);
}

int oa_jobs_step_keep(struct oa_store *s, const char *name)
{
    return oa_store_release(s, name);
}

int oa_jobs_step_undo(struct oa_store *s, const char *name)
{
    return oa_store_undo_to(s, name);
}

bool oa_jobs_on_reader(const struct oa_store *s)
{
    return s->audit_deferred;
}
