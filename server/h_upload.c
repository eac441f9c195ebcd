/*
 * server/h_upload.c: uploads into the blob store: the content type (libmagic),
 * sealing in the thread pool piece by piece, the commit of the finished
 * blob's row, and the uploads' life cycle (idle sweep, start, stop).
 * Part of the blob store's routes (h_blobs.c), joined by blobs-int.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <magic.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/attachments.h"
#include "app/audit.h"
#include "app/blob_stream.h"
#include "app/doc_read.h"
#include "proto/log.h"
#include "proto/value.h"
#include "server/blobs-int.h"
#include "server/handlers.h"
#include "server/server.h"
#include "workflow/access.h"

/* ------------------------------------------------------------------------ */
/* content type                                                             */
/* ------------------------------------------------------------------------ */

static pthread_mutex_t magic_lock = PTHREAD_MUTEX_INITIALIZER;
static magic_t magic_db;

/* The media type of these first bytes (libmagic; thread pool). */
static void sniff_type(const unsigned char *p, size_t n, char *out, size_t cap)
{
    snprintf(out, cap, "application/octet-stream");
    if (n == 0)
        return;
    pthread_mutex_lock(&magic_lock);
    if (magic_db == NULL) {
        magic_db = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
        if (magic_db != NULL && magic_load(magic_db, NULL) != 0) {
            magic_close(magic_db);
            magic_db = NULL;
        }
    }
    const char *t = magic_db ? magic_buffer(magic_db, p, n) : NULL;
    if (t != NULL && strchr(t, '/') != NULL && strlen(t) < cap)
        snprintf(out, cap, "%s", t);
    pthread_mutex_unlock(&magic_lock);
}

/* ------------------------------------------------------------------------ */
/* uploads                                                                  */
/* ------------------------------------------------------------------------ */


static void upload_pump(struct upload *u);

static void upload_unlink(struct upload *u)
{
    struct upload **pp = &u->srv->uploads;
    while (*pp && *pp != u)
        pp = &(*pp)->next;
    if (*pp)
        *pp = u->next;
}

/* Frees an upload the pool no longer holds; a blob not committed is removed. */
static void upload_free(struct upload *u)
{
    upload_unlink(u);
    oa_app_blob_out_free(u->out); /* a blob sealed but never committed is removed */
    EVP_MD_CTX_free(u->md);
    EVP_MD_CTX_free(u->md256);
    sodium_memzero(u->sniff, sizeof(u->sniff));
    if (u->fill)
        sodium_memzero(u->fill, u->fill_cap);
    if (u->work)
        sodium_memzero(u->work, u->fill_cap);
    free(u->fill);
    free(u->work);
    free(u);
}

/* Drops an upload: now, or when its work items return. */
void oa__upload_drop(struct upload *u)
{
    u->dead = true;
    if (!u->working && !u->sniffing)
        upload_free(u);
}

/* After a work item returned: moves the upload on, or frees a dropped one once nothing of it runs. */
static void upload_settle(struct upload *u)
{
    if (!u->dead)
        upload_pump(u);
    else if (!u->working && !u->sniffing)
        upload_free(u);
}

static void upload_on_sniff(uv_work_t *w)
{
    struct upload *u = w->data;
    sniff_type(u->sniff, u->sniff_len, u->sniffed, sizeof(u->sniffed));
}

static void upload_on_sniffed(uv_work_t *w, int status)
{
    struct upload *u = w->data;
    u->sniffing = false;
    if (status == 0)
        snprintf(u->b.content_type, sizeof(u->b.content_type), "%s", u->sniffed);
    upload_settle(u);
}

/*
 * Sniffs the content type once its bytes are in (all SNIFF of them, or the
 * whole body when final), beside the receiving and sealing rather than after
 * them: libmagic takes milliseconds on text.  The commit waits for it.
 */
