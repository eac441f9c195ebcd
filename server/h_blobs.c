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
 * listing and downloading in h_attachments.c; this file holds the
 * background work and the blob store's start and stop.  blobs-int.h joins
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

#include "app/doc_read.h"
#include "proto/value.h"
#include "server/blobs-int.h"
#include "server/handlers.h"
#include "proto/log.h"
#include "server/server.h"
#include "app/totp.h"
#include "storage/accounts.h"
#include "storage/blobs.h"
#include "storage/documents.h"
#include "storage/keytoken.h"
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
    int64_t after;
    struct oa_blob_row old, neu;
    int doc_level;
    int found;
    unsigned char old_dek[OA_DEK_LEN], new_dek[OA_DEK_LEN];
    char old_path[4096], new_path[4096];
    uv_work_t wq;
    int rc;
    char cause[300];
};

static void reseal_step(struct reseal *x);

static int reseal_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct reseal *x = (struct reseal *)job;
    if (x->phase == 0) {
        x->found = oa_blob_next_reseal(s, x->after, &x->old, &x->doc_level);
        return x->found < 0 ? OA_E_STORAGE : 0;
    }
    x->found = oa_blob_replace_file(s, &x->neu, x->old.file);
    if (x->found < 0)
        return OA_E_STORAGE;
    if (x->found == 1) {
        char detail[160];
        snprintf(detail, sizeof(detail), "blob %lld re-sealed from level %d to %d", (long long)x->old.id,
                 x->old.level, x->neu.level);
        struct oa_audit_event ev = {.event = "blob.reseal", .doc_id = x->old.doc_id, .label = x->neu.level,
                                    .outcome = "ok", .detail = detail, .actor = "oad"};
        if (oa_audit(s, &ev) != 0)
            return OA_E_STORAGE;
    }
    return 0;
}

struct copy_ctx {
    struct oa_blob_writer *w;
    char *cause;
    size_t causelen;
};

static int copy_sink(void *arg, const void *data, size_t len)
{
    struct copy_ctx *c = arg;
    if (oa_blob_write(c->w, data, len, c->cause, c->causelen) != 0) {
        c->w = NULL;
        return -1;
    }
    return 0;
}

static void reseal_on_work(uv_work_t *w)
{
    struct reseal *x = w->data;
    char oad[256], nad[256];
    size_t oadl = oa_blob_ad(&x->old, oad, sizeof(oad)), nadl = oa_blob_ad(&x->neu, nad, sizeof(nad));
    struct copy_ctx c = {NULL, x->cause, sizeof(x->cause)};
    x->rc = -1;
    if (oa_blob_writer_open(x->new_path, (enum oa_blob_suite)x->neu.suite, x->new_dek, nad, nadl, &c.w, x->cause,
                            sizeof(x->cause)) != 0)
        return;
    if (oa_blob_read(x->old_path, x->old_dek, oad, oadl, 0, UINT64_MAX, x->old.info.digest, copy_sink, &c,
                     x->cause, sizeof(x->cause)) != 0 ||
        c.w == NULL) {
        oa_blob_writer_abort(c.w);
        return;
    }
    struct oa_blob_info info;
    if (oa_blob_writer_finish(c.w, &info, x->cause, sizeof(x->cause)) != 0)
        return;
    x->neu.info.stored = info.stored;
    x->neu.info.compressed = info.compressed;
    x->rc = 0;
}

static void reseal_free(struct reseal *x)
{
    sodium_memzero(x->old_dek, sizeof(x->old_dek));
    sodium_memzero(x->new_dek, sizeof(x->new_dek));
    free(x);
}

