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
#include "server/handlers.h"
#include "proto/log.h"
#include "server/server.h"
#include "storage/accounts.h"
#include "storage/blobs.h"
#include "storage/documents.h"
#include "workflow/access.h"

#define CHUNK (1024 * 1024)  /* bytes handed to the pool at a time, each way */
#define SNIFF 16384          /* bytes the content type is sniffed from */

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

struct upload {
    struct oa_server *srv;
    struct upload *next;          /* srv->uploads: every upload in progress */
    char token[33];               /* a resumable upload's id; "" for a one-shot upload */
    int64_t owner;
    struct oa_blob_row b;         /* what the finished blob's row will say */
    char name[OA_ATTACHMENT_NAME_MAX + 1];
    char role[16];
    unsigned char dek[OA_DEK_LEN];
    char path[4096];
    uint64_t length;              /* declared total, UINT64_MAX when unknown (one-shot, chunked) */
    uint64_t offset;              /* bytes taken */
    uint64_t idle_since;          /* uv_now when it was last fed */
    struct oa_blob_writer *w;
    unsigned char sniff[SNIFF];
    size_t sniff_len;
    uv_work_t sq;                 /* sniffing the content type, as soon as its bytes are in */
    char sniffed[128];            /* what it found (the pool's) */
    bool sniffing;                /* that work item is in the pool */

    unsigned char *fill, *work;   /* the buffer filling on the loop; the one in the pool */
    size_t fill_len, work_len, fill_cap;
    uv_work_t wq, dq;             /* sealing and digesting the same buffer, in parallel */
    int works;                    /* of those two, still in the pool */
    EVP_MD_CTX *md;               /* the plaintext digest, computed beside the sealing */
    unsigned char md_out[32];
    bool working;                 /* work items are in the pool */
    bool finishing;               /* the work item seals the blob */
    bool finished;                /* sealed and durable: commit next */
    bool failed;                  /* the writer failed: the upload is over */
    bool dead;                    /* abandoned: free once the pool is done with it */
    int work_rc, digest_rc;
    char cause[256];

    struct oa_req *r;             /* the request feeding it now, or NULL */
    bool body_ended;
    enum oa_err body_err;
};

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
    if (u->w)
        oa_blob_writer_abort(u->w);
    if (u->finished)
        unlink(u->path); /* sealed but never committed */
    EVP_MD_CTX_free(u->md);
    sodium_memzero(u->dek, sizeof(u->dek));
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
static void upload_drop(struct upload *u)
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
    if (u->work_len > 0 && oa_blob_write(u->w, u->work, u->work_len, u->cause, sizeof(u->cause)) != 0) {
        u->w = NULL; /* freed by the failed write */
        u->work_rc = -1;
        return;
    }
    if (u->finishing) {
        struct oa_blob_writer *wr = u->w;
        u->w = NULL;
        if (oa_blob_writer_finish(wr, &u->b.info, u->cause, sizeof(u->cause)) != 0) {
            u->work_rc = -1;
            return;
        }
    }
}

