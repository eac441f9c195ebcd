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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/doc_read.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "server/server.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "workflow/access.h"
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

static int misc_fail(struct misc_job *j, enum oa_err e, const char *m)
{
    return oa_req_fail(&j->base, e, m);
}

static int audit_misc(struct oa_store *s, struct misc_job *j, const char *event, const char *target,
                      const char *outcome, const char *detail)
{
    return oa_app_audit(s, OA_REQ_ACTOR(j->base.r), event, target, outcome, detail);
}

/* Runs a SELECT and turns each row into a map with the given keys (text or integer columns). */
static cbor_item_t *rows_to_array(sqlite3_stmt *st, const char *const *keys, int nkeys)
{
    size_t n = 0, cap = 16;
    cbor_item_t **items = oa_xmalloc(cap * sizeof(*items));
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap *= 2;
            items = oa_xrealloc(items, cap * sizeof(*items));
        }
        cbor_item_t *m = pv_map((size_t)nkeys);
        for (int k = 0; k < nkeys; k++) {
            switch (sqlite3_column_type(st, k)) {
            case SQLITE_INTEGER: pv_put_int(m, keys[k], sqlite3_column_int64(st, k)); break;
            case SQLITE_NULL: pv_put_text(m, keys[k], NULL); break;
            default: pv_put_text(m, keys[k], (const char *)sqlite3_column_text(st, k)); break;
            }
        }
        items[n++] = m;
    }
    cbor_item_t *arr = pv_array_from(items, n);
    free(items);
    return arr;
}

