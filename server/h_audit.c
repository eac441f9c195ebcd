/*
 * server/h_audit.c: the audit trail, for the auditor only.
 *
 *   GET /v1/audit/entries?from=&to=&actor=&doc=&event=&after=&limit=
 *   GET /v1/audit/checkpoint                       latest signed checkpoint (and as a signed note) + public key
 *   GET /v1/audit/proof/inclusion?index=I&size=N   leaf I (0-based) in the tree of size N
 *   GET /v1/audit/proof/consistency?from=M&to=N
 *   GET /v1/audit/export?from=A&to=B               a self-verifying bundle of entries A..B
 *   GET /v1/audit/report?month=YYYY-MM             the monthly security report
 *
 * The decision is oa_access_decide(OA_ACT_AUDIT_READ); every read, allowed or
 * refused, is itself an audit entry, committed before the work starts: a
 * first stage on a reader records it (the writer commits it), a second reads.
 * Both run on the reader threads (storage/reader.h), so a proof over a large
 * log never stalls the writer or the loop.  What each read answers is
 * app/audit_read.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/audit.h"
#include "app/audit_read.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "server/server.h"
#include "workflow/access.h"

struct audit_job {
    struct oa_req_job base; /* records the read on the writer, then does the work on a reader */
    struct oa_audit_read q;
};

static int audit_work_run(struct oa_store *s, struct oa_db_job *job)
{
    struct audit_job *a = (struct audit_job *)job;
    int rc = oa_app_audit_read(s, &a->q, &a->base.out);
    if (rc == 0 && a->q.err != OA_E_OK)
        return oa_req_fail(&a->base, a->q.err, a->q.message);
    a->base.status = 200;
    return rc;
}

/* The read is recorded first; then the work runs on the pool. */
static int audit_record_run(struct oa_store *s, struct oa_db_job *job)
{
    struct audit_job *a = (struct audit_job *)job;
    struct oa_req *r = a->base.r;
    return oa_app_audit(s, OA_REQ_ACTOR(r), "audit.read", r->path, "ok", r->query[0] ? r->query : NULL) == 0
               ? 0
               : OA_E_STORAGE;
}

/* The read is recorded: its work goes to a reader. */
static bool audit_record_step(struct oa_req_job *j)
{
    j->job.run = audit_work_run;
    j->job.flags = OA_JOB_READ;
    j->step = NULL;
    oa_req_job_submit(j);
    return true;
}

static void audit_start(struct oa_req *r, enum oa_audit_read_op op)
{
    struct oa_subject who = {.id = r->who.user_id, .roles = r->who.roles, .clearance = r->who.clearance};
    enum oa_decision d = oa_access_decide(&who, OA_ACT_AUDIT_READ, NULL);
    if (d != OA_ALLOW) {
        oa_refuse(r, OA_E_FORBIDDEN, "Only the auditor reads the audit trail.", "audit.read", r->path);
        return;
    }
    struct audit_job *a = oa_req_job_new(r, sizeof(*a), audit_record_run, 0);
    struct oa_audit_read *q = &a->q;
    q->op = op;
    memcpy(q->pk, r->srv->audit_pk, 32);
    bool ok = true;
    switch (op) {
    case OA_AUDIT_ENTRIES:
        ok = oa_query_int(r, "from", 0, INT64_MAX, 0, &q->filter.from) &&
             oa_query_int(r, "to", 0, INT64_MAX, 0, &q->filter.to) &&
             oa_query_int(r, "after", 0, INT64_MAX, 0, &q->filter.after) &&
             oa_query_clamped(r, "limit", 1, 1000, 100, &q->filter.limit) &&
             oa_query_int(r, "doc", 0, INT64_MAX, 0, &q->filter.doc);
        q->filter.actor = oa_query_param(r, "actor");
        q->filter.event = oa_query_param(r, "event");
        break;
    case OA_AUDIT_INCLUSION:
        ok = oa_query_int(r, "index", 0, INT64_MAX, -1, &q->a) && oa_query_int(r, "size", 0, INT64_MAX, 0, &q->b);
        break;
    case OA_AUDIT_CONSISTENCY:
        ok = oa_query_int(r, "from", 0, INT64_MAX, 0, &q->a) && oa_query_int(r, "to", 0, INT64_MAX, 0, &q->b);
        break;
    case OA_AUDIT_EXPORT:
        ok = oa_query_int(r, "from", 0, INT64_MAX, 1, &q->a) && oa_query_int(r, "to", 0, INT64_MAX, 0, &q->b);
        break;
    case OA_AUDIT_REPORT:
        q->month = oa_query_param(r, "month");
        break;
    case OA_AUDIT_CHECKPOINT:
        break;
    }
    if (!ok) {
        free(a); /* answered 400 */
        return;
    }
    /* First the read's entry (committed by the writer), then the read itself (audit_record_step). */
    a->base.step = audit_record_step;
    oa_req_job_submit(&a->base);
}

void h_audit_entries(struct oa_req *r) { audit_start(r, OA_AUDIT_ENTRIES); }
void h_audit_checkpoint(struct oa_req *r) { audit_start(r, OA_AUDIT_CHECKPOINT); }
void h_audit_inclusion(struct oa_req *r) { audit_start(r, OA_AUDIT_INCLUSION); }
void h_audit_consistency(struct oa_req *r) { audit_start(r, OA_AUDIT_CONSISTENCY); }
void h_audit_export(struct oa_req *r) { audit_start(r, OA_AUDIT_EXPORT); }
void h_audit_report(struct oa_req *r) { audit_start(r, OA_AUDIT_REPORT); }
