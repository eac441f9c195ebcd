/*
 * server/h_doc_action.c: lifecycle actions (POST /v1/documents/{id}/actions): the
 * flow step decided by workflow/docflow.c and its effects (numbers,
 * distribution, countersign rounds, deadlines, circulation, chases, replies).
 * Part of the document routes (h_documents.c), joined by documents-int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/doc_read.h"
#include "proto/value.h"
#include "server/documents-int.h"
#include "server/handlers.h"
#include "server/server.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "workflow/access.h"
#include "workflow/calendar.h"
#include "workflow/deadline.h"
#include "workflow/docflow.h"

/* ---- actions ---- */

/* Resolves a list of usernames in params[key] to ids; -1 unknown name or bad type, -2 storage. */
static int names_to_ids(struct oa_store *s, const cbor_item_t *params, const char *key, int64_t *ids, int *n,
                        const char **bad)
{
    const cbor_item_t *arr = pv_get(params, key);
    *n = 0;
    if (arr == NULL)
        return 0;
    if (!cbor_isa_array(arr) || cbor_array_size(arr) > MAX_NAMES)
        return -1;
    for (size_t i = 0; i < cbor_array_size(arr); i++) {
        cbor_item_t *it = cbor_array_handle(arr)[i];
        char name[OA_USERNAME_MAX + 1];
        if (!cbor_isa_string(it) || !cbor_string_is_definite(it) || cbor_string_length(it) > OA_USERNAME_MAX)
            return -1;
        memcpy(name, cbor_string_handle(it), cbor_string_length(it));
        name[cbor_string_length(it)] = '\0';
        int64_t id = oa_user_id_by_name(s, name);
        if (id < 0)
            return -2;
        if (id == 0) {
            *bad = key;
            return -1;
        }
        ids[(*n)++] = id;
    }
    return 0;
}

static const char *param_text(const cbor_item_t *params, const char *key, char *buf, size_t cap)
{
    const cbor_item_t *v = pv_get(params, key);
    if (v == NULL || !cbor_isa_string(v) || !cbor_string_is_definite(v) || cbor_string_length(v) == 0 ||
        cbor_string_length(v) >= cap || !pv_utf8_ok(cbor_string_handle(v), cbor_string_length(v)))
        return NULL;
    memcpy(buf, cbor_string_handle(v), cbor_string_length(v));
    buf[cbor_string_length(v)] = '\0';
    return buf;
}

static int64_t param_int(const cbor_item_t *params, const char *key)
{
    const cbor_item_t *v = pv_get(params, key);
    if (v == NULL || !cbor_isa_uint(v) || cbor_get_int(v) > INT64_MAX)
        return 0;
    return (int64_t)cbor_get_int(v);
}

static bool department_exists(struct oa_store *s, int64_t id)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT 1 FROM departments WHERE id = ?");
    if (st == NULL)
        return false;
    sqlite3_bind_int64(st, 1, id);
    return sqlite3_step(st) == SQLITE_ROW;
}

static int issue_copy(struct oa_store *s, const struct oa_doc *d, int64_t organ_id, int64_t dept, int64_t actor,
                      char *detail, size_t detail_len, size_t *off);

/*
 * Creates the incoming copies of an issued document for each named
 * department (params.to_departments) and organ (params.to_organs) on this
 * server, linked back to it.
 */
