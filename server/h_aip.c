/*
 * server/h_aip.c: a filed record's archival package and its four-property
 * check (#16, docs/AIP.md).  HTTP only: the use cases are app/aip.c's.
 *
 *   GET  /v1/records/{id}/package   the record's package: application/x-tar,
 *                                   or for 秘密 and above its CMS envelope
 *                                   (application/pkcs7-mime) to the archive
 *   POST /v1/records/{id}/check     the four-property check on demand (JSON report and text)
 *   POST /v1/transfers              a transfer batch (移交) of filed records that pass the check
 *   GET  /v1/transfers/{id}         the batch, its transfer list (移交清单), report and receipt
 *   GET  /v1/transfers/{id}/package the batch's package (enveloped as above when any record is classified)
 *   POST /v1/transfers/{id}/receipt the archive's receipt (回执): the records become transferred
 *
 * oa_aip_serve installs the same check at filing (app/records.c's hook).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/aip.h"
#include "app/transfer.h"
#include "proto/alloc.h"
#include "server/handlers.h"
#include "server/server.h"

static struct oa_aip_env env;

void oa_aip_serve(struct oa_server *srv)
{
    env.data_dir = srv->cfg->data_dir;
    env.keys = &srv->keys;
    memcpy(env.audit_pk, srv->audit_pk, 32);
    oa_rec_set_filing_check(oa_aip_filing_check, &env);
}

enum aip_op { OP_PACKAGE, OP_CHECK, OP_T_CREATE, OP_T_GET, OP_T_PACKAGE, OP_T_RECEIPT };

struct aip_job {
    struct oa_req_job base;
    enum aip_op op;
    int64_t id;
    int64_t *docs;
    size_t ndocs;
    const char *archive, *receipt, *received_by;
    bool enveloped;
    unsigned char *pkg;
    size_t len;
};

static int aip_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct aip_job *j = (struct aip_job *)job;
    struct oa_req *r = j->base.r;
    struct oa_app_outcome o = {0};
    j->base.status = 200;
    const struct oa_app_actor *by = OA_REQ_ACTOR(r);
    const char *cert = r->srv->cfg->records_recipient_cert;
    int rc = 0;
    switch (j->op) {
    case OP_PACKAGE: rc = oa_aip_record_package(s, &env, by, j->id, cert, &j->pkg, &j->len, &j->enveloped, &o); break;
    case OP_CHECK: rc = oa_aip_record_check(s, &env, by, j->id, &o, &j->base.out); break;
    case OP_T_CREATE:
        rc = oa_transfer_create(s, &env, by, j->docs, j->ndocs, j->archive, &o, &j->base.out);
        j->base.status = 201;
        break;
    case OP_T_GET: rc = oa_transfer_get(s, by, j->id, &o, &j->base.out); break;
    case OP_T_PACKAGE: rc = oa_transfer_package(s, &env, by, j->id, cert, &j->pkg, &j->len, &j->enveloped, &o); break;
    case OP_T_RECEIPT: rc = oa_transfer_receipt(s, by, j->id, j->receipt, j->received_by, &o, &j->base.out); break;
    }
    if (rc != 0)
        return rc;
    if (o.end != OA_APP_DONE) {
        if (j->base.out)
            cbor_decref(&j->base.out);
        free(j->pkg);
        j->pkg = NULL;
        oa_req_fail(&j->base, o.err, o.message);
        return oa_app_job_rc(&o);
    }
    if (j->pkg != NULL) { /* a package answers as bytes of its own type */
        j->base.bytes = j->pkg;
        j->base.nbytes = j->len;
        j->base.content_type = j->enveloped ? "application/pkcs7-mime; smime-type=authEnveloped-data"
                                            : "application/x-tar";
        j->pkg = NULL;
    }
    return 0;
}

/* After the answer: the batch's list of documents. */
static void aip_finish(struct oa_req_job *base, bool ok)
{
    (void)ok;
    free(((struct aip_job *)base)->docs);
}

static struct aip_job *aip_job_new(struct oa_req *r, enum aip_op op)
{
    /* Packages read files with the key ring (OA_REQ_ON_WRITER): in the writer's order. */
    struct aip_job *j = oa_req_job_new(r, sizeof(*j), aip_on_run, OA_REQ_ON_WRITER);
    j->op = op;
    j->base.finish = aip_finish;
    return j;
}

static void aip_start(struct oa_req *r, enum aip_op op, const char *missing)
{
    int64_t id;
    if (!oa_path_id(r, 0, missing, &id))
        return;
    struct aip_job *j = aip_job_new(r, op);
    j->id = id;
    oa_req_job_submit(&j->base);
}

void h_record_package(struct oa_req *r) { aip_start(r, OP_PACKAGE, "No record of that document."); }
void h_record_check(struct oa_req *r) { aip_start(r, OP_CHECK, "No record of that document."); }
void h_transfer_get(struct oa_req *r) { aip_start(r, OP_T_GET, "No such transfer."); }
void h_transfer_package(struct oa_req *r) { aip_start(r, OP_T_PACKAGE, "No such transfer."); }

void h_transfer_create(struct oa_req *r)
{
    struct aip_job *j = aip_job_new(r, OP_T_CREATE);
    const cbor_item_t *list = NULL;
    struct pv_field f[] = {
        {"documents", PV_ITEM, PV_REQUIRED, 0, 0, &list, NULL},
        {"archive", PV_TEXT, PV_REQUIRED, 1, 255, &j->archive, NULL},
    };
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0]))) {
        free(j);
        return;
    }
    size_t n = cbor_isa_array(list) ? cbor_array_size(list) : 0;
    if (n == 0 || n > OA_TRANSFER_MAX) {
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD, "documents: an array of 1 to 10000 document ids.");
        return;
    }
    j->docs = oa_xcalloc(n, sizeof(*j->docs));
    j->ndocs = n;
    cbor_item_t **items = cbor_array_handle(list);
    for (size_t i = 0; i < n; i++) {
        if (!cbor_isa_uint(items[i]) || cbor_get_int(items[i]) == 0 || cbor_get_int(items[i]) > INT64_MAX) {
            free(j->docs);
            free(j);
            oa_reply_error(r, OA_E_BAD_FIELD, "documents: an array of 1 to 10000 document ids.");
            return;
        }
        j->docs[i] = (int64_t)cbor_get_int(items[i]);
    }
    oa_req_job_submit(&j->base);
}

void h_transfer_receipt(struct oa_req *r)
{
    int64_t id;
    if (!oa_path_id(r, 0, "No such transfer.", &id))
        return;
    struct aip_job *j = aip_job_new(r, OP_T_RECEIPT);
    j->id = id;
    struct pv_field f[] = {
        {"receipt", PV_TEXT, PV_REQUIRED, 1, 64 * 1024, &j->receipt, NULL},
        {"received_by", PV_TEXT, PV_REQUIRED, 1, 255, &j->received_by, NULL},
    };
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0]))) {
        free(j);
        return;
    }
    oa_req_job_submit(&j->base);
}
