/* storage/documents.c: see documents.h. */
#include "storage/documents.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/value.h"
#include "storage/labelmac.h"
#include "workflow/number.h"

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    pv_utf8_copy(dst, cap, (const char *)t);
}

int oa_doc_load(struct oa_store *s, int64_t id, struct oa_doc *d)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT " OA_DOC_COLS " FROM documents WHERE id = ?");
    memset(d, 0, sizeof(*d));
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    oa_doc_from_row(st, d);
    return 1;
}

void oa_doc_from_row(sqlite3_stmt *st, struct oa_doc *d)
{
    int c = 0;
    d->body = NULL;
    d->id = sqlite3_column_int64(st, c++);
    col_text(st, c++, d->kind, sizeof(d->kind));
    d->def_version = sqlite3_column_int(st, c++);
    col_text(st, c++, d->state, sizeof(d->state));
    d->revision = sqlite3_column_int64(st, c++);
    col_text(st, c++, d->title, sizeof(d->title));
    col_text(st, c++, d->doc_type, sizeof(d->doc_type));
    col_text(st, c++, d->copy_no, sizeof(d->copy_no));
    d->level = sqlite3_column_int(st, c++);
    col_text(st, c++, d->secrecy_period, sizeof(d->secrecy_period));
    col_text(st, c++, d->urgency, sizeof(d->urgency));
    d->organ_id = sqlite3_column_int64(st, c++);
    d->department_id = sqlite3_column_int64(st, c++);
    col_text(st, c++, d->doc_number, sizeof(d->doc_number));
    col_text(st, c++, d->signer, sizeof(d->signer));
    col_text(st, c++, d->main_recipients, sizeof(d->main_recipients));
    col_text(st, c++, d->copied_recipients, sizeof(d->copied_recipients));
    col_text(st, c++, d->attachment_note, sizeof(d->attachment_note));
    col_text(st, c++, d->doc_date, sizeof(d->doc_date));
    col_text(st, c++, d->note, sizeof(d->note));
    col_text(st, c++, d->printing_organ, sizeof(d->printing_organ));
    col_text(st, c++, d->printing_date, sizeof(d->printing_date));
    d->drafter_id = sqlite3_column_int64(st, c++);
    d->source_id = sqlite3_column_int64(st, c++);
    d->reply_id = sqlite3_column_int64(st, c++);
    d->assignee_id = sqlite3_column_int64(st, c++);
    d->lead_department_id = sqlite3_column_int64(st, c++);
    col_text(st, c++, d->step_due, sizeof(d->step_due));
    col_text(st, c++, d->request_due, sizeof(d->request_due));
    d->extended = sqlite3_column_int(st, c++) != 0;
    d->created_at = sqlite3_column_int64(st, c++);
    d->updated_at = sqlite3_column_int64(st, c++);
    col_text(st, c++, d->declass_date, sizeof(d->declass_date));
    d->scoped = sqlite3_column_int(st, c++) != 0;
    if (sqlite3_column_type(st, c) == SQLITE_BLOB && sqlite3_column_bytes(st, c) == (int)sizeof(d->label_mac)) {
        memcpy(d->label_mac, sqlite3_column_blob(st, c), sizeof(d->label_mac));
        d->has_label_mac = true;
    }
}