static void upload_sniff(struct upload *u, bool final)
{
    if (u->b.content_type[0] || u->sniffing || (u->sniff_len < SNIFF && !final))
        return;
    snprintf(u->b.content_type, sizeof(u->b.content_type), "application/octet-stream");
    if (u->sniff_len == 0)
        return;
    u->sniffing = true;
    u->sq.data = u;
    if (uv_queue_work(u->srv->loop, &u->sq, upload_on_sniff, upload_on_sniffed) != 0)
        u->sniffing = false;
}

static void upload_on_work(uv_work_t *w)
{
    struct upload *u = w->data;
    if (oa_app_blob_out_write(u->out, u->work, u->work_len) != 0 ||
        (u->finishing && oa_app_blob_out_finish(u->out, &u->b.info) != 0))
        u->work_rc = -1;
}

static void upload_on_digest(uv_work_t *w)
{
    struct upload *u = w->data;
    unsigned int dl = 0;
    if (EVP_DigestUpdate(u->md, u->work, u->work_len) != 1 ||
        (u->finishing && EVP_DigestFinal_ex(u->md, u->md_out, &dl) != 1))
        u->digest_rc = -1;
    if (u->md256 != NULL && (EVP_DigestUpdate(u->md256, u->work, u->work_len) != 1 ||
                             (u->finishing && EVP_DigestFinal_ex(u->md256, u->sha256, &dl) != 1)))
        u->digest_rc = -1;
}

static void upload_on_work_done(uv_work_t *w, int status)
{
    struct upload *u = w->data;
    if (status != 0)
        u->work_rc = -1;
    if (--u->works > 0)
        return; /* the other half is still running */
    u->working = false;
    if (u->digest_rc != 0)
        u->work_rc = -1;
    if (u->finishing && u->work_rc == 0) {
        memcpy(u->b.info.digest, u->md_out, 32);
        if (u->md256 == NULL)
            memcpy(u->sha256, u->md_out, 32);
    }
    u->work_len = 0;
    if (u->work_rc != 0) {
        u->failed = true;
        u->fail_err = oa_app_blob_out_failed(u->out, u->b.doc_id);
    } else if (u->finishing) {
        u->finished = true;
    }
    upload_settle(u);
}

/* Hands the fill buffer to the pool. */
static void upload_submit(struct upload *u, bool finish)
{
    unsigned char *t = u->work;
    u->work = u->fill;
    u->work_len = u->fill_len;
    u->fill = t;
    u->fill_len = 0;
    u->finishing = finish;
    u->working = true;
    u->work_rc = u->digest_rc = 0;
    u->wq.data = u->dq.data = u;
    u->works = 2;
    if (uv_queue_work(u->srv->loop, &u->wq, upload_on_work, upload_on_work_done) != 0) {
        u->works = 0;
        u->working = false;
        u->failed = true;
        return;
    }
    if (uv_queue_work(u->srv->loop, &u->dq, upload_on_digest, upload_on_work_done) != 0) {
        u->works = 1; /* the sealing half finishes; the upload is void */
        u->work_rc = -1;
    }
}

/* ---- the answer and the commit ---- */

/*
 * Ends the feeding request's stage with its answer: the error e (with
 * message), or status and out.  The upload goes on without the request.
 */
static void upload_answer(struct upload *u, enum oa_err e, const char *message, int status, cbor_item_t *out)
{
    struct oa_req_job *j = &u->job->base;
    u->job = NULL;
    if (e != OA_E_OK) {
        oa_req_fail(j, e, message);
    } else {
        j->status = status;
        j->out = out;
    }
    oa_req_job_answer(j);
}

static int commit_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct upload_job *j = (struct upload_job *)job;
    struct upload *u = j->u;
    return oa_app_upload_commit(s, OA_REQ_ACTOR(j->base.r), &u->b, u->name, u->role, &j->base.err,
                                &j->base.message);
}

/* Committed: the answer is the attachment's new revision. */
static bool commit_step(struct oa_req_job *b)
{
    struct upload *u = ((struct upload_job *)b)->u;
    struct oa_attachment a = {.id = u->b.attachment_id, .doc_id = u->b.doc_id, .rev = u->b.rev, .blob = u->b};
    snprintf(a.name, sizeof(a.name), "%s", u->name);
    snprintf(a.role, sizeof(a.role), "%s", u->role);
    b->status = 201;
    b->out = oa_app_attachment_item(&a);
    return false;
}

