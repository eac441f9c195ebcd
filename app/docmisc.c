/* app/docmisc.c: see docmisc.h. */
#include "app/docmisc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/doc_read.h"
#include "proto/alloc.h"
#include "storage/accounts.h"
#include "storage/docmisc.h"
#include "storage/documents.h"
#include "storage/store.h"
#include "workflow/access.h"
#include "workflow/calendar.h"

int oa_app_delegation_create(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me,
                             const char *to_name, const char *starts_on, const char *ends_on,
                             struct oa_app_outcome *o, cbor_item_t **out)
{
    struct oa_user to = {0};
    int rc = oa_user_by_name(s, to_name, &to);
    if (rc < 0)
        return OA_E_STORAGE;
    switch (oa_delegation_check(me->id, me->roles, rc == 1 && !to.disabled, to.id, to.roles)) {
    case OA_DELEGATION_OK: break;
    case OA_DELEGATION_NO_SUCH_USER: return oa_app_refuse(o, OA_E_BAD_FIELD, "field 'to' must name an active user."), 0;
    case OA_DELEGATION_SELF: return oa_app_refuse(o, OA_E_BAD_FIELD, "You cannot delegate to yourself."), 0;
    case OA_DELEGATION_ROLE:
        oa_app_refuse(o, OA_E_FORBIDDEN, "Administrators and the gateway neither give nor hold delegations.");
        return 0;
    }
    /* Whoever reset this password may be the one typing: no rights pass on
     * until secadmin has confirmed the account again. */
    if (me->clearance_hold || to.clearance_hold) {
        oa_app_refuse(o, OA_E_FORBIDDEN, "An account held after a password reset neither gives nor holds "
                                         "delegations until secadmin confirms its clearance.");
        return 0;
    }
    int64_t id = oa_delegation_insert(s, me->id, to.id, starts_on, ends_on);
    char detail[96];
    snprintf(detail, sizeof(detail), "%s to %s", starts_on, ends_on);
    if (id < 0 || oa_app_audit(s, by, "delegation.create", to.username, "ok", detail) != 0)
        return OA_E_STORAGE;
    *out = pv_map(4);
    pv_put_int(*out, "id", id);
    pv_put_text(*out, "to", to.username);
    pv_put_text(*out, "starts_on", starts_on);
    pv_put_text(*out, "ends_on", ends_on);
    return 0;
}

/* Items gathered from rows, then one array. */
struct items {
    cbor_item_t **v;
    size_t n, cap;
};

static void items_add(struct items *it, cbor_item_t *m)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 16;
        it->v = oa_xrealloc(it->v, it->cap * sizeof(*it->v));
    }
    it->v[it->n++] = m;
}

static int items_answer(struct items *it, int rc, const char *key, cbor_item_t **out)
{
    if (rc != 0) {
        for (size_t i = 0; i < it->n; i++)
            cbor_decref(&it->v[i]);
        free(it->v);
        return OA_E_STORAGE;
    }
    *out = pv_map(1);
    pv_put(*out, key, pv_array_from(it->v, it->n));
    free(it->v);
    return 0;
}

static void delegation_row(void *arg, const struct oa_delegation_row *row)
{
    cbor_item_t *m = pv_map(6);
    pv_put_int(m, "id", row->id);
    pv_put_text(m, "from", row->from);
    pv_put_text(m, "to", row->to);
    pv_put_text(m, "starts_on", row->starts_on);
    pv_put_text(m, "ends_on", row->ends_on);
    pv_put_int(m, "revoked", row->revoked);
    items_add(arg, m);
}

int oa_app_delegation_list(struct oa_store *s, const struct oa_user *me, cbor_item_t **out)
{
    struct items it = {0};
    return items_answer(&it, oa_delegation_each(s, me->id, delegation_row, &it), "delegations", out);
}

int oa_app_delegation_end(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me, int64_t id,
                          struct oa_app_outcome *o)
{
    int rc = oa_delegation_revoke(s, id, me->id);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0) {
        oa_app_refuse(o, OA_E_NOT_FOUND, "You gave no active delegation with that id.");
        return 0;
    }
    return oa_app_audit(s, by, "delegation.end", NULL, "ok", NULL) == 0 ? 0 : OA_E_STORAGE;
}

static void calendar_row(void *arg, int32_t day, bool workday, const char *note)
{
    char text[11];
    oa_day_format(day, text);
    cbor_item_t *m = pv_map(3);
    pv_put_text(m, "day", text);
    pv_put_bool(m, "workday", workday);
    pv_put_text(m, "note", note);
    items_add(arg, m);
}

int oa_app_calendar_list(struct oa_store *s, cbor_item_t **out)
{
    struct items it = {0};
    return items_answer(&it, oa_calendar_each(s, calendar_row, &it), "days", out);
}

int oa_app_calendar_change(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me, int32_t day,
                           bool clear, bool workday, const char *note, struct oa_app_outcome *o)
{
    char text[11];
    oa_day_format(day, text);
    if (!oa_calendar_may_change(me->roles)) {
        oa_app_refuse(o, OA_E_FORBIDDEN, "The secretariat keeps the calendar.");
        return oa_app_audit(s, by, "calendar.change", text, "refused", "not secretariat") == 0 ? 0 : OA_E_STORAGE;
    }
    oa_calendar_changed();
    int rc = clear ? oa_calendar_clear(s, day) : oa_calendar_set(s, day, workday, note);
    if (rc != 0 || oa_app_audit(s, by, "calendar.change", text, "ok",
                                clear ? "cleared" : workday ? "workday" : "holiday") != 0)
        return OA_E_STORAGE;
    return 0;
}

int oa_app_chases(struct oa_store *s, const struct oa_user *me, cbor_item_t **out)
{
    struct oa_chase_row *rows = oa_xmalloc(OA_CHASES_MAX * sizeof(*rows));
    int n = oa_chases_for(s, me->id, rows);
    if (n < 0) {
        free(rows);
        return OA_E_STORAGE;
    }
    /* Only chases on documents the person may still see (the one decision). */
    struct items it = {0};
    for (int i = 0; i < n; i++) {
        if (!oa_doc_readable(s, me, rows[i].doc))
            continue;
        cbor_item_t *m = pv_map(6);
        pv_put_int(m, "id", rows[i].id);
        pv_put_int(m, "document_id", rows[i].doc);
        pv_put_text(m, "title", rows[i].title);
        pv_put_text(m, "by", rows[i].by);
        pv_put_text(m, "note", rows[i].note);
        pv_put_int(m, "at", rows[i].at);
        items_add(&it, m);
    }
    free(rows);
    return items_answer(&it, 0, "chases", out);
}
