/*
 * server/h_documents.c: official documents over HTTP.
 *
 *   POST  /v1/documents                    create (outgoing, incoming, request)
 *   GET   /v1/documents/{id}               read, with ETag "d<id>-<revision>"
 *   PATCH /v1/documents/{id}               edit draft fields (If-Match)
 *   POST  /v1/documents/{id}/actions       act: {action, opinion, params, on_behalf_of}
 *                                          with an Idempotency-Key header
 *   GET   /v1/documents/{id}/history       steps and opinions, revisions, participants
 *   GET   /v1/documents/{id}/revisions/{n} one earlier text
 *   GET   /v1/documents?view=todo|done|all&state=&kind=&number=&from=&to=&overdue=1&q=
 *
 * Who may act is decided by workflow/docflow.c, who may see by
 * oa_access_read_doc; a document someone may not see answers 404 exactly as
 * a missing one does, and the refusal is audited.  Every change takes the
 * next value of the global change sequence (storage/documents.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/doc_read.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "server/server.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "workflow/access.h"
#include "workflow/calendar.h"
#include "workflow/deadline.h"
#include "workflow/docflow.h"

#define MAX_NAMES 64

/* ------------------------------------------------------------------------ */
/* shared helpers                                                           */
/* ------------------------------------------------------------------------ */

/* Today's date in local time, as days since the epoch (the offset is re-read each minute). */
static int32_t today_local(void)
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

static int year_local(void)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    return tm.tm_year + 1900;
}

static void doc_etag(const struct oa_doc *d, char *out, size_t n)
{
    snprintf(out, n, "\"d%lld-%lld\"", (long long)d->id, (long long)d->revision);
}

static void put_id(cbor_item_t *m, const char *k, int64_t v)
{
    if (v > 0)
        pv_put_int(m, k, v);
    else
        pv_put_text(m, k, NULL);
}

static void put_opt(cbor_item_t *m, const char *k, const char *v)
{
    pv_put_text(m, k, v && v[0] ? v : NULL);
}

/* The document as the API shows it, with its label's scope; the body only when asked. */
static cbor_item_t *doc_item(struct oa_store *s, const struct oa_doc *d, bool with_body)
{
    cbor_item_t *m = pv_map(with_body ? 36 : 35);
    size_t nscope = 0;
    char **scope = oa_doc_scope_of(s, d, &nscope);
    cbor_item_t *sc = pv_array(nscope);
    for (size_t i = 0; i < nscope; i++)
        pv_push(sc, pv_text(scope[i]));
    oa_strv_free(scope);
    pv_put(m, "scope", sc);
    put_opt(m, "declass_date", d->declass_date);
    pv_put_int(m, "id", d->id);
    pv_put_text(m, "kind", d->kind);
    pv_put_int(m, "def_version", d->def_version);
    pv_put_text(m, "state", d->state);
    pv_put_int(m, "revision", d->revision);
    pv_put_text(m, "title", d->title);
    pv_put_text(m, "doc_type", d->doc_type);
    pv_put_text(m, "copy_no", d->copy_no);
    pv_put_int(m, "level", d->level);
    pv_put_text(m, "level_name", oa_level_name(d->level));
    pv_put_text(m, "secrecy_period", d->secrecy_period);
    pv_put_text(m, "urgency", d->urgency);
    put_id(m, "organ_id", d->organ_id);
    put_id(m, "department_id", d->department_id);
    put_opt(m, "doc_number", d->doc_number);
    pv_put_text(m, "signer", d->signer);
    pv_put_text(m, "main_recipients", d->main_recipients);
    pv_put_text(m, "copied_recipients", d->copied_recipients);
    if (with_body) {
        oa_doc_load_body(s, (struct oa_doc *)d);
        pv_put_text(m, "body", d->body ? d->body : "");
    }
    pv_put_text(m, "attachment_note", d->attachment_note);
    pv_put_text(m, "doc_date", d->doc_date);
    pv_put_text(m, "note", d->note);
    pv_put_text(m, "printing_organ", d->printing_organ);
    pv_put_text(m, "printing_date", d->printing_date);
    pv_put_int(m, "drafter_id", d->drafter_id);
    put_id(m, "source_id", d->source_id);
    put_id(m, "reply_id", d->reply_id);
    put_id(m, "assignee_id", d->assignee_id);
    put_id(m, "lead_department_id", d->lead_department_id);
    put_opt(m, "step_due", d->step_due);
    put_opt(m, "request_due", d->request_due);
    pv_put_bool(m, "extended", d->extended);
    pv_put_int(m, "created_at", d->created_at);
    pv_put_int(m, "updated_at", d->updated_at);
    return m;
}

/* What an action changed: the answer to an action, also kept for its retries. */
static cbor_item_t *doc_state_item(const struct oa_doc *d)
{
    cbor_item_t *m = pv_map(11);
    pv_put_int(m, "id", d->id);
    pv_put_text(m, "kind", d->kind);
    pv_put_text(m, "state", d->state);
    pv_put_int(m, "revision", d->revision);
    pv_put_int(m, "level", d->level);
    put_opt(m, "doc_number", d->doc_number);
    pv_put_text(m, "signer", d->signer);
    put_opt(m, "step_due", d->step_due);
    put_opt(m, "request_due", d->request_due);
    pv_put_bool(m, "extended", d->extended);
    pv_put_int(m, "updated_at", d->updated_at);
    return m;
}

/* Working-day deadline for the step a document has just entered. */
static void set_step_due(struct oa_store *s, struct oa_doc *d)
{
    enum oa_doc_kind kind = (enum oa_doc_kind)oa_kind_parse(d->kind);
    if (oa_flow_terminal(kind, d->def_version, d->state)) {
        d->step_due[0] = '\0';
        return;
    }
    size_t n = 0;
    const struct oa_day_exception *ex = oa_calendar_get(s, &n);
    oa_day_format(oa_step_due(today_local(), d->urgency, ex, n), d->step_due);
}

/* Rebuilds the to-do queue for the state the document is in. */
static int update_queue(struct oa_store *s, const struct oa_doc *d)
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
     * to a department is signed for by that department's clerks. */
    int64_t dept = kind == OA_KIND_INCOMING ? d->department_id : 0;
    rc = oa_queue_set(s, d->id, roles, d->organ_id, dept, users, n);
out:
    free(users);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* the job every document route runs                                        */
/* ------------------------------------------------------------------------ */

enum doc_op { OP_CREATE, OP_GET, OP_EDIT, OP_ACTION, OP_HISTORY, OP_REVISION, OP_LIST, OP_RELABEL, OP_EXPIRED };

struct doc_job {
    struct oa_db_job job;
    struct oa_req *r;
    enum doc_op op;
    int64_t id;

    /* create and edit: the fields given (NULL when absent) */
    const char *kind, *title, *body, *doc_type, *copy_no, *secrecy_period, *urgency, *main_recipients,
        *copied_recipients, *attachment_note, *doc_date, *note, *printing_organ, *printing_date;
    int64_t level;
    bool has_level;
    const cbor_item_t *scope;     /* array of text, or NULL */
    const char *declass_date, *reason;
    int64_t derived_from;
    char **scope_v;               /* parsed scope (owned) */
    size_t nscope;

    /* actions */
    const char *action, *opinion, *on_behalf, *idem_key;
    bool from_sync;               /* a pushed operation: its base revision was checked already */
    const cbor_item_t *params;

    /* revision and list */
    int64_t revision;
    const char *view, *state, *number, *q;
    int64_t from, to, after, limit;
    bool overdue;

    /* result */
    int status;
    enum oa_err err;
    const char *message;
    cbor_item_t *out;
    unsigned char *bytes;   /* the CBOR response, encoded on the writer thread */
    size_t nbytes;
    char etag[48];
};

static int fail(struct doc_job *j, enum oa_err e, const char *message)
{
    j->err = e;
    j->message = message;
    return 0;
}

static int not_found(struct doc_job *j)
{
    return fail(j, OA_E_NOT_FOUND, "No such document.");
}

/* Reads the caller fresh from the database (roles and clearance may have changed). */
static int load_me(struct oa_store *s, struct doc_job *j, struct oa_user *me)
{
    return oa_user_by_id(s, j->r->who.user_id, me) == 1 ? 0 : -1;
}

