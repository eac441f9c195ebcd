/*
 * server/h_attachments.c: the attachment and upload routes: the check before an
 * upload, resumable uploads over HTTP, listing and downloading (Range).
 * Part of the blob store's routes (h_blobs.c), joined by blobs-int.h.
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

#include "app/attachments.h"
#include "app/doc_read.h"
#include "proto/log.h"
#include "proto/value.h"
#include "server/blobs-int.h"
#include "server/handlers.h"
#include "server/server.h"
#include "workflow/access.h"

/* ---- the check before an upload ---- */

/*
 * The check before an upload: a request job that, for a one-shot upload,
 * goes on as the upload's (struct upload_job first): its body sealed on the
 * pool, the commit, the answer (h_upload.c).
 */
struct check_job {
    struct upload_job up;
    int64_t doc_id, att_id;
    const char *name, *role;
    uint64_t length;
    bool resumable;
    struct oa_app_upload_target t; /* the check's result */
};

static int check_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct check_job *j = (struct check_job *)job;
    struct oa_req_job *b = &j->up.base;
    return oa_app_upload_check(s, OA_REQ_ACTOR(b->r), j->doc_id, j->att_id, j->name, j->role, b->r->if_match, &j->t,
                               &b->err, &b->message);
}

/* A resumable upload was started: 201 with where to send its bytes. */
static cbor_item_t *started(const struct upload *u)
{
    char loc[96];
    snprintf(loc, sizeof(loc), "/v1/uploads/%s", u->token);
    cbor_item_t *m = pv_map(4);
    pv_put_text(m, "upload", u->token);
    pv_put_text(m, "location", loc);
    pv_put_int(m, "offset", 0);
    pv_put_int(m, "length", (int64_t)u->length);
    return m;
}

/* The check passed: a resumable upload's start is the answer; a one-shot upload's body is the next stage. */
static bool check_step(struct oa_req_job *b)
{
    struct check_job *j = (struct check_job *)b;
    struct oa_req *r = b->r;
    enum oa_err err = OA_E_OK;
    struct upload *u = oa__upload_new(r->srv, r->who.user_id, j->doc_id, j->att_id, j->t.rev, j->t.level, j->t.name,
                                      j->t.role, j->length, j->resumable, &err);
    if (u == NULL) {
        oa_req_fail(b, err, err == OA_E_NO_SPACE ? NULL : "The server cannot store files now.");
        return false;
    }
    if (j->resumable) {
        b->status = 201;
        b->out = started(u);
        return false;
    }
    oa__upload_feed(u, &j->up);
    return true;
}

/*
 * A file name: 1 to OA_ATTACHMENT_NAME_MAX bytes of UTF-8 (len of them: a
 * NUL inside is refused, never cut at), not "." or "..", with no slash or
 * backslash, no control character (C0, DEL, C1) and none of the characters
 * that reorder or break text (U+061C, U+200E-U+200F, U+2028-U+202E,
 * U+2066-U+2069: "invoice\u202Efdp.exe" would show as "invoiceexe.pdf").
 */