static void bind_id(sqlite3_stmt *st, int i, int64_t v)
{
    if (v > 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v && v[0])
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Binds the mutable fields in the order of the INSERT and UPDATE below, from index 1. */
static int bind_fields(sqlite3_stmt *st, const struct oa_doc *d)
{
    int i = 1;
    sqlite3_bind_text(st, i++, d->state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->doc_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->copy_no, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, i++, d->level);
    sqlite3_bind_text(st, i++, d->secrecy_period, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->urgency, -1, SQLITE_STATIC);
    bind_id(st, i++, d->organ_id);
    bind_id(st, i++, d->department_id);
    bind_opt_text(st, i++, d->doc_number);
    sqlite3_bind_text(st, i++, d->signer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->main_recipients, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->copied_recipients, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->attachment_note, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->doc_date, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->note, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->printing_organ, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->printing_date, -1, SQLITE_STATIC);
    bind_id(st, i++, d->source_id);
    bind_id(st, i++, d->reply_id);
    bind_id(st, i++, d->assignee_id);
    bind_id(st, i++, d->lead_department_id);
    bind_opt_text(st, i++, d->step_due);
    bind_opt_text(st, i++, d->request_due);
    sqlite3_bind_int(st, i++, d->extended);
    sqlite3_bind_int64(st, i++, d->updated_at);
    sqlite3_bind_text(st, i++, d->declass_date, -1, SQLITE_STATIC);
    return i;
}

#define FIELDS_SET                                                                                         \
    "state = ?, title = ?, doc_type = ?, copy_no = ?, level = ?, secrecy_period = ?, urgency = ?,"       \
    " organ_id = ?, department_id = ?, doc_number = ?, signer = ?, main_recipients = ?,"                 \
    " copied_recipients = ?, attachment_note = ?, doc_date = ?, note = ?, printing_organ = ?,"          \
    " printing_date = ?, source_id = ?, reply_id = ?, assignee_id = ?, lead_department_id = ?,"          \
    " step_due = ?, request_due = ?, extended = ?, updated_at = ?, declass_date = ?"

static int body_put(struct oa_store *s, const struct oa_doc *d)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT OR REPLACE INTO doc_bodies(doc_id, body) VALUES (?, ?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, d->id);
    sqlite3_bind_text(st, 2, d->body ? d->body : "", -1, SQLITE_STATIC);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int oa_doc_load_body(struct oa_store *s, struct oa_doc *d)
{
    if (d->body != NULL)
        return 0;
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT body FROM doc_bodies WHERE doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, d->id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    const unsigned char *t = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    d->body = oa_xstrdup(t ? (const char *)t : "");
    sqlite3_reset(st);
    return 0;
}

static int fts_put(struct oa_store *s, const struct oa_doc *d, bool replace)
{
    if (replace) {
        sqlite3_stmt *del = oa_store_stmt(s, "DELETE FROM doc_fts WHERE rowid = ?");
        if (del == NULL)
            return -1;
        sqlite3_bind_int64(del, 1, d->id);
        if (sqlite3_step(del) != SQLITE_DONE)
            return -1;
    }
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT INTO doc_fts(rowid, title, body) VALUES (?, ?, ?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, d->id);
    sqlite3_bind_text(st, 2, d->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, d->body ? d->body : "", -1, SQLITE_STATIC);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

static int revision_put(struct oa_store *s, const struct oa_doc *d, int64_t author, int64_t behalf,
                        const char *changed)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO doc_revisions(doc_id, revision, author_id, on_behalf_id, at, changed, title, body)"
        " VALUES (?,?,?,?,?,?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, d->id);
    sqlite3_bind_int64(st, 2, d->revision);
    sqlite3_bind_int64(st, 3, author);
    bind_id(st, 4, behalf);
    sqlite3_bind_int64(st, 5, d->updated_at);
    sqlite3_bind_text(st, 6, changed, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, d->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, d->body ? d->body : "", -1, SQLITE_STATIC);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int oa_doc_insert(struct oa_store *s, struct oa_doc *d, int64_t author_id)
{
    /* bind_fields fills the first 27 columns; the fixed ones follow. */
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO documents(state, title, doc_type, copy_no, level, secrecy_period, urgency, organ_id,"
        " department_id, doc_number, signer, main_recipients, copied_recipients, attachment_note,"
        " doc_date, note, printing_organ, printing_date, source_id, reply_id, assignee_id,"
        " lead_department_id, step_due, request_due, extended, updated_at, declass_date,"
        " kind, def_version, drafter_id, created_at, revision)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, ?,?,?,?, 1)");
    if (st == NULL)
        return -1;
    d->created_at = d->updated_at = oa_now();
    d->revision = 1;
    int i = bind_fields(st, d);
    sqlite3_bind_text(st, i++, d->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, i++, d->def_version);
    sqlite3_bind_int64(st, i++, d->drafter_id);
    sqlite3_bind_int64(st, i++, d->created_at);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    d->id = sqlite3_last_insert_rowid(s->db);
    if (body_put(s, d) != 0 || fts_put(s, d, false) != 0 || revision_put(s, d, author_id, 0, "created") != 0 ||
        oa_doc_label_seal(s, d->id) != 0)
        return -1;
    return oa_change_record(s, "document", d->id, "create") < 0 ? -1 : 0;
}

int oa_doc_save(struct oa_store *s, struct oa_doc *d, int64_t author_id, int64_t on_behalf_id,
                const char *text_changed)
{
    /*
     * The label's MAC goes with the row in one statement: the row's level and
     * date are d's (written here), its scoped flag is checked to be d's, and
     * the scope rows are read in this transaction.  When the flag differs (a
     * caller's stale copy), the row is written and then sealed from itself.
     */
    unsigned char mac[OA_LABEL_MAC_LEN];
    int have = oa_doc_label_mac_of(s, d, mac);
    if (have < 0)
        return -1;
    sqlite3_stmt *st = oa_store_stmt(s, "UPDATE documents SET " FIELDS_SET ", revision = ?, label_mac = ?"
                                        " WHERE id = ? AND scoped = ?");
    if (st == NULL)
        return -1;
    d->updated_at = oa_now();
    d->revision++;
    int i = bind_fields(st, d);
    sqlite3_bind_int64(st, i++, d->revision);
    if (have)
        sqlite3_bind_blob(st, i++, mac, sizeof(mac), SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i++); /* no key: unsealed, and so refused by every check */
    sqlite3_bind_int64(st, i++, d->id);
    sqlite3_bind_int(st, i++, d->scoped);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    if (sqlite3_changes(s->db) == 1) {
        d->has_label_mac = have;
        if (have)
            memcpy(d->label_mac, mac, sizeof(mac));
    } else {
        d->has_label_mac = false; /* sealed from the row below: this copy no longer knows its MAC */
        st = oa_store_stmt(s, "UPDATE documents SET " FIELDS_SET ", revision = ? WHERE id = ?");
        if (st == NULL)
            return -1;
        i = bind_fields(st, d);
        sqlite3_bind_int64(st, i++, d->revision);
        sqlite3_bind_int64(st, i++, d->id);
        if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(s->db) != 1 || oa_doc_label_seal(s, d->id) != 0)
            return -1;
    }
    if (text_changed != NULL && text_changed[0] != '\0') {
        /* Text changes need the body (a revision keeps title and body together). */
        if (oa_doc_load_body(s, d) != 0 || (strstr(text_changed, "body") && body_put(s, d) != 0) ||
            fts_put(s, d, true) != 0 || revision_put(s, d, author_id, on_behalf_id, text_changed) != 0)
            return -1;
    }
    return oa_change_record(s, "document", d->id, text_changed ? "edit" : "state") < 0 ? -1 : 0;
}

char **oa_doc_scope_of(struct oa_store *s, const struct oa_doc *d, size_t *n)
{
    if (!d->scoped) {
        *n = 0;
        return oa_xcalloc(1, sizeof(char *));
    }
    return oa_doc_scope(s, d->id, n);
}

char **oa_doc_scope(struct oa_store *s, int64_t doc_id, size_t *n)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT entry FROM doc_scope WHERE doc_id = ? ORDER BY entry");
    *n = 0;
    if (st == NULL)
        return NULL;
    sqlite3_bind_int64(st, 1, doc_id);
    size_t cap = 4;
    char **v = oa_xmalloc(cap * sizeof(*v));
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n + 1 >= cap) {
            cap *= 2;
            v = oa_xrealloc(v, cap * sizeof(*v));
        }
        v[(*n)++] = oa_xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    v[*n] = NULL;
    sqlite3_reset(st);
    return v;
}

