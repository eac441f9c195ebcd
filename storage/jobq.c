/* storage/jobq.c: the jobs' hand-over between the loop and its threads.  See jobq.h. */
#include "storage/jobq.h"

/* Loop thread: hands this turn's jobs to the threads, one lock and one wake-up. */
static void jobq_flush(struct oa_jobq *q)
{
    if (q->local_head == NULL)
        return;
    uv_mutex_lock(&q->lock);
    *q->queue_tail = q->local_head;
    q->queue_tail = q->local_tail;
    q->queued += q->local_n;
    uv_cond_signal(&q->wake);
    uv_mutex_unlock(&q->lock);
    q->local_head = NULL;
    q->local_tail = &q->local_head;
    q->local_n = 0;
}

static void jobq_on_prepare(uv_prepare_t *h)
{
    jobq_flush(h->data);
}

/* Loop thread: the finished jobs, in order, to the owner. */
static void jobq_on_async(uv_async_t *a)
{
    struct oa_jobq *q = a->data;
    uv_mutex_lock(&q->lock);
    struct oa_db_job *j = q->done_head;
    q->done_head = NULL;
    q->done_tail = &q->done_head;
    uv_mutex_unlock(&q->lock);
    while (j != NULL) {
        struct oa_db_job *next = j->next;
        q->pending--;
        j->next = NULL;
        q->finished(q->owner, j);
        j = next;
    }
}

int oa__jobq_init(struct oa_jobq *q, uv_loop_t *loop, void (*finished)(void *owner, struct oa_db_job *j),
                  void *owner)
{
    q->queue_head = q->done_head = q->local_head = NULL;
    q->queue_tail = &q->queue_head;
    q->done_tail = &q->done_head;
    q->local_tail = &q->local_head;
    q->stopping = 0;
    q->pending = 0;
    q->queued = q->local_n = 0;
    q->finished = finished;
    q->owner = owner;
    if (uv_mutex_init(&q->lock) != 0)
        return -1;
    if (uv_cond_init(&q->wake) != 0) {
        uv_mutex_destroy(&q->lock);
        return -1;
    }
    if (uv_async_init(loop, &q->async, jobq_on_async) != 0) {
        uv_cond_destroy(&q->wake);
        uv_mutex_destroy(&q->lock);
        return -1;
    }
    q->async.data = q;
    uv_prepare_init(loop, &q->flush);
    q->flush.data = q;
    uv_prepare_start(&q->flush, jobq_on_prepare);
    return 0;
}

void oa__jobq_submit(struct oa_jobq *q, struct oa_db_job *j)
{
    j->next = NULL;
    q->pending++;
    q->local_n++;
    *q->local_tail = j;
    q->local_tail = &j->next;
}

struct oa_db_job *oa__jobq_take(struct oa_jobq *q, unsigned max, unsigned share, uint64_t timeout_ns,
                                bool *timed_out)
{
    uv_mutex_lock(&q->lock);
    while (q->queue_head == NULL && !q->stopping) {
        if (timeout_ns == 0) {
            uv_cond_wait(&q->wake, &q->lock);
        } else if (uv_cond_timedwait(&q->wake, &q->lock, timeout_ns) == UV_ETIMEDOUT) {
            if (q->queue_head != NULL)
                break;
            uv_mutex_unlock(&q->lock);
            *timed_out = true;
            return NULL;
        }
    }
    struct oa_db_job *first = q->queue_head, *last = first;
    if (first == NULL) { /* stopping, and nothing left */
        uv_mutex_unlock(&q->lock);
        return NULL;
    }
    if (share > 1 && max > (q->queued + share - 1) / share)
        max = (q->queued + share - 1) / share;
    unsigned n = 1;
    for (; n < max && last->next != NULL; n++)
        last = last->next;
    q->queued -= n;
    q->queue_head = last->next;
    if (q->queue_head == NULL)
        q->queue_tail = &q->queue_head;
    else
        uv_cond_signal(&q->wake); /* more waiting: wake the next thread */
    last->next = NULL;
    uv_mutex_unlock(&q->lock);
    return first;
}

void oa__jobq_finished(struct oa_jobq *q, struct oa_db_job *first, struct oa_db_job *last)
{
    uv_mutex_lock(&q->lock);
    *q->done_tail = first;
    q->done_tail = &last->next;
    uv_mutex_unlock(&q->lock);
    uv_async_send(&q->async);
}

void oa__jobq_stop(struct oa_jobq *q)
{
    jobq_flush(q);
    uv_mutex_lock(&q->lock);
    q->stopping = 1;
    uv_cond_broadcast(&q->wake);
    uv_mutex_unlock(&q->lock);
}

static void jobq_on_close(uv_handle_t *h)
{
    struct oa_jobq *q = h->data;
    uv_mutex_destroy(&q->lock);
    uv_cond_destroy(&q->wake);
    q->closed(q->owner);
}

static void flush_on_close(uv_handle_t *h)
{
    struct oa_jobq *q = h->data;
    uv_close((uv_handle_t *)&q->async, jobq_on_close);
}

void oa__jobq_close(struct oa_jobq *q, void (*closed)(void *owner))
{
    jobq_on_async(&q->async); /* hand back whatever finished last */
    /* The lock lives until the async handle is closed: a wake-up a thread
     * sent last may still be delivered before the close. */
    q->closed = closed;
    uv_prepare_stop(&q->flush);
    uv_close((uv_handle_t *)&q->flush, flush_on_close);
}