/*
 * The caller as the session layer knows them, without a query, when no
 * account or session has changed since it was read (oa_accounts_epoch);
 * otherwise read again.
 */
static int me_from_session(struct oa_store *s, struct doc_job *j, struct oa_user *me)
{
    const struct oa_principal *p = &j->r->who;
    if (p->epoch != oa_accounts_epoch())
        return load_me(s, j, me); /* an account changed since: read it again */
    memset(me, 0, sizeof(*me));
    me->id = p->user_id;
    me->roles = p->roles;
    me->clearance = p->clearance;
    me->declassifier = p->declassifier;
    me->department_id = p->department_id;
    snprintf(me->username, sizeof(me->username), "%s", p->username);
    snprintf(me->display_name, sizeof(me->display_name), "%s", p->display_name);
    return 0;
}

/* ---- create ---- */

static const char *fit(const char *v, char *dst, size_t cap, bool *too_long)
{
    if (v == NULL)
        return dst;
    if (strlen(v) >= cap)
        *too_long = true;
    else
        memcpy(dst, v, strlen(v) + 1);
    return dst;
}

/* Copies the given text fields into d; false when one is too long. */
static bool apply_fields(struct doc_job *j, struct oa_doc *d, char *changed, size_t changed_len)
{
    bool too_long = false;
    struct {
        const char *name, *v;
        char *dst;
        size_t cap;
    } f[] = {
        {"title", j->title, d->title, sizeof(d->title)},
        {"doc_type", j->doc_type, d->doc_type, sizeof(d->doc_type)},
        {"copy_no", j->copy_no, d->copy_no, sizeof(d->copy_no)},
        {"secrecy_period", j->secrecy_period, d->secrecy_period, sizeof(d->secrecy_period)},
        {"urgency", j->urgency, d->urgency, sizeof(d->urgency)},
        {"main_recipients", j->main_recipients, d->main_recipients, sizeof(d->main_recipients)},
        {"copied_recipients", j->copied_recipients, d->copied_recipients, sizeof(d->copied_recipients)},
        {"attachment_note", j->attachment_note, d->attachment_note, sizeof(d->attachment_note)},
        {"doc_date", j->doc_date, d->doc_date, sizeof(d->doc_date)},
        {"note", j->note, d->note, sizeof(d->note)},
        {"printing_organ", j->printing_organ, d->printing_organ, sizeof(d->printing_organ)},
        {"printing_date", j->printing_date, d->printing_date, sizeof(d->printing_date)},
    };
    changed[0] = '\0';
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (f[i].v == NULL || strcmp(f[i].v, f[i].dst) == 0)
            continue;
        fit(f[i].v, f[i].dst, f[i].cap, &too_long);
        size_t cl = strlen(changed);
        snprintf(changed + cl, changed_len - cl, "%s%s", cl ? "," : "", f[i].name);
    }
    if (j->body != NULL && strcmp(j->body, d->body ? d->body : "") != 0) {
        free(d->body);
        d->body = oa_xstrdup(j->body);
        size_t cl = strlen(changed);
        snprintf(changed + cl, changed_len - cl, "%sbody", cl ? "," : "");
    }
    return !too_long;
}

static int audit_doc(struct oa_store *s, struct doc_job *j, const char *event, const struct oa_doc *d,
                     const char *from, const char *to, const char *on_behalf, const char *outcome,
                     const char *detail)
{
    struct oa_audit_event ev = {0};
    oa_audit_actor(j->r, &ev);
    ev.event = event;
    ev.doc_id = d->id;
    ev.label = d->level;
    ev.from_state = from;
    ev.to_state = to;
    ev.on_behalf = on_behalf;
    ev.outcome = outcome;
    ev.detail = detail;
    return oa_audit(s, &ev);
}

static int run_create(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    if (load_me(s, j, &me) != 0)
        return OA_E_STORAGE;
    int kind = oa_kind_parse(j->kind);
    if (!oa_flow_may_create((enum oa_doc_kind)kind, me.roles)) {
        struct oa_audit_event ev = {0};
        oa_audit_actor(j->r, &ev);
        ev.event = "document.create";
        ev.label = (int)j->level;
        ev.outcome = "refused";
        ev.detail = "role may not create this kind of document";
        if (oa_audit(s, &ev) != 0)
            return OA_E_STORAGE;
        return fail(j, OA_E_FORBIDDEN, "Your role may not create this kind of document.");
    }
    struct oa_subject subj = {me.id, me.roles, me.clearance, false, me.clearance_hold};
    if (oa_access_read_doc(&subj, (int)j->level) != OA_ALLOW)
        return fail(j, OA_E_FORBIDDEN, "You cannot create a document labelled above your own clearance.");

    struct oa_doc d = {0};
    snprintf(d.kind, sizeof(d.kind), "%s", j->kind);
    d.def_version = OA_FLOW_VERSION;
    snprintf(d.state, sizeof(d.state), "%s", oa_flow_initial((enum oa_doc_kind)kind));
    snprintf(d.urgency, sizeof(d.urgency), "ordinary");
    d.body = oa_xstrdup("");
    d.level = (int)j->level;
    d.drafter_id = me.id;
    d.department_id = me.department_id;
    if (me.department_id > 0) {
        sqlite3_stmt *st = oa_store_stmt(s, "SELECT organ_id FROM departments WHERE id = ?");
        if (st == NULL)
            goto storage;
        sqlite3_bind_int64(st, 1, me.department_id);
        if (sqlite3_step(st) == SQLITE_ROW)
            d.organ_id = sqlite3_column_int64(st, 0);
    }
    char changed[256];
    if (!apply_fields(j, &d, changed, sizeof(changed))) {
        oa_doc_free(&d);
        return fail(j, OA_E_BAD_FIELD, "A field is longer than the document format allows.");
    }
    if (j->declass_date)
        snprintf(d.declass_date, sizeof(d.declass_date), "%s", j->declass_date);
    const char *const *scope = (const char *const *)j->scope_v;
    size_t nscope = j->nscope;
    char **source_scope = NULL;
    if (j->derived_from > 0) {
        /* A reply, copy or excerpt starts at least as high as its source. */
        struct oa_doc src;
        int rc = oa_doc_load(s, j->derived_from, &src);
        if (rc < 0)
            goto storage;
        if (rc == 0 || (rc = oa_doc_gate_read(s, OA_REQ_ACTOR(j->r), &me, &src, "document.derive")) <= 0) {
            if (rc == 1)
                oa_doc_free(&src);
            oa_doc_free(&d);
            return rc < 0 ? OA_E_STORAGE : fail(j, OA_E_BAD_FIELD, "derived_from names no document you can see.");
        }
        size_t nsrc = 0;
        source_scope = oa_doc_scope(s, src.id, &nsrc);
        struct oa_label lsrc = {src.level, (const char *const *)source_scope, nsrc};
        struct oa_label asked = {d.level, scope, nscope};
        struct oa_label lnew;
        bool dominates = oa_label_derive(&lsrc, &asked, j->has_level, j->scope != NULL, &lnew);
        d.level = lnew.level;
        scope = lnew.scope;
        nscope = lnew.nscope;
        d.source_id = src.id;
        oa_doc_free(&src);
        if (!dominates) {
            oa_strv_free(source_scope);
            oa_doc_free(&d);
            return fail(j, OA_E_FORBIDDEN,
                        "A derived document is labelled at least as high, and scoped no wider, than its source.");
        }
    }
    if (nscope > 0) {
        size_t ncomp = 0;
        char **comps = oa_user_compartments(s, me.id);
        while (comps && comps[ncomp])
            ncomp++;
        struct oa_subject me_subj = {me.id, me.roles, me.clearance, false, me.clearance_hold};
        struct oa_reader rd = {&me_subj, me.username, me.department_id, (const char *const *)comps, ncomp};
        struct oa_label lb = {d.level, scope, nscope};
        enum oa_decision dec = oa_access_read(&rd, &lb);
        oa_strv_free(comps);
        if (dec != OA_ALLOW) {
            oa_strv_free(source_scope);
            oa_doc_free(&d);
            return fail(j, OA_E_BAD_FIELD, "That scope would leave you unable to read your own document.");
        }
    }
    set_step_due(s, &d);
    if (oa_doc_insert(s, &d, me.id) != 0 || oa_doc_scope_set(s, &d, scope, nscope) != 0) {
        oa_strv_free(source_scope);
        goto storage;
    }
    oa_strv_free(source_scope);
    if (update_queue(s, &d) != 0 ||
        oa_doc_step(s, d.id, "create", "", d.state, me.id, 0, "", "") < 0 ||
        audit_doc(s, j, "document.create", &d, NULL, d.state, NULL, "ok", d.kind) != 0)
        goto storage;
    j->status = 201;
    j->out = doc_item(s, &d, true);
    doc_etag(&d, j->etag, sizeof(j->etag));
    oa_doc_free(&d);
    return 0;
storage:
    oa_doc_free(&d);
    return OA_E_STORAGE;
}