static void upload_on_digest(uv_work_t *w)
{
    struct upload *u = w->data;
    unsigned int dl = 0;
    if (EVP_DigestUpdate(u->md, u->work, u->work_len) != 1 ||
        (u->finishing && EVP_DigestFinal_ex(u->md, u->md_out, &dl) != 1))
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
    if (u->finishing && u->work_rc == 0)
        memcpy(u->b.info.digest, u->md_out, 32);
    u->work_len = 0;
    if (u->work_rc != 0) {
        oa_log(OA_LOG_ERROR, "blob_write_failed", "doc=%lld cause=\"%s\"", (long long)u->b.doc_id, u->cause);
        u->failed = true;
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

/* ---- the commit ---- */

struct commit_job {
    struct oa_db_job job;
    struct upload *u;
    struct oa_req *r;
    enum oa_err err;
    const char *message;
};

static cbor_item_t *attachment_item(const struct oa_attachment *a)
{
    char hex[65];
    sodium_bin2hex(hex, sizeof(hex), a->blob.info.digest, 32);
    cbor_item_t *m = pv_map(10);
    pv_put_int(m, "id", a->id);
    pv_put_int(m, "document", a->doc_id);
    pv_put_text(m, "name", a->name);
    pv_put_text(m, "role", a->role);
    pv_put_int(m, "rev", a->rev);
    pv_put_int(m, "size", (int64_t)a->blob.info.size);
    pv_put_text(m, "content_type", a->blob.content_type);
    pv_put_text(m, "sha256", hex);
    pv_put_int(m, "created_at", a->blob.created_at);
    pv_put_int(m, "created_by", a->blob.created_by);
    return m;
}

static int commit_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct commit_job *j = (struct commit_job *)job;
    struct upload *u = j->u;
    struct oa_user me;
    struct oa_doc d;
    const char *what = u->b.attachment_id ? "attachment.replace" : "attachment.add";
    int rc = oa_doc_open_for(s, OA_REQ_ACTOR(j->r), u->b.doc_id, true, what, &me, &d, &j->err, &j->message);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0)
        return 0;
    int next = oa_attachment_next_rev(s, u->b.doc_id, u->b.attachment_id);
    if (next < 0) {
        oa_doc_free(&d);
        return OA_E_STORAGE;
    }
    if (next != u->b.rev) {
        oa_doc_free(&d);
        j->err = OA_E_CONFLICT;
        j->message = "The attachment got another revision while you uploaded: fetch it and upload again.";
        return 0;
    }
    struct oa_audit_event ev = {0};
    oa_audit_actor(j->r, &ev);
    ev.event = what;
    ev.doc_id = d.id;
    ev.label = d.level;
    ev.outcome = "ok";
    oa_doc_free(&d);
    if (oa_attachment_put(s, &u->b, u->name, u->role) != 0)
        return OA_E_STORAGE;
    /* The trail names the attachment by id: its name is content and follows
     * the document's label, which the auditor does not hold. */
    char detail[160];
    snprintf(detail, sizeof(detail), "attachment %lld rev %d, %llu bytes", (long long)u->b.attachment_id, u->b.rev,
             (unsigned long long)u->b.info.size);
    ev.detail = detail;
    if (oa_audit(s, &ev) != 0)
        return OA_E_STORAGE;
    return 0;
}

static void commit_on_done(struct oa_db_job *job)
{
    struct commit_job *j = (struct commit_job *)job;
    struct upload *u = j->u;
    struct oa_req *r = j->r;
    u->r = NULL;
    if (job->rc == 0 && j->err == OA_E_OK) {
        u->finished = false; /* committed: the file stays */
        struct oa_attachment a = {.id = u->b.attachment_id, .doc_id = u->b.doc_id, .rev = u->b.rev, .blob = u->b};
        snprintf(a.name, sizeof(a.name), "%s", u->name);
        snprintf(a.role, sizeof(a.role), "%s", u->role);
        oa_reply(r, 201, attachment_item(&a));
    } else {
        oa_reply_error(r, j->err != OA_E_OK ? j->err : (enum oa_err)job->rc, j->message);
    }
    free(j);
    upload_drop(u);
}

/* Fault injection for the crash test: OAD_FAULT=blob-before-commit exits between the durable file and its row. */
static bool fault_before_commit;

static void upload_commit(struct upload *u)
{
    if (fault_before_commit)
        _exit(86);
    struct commit_job *j = oa_xcalloc(1, sizeof(*j));
    j->u = u;
    j->r = u->r;
    j->job.run = commit_on_run;
    j->job.done = commit_on_done;
    oa_writer_submit(u->srv->writer, &j->job);
}

/* ---- the body, piece by piece ---- */

static void upload_answer_progress(struct upload *u, struct oa_req *r)
{
    cbor_item_t *m = pv_map(3);
    pv_put_text(m, "upload", u->token);
    pv_put_int(m, "offset", (int64_t)u->offset);
    pv_put_int(m, "length", (int64_t)u->length);
    oa_reply(r, 200, m);
}

/*
 * Decides the next step of an upload from its state; called after every
 * event (a piece arrived, the body ended, a work item returned).
 */