static bool name_ok(const char *n, size_t len)
{
    if (n == NULL || len == 0 || len > OA_ATTACHMENT_NAME_MAX || strlen(n) != len ||
        !pv_utf8_ok((const unsigned char *)n, len) || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
        return false;
    const unsigned char *p = (const unsigned char *)n, *end = p + len;
    while (p < end) {
        /* well-formed, as pv_utf8_ok said */
        size_t k = *p < 0x80 ? 1 : *p < 0xE0 ? 2 : *p < 0xF0 ? 3 : 4;
        uint32_t cp = k == 1 ? *p : *p & (0x7Fu >> k);
        for (size_t i = 1; i < k; i++)
            cp = cp << 6 | (p[i] & 0x3Fu);
        p += k;
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == '/' || cp == '\\' || cp == 0x061C ||
            cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
            return false;
    }
    return true;
}

bool oa__blob_name_ok(const char *n, size_t len)
{
    return name_ok(n, len);
}

static bool role_ok(const char *role)
{
    return role == NULL || strcmp(role, "attachment") == 0 || strcmp(role, "body") == 0;
}

/* An id, or 0 when s is not one. */
static int64_t id_param(const char *s)
{
    int64_t v = 0;
    return oa_parse_id(s, &v) ? v : 0;
}

static void submit_check(struct oa_req *r, int64_t doc, int64_t att, const char *name, const char *role,
                         uint64_t length, bool resumable)
{
    struct check_job *j = oa_req_job_new(r, sizeof(*j), check_on_run, 0);
    j->doc_id = doc;
    j->att_id = att;
    j->name = name;
    j->role = role;
    j->length = length;
    j->resumable = resumable;
    j->up.base.step = check_step;
    oa_req_job_submit(&j->up.base);
}

/* Refuses a body that is too large for one request before any of it is read. */
static bool request_size_ok(struct oa_req *r)
{
    const struct oa_config *cfg = r->srv->cfg;
    uint64_t cap = cfg->blob_max_request_bytes < cfg->blob_max_bytes ? cfg->blob_max_request_bytes
                                                                     : cfg->blob_max_bytes;
    if (r->content_length != UINT64_MAX && r->content_length > cap) {
        oa_reply_error(r, OA_E_BODY_TOO_LARGE, "The file is larger than this server accepts in one request.");
        return false;
    }
    return true;
}

void h_attachment_create(struct oa_req *r)
{
    int64_t doc = id_param(r->params[0]);
    size_t name_len = 0;
    const char *name = oa_query_param_n(r, "name", &name_len);
    const char *role = oa_query_param(r, "role");
    if (doc == 0) {
        oa_reply_error(r, OA_E_NOT_FOUND, "No such document.");
        return;
    }
    if (!name_ok(name, name_len) || !role_ok(role)) {
        oa_reply_error(r, OA_E_BAD_FIELD, "Give the file's name as ?name= (UTF-8, at most 255 bytes, no slashes, "
                                          "control or direction characters) and role as attachment or body.");
        return;
    }
    if (!request_size_ok(r))
        return;
    submit_check(r, doc, 0, name, role, UINT64_MAX, false);
}

void h_attachment_replace(struct oa_req *r)
{
    int64_t doc = id_param(r->params[0]), att = id_param(r->params[1]);
    size_t name_len = 0;
    const char *name = oa_query_param_n(r, "name", &name_len);
    if (doc == 0 || att == 0) {
        oa_reply_error(r, OA_E_NOT_FOUND, "No such attachment.");
        return;
    }
    if (name && !name_ok(name, name_len)) {
        oa_reply_error(r, OA_E_BAD_FIELD, "The name must be UTF-8, at most 255 bytes, with no slashes, control "
                                          "or direction characters.");
        return;
    }
    if (!request_size_ok(r))
        return;
    submit_check(r, doc, att, name, NULL, UINT64_MAX, false);
}

void h_upload_create(struct oa_req *r)
{
    int64_t doc = 0, att = 0, length = -1;
    const char *name = NULL, *role = NULL;
    /* The gateway's uploads name no document (they wait for an import); it may name none. */
    bool gateway = (r->who.roles & OA_ROLE_GATEWAY) != 0;
    struct pv_field f[] = {
        {"document", PV_INT, gateway ? PV_REFUSED : PV_REQUIRED, 1, INT64_MAX, &doc, NULL},
        {"name", PV_TEXT, gateway ? PV_REQUIRED : 0, 1, OA_ATTACHMENT_NAME_MAX, &name, NULL},
        {"length", PV_INT, PV_REQUIRED, 0, INT64_MAX, &length, NULL},
        {"attachment", PV_INT, gateway ? PV_REFUSED : 0, 1, INT64_MAX, &att, NULL},
        {"role", PV_TEXT, gateway ? PV_REFUSED : 0, 1, 15, &role, NULL},
    };
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0])))
        return;
    if (length < 0 || (uint64_t)length > r->srv->cfg->blob_max_bytes) {
        oa_reply_error(r, OA_E_BODY_TOO_LARGE, "The file is larger than this server accepts.");
        return;
    }
    if (gateway) {
        if (!name_ok(name, strlen(name))) {
            oa_reply_error(r, OA_E_BAD_FIELD, "The name must be UTF-8, at most 255 bytes, with no slashes, control "
                                              "or direction characters.");
            return;
        }
        enum oa_err err = OA_E_OK;
        struct upload *u = oa__upload_new_staged(r->srv, r->who.user_id, name, (uint64_t)length, &err);
        if (u == NULL) {
            oa_reply_error(r, err, NULL);
            return;
        }
        oa_reply(r, 201, started(u));
        return;
    }
    if (doc <= 0 || att < 0 || (att == 0 && name == NULL) || (name && !name_ok(name, strlen(name))) ||
        !role_ok(role)) {
        oa_reply_error(r, OA_E_BAD_FIELD, "Give document, length, and a name (UTF-8, at most 255 bytes, no slashes, "
                                          "control or direction characters) or the attachment to replace.");
        return;
    }
    submit_check(r, doc, att, name, role, (uint64_t)length, true);
}