/*
 * Loads the caller and the document and applies the read gate.  Returns true
 * with d loaded (the caller frees it); false with *ret set to what the job
 * returns (a refusal reads as "no such document", as a missing one does).
 */
static bool open_doc(struct oa_store *s, struct doc_job *j, struct oa_user *me, struct oa_doc *d, const char *what,
                     int *ret)
{
    enum oa_err err = OA_E_OK;
    const char *message = NULL;
    int rc = oa_doc_open_for(s, OA_REQ_ACTOR(j->r), j->id, false, what, me, d, &err, &message);
    if (rc == 1)
        return true;
    *ret = rc < 0 ? OA_E_STORAGE : fail(j, err, message);
    return false;
}

/* ---- read, history, one revision ---- */

static int run_get(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    struct oa_doc d;
    int rc;
    const char *what = j->op == OP_GET ? "document.read" : j->op == OP_HISTORY ? "document.history"
                                                                                : "document.revision";
    if (!open_doc(s, j, &me, &d, what, &rc))
        return rc;
    if (d.level > OA_LEVEL_PUBLIC && audit_doc(s, j, what, &d, NULL, NULL, NULL, "ok", NULL) != 0) {
        oa_doc_free(&d);
        return OA_E_STORAGE;
    }
    j->status = 200;
    if (j->op == OP_GET) {
        j->out = doc_item(s, &d, true);
        doc_etag(&d, j->etag, sizeof(j->etag));
        oa_doc_free(&d);
        return 0;
    }
    oa_doc_free(&d);
    if (j->op == OP_REVISION) {
        sqlite3_stmt *st = oa_store_stmt(s,
            "SELECT r.revision, r.at, r.changed, r.title, r.body, u.username FROM doc_revisions r"
            " JOIN users u ON u.id = r.author_id WHERE r.doc_id = ? AND r.revision = ?");
        if (st == NULL)
            return OA_E_STORAGE;
        sqlite3_bind_int64(st, 1, j->id);
        sqlite3_bind_int64(st, 2, j->revision);
        if (sqlite3_step(st) != SQLITE_ROW)
            return fail(j, OA_E_NOT_FOUND, "The document has no text revision with that number.");
        cbor_item_t *m = pv_map(6);
        pv_put_int(m, "revision", sqlite3_column_int64(st, 0));
        pv_put_int(m, "at", sqlite3_column_int64(st, 1));
        pv_put_text(m, "changed", (const char *)sqlite3_column_text(st, 2));
        pv_put_text(m, "title", (const char *)sqlite3_column_text(st, 3));
        pv_put_text(m, "body", (const char *)sqlite3_column_text(st, 4));
        pv_put_text(m, "author", (const char *)sqlite3_column_text(st, 5));
        j->out = m;
        return 0;
    }

    /* History: steps with opinions, text revisions, participants, chases. */
    cbor_item_t *rows[4] = {0};
    static const char *const sql[4] = {
        "SELECT s.id, s.action, s.from_state, s.to_state, a.username, b.username, s.opinion, s.detail, s.at"
        " FROM doc_steps s JOIN users a ON a.id = s.actor_id LEFT JOIN users b ON b.id = s.on_behalf_id"
        " WHERE s.doc_id = ? ORDER BY s.id LIMIT 10000",
        "SELECT r.revision, u.username, r.at, r.changed FROM doc_revisions r JOIN users u ON u.id = r.author_id"
        " WHERE r.doc_id = ? ORDER BY r.revision LIMIT 10000",
        "SELECT u.username, p.part, p.round, p.status, p.acted_at FROM doc_participants p"
        " JOIN users u ON u.id = p.user_id WHERE p.doc_id = ? ORDER BY p.part, p.round, u.username LIMIT 10000",
        "SELECT t.username, b.username, c.note, c.at FROM chases c JOIN users t ON t.id = c.target_id"
        " JOIN users b ON b.id = c.by_id WHERE c.doc_id = ? ORDER BY c.id LIMIT 10000",
    };
    static const char *const keys[4] = {"steps", "revisions", "participants", "chases"};
    cbor_item_t *out = pv_map(4);
    for (int k = 0; k < 4; k++) {
        sqlite3_stmt *st = oa_store_stmt(s, sql[k]);
        if (st == NULL) {
            cbor_decref(&out);
            return OA_E_STORAGE;
        }
        sqlite3_bind_int64(st, 1, j->id);
        size_t n = 0, cap = 16;
        cbor_item_t **items = oa_xmalloc(cap * sizeof(*items));
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (n == cap) {
                cap *= 2;
                items = oa_xrealloc(items, cap * sizeof(*items));
            }
            cbor_item_t *m;
            if (k == 0) {
                m = pv_map(9);
                pv_put_int(m, "id", sqlite3_column_int64(st, 0));
                pv_put_text(m, "action", (const char *)sqlite3_column_text(st, 1));
                pv_put_text(m, "from", (const char *)sqlite3_column_text(st, 2));
                pv_put_text(m, "to", (const char *)sqlite3_column_text(st, 3));
                pv_put_text(m, "actor", (const char *)sqlite3_column_text(st, 4));
                pv_put_text(m, "on_behalf_of", (const char *)sqlite3_column_text(st, 5));
                pv_put_text(m, "opinion", (const char *)sqlite3_column_text(st, 6));
                pv_put_text(m, "detail", (const char *)sqlite3_column_text(st, 7));
                pv_put_int(m, "at", sqlite3_column_int64(st, 8));
            } else if (k == 1) {
                m = pv_map(4);
                pv_put_int(m, "revision", sqlite3_column_int64(st, 0));
                pv_put_text(m, "author", (const char *)sqlite3_column_text(st, 1));
                pv_put_int(m, "at", sqlite3_column_int64(st, 2));
                pv_put_text(m, "changed", (const char *)sqlite3_column_text(st, 3));
            } else if (k == 2) {
                m = pv_map(5);
                pv_put_text(m, "user", (const char *)sqlite3_column_text(st, 0));
                pv_put_text(m, "part", (const char *)sqlite3_column_text(st, 1));
                pv_put_int(m, "round", sqlite3_column_int64(st, 2));
                pv_put_text(m, "status", (const char *)sqlite3_column_text(st, 3));
                if (sqlite3_column_type(st, 4) == SQLITE_NULL)
                    pv_put_text(m, "acted_at", NULL);
                else
                    pv_put_int(m, "acted_at", sqlite3_column_int64(st, 4));
            } else {
                m = pv_map(4);
                pv_put_text(m, "target", (const char *)sqlite3_column_text(st, 0));
                pv_put_text(m, "by", (const char *)sqlite3_column_text(st, 1));
                pv_put_text(m, "note", (const char *)sqlite3_column_text(st, 2));
                pv_put_int(m, "at", sqlite3_column_int64(st, 3));
            }
            items[n++] = m;
        }
        rows[k] = pv_array(n);
        for (size_t i = 0; i < n; i++)
            pv_push(rows[k], items[i]);
        free(items);
        pv_put(out, keys[k], rows[k]);
    }
    j->out = out;
    return 0;
}

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
            return fail(j, OA_E_BAD_FIELD, "params.to_departments and params.to_organs must be lists of ids."), 1;
        for (size_t i = 0; i < cbor_array_size(to); i++) {
            cbor_item_t *it = cbor_array_handle(to)[i];
            int64_t target = cbor_isa_uint(it) ? (int64_t)cbor_get_int(it) : 0;
            sqlite3_stmt *st = oa_store_stmt(s, organs ? "SELECT id FROM organs WHERE id = ?"
                                                       : "SELECT organ_id FROM departments WHERE id = ?");
            if (st == NULL)
                return -1;
            sqlite3_bind_int64(st, 1, target);
            if (target <= 0 || sqlite3_step(st) != SQLITE_ROW)
                return fail(j, OA_E_BAD_FIELD, "params names a department or organ that does not exist."), 1;
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
    in.def_version = OA_FLOW_VERSION;
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
    set_step_due(s, &in);
    size_t nscope = 0;
    char **scope = oa_doc_scope_of(s, d, &nscope);
    int rc = scope == NULL || oa_doc_insert(s, &in, actor) != 0 ||
             oa_doc_scope_set(s, &in, (const char *const *)scope, nscope) != 0 || update_queue(s, &in) != 0 ||
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
    oa_day_format(today_local(), today);
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

static int run_action(struct oa_store *s, struct doc_job *j)
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

    if (me_from_session(s, j, &me) != 0)
        return OA_E_STORAGE;
    eff = me;
    rc = oa_doc_load(s, j->id, &d);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0)
        return not_found(j);
    if ((rc = oa_doc_gate_read(s, OA_REQ_ACTOR(j->r), &me, &d, "document.action")) <= 0)
        goto refused_read;

    /* Acting for someone else needs their active delegation to me. */
    if (j->on_behalf != NULL) {
        struct oa_user other;
        rc = oa_user_by_name(s, j->on_behalf, &other);
        if (rc < 0)
            goto storage;
        if (rc == 0 || !delegation_active(s, other.id, me.id)) {
            if (audit_doc(s, j, "document.action", &d, d.state, NULL, j->on_behalf, "refused",
                          "no active delegation") != 0)
                goto storage;
            oa_doc_free(&d);
            return fail(j, OA_E_FORBIDDEN, "You hold no active delegation from that person.");
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
        return fail(j, OA_E_BAD_FIELD, bad ? "A name in the params is not a user." : "params lists must hold usernames.");
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
        if (audit_doc(s, j, "document.action", &d, d.state, NULL, eff.id != me.id ? eff.username : NULL,
                      "refused", ans.reason) != 0)
            goto storage;
        oa_doc_free(&d);
        return fail(j, e, ans.reason);
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
        if (oa_number_allocate(s, d.organ_id, prefix, year_local(), d.id, d.doc_number, sizeof(d.doc_number)) != 0)
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
            start = param_text(p, "received_on", received, sizeof(received)) ? oa_day_parse(received) : today_local();
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
            fail(j, OA_E_BAD_FIELD, "params.received_on must be a date, YYYY-MM-DD.");
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
        set_step_due(s, &d);
    if (oa_doc_save(s, &d, me.id, 0, NULL) != 0 || update_queue(s, &d) != 0)
        goto storage;
    int64_t step = oa_doc_step(s, d.id, j->action, from, d.state, me.id, eff.id != me.id ? eff.id : 0,
                               j->opinion, detail);
    char event[64];
    snprintf(event, sizeof(event), "document.%s", j->action);
    if (step < 0 || audit_doc(s, j, event, &d, from, d.state, eff.id != me.id ? eff.username : NULL, "ok",
                              detail[0] ? detail : NULL) != 0)
        goto storage;

    cbor_item_t *out = pv_map(2);
    pv_put(out, "document", doc_state_item(&d));
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
    return rc < 0 ? OA_E_STORAGE : not_found(j);
storage:
    oa_doc_free(&d);
    return OA_E_STORAGE;
}

/* ---- edit ---- */

static int run_edit(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    struct oa_doc d;
    int rc;
    if (!open_doc(s, j, &me, &d, "document.edit", &rc))
        return rc;
    char etag[48];
    doc_etag(&d, etag, sizeof(etag));
    enum oa_err pre = j->from_sync ? OA_E_OK : oa_req_if_match(j->r, etag);
    if (pre != OA_E_OK) {
        oa_doc_free(&d);
        return fail(j, pre, NULL);
    }
    struct oa_doc_actor actor = {.roles = me.roles, .relations = d.drafter_id == me.id ? OA_REL_DRAFTER : 0};
    struct oa_doc_facts facts = {.has_opinion = j->opinion != NULL && j->opinion[0] != '\0'};
    struct oa_flow_answer ans;
    enum oa_flow_result res = oa_flow_step((enum oa_doc_kind)oa_kind_parse(d.kind), d.def_version, d.state, "edit",
                                           &actor, &facts, &ans);
    if (res != OA_FLOW_OK) {
        if (audit_doc(s, j, "document.edit", &d, d.state, NULL, NULL, "refused", ans.reason) != 0) {
            oa_doc_free(&d);
            return OA_E_STORAGE;
        }
        oa_doc_free(&d);
        return fail(j, res == OA_FLOW_NOT_ALLOWED ? OA_E_FORBIDDEN : res == OA_FLOW_GUARD ? OA_E_BAD_FIELD
                                                                                         : OA_E_CONFLICT,
                    res == OA_FLOW_UNKNOWN_ACTION ? "This kind of document is not edited through PATCH."
                                                  : ans.reason);
    }
    if (j->has_level) {
        /* Raising a label is an edit; lowering it is a declassification step. */
        struct oa_subject subj = {me.id, me.roles, me.clearance, false, me.clearance_hold};
        if (j->level < d.level) {
            oa_doc_free(&d);
            return fail(j, OA_E_FORBIDDEN, "Lowering a label is a declassification step for secadmin.");
        }
        if (oa_access_read_doc(&subj, (int)j->level) != OA_ALLOW) {
            oa_doc_free(&d);
            return fail(j, OA_E_FORBIDDEN, "You cannot label a document above your own clearance.");
        }
    }
    if (oa_doc_load_body(s, &d) != 0) {
        oa_doc_free(&d);
        return OA_E_STORAGE;
    }
    bool scope_changed = false;
    if (j->scope != NULL) {
        size_t nold = 0;
        char **old_scope = oa_doc_scope(s, d.id, &nold);
        struct oa_label lold = {d.level, (const char *const *)old_scope, nold};
        struct oa_label lnew = {j->has_level ? (int)j->level : d.level, (const char *const *)j->scope_v, j->nscope};
        bool narrower = oa_label_dominates(&lnew, &lold);
        scope_changed = nold != j->nscope;
        for (size_t i = 0; i < j->nscope && !scope_changed; i++)
            scope_changed = strcmp(j->scope_v[i], old_scope[i]) != 0;
        oa_strv_free(old_scope);
        if (!narrower) {
            oa_doc_free(&d);
            return fail(j, OA_E_FORBIDDEN, "Widening a document's scope is a declassification step for secadmin.");
        }
    }
    char changed[256];
    if (!apply_fields(j, &d, changed, sizeof(changed))) {
        oa_doc_free(&d);
        return fail(j, OA_E_BAD_FIELD, "A field is longer than the document format allows.");
    }
    if (scope_changed) {
        if (oa_doc_scope_set(s, &d, (const char *const *)j->scope_v, j->nscope) != 0) {
            oa_doc_free(&d);
            return OA_E_STORAGE;
        }
        size_t cl = strlen(changed);
        snprintf(changed + cl, sizeof(changed) - cl, "%sscope", cl ? "," : "");
    }
    char from_level[8] = "";
    if (j->has_level && j->level != d.level) {
        snprintf(from_level, sizeof(from_level), "%d", d.level);
        d.level = (int)j->level;
        size_t cl = strlen(changed);
        snprintf(changed + cl, sizeof(changed) - cl, "%slevel", cl ? "," : "");
    }
    if (changed[0] == '\0') {
        j->status = 200;
        j->out = doc_item(s, &d, true);
        doc_etag(&d, j->etag, sizeof(j->etag));
        oa_doc_free(&d);
        return 0;
    }
    char from[32];
    snprintf(from, sizeof(from), "%s", d.state);
    if ((ans.effects & OA_FX_VOID_NUMBER) && d.doc_number[0]) {
        if (oa_number_void(s, d.id, d.doc_number, j->opinion) != 0)
            goto storage;
        d.doc_number[0] = '\0';
    }
    char next[32];
    snprintf(next, sizeof(next), "%s", ans.next_state); /* may point into d.state */
    memcpy(d.state, next, sizeof(next));
    if (strcmp(from, d.state) != 0)
        set_step_due(s, &d);
    if (oa_doc_save(s, &d, me.id, 0, changed) != 0 || update_queue(s, &d) != 0 ||
        oa_doc_step(s, d.id, "edit", from, d.state, me.id, 0, j->opinion, changed) < 0 ||
        audit_doc(s, j, from_level[0] || scope_changed ? "document.label_raise" : "document.edit", &d, from, d.state, NULL, "ok",
                  changed) != 0)
        goto storage;
    j->status = 200;
    j->out = doc_item(s, &d, true);
    doc_etag(&d, j->etag, sizeof(j->etag));
    oa_doc_free(&d);
    return 0;
storage:
    oa_doc_free(&d);
    return OA_E_STORAGE;
}

/* ---- the sync protocol's pushed operations ---- */

static struct doc_job *doc_job_new(struct oa_req *r, enum doc_op op);
static enum oa_err doc_fields(const cbor_item_t *in, struct oa_arena *arena, struct doc_job *j, bool create,
                              char *why, size_t n);

/* Undoes one pushed operation (its savepoint). */
static void push_undo(struct oa_store *s)
{
    oa_store_exec(s, "ROLLBACK TO push_op");
    oa_store_exec(s, "RELEASE push_op");
}

int oa_doc_push_op(struct oa_store *s, struct oa_req *r, const struct oa_push_op *op, struct oa_push_result *res)
{
    memset(res, 0, sizeof(*res));
    char key[160];
    snprintf(key, sizeof(key), "sync:%s", op->op_id);
    /* A retried push answers as the first did. */
    unsigned char *stored = NULL;
    size_t stored_len = 0;
    int stored_status = 0;
    int rc = oa_idem_get(s, r->who.user_id, key, &stored_status, &stored, &stored_len);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        free(stored);
        res->outcome = OA_PUSH_APPLIED;
        res->revision = stored_status;
        return 0;
    }
    struct oa_user me;
    struct oa_doc d;
    struct doc_job *j = doc_job_new(r, op->is_action ? OP_ACTION : OP_EDIT);
    j->id = op->doc_id;
    j->from_sync = true;
    if (!open_doc(s, j, &me, &d, op->is_action ? "document.action" : "document.edit", &rc)) {
        res->outcome = OA_PUSH_REFUSED;
        res->err = j->err;
        res->message = j->message;
        free(j);
        return rc == OA_E_STORAGE ? -1 : 0;
    }
    if (d.revision != op->base_rev) {
        /* Never merged: the person decides what to do with the server's version. */
        res->outcome = OA_PUSH_CONFLICT;
        res->revision = d.revision;
        oa_doc_free(&d);
        free(j);
        return 0;
    }
    oa_doc_free(&d);
    if (oa_store_exec(s, "SAVEPOINT push_op") != 0) {
        free(j);
        return -1;
    }
    if (op->is_action) {
        j->action = op->action;
        j->opinion = op->opinion;
        j->params = op->params;
        char akey[170];
        snprintf(akey, sizeof(akey), "sync-act:%s", op->op_id);
        j->idem_key = akey;
        rc = run_action(s, j);
    } else {
        char why[256];
        enum oa_err e = op->fields ? doc_fields(op->fields, &r->arena, j, false, why, sizeof(why)) : OA_E_BAD_FIELD;
        if (e != OA_E_OK) {
            j->err = e;
            j->message = op->fields ? oa_arena_strndup(&r->arena, why, strlen(why)) : "An edit needs its fields.";
            rc = 0;
        } else {
            rc = run_edit(s, j);
        }
    }
    if (j->out)
        cbor_decref(&j->out);
    free(j->bytes);
    if (rc != 0 || j->err != OA_E_OK) {
        push_undo(s);
        res->outcome = OA_PUSH_REFUSED;
        res->err = rc != 0 ? (enum oa_err)rc : j->err;
        res->message = j->message;
        free(j->scope_v);
        free(j);
        return rc == OA_E_STORAGE ? -1 : 0;
    }
    free(j->scope_v);
    free(j);
    rc = oa_doc_load(s, op->doc_id, &d);
    if (rc != 1) {
        push_undo(s);
        return -1;
    }
    res->outcome = OA_PUSH_APPLIED;
    res->revision = d.revision;
    oa_doc_free(&d);
    /* The key remembers the revision the operation made. */
    if (oa_idem_put(s, r->who.user_id, key, (int)res->revision, "", 0) != 0) {
        push_undo(s);
        return -1;
    }
    return oa_store_exec(s, "RELEASE push_op") == 0 ? 0 : -1;
}

