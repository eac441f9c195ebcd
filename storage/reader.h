/*
 * storage/reader.h: the reader threads, beside the writer (writer.h).
 *
 * Reads do not queue behind commits and fsyncs: a job flagged OA_JOB_READ
 * runs on one of N threads, each with its own read-only connection (WAL lets
 * it read while the writer writes) and its own statement cache, in a read
 * transaction of its own.  It sees everything committed before it started --
 * and a job's done callback runs only after its commit, so a read submitted
 * after an answer sees what was answered (read-your-writes).
 *
 * A read job cannot write.  The audit entries it records (oa_audit on a
 * reader's connection keeps them: store.h audit_deferred) travel with the
 * job to the writer, which appends them in its next group commit; the job's
 * done callback runs after that commit, or with job->rc set when it failed
 * (the disk is full): a read that must be audited is never answered without
 * its entry (fail closed).  A job whose run fails drops its entries, as the
 * writer's savepoint would.
 *
 * The queue holds at most one job per request in progress, and a connection
 * has one request at a time: it is bounded by the connection limit.  The
 * threads take jobs in order, a few at a time (at most 8, and at most their
 * share of those waiting), and run a batch in one read transaction: the
 * jobs were all queued before it began, so each still sees every write
 * answered before it was submitted.  A read flood shares the CPUs with the
 * writer thread instead of holding it off.
 */
#ifndef OA_STORAGE_READER_H
#define OA_STORAGE_READER_H

#include <uv.h>

#include "storage/writer.h"

struct oa_readers;

/*
 * Opens n read-only connections to the database at path and starts a thread
 * for each; audit entries go to w.  Returns NULL (logged) on failure.
 */
struct oa_readers *oa_readers_start(uv_loop_t *loop, const char *path, unsigned n, struct oa_writer *w);

/*
 * Queues a read job; its done callback runs on the loop later (after the
 * writer committed its audit entries, if it has any).  Loop thread only.
 * Jobs queued during one loop turn reach the threads together.
 */
void oa_readers_submit(struct oa_readers *p, struct oa_db_job *job);

/* The number of reader threads. */
unsigned oa_readers_count(const struct oa_readers *p);

/* Jobs queued or running, not yet handed back.  Loop thread only. */
unsigned oa_readers_pending(const struct oa_readers *p);

/*
 * Finishes every queued job (their audit entries are handed to the writer,
 * which must still run), stops the threads, closes the connections and frees
 * the pool.  Call before oa_writer_stop.
 */
void oa_readers_stop(struct oa_readers *p);

#endif
