/*
 * server/jobs.c: where a handler's database job runs -- a read on the
 * reader threads (storage/reader.h), anything else on the writer
 * (storage/writer.h).
 */
#include <stdlib.h>

#include "proto/alloc.h"
#include "server/handlers.h"
#include "server/server.h"

void oa_db_submit(struct oa_server *srv, struct oa_db_job *job)
{
    if ((job->flags & OA_JOB_READ) && srv->readers != NULL)
        oa_readers_submit(srv->readers, job);
    else
        oa_writer_submit(srv->writer, job);
}

void *oa_req_job_new(struct oa_req *r, size_t size, oa_db_run_fn run, unsigned flags)
{
    struct oa_req_job *j = oa_xcalloc(1, size < sizeof(*j) ? sizeof(*j) : size);
    j->r = r;
    j->job.run = run;
    j->job.flags = flags;
    return j;
}

void oa_req_job_submit(struct oa_req_job *j)
{
    j->job.done = oa_req_job_done;
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
    struct oa_req *r = j->r;
    if (job->rc != 0 || j->err != OA_E_OK) {
        if (j->out)
            cbor_decref(&j->out);
        oa_reply_error(r, job->rc != 0 ? (enum oa_err)job->rc : j->err, j->message);
    } else if (j->bytes != NULL) {
        oa_reply_raw(r, j->status, "application/cbor", j->bytes, j->nbytes);
    } else {
        oa_reply(r, j->status, j->out);
    }
    free(j->bytes);
    free(j);
}