int oa_doc_scope_set(struct oa_store *s, struct oa_doc *d, const char *const *entries, size_t n)
{
    int64_t doc_id = d->id;
    d->scoped = n > 0;
    sqlite3_stmt *st = oa_store_stmt(s, "DELETE FROM doc_scope WHERE doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    st = oa_store_stmt(s, "UPDATE documents SET scoped = ? WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int(st, 1, n > 0);
    sqlite3_bind_int64(st, 2, doc_id);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    for (size_t i = 0; i < n; i++) {
        st = oa_store_stmt(s, "INSERT OR IGNORE INTO doc_scope(doc_id, entry) VALUES (?, ?)");
        if (st == NULL)
            return -1;
        sqlite3_bind_int64(st, 1, doc_id);
        sqlite3_bind_text(st, 2, entries[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            return -1;
    }
    return oa_doc_label_seal(s, doc_id);
}

int64_t oa_doc_step(struct oa_store *s, int64_t doc_id, const char *action, const char *from, const char *to,
                    int64_t actor_id, int64_t on_behalf_id, const char *opinion, const char *detail)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO doc_steps(doc_id, action, from_state, to_state, actor_id, on_behalf_id, opinion, detail, at)"
        " VALUES (?,?,?,?,?,?,?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, from, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, to, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, actor_id);
    bind_id(st, 6, on_behalf_id);
    sqlite3_bind_text(st, 7, opinion ? opinion : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, detail ? detail : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, oa_now());
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    int64_t id = sqlite3_last_insert_rowid(s->db);
    for (int k = 0; k < 2; k++) {
        int64_t who = k == 0 ? actor_id : on_behalf_id;
        if (who <= 0)
            continue;
        sqlite3_stmt *done = oa_store_stmt(s, "INSERT OR IGNORE INTO doc_done(user_id, doc_id) VALUES (?, ?)");
        if (done == NULL)
            return -1;
        sqlite3_bind_int64(done, 1, who);
        sqlite3_bind_int64(done, 2, doc_id);
        if (sqlite3_step(done) != SQLITE_DONE)
            return -1;
    }
    return id;
}

static int64_t current_round(struct oa_store *s, int64_t doc_id)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT coalesce(max(round), 0) FROM doc_participants WHERE doc_id = ? AND part = 'countersigner'");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    if (sqlite3_step(st) != SQLITE_ROW)
        return -1;
    return sqlite3_column_int64(st, 0);
}

int oa_part_facts(struct oa_store *s, int64_t doc_id, int64_t user_id, int *cs_pending, bool *is_cs,
                  bool *is_reader)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT coalesce(sum(part = 'countersigner'), 0),"
        " coalesce(max(part = 'countersigner' AND user_id = ?2), 0),"
        " coalesce(max(part = 'reader' AND user_id = ?2), 0)"
        " FROM doc_participants WHERE doc_id = ?1 AND status = 'pending'");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    sqlite3_bind_int64(st, 2, user_id);
    if (sqlite3_step(st) != SQLITE_ROW)
        return -1;
    *cs_pending = sqlite3_column_int(st, 0);
    *is_cs = sqlite3_column_int(st, 1) != 0;
    *is_reader = sqlite3_column_int(st, 2) != 0;
    return 0;
}

