/*
 * server/h_records.c: records officers' routes (#16): filing, a record,
 * its corrections and legal hold, organs' fonds codes and the retention
 * schedule.  HTTP only: the use cases are app/records.c's.
 *
 *   POST /v1/records                       file an archived document
 *   GET  /v1/records/{id}                  a record (by document id)
 *   POST /v1/records/{id}/corrections      a metadata correction, with a reason
 *   PUT  /v1/records/{id}/hold             set or lift a legal hold (冻结)
 *   PUT  /v1/organs/{id}/fonds             an organ's fonds code (全宗号)
 *   GET/PUT /v1/records/schedule           the retention schedules (保管期限表)
 */
#include <stdlib.h>
#include <string.h>

#include "app/records.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "server/server.h"

enum rec_op { OP_FILE, OP_GET, OP_CORRECT, OP_HOLD, OP_FONDS, OP_SCHEDULE_SET, OP_SCHEDULE_LIST };

struct rec_job {
    struct oa_req_job base;
    enum rec_op op;
    int64_t id, pages, organ_id;
    const char *retention, *reason, *class_code, *note, *field, *value, *fonds, *doc_type, *issuer;
    bool hold;
};

static int rec_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct rec_job *j = (struct rec_job *)job;
    const struct oa_app_actor *by = OA_REQ_ACTOR(j->base.r);
    struct oa_app_outcome o = {0};
    int rc = 0;
    j->base.status = 200;
    switch (j->op) {
    case OP_FILE: {
        struct oa_rec_file_req q = {j->id, j->retention, j->reason, j->class_code, (int)j->pages, j->note};
        rc = oa_rec_file(s, by, &q, &o, &j->base.out);
        j->base.status = 201;
        break;
    }
    case OP_GET: rc = oa_rec_get(s, by, j->id, &o, &j->base.out); break;
    case OP_CORRECT:
        rc = oa_rec_correct(s, by, j->id, j->field, j->value, j->reason, &o, &j->base.out);
        j->base.status = 201;
        break;
    case OP_HOLD: rc = oa_rec_hold(s, by, j->id, j->hold, j->reason, &o, &j->base.out); break;
    case OP_FONDS: rc = oa_rec_fonds_set(s, by, j->id, j->fonds, &o, &j->base.out); break;
    case OP_SCHEDULE_SET:
        rc = oa_rec_schedule_set(s, by, j->organ_id, j->doc_type, j->issuer, j->retention, &o, &j->base.out);
        break;
    case OP_SCHEDULE_LIST: rc = oa_rec_schedule_list(s, by, j->organ_id, &o, &j->base.out); break;
    }
    if (rc != 0)
        return rc;
    if (o.end != OA_APP_DONE) {
        if (j->base.out)
            cbor_decref(&j->base.out);
        oa_req_fail(&j->base, o.err, o.message);
        return oa_app_job_rc(&o);
    }
    return 0;
}

static struct rec_job *rec_job_new(struct oa_req *r, enum rec_op op, bool read)
{
    struct rec_job *j = oa_req_job_new(r, sizeof(*j), rec_on_run, read ? OA_JOB_READ : 0);
    j->op = op;
    j->pages = -1;
    return j;
}

void h_record_file(struct oa_req *r)
{
    struct rec_job *j = rec_job_new(r, OP_FILE, false);
    struct pv_field f[] = {
        {"document_id", PV_INT, PV_REQUIRED, 1, INT64_MAX, &j->id, NULL},
        {"retention", PV_TEXT, 0, 1, 3, &j->retention, NULL},
        {"reason", PV_TEXT, 0, 0, 500, &j->reason, NULL},
        {"class_code", PV_TEXT, 0, 0, 16, &j->class_code, NULL},
        {"pages", PV_INT, 0, 0, 100000, &j->pages, NULL},
        {"note", PV_TEXT, 0, 0, 500, &j->note, NULL},
    };
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0]))) {
        free(j);
        return;
    }
    oa_req_job_submit(&j->base);
}

void h_record_get(struct oa_req *r)
{
    int64_t id;
    if (!oa_path_id(r, 0, "No record of that document.", &id))
        return;
    struct rec_job *j = rec_job_new(r, OP_GET, false);
    j->id = id;
    oa_req_job_submit(&j->base);
}

void h_record_correct(struct oa_req *r)
{
    int64_t id;
    if (!oa_path_id(r, 0, "No record of that document.", &id))
        return;
    struct rec_job *j = rec_job_new(r, OP_CORRECT, false);
    j->id = id;
    struct pv_field f[] = {
        {"field", PV_TEXT, PV_REQUIRED, 1, 32, &j->field, NULL},
        {"value", PV_TEXT, PV_REQUIRED, 0, 500, &j->value, NULL},
        {"reason", PV_TEXT, 0, 0, 500, &j->reason, NULL},
    };
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0]))) {
        free(j);
        return;
    }
    oa_req_job_submit(&j->base);
}

void h_record_hold(struct oa_req *r)
{
    int64_t id;
    if (!oa_path_id(r, 0, "No record of that document.", &id))
        return;
    struct rec_job *j = rec_job_new(r, OP_HOLD, false);
    j->id = id;
    struct pv_field f[] = {
        {"hold", PV_BOOL, PV_REQUIRED, 0, 0, &j->hold, NULL},
        {"reason", PV_TEXT, 0, 0, 500, &j->reason, NULL},
    };
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0]))) {
        free(j);
        return;
    }
    oa_req_job_submit(&j->base);
}

void h_organ_fonds(struct oa_req *r)
{
    int64_t id;
    if (!oa_path_id(r, 0, "No such organ.", &id))
        return;
    struct rec_job *j = rec_job_new(r, OP_FONDS, false);
    j->id = id;
    struct pv_field f[] = {
        {"fonds", PV_TEXT, PV_REQUIRED, 1, 8, &j->fonds, NULL},
    };
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0]))) {
        free(j);
        return;
    }
    oa_req_job_submit(&j->base);
}

void h_records_schedule_list(struct oa_req *r)
{
    int64_t organ = 0;
    if (!oa_query_int(r, "organ_id", 0, INT64_MAX, 0, &organ))
        return;
    struct rec_job *j = rec_job_new(r, OP_SCHEDULE_LIST, false);
    j->organ_id = organ;
    oa_req_job_submit(&j->base);
}

void h_records_schedule_put(struct oa_req *r)
{
    struct rec_job *j = rec_job_new(r, OP_SCHEDULE_SET, false);
    struct pv_field f[] = {
        {"organ_id", PV_INT, PV_REQUIRED, 1, INT64_MAX, &j->organ_id, NULL},
        {"doc_type", PV_TEXT, PV_REQUIRED, 1, 32, &j->doc_type, NULL},
        {"issuer", PV_TEXT, PV_REQUIRED, 1, 32, &j->issuer, NULL},
        {"retention", PV_TEXT, PV_REQUIRED, 1, 3, &j->retention, NULL},
    };
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0]))) {
        free(j);
        return;
    }
    oa_req_job_submit(&j->base);
}