/* ---- lists ---- */

#define LIST_WHERE                                                                                      \
    "SELECT " "id" " FROM documents WHERE level <= ?1 AND (?2 IS NULL OR state = ?2)"                     \
    " AND (?3 IS NULL OR kind = ?3) AND (?4 IS NULL OR doc_number = ?4)"                                   \
    " AND (?5 IS NULL OR created_at >= ?5) AND (?6 IS NULL OR created_at < ?6)"                            \
    " AND (?7 = 0 OR (step_due IS NOT NULL AND step_due < ?8)"                                             \
    "      OR (request_due < ?8 AND state IN (" OA_REQUEST_OPEN_STATES_SQL ")))"                       \
    " AND (?9 IS NULL OR id IN (SELECT rowid FROM doc_fts WHERE doc_fts MATCH ?9))"                        \
    " AND (?10 IS NULL OR title LIKE ?10 ESCAPE '\\'"                                                       \
    "      OR id IN (SELECT doc_id FROM doc_bodies WHERE body LIKE ?10 ESCAPE '\\'))"                         \
    " AND id > ?11"                                                                                      \
    /* The scope, narrowed in SQL too so that a page (and its cursor) holds   \
     * only documents the caller may see; oa_doc_visible() below still decides. */ \
    " AND (scoped = 0 OR id IN (SELECT doc_id FROM doc_scope WHERE entry = ?16 OR entry = ?17"           \
    "      OR entry IN (SELECT compartment FROM user_compartments WHERE user_id = ?13)))"