int oa_part_count(struct oa_store *s, int64_t doc_id, const char *part, const char *status)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT count(*) FROM doc_participants WHERE doc_id = ? AND part = ? AND status = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    sqlite3_bind_text(st, 2, part, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
    return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
}

bool oa_part_is(struct oa_store *s, int64_t doc_id, const char *part, const char *status, int64_t user_id)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT 1 FROM doc_participants WHERE doc_id = ? AND part = ? AND status = ? AND user_id = ?");
    if (st == NULL)
        return false;
    sqlite3_bind_int64(st, 1, doc_id);
    sqlite3_bind_text(st, 2, part, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, user_id);
    return sqlite3_step(st) == SQLITE_ROW;
}

static int part_insert(struct oa_store *s, int64_t doc_id, const char *part, int64_t round, const int64_t *users,
                       int n)
{
    for (int i = 0; i < n; i++) {
        sqlite3_stmt *st = oa_store_stmt(s,
            "INSERT OR IGNORE INTO doc_participants(doc_id, user_id, part, round, status) VALUES (?,?,?,?,'pending')");
        if (st == NULL)
            return -1;
        sqlite3_bind_int64(st, 1, doc_id);
        sqlite3_bind_int64(st, 2, users[i]);
        sqlite3_bind_text(st, 3, part, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, round);
        if (sqlite3_step(st) != SQLITE_DONE)
            return -1;
    }
    return 0;
}