/* After the commit, before the answer: a committed file stays; the upload goes either way. */
static void commit_finish(struct oa_req_job *b, bool ok)
{
    struct upload *u = ((struct upload_job *)b)->u;
    u->job = NULL;
    if (ok) {
        u->finished = false; /* committed: the file stays */
        oa_app_blob_out_keep(u->out);
    }
    oa__upload_drop(u);
}

/* Fault injection for the crash test: OAD_FAULT=blob-before-commit exits between the durable file and its row. */
static bool fault_before_commit;

/* The feeding request's next stage: the blob's row, in a writer run. */
static void upload_commit(struct upload *u)
{
    if (fault_before_commit)
        _exit(86);
    struct oa_req_job *j = &u->job->base;
    j->job.run = commit_on_run;
    j->step = commit_step;
    j->finish = commit_finish;
    oa_req_job_submit(j);
}

/* ---- the body, piece by piece ---- */

cbor_item_t *oa__upload_progress(const struct upload *u)
{
    cbor_item_t *m = pv_map(3);
    pv_put_text(m, "upload", u->token);
    pv_put_int(m, "offset", (int64_t)u->offset);
    pv_put_int(m, "length", (int64_t)u->length);
    return m;
}

/*
 * Decides the next step of an upload from its state; called after every
 * event (a piece arrived, the body ended, a work item returned).
 */
static void upload_pump(struct upload *u)
{
    if (u->working)
        return;
    if (u->failed) {
        if (u->job) {
            if (u->fail_err == OA_E_NO_SPACE)
                upload_answer(u, OA_E_NO_SPACE, NULL, 0, NULL);
            else
                upload_answer(u, OA_E_INTERNAL, "The file could not be stored; the upload is void: start it again.", 0,
                              NULL);
        }
        oa__upload_drop(u);
        return;
    }
    if (u->finished) {
        if (u->job && !u->sniffing && u->staged) {
            /* Sealed and durable; it waits, uncommitted, for the import that names it, without its buffers. */
            sodium_memzero(u->fill, u->fill_cap);
            sodium_memzero(u->work, u->fill_cap);
            free(u->fill);
            free(u->work);
            u->fill = u->work = NULL;
            char hex[65];
            sodium_bin2hex(hex, sizeof(hex), u->sha256, 32);
            cbor_item_t *m = pv_map(4);
            pv_put_text(m, "upload", u->token);
            pv_put_int(m, "offset", (int64_t)u->offset);
            pv_put_int(m, "length", (int64_t)u->length);
            pv_put_text(m, "sha256", hex);
            upload_answer(u, OA_E_OK, NULL, 200, m);
            u->idle_since = uv_now(u->srv->loop);
        } else if (u->job && !u->sniffing) {
            upload_commit(u);
        }
        return;
    }
    if (u->fill_len >= CHUNK) {
        upload_submit(u, false);
        if (u->job)
            oa_req_body_resume(u->job->base.r);
        return;
    }
    if (!u->body_ended || u->job == NULL)
        return;
    /* The request's body has ended and everything it brought is written or filling. */
    bool complete = u->length == UINT64_MAX ? true : u->offset == u->length;
    if (u->body_err == OA_E_OK && complete) {
        upload_sniff(u, true);
        upload_submit(u, true);
        return;
    }
    if (u->body_err != OA_E_OK) {
        upload_answer(u, u->body_err, NULL, 0, NULL);
        if (!u->token[0]) {
            oa__upload_drop(u); /* a one-shot upload that broke is void */
            return;
        }
    } else {
        upload_answer(u, OA_E_OK, NULL, 200, oa__upload_progress(u));
    }
    if (u->fill_len > 0)
        upload_submit(u, false); /* keep what arrived: a resumed upload continues after it */
}

