/*
 * server/housekeeping.c: runs app/housekeeping.c on a timer
 * (storage.housekeeping_seconds; the first run a second after start), as a
 * bookkeeping job of the writer: a full disk never makes it fail a request.
 */
#include <stdlib.h>

#include "app/housekeeping.h"
#include "model/clock.h"
#include "model/job.h"
#include "proto/alloc.h"
#include "proto/log.h"
#include "server/server.h"

struct hk_job {
    struct oa_db_job job;
    struct oa_server *srv;
    struct oa_housekeeping h;
    struct oa_housekeeping_done done;
};

static int hk_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct hk_job *j = (struct hk_job *)job;
    return oa_housekeeping_run(s, &j->h, oa_now(), &j->done) != 0 ? -1 : 0;
}

static void hk_on_timer(uv_timer_t *t);

static void hk_on_done(struct oa_db_job *job)
{
    struct hk_job *j = (struct hk_job *)job;
    struct oa_server *srv = j->srv;
    srv->housekeeping_running = false;
    if (job->rc != 0)
        oa_log(OA_LOG_WARN, "housekeeping_failed", "rc=%d", job->rc);
    else if (j->done.sessions > 0 || j->done.answers > 0)
        oa_log(OA_LOG_INFO, "housekeeping", "sessions_ended=%lld answers_forgotten=%lld more=%d",
               (long long)j->done.sessions, (long long)j->done.answers, j->done.more);
    /* More old answers than a run forgets: the next run comes soon, not in an hour. */
    if (job->rc == 0 && j->done.more && !srv->draining)
        uv_timer_start(&srv->housekeeping_timer, hk_on_timer, 100, srv->cfg->housekeeping_s * 1000ull);
    free(j);
}

static void hk_on_timer(uv_timer_t *t)
{
    struct oa_server *srv = t->data;
    if (srv->draining || srv->housekeeping_running)
        return;
    struct hk_job *j = oa_xcalloc(1, sizeof(*j));
    j->srv = srv;
    j->h.session_idle_s = srv->cfg->session_idle_s;
    j->h.idempotency_keep_s = srv->cfg->idempotency_keep_s;
    j->job.run = hk_on_run;
    j->job.done = hk_on_done;
    j->job.flags = OA_JOB_BOOKKEEPING;
    srv->housekeeping_running = true;
    oa_jobs_write(srv->jobs, &j->job);
}

void oa_housekeeping_start(struct oa_server *srv)
{
    uv_timer_init(srv->loop, &srv->housekeeping_timer);
    srv->housekeeping_timer.data = srv;
    uv_timer_start(&srv->housekeeping_timer, hk_on_timer, 1000, srv->cfg->housekeeping_s * 1000ull);
    uv_unref((uv_handle_t *)&srv->housekeeping_timer);
}

static void hk_timer_on_close(uv_handle_t *h)
{
    (void)h;
}

void oa_housekeeping_stop(struct oa_server *srv)
{
    uv_close((uv_handle_t *)&srv->housekeeping_timer, hk_timer_on_close);
}