int oa_part_cancel_pending(struct oa_store *s, int64_t doc_id)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "UPDATE doc_participants SET status = 'cancelled' WHERE doc_id = ? AND part = 'countersigner'"
        " AND status = 'pending'");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int oa_part_new_round(struct oa_store *s, int64_t doc_id, const int64_t *users, int n)
{
    int64_t round = current_round(s, doc_id);
    if (round < 0 || oa_part_cancel_pending(s, doc_id) != 0)
        return -1;
    return part_insert(s, doc_id, "countersigner", round + 1, users, n);
}

int oa_part_add_readers(struct oa_store *s, int64_t doc_id, const int64_t *users, int n)
{
    return part_insert(s, doc_id, "reader", 1, users, n);
}

int oa_part_set(struct oa_store *s, int64_t doc_id, const char *part, int64_t user_id, const char *status)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "UPDATE doc_participants SET status = ?, acted_at = ? WHERE doc_id = ? AND part = ? AND user_id = ?"
        " AND status = 'pending'");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, oa_now());
    sqlite3_bind_int64(st, 3, doc_id);
    sqlite3_bind_text(st, 4, part, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, user_id);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int oa_queue_set(struct oa_store *s, int64_t doc_id, unsigned roles, int64_t organ_id, int64_t department_id,
                 const int64_t *users, size_t n)
{
    sqlite3_stmt *del = oa_store_stmt(s, "DELETE FROM doc_queue WHERE doc_id = ?");
    if (del == NULL)
        return -1;
    sqlite3_bind_int64(del, 1, doc_id);
    if (sqlite3_step(del) != SQLITE_DONE)
        return -1;
    for (size_t i = 0; i <= n; i++) {
        bool role_row = i == n; /* the last row, after the people */
        if (role_row && roles == 0)
            continue;
        sqlite3_stmt *st = oa_store_stmt(s, "INSERT OR IGNORE INTO doc_queue(doc_id, user_id, roles, organ_id,"
                                            " department_id) VALUES (?,?,?,?,?)");
        if (st == NULL)
            return -1;
        sqlite3_bind_int64(st, 1, doc_id);
        sqlite3_bind_int64(st, 2, role_row ? 0 : users[i]);
        sqlite3_bind_int64(st, 3, role_row ? roles : 0);
        sqlite3_bind_int64(st, 4, role_row ? organ_id : 0);
        sqlite3_bind_int64(st, 5, role_row ? department_id : 0);
        if (sqlite3_step(st) != SQLITE_DONE)
            return -1;
    }
    return 0;
}