static void upload_on_data(struct oa_req *r, const void *data, size_t len)
{
    struct upload *u = r->ctx;
    if (u->failed || u->body_err != OA_E_OK || u->job == NULL)
        return;
    uint64_t max = u->srv->cfg->blob_max_bytes;
    if ((u->length != UINT64_MAX && len > u->length - u->offset) || len > max - u->offset) {
        /* More than declared or allowed: the request is refused; what came before it stays. */
        u->body_err = OA_E_BODY_TOO_LARGE;
        upload_answer(u, OA_E_BODY_TOO_LARGE,
                      u->length != UINT64_MAX && u->length <= max ? "The body runs past the upload's declared length."
                                                                  : "The file is larger than this server accepts.",
                      0, NULL);
        if (!u->token[0])
            oa__upload_drop(u);
        return;
    }
    if (u->sniff_len < SNIFF) {
        size_t take = SNIFF - u->sniff_len < len ? SNIFF - u->sniff_len : len;
        memcpy(u->sniff + u->sniff_len, data, take);
        u->sniff_len += take;
        upload_sniff(u, false);
    }
    if (u->fill_len + len > u->fill_cap) {
        size_t cap = u->fill_len + len;
        u->fill = oa_xrealloc(u->fill, cap);
        u->work = oa_xrealloc(u->work, cap);
        u->fill_cap = cap;
    }
    memcpy(u->fill + u->fill_len, data, len);
    u->fill_len += len;
    u->offset += len;
    u->idle_since = uv_now(u->srv->loop);
    if (u->fill_len >= CHUNK) {
        if (u->working)
            oa_req_body_pause(r); /* both buffers full: let TCP hold the rest */
        else
            upload_pump(u);
    }
}

static void upload_on_end(struct oa_req *r, enum oa_err e)
{
    struct upload *u = r->ctx;
    if (u->job == NULL || u->job->base.r != r)
        return; /* already answered */
    u->body_ended = true;
    u->body_err = e;
    upload_pump(u);
}

void oa__upload_feed(struct upload *u, struct upload_job *j)
{
    struct oa_req *r = j->base.r;
    j->u = u;
    u->job = j;
    u->body_ended = false;
    u->body_err = OA_E_OK;
    r->ctx = u;
    oa_req_body_read(r, upload_on_data, upload_on_end);
}