static const char *const list_sql[] = {
    LIST_WHERE " ORDER BY id LIMIT ?12",
    LIST_WHERE " AND (id IN (SELECT doc_id FROM doc_queue WHERE " OA_QUEUE_MINE("?13", "?14", "?15") ")"
               "      OR id IN (SELECT doc_id FROM doc_participants WHERE user_id = ?13 AND status = 'pending'))"
               " ORDER BY id LIMIT ?12",
    LIST_WHERE " AND id IN (SELECT doc_id FROM doc_done WHERE user_id = ?13)"
               " ORDER BY id LIMIT ?12",
};

static int run_list(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    if (load_me(s, j, &me) != 0)
        return OA_E_STORAGE;
    int v = strcmp(j->view, "todo") == 0 ? 1 : strcmp(j->view, "done") == 0 ? 2 : 0;
    sqlite3_stmt *st = oa_store_stmt(s, list_sql[v]);
    if (st == NULL)
        return OA_E_STORAGE;
    /* The same decision as every read: the highest level this person may see. */
    int max_level = -1;
    struct oa_subject subj = {me.id, me.roles, me.clearance, false, me.clearance_hold};
    for (int l = OA_LEVEL_MAX; l >= 0 && max_level < 0; l--)
        if (oa_access_read_doc(&subj, l) == OA_ALLOW)
            max_level = l;
    sqlite3_bind_int(st, 1, max_level);
    if (j->state)
        sqlite3_bind_text(st, 2, j->state, -1, SQLITE_STATIC);
    if (j->kind)
        sqlite3_bind_text(st, 3, j->kind, -1, SQLITE_STATIC);
    if (j->number)
        sqlite3_bind_text(st, 4, j->number, -1, SQLITE_STATIC);
    if (j->from > 0)
        sqlite3_bind_int64(st, 5, j->from);
    if (j->to > 0)
        sqlite3_bind_int64(st, 6, j->to);
    sqlite3_bind_int(st, 7, j->overdue);
    char today[11];
    oa_day_format(today_local(), today);
    sqlite3_bind_text(st, 8, today, -1, SQLITE_TRANSIENT);
    char *fts = NULL, *like = NULL;
    if (j->q != NULL) {
        /* Trigram search needs three characters; shorter terms use LIKE. */
        size_t chars = 0;
        for (const unsigned char *c = (const unsigned char *)j->q; *c; c++)
            chars += (*c & 0xC0) != 0x80;
        size_t n = strlen(j->q);
        if (chars >= 3) {
            fts = oa_xmalloc(2 * n + 3);
            size_t o = 0;
            fts[o++] = '"';
            for (size_t i = 0; i < n; i++) {
                if (j->q[i] == '"')
                    fts[o++] = '"';
                fts[o++] = j->q[i];
            }
            fts[o++] = '"';
            fts[o] = '\0';
            sqlite3_bind_text(st, 9, fts, -1, SQLITE_STATIC);
        } else {
            like = oa_xmalloc(2 * n + 3);
            size_t o = 0;
            like[o++] = '%';
            for (size_t i = 0; i < n; i++) {
                if (j->q[i] == '%' || j->q[i] == '_' || j->q[i] == '\\')
                    like[o++] = '\\';
                like[o++] = j->q[i];
            }
            like[o++] = '%';
            like[o] = '\0';
            sqlite3_bind_text(st, 10, like, -1, SQLITE_STATIC);
        }
    }
    sqlite3_bind_int64(st, 11, j->after);
    sqlite3_bind_int64(st, 12, j->limit);
    sqlite3_bind_int64(st, 13, me.id);
    if (v) {
        sqlite3_bind_int64(st, 14, me.roles);
        sqlite3_bind_int64(st, 15, me.department_id);
    }
    char user_entry[96], dept_entry[32];
    snprintf(user_entry, sizeof(user_entry), "user:%s", me.username);
    snprintf(dept_entry, sizeof(dept_entry), "dept:%lld", (long long)me.department_id);
    sqlite3_bind_text(st, 16, user_entry, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 17, me.department_id > 0 ? dept_entry : "", -1, SQLITE_TRANSIENT);
    int64_t ids[200];
    size_t n = 0;
    int rc;
    while (n < 200 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    free(fts);
    free(like);
    /* SQL filtered by level; the scope is checked here by the one decision. */
    char shown[480] = "";
    cbor_item_t *items[200];
    size_t kept = 0;
    int64_t last_kept = 0;
    for (size_t i = 0; i < n; i++) {
        struct oa_doc d;
        if (oa_doc_load(s, ids[i], &d) != 1) {
            for (size_t k = 0; k < kept; k++)
                cbor_decref(&items[k]);
            return OA_E_STORAGE;
        }
        if (oa_doc_visible(s, &me, &d)) {
            items[kept++] = doc_item(s, &d, false);
            last_kept = d.id;
            if (d.level > OA_LEVEL_PUBLIC) {
                size_t cl = strlen(shown);
                if (cl + 24 < sizeof(shown))
                    snprintf(shown + cl, sizeof(shown) - cl, "%s%lld", cl ? "," : "", (long long)d.id);
            }
        }
        oa_doc_free(&d);
    }
    /* Access to classified documents' metadata is access too: one entry per list. */
    if (shown[0] != '\0') {
        struct oa_audit_event ev = {0};
        oa_audit_actor(j->r, &ev);
        ev.event = "document.list";
        ev.outcome = "ok";
        ev.detail = shown;
        if (oa_audit(s, &ev) != 0) {
            for (size_t k = 0; k < kept; k++)
                cbor_decref(&items[k]);
            return OA_E_STORAGE;
        }
    }
    cbor_item_t *arr = pv_array_from(items, kept);
    cbor_item_t *out = pv_map(2);
    pv_put(out, "documents", arr);
    /* The cursor is the last document this caller was shown, never an id
     * they were not: a full page of visible documents goes on after it. */
    if (n == (size_t)j->limit && kept > 0)
        pv_put_int(out, "next_after", last_kept);
    else
        pv_put_text(out, "next_after", NULL);
    j->status = 200;
    j->out = out;
    return 0;
}

/* ---- labels: declassification by secadmin, and the review list ---- */

/*
 * Changes a document's label: level, scope, declassification date.  Lowering
 * a level or widening a scope is declassification and only secadmin does it,
 * with a reason, as a recorded step; secadmin sees the label, never the text.
 */
static int run_relabel(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    struct oa_doc d;
    if (load_me(s, j, &me) != 0)
        return OA_E_STORAGE;
    int rc = oa_doc_load(s, j->id, &d);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0)
        return not_found(j);
    /* Anyone but secadmin (who sees every label, never a text) passes the
     * read gate first: a document they may not see answers exactly as a
     * missing one, so the label route tells nobody which ids exist. */
    if ((me.roles & OA_ROLE_SECADMIN) == 0 &&
        (rc = oa_doc_gate_read(s, OA_REQ_ACTOR(j->r), &me, &d, "document.relabel")) <= 0) {
        oa_doc_free(&d);
        return rc < 0 ? OA_E_STORAGE : not_found(j);
    }
    struct oa_subject subj = {me.id, me.roles, me.clearance, me.declassifier, me.clearance_hold};
    enum oa_decision dec = oa_access_decide(&subj, OA_ACT_RELABEL, NULL);
    char detail[512];
    if (dec != OA_ALLOW) {
        rc = audit_doc(s, j, "document.relabel", &d, NULL, NULL, NULL, "refused", oa_decision_reason(dec));
        oa_doc_free(&d);
        return rc != 0 ? OA_E_STORAGE
                       : fail(j, OA_E_FORBIDDEN, "Only secadmin or a named declassifier changes a document's label.");
    }
    if (me.roles & OA_ROLE_SECADMIN) {
        enum oa_err e = oa_step_up(s, j->r);
        if (e != OA_E_OK) {
            oa_doc_free(&d);
            return e == OA_E_STORAGE ? OA_E_STORAGE
                                     : fail(j, e, e == OA_E_TOTP_ENROLLMENT_REQUIRED
                                                      ? "Enrol an authenticator (POST /v1/users/me/totp) before changing labels."
                                                      : "A label change needs a current code from your authenticator in X-OA-OTP.");
        }
    }
    size_t nold = 0;
    char **old_scope = oa_doc_scope(s, d.id, &nold);
    int old_level = d.level;
    if (j->has_level)
        d.level = (int)j->level;
    if (j->declass_date)
        snprintf(d.declass_date, sizeof(d.declass_date), "%s", j->declass_date);
    size_t nnew = j->scope ? j->nscope : nold;
    struct oa_label lold = {old_level, (const char *const *)old_scope, nold};
    struct oa_label lnew = {d.level, (const char *const *)(j->scope ? j->scope_v : old_scope), nnew};
    bool lowered = !oa_label_dominates(&lnew, &lold);
    snprintf(detail, sizeof(detail), "level %d -> %d, scope %zu -> %zu entries%s%s: %s", old_level, d.level, nold,
             nnew, d.declass_date[0] ? ", declassify on " : "", d.declass_date, j->reason);
    pv_utf8_trim(detail);
    oa_strv_free(old_scope);
    if ((j->scope && oa_doc_scope_set(s, &d, (const char *const *)j->scope_v, j->nscope) != 0) ||
        oa_doc_save(s, &d, me.id, 0, NULL) != 0 ||
        oa_doc_step(s, d.id, lowered ? "declassify" : "relabel", d.state, d.state, me.id, 0, j->reason, detail) < 0 ||
        audit_doc(s, j, lowered ? "document.declassify" : "document.relabel", &d, NULL, NULL, NULL, "ok", detail) != 0) {
        oa_doc_free(&d);
        return OA_E_STORAGE;
    }
    cbor_item_t *m = pv_map(5);
    pv_put_int(m, "id", d.id);
    pv_put_int(m, "level", d.level);
    pv_put_text(m, "level_name", oa_level_name(d.level));
    put_opt(m, "declass_date", d.declass_date);
    pv_put_int(m, "revision", d.revision);
    j->status = 200;
    j->out = m;
    oa_doc_free(&d);
    return 0;
}