static int distribute(struct oa_store *s, struct doc_job *j, const struct oa_doc *d, const cbor_item_t *params,
                      int64_t actor, char *detail, size_t detail_len)
{
    size_t off = strlen(detail);
    for (int organs = 0; organs < 2; organs++) {
        const cbor_item_t *to = pv_get(params, organs ? "to_organs" : "to_departments");
        if (to == NULL)
            continue;
        if (!cbor_isa_array(to) || cbor_array_size(to) > MAX_NAMES)
            return oa__doc_fail(j, OA_E_BAD_FIELD,
                                "params.to_departments and params.to_organs must be lists of ids."),
                   1;
        for (size_t i = 0; i < cbor_array_size(to); i++) {
            cbor_item_t *it = cbor_array_handle(to)[i];
            int64_t target = cbor_isa_uint(it) ? (int64_t)cbor_get_int(it) : 0;
            sqlite3_stmt *st = oa_store_stmt(s, organs ? "SELECT id FROM organs WHERE id = ?"
                                                       : "SELECT organ_id FROM departments WHERE id = ?");
            if (st == NULL)
                return -1;
            sqlite3_bind_int64(st, 1, target);
            if (target <= 0 || sqlite3_step(st) != SQLITE_ROW)
                return oa__doc_fail(j, OA_E_BAD_FIELD, "params names a department or organ that does not exist."), 1;
            int64_t organ_id = sqlite3_column_int64(st, 0);
            int rc = issue_copy(s, d, organ_id, organs ? 0 : target, actor, detail, detail_len, &off);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/*
 * One incoming copy of d for an organ (and department, when given).  The
 * copy carries d's whole label, scope included: a copy never writes down.
 */
static int issue_copy(struct oa_store *s, const struct oa_doc *d, int64_t organ_id, int64_t dept, int64_t actor,
                      char *detail, size_t detail_len, size_t *off)
{
    struct oa_doc in = *d;
    in.id = 0;
    snprintf(in.kind, sizeof(in.kind), "incoming");
    in.def_version = oa_flow_version(OA_KIND_INCOMING);
    snprintf(in.state, sizeof(in.state), "%s", oa_flow_initial(OA_KIND_INCOMING));
    in.organ_id = organ_id;
    in.department_id = dept;
    if (oa_doc_load_body(s, (struct oa_doc *)d) != 0)
        return -1;
    in.body = oa_xstrdup(d->body);
    in.source_id = d->id;
    in.reply_id = in.assignee_id = in.lead_department_id = 0;
    in.request_due[0] = '\0';
    in.extended = false;
    in.drafter_id = actor;
    oa__doc_set_step_due(s, &in);
    size_t nscope = 0;
    char **scope = oa_doc_scope_of(s, d, &nscope);
    int rc = scope == NULL || oa_doc_insert(s, &in, actor) != 0 ||
             oa_doc_scope_set(s, &in, (const char *const *)scope, nscope) != 0 || oa__doc_update_queue(s, &in) != 0 ||
             oa_doc_step(s, in.id, "receive", "", in.state, actor, 0, "", d->doc_number) < 0;
    oa_strv_free(scope);
    if (!rc && *off < detail_len)
        *off += (size_t)snprintf(detail + *off, detail_len - *off, "%sincoming:%lld", *off ? " " : "",
                                 (long long)in.id);
    oa_doc_free(&in);
    return rc ? -1 : 0;
}

static bool delegation_active(struct oa_store *s, int64_t from, int64_t to)
{
    char today[11];
    oa_day_format(oa__doc_today_local(), today);
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT 1 FROM delegations WHERE from_id = ? AND to_id = ? AND revoked = 0"
        " AND starts_on <= ? AND ends_on >= ?");
    if (st == NULL)
        return false;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    sqlite3_bind_text(st, 3, today, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, today, -1, SQLITE_TRANSIENT);
    return sqlite3_step(st) == SQLITE_ROW;
}

int oa__doc_run_action(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me, eff;
    struct oa_doc d = {0};
    int rc;

    /* A retried request answers as the first did. */
    unsigned char *stored = NULL;
    size_t stored_len = 0;
    int stored_status = 0;
    rc = oa_idem_get(s, j->r->who.user_id, j->idem_key, &stored_status, &stored, &stored_len);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 1) {
        cbor_item_t *item = NULL;
        enum oa_err e = pv_decode_cbor(stored, stored_len, &item, NULL, 0);
        free(stored);
        if (e != OA_E_OK)
            return OA_E_STORAGE;
        j->status = stored_status;
        j->out = item;
        return 0;
    }

    if (oa__doc_me_from_session(s, j, &me) != 0)
        return OA_E_STORAGE;
    eff = me;
    rc = oa_doc_load(s, j->id, &d);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0)
        return oa__doc_not_found(j);
    if ((rc = oa_doc_gate_read(s, OA_REQ_ACTOR(j->r), &me, &d, "document.action")) <= 0)
        goto refused_read;

    /* Acting for someone else needs their active delegation to me. */
    if (j->on_behalf != NULL) {
        struct oa_user other;
        rc = oa_user_by_name(s, j->on_behalf, &other);
        if (rc < 0)
            goto storage;
        if (rc == 0 || !delegation_active(s, other.id, me.id)) {
            if (oa__doc_audit(s, j, "document.action", &d, d.state, NULL, j->on_behalf, "refused",
                              "no active delegation") != 0)
                goto storage;
            oa_doc_free(&d);
            return oa__doc_fail(j, OA_E_FORBIDDEN, "You hold no active delegation from that person.");
        }
        eff = other;
        if ((rc = oa_doc_gate_read(s, OA_REQ_ACTOR(j->r), &eff, &d, "document.action")) <= 0)
            goto refused_read;
    }

    /* What the acting person is to this document, and the facts guards need. */
    enum oa_doc_kind kind = (enum oa_doc_kind)oa_kind_parse(d.kind);
    struct oa_doc_actor actor = {.roles = eff.roles};
    int cs_pending = 0;
    bool is_cs = false, is_reader = false;
    if (oa_part_facts(s, d.id, eff.id, &cs_pending, &is_cs, &is_reader) != 0)
        goto storage;
    if (d.drafter_id == eff.id)
        actor.relations |= OA_REL_DRAFTER;
    if (is_cs)
        actor.relations |= OA_REL_COUNTERSIGNER;
    if (is_reader)
        actor.relations |= OA_REL_READER;
    if (d.assignee_id == eff.id)
        actor.relations |= OA_REL_ASSIGNEE;
    if (d.lead_department_id > 0 && eff.department_id == d.lead_department_id)
        actor.relations |= OA_REL_LEAD_DEPT;

    const cbor_item_t *p = j->params;
    struct oa_doc_facts facts = {0};
    int64_t cs[MAX_NAMES], readers[MAX_NAMES];
    int ncs = 0, nreaders = 0;
    const char *bad = NULL;
    bool cs_given = pv_get(p, "countersigners") != NULL;
    if ((rc = names_to_ids(s, p, "countersigners", cs, &ncs, &bad)) != 0 ||
        (rc = names_to_ids(s, p, "readers", readers, &nreaders, &bad)) != 0) {
        oa_doc_free(&d);
        if (rc == -2)
            return OA_E_STORAGE;
        return oa__doc_fail(j, OA_E_BAD_FIELD,
                            bad ? "A name in the params is not a user." : "params lists must hold usernames.");
    }
    facts.countersign_pending = cs_pending;
    facts.countersign_named = cs_given ? ncs : facts.countersign_pending;
    facts.has_opinion = j->opinion != NULL && j->opinion[0] != '\0';
    facts.extended = d.extended;
    facts.extend_days = (int)param_int(p, "days");
    int64_t lead = param_int(p, "lead_department_id");
    facts.has_lead_dept = lead > 0 && department_exists(s, lead);
    facts.has_readers = nreaders > 0;
    char prefix[64], target_name[OA_USERNAME_MAX + 1], assignee_name[OA_USERNAME_MAX + 1], received[16];
    facts.has_prefix = param_text(p, "prefix", prefix, sizeof(prefix)) != NULL;
    int64_t target = 0, assignee = 0;
    if (param_text(p, "target", target_name, sizeof(target_name)) != NULL)
        target = oa_user_id_by_name(s, target_name);
    facts.has_target = target > 0;
    if (param_text(p, "assignee", assignee_name, sizeof(assignee_name)) != NULL)
        assignee = oa_user_id_by_name(s, assignee_name);
    facts.has_assignee = assignee > 0;
    facts.has_recipients = pv_get(p, "to_departments") != NULL;
    int64_t reply_id = param_int(p, "reply_document_id");
    if (reply_id > 0) {
        struct oa_doc reply;
        rc = oa_doc_load(s, reply_id, &reply);
        if (rc < 0)
            goto storage;
        facts.reply_is_public_outgoing =
            rc == 1 && strcmp(reply.kind, "outgoing") == 0 && reply.level == OA_LEVEL_PUBLIC;
        if (rc == 1)
            oa_doc_free(&reply);
    }

    struct oa_flow_answer ans;
    enum oa_flow_result res = oa_flow_step(kind, d.def_version, d.state, j->action, &actor, &facts, &ans);
    if (res != OA_FLOW_OK) {
        enum oa_err e = res == OA_FLOW_NOT_ALLOWED                 ? OA_E_FORBIDDEN
                        : res == OA_FLOW_BAD_STATE                 ? OA_E_CONFLICT
                        : res == OA_FLOW_GUARD && facts.extended && strcmp(j->action, "extend") == 0
                                                                   ? OA_E_CONFLICT
                        : res == OA_FLOW_BAD_VERSION               ? OA_E_CONFLICT
                                                                   : OA_E_BAD_FIELD;
        if (oa__doc_audit(s, j, "document.action", &d, d.state, NULL, eff.id != me.id ? eff.username : NULL,
                          "refused", ans.reason) != 0)
            goto storage;
        oa_doc_free(&d);
        return oa__doc_fail(j, e, ans.reason);
    }

    /* Apply the transition and its effects. */
    char from[32], detail[512] = "";
    snprintf(from, sizeof(from), "%s", d.state);
    bool leaving_countersign = strcmp(from, "countersign") == 0 && strcmp(ans.next_state, "countersign") != 0;
    if (strcmp(j->action, "object") == 0 && oa_part_set(s, d.id, "countersigner", eff.id, "objected") != 0)
        goto storage;
    if ((ans.effects & OA_FX_COUNTERSIGN_VOTE) && oa_part_set(s, d.id, "countersigner", eff.id, "approved") != 0)
        goto storage;
    if (leaving_countersign && oa_part_cancel_pending(s, d.id) != 0)
        goto storage;
    if ((ans.effects & OA_FX_NAME_COUNTERSIGNERS) && cs_given && oa_part_new_round(s, d.id, cs, ncs) != 0)
        goto storage;
    if (ans.effects & OA_FX_SET_SIGNER)
        snprintf(d.signer, sizeof(d.signer), "%s", eff.display_name);
    if (ans.effects & OA_FX_ALLOCATE_NUMBER) {
        if (oa_number_allocate(s, d.organ_id, prefix, oa__doc_year_local(), d.id, d.doc_number,
                               sizeof(d.doc_number)) != 0)
            goto storage;
        snprintf(detail, sizeof(detail), "number %s", d.doc_number);
    }
    if ((ans.effects & OA_FX_VOID_NUMBER) && d.doc_number[0]) {
        if (oa_number_void(s, d.id, d.doc_number, j->opinion ? j->opinion : "") != 0)
            goto storage;
        snprintf(detail, sizeof(detail), "voided %s", d.doc_number);
        d.doc_number[0] = '\0';
    }
    if (ans.effects & OA_FX_DISTRIBUTE) {
        rc = distribute(s, j, &d, p, me.id, detail, sizeof(detail));
        if (rc != 0) {
            oa_doc_free(&d);
            return rc < 0 ? OA_E_STORAGE : OA_E_BAD_FIELD; /* rolls back the step so far */
        }
    }
    if (ans.effects & (OA_FX_SET_DUE_REQUEST | OA_FX_EXTEND_DUE)) {
        size_t nex = 0;
        const struct oa_day_exception *ex = oa_calendar_get(s, &nex);
        int32_t start, due = INT32_MIN;
        if (ans.effects & OA_FX_SET_DUE_REQUEST) {
            /* The request deadline runs from the day the request was received. */
            start = param_text(p, "received_on", received, sizeof(received)) ? oa_day_parse(received)
                                                                              : oa__doc_today_local();
            if (start != INT32_MIN)
                due = oa_request_due(start, ex, nex);
        } else {
            start = oa_day_parse(d.request_due);
            if (start != INT32_MIN)
                due = oa_request_extend(start, facts.extend_days, ex, nex);
            d.extended = true;
        }
        if (due == INT32_MIN) {
            oa_doc_free(&d);
            oa__doc_fail(j, OA_E_BAD_FIELD, "params.received_on must be a date, YYYY-MM-DD.");
            return OA_E_BAD_FIELD; /* roll back whatever this action wrote */
        }
        oa_day_format(due, d.request_due);
        snprintf(detail, sizeof(detail), "due %s", d.request_due);
    }
    if (ans.effects & OA_FX_SET_ASSIGNEE)
        d.assignee_id = assignee;
    if (ans.effects & OA_FX_SET_LEAD_DEPT)
        d.lead_department_id = lead;
    if ((ans.effects & OA_FX_CIRCULATE) && oa_part_add_readers(s, d.id, readers, nreaders) != 0)
        goto storage;
    if ((ans.effects & OA_FX_READ_RECEIPT) && oa_part_set(s, d.id, "reader", eff.id, "read") != 0)
        goto storage;
    if (ans.effects & OA_FX_CHASE) {
        sqlite3_stmt *st = oa_store_stmt(s, "INSERT INTO chases(doc_id, target_id, by_id, note, at) VALUES (?,?,?,?,?)");
        if (st == NULL)
            goto storage;
        sqlite3_bind_int64(st, 1, d.id);
        sqlite3_bind_int64(st, 2, target);
        sqlite3_bind_int64(st, 3, me.id);
        sqlite3_bind_text(st, 4, j->opinion ? j->opinion : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, oa_now());
        if (sqlite3_step(st) != SQLITE_DONE)
            goto storage;
        snprintf(detail, sizeof(detail), "chased %s", target_name);
    }
    if (ans.effects & OA_FX_LINK_REPLY) {
        struct oa_doc reply;
        if (oa_doc_load(s, reply_id, &reply) != 1)
            goto storage;
        reply.source_id = d.id;
        d.reply_id = reply_id;
        rc = oa_doc_save(s, &reply, me.id, 0, NULL);
        oa_doc_free(&reply);
        if (rc != 0)
            goto storage;
    }
    /* ans.next_state may point into d.state itself; `from` is the copy. */
    char next[32];
    snprintf(next, sizeof(next), "%s", ans.next_state);
    bool moved = strcmp(from, next) != 0;
    memcpy(d.state, next, sizeof(next));
    if (moved)
        oa__doc_set_step_due(s, &d);
    if (oa_doc_save(s, &d, me.id, 0, NULL) != 0 || oa__doc_update_queue(s, &d) != 0)
        goto storage;
    int64_t step = oa_doc_step(s, d.id, j->action, from, d.state, me.id, eff.id != me.id ? eff.id : 0,
                               j->opinion, detail);
    char event[64];
    snprintf(event, sizeof(event), "document.%s", j->action);
    if (step < 0 || oa__doc_audit(s, j, event, &d, from, d.state, eff.id != me.id ? eff.username : NULL, "ok",
                                  detail[0] ? detail : NULL) != 0)
        goto storage;

    cbor_item_t *out = pv_map(2);
    pv_put(out, "document", oa__doc_state_item(&d));
    pv_put_int(out, "step_id", step);
    size_t len = 0;
    unsigned char *enc = pv_encode_cbor(out, &len);
    rc = enc ? oa_idem_put(s, me.id, j->idem_key, 200, enc, len) : -1;
    if (rc != 0) {
        free(enc);
        cbor_decref(&out);
        goto storage;
    }
    j->status = 200;
    if (j->r->out_fmt == OA_FMT_CBOR) {
        j->bytes = enc; /* the same bytes a retry gets */
        j->nbytes = len;
        cbor_decref(&out);
    } else {
        free(enc);
        j->out = out;
    }
    oa_doc_free(&d);
    return 0;

refused_read:
    oa_doc_free(&d);
    return rc < 0 ? OA_E_STORAGE : oa__doc_not_found(j);
storage:
    oa_doc_free(&d);
    return OA_E_STORAGE;
}
