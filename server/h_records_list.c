/*
 * server/h_records_list.c: the records catalogue, the appraisal and
 * declassification lists, and disposal lists (#16).  HTTP only: the use
 * cases are app/records_list.c's and app/disposal.c's; the CSV and XLSX
 * files proto/catalogue.c's.
 *
 *   GET  /v1/records?fonds=&year=&retention=&class=&state=&format=json|csv|xlsx
 *   GET  /v1/records/appraisal                  records past their retention
 *   GET  /v1/records/declassification           records whose secrecy period ended
 *   GET  /v1/disposals                          disposal lists
 *   POST /v1/disposals                          propose one {documents, reason}
 *   POST /v1/disposals/{id}/decision            a leader's {approve, opinion}
 */
#include <stdlib.h>
#include <string.h>

#include "app/disposal.h"
#include "app/records_list.h"
#include "proto/catalogue.h"
#include "proto/log.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "server/server.h"

enum list_op { OP_CATALOGUE, OP_APPRAISAL, OP_DECLASS, OP_DISPOSALS, OP_PROPOSE, OP_DECIDE };
enum list_fmt { FMT_VALUE, FMT_CSV, FMT_XLSX };

struct list_job {
    struct oa_req_job base;
    enum list_op op;
    enum list_fmt fmt;
    struct oa_rec_filter filter;
    int64_t id;
    int64_t *docs;
    size_t ndocs;
    const char *reason;
    bool approve;
    char *file;      /* CSV or XLSX bytes, malloc'd */
    size_t file_len;
    struct oa_blob_files *dead; /* a disposal's blob files, unlinked after its commit */
};

static int list_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct list_job *j = (struct list_job *)job;
    const struct oa_app_actor *by = OA_REQ_ACTOR(j->base.r);
    struct oa_app_outcome o = {0};
    int rc = 0;
    j->base.status = 200;
    switch (j->op) {
    case OP_CATALOGUE: rc = oa_rec_catalogue(s, by, &j->filter, &o, &j->base.out); break;
    case OP_APPRAISAL: rc = oa_rec_appraisal(s, by, &o, &j->base.out); break;
    case OP_DECLASS: rc = oa_rec_declass_review(s, by, &o, &j->base.out); break;
    case OP_DISPOSALS: rc = oa_rec_disposal_list(s, by, &o, &j->base.out); break;
    case OP_PROPOSE:
        rc = oa_rec_disposal_propose(s, by, j->docs, j->ndocs, j->reason, &o, &j->base.out);
        j->base.status = 201;
        break;
    case OP_DECIDE:
        rc = oa_rec_disposal_decide(s, by, j->id, j->approve, j->reason, &o, &j->base.out, &j->dead);
        break;
    }
    if (rc != 0 || o.end != OA_APP_DONE) {
        oa_rec_disposal_files_free(j->dead); /* nothing was disposed of */
        j->dead = NULL;
    }
    if (rc != 0)
        return rc;
    if (o.end != OA_APP_DONE) {
        if (j->base.out)
            cbor_decref(&j->base.out);
        oa_req_fail(&j->base, o.err, o.message);
        return oa_app_job_rc(&o);
    }
    /* The files are made here, off the loop. */
    if (j->fmt != FMT_VALUE && j->base.out != NULL) {
        const cbor_item_t *entries = pv_get(j->base.out, "entries");
        const char *why = NULL;
        if (j->fmt == FMT_CSV)
            j->file = oa_catalogue_csv(entries, &j->file_len);
        else
            j->file = (char *)oa_catalogue_xlsx(entries, &j->file_len, &why);
        if (j->file == NULL) {
            oa_log(OA_LOG_ERROR, "catalogue_export_failed", "why=%s", why ? why : "csv");
            return OA_E_INTERNAL;
        }
        cbor_decref(&j->base.out);
        j->base.bytes = (unsigned char *)j->file; /* the file answers as bytes of its own type */
        j->base.nbytes = j->file_len;
        j->base.content_type = j->fmt == FMT_CSV ? "text/csv; charset=utf-8"
                                                 : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        j->file = NULL;
    }
    return 0;
}

/* After the answer, which follows the commit: the disposal stands, its dead files go. */
static void list_finish(struct oa_req_job *base, bool ok)
{
    struct list_job *j = (struct list_job *)base;
    free(j->docs);
    if (ok && j->dead != NULL) {
        size_t n = 0, removed = oa_rec_disposal_unlink(j->base.r->srv->cfg->data_dir, j->dead, &n);
        oa_log(OA_LOG_INFO, "disposal_files_removed", "list=%lld files=%zu removed=%zu", (long long)j->id, n,
               removed);
    } else {
        oa_rec_disposal_files_free(j->dead);
    }
    j->dead = NULL;
}

