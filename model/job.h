/*
 * model/job.h: a database job, the unit of work the writer thread
 * (storage/writer.h) and the reader threads (storage/reader.h) run, and the
 * writer's figures.  Shared by storage/ (which runs jobs), app/ (whose use
 * cases run inside them) and server/ (which embeds a job in each request
 * and submits it through app/jobs.h), so that server/ needs nothing of
 * storage/.
 */
#ifndef OA_MODEL_JOB_H
#define OA_MODEL_JOB_H

#include <stdatomic.h>
#include <stdint.h>

struct oa_store;

struct oa_db_job;

/*
 * Runs on the writer thread inside a savepoint.  Returns 0 to keep its
 * changes, or a non-zero error (an enum oa_err) to roll them back.  It must not
 * touch loop state: it reads its inputs from and writes its results to the
 * struct that embeds the job.
 */
typedef int (*oa_db_run_fn)(struct oa_store *s, struct oa_db_job *job);
/* Runs on the loop thread after the commit; job->rc holds the outcome. */
typedef void (*oa_db_done_fn)(struct oa_db_job *job);

/*
 * The job's changes are bookkeeping (when a session was last used): they are
 * committed with the group when they can be, dropped when they cannot (the
 * disk is full), and the job answers either way.
 */
#define OA_JOB_BOOKKEEPING 1u
/*
 * The job's changes must be written even while the disk is full (a login's
 * session row): they may use the reserve (storage/fault.h), like every job
 * whose only changes are audit entries.
 */
#define OA_JOB_ESSENTIAL 2u

/*
 * The job only reads: submitted with oa_readers_submit (storage/reader.h) it
 * runs on a reader thread, in a read transaction of its own, without waiting
 * for commits.  The audit entries it records (a classified document shown,
 * a refusal) go to the writer, which commits them before the job's done
 * callback runs; when they cannot be committed, job->rc says why.
 */
#define OA_JOB_READ 4u
/* Set by the readers on a read job that goes on to the writer (its audit entries, its `then`). */
#define OA_JOB_CONTINUED 0x100u

struct oa_audit_pending;

struct oa_db_job {
    oa_db_run_fn run;
    oa_db_done_fn done;
    /*
     * run's result, with OA_E_STORAGE made precise (OA_E_NO_SPACE when the
     * disk is full); the commit's error when the job's changes, or changes
     * it may have read, could not be committed.  A job that changed nothing
     * and read nothing uncommitted keeps its result when the commit fails:
     * reads go on while the disk is full.
     */
    int rc;
    unsigned flags;           /* OA_JOB_*, set by the submitter */
    unsigned state;           /* the writer's */
    struct oa_db_job *next;   /* the writer's queue */
    /*
     * A read job's writes, brought from a reader (storage/reader.h): the
     * audit entries it recorded, and `then`, which its run may set to a
     * second step that changes something (bookkeeping the read implies).
     * The writer runs these in one savepoint instead of run, then done.
     */
    struct oa_audit_pending *audit;
    oa_db_run_fn then;
};

/* Commit latency histogram bucket upper bounds, in microseconds (job.c). */
#define OA_COMMIT_BUCKETS 10
extern const double oa_commit_bucket_us[OA_COMMIT_BUCKETS];

struct oa_writer_stats {
    atomic_uint_fast64_t commits;
    atomic_uint_fast64_t jobs;
    atomic_uint_fast64_t commit_us_sum;
    atomic_uint_fast64_t bucket[OA_COMMIT_BUCKETS + 1]; /* the last counts +Inf */
};

#endif