static struct upload *upload_find(struct oa_req *r)
{
    const char *t = r->params[0];
    for (struct upload *u = r->srv->uploads; u; u = u->next)
        if (u->token[0] && !u->dead && strlen(t) == 32 && sodium_memcmp(u->token, t, 32) == 0 &&
            u->owner == r->who.user_id)
            return u;
    oa_reply_error(r, OA_E_NOT_FOUND, "No such upload: it finished, expired or was never started; start again.");
    return NULL;
}

void h_upload_get(struct oa_req *r)
{
    struct upload *u = upload_find(r);
    if (u)
        oa_reply(r, 200, oa__upload_progress(u));
}

void h_upload_delete(struct oa_req *r)
{
    struct upload *u = upload_find(r);
    if (u == NULL)
        return;
    if (u->job) {
        oa_reply_error(r, OA_E_CONFLICT, "The upload is receiving data on another connection.");
        return;
    }
    oa__upload_drop(u);
    oa_reply(r, 204, NULL);
}

void h_upload_patch(struct oa_req *r)
{
    struct upload *u = upload_find(r);
    if (u == NULL)
        return;
    if (u->job || u->finished || u->finishing) {
        oa_reply_error(r, OA_E_CONFLICT, "The upload is receiving data on another connection.");
        return;
    }
    uint64_t off = 0;
    if (!oa_parse_u64(r->upload_offset, &off)) {
        oa_reply_error(r, OA_E_BAD_REQUEST, "Send Upload-Offset: the offset the server holds (GET the upload).");
        return;
    }
    if (off != u->offset) {
        cbor_item_t *m = pv_map(3);
        pv_put_text(m, "code", oa_err_code(OA_E_OFFSET_MISMATCH));
        pv_put_text(m, "message", oa_err_message(OA_E_OFFSET_MISMATCH));
        pv_put_int(m, "offset", (int64_t)u->offset);
        oa_reply(r, 409, m);
        return;
    }
    if (!request_size_ok(r))
        return;
    /* The body, sealed on the pool, then (once complete) the commit: one request job, run when it commits. */
    oa__upload_feed(u, oa_req_job_new(r, sizeof(struct upload_job), NULL, 0));
}

/* ------------------------------------------------------------------------ */
/* listing and downloading                                                  */
/* ------------------------------------------------------------------------ */

/*
 * A list, or the opening of one attachment to download: one request job
 * (the list is its answer; a download's stream is its next stage).
 */
struct read_job {
    struct oa_req_job base;
    int64_t doc_id, att_id;
    int rev;
    bool list;
    struct oa_attachment a;
    int fd;            /* the blob's file, opened with its row */
};

static int read_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct read_job *j = (struct read_job *)job;
    struct oa_req_job *b = &j->base;
    const struct oa_app_actor *by = OA_REQ_ACTOR(b->r);
    if (j->list)
        return oa_app_attachments_list(s, by, j->doc_id, &b->out, &b->err, &b->message);
    return oa_app_attachment_open(s, by, b->r->srv->cfg->data_dir, j->doc_id, j->att_id, j->rev, &j->a, &j->fd,
                                  &b->err, &b->message);
}

#define PIECES 4   /* a download's buffers: decoded ahead while the socket takes the oldest */
#define DECODERS 2 /* work items decoding one download's pieces at once */

