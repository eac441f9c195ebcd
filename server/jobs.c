/*
 * server/jobs.c: the one request-job type and its completion; where a
 * handler's database job runs (a read on the reader threads, anything else
 * on the writer) is app/jobs.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "server/handlers.h"
#include "server/server.h"

void oa_db_submit(struct oa_server *srv, struct oa_db_job *job)
{
    oa_jobs_submit(srv->jobs, job);
}

void *oa_req_job_new(struct oa_req *r, size_t size, oa_db_run_fn run, unsigned flags)
{
    struct oa_req_job *j = oa_xcalloc(1, size < sizeof(*j) ? sizeof(*j) : size);
    /*
     * A GET only reads (a safe method, RFC 9110 9.2.1): its jobs run on a
     * reader, and what they record (audit entries) goes to the writer with
     * them.  The session check's bookkeeping is the writer's, and so are the
     * jobs that asked for it (OA_REQ_ON_WRITER).
     */
    if (flags & OA_REQ_ON_WRITER)
        flags &= ~OA_REQ_ON_WRITER;
    else if (!(flags & OA_JOB_BOOKKEEPING) && strcmp(r->method, "GET") == 0)
        flags |= OA_JOB_READ;
    j->r = r;
    j->job.run = run;
    j->job.flags = flags;
    return j;
}

void oa_req_job_submit(struct oa_req_job *j)
{
    j->job.done = oa_req_job_done;
    j->job.then = NULL;
    j->job.flags &= ~OA_JOB_CONTINUED;
    oa_db_submit(j->r->srv, &j->job);
}

int oa_req_fail(struct oa_req_job *j, enum oa_err e, const char *message)
{
    j->err = e;
    j->message = message;
    return 0;
}

void oa_req_job_done(struct oa_db_job *job)
{
    struct oa_req_job *j = (struct oa_req_job *)job;
    if (job->rc == 0 && j->err == OA_E_OK && j->step != NULL && j->step(j))
        return; /* the next stage has it */
    oa_req_job_answer(j);
}

void oa_req_job_answer(struct oa_req_job *j)
{
    struct oa_req *r = j->r;
    int rc = j->job.rc;
    bool ok = rc == 0 && j->err == OA_E_OK;
    /* Before the answer: whoever reads it may look for what follows the commit (a disposal's files gone). */
    if (j->finish != NULL) {
        j->finish(j, ok);
        rc = j->job.rc; /* a refusal answers its own error even when its audit entry failed */
        ok = rc == 0 && j->err == OA_E_OK;
    }
    if (!ok) {
        if (j->out)
            cbor_decref(&j->out);
        /* The run's refusal with its sentence (rolled back or not); a failed commit with its own error alone. */
        bool own = rc == 0 || rc == (int)j->err;
        oa_reply_error(r, rc != 0 ? (enum oa_err)rc : j->err, own ? j->message : NULL);
    } else {
        if (j->etag[0] != '\0')
            snprintf(r->etag, sizeof(r->etag), "%s", j->etag);
        if (j->bytes != NULL)
            oa_reply_raw(r, j->status, j->content_type ? j->content_type : "application/cbor", j->bytes, j->nbytes);
        else
            oa_reply(r, j->status, j->out);
    }
    free(j->bytes);
    free(j);
}
