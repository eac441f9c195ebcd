/*
 * storage/writer.h: the database thread and its group commit.  The job
 * type it runs is model/job.h; server/ submits through app/jobs.h.
 *
 * The event loop never touches SQLite.  A handler submits a job; the writer
 * thread takes every job that is waiting, runs them in one transaction (each
 * inside its own savepoint, so one job's failure undoes only that job),
 * commits once -- one fsync for the whole group -- and then hands the jobs
 * back to the loop, whose `done` callbacks answer the clients.  A job is
 * therefore durable before its `done` runs: an acknowledged write survives a
 * crash, and an fsync never stalls the loop.
 *
 * When the disk is full (storage/fault.h), a group's commit fails: the jobs
 * that changed something fail with OA_E_NO_SPACE and the jobs that only read
 * answer as usual.  Until a commit succeeds again, each job that changes
 * something commits on its own, so that no job reads changes that are then
 * lost.
 */
#ifndef OA_STORAGE_WRITER_H
#define OA_STORAGE_WRITER_H

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "model/job.h"
#include "storage/store.h"

struct oa_writer;

/*
 * Starts the writer thread over an open store, which it owns from now on
 * until oa_writer_stop.  With an audit seed (the key file's audit-sign key),
 * the writer also keeps the audit trail's Merkle tree and signs a checkpoint
 * at least once a second while entries arrive; with NULL it signs none.
 * Returns NULL on failure.
 */
struct oa_writer *oa_writer_start(uv_loop_t *loop, struct oa_store *store, const unsigned char *audit_seed);

/*
 * Queues a job; its done callback runs on the loop later.  Loop thread only.
 * Jobs queued during one loop turn reach the writer together, with one
 * wake-up, before the loop next waits for I/O.
 */
void oa_writer_submit(struct oa_writer *w, struct oa_db_job *job);

/* Jobs queued or running, not yet handed back. Loop thread only. */
unsigned oa_writer_pending(const struct oa_writer *w);

const struct oa_writer_stats *oa_writer_stats(const struct oa_writer *w);

/*
 * Finishes every queued job, runs their done callbacks, stops the thread and
 * frees the writer.  The store stays open; the caller closes it.
 */
void oa_writer_stop(struct oa_writer *w);

#endif