static void upload_pump(struct upload *u)
{
    struct oa_req *r = u->r;
    if (u->working)
        return;
    if (u->failed) {
        if (r) {
            u->r = NULL;
            oa_reply_error(r, OA_E_INTERNAL, "The file could not be stored; the upload is void: start it again.");
        }
        upload_drop(u);
        return;
    }
    if (u->finished) {
        if (r && !u->sniffing)
            upload_commit(u);
        return;
    }
    if (u->fill_len >= CHUNK) {
        upload_submit(u, false);
        if (r)
            oa_req_body_resume(r);
        return;
    }
    if (!u->body_ended || r == NULL)
        return;
    /* The request's body has ended and everything it brought is written or filling. */
    bool complete = u->length == UINT64_MAX ? true : u->offset == u->length;
    if (u->body_err == OA_E_OK && complete) {
        upload_sniff(u, true);
        upload_submit(u, true);
        return;
    }
    u->r = NULL;
    if (u->body_err != OA_E_OK) {
        oa_reply_error(r, u->body_err, NULL);
        if (!u->token[0]) {
            upload_drop(u); /* a one-shot upload that broke is void */
            return;
        }
    } else {
        upload_answer_progress(u, r);
    }
    if (u->fill_len > 0)
        upload_submit(u, false); /* keep what arrived: a resumed upload continues after it */
}

