/*
 * server/h_docmisc.c: what documents need around them: delegations (代理),
 * the working-day calendar the secretariat keeps, and the chases (催办)
 * addressed to the caller.
 *
 *   POST   /v1/delegations      {to, starts_on, ends_on}    delegate my approvals
 *   GET    /v1/delegations      given and received
 *   DELETE /v1/delegations/{id} end one I gave
 *   GET    /v1/calendar         holidays and make-up working days
 *   PUT    /v1/calendar/{day}   {workday, note}             secretariat
 *   DELETE /v1/calendar/{day}                               secretariat
 *   GET    /v1/chases           chases addressed to me, on documents I may see
 *
 * HTTP only: the use cases are app/docmisc.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/accounts.h"
#include "app/docmisc.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "server/server.h"
#include "workflow/calendar.h"

enum misc_op { DLG_CREATE, DLG_LIST, DLG_END, CAL_LIST, CAL_PUT, CAL_DELETE, CHASE_LIST };

struct misc_job {
    struct oa_req_job base; /* the request, the answer */
    enum misc_op op;
    const char *to, *starts_on, *ends_on, *note;
    int64_t id;
    int32_t day;
    bool workday;
};

static int misc_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct misc_job *j = (struct misc_job *)job;
    const struct oa_app_actor *by = OA_REQ_ACTOR(j->base.r);
    struct oa_user me;
    if (oa_app_me(s, by, &me) != 0)
        return OA_E_STORAGE;
    struct oa_app_outcome o = {0};
    int rc = OA_E_INTERNAL, done = 200;
    switch (j->op) {
    case DLG_CREATE:
        rc = oa_app_delegation_create(s, by, &me, j->to, j->starts_on, j->ends_on, &o, &j->base.out);
        done = 201;
        break;
    case DLG_LIST: rc = oa_app_delegation_list(s, &me, &j->base.out); break;
    case DLG_END:
        rc = oa_app_delegation_end(s, by, &me, j->id, &o);
        done = 204;
        break;
    case CAL_LIST: rc = oa_app_calendar_list(s, &j->base.out); break;
    case CAL_PUT:
    case CAL_DELETE:
        rc = oa_app_calendar_change(s, by, &me, j->day, j->op == CAL_DELETE, j->workday, j->note, &o);
        done = 204;
        break;
    case CHASE_LIST: rc = oa_app_chases(s, &me, &j->base.out); break;
    }
    if (rc != 0)
        return rc;
    if (o.end != OA_APP_DONE)
        return oa_req_fail(&j->base, o.err, o.message);
    j->base.err = OA_E_OK;
    j->base.status = done;
    return 0;
}

static void misc_submit(struct misc_job *j)
{
    oa_req_job_submit(&j->base);
}

static struct misc_job *misc_new(struct oa_req *r, enum misc_op op)
{
    /* The lists (GETs) run on the reader threads (oa_req_job_new); the calendar's reads its table. */
    struct misc_job *j = oa_req_job_new(r, sizeof(*j), misc_on_run, 0);
    j->op = op;
    return j;
}

void h_delegation_create(struct oa_req *r)
{
    struct misc_job *j = misc_new(r, DLG_CREATE);
    struct pv_field f[] = {
        {"to", PV_TEXT, PV_REQUIRED, 1, OA_USERNAME_MAX, &j->to, NULL},
        {"starts_on", PV_TEXT, PV_REQUIRED, 10, 10, &j->starts_on, NULL},
        {"ends_on", PV_TEXT, PV_REQUIRED, 10, 10, &j->ends_on, NULL},
    };
    if (!oa_req_fields(r, f, 3)) {
        free(j);
        return;
    }
    int32_t a = oa_day_parse(j->starts_on), b = oa_day_parse(j->ends_on);
    if (a == INT32_MIN || b == INT32_MIN || b < a) {
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD, "starts_on and ends_on must be dates (YYYY-MM-DD), in order.");
        return;
    }
    misc_submit(j);
}

void h_delegation_list(struct oa_req *r)
{
    misc_submit(misc_new(r, DLG_LIST));
}

void h_delegation_end(struct oa_req *r)
{
    int64_t id;
    if (!oa_path_id(r, 0, "You gave no active delegation with that id.", &id))
        return;
    struct misc_job *j = misc_new(r, DLG_END);
    j->id = id;
    misc_submit(j);
}

void h_calendar_list(struct oa_req *r)
{
    misc_submit(misc_new(r, CAL_LIST));
}

static bool calendar_day(struct oa_req *r, struct misc_job *j)
{
    j->day = oa_day_parse(r->params[0]);
    if (j->day == INT32_MIN) {
        oa_reply_error(r, OA_E_NOT_FOUND, "Name the day as YYYY-MM-DD.");
        return false;
    }
    return true;
}

void h_calendar_put(struct oa_req *r)
{
    struct misc_job *j = misc_new(r, CAL_PUT);
    struct pv_field f[] = {
        {"workday", PV_BOOL, PV_REQUIRED, 0, 0, &j->workday, NULL},
        {"note", PV_TEXT, 0, 0, 200, &j->note, NULL},
    };
    if (!calendar_day(r, j) || !oa_req_fields(r, f, 2)) {
        free(j);
        return;
    }
    misc_submit(j);
}

void h_calendar_delete(struct oa_req *r)
{
    struct misc_job *j = misc_new(r, CAL_DELETE);
    if (!calendar_day(r, j)) {
        free(j);
        return;
    }
    misc_submit(j);
}

void h_chases_list(struct oa_req *r)
{
    misc_submit(misc_new(r, CHASE_LIST));
}