int oa_number_allocate(struct oa_store *s, int64_t organ_id, const char *prefix, int year, int64_t doc_id,
                       char *out, size_t outlen)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO number_counters(organ_id, prefix, year, last) VALUES (?, ?, ?, 1)"
        " ON CONFLICT(organ_id, prefix, year) DO UPDATE SET last = last + 1 RETURNING last");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, organ_id);
    sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, year);
    if (sqlite3_step(st) != SQLITE_ROW)
        return -1;
    int64_t seq = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    (void)oa_number_format(prefix, year, seq, out, outlen); /* truncated when out is too small */
    st = oa_store_stmt(s,
        "INSERT INTO doc_numbers(organ_id, prefix, year, seq, number, doc_id, at) VALUES (?,?,?,?,?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, organ_id);
    sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, year);
    sqlite3_bind_int64(st, 4, seq);
    sqlite3_bind_text(st, 5, out, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, doc_id);
    sqlite3_bind_int64(st, 7, oa_now());
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

bool oa_doc_in_todo(struct oa_store *s, int64_t doc_id, int64_t user_id, unsigned roles, int64_t department_id)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT " OA_TODO_DOC("?1", "?2", "?3", "?4"));
    if (st == NULL)
        return false;
    sqlite3_bind_int64(st, 1, doc_id);
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int64(st, 3, roles);
    sqlite3_bind_int64(st, 4, department_id);
    bool found = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    return found;
}

int oa_number_void(struct oa_store *s, int64_t doc_id, const char *number, const char *reason)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "UPDATE doc_numbers SET voided = 1, void_reason = ? WHERE doc_id = ? AND number = ? AND voided = 0");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, doc_id);
    sqlite3_bind_text(st, 3, number, -1, SQLITE_STATIC);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

/*
 * The calendar is read on every step change; it is kept in memory and read
 * again only after oa_calendar_changed.  Only the writer thread (which
 * makes every change) uses it.
 */
static struct {
    struct oa_day_exception *ex;
    size_t n;
    bool valid;
} calendar;

void oa_calendar_changed(void)
{
    calendar.valid = false;
}

const struct oa_day_exception *oa_calendar_get(struct oa_store *s, size_t *n)
{
    if (!calendar.valid) {
        sqlite3_stmt *st = oa_store_stmt(s, "SELECT day, workday FROM calendar ORDER BY day");
        if (st == NULL) {
            *n = 0;
            return NULL;
        }
        size_t cap = 64, count = 0;
        struct oa_day_exception *ex = oa_xmalloc(cap * sizeof(*ex));
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (count == cap) {
                cap *= 2;
                ex = oa_xrealloc(ex, cap * sizeof(*ex));
            }
            ex[count].day = (int32_t)sqlite3_column_int64(st, 0);
            ex[count].workday = sqlite3_column_int(st, 1) != 0;
            count++;
        }
        free(calendar.ex);
        calendar.ex = ex;
        calendar.n = count;
        calendar.valid = true;
    }
    *n = calendar.n;
    return calendar.ex;
}

int oa_idem_put(struct oa_store *s, int64_t user_id, const char *key, int status, const void *body, size_t len)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO idempotency(user_id, key, status, body, at) VALUES (?,?,?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, status);
    sqlite3_bind_blob(st, 4, body, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, oa_now());
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int oa_idem_prune(struct oa_store *s, int64_t before, int max, int64_t *n)
{
    *n = 0;
    sqlite3_stmt *st = oa_store_stmt(s,
        "DELETE FROM idempotency WHERE id IN (SELECT id FROM idempotency ORDER BY id LIMIT ?) AND at < ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int(st, 1, max);
    sqlite3_bind_int64(st, 2, before);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    *n = sqlite3_changes(s->db);
    return 0;
}

int oa_idem_get(struct oa_store *s, int64_t user_id, const char *key, int *status, unsigned char **body,
                size_t *len)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT status, body FROM idempotency WHERE user_id = ? AND key = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    *status = sqlite3_column_int(st, 0);
    *len = (size_t)sqlite3_column_bytes(st, 1);
    *body = oa_xmalloc(*len + 1);
    if (*len)
        memcpy(*body, sqlite3_column_blob(st, 1), *len);
    return 1;
}

