/*
 * server/h_blobs.c: attachments, resumable uploads, and the blob store's
 * background work (re-sealing after a relabel, rewrapping after a key
 * rotation).
 *
 *   GET    /v1/documents/{id}/attachments             list (current revisions)
 *   POST   /v1/documents/{id}/attachments?name=N      upload a new one (streamed body)
 *   PUT    /v1/documents/{id}/attachments/{aid}       upload a new revision (streamed body)
 *   GET    /v1/documents/{id}/attachments/{aid}[?rev=N]  download; Range supported
 *   POST   /v1/uploads   {document, name, length[, attachment][, role]}   start a resumable upload
 *   GET    /v1/uploads/{u}                            its offset (what the server holds)
 *   PATCH  /v1/uploads/{u}   Upload-Offset: N         continue it from N (streamed body)
 *   DELETE /v1/uploads/{u}                            give it up
 *
 * An upload streams: each piece of the body is copied into a fill buffer;
 * a full buffer goes to the thread pool, where it is compressed, encrypted
 * and written (oa_blob_write) while the next one fills; when both are full,
 * reading the connection pauses.  Memory per upload is two buffers and the
 * blob writer's segment, whatever the size.  The file is made durable
 * (fsync, rename, directory fsync) before the database row is committed; an
 * interrupted upload leaves a temporary file that start-up removes, and a
 * file without a row (a crash between the two) is removed too.
 *
 * Downloads stream the same way in reverse, a piece at a time: the next
 * piece is decrypted in the pool while nothing else waits on the loop.
 *
 * The uploads (content type, sealing, committing, their life cycle) are in
 * h_upload.c; the attachment and upload routes, the check before an upload,
 * listing and downloading in h_attachments.c; this file runs the
 * background work (re-sealing, rewrapping, reloading the keys: the use
 * cases are app/blob_upkeep.c's; here the steps go between the writer and
 * the thread pool) and the blob store's start and stop.  blobs-int.h joins
 * them; the calls go one way (routes and this file -> uploads).
 */
#include <fcntl.h>
#include <magic.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/blob_upkeep.h"
#include "app/doc_read.h"
#include "proto/log.h"
#include "proto/value.h"
#include "server/blobs-int.h"
#include "server/handlers.h"
#include "server/server.h"
#include "workflow/access.h"


/* ------------------------------------------------------------------------ */
/* background: re-sealing after relabels, rewrapping after key rotation     */
/* ------------------------------------------------------------------------ */

/*
 * A relabel changes the level a document's blobs must be bound to (their
 * associated data) and the KEK that wraps their keys.  The label itself
 * takes effect at once -- every read is decided on the document's label --
 * and the blobs catch up here, one at a time: read the old file, write a new
 * one sealed for the new level under a new data key, swap the row (only if
 * it still names the old file), then delete the old file.
 */
struct reseal {
    struct oa_db_job job;
    struct oa_server *srv;
    int phase;                 /* 0 find, 1 swap */
    int found;
    struct oa_app_reseal *x;   /* the use case's (app/blob_upkeep.c) */
    uv_work_t wq;
    int rc;
};

static void reseal_step(struct reseal *x);

static int reseal_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct reseal *x = (struct reseal *)job;
    x->found = x->phase == 0 ? oa_app_reseal_next(s, x->x) : oa_app_reseal_swap(s, x->x);
    return x->found < 0 ? OA_E_STORAGE : 0;
}

static void reseal_on_work(uv_work_t *w)
{
    struct reseal *x = w->data;
    x->rc = oa_app_reseal_copy(x->x);
}

static void reseal_finish(struct reseal *x)
{
    struct oa_server *srv = x->srv;
    oa_app_reseal_free(x->x);
    free(x);
    srv->reseal_running = false;
    if (srv->reseal_again && !srv->draining) {
        srv->reseal_again = false;
        oa_blobs_reseal_kick(srv);
    }
}

static void reseal_on_work_done(uv_work_t *w, int status)
{
    struct reseal *x = w->data;
    if (status != 0 || x->rc != 0 || x->srv->draining) {
        if (x->rc != 0)
            oa_log(OA_LOG_ERROR, "blob_reseal_failed", "blob=%lld cause=\"%s\"", (long long)oa_app_reseal_blob(x->x),
                   oa_app_reseal_cause(x->x));
        oa_app_reseal_done(x->x, false); /* skip it; fsck names it */
        if (x->srv->draining) {
            reseal_finish(x);
            return;
        }
        x->phase = 0;
        reseal_step(x);
        return;
    }
    x->phase = 1;
    reseal_step(x);
}

static void reseal_on_done(struct oa_db_job *job)
{
    struct reseal *x = (struct reseal *)job;
    struct oa_server *srv = x->srv;
    if (x->phase == 1) {
        /* swapped: the old file goes; not swapped (it moved on): the new one goes */
        oa_app_reseal_done(x->x, job->rc == 0 && x->found == 1);
        x->phase = 0;
        if (srv->draining)
            reseal_finish(x);
        else
            reseal_step(x);
        return;
    }
    if (job->rc != 0 || x->found != 1 || srv->draining) {
        reseal_finish(x);
        return;
    }
    if (oa_app_reseal_prepare(x->x, srv->keys, srv->cfg->data_dir) != 0) {
        reseal_step(x);
        return;
    }
    x->wq.data = x;
    if (uv_queue_work(srv->loop, &x->wq, reseal_on_work, reseal_on_work_done) != 0)
        reseal_finish(x);
}

