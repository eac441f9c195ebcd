/*
 * server/h_doc_list.c: the document list (to-do, done, all, filters, search) and
 * the label routes (declassification, the review list).
 * Part of the document routes (h_documents.c), joined by documents-int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/doc_read.h"
#include "app/doc_steps.h"
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
    LIST_WHERE " AND " OA_TODO_DOCS("?13", "?14", "?15")
               " ORDER BY id LIMIT ?12",
    LIST_WHERE " AND id IN (SELECT doc_id FROM doc_done WHERE user_id = ?13)"
               " ORDER BY id LIMIT ?12",
};

int oa__doc_run_list(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    if (oa__doc_load_me(s, j, &me) != 0)
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
    oa_day_format(oa_app_today_local(), today);
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
            items[kept++] = oa__doc_item(s, &d, false);
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
        if (oa_app_audit(s, OA_REQ_ACTOR(j->r), "document.list", NULL, "ok", shown) != 0) {
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
int oa__doc_run_relabel(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    struct oa_doc d;
    if (oa__doc_load_me(s, j, &me) != 0)
        return OA_E_STORAGE;
    int rc = oa_doc_load(s, j->id, &d);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0)
        return oa__doc_not_found(j);
    /* Anyone but secadmin (who sees every label, never a text) passes the
     * read gate first: a document they may not see answers exactly as a
     * missing one, so the label route tells nobody which ids exist. */
    if ((me.roles & OA_ROLE_SECADMIN) == 0 &&
        (rc = oa_doc_gate_read(s, OA_REQ_ACTOR(j->r), &me, &d, "document.relabel")) <= 0) {
        oa_doc_free(&d);
        return rc < 0 ? OA_E_STORAGE : oa__doc_not_found(j);
    }
    struct oa_subject subj = {me.id, me.roles, me.clearance, me.declassifier, me.clearance_hold};
    enum oa_decision dec = oa_access_decide(&subj, OA_ACT_RELABEL, NULL);
    char detail[512];
    if (dec != OA_ALLOW) {
        rc = oa__doc_audit(s, j, "document.relabel", &d, NULL, NULL, NULL, "refused", oa_decision_reason(dec));
        oa_doc_free(&d);
        return rc != 0 ? OA_E_STORAGE
                       : oa__doc_refuse(j, OA_E_FORBIDDEN,
                                      "Only secadmin or a named declassifier changes a document's label.");
    }
    if (me.roles & OA_ROLE_SECADMIN) {
        enum oa_err e = oa_step_up(s, j->r);
        if (e != OA_E_OK) {
            oa_doc_free(&d);
            return e == OA_E_STORAGE ? OA_E_STORAGE
                                     : oa__doc_refuse(j, e, e == OA_E_TOTP_ENROLLMENT_REQUIRED
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
        oa__doc_audit(s, j, lowered ? "document.declassify" : "document.relabel", &d, NULL, NULL, NULL, "ok",
                      detail) != 0) {
        oa_doc_free(&d);
        return OA_E_STORAGE;
    }
    cbor_item_t *m = pv_map(5);
    pv_put_int(m, "id", d.id);
    pv_put_int(m, "level", d.level);
    pv_put_text(m, "level_name", oa_level_name(d.level));
    oa__doc_put_opt(m, "declass_date", d.declass_date);
    pv_put_int(m, "revision", d.revision);
    j->status = 200;
    j->out = m;
    oa_doc_free(&d);
    return 0;
}

/* Labels whose declassification date has come: listed for review, never lowered silently. */
int oa__doc_run_expired(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    if (oa__doc_load_me(s, j, &me) != 0)
        return OA_E_STORAGE;
    struct oa_subject subj = {me.id, me.roles, me.clearance, me.declassifier, me.clearance_hold};
    if (oa_access_decide(&subj, OA_ACT_RELABEL, NULL) != OA_ALLOW)
        return oa__doc_refuse(j, OA_E_FORBIDDEN, "Only secadmin or a named declassifier reviews labels.");
    char today[11];
    oa_day_format(oa_app_today_local(), today);
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
