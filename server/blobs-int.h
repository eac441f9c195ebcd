/*
 * server/blobs-int.h: internal to the blob store's routes (h_blobs.c,
 * h_upload.c, h_attachments.c) and the gateway's import and outbox
 * (h_gateway.c): an upload in progress and the functions they share.
 * Nobody else includes it.
 */
#ifndef OA_SERVER_BLOBS_INT_H
#define OA_SERVER_BLOBS_INT_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "app/blob_stream.h"
#include "model/blob.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "server/http.h"

#define CHUNK (1024 * 1024)  /* bytes handed to the pool at a time, each way */
#define SNIFF 16384          /* bytes the content type is sniffed from */

struct upload;

/*
 * The request job of a request that feeds an upload (h_upload.c): its body
 * sealed on the pool, then the blob's commit, then the answer; each stage
 * ends in oa_req_job_submit (the commit) or oa_req_job_answer.  The check
 * before a one-shot upload (h_attachments.c) embeds it first and goes on as
 * it; a PATCH makes one that has not run yet (run NULL until the commit).
 */
struct upload_job {
    struct oa_req_job base;
    struct upload *u;             /* set by oa__upload_feed */
};

struct upload {
    struct oa_server *srv;
    struct upload *next;          /* srv->uploads: every upload in progress */
    char token[33];               /* a resumable upload's id; "" for a one-shot upload */
    int64_t owner;
    struct oa_blob_row b;         /* what the finished blob's row will say */
    char name[OA_ATTACHMENT_NAME_MAX + 1];
    char role[16];
    uint64_t length;              /* declared total, UINT64_MAX when unknown (one-shot, chunked) */
    uint64_t offset;              /* bytes taken */
    uint64_t idle_since;          /* uv_now when it was last fed */
    struct oa_app_blob_out *out;  /* the blob being sealed (app/blob_stream.h) */
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
    enum oa_err fail_err;         /* what the client is told: OA_E_NO_SPACE, or OA_E_INTERNAL */
    bool dead;                    /* abandoned: free once the pool is done with it */
    int work_rc, digest_rc;

    bool staged;                  /* the gateway's: no document yet; once finished it waits for an import */
    bool claimed;                 /* an import job holds it */
    EVP_MD_CTX *md256;            /* staged under sm4-sm3: the SHA-256 the bundle's manifest names */
    unsigned char sha256[32];     /* staged and finished: the bytes' SHA-256 */

    struct upload_job *job;       /* the request feeding it now (until its answer), or NULL */
    bool body_ended;
    enum oa_err body_err;
};

/* h_upload.c */
void oa__upload_drop(struct upload *u);
/* {upload, offset, length}: what the server holds of it; the caller owns the item. */
cbor_item_t *oa__upload_progress(const struct upload *u);
/* Starts feeding u from j's request body; j (its request's job) answers once the upload is committed or stops. */
void oa__upload_feed(struct upload *u, struct upload_job *j);
struct upload *oa__upload_new(struct oa_server *srv, int64_t owner, int64_t doc_id, int64_t att_id, int rev,
                              int level, const char *name, const char *role, uint64_t length, bool resumable,
                              enum oa_err *err);
/* A staged (gateway) upload: no document; sealed as doc 0 until an import takes it. */
struct upload *oa__upload_new_staged(struct oa_server *srv, int64_t owner, const char *name, uint64_t length,
                                     enum oa_err *err);
/* The finished staged upload named by token, owned by owner and not claimed; NULL when none. */
struct upload *oa__upload_staged_find(struct oa_server *srv, const char *token, int64_t owner);
/* After an import committed it: the file stays (its row names it); the upload goes. */
void oa__upload_committed(struct upload *u);
/* A file name as attachments take it (h_attachments.c). */
bool oa__blob_name_ok(const char *n, size_t len);
/*
 * Streams attachment a (its file opened as fd, or -1; closed either way) as
 * the response: Range, decryption (h_attachments.c).  OA_E_OK when the
 * stream has the response; else the error to answer with and *message (or
 * NULL), with nothing sent (an unsatisfiable range, the file's key missing).
 */
enum oa_err oa__download_start(struct oa_req *r, const struct oa_attachment *a, int fd, const char **message);
/*
 * A request job's step that hands attachment a and its file *fd (taken:
 * *fd becomes -1) to the stream: true when the stream has the answer and job
 * (of struct `job` embedding it first) is freed; false with the job failed
 * with the error to answer.
 */
bool oa__download_step(struct oa_req_job *job, const struct oa_attachment *a, int *fd);
void oa__uploads_start(struct oa_server *srv);
void oa__uploads_stop(struct oa_server *srv);

#endif