struct download_item {
    uv_work_t wq;
    struct download *d;
    bool busy;
    unsigned k;  /* the piece it took */
    int rc;      /* 1 took and decoded piece k, 0 the range was done, -1 damage */
    char cause[300];
};

struct download {
    struct oa_server *srv;
    struct oa_req *r;
    struct oa_attachment a;
    int fd;            /* the file, opened with the row, until the blob's reader takes it */
    uint64_t from, len;
    int status;

    /* the pool's side, under mu: pieces are cut off the reader in order */
    pthread_mutex_t mu;
    struct oa_app_blob_in *in; /* app/blob_stream.h */
    unsigned taken;
    bool all_taken;

    /* piece k lives in slot k % PIECES from its decoding until its write is done */
    struct {
        struct oa_blob_piece *p;
        unsigned char *out;
        const unsigned char *data;
        size_t len;
        bool ready, last;
    } slot[PIECES];
    struct download_item item[DECODERS];
    unsigned running;     /* work items in the pool */
    unsigned asked;       /* work items queued so far */
    unsigned sent, done;  /* pieces handed to the socket; pieces written */
    unsigned total;       /* once ended: how many pieces the range has */
    bool ended;           /* the last piece is known */
    bool started;         /* the status line and headers went out */
    bool writing;         /* piece sent - 1 is being written */
    bool failed;          /* damage: the response is cut (or refused if nothing went out) */
    bool dead;            /* the response is over: free when nothing runs */
};

/*
 * Takes the next piece off the reader (in order, under the lock) and decodes
 * it (in parallel with the other item).  Each segment's tag is checked before
 * its bytes are decoded, so no byte that was not sealed for this blob goes
 * out; the whole-file digest is left to fsck (checking it here could only cut
 * the connection after the bytes went).
 */
static void download_on_work(uv_work_t *w)
{
    struct download_item *it = w->data;
    struct download *d = it->d;
    it->rc = 0;
    pthread_mutex_lock(&d->mu);
    it->k = d->taken;
    unsigned s = it->k % PIECES;
    if (!d->all_taken) {
        it->rc = oa_app_blob_in_take(d->in, &d->slot[s].p, it->cause, sizeof(it->cause));
        if (it->rc > 0)
            d->taken++;
        d->all_taken = it->rc <= 0 || oa_app_blob_piece_last(d->slot[s].p);
    }
    pthread_mutex_unlock(&d->mu);
    if (it->rc <= 0)
        return;
    if (d->slot[s].out == NULL)
        d->slot[s].out = oa_xmalloc(OA_BLOB_FRAME);
    d->slot[s].last = oa_app_blob_piece_last(d->slot[s].p);
    if (oa_app_blob_in_decode(d->in, d->slot[s].p, d->slot[s].out, &d->slot[s].data, &d->slot[s].len, it->cause,
                              sizeof(it->cause)) != 0)
        it->rc = -1;
}

static void download_free(struct download *d)
{
    if (d->fd >= 0)
        close(d->fd);
    oa_app_blob_in_free(d->in);
    for (int i = 0; i < PIECES; i++) {
        oa_app_blob_piece_free(d->slot[i].p);
        if (d->slot[i].out)
            sodium_memzero(d->slot[i].out, OA_BLOB_FRAME);
        free(d->slot[i].out);
    }
    pthread_mutex_destroy(&d->mu);
    free(d);
}

static void download_on_work_done(uv_work_t *w, int status);
static void download_on_written(struct oa_req *r, int status);

