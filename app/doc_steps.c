/*
 * app/doc_steps.c: the step deadline and the to-do queue of a document
 * after its state changed (use case helpers; see doc_steps.h).  Who is
 * expected to act comes from the lifecycle tables (workflow/docflow.c
 * oa_flow_expected); the deadline from workflow/deadline.c; the calendar
 * and the queue rows from storage/.
 */
#include "app/doc_steps.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/alloc.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "storage/store.h"
#include "workflow/calendar.h"
#include "workflow/deadline.h"
#include "workflow/docflow.h"

/* Today's date in local time, as days since the epoch (the offset is re-read each minute). */
int32_t oa_app_today_local(void)
{
    static _Thread_local time_t offset_at;
    static _Thread_local long offset;
    time_t t = time(NULL);
    if (t - offset_at >= 60) {
        struct tm tm;
        localtime_r(&t, &tm);
        offset = tm.tm_gmtoff;
        offset_at = t;
    }
    int64_t local = (int64_t)t + offset;
    return (int32_t)(local >= 0 ? local / 86400 : (local - 86399) / 86400);
}

int oa_app_year_local(void)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    return tm.tm_year + 1900;
}

/* Working-day deadline for the step a document has just entered. */
void oa_doc_set_step_due(struct oa_store *s, struct oa_doc *d)
{
    enum oa_doc_kind kind = (enum oa_doc_kind)oa_kind_parse(d->kind);
    if (oa_flow_terminal(kind, d->def_version, d->state)) {
        d->step_due[0] = '\0';
        return;
    }
    size_t n = 0;
    const struct oa_day_exception *ex = oa_calendar_get(s, &n);
    oa_day_format(oa_step_due(oa_app_today_local(), d->urgency, ex, n), d->step_due);
}

/* Rebuilds the to-do queue for the state the document is in. */
int oa_doc_update_queue(struct oa_store *s, const struct oa_doc *d)
{
    enum oa_doc_kind kind = (enum oa_doc_kind)oa_kind_parse(d->kind);
    unsigned roles = 0, rels = 0;
    if (!oa_flow_terminal(kind, d->def_version, d->state))
        oa_flow_expected(kind, d->def_version, d->state, &roles, &rels);
    /* As many people as the steps name: a department has no fixed size. */
    struct oa_ids users = {0};
    int rc = -1;
    if (rels & OA_REL_DRAFTER)
        oa_ids_add(&users, d->drafter_id);
    if ((rels & OA_REL_ASSIGNEE) && d->assignee_id > 0)
        oa_ids_add(&users, d->assignee_id);
    if ((rels & OA_REL_COUNTERSIGNER) && oa_part_pending_countersigners(s, d->id, &users) != 0)
        goto out;
    if ((rels & OA_REL_LEAD_DEPT) && oa_department_members(s, d->lead_department_id, &users) != 0)
        goto out;
    /* Role-wide steps are the document's organ's, or its addressed department's (the tables say which). */
    int64_t dept = oa_flow_department_step(kind, d->def_version, d->state) ? d->department_id : 0;
    rc = oa_queue_set(s, d->id, roles, d->organ_id, dept, users.v, users.n);
out:
    free(users.v);
    return rc;
}