/* Labels whose declassification date has come: listed for review, never lowered silently. */
static int run_expired(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    if (load_me(s, j, &me) != 0)
        return OA_E_STORAGE;
    struct oa_subject subj = {me.id, me.roles, me.clearance, me.declassifier, me.clearance_hold};
    if (oa_access_decide(&subj, OA_ACT_RELABEL, NULL) != OA_ALLOW)
        return fail(j, OA_E_FORBIDDEN, "Only secadmin or a named declassifier reviews labels.");
    char today[11];
    oa_day_format(today_local(), today);
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT id, kind, level, declass_date, coalesce(doc_number, '') FROM documents"
        " WHERE declass_date != '' AND declass_date <= ? AND level > 0 ORDER BY declass_date, id LIMIT 500");
    if (st == NULL)
        return OA_E_STORAGE;
    sqlite3_bind_text(st, 1, today, -1, SQLITE_TRANSIENT);
    cbor_item_t *items[500];
    size_t n = 0;
    while (n < 500 && sqlite3_step(st) == SQLITE_ROW) {
        cbor_item_t *m = pv_map(5);
        pv_put_int(m, "id", sqlite3_column_int64(st, 0));
        pv_put_text(m, "kind", (const char *)sqlite3_column_text(st, 1));
        pv_put_int(m, "level", sqlite3_column_int(st, 2));
        pv_put_text(m, "declass_date", (const char *)sqlite3_column_text(st, 3));
        pv_put_text(m, "doc_number", (const char *)sqlite3_column_text(st, 4));
        items[n++] = m;
    }
    cbor_item_t *arr = pv_array_from(items, n);
    j->out = pv_map(1);
    pv_put(j->out, "documents", arr);
    j->status = 200;
    return 0;
}