/* Creates the upload's writer, after the check job said yes.  NULL when the file cannot be created. */
struct upload *oa__upload_new(struct oa_server *srv, int64_t owner, int64_t doc_id, int64_t att_id, int rev,
                              int level, const char *name, const char *role, uint64_t length, bool resumable,
                              enum oa_err *err)
{
    if (!oa_app_blob_space()) {
        *err = OA_E_NO_SPACE;
        return NULL;
    }
    struct upload *u = oa_xcalloc(1, sizeof(*u));
    u->srv = srv;
    u->owner = owner;
    u->length = length;
    u->b.doc_id = doc_id;
    u->b.attachment_id = att_id;
    u->b.rev = rev;
    u->b.level = level;
    u->b.suite = srv->cfg->blob_suite;
    u->b.created_by = owner;
    snprintf(u->name, sizeof(u->name), "%s", name);
    snprintf(u->role, sizeof(u->role), "%s", role);
    if (resumable) {
        unsigned char raw[16];
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2hex(u->token, sizeof(u->token), raw, sizeof(raw));
    }
    u->fill_cap = CHUNK + OA_BLOB_SEGMENT;
    u->fill = oa_xmalloc(u->fill_cap);
    u->work = oa_xmalloc(u->fill_cap);
    u->idle_since = uv_now(srv->loop);
    if ((u->out = oa_app_blob_out_open(srv->keys, srv->cfg->data_dir, &u->b, err)) == NULL) {
        upload_free(u);
        return NULL;
    }
    if ((u->md = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestInit_ex(u->md, u->b.suite == OA_BLOB_SM4_SM3 ? EVP_sm3() : EVP_sha256(), NULL) != 1) {
        oa_log(OA_LOG_ERROR, "blob_create_failed", "doc=%lld", (long long)doc_id);
        *err = OA_E_INTERNAL;
        upload_free(u);
        return NULL;
    }
    u->next = srv->uploads;
    srv->uploads = u;
    return u;
}

struct upload *oa__upload_new_staged(struct oa_server *srv, int64_t owner, const char *name, uint64_t length,
                                     enum oa_err *err)
{
    struct upload *u = oa__upload_new(srv, owner, 0, 0, 0, OA_LEVEL_PUBLIC, name, "attachment", length, true, err);
    if (u == NULL)
        return NULL;
    /* Sealed before it has a document: oa_blob_ad binds doc 0, rev 0 until the re-seal. */
    u->staged = true;
    u->b.staged = true;
    if (u->b.suite == OA_BLOB_SM4_SM3 &&
        ((u->md256 = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(u->md256, EVP_sha256(), NULL) != 1)) {
        *err = OA_E_INTERNAL;
        oa__upload_drop(u);
        return NULL;
    }
    return u;
}

struct upload *oa__upload_staged_find(struct oa_server *srv, const char *token, int64_t owner)
{
    for (struct upload *u = srv->uploads; u; u = u->next)
        if (u->staged && u->finished && !u->claimed && !u->dead && u->job == NULL && u->owner == owner &&
            strlen(token) == 32 && sodium_memcmp(u->token, token, 32) == 0)
            return u;
    return NULL;
}

void oa__upload_committed(struct upload *u)
{
    u->finished = false; /* committed: the file stays */
    oa_app_blob_out_keep(u->out);
    u->claimed = false;
    oa__upload_drop(u);
}

/* ---- the uploads' life cycle ---- */

static void uploads_on_sweep(uv_timer_t *t)
{
    struct oa_server *srv = t->data;
    uint64_t now = uv_now(srv->loop), idle = (uint64_t)srv->cfg->upload_idle_s * 1000;
    struct upload *u = srv->uploads, *next;
    for (; u; u = next) {
        next = u->next;
        if (u->token[0] && u->job == NULL && !u->dead && !u->claimed && now - u->idle_since > idle) {
            oa_log(OA_LOG_INFO, "upload_expired", "doc=%lld offset=%llu", (long long)u->b.doc_id,
                   (unsigned long long)u->offset);
            oa__upload_drop(u);
        }
    }
}

/* Loads libmagic's database before the first upload needs it. */
static void magic_on_warm(uv_work_t *w)
{
    char t[128];
    sniff_type((const unsigned char *)"warm", 4, t, sizeof(t));
    (void)w;
}

static void magic_on_warmed(uv_work_t *w, int status)
{
    free(w);
    (void)status;
}

/* The uploads' part of oa_blobs_start: libmagic warmed in the pool, the fault switch, the idle sweep. */
void oa__uploads_start(struct oa_server *srv)
{
    uv_work_t *warm = oa_xcalloc(1, sizeof(*warm));
    if (uv_queue_work(srv->loop, warm, magic_on_warm, magic_on_warmed) != 0)
        free(warm);
    const char *fault = getenv("OAD_FAULT");
    fault_before_commit = fault && strcmp(fault, "blob-before-commit") == 0;
    uv_timer_init(srv->loop, &srv->upload_timer);
    srv->upload_timer.data = srv;
    uv_timer_start(&srv->upload_timer, uploads_on_sweep, 60000, 60000);
    uv_unref((uv_handle_t *)&srv->upload_timer);
}

static void upload_timer_on_close(uv_handle_t *h)
{
}

/* The uploads' part of oa_blobs_stop: the sweep stops, idle uploads go, libmagic closes. */
void oa__uploads_stop(struct oa_server *srv)
{
    uv_close((uv_handle_t *)&srv->upload_timer, upload_timer_on_close);
    struct upload *u = srv->uploads, *next;
    for (; u; u = next) {
        next = u->next;
        if (u->job == NULL && !u->dead && !u->claimed)
            oa__upload_drop(u);
    }
    pthread_mutex_lock(&magic_lock);
    if (magic_db)
        magic_close(magic_db);
    magic_db = NULL;
    pthread_mutex_unlock(&magic_lock);
}