static bool download_headers(struct download *d)
{
    struct oa_req *r = d->r;
    /* The name percent-encoded (RFC 8187): at most 3 characters a byte. */
    char disp[3 * OA_ATTACHMENT_NAME_MAX + 1], headers[sizeof(disp) + 256];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)d->a.name; *p && o + 3 < sizeof(disp); p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p))
            disp[o++] = (char)*p;
        else
            o += (size_t)snprintf(disp + o, sizeof(disp) - o, "%%%02X", *p);
    }
    disp[o] = '\0';
    int n = snprintf(headers, sizeof(headers), "Accept-Ranges: bytes\r\n"
                                               "Content-Disposition: attachment; filename*=UTF-8''%s\r\n"
                                               "X-Content-Type-Options: nosniff\r\n",
                     disp);
    int m = 0;
    if (n >= 0 && (size_t)n < sizeof(headers) && d->status == 206)
        m = snprintf(headers + n, sizeof(headers) - (size_t)n, "Content-Range: bytes %llu-%llu/%llu\r\n",
                     (unsigned long long)d->from, (unsigned long long)(d->from + d->len - 1),
                     (unsigned long long)d->a.blob.info.size);
    if (n < 0 || (size_t)n >= sizeof(headers) || m < 0 || (size_t)m >= sizeof(headers) - (size_t)n) {
        oa_log(OA_LOG_ERROR, "bug", "where=download_headers"); /* sized to fit */
        abort();
    }
    snprintf(r->etag, sizeof(r->etag), "\"a%lld-%d\"", (long long)d->a.id, d->a.rev);
    d->started = true;
    return oa_reply_start(r, d->status, d->a.blob.content_type, d->len, headers) == 0;
}

/*
 * Moves a download on after every event: hands the oldest decoded piece to
 * the socket when it is free, and keeps the pool decoding while a slot is
 * free.  Frees the download once it is over and nothing runs.
 */
static void download_pump(struct download *d)
{
    struct oa_req *r = d->r;
    if (d->failed && !d->dead) {
        if (d->writing)
            return; /* the connection is cut once the piece in flight is written */
        d->dead = true;
        if (d->started)
            oa_reply_abort(r);
        else
            oa_reply_error(r, OA_E_BLOB_DAMAGED, NULL);
    }
    if (d->dead) {
        if (d->running == 0 && !d->writing)
            download_free(d);
        return;
    }
    unsigned s = d->sent % PIECES;
    bool have = d->slot[s].ready || (d->ended && d->sent == d->total);
    if (!d->writing && have) {
        if (!d->started && !download_headers(d)) {
            d->dead = true; /* the connection is gone */
            download_pump(d);
            return;
        }
        bool empty_end = !d->slot[s].ready; /* the range ended after the last piece was sent (or had none) */
        bool last = empty_end || (d->ended && d->sent + 1 == d->total);
        d->writing = true;
        d->r->ctx = d;
        int rc = oa_reply_piece(r, empty_end ? NULL : (void *)d->slot[s].data, empty_end ? 0 : d->slot[s].len, last,
                                download_on_written);
        if (!empty_end)
            d->sent++;
        if (rc != 0) {
            /* The connection is gone (-1), or the empty last piece completed the response (1). */
            d->writing = false;
            d->dead = true;
            download_pump(d);
            return;
        }
    }
    while (!d->ended && d->running < DECODERS && d->asked - d->done < PIECES) {
        struct download_item *it = !d->item[0].busy ? &d->item[0] : &d->item[1];
        it->busy = true;
        it->d = d;
        it->wq.data = it;
        d->running++;
        d->asked++;
        if (uv_queue_work(d->srv->loop, &it->wq, download_on_work, download_on_work_done) != 0) {
            it->rc = -1;
            snprintf(it->cause, sizeof(it->cause), "the thread pool refused the work");
            download_on_work_done(&it->wq, 0);
            return;
        }
    }
}

static void download_on_work_done(uv_work_t *w, int status)
{
    struct download_item *it = w->data;
    struct download *d = it->d;
    it->busy = false;
    d->running--;
    if (status != 0 || it->rc < 0) {
        if (!d->failed)
            oa_log(OA_LOG_ERROR, "blob_damaged", "id=%s doc=%lld attachment=%lld rev=%d cause=\"%s\"", d->r->id,
                   (long long)d->a.doc_id, (long long)d->a.id, d->a.rev, status != 0 ? "cancelled" : it->cause);
        d->failed = true;
    } else if (it->rc > 0) {
        unsigned s = it->k % PIECES;
        d->slot[s].ready = true;
        if (d->slot[s].last) {
            d->ended = true;
            d->total = it->k + 1;
        }
    } else if (!d->ended) {
        d->ended = true; /* the range was done before this item: no piece k */
        d->total = it->k;
    }
    download_pump(d);
}

