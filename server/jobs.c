/*
 * server/jobs.c: where a handler's database job runs -- a read on the
 * reader threads (storage/reader.h), anything else on the writer
 * (storage/writer.h).
 */
#include "server/server.h"

void oa_db_submit(struct oa_server *srv, struct oa_db_job *job)
{
    if ((job->flags & OA_JOB_READ) && srv->readers != NULL)
        oa_readers_submit(srv->readers, job);
    else
        oa_writer_submit(srv->writer, job);
}