/* ---- job plumbing ---- */

static int doc_run_op(struct oa_store *s, struct doc_job *j)
{
    switch (j->op) {
    case OP_CREATE: return run_create(s, j);
    case OP_GET:
    case OP_HISTORY:
    case OP_REVISION: return run_get(s, j);
    case OP_EDIT: return run_edit(s, j);
    case OP_ACTION: return run_action(s, j);
    case OP_LIST: return run_list(s, j);
    case OP_RELABEL: return run_relabel(s, j);
    case OP_EXPIRED: return run_expired(s, j);
    }
    return OA_E_INTERNAL;
}

static int doc_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct doc_job *j = (struct doc_job *)job;
    j->err = OA_E_OK;
    int rc = doc_run_op(s, j);
    /* Encode CBOR answers here: the item tree is built, encoded and freed on
     * one thread, and the loop only writes bytes. */
    if (rc == 0 && j->err == OA_E_OK && j->out != NULL && j->bytes == NULL && j->r->out_fmt == OA_FMT_CBOR) {
        j->bytes = pv_encode_cbor(j->out, &j->nbytes);
        if (j->bytes != NULL)
            cbor_decref(&j->out);
    }
    return rc;
}

static void doc_on_done(struct oa_db_job *job)
{
    struct doc_job *j = (struct doc_job *)job;
    struct oa_req *r = j->r;
    if (job->rc == 0 && j->err == OA_E_OK && (j->op == OP_RELABEL || (j->op == OP_EDIT && j->has_level)))
        oa_blobs_reseal_kick(r->srv); /* the label changed: the document's blobs follow */
    if (job->rc) {
        /* The savepoint was rolled back: the answer is the error, nothing changed. */
        if (j->out)
            cbor_decref(&j->out);
        oa_reply_error(r, j->err != OA_E_OK ? j->err : (enum oa_err)job->rc, j->message);
    } else if (j->err != OA_E_OK) {
        if (j->out)
            cbor_decref(&j->out);
        oa_reply_error(r, j->err, j->message);
    } else if (j->bytes != NULL) {
        snprintf(r->etag, sizeof(r->etag), "%s", j->etag);
        oa_reply_raw(r, j->status, "application/cbor", j->bytes, j->nbytes);
    } else {
        snprintf(r->etag, sizeof(r->etag), "%s", j->etag);
        oa_reply(r, j->status, j->out);
    }
    free(j->bytes);
    free(j->scope_v);
    free(j);
}

static struct doc_job *doc_job_new(struct oa_req *r, enum doc_op op)
{
    struct doc_job *j = oa_xcalloc(1, sizeof(*j));
    j->r = r;
    j->op = op;
    j->job.run = doc_on_run;
    j->job.done = doc_on_done;
    return j;
}

static bool doc_id_param(struct oa_req *r, int64_t *id)
{
    return oa_path_id(r, 0, "No such document.", id);
}

/* Reads j->scope into j->scope_v; replies 400 and returns false when malformed. */
/* Reads a scope list into j->scope_v (strings in the arena); OA_E_OK or a reason in why. */
static enum oa_err parse_scope(struct oa_arena *arena, struct doc_job *j, char *why, size_t n)
{
    if (j->scope == NULL)
        return OA_E_OK;
    if (!cbor_isa_array(j->scope) || cbor_array_size(j->scope) > 32) {
        snprintf(why, n, "field 'scope' must be a list of at most 32 entries");
        return OA_E_BAD_FIELD;
    }
    j->nscope = cbor_array_size(j->scope);
    j->scope_v = oa_xcalloc(j->nscope + 1, sizeof(char *));
    for (size_t i = 0; i < j->nscope; i++) {
        cbor_item_t *it = cbor_array_handle(j->scope)[i];
        if (!cbor_isa_string(it) || !cbor_string_is_definite(it) || cbor_string_length(it) == 0 ||
            cbor_string_length(it) > 64 || !pv_utf8_ok(cbor_string_handle(it), cbor_string_length(it))) {
            snprintf(why, n, "scope entries are compartment names, dept:ID or user:NAME (1 to 64 bytes)");
            return OA_E_BAD_FIELD;
        }
        j->scope_v[i] = oa_arena_strndup(arena, cbor_string_handle(it), cbor_string_length(it));
    }
    return OA_E_OK;
}

/*
 * The fields of a document that create, PATCH and a pushed edit accept, one
 * table for all three: kind and derived_from are fixed at creation, so an
 * edit that sends them is refused (never ignored), as is any field the
 * table does not name.  Returns OA_E_OK, or the error with a sentence in why.
 */
static enum oa_err doc_fields(const cbor_item_t *in, struct oa_arena *arena, struct doc_job *j, bool create,
                              char *why, size_t n)
{
    unsigned at_create = create ? 0 : PV_REFUSED;
    struct pv_field f[] = {
        {"kind", PV_TEXT, create ? PV_REQUIRED : PV_REFUSED, 1, 16, &j->kind, NULL},
        {"title", PV_TEXT, create ? PV_REQUIRED : 0, 1, OA_DOC_TEXT - 1, &j->title, NULL},
        {"body", PV_TEXT, 0, 0, OA_DOC_BODY_MAX, &j->body, NULL},
        {"doc_type", PV_TEXT, 0, 0, 31, &j->doc_type, NULL},
        {"copy_no", PV_TEXT, 0, 0, 31, &j->copy_no, NULL},
        {"level", PV_INT, 0, 0, OA_LEVEL_MAX, &j->level, &j->has_level},
        {"secrecy_period", PV_TEXT, 0, 0, 63, &j->secrecy_period, NULL},
        {"urgency", PV_TEXT, 0, 1, 15, &j->urgency, NULL},
        {"main_recipients", PV_TEXT, 0, 0, OA_DOC_TEXT - 1, &j->main_recipients, NULL},
        {"copied_recipients", PV_TEXT, 0, 0, OA_DOC_TEXT - 1, &j->copied_recipients, NULL},
        {"attachment_note", PV_TEXT, 0, 0, OA_DOC_TEXT - 1, &j->attachment_note, NULL},
        {"doc_date", PV_TEXT, 0, 0, 15, &j->doc_date, NULL},
        {"note", PV_TEXT, 0, 0, OA_DOC_TEXT - 1, &j->note, NULL},
        {"printing_organ", PV_TEXT, 0, 0, 127, &j->printing_organ, NULL},
        {"printing_date", PV_TEXT, 0, 0, 15, &j->printing_date, NULL},
        {"opinion", PV_TEXT, 0, 0, 4000, &j->opinion, NULL},
        {"scope", PV_ITEM, 0, 0, 0, &j->scope, NULL},
        {"declass_date", PV_TEXT, 0, 10, 10, &j->declass_date, NULL},
        {"derived_from", PV_INT, at_create, 1, INT64_MAX, &j->derived_from, NULL},
    };
    if (in == NULL) {
        snprintf(why, n, "This request needs a body (CBOR or JSON).");
        return OA_E_BAD_BODY;
    }
    enum oa_err e = pv_extract(in, f, sizeof(f) / sizeof(f[0]), arena, why, n);
    if (e != OA_E_OK || (e = parse_scope(arena, j, why, n)) != OA_E_OK)
        return e;
    if (j->declass_date && oa_day_parse(j->declass_date) == INT32_MIN) {
        snprintf(why, n, "field 'declass_date' must be a date, YYYY-MM-DD");
        return OA_E_BAD_FIELD;
    }
    if (create && oa_kind_parse(j->kind) < 0) {
        snprintf(why, n, "field 'kind' must be outgoing, incoming or request");
        return OA_E_BAD_FIELD;
    }
    if (j->urgency && strcmp(j->urgency, "ordinary") != 0 && strcmp(j->urgency, "urgent") != 0 &&
        strcmp(j->urgency, "very_urgent") != 0) {
        snprintf(why, n, "field 'urgency' must be ordinary, urgent (加急) or very_urgent (特急)");
        return OA_E_BAD_FIELD;
    }
    return OA_E_OK;
}