static void reseal_step(struct reseal *x)
{
    x->job.run = reseal_on_run;
    x->job.done = reseal_on_done;
    x->job.next = NULL;
    x->job.rc = 0;
    oa_jobs_write(x->srv->jobs, &x->job);
}

void oa_blobs_reseal_kick(struct oa_server *srv)
{
    if (srv->draining || srv->jobs == NULL)
        return;
    if (srv->reseal_running) {
        srv->reseal_again = true;
        return;
    }
    srv->reseal_running = true;
    struct reseal *x = oa_xcalloc(1, sizeof(*x));
    x->srv = srv;
    x->x = oa_app_reseal_new();
    reseal_step(x);
}

/* After a key rotation: app/blob_upkeep.c rewraps the data keys and retires the KEKs nothing uses. */
struct rewrap {
    struct oa_db_job job;
    struct oa_server *srv;
    struct oa_app_rewrap x;
};

static int rewrap_on_run(struct oa_store *s, struct oa_db_job *job)
{
    return oa_app_rewrap_step(s, &((struct rewrap *)job)->x);
}

static void rewrap_on_done(struct oa_db_job *job)
{
    struct rewrap *x = (struct rewrap *)job;
    struct oa_server *srv = x->srv;
    if (job->rc == 0 && x->x.more && !srv->draining) {
        job->rc = 0;
        job->next = NULL;
        oa_jobs_write(srv->jobs, job);
        return;
    }
    if (x->x.retired) {
        if (job->rc == 0) {
            oa_log(OA_LOG_INFO, "keys_retired", "rewrapped=%zu", x->x.done);
            oa_server_keys_swap(srv, x->x.retired);
        } else {
            sodium_free(x->x.retired);
        }
    }
    srv->rewrap_running = false;
    free(x);
}

void oa_blobs_rewrap_kick(struct oa_server *srv)
{
    if (srv->draining || srv->jobs == NULL || srv->rewrap_running)
        return;
    srv->rewrap_running = true;
    struct rewrap *x = oa_xcalloc(1, sizeof(*x));
    x->srv = srv;
    x->x.keys = srv->keys;
    x->x.key_file = srv->cfg->key_file;
    for (struct upload *u = srv->uploads; u; u = u->next)
        x->x.busy[u->b.level][u->b.kek_version] = true;
    x->job.run = rewrap_on_run;
    x->job.done = rewrap_on_done;
    oa_jobs_write(srv->jobs, &x->job);
}

/* ------------------------------------------------------------------------ */
/* life cycle                                                               */
/* ------------------------------------------------------------------------ */

/*
 * Old keys are freed only once no writer job can still be reading them
 * (login's TOTP check, step-up, rewrap, archival packages read srv->keys on
 * the writer thread; everything else reads it on the loop, and no reader
 * thread ever does: a GET whose job would is OA_REQ_ON_WRITER, handlers.h):
 * a job submitted after the swap runs after every job submitted before it,
 * so its completion is the moment.
 */
struct keys_release {
    struct oa_db_job job;
    struct oa_keys *old;
};

static int keys_release_on_run(struct oa_store *s, struct oa_db_job *job)
{
    (void)s;
    (void)job;
    return 0;
}

static void keys_release_on_done(struct oa_db_job *job)
{
    struct keys_release *x = (struct keys_release *)job;
    sodium_free(x->old);
    free(x);
}

void oa_server_keys_swap(struct oa_server *srv, struct oa_keys *k)
{
    struct oa_keys *old = srv->keys_owned;
    srv->keys_owned = k;
    srv->keys = k;
    if (old == NULL)
        return;
    if (srv->jobs == NULL) {
        sodium_free(old);
        return;
    }
    struct keys_release *x = oa_xcalloc(1, sizeof(*x));
    x->old = old;
    x->job.run = keys_release_on_run;
    x->job.done = keys_release_on_done;
    oa_jobs_write(srv->jobs, &x->job);
}

/* SIGHUP: read the key file again (after `oad keys rotate`), then rewrap. */
static void keys_on_hup(uv_signal_t *h, int signum)
{
    struct oa_server *srv = h->data;
    if (srv->rewrap_running) {
        oa_log(OA_LOG_WARN, "keys_reload_deferred", "reason=\"a rewrap is running; send SIGHUP again\"");
        return;
    }
    char cause[512];
    struct oa_keys *k = oa_app_keys_reload(srv->cfg->key_file, cause, sizeof(cause));
    if (k == NULL) {
        oa_log(OA_LOG_ERROR, "keys_reload_failed", "cause=\"%s\"", cause);
        return;
    }
    oa_server_keys_swap(srv, k);
    oa_log(OA_LOG_INFO, "keys_reloaded", "file=%s", srv->cfg->key_file);
    oa_blobs_rewrap_kick(srv);
}

void oa_blobs_start(struct oa_server *srv)
{
    oa__uploads_start(srv);
    uv_signal_init(srv->loop, &srv->sig_hup);
    srv->sig_hup.data = srv;
    uv_signal_start(&srv->sig_hup, keys_on_hup, SIGHUP);
    uv_unref((uv_handle_t *)&srv->sig_hup);
    oa_blobs_reseal_kick(srv);
    oa_blobs_rewrap_kick(srv);
}

static void timer_on_close(uv_handle_t *h)
{
}

void oa_blobs_stop(struct oa_server *srv)
{
    uv_close((uv_handle_t *)&srv->sig_hup, timer_on_close);
    oa__uploads_stop(srv);
}