int64_t oa_user_id_by_name(struct oa_store *s, const char *username)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT id FROM users WHERE username = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    return rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : rc == SQLITE_DONE ? 0 : -1;
}

/* ---- what the action and queue use cases ask (app/doc_action.c, app/doc_steps.c) ---- */

void oa_ids_add(struct oa_ids *ids, int64_t id)
{
    if (ids->n == ids->cap)
        ids->v = oa_xrealloc(ids->v, (ids->cap = ids->cap ? ids->cap * 2 : 8) * sizeof(*ids->v));
    ids->v[ids->n++] = id;
}

/* Appends column 0 of every row of st (one bound id) to out. */
static int ids_of(sqlite3_stmt *st, int64_t id, struct oa_ids *out)
{
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        oa_ids_add(out, sqlite3_column_int64(st, 0));
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_part_pending_countersigners(struct oa_store *s, int64_t doc_id, struct oa_ids *out)
{
    return ids_of(oa_store_stmt(s, "SELECT user_id FROM doc_participants WHERE doc_id = ? AND part = 'countersigner'"
                                   " AND status = 'pending'"),
                  doc_id, out);
}

int oa_department_members(struct oa_store *s, int64_t department_id, struct oa_ids *out)
{
    return ids_of(oa_store_stmt(s, "SELECT id FROM users WHERE department_id = ? AND disabled = 0"), department_id,
                  out);
}

/* The first column of the one row `sql` answers for id: 0 when none, -1 on error. */
static int64_t id_lookup(struct oa_store *s, const char *sql, int64_t id)
{
    sqlite3_stmt *st = oa_store_stmt(s, sql);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return v;
}

bool oa_department_exists(struct oa_store *s, int64_t id)
{
    return id_lookup(s, "SELECT 1 FROM departments WHERE id = ?", id) == 1;
}

int64_t oa_department_organ(struct oa_store *s, int64_t department_id)
{
    return id_lookup(s, "SELECT organ_id FROM departments WHERE id = ?", department_id);
}

int64_t oa_organ_find(struct oa_store *s, int64_t organ_id)
{
    return id_lookup(s, "SELECT id FROM organs WHERE id = ?", organ_id);
}

bool oa_delegation_active(struct oa_store *s, int64_t from, int64_t to, const char *today)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT 1 FROM delegations WHERE from_id = ? AND to_id = ? AND revoked = 0"
        " AND starts_on <= ? AND ends_on >= ?");
    if (st == NULL)
        return false;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    sqlite3_bind_text(st, 3, today, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, today, -1, SQLITE_TRANSIENT);
    bool found = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    return found;
}

int oa_chase_add(struct oa_store *s, int64_t doc_id, int64_t target_id, int64_t by_id, const char *note)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT INTO chases(doc_id, target_id, by_id, note, at) VALUES (?,?,?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    sqlite3_bind_int64(st, 2, target_id);
    sqlite3_bind_int64(st, 3, by_id);
    sqlite3_bind_text(st, 4, note, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, oa_now());
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int oa_doc_declass_due(struct oa_store *s, const char *today, struct oa_declass_due *out, size_t cap, size_t *n)
{
    *n = 0;
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT id, kind, level, declass_date, coalesce(doc_number, '') FROM documents"
        " WHERE declass_date != '' AND declass_date <= ? AND level > 0 ORDER BY declass_date, id LIMIT 500");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, today, -1, SQLITE_TRANSIENT);
    while (*n < cap && sqlite3_step(st) == SQLITE_ROW) {
        struct oa_declass_due *x = &out[(*n)++];
        x->id = sqlite3_column_int64(st, 0);
        col_text(st, 1, x->kind, sizeof(x->kind));
        x->level = sqlite3_column_int(st, 2);
        col_text(st, 3, x->declass_date, sizeof(x->declass_date));
        col_text(st, 4, x->doc_number, sizeof(x->doc_number));
    }
    sqlite3_reset(st);
    return 0;
}
