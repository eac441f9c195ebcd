/*
 * server/h_aip.c: a filed record's archival package and its four-property
 * check (#16, docs/AIP.md).  HTTP only: the use cases are app/aip.c's.
 *
 *   GET  /v1/records/{id}/package   the record's package: application/x-tar,
 *                                   or for 秘密 and above its CMS envelope
 *                                   (application/pkcs7-mime) to the archive
 *   POST /v1/records/{id}/check     the four-property check on demand (JSON report and text)
 *
 * oa_aip_serve installs the same check at filing (app/records.c's hook).
 */
#include <stdlib.h>
#include <string.h>

#include "app/aip.h"
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

struct aip_job {
    struct oa_req_job base;
    int64_t id;
    bool check, enveloped;
    unsigned char *pkg;
    size_t len;
};

static int aip_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct aip_job *j = (struct aip_job *)job;
    struct oa_req *r = j->base.r;
    struct oa_app_outcome o = {0};
    j->base.status = 200;
    int rc = j->check ? oa_aip_record_check(s, &env, OA_REQ_ACTOR(r), j->id, &o, &j->base.out)
                      : oa_aip_record_package(s, &env, OA_REQ_ACTOR(r), j->id, r->srv->cfg->records_recipient_cert,
                                              &j->pkg, &j->len, &j->enveloped, &o);
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
    return 0;
}

/* The package answers as bytes of its own type; everything else as the one request job does. */
static void aip_on_done(struct oa_db_job *job)
{
    struct aip_job *j = (struct aip_job *)job;
    if (job->rc == 0 && j->base.err == OA_E_OK && j->pkg) {
        oa_reply_raw(j->base.r, 200, j->enveloped ? "application/pkcs7-mime; smime-type=authEnveloped-data"
                                                  : "application/x-tar",
                     j->pkg, j->len);
        free(j->pkg);
        j->pkg = NULL;
        free(j);
        return;
    }
    free(j->pkg);
    j->pkg = NULL;
    oa_req_job_done(job);
}

static void aip_start(struct oa_req *r, bool check)
{
    int64_t id;
    if (!oa_path_id(r, 0, "No record of that document.", &id))
        return;
    struct aip_job *j = oa_req_job_new(r, sizeof(*j), aip_on_run, 0);
    j->id = id;
    j->check = check;
    j->base.job.done = aip_on_done;
    oa_db_submit(r->srv, &j->base.job);
}

void h_record_package(struct oa_req *r) { aip_start(r, false); }
void h_record_check(struct oa_req *r) { aip_start(r, true); }