static void reseal_finish(struct reseal *x)
{
    struct oa_server *srv = x->srv;
    reseal_free(x);
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
            oa_log(OA_LOG_ERROR, "blob_reseal_failed", "blob=%lld cause=\"%s\"", (long long)x->old.id, x->cause);
        unlink(x->new_path);
        x->after = x->old.id; /* skip it; fsck names it */
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
        unlink(job->rc == 0 && x->found == 1 ? x->old_path : x->new_path);
        x->after = x->old.id;
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
    x->neu = x->old;
    x->neu.level = x->doc_level;
    x->neu.staged = false; /* a staged file is bound to its document now */
    oa_blob_file_new(x->neu.file);
    oa_dek_new(x->new_dek);
    if (oa_dek_unwrap(srv->keys, x->old.level, x->old.kek_version, x->old.dek, x->old_dek) != 0 ||
        oa_dek_wrap(srv->keys, x->neu.level, x->new_dek, x->neu.dek, &x->neu.kek_version) != 0 ||
        oa_blob_path(srv->cfg->data_dir, x->old.file, x->old_path, sizeof(x->old_path)) != 0 ||
        oa_blob_path(srv->cfg->data_dir, x->neu.file, x->new_path, sizeof(x->new_path)) != 0 ||
        oa_blob_dir_make(srv->cfg->data_dir, x->neu.file) != 0) {
        oa_log(OA_LOG_ERROR, "blob_reseal_failed", "blob=%lld cause=\"key or path\"", (long long)x->old.id);
        x->after = x->old.id;
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
    reseal_step(x);
}

/*
 * After a key rotation, every data key wrapped under an older KEK version is
 * rewrapped under the current one -- the blob files stay as they are -- and
 * an old version that nothing uses any more (no row, no upload in progress)
 * is retired from the key file.
 */
struct rewrap {
    struct oa_db_job job;
    struct oa_server *srv;
    const struct oa_keys *keys;
    struct oa_keys *retired;    /* a copy without the retired versions, or NULL */
    size_t done;
    bool more;
    bool busy[OA_KEY_LEVELS][OA_KEY_VERSIONS]; /* versions uploads in progress still use */
};

static int rewrap_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct rewrap *x = (struct rewrap *)job;
    const struct oa_keys *k = x->keys;
    size_t n = 0;
    int rc = 0;
    struct oa_blob_row *rows = oa_blob_stale_keys(s, k->kek_version, 256, &n, &rc);
    if (rc != 0)
        return OA_E_STORAGE;
    for (size_t i = 0; i < n; i++) {
        unsigned char dek[OA_DEK_LEN], wrapped[OA_DEK_WRAPPED];
        int version = 0;
        if (oa_dek_unwrap(k, rows[i].level, rows[i].kek_version, rows[i].dek, dek) != 0)
            continue; /* its key is missing: fsck names it */
        int wrc = oa_dek_wrap(k, rows[i].level, dek, wrapped, &version);
        sodium_memzero(dek, sizeof(dek));
        if (wrc != 0 || oa_blob_set_dek(s, rows[i].id, version, wrapped) != 0) {
            free(rows);
            return OA_E_STORAGE;
        }
        x->done++;
    }
    free(rows);
    x->more = n == 256;
    if (x->more)
        return 0;
    /* Authenticator secrets are wrapped under the top level's KEK too (app/totp.c): rewrapped before
     * their version may retire, or secadmin could never pass a step-up again (#17). */
    struct oa_totp_row trows[64];
    size_t tn = 0;
    if (oa_user_totp_stale(s, k->kek_version[OA_KEY_LEVELS - 1], trows, 64, &tn) != 0)
        return OA_E_STORAGE;
    size_t rewrapped = 0;
    for (size_t i = 0; i < tn; i++) {
        unsigned char secret[OA_TOTP_SECRET], wrapped[OA_TOTP_WRAPPED_MAX];
        size_t wlen = 0;
        if (oa_totp_unwrap(k, trows[i].secret, trows[i].len, secret) != 0)
            continue; /* its key is missing */
        int wrc = oa_totp_wrap(k, secret, wrapped, sizeof(wrapped), &wlen);
        sodium_memzero(secret, sizeof(secret));
        if (wrc != 0 || oa_user_totp_set(s, trows[i].user_id, wrapped, wlen) != 0)
            return OA_E_STORAGE;
        x->done++;
        rewrapped++;
    }
    sodium_memzero(trows, sizeof(trows));
    if (tn == 64 && rewrapped > 0) {
        x->more = true;
        return 0;
    }
    /* Retire what nothing uses. */
    char detail[256] = "";
    size_t o = 0;
    for (int l = 0; l < OA_KEY_LEVELS; l++)
        for (int v = 1; v < k->kek_version[l]; v++) {
            if (!k->kek_present[l][v] || x->busy[l][v])
                continue;
            int64_t used = oa_blob_count_kek(s, l, v);
            int64_t totp = l == OA_KEY_LEVELS - 1 ? oa_user_totp_count_version(s, v) : 0;
            if (used < 0 || totp < 0)
                return OA_E_STORAGE;
            used += totp;
            if (used > 0)
                continue;
            if (x->retired == NULL) {
                x->retired = sodium_malloc(sizeof(*x->retired));
                memcpy(x->retired, k, sizeof(*k));
            }
            oa_keys_retire(x->retired, l, v);
            o += (size_t)snprintf(detail + o, o < sizeof(detail) ? sizeof(detail) - o : 0, "%slevel %d version %d",
                                  o ? ", " : "", l, v);
        }
    char cause[256];
    if (x->retired && oa_keys_save(x->srv->cfg->key_file, x->retired, cause, sizeof(cause)) != 0) {
        oa_log(OA_LOG_ERROR, "keys_retire_failed", "cause=\"%s\"", cause);
        sodium_free(x->retired);
        x->retired = NULL;
    }
    if (x->done > 0 || x->retired) {
        char d2[400];
        snprintf(d2, sizeof(d2), "%zu data keys rewrapped%s%s", x->done, x->retired ? "; retired " : "",
                 x->retired ? detail : "");
        struct oa_audit_event ev = {.event = "keys.rewrap", .label = -1, .outcome = "ok", .detail = d2,
                                    .actor = "oad"};
        if (oa_audit(s, &ev) != 0)
            return OA_E_STORAGE;
    }
    return 0;
}