static void upload_on_data(struct oa_req *r, const void *data, size_t len)
{
    struct upload *u = r->ctx;
    if (u->failed || u->body_err != OA_E_OK)
        return;
    uint64_t max = u->srv->cfg->blob_max_bytes;
    if ((u->length != UINT64_MAX && len > u->length - u->offset) || len > max - u->offset) {
        /* More than declared or allowed: the request is refused; what came before it stays. */
        u->body_err = OA_E_BODY_TOO_LARGE;
        u->r = NULL;
        oa_reply_error(r, OA_E_BODY_TOO_LARGE,
                       u->length != UINT64_MAX && u->length <= max ? "The body runs past the upload's declared length."
                                                                   : "The file is larger than this server accepts.");
        if (!u->token[0])
            upload_drop(u);
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
    if (u->r != r)
        return; /* already answered */
    u->body_ended = true;
    u->body_err = e;
    upload_pump(u);
}

/* Starts feeding upload u from request r's body. */
static void upload_feed(struct upload *u, struct oa_req *r)
{
    u->r = r;
    u->body_ended = false;
    u->body_err = OA_E_OK;
    r->ctx = u;
    oa_req_body_read(r, upload_on_data, upload_on_end);
}

/* Creates the upload's writer, after the check job said yes.  NULL when the file cannot be created. */
static struct upload *upload_new(struct oa_server *srv, int64_t owner, int64_t doc_id, int64_t att_id, int rev,
                                 int level, const char *name, const char *role, uint64_t length, bool resumable)
{
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
    oa_blob_file_new(u->b.file);
    if (resumable)
        oa_blob_file_new(u->token);
    u->fill_cap = CHUNK + OA_BLOB_SEGMENT;
    u->fill = oa_xmalloc(u->fill_cap);
    u->work = oa_xmalloc(u->fill_cap);
    u->idle_since = uv_now(srv->loop);
    oa_dek_new(u->dek);
    char ad[256];
    size_t adlen = oa_blob_ad(&u->b, ad, sizeof(ad));
    char cause[256];
    if (oa_dek_wrap(srv->keys, level, u->dek, u->b.dek, &u->b.kek_version) != 0 ||
        oa_blob_path(srv->cfg->data_dir, u->b.file, u->path, sizeof(u->path)) != 0 ||
        oa_blob_dir_make(srv->cfg->data_dir, u->b.file) != 0 ||
        oa_blob_writer_open(u->path, (enum oa_blob_suite)u->b.suite, u->dek, ad, adlen, &u->w, cause,
                            sizeof(cause)) != 0 ||
        (u->md = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestInit_ex(u->md, u->b.suite == OA_BLOB_SM4_SM3 ? EVP_sm3() : EVP_sha256(), NULL) != 1) {
        oa_log(OA_LOG_ERROR, "blob_create_failed", "doc=%lld", (long long)doc_id);
        upload_free(u);
        return NULL;
    }
    oa_blob_writer_external_digest(u->w);
    u->next = srv->uploads;
    srv->uploads = u;
    return u;
}

/* ---- the check before an upload ---- */

struct check_job {
    struct oa_db_job job;
    struct oa_req *r;
    int64_t doc_id, att_id;
    const char *name, *role;
    uint64_t length;
    bool resumable;
    /* results */
    int level, rev;
    char name_found[OA_ATTACHMENT_NAME_MAX + 1];
    char role_found[16];
    enum oa_err err;
    const char *message;
};

static int check_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct check_job *j = (struct check_job *)job;
    struct oa_user me;
    struct oa_doc d;
    const char *what = j->att_id ? "attachment.replace" : "attachment.add";
    int rc = oa_doc_open_for(s, OA_REQ_ACTOR(j->r), j->doc_id, true, what, &me, &d, &j->err, &j->message);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    j->level = d.level;
    oa_doc_free(&d);
    if (j->att_id) {
        struct oa_attachment a;
        rc = oa_attachment_get(s, j->doc_id, j->att_id, 0, &a);
        if (rc < 0)
            return OA_E_STORAGE;
        if (rc == 0) {
            j->err = OA_E_NOT_FOUND;
            j->message = "No such attachment.";
            return 0;
        }
        char etag[48];
        snprintf(etag, sizeof(etag), "\"a%lld-%d\"", (long long)a.id, a.rev);
        if (j->r->if_match && oa_req_if_match(j->r, etag) != OA_E_OK) {
            j->err = OA_E_PRECONDITION_FAILED;
            return 0;
        }
        j->rev = a.rev + 1;
        snprintf(j->name_found, sizeof(j->name_found), "%s", j->name ? j->name : a.name);
        snprintf(j->role_found, sizeof(j->role_found), "%s", a.role);
    } else {
        j->rev = 1;
        snprintf(j->name_found, sizeof(j->name_found), "%s", j->name);
        snprintf(j->role_found, sizeof(j->role_found), "%s", j->role ? j->role : "attachment");
    }
    return 0;
}

static void check_on_done(struct oa_db_job *job)
{
    struct check_job *j = (struct check_job *)job;
    struct oa_req *r = j->r;
    struct oa_server *srv = r->srv;
    if (job->rc != 0 || j->err != OA_E_OK) {
        oa_reply_error(r, j->err != OA_E_OK ? j->err : (enum oa_err)job->rc, j->message);
        free(j);
        return;
    }
    struct upload *u = upload_new(srv, r->who.user_id, j->doc_id, j->att_id, j->rev, j->level, j->name_found,
                                  j->role_found, j->length, j->resumable);
    bool resumable = j->resumable;
    free(j);
    if (u == NULL) {
        oa_reply_error(r, OA_E_INTERNAL, "The server cannot store files now.");
        return;
    }
    if (resumable) {
        char loc[96];
        snprintf(loc, sizeof(loc), "/v1/uploads/%s", u->token);
        cbor_item_t *m = pv_map(4);
        pv_put_text(m, "upload", u->token);
        pv_put_text(m, "location", loc);
        pv_put_int(m, "offset", 0);
        pv_put_int(m, "length", (int64_t)u->length);
        oa_reply(r, 201, m);
        return;
    }
    upload_feed(u, r);
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
    struct check_job *j = oa_xcalloc(1, sizeof(*j));
    j->r = r;
    j->doc_id = doc;
    j->att_id = att;
    j->name = name;
    j->role = role;
    j->length = length;
    j->resumable = resumable;
    j->job.run = check_on_run;
    j->job.done = check_on_done;
    oa_writer_submit(r->srv->writer, &j->job);
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
    struct pv_field f[] = {
        {"document", PV_INT, PV_REQUIRED, 1, INT64_MAX, &doc, NULL},
        {"name", PV_TEXT, 0, 1, OA_ATTACHMENT_NAME_MAX, &name, NULL},
        {"length", PV_INT, PV_REQUIRED, 0, INT64_MAX, &length, NULL},
        {"attachment", PV_INT, 0, 1, INT64_MAX, &att, NULL},
        {"role", PV_TEXT, 0, 1, 15, &role, NULL},
    };
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0])))
        return;
    if (length < 0 || (uint64_t)length > r->srv->cfg->blob_max_bytes) {
        oa_reply_error(r, OA_E_BODY_TOO_LARGE, "The file is larger than this server accepts.");
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
        upload_answer_progress(u, r);
}

void h_upload_delete(struct oa_req *r)
{
    struct upload *u = upload_find(r);
    if (u == NULL)
        return;
    if (u->r) {
        oa_reply_error(r, OA_E_CONFLICT, "The upload is receiving data on another connection.");
        return;
    }
    upload_drop(u);
    oa_reply(r, 204, NULL);
}