/* doc_fields for a request's body, answering the error itself; false when it did. */
static bool read_doc_fields(struct oa_req *r, struct doc_job *j, bool create)
{
    char why[256];
    enum oa_err e = doc_fields(r->in, &r->arena, j, create, why, sizeof(why));
    if (e != OA_E_OK)
        oa_reply_error(r, e, why);
    return e == OA_E_OK;
}

void h_doc_create(struct oa_req *r)
{
    struct doc_job *j = doc_job_new(r, OP_CREATE);
    if (!read_doc_fields(r, j, true)) {
        free(j->scope_v);
        free(j);
        return;
    }
    oa_writer_submit(r->srv->writer, &j->job);
}

/* Routes that need nothing but the document's id. */
static void submit_by_id(struct oa_req *r, enum doc_op op)
{
    int64_t id;
    if (!doc_id_param(r, &id))
        return;
    struct doc_job *j = doc_job_new(r, op);
    j->id = id;
    oa_writer_submit(r->srv->writer, &j->job);
}

void h_doc_get(struct oa_req *r)
{
    submit_by_id(r, OP_GET);
}

void h_doc_history(struct oa_req *r)
{
    submit_by_id(r, OP_HISTORY);
}

void h_doc_revision(struct oa_req *r)
{
    int64_t id, rev = 0;
    if (!doc_id_param(r, &id))
        return;
    if (!oa_parse_id(r->params[1], &rev)) {
        oa_reply_error(r, OA_E_NOT_FOUND, "The document has no text revision with that number.");
        return;
    }
    struct doc_job *j = doc_job_new(r, OP_REVISION);
    j->id = id;
    j->revision = rev;
    oa_writer_submit(r->srv->writer, &j->job);
}

void h_doc_edit(struct oa_req *r)
{
    int64_t id;
    if (!doc_id_param(r, &id))
        return;
    struct doc_job *j = doc_job_new(r, OP_EDIT);
    j->id = id;
    if (!read_doc_fields(r, j, false)) {
        free(j->scope_v);
        free(j);
        return;
    }
    if (j->kind != NULL || j->derived_from != 0 || j->declass_date != NULL) {
        free(j->scope_v);
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD,
                       "kind and derived_from are set at creation; the declassification date is secadmin's (POST .../label).");
        return;
    }
    oa_writer_submit(r->srv->writer, &j->job);
}

void h_doc_action(struct oa_req *r)
{
    int64_t id;
    if (!doc_id_param(r, &id))
        return;
    struct doc_job *j = doc_job_new(r, OP_ACTION);
    j->id = id;
    const cbor_item_t *params = NULL;
    struct pv_field f[] = {
        {"action", PV_TEXT, PV_REQUIRED, 1, 32, &j->action, NULL},
        {"opinion", PV_TEXT, 0, 0, 4000, &j->opinion, NULL},
        {"params", PV_ITEM, 0, 0, 0, &params, NULL},
        {"on_behalf_of", PV_TEXT, 0, 1, OA_USERNAME_MAX, &j->on_behalf, NULL},
    };
    if (!oa_req_fields(r, f, 4)) {
        free(j);
        return;
    }
    if (params != NULL && !cbor_isa_map(params)) {
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD, "field 'params' must be a map");
        return;
    }
    j->params = params;
    if (r->idempotency_key == NULL || r->idempotency_key[0] == '\0' || strlen(r->idempotency_key) > 128) {
        free(j);
        oa_reply_error(r, OA_E_BAD_REQUEST, "Send an Idempotency-Key header (1 to 128 characters) with every action.");
        return;
    }
    j->idem_key = r->idempotency_key;
    oa_writer_submit(r->srv->writer, &j->job);
}

void h_doc_list(struct oa_req *r)
{
    struct doc_job *j = doc_job_new(r, OP_LIST);
    const char *v = oa_query_param(r, "view");
    j->view = v ? v : "all";
    if (strcmp(j->view, "all") != 0 && strcmp(j->view, "todo") != 0 && strcmp(j->view, "done") != 0) {
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD, "view must be todo, done or all");
        return;
    }
    j->state = oa_query_param(r, "state");
    j->kind = oa_query_param(r, "kind");
    j->number = oa_query_param(r, "number");
    j->q = oa_query_param(r, "q");
    if (j->q && (strlen(j->q) == 0 || strlen(j->q) > 200 || !pv_utf8_ok((const unsigned char *)j->q, strlen(j->q)))) {
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD, "q must be 1 to 200 bytes of UTF-8 text");
        return;
    }
    if (!oa_query_int(r, "from", 0, INT64_MAX, 0, &j->from) || !oa_query_int(r, "to", 0, INT64_MAX, 0, &j->to) ||
        !oa_query_int(r, "after", 0, INT64_MAX, 0, &j->after) ||
        !oa_query_clamped(r, "limit", 1, 200, 50, &j->limit)) {
        free(j);
        return;
    }
    const char *overdue = oa_query_param(r, "overdue");
    j->overdue = overdue && strcmp(overdue, "1") == 0;
    oa_writer_submit(r->srv->writer, &j->job);
}

void h_doc_relabel(struct oa_req *r)
{
    int64_t id;
    if (!doc_id_param(r, &id))
        return;
    struct doc_job *j = doc_job_new(r, OP_RELABEL);
    j->id = id;
    struct pv_field f[] = {
        {"level", PV_INT, 0, 0, OA_LEVEL_MAX, &j->level, &j->has_level},
        {"scope", PV_ITEM, 0, 0, 0, &j->scope, NULL},
        {"declass_date", PV_TEXT, 0, 10, 10, &j->declass_date, NULL},
        {"reason", PV_TEXT, PV_REQUIRED, 1, 1000, &j->reason, NULL},
    };
    char why[256];
    enum oa_err e = OA_E_OK;
    if (!oa_req_fields(r, f, 4) || (e = parse_scope(&r->arena, j, why, sizeof(why))) != OA_E_OK) {
        if (e != OA_E_OK)
            oa_reply_error(r, e, why);
        free(j->scope_v);
        free(j);
        return;
    }
    if (j->declass_date && oa_day_parse(j->declass_date) == INT32_MIN) {
        free(j->scope_v);
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD, "field 'declass_date' must be a date, YYYY-MM-DD");
        return;
    }
    oa_writer_submit(r->srv->writer, &j->job);
}

void h_labels_expired(struct oa_req *r)
{
    oa_writer_submit(r->srv->writer, &doc_job_new(r, OP_EXPIRED)->job);
}
