/*
 * server/h_org.c: organs (机关) and their departments, with the short codes
 * used in document numbers (e.g. 府办).  Everyone logged in reads the
 * structure; only sysadmin changes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/audit.h"
#include "proto/alloc.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "server/server.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "workflow/access.h"

enum org_op { ORG_LIST, ORG_CREATE_ORGAN, ORG_CREATE_DEPT };

struct org_job {
    struct oa_db_job job;
    struct oa_req *r;
    enum org_op op;
    int64_t organ_id;
    const char *code, *name;
    enum oa_err result;
    const char *message;
    int64_t new_id;
    cbor_item_t *out;
};

/* Builds the organs' maps as their rows arrive, grouped by organ. */
struct org_list {
    cbor_item_t *organs[1024], *depts[1024];
    size_t norgans, ndepts;
    cbor_item_t *organ; /* the organ whose rows are arriving */
    int64_t organ_id;
};

static void org_close(struct org_list *l)
{
    if (l->organ == NULL)
        return;
    pv_put(l->organ, "departments", pv_array_from(l->depts, l->ndepts));
    l->organs[l->norgans++] = l->organ;
    l->organ = NULL;
    l->ndepts = 0;
}

static void org_row(void *arg, const struct oa_org_row *row)
{
    struct org_list *l = arg;
    if (l->organ == NULL || row->organ_id != l->organ_id) {
        org_close(l);
        if (l->norgans == 1024)
            return;
        l->organ_id = row->organ_id;
        l->organ = pv_map(4);
        pv_put_int(l->organ, "id", row->organ_id);
        pv_put_text(l->organ, "code", row->organ_code);
        pv_put_text(l->organ, "name", row->organ_name);
    }
    if (row->dept_id != 0 && l->ndepts < 1024) {
        cbor_item_t *d = pv_map(3);
        pv_put_int(d, "id", row->dept_id);
        pv_put_text(d, "code", row->dept_code);
        pv_put_text(d, "name", row->dept_name);
        l->depts[l->ndepts++] = d;
    }
}

static cbor_item_t *list_org(struct oa_store *s)
{
    struct org_list *l = oa_xcalloc(1, sizeof(*l));
    int rc = oa_org_each(s, org_row, l);
    org_close(l);
    cbor_item_t *out = NULL;
    if (rc == 0) {
        out = pv_map(1);
        pv_put(out, "organs", pv_array_from(l->organs, l->norgans));
    } else {
        for (size_t i = 0; i < l->norgans; i++)
            cbor_decref(&l->organs[i]);
    }
    free(l);
    return out;
}

static int org_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct org_job *j = (struct org_job *)job;
    j->result = OA_E_OK;
    if (j->op == ORG_LIST) {
        j->out = list_org(s);
        return j->out ? 0 : OA_E_STORAGE;
    }
    struct oa_subject who = {.id = j->r->who.user_id, .roles = j->r->who.roles, .clearance = j->r->who.clearance};
    const char *event = j->op == ORG_CREATE_ORGAN ? "organ.create" : "department.create";
    enum oa_decision d = oa_access_decide(&who, OA_ACT_ORG_MANAGE, NULL);
    if (d != OA_ALLOW) {
        j->result = OA_E_FORBIDDEN;
        j->message = oa_decision_reason(d);
        return oa_app_audit(s, OA_REQ_ACTOR(j->r), event, j->code, "refused", oa_decision_reason(d)) == 0
                   ? 0
                   : OA_E_STORAGE;
    }
    if (j->op == ORG_CREATE_ORGAN) {
        j->new_id = oa_organ_insert(s, j->code, j->name);
    } else {
        int64_t organ = oa_organ_find(s, j->organ_id);
        if (organ < 0)
            return OA_E_STORAGE;
        if (organ == 0) {
            j->result = OA_E_BAD_FIELD;
            j->message = "No organ has that organ_id.";
            return 0;
        }
        j->new_id = oa_department_insert(s, j->organ_id, j->code, j->name);
    }
    if (j->new_id < 0)
        return OA_E_STORAGE;
    if (j->new_id == 0) {
        j->result = OA_E_CONFLICT;
        j->message = "That code is taken.";
        return 0;
    }
    if (oa_change_record(s, j->op == ORG_CREATE_ORGAN ? "organ" : "department", j->new_id, "create") < 0 ||
        oa_app_audit(s, OA_REQ_ACTOR(j->r), event, j->code, "ok", j->name) != 0)
        return OA_E_STORAGE;
    return 0;
}

static void org_on_done(struct oa_db_job *job)
{
    struct org_job *j = (struct org_job *)job;
    struct oa_req *r = j->r;
    if (job->rc) {
        oa_reply_error(r, (enum oa_err)job->rc, NULL);
    } else if (j->result != OA_E_OK) {
        oa_reply_error(r, j->result, j->message);
    } else if (j->op == ORG_LIST) {
        oa_reply(r, 200, j->out);
        j->out = NULL;
    } else {
        cbor_item_t *m = pv_map(j->op == ORG_CREATE_DEPT ? 4 : 3);
        pv_put_int(m, "id", j->new_id);
        if (j->op == ORG_CREATE_DEPT)
            pv_put_int(m, "organ_id", j->organ_id);
        pv_put_text(m, "code", j->code);
        pv_put_text(m, "name", j->name);
        oa_reply(r, 201, m);
    }
    if (j->out)
        cbor_decref(&j->out);
    free(j);
}

static void org_submit(struct oa_req *r, enum org_op op, int64_t organ_id, const char *code, const char *name)
{
    struct org_job *j = oa_xcalloc(1, sizeof(*j));
    j->r = r;
    j->op = op;
    j->organ_id = organ_id;
    j->code = code;
    j->name = name;
    j->job.run = org_on_run;
    j->job.done = org_on_done;
    oa_writer_submit(r->srv->writer, &j->job);
}

void h_org_list(struct oa_req *r)
{
    org_submit(r, ORG_LIST, 0, NULL, NULL);
}

void h_organ_create(struct oa_req *r)
{
    const char *code = NULL, *name = NULL;
    struct pv_field f[] = {
        {"code", PV_TEXT, PV_REQUIRED, 1, 32, &code, NULL},
        {"name", PV_TEXT, PV_REQUIRED, 1, 200, &name, NULL},
    };
    if (oa_req_fields(r, f, 2))
        org_submit(r, ORG_CREATE_ORGAN, 0, code, name);
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
        org_submit(r, ORG_CREATE_DEPT, organ, code, name);
}