void h_upload_patch(struct oa_req *r)
{
    struct upload *u = upload_find(r);
    if (u == NULL)
        return;
    if (u->r || u->finished || u->finishing) {
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
    upload_feed(u, r);
}

/* ------------------------------------------------------------------------ */
/* listing and downloading                                                  */
/* ------------------------------------------------------------------------ */

struct read_job {
    struct oa_db_job job;
    struct oa_req *r;
    int64_t doc_id, att_id;
    int rev;
    bool list;
    struct oa_attachment a;
    int fd;            /* the blob's file, opened with its row */
    cbor_item_t *out;
    enum oa_err err;
    const char *message;
};

static int read_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct read_job *j = (struct read_job *)job;
    struct oa_user me;
    struct oa_doc d;
    const char *what = j->list ? "attachment.list" : "attachment.read";
    int rc = oa_doc_open_for(s, OA_REQ_ACTOR(j->r), j->doc_id, false, what, &me, &d, &j->err, &j->message);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    if (j->list) {
        size_t n = 0;
        struct oa_attachment *all = oa_attachment_list(s, j->doc_id, &n, &rc);
        oa_doc_free(&d);
        if (rc != 0)
            return OA_E_STORAGE;
        cbor_item_t *arr = cbor_new_definite_array(n);
        for (size_t i = 0; i < n; i++)
            (void)cbor_array_push(arr, cbor_move(attachment_item(&all[i])));
        free(all);
        j->out = pv_map(1);
        pv_put(j->out, "attachments", arr);
        return 0;
    }
    rc = oa_attachment_get(s, j->doc_id, j->att_id, j->rev, &j->a);
    if (rc <= 0) {
        oa_doc_free(&d);
        if (rc < 0)
            return OA_E_STORAGE;
        j->err = OA_E_NOT_FOUND;
        j->message = "No such attachment or revision.";
        return 0;
    }
    if (d.level > OA_LEVEL_PUBLIC) {
        char detail[96];
        snprintf(detail, sizeof(detail), "attachment %lld rev %d", (long long)j->a.id, j->a.rev);
        struct oa_audit_event ev = {0};
        oa_audit_actor(j->r, &ev);
        ev.event = "attachment.read";
        ev.doc_id = d.id;
        ev.label = d.level;
        ev.outcome = "ok";
        ev.detail = detail;
        if (oa_audit(s, &ev) != 0) {
            oa_doc_free(&d);
            return OA_E_STORAGE;
        }
    }
    oa_doc_free(&d);
    if (j->a.blob.shredded) {
        j->err = OA_E_GONE;
        return 0;
    }
    /*
     * Opened here, in the transaction that read the row: a re-seal swaps the
     * row in a later one and only then removes this file, so the download
     * holds it by then.  Failing, the download names the cause.
     */
    char path[4096];
    if (oa_blob_path(j->r->srv->cfg->data_dir, j->a.blob.file, path, sizeof(path)) == 0)
        j->fd = open(path, O_RDONLY | O_CLOEXEC);
    return 0;
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
    unsigned char dek[OA_DEK_LEN];
    char path[4096];
    int fd;            /* the file, opened with the row; the reader takes it */
    uint64_t from, len;
    int status;

    /* the pool's side, under mu: pieces are cut off the reader in order */
    pthread_mutex_t mu;
    struct oa_blob_reader *rd;
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
    if (d->rd == NULL && !d->all_taken) {
        char ad[256];
        size_t adlen = oa_blob_ad(&d->a.blob, ad, sizeof(ad));
        int rc = d->fd >= 0 ? oa_blob_reader_open_fd(d->fd, d->path, d->dek, ad, adlen, d->from, d->len, NULL,
                                                     &d->rd, it->cause, sizeof(it->cause))
                            : oa_blob_reader_open(d->path, d->dek, ad, adlen, d->from, d->len, NULL, &d->rd,
                                                  it->cause, sizeof(it->cause));
        d->fd = -1;
        if (rc != 0) {
            it->rc = -1;
            d->all_taken = true;
        }
    }
    it->k = d->taken;
    unsigned s = it->k % PIECES;
    if (!d->all_taken) {
        if (d->slot[s].p == NULL)
            d->slot[s].p = oa_blob_piece_new();
        it->rc = oa_blob_reader_take(d->rd, d->slot[s].p, it->cause, sizeof(it->cause));
        if (it->rc > 0)
            d->taken++;
        d->all_taken = it->rc <= 0 || oa_blob_piece_last(d->slot[s].p);
    }
    pthread_mutex_unlock(&d->mu);
    if (it->rc <= 0)
        return;
    if (d->slot[s].out == NULL)
        d->slot[s].out = oa_xmalloc(OA_BLOB_FRAME);
    d->slot[s].last = oa_blob_piece_last(d->slot[s].p);
    if (oa_blob_piece_decode(d->rd, d->slot[s].p, d->slot[s].out, OA_BLOB_FRAME, &d->slot[s].data, &d->slot[s].len,
                             it->cause, sizeof(it->cause)) != 0)
        it->rc = -1;
}