static void rewrap_on_done(struct oa_db_job *job)
{
    struct rewrap *x = (struct rewrap *)job;
    struct oa_server *srv = x->srv;
    if (job->rc == 0 && x->more && !srv->draining) {
        job->rc = 0;
        job->next = NULL;
        oa_jobs_write(srv->jobs, job);
        return;
    }
    if (x->retired) {
        if (job->rc == 0) {
            oa_log(OA_LOG_INFO, "keys_retired", "rewrapped=%zu", x->done);
            oa_server_keys_swap(srv, x->retired);
        } else {
            sodium_free(x->retired);
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
    x->keys = srv->keys;
    for (struct upload *u = srv->uploads; u; u = u->next)
        x->busy[u->b.level][u->b.kek_version] = true;
    x->job.run = rewrap_on_run;
    x->job.done = rewrap_on_done;
    oa_jobs_write(srv->jobs, &x->job);
}

/* ------------------------------------------------------------------------ */
/* life cycle                                                               */
/* ------------------------------------------------------------------------ */

/*
 * Old keys are freed only once no writer job can still be reading them
 * (login's TOTP check, step-up, rewrap read srv->keys on the writer thread;
 * everything else reads it on the loop): a job submitted after the swap runs
 * after every job submitted before it, so its completion is the moment.
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
    struct oa_keys *k = sodium_malloc(sizeof(*k));
    char cause[512];
    if (k == NULL || oa_keys_load(srv->cfg->key_file, k, cause, sizeof(cause)) != 0) {
        oa_log(OA_LOG_ERROR, "keys_reload_failed", "cause=\"%s\"", k ? cause : "out of memory");
        if (k)
            sodium_free(k);
        return;
    }
    if (oa_keys_use_token(k) && !oa_keytoken_is_open()) { /* #17 */
        oa_log(OA_LOG_ERROR, "keys_reload_failed",
               "cause=\"the key file names KEKs in a PKCS#11 token this oad has not opened: restart it with "
               "keys.pkcs11_module and keys.pkcs11_token\"");
        sodium_free(k);
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
