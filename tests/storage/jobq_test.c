/*
 * tests/storage/jobq_test.c: the jobs' hand-over between the loop and its
 * threads (storage/jobq.c): a turn's jobs reach the threads together, a
 * thread takes at most its share of those waiting, finished jobs come back
 * in order on the loop, a timed wait says so, and a stop lets the threads go.
 */
#include <criterion/criterion.h>
#include <uv.h>

#include "storage/jobq.h"

static int finished[16], nfinished, closed;

static void on_finished(void *owner, struct oa_db_job *j)
{
    (void)owner;
    finished[nfinished++] = j->rc;
}

static void on_closed(void *owner)
{
    (void)owner;
    closed = 1;
}

static unsigned count(const struct oa_db_job *j)
{
    unsigned n = 0;
    for (; j != NULL; j = j->next)
        n++;
    return n;
}

Test(jobq, a_thread_takes_its_share_and_the_finished_come_back_in_order)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    struct oa_jobq q;
    cr_assert_eq(oa__jobq_init(&q, &loop, on_finished, NULL), 0);
    struct oa_db_job jobs[10] = {{0}};
    for (int i = 0; i < 10; i++) {
        jobs[i].rc = i;
        oa__jobq_submit(&q, &jobs[i]);
    }
    cr_assert_eq(q.pending, 10);
    uv_run(&loop, UV_RUN_NOWAIT); /* the turn ends: its jobs are handed over */

    /* Two threads share 10 waiting jobs: at most 5, then 3 of the 5 left, then 1, 1. */
    struct oa_db_job *a = oa__jobq_take(&q, 8, 2, 0, NULL);
    cr_assert_eq(count(a), 5);
    cr_assert_eq(a, &jobs[0], "in the order submitted");
    struct oa_db_job *b = oa__jobq_take(&q, 8, 2, 0, NULL);
    cr_assert_eq(count(b), 3);
    cr_assert_eq(b, &jobs[5]);
    /* One taker (the writer) takes all there is, up to max. */
    struct oa_db_job *c = oa__jobq_take(&q, 512, 1, 0, NULL);
    cr_assert_eq(count(c), 2);
    cr_assert_eq(c, &jobs[8]);
    bool timed_out = false;
    cr_assert_null(oa__jobq_take(&q, 8, 2, 1000 * 1000, &timed_out), "nothing left to take");
    cr_assert(timed_out);

    /* Given back out of order, answered in the order given back. */
    oa__jobq_finished(&q, c, &jobs[9]);
    oa__jobq_finished(&q, a, &jobs[4]);
    oa__jobq_finished(&q, b, &jobs[7]);
    uv_run(&loop, UV_RUN_NOWAIT);
    int want[10] = {8, 9, 0, 1, 2, 3, 4, 5, 6, 7};
    cr_assert_eq(nfinished, 10);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(finished[i], want[i], "job %d", i);
    cr_assert_eq(q.pending, 0);

    oa__jobq_stop(&q);
    cr_assert_null(oa__jobq_take(&q, 8, 2, 0, NULL), "stopped and empty: the thread goes");
    oa__jobq_close(&q, on_closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(closed);
    cr_assert_eq(uv_loop_close(&loop), 0);
}