static void download_free(struct download *d)
{
    if (d->fd >= 0)
        close(d->fd);
    oa_blob_reader_close(d->rd);
    sodium_memzero(d->dek, sizeof(d->dek));
    for (int i = 0; i < PIECES; i++) {
        oa_blob_piece_free(d->slot[i].p);
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

/* Parses a single "bytes=a-b" range against size; 1 ranged, 0 ignore (whole), -1 unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *from, uint64_t *len)
{
    if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    const char *p = h + 6;
    char *end = NULL;
    if (*p == '-') {
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (end == p + 1 || *end != '\0')
            return 0;
        if (n == 0 || size == 0)
            return -1;
        if (n > size)
            n = size;
        *from = size - n;
        *len = n;
        return 1;
    }
    unsigned long long a = strtoull(p, &end, 10);
    if (end == p || *end != '-')
        return 0;
    p = end + 1;
    unsigned long long b = size ? size - 1 : 0;
    if (*p != '\0') {
        b = strtoull(p, &end, 10);
        if (end == p || *end != '\0' || b < a)
            return 0;
    }
    if (a >= size)
        return -1;
    if (b >= size)
        b = size - 1;
    *from = a;
    *len = b - a + 1;
    return 1;
}

static void read_on_done(struct oa_db_job *job)
{
    struct read_job *j = (struct read_job *)job;
    struct oa_req *r = j->r;
    if (job->rc != 0 || j->err != OA_E_OK) {
        if (j->fd >= 0)
            close(j->fd);
        if (j->out)
            cbor_decref(&j->out);
        oa_reply_error(r, j->err != OA_E_OK ? j->err : (enum oa_err)job->rc, j->message);
        free(j);
        return;
    }
    if (j->list) {
        oa_reply(r, 200, j->out);
        free(j);
        return;
    }
    struct download *d = oa_xcalloc(1, sizeof(*d));
    pthread_mutex_init(&d->mu, NULL);
    d->srv = r->srv;
    d->r = r;
    d->a = j->a;
    d->fd = j->fd;
    free(j);
    uint64_t size = d->a.blob.info.size;
    d->status = 200;
    d->from = 0;
    d->len = size;
    int pr = parse_range(r->range, size, &d->from, &d->len);
    if (pr < 0) {
        download_free(d);
        oa_reply_error(r, OA_E_RANGE_NOT_SATISFIABLE, NULL);
        return;
    }
    if (pr > 0)
        d->status = 206;
    if (oa_dek_unwrap(r->srv->keys, d->a.blob.level, d->a.blob.kek_version, d->a.blob.dek, d->dek) != 0 ||
        oa_blob_path(r->srv->cfg->data_dir, d->a.blob.file, d->path, sizeof(d->path)) != 0) {
        oa_log(OA_LOG_ERROR, "blob_key_missing", "id=%s doc=%lld level=%d version=%d", r->id,
               (long long)d->a.doc_id, d->a.blob.level, d->a.blob.kek_version);
        download_free(d);
        oa_reply_error(r, OA_E_BLOB_DAMAGED, "The file's key is not in the key file; nothing was sent.");
        return;
    }
    download_pump(d);
}

static void submit_read(struct oa_req *r, bool list)
{
    struct read_job *j = oa_xcalloc(1, sizeof(*j));
    j->r = r;
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
    j->job.run = read_on_run;
    j->job.done = read_on_done;
    oa_writer_submit(r->srv->writer, &j->job);
}

void h_attachments_list(struct oa_req *r)
{
    submit_read(r, true);
}

void h_attachment_get(struct oa_req *r)
{
    submit_read(r, false);
}

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
    oa_writer_submit(x->srv->writer, &x->job);
}

void oa_blobs_reseal_kick(struct oa_server *srv)
{
    if (srv->draining || srv->writer == NULL)
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
    /* Retire what nothing uses. */
    char detail[256] = "";
    size_t o = 0;
    for (int l = 0; l < OA_KEY_LEVELS; l++)
        for (int v = 1; v < k->kek_version[l]; v++) {
            if (!k->kek_present[l][v] || x->busy[l][v])
                continue;
            int64_t used = oa_blob_count_kek(s, l, v);
            if (used < 0)
                return OA_E_STORAGE;
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
        oa_writer_submit(srv->writer, job);
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
    if (srv->draining || srv->writer == NULL || srv->rewrap_running)
        return;
    srv->rewrap_running = true;
    struct rewrap *x = oa_xcalloc(1, sizeof(*x));
    x->srv = srv;
    x->keys = srv->keys;
    for (struct upload *u = srv->uploads; u; u = u->next)
        x->busy[u->b.level][u->b.kek_version] = true;
    x->job.run = rewrap_on_run;
    x->job.done = rewrap_on_done;
    oa_writer_submit(srv->writer, &x->job);
}

/* ------------------------------------------------------------------------ */
/* life cycle                                                               */
/* ------------------------------------------------------------------------ */

static void uploads_on_sweep(uv_timer_t *t)
{
    struct oa_server *srv = t->data;
    uint64_t now = uv_now(srv->loop), idle = (uint64_t)srv->cfg->upload_idle_s * 1000;
    struct upload *u = srv->uploads, *next;
    for (; u; u = next) {
        next = u->next;
        if (u->token[0] && u->r == NULL && !u->dead && now - u->idle_since > idle) {
            oa_log(OA_LOG_INFO, "upload_expired", "doc=%lld offset=%llu", (long long)u->b.doc_id,
                   (unsigned long long)u->offset);
            upload_drop(u);
        }
    }
}

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
    if (srv->writer == NULL) {
        sodium_free(old);
        return;
    }
    struct keys_release *x = oa_xcalloc(1, sizeof(*x));
    x->old = old;
    x->job.run = keys_release_on_run;
    x->job.done = keys_release_on_done;
    oa_writer_submit(srv->writer, &x->job);
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
    oa_server_keys_swap(srv, k);
    oa_log(OA_LOG_INFO, "keys_reloaded", "file=%s", srv->cfg->key_file);
    oa_blobs_rewrap_kick(srv);
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

void oa_blobs_start(struct oa_server *srv)
{
    uv_work_t *warm = oa_xcalloc(1, sizeof(*warm));
    if (uv_queue_work(srv->loop, warm, magic_on_warm, magic_on_warmed) != 0)
        free(warm);
    const char *fault = getenv("OAD_FAULT");
    fault_before_commit = fault && strcmp(fault, "blob-before-commit") == 0;
    uv_signal_init(srv->loop, &srv->sig_hup);
    srv->sig_hup.data = srv;
    uv_signal_start(&srv->sig_hup, keys_on_hup, SIGHUP);
    uv_unref((uv_handle_t *)&srv->sig_hup);
    uv_timer_init(srv->loop, &srv->upload_timer);
    srv->upload_timer.data = srv;
    uv_timer_start(&srv->upload_timer, uploads_on_sweep, 60000, 60000);
    uv_unref((uv_handle_t *)&srv->upload_timer);
    oa_blobs_reseal_kick(srv);
    oa_blobs_rewrap_kick(srv);
}

static void timer_on_close(uv_handle_t *h)
{
}

void oa_blobs_stop(struct oa_server *srv)
{
    uv_close((uv_handle_t *)&srv->upload_timer, timer_on_close);
    uv_close((uv_handle_t *)&srv->sig_hup, timer_on_close);
    struct upload *u = srv->uploads, *next;
    for (; u; u = next) {
        next = u->next;
        if (u->r == NULL && !u->dead)
            upload_drop(u);
    }
    pthread_mutex_lock(&magic_lock);
    if (magic_db)
        magic_close(magic_db);
    magic_db = NULL;
    pthread_mutex_unlock(&magic_lock);
}
