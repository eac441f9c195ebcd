/*
 * server/h_org.c: organs (机关) and their departments, with the short codes
 * used in document numbers (e.g. 府办).  Everyone logged in reads the
 * structure; only sysadmin changes it.  HTTP only: the use cases are
 * app/org.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/org.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "server/server.h"
#include "workflow/access.h"

struct org_job {
    struct oa_req_job base; /* the request, the answer */
    int64_t organ_id;       /* a department's organ; 0 for a new organ or the list */
    const char *code, *name;
    bool list;
};

static int org_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct org_job *j = (struct org_job *)job;
    if (j->list) {
        j->base.status = 200;
        return oa_app_org_list(s, &j->base.out);
    }
    struct oa_subject who = {.id = j->base.r->who.user_id, .roles = j->base.r->who.roles,
                             .clearance = j->base.r->who.clearance};
    struct oa_app_outcome o = {0};
    int rc = oa_app_org_create(s, OA_REQ_ACTOR(j->base.r), &who, j->organ_id, j->code, j->name, &o, &j->base.out);
    if (rc != 0)
        return rc;
    if (o.end != OA_APP_DONE)
        return oa_req_fail(&j->base, o.err, o.message);
    j->base.status = 201;
    return 0;
}

static void org_submit(struct oa_req *r, bool list, int64_t organ_id, const char *code, const char *name)
{
    struct org_job *j = oa_req_job_new(r, sizeof(*j), org_on_run, list ? OA_JOB_READ : 0);
    j->list = list;
    j->organ_id = organ_id;
    j->code = code;
    j->name = name;
    oa_req_job_submit(&j->base);
}

void h_org_list(struct oa_req *r)
{
    org_submit(r, true, 0, NULL, NULL);
}

void h_organ_create(struct oa_req *r)
{
    const char *code = NULL, *name = NULL;
    struct pv_field f[] = {
        {"code", PV_TEXT, PV_REQUIRED, 1, 32, &code, NULL},
        {"name", PV_TEXT, PV_REQUIRED, 1, 200, &name, NULL},
    };
    if (oa_req_fields(r, f, 2))
        org_submit(r, false, 0, code, name);
}

void h_department_create(struct oa_req *r)
{
    const char *code = NULL, *name = NULL;
    int64_t organ = 0;
    struct pv_field f[] = {
        {"organ_id", PV_INT, PV_REQUIRED, 1, INT64_MAX, &organ, NULL},
        {"code", PV_TEXT, PV_REQUIRED, 1, 32, &code, NULL},
        {"name", PV_TEXT, PV_REQUIRED, 1, 200, &name, NULL},
    };
    if (oa_req_fields(r, f, 3))
        org_submit(r, false, organ, code, name);
}