static void download_on_written(struct oa_req *r, int status)
{
    struct download *d = r->ctx;
    d->writing = false;
    if (d->sent > d->done) {
        d->slot[d->done % PIECES].ready = false;
        d->done++;
    }
    if (status < 0) {
        d->dead = true; /* the connection failed: the response is over */
    } else if (d->failed) {
        d->dead = true;
        oa_reply_abort(r); /* a later piece turned out damaged: cut the connection */
    } else if (d->ended && d->done == d->total) {
        d->dead = true; /* that was the last piece */
    }
    download_pump(d);
}

/* The list is the answer; an attachment opened goes out as a stream, which has the answer from then on. */
static bool read_step(struct oa_req_job *b)
{
    struct read_job *j = (struct read_job *)b;
    if (j->list) {
        b->status = 200;
        return false;
    }
    return oa__download_step(b, &j->a, &j->fd);
}

bool oa__download_step(struct oa_req_job *job, const struct oa_attachment *a, int *fd)
{
    int taken = *fd;
    *fd = -1; /* the download has it (or closed it) */
    enum oa_err e = oa__download_start(job->r, a, taken, &job->message);
    if (e != OA_E_OK) {
        oa_req_fail(job, e, job->message);
        return false;
    }
    free(job); /* the stream answers: the job ends here, with nothing left to finish */
    return true;
}

static void read_finish(struct oa_req_job *b, bool ok)
{
    struct read_job *j = (struct read_job *)b;
    (void)ok;
    if (j->fd >= 0)
        close(j->fd);
}

enum oa_err oa__download_start(struct oa_req *r, const struct oa_attachment *a, int fd, const char **message)
{
    struct download *d = oa_xcalloc(1, sizeof(*d));
    pthread_mutex_init(&d->mu, NULL);
    d->srv = r->srv;
    d->r = r;
    d->a = *a;
    d->fd = fd;
    uint64_t size = d->a.blob.info.size;
    d->status = 200;
    d->from = 0;
    d->len = size;
    int pr = oa_parse_range(r->range, size, &d->from, &d->len);
    if (pr < 0) {
        download_free(d);
        *message = NULL;
        return OA_E_RANGE_NOT_SATISFIABLE;
    }
    if (pr > 0)
        d->status = 206;
    d->in = oa_app_blob_in_new(r->srv->keys, r->srv->cfg->data_dir, &d->a.blob, d->fd, d->from, d->len);
    d->fd = -1; /* the blob's reader has it (or closed it) */
    if (d->in == NULL) {
        oa_log(OA_LOG_ERROR, "blob_key_missing", "id=%s doc=%lld level=%d version=%d", r->id,
               (long long)d->a.doc_id, d->a.blob.level, d->a.blob.kek_version);
        download_free(d);
        *message = "The file's key is not in the key file; nothing was sent.";
        return OA_E_BLOB_DAMAGED;
    }
    download_pump(d);
    return OA_E_OK;
}

static void submit_read(struct oa_req *r, bool list)
{
    /* A download's key is unwrapped with the key ring as its commit order left it (OA_REQ_ON_WRITER). */
    struct read_job *j = oa_req_job_new(r, sizeof(*j), read_on_run, list ? 0 : OA_REQ_ON_WRITER);
    j->fd = -1;
    j->list = list;
    j->doc_id = id_param(r->params[0]);
    j->att_id = list ? 0 : id_param(r->params[1]);
    const char *rev = oa_query_param(r, "rev");
    int64_t rv = 0;
    j->rev = rev && oa_parse_int(rev, 1, INT32_MAX, &rv) ? (int)rv : 0;
    if (j->doc_id == 0 || (!list && j->att_id == 0) || (rev && j->rev == 0)) {
        free(j);
        oa_reply_error(r, OA_E_NOT_FOUND, "No such attachment.");
        return;
    }
    j->base.step = read_step;
    j->base.finish = read_finish;
    oa_req_job_submit(&j->base);
}

void h_attachments_list(struct oa_req *r)
{
    submit_read(r, true);
}

void h_attachment_get(struct oa_req *r)
{
    submit_read(r, false);
}
