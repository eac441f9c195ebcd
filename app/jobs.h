/*
 * app/jobs.h: where a request's database job runs, the interface server/
 * submits through (the threads themselves are storage/writer.h and
 * storage/reader.h; the job type is model/job.h).
 *
 * A job flagged OA_JOB_READ goes to a reader thread, in a read transaction
 * of its own; any other to the writer, whose group commit makes it durable
 * before its done callback runs on the loop.
 */
#ifndef OA_APP_JOBS_H
#define OA_APP_JOBS_H

#include <stdbool.h>
#include <uv.h>

#include "model/job.h"

struct oa_jobs;

/*
 * Starts the writer over the open store (which it owns until oa_jobs_stop;
 * the caller closes it after) and `readers` reader threads over the database
 * at path (none with 0: every job runs on the writer).  audit_seed: see
 * oa_writer_start (storage/writer.h).  NULL (logged) on failure,
 * with nothing left running.  Composition root only (cmd/main.c).
 */
struct oa_jobs *oa_jobs_start(uv_loop_t *loop, struct oa_store *store, const char *path, unsigned readers,
                              const unsigned char *audit_seed);

/*
 * A nested step of a job (a savepoint named `name`): undone alone
 * (oa_jobs_step_undo) or kept with the job (oa_jobs_step_keep); a sync
 * push runs each pushed operation as one.  Inside a job's run.  0 or -1.
 */
int oa_jobs_step_begin(struct oa_store *s, const char *name);
int oa_jobs_step_keep(struct oa_store *s, const char *name);
int oa_jobs_step_undo(struct oa_store *s, const char *name);

/*
 * Whether the job running on s runs on a reader thread: it cannot write,
 * and what it must write goes to the writer as its `then` (model/job.h).
 */
bool oa_jobs_on_reader(const struct oa_store *s);

/* Queues a job: OA_JOB_READ to a reader, any other to the writer.  Loop thread only. */
void oa_jobs_submit(struct oa_jobs *q, struct oa_db_job *job);
/* Queues a job on the writer, whatever its flags.  Loop thread only. */
void oa_jobs_write(struct oa_jobs *q, struct oa_db_job *job);

/* Jobs the writer holds, queued or running.  Loop thread only. */
unsigned oa_jobs_pending(const struct oa_jobs *q);
/* The writer's commit figures (model/job.h). */
const struct oa_writer_stats *oa_jobs_stats(const struct oa_jobs *q);

/*
 * Finishes every queued job (the readers' first: their audit entries go to
 * the writer), stops the threads and frees q.  The store stays open.
 */
void oa_jobs_stop(struct oa_jobs *q);

#endif