static int misc_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct misc_job *j = (struct misc_job *)job;
    struct oa_user me;
    if (oa_user_by_id(s, j->base.r->who.user_id, &me) != 1)
        return OA_E_STORAGE;
    j->base.err = OA_E_OK;
    j->base.status = 200;
    sqlite3_stmt *st;
    switch (j->op) {
    case DLG_CREATE: {
        struct oa_user to = {0};
        int rc = oa_user_by_name(s, j->to, &to);
        if (rc < 0)
            return OA_E_STORAGE;
        switch (oa_delegation_check(me.id, me.roles, rc == 1 && !to.disabled, to.id, to.roles)) {
        case OA_DELEGATION_OK: break;
        case OA_DELEGATION_NO_SUCH_USER: return misc_fail(j, OA_E_BAD_FIELD, "field 'to' must name an active user.");
        case OA_DELEGATION_SELF: return misc_fail(j, OA_E_BAD_FIELD, "You cannot delegate to yourself.");
        case OA_DELEGATION_ROLE:
            return misc_fail(j, OA_E_FORBIDDEN, "Administrators and the gateway neither give nor hold delegations.");
        }
        /* Whoever reset this password may be the one typing: no rights pass
         * on until secadmin has confirmed the account again. */
        if (me.clearance_hold || to.clearance_hold)
            return misc_fail(j, OA_E_FORBIDDEN, "An account held after a password reset neither gives nor holds "
                                                "delegations until secadmin confirms its clearance.");
        st = oa_store_stmt(s, "INSERT INTO delegations(from_id, to_id, starts_on, ends_on, created_at) VALUES (?,?,?,?,?)");
        if (st == NULL)
            return OA_E_STORAGE;
        sqlite3_bind_int64(st, 1, me.id);
        sqlite3_bind_int64(st, 2, to.id);
        sqlite3_bind_text(st, 3, j->starts_on, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, j->ends_on, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, oa_now());
        if (sqlite3_step(st) != SQLITE_DONE)
            return OA_E_STORAGE;
        int64_t id = sqlite3_last_insert_rowid(s->db);
        char detail[96];
        snprintf(detail, sizeof(detail), "%s to %s", j->starts_on, j->ends_on);
        if (audit_misc(s, j, "delegation.create", to.username, "ok", detail) != 0)
            return OA_E_STORAGE;
        j->base.status = 201;
        j->base.out = pv_map(4);
        pv_put_int(j->base.out, "id", id);
        pv_put_text(j->base.out, "to", to.username);
        pv_put_text(j->base.out, "starts_on", j->starts_on);
        pv_put_text(j->base.out, "ends_on", j->ends_on);
        return 0;
    }
    case DLG_LIST: {
        static const char *const keys[] = {"id", "from", "to", "starts_on", "ends_on", "revoked"};
        st = oa_store_stmt(s,
            "SELECT d.id, f.username, t.username, d.starts_on, d.ends_on, d.revoked FROM delegations d"
            " JOIN users f ON f.id = d.from_id JOIN users t ON t.id = d.to_id"
            " WHERE d.from_id = ?1 OR d.to_id = ?1 ORDER BY d.id LIMIT 1000");
        if (st == NULL)
            return OA_E_STORAGE;
        sqlite3_bind_int64(st, 1, me.id);
        j->base.out = pv_map(1);
        pv_put(j->base.out, "delegations", rows_to_array(st, keys, 6));
        return 0;
    }
    case DLG_END:
        st = oa_store_stmt(s, "UPDATE delegations SET revoked = 1 WHERE id = ? AND from_id = ? AND revoked = 0");
        if (st == NULL)
            return OA_E_STORAGE;
        sqlite3_bind_int64(st, 1, j->id);
        sqlite3_bind_int64(st, 2, me.id);
        if (sqlite3_step(st) != SQLITE_DONE)
            return OA_E_STORAGE;
        if (sqlite3_changes(s->db) == 0)
            return misc_fail(j, OA_E_NOT_FOUND, "You gave no active delegation with that id.");
        if (audit_misc(s, j, "delegation.end", NULL, "ok", NULL) != 0)
            return OA_E_STORAGE;
        j->base.status = 204;
        return 0;
    case CAL_LIST: {
        st = oa_store_stmt(s, "SELECT day, workday, note FROM calendar ORDER BY day LIMIT 10000");
        if (st == NULL)
            return OA_E_STORAGE;
        size_t n = 0, cap = 16;
        cbor_item_t **items = oa_xmalloc(cap * sizeof(*items));
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (n == cap) {
                cap *= 2;
                items = oa_xrealloc(items, cap * sizeof(*items));
            }
            char day[11];
            oa_day_format((int32_t)sqlite3_column_int64(st, 0), day);
            cbor_item_t *m = pv_map(3);
            pv_put_text(m, "day", day);
            pv_put_bool(m, "workday", sqlite3_column_int(st, 1) != 0);
            pv_put_text(m, "note", (const char *)sqlite3_column_text(st, 2));
            items[n++] = m;
        }
        cbor_item_t *arr = pv_array_from(items, n);
        free(items);
        j->base.out = pv_map(1);
        pv_put(j->base.out, "days", arr);
        return 0;
    }
    case CAL_PUT:
    case CAL_DELETE: {
        char day[11];
        oa_day_format(j->day, day);
        if (!oa_calendar_may_change(me.roles)) {
            if (audit_misc(s, j, "calendar.change", day, "refused", "not secretariat") != 0)
                return OA_E_STORAGE;
            return misc_fail(j, OA_E_FORBIDDEN, "The secretariat keeps the calendar.");
        }
        if (j->op == CAL_PUT) {
            st = oa_store_stmt(s, "INSERT OR REPLACE INTO calendar(day, workday, note) VALUES (?,?,?)");
            if (st == NULL)
                return OA_E_STORAGE;
            sqlite3_bind_int64(st, 1, j->day);
            sqlite3_bind_int(st, 2, j->workday);
            sqlite3_bind_text(st, 3, j->note ? j->note : "", -1, SQLITE_STATIC);
        } else {
            st = oa_store_stmt(s, "DELETE FROM calendar WHERE day = ?");
            if (st == NULL)
                return OA_E_STORAGE;
            sqlite3_bind_int64(st, 1, j->day);
        }
        oa_calendar_changed();
        if (sqlite3_step(st) != SQLITE_DONE ||
            audit_misc(s, j, "calendar.change", day, "ok", j->op == CAL_PUT ? (j->workday ? "workday" : "holiday")
                                                                            : "cleared") != 0)
            return OA_E_STORAGE;
        j->base.status = 204;
        return 0;
    }
    case CHASE_LIST: {
        st = oa_store_stmt(s,
            "SELECT c.id, c.doc_id, d.title, b.username, c.note, c.at FROM chases c"
            " JOIN documents d ON d.id = c.doc_id JOIN users b ON b.id = c.by_id"
            " WHERE c.target_id = ? ORDER BY c.id DESC LIMIT 200");
        if (st == NULL)
            return OA_E_STORAGE;
        sqlite3_bind_int64(st, 1, me.id);
        struct {
            int64_t id, doc, at;
            char title[256], by[72], note[512];
        } rows[200];
        size_t n = 0;
        while (n < 200 && sqlite3_step(st) == SQLITE_ROW) {
            rows[n].id = sqlite3_column_int64(st, 0);
            rows[n].doc = sqlite3_column_int64(st, 1);
            pv_utf8_copy(rows[n].title, sizeof(rows[n].title), (const char *)sqlite3_column_text(st, 2));
            pv_utf8_copy(rows[n].by, sizeof(rows[n].by), (const char *)sqlite3_column_text(st, 3));
            pv_utf8_copy(rows[n].note, sizeof(rows[n].note), (const char *)sqlite3_column_text(st, 4));
            rows[n].at = sqlite3_column_int64(st, 5);
            n++;
        }
        sqlite3_reset(st);
        /* Only chases on documents the person may still see (the one decision). */
        cbor_item_t *items[200];
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            if (!oa_doc_readable(s, &me, rows[i].doc))
                continue;
            cbor_item_t *m = pv_map(6);
            pv_put_int(m, "id", rows[i].id);
            pv_put_int(m, "document_id", rows[i].doc);
            pv_put_text(m, "title", rows[i].title);
            pv_put_text(m, "by", rows[i].by);
            pv_put_text(m, "note", rows[i].note);
            pv_put_int(m, "at", rows[i].at);
            items[kept++] = m;
        }
        cbor_item_t *arr = pv_array_from(items, kept);
        j->base.out = pv_map(1);
        pv_put(j->base.out, "chases", arr);
        return 0;
    }
    }
    return OA_E_INTERNAL;
}

static void misc_submit(struct misc_job *j)
{
    oa_req_job_submit(&j->base);
}

static struct misc_job *misc_new(struct oa_req *r, enum misc_op op)
{
    /* Listing delegations or chases only reads: the reader threads.  (The
     * calendar's list goes through the writer's cache of it: the writer.) */
    unsigned flags = op == DLG_LIST || op == CHASE_LIST ? OA_JOB_READ : 0;
    struct misc_job *j = oa_req_job_new(r, sizeof(*j), misc_on_run, flags);
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
