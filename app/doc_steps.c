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
    size_t n = 0, cap = 8;
    int64_t *users = oa_xmalloc(cap * sizeof(*users));
    int rc = -1;
#define ADD_USER(id)                                                              \
    do {                                                                          \
        if (n == cap)                                                             \
            users = oa_xrealloc(users, (cap *= 2) * sizeof(*users));              \
        users[n++] = (id);                                                        \
    } while (0)
    if (rels & OA_REL_DRAFTER)
        ADD_USER(d->drafter_id);
    if ((rels & OA_REL_ASSIGNEE) && d->assignee_id > 0)
        ADD_USER(d->assignee_id);
    if (rels & OA_REL_COUNTERSIGNER) {
        sqlite3_stmt *st = oa_store_stmt(s, "SELECT user_id FROM doc_participants WHERE doc_id = ? AND part = 'countersigner'"
                                            " AND status = 'pending'");
        if (st == NULL)
            goto out;
        sqlite3_bind_int64(st, 1, d->id);
        while (sqlite3_step(st) == SQLITE_ROW)
            ADD_USER(sqlite3_column_int64(st, 0));
    }
    if (rels & OA_REL_LEAD_DEPT) {
        sqlite3_stmt *st = oa_store_stmt(s, "SELECT id FROM users WHERE department_id = ? AND disabled = 0");
        if (st == NULL)
            goto out;
        sqlite3_bind_int64(st, 1, d->lead_department_id);
        while (sqlite3_step(st) == SQLITE_ROW)
            ADD_USER(sqlite3_column_int64(st, 0));
    }
#undef ADD_USER
    /* Role-wide steps are the document's organ's; an incoming copy addressed
     * to a department is signed for and registered by that department's
     * clerks (第24条).  Later steps (the leader's instruction, records) stay
     * organ-wide. */
    bool receiving = kind == OA_KIND_INCOMING &&
                     (strcmp(d->state, "receiving") == 0 || strcmp(d->state, "registering") == 0);
    int64_t dept = receiving ? d->department_id : 0;
    rc = oa_queue_set(s, d->id, roles, d->organ_id, dept, users, n);
out:
    free(users);
    return rc;
}