static struct list_job *list_job_new(struct oa_req *r, enum list_op op, bool read)
{
    struct list_job *j = oa_req_job_new(r, sizeof(*j), list_on_run, read ? OA_JOB_READ : 0);
    j->op = op;
    return j;
}

static void list_submit(struct list_job *j)
{
    j->base.finish = list_finish;
    oa_req_job_submit(&j->base);
}

void h_records_catalogue(struct oa_req *r)
{
    int64_t year = 0;
    if (!oa_query_int(r, "year", 0, 9999, 0, &year))
        return;
    const char *format = oa_query_param(r, "format");
    enum list_fmt fmt = FMT_VALUE;
    if (format != NULL && strcmp(format, "csv") == 0)
        fmt = FMT_CSV;
    else if (format != NULL && strcmp(format, "xlsx") == 0)
        fmt = FMT_XLSX;
    else if (format != NULL && strcmp(format, "json") != 0) {
        oa_reply_error(r, OA_E_BAD_REQUEST, "format is json, csv or xlsx.");
        return;
    }
    const char *retention = oa_query_param(r, "retention");
    const char *state = oa_query_param(r, "state");
    if (retention != NULL && strcmp(retention, "Y") != 0 && strcmp(retention, "D30") != 0 &&
        strcmp(retention, "D10") != 0) {
        oa_reply_error(r, OA_E_BAD_REQUEST, "retention is Y, D30 or D10.");
        return;
    }
    if (state != NULL && strcmp(state, "filed") != 0 && strcmp(state, "transferred") != 0 &&
        strcmp(state, "disposed") != 0) {
        oa_reply_error(r, OA_E_BAD_REQUEST, "state is filed, transferred or disposed.");
        return;
    }
    struct list_job *j = list_job_new(r, OP_CATALOGUE, true);
    j->fmt = fmt;
    j->filter.fonds = oa_query_param(r, "fonds");
    j->filter.year = (int)year;
    j->filter.retention = retention;
    j->filter.class_code = oa_query_param(r, "class");
    j->filter.state = state;
    list_submit(j);
}

void h_records_appraisal(struct oa_req *r)
{
    list_submit(list_job_new(r, OP_APPRAISAL, true));
}

void h_records_declassification(struct oa_req *r)
{
    list_submit(list_job_new(r, OP_DECLASS, true));
}

void h_disposals_list(struct oa_req *r)
{
    list_submit(list_job_new(r, OP_DISPOSALS, true));
}

void h_disposal_propose(struct oa_req *r)
{
    struct list_job *j = list_job_new(r, OP_PROPOSE, false);
    const cbor_item_t *docs = NULL;
    struct pv_field f[] = {
        {"documents", PV_ITEM, PV_REQUIRED, 0, 0, &docs, NULL},
        {"reason", PV_TEXT, 0, 0, 500, &j->reason, NULL},
    };
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0]))) {
        free(j);
        return;
    }
    size_t n = cbor_isa_array(docs) ? cbor_array_size(docs) : 0;
    if (n == 0 || n > OA_DISPOSAL_MAX) {
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD, "documents is an array of 1 to 1000 document ids.");
        return;
    }
    j->docs = calloc(n, sizeof(*j->docs));
    if (j->docs == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        const cbor_item_t *v = cbor_array_handle(docs)[i];
        if (!cbor_isa_uint(v) || cbor_get_int(v) == 0 || cbor_get_int(v) > INT64_MAX) {
            free(j->docs);
            free(j);
            oa_reply_error(r, OA_E_BAD_FIELD, "documents is an array of 1 to 1000 document ids.");
            return;
        }
        j->docs[i] = (int64_t)cbor_get_int(v);
    }
    j->ndocs = n;
    list_submit(j);
}

void h_disposal_decide(struct oa_req *r)
{
    int64_t id;
    if (!oa_path_id(r, 0, "No such disposal list.", &id))
        return;
    struct list_job *j = list_job_new(r, OP_DECIDE, false);
    j->id = id;
    struct pv_field f[] = {
        {"approve", PV_BOOL, PV_REQUIRED, 0, 0, &j->approve, NULL},
        {"opinion", PV_TEXT, 0, 0, 500, &j->reason, NULL},
    };
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0]))) {
        free(j);
        return;
    }
    list_submit(j);
}
