/*
 * storage/jobq.h: the hand-over of database jobs between the loop thread and
 * the threads that run them (the writer, writer.c; the readers, reader.c).
 *
 * The loop gathers the jobs of one turn (oa_jobq_submit) and hands them over
 * at the turn's end with one lock and one wake-up (a prepare handle); a
 * thread takes jobs (oa_jobq_take) and gives finished ones back
 * (oa_jobq_finished), and the loop is woken once for all of them (an async
 * handle) and calls the owner's `finished` for each, in order.
 *
 * Internal to storage/: the owner embeds a struct oa_jobq and reads none of
 * its fields but `pending`.
 */
#ifndef OA_STORAGE_JOBQ_H
#define OA_STORAGE_JOBQ_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "storage/writer.h"

struct oa_jobq {
    uv_mutex_t lock;
    uv_cond_t wake;
    struct oa_db_job *queue_head, **queue_tail; /* guarded by lock */
    struct oa_db_job *done_head, **done_tail;   /* guarded by lock */
    unsigned queued;                            /* guarded by lock: jobs in queue_head's list */
    int stopping;                               /* guarded by lock */
    unsigned pending;                           /* loop thread only: submitted, not yet handed back */
    struct oa_db_job *local_head, **local_tail; /* loop thread only: this turn's jobs */
    unsigned local_n;                           /* loop thread only: how many */
    uv_async_t async;
    uv_prepare_t flush; /* runs before the loop would block */
    void (*finished)(void *owner, struct oa_db_job *j);
    void (*closed)(void *owner);
    void *owner;
};

/* 0, or -1 when the lock or a handle cannot be made (start-up then fails). */
int oa__jobq_init(struct oa_jobq *q, uv_loop_t *loop, void (*finished)(void *owner, struct oa_db_job *j),
                  void *owner);

/* Loop thread: queues j for the end of this turn. */
void oa__jobq_submit(struct oa_jobq *q, struct oa_db_job *j);

/*
 * A thread: takes up to max jobs in order, as a list (the last one's next is
 * NULL), waiting for them; NULL once stopping and nothing is left, or, with a
 * timeout_ns other than 0, when that long passed with nothing to take
 * (*timed_out is then set).  With share > 1 (threads taking from q), at most
 * a share-th of the waiting jobs (rounded up) is taken, so that the others
 * find theirs.  Another thread is woken while jobs remain.
 */
struct oa_db_job *oa__jobq_take(struct oa_jobq *q, unsigned max, unsigned share, uint64_t timeout_ns,
                                bool *timed_out);

/* A thread: gives back the finished list first..last (last->next is NULL). */
void oa__jobq_finished(struct oa_jobq *q, struct oa_db_job *first, struct oa_db_job *last);

/* Loop thread: hands over this turn's jobs, then tells the threads to stop once the queue is empty. */
void oa__jobq_stop(struct oa_jobq *q);

/*
 * Loop thread, after the threads were joined: hands back what finished last,
 * then closes the handles; closed(owner) runs when they are closed, and may
 * free the queue.
 */
void oa__jobq_close(struct oa_jobq *q, void (*closed)(void *owner));

#endif
