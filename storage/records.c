/*
 * storage/records.c: the rows of records management (#16).  See records.h.
 */
#include "storage/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void text_col(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* Steps a statement that returns no row; 0, or 1 on a constraint, -1 on another error. */
static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return 0;
    return (rc & 0xff) == SQLITE_CONSTRAINT ? 1 : -1;
}

/* ---- fonds codes ---- */

int oa_organ_fonds(struct oa_store *s, int64_t organ_id, char out[8])
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT fonds FROM organs WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, organ_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return -2;
    if (rc != SQLITE_ROW)
        return -1;
    out[0] = '\0';
    if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
        sqlite3_reset(st);
        return 0;
    }
    text_col(st, 0, out, 8);
    sqlite3_reset(st);
    return 1;
}

int oa_organ_fonds_set(struct oa_store *s, int64_t organ_id, const char *fonds)
{
    sqlite3_stmt *st = oa_store_stmt(s, "UPDATE organs SET fonds = ? WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, fonds, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, organ_id);
    int rc = step_done(st);
    if (rc != 0)
        return rc;
    return sqlite3_changes(sqlite3_db_handle(st)) == 0 ? 2 : 0;
}

/* One text column of a one-row query with two integer parameters into out; 0 or -1. */
static int text_of(struct oa_store *s, const char *sql, int64_t a, int64_t b, char *out, size_t cap)
{
    sqlite3_stmt *st = oa_store_stmt(s, sql);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    int rc = sqlite3_step(st);
    out[0] = '\0';
    if (rc == SQLITE_ROW)
        text_col(st, 0, out, cap);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int oa_rec_organ_name(struct oa_store *s, int64_t organ_id, char *out, size_t cap)
{
    return text_of(s, "SELECT name FROM organs WHERE id = ?1 AND ?2 = 0", organ_id, 0, out, cap);
}

int oa_rec_issuer(struct oa_store *s, int64_t organ_id, int64_t department_id, char *out, size_t cap)
{
    return text_of(s,
                   "SELECT coalesce((SELECT code FROM departments WHERE id = ?2),"
                   " (SELECT code FROM organs WHERE id = ?1), '')",
                   organ_id, department_id, out, cap);
}

int64_t oa_rec_step_count(struct oa_store *s, int64_t doc_id)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT count(*) FROM doc_steps WHERE doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return n;
}

/* ---- retention schedules ---- */

int oa_rec_schedule_put(struct oa_store *s, int64_t organ_id, const char *doc_type, const char *issuer,
                        const char *retention)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO retention_schedule(organ_id, doc_type, issuer, retention) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (organ_id, doc_type, issuer) DO UPDATE SET retention = excluded.retention");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, organ_id);
    sqlite3_bind_text(st, 2, doc_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, issuer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, retention, -1, SQLITE_STATIC);
    return step_done(st) == 0 ? 0 : -1;
}

int oa_rec_schedule_delete(struct oa_store *s, int64_t organ_id, const char *doc_type, const char *issuer)
{
    sqlite3_stmt *st =
        oa_store_stmt(s, "DELETE FROM retention_schedule WHERE organ_id = ? AND doc_type = ? AND issuer = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, organ_id);
    sqlite3_bind_text(st, 2, doc_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, issuer, -1, SQLITE_STATIC);
    if (step_done(st) != 0)
        return -1;
    return sqlite3_changes(sqlite3_db_handle(st)) > 0 ? 1 : 0;
}

int oa_rec_schedule_each(struct oa_store *s, int64_t organ_id,
                         void (*fn)(void *arg, int64_t organ_id, const char *doc_type, const char *issuer,
                                    const char *retention),
                         void *arg)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT organ_id, doc_type, issuer, retention FROM retention_schedule"
        " WHERE ?1 = 0 OR organ_id = ?1 ORDER BY organ_id, doc_type, issuer");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, organ_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
           (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- filed records ---- */

int oa_rec_next_item(struct oa_store *s, const char *fonds, const char *category, int year, const char *retention,
                     const char *class_code, int *item)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO record_counters(fonds, category, year, retention, class_code, last) VALUES (?, ?, ?, ?, ?, 1)"
        " ON CONFLICT (fonds, category, year, retention, class_code) DO UPDATE SET last = last + 1"
        " RETURNING last");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, fonds, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, category, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, year);
    sqlite3_bind_text(st, 4, retention, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, class_code, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return -1;
    }
    *item = sqlite3_column_int(st, 0);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_rec_insert(struct oa_store *s, const struct oa_record_row *r)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO records(doc_id, organ_id, fonds, category, year, retention, class_code, item_no, archival_no,"
        " retention_reason, title, responsible, doc_number, doc_date, pages, level, note, filed_at, filed_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, r->doc_id);
    sqlite3_bind_int64(st, 2, r->organ_id);
    sqlite3_bind_text(st, 3, r->fonds, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->category, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, r->year);
    sqlite3_bind_text(st, 6, r->retention, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, r->class_code, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 8, r->item_no);
    sqlite3_bind_text(st, 9, r->archival_no, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, r->retention_reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, r->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, r->responsible, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, r->doc_number, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, r->doc_date, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 15, r->pages);
    sqlite3_bind_int(st, 16, r->level);
    sqlite3_bind_text(st, 17, r->note, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 18, r->filed_at);
    sqlite3_bind_int64(st, 19, r->filed_by);
    return step_done(st);
}

#define RECORD_COLS                                                                                    \
    "doc_id, organ_id, fonds, category, year, retention, class_code, item_no, archival_no,"           \
    " retention_reason, title, responsible, doc_number, doc_date, pages, level, note, filed_at, filed_by," \
    " state, hold, hold_reason"

static void record_from(sqlite3_stmt *st, struct oa_record_row *r)
{
    memset(r, 0, sizeof(*r));
    r->doc_id = sqlite3_column_int64(st, 0);
    r->organ_id = sqlite3_column_int64(st, 1);
    text_col(st, 2, r->fonds, sizeof(r->fonds));
    text_col(st, 3, r->category, sizeof(r->category));
    r->year = sqlite3_column_int(st, 4);
    text_col(st, 5, r->retention, sizeof(r->retention));
    text_col(st, 6, r->class_code, sizeof(r->class_code));
    r->item_no = sqlite3_column_int(st, 7);
    text_col(st, 8, r->archival_no, sizeof(r->archival_no));
    text_col(st, 9, r->retention_reason, sizeof(r->retention_reason));
    text_col(st, 10, r->title, sizeof(r->title));
    text_col(st, 11, r->responsible, sizeof(r->responsible));
    text_col(st, 12, r->doc_number, sizeof(r->doc_number));
    text_col(st, 13, r->doc_date, sizeof(r->doc_date));
    r->pages = sqlite3_column_int(st, 14);
    r->level = sqlite3_column_int(st, 15);
    text_col(st, 16, r->note, sizeof(r->note));
    r->filed_at = sqlite3_column_int64(st, 17);
    r->filed_by = sqlite3_column_int64(st, 18);
    text_col(st, 19, r->state, sizeof(r->state));
    r->hold = sqlite3_column_int(st, 20) != 0;
    text_col(st, 21, r->hold_reason, sizeof(r->hold_reason));
}

int oa_rec_load(struct oa_store *s, int64_t doc_id, struct oa_record_row *r)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT " RECORD_COLS " FROM records WHERE doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        record_from(st, r);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int oa_rec_is_filed(struct oa_store *s, int64_t doc_id)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT 1 FROM records WHERE doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int oa_rec_each(struct oa_store *s, const struct oa_rec_filter *f,
                bool (*fn)(void *arg, const struct oa_record_row *r), void *arg)
{
    /* Due: past retention in year ?7 (D30, D10; never Y), the period running from the year after. */
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT " RECORD_COLS " FROM records"
        " WHERE (?1 IS NULL OR fonds = ?1) AND (?2 = 0 OR year = ?2) AND (?3 IS NULL OR retention = ?3)"
        " AND (?4 IS NULL OR class_code = ?4)"
        " AND (CASE WHEN ?5 IS NULL THEN state <> 'disposed' ELSE state = ?5 END)"
        " AND (?6 = 0 OR (retention <> 'Y' AND ?7 > year + CASE retention WHEN 'D30' THEN 30 ELSE 10 END))"
        " ORDER BY fonds, year, retention, class_code, item_no");
    if (st == NULL)
        return -1;
    if (f->fonds && f->fonds[0])
        sqlite3_bind_text(st, 1, f->fonds, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, f->year);
    if (f->retention && f->retention[0])
        sqlite3_bind_text(st, 3, f->retention, -1, SQLITE_STATIC);
    if (f->class_code)
        sqlite3_bind_text(st, 4, f->class_code, -1, SQLITE_STATIC);
    if (f->state && f->state[0])
        sqlite3_bind_text(st, 5, f->state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, f->due_in ? 1 : 0);
    sqlite3_bind_int(st, 7, f->due_in_year);
    struct oa_record_row *r = malloc(sizeof(*r));
    if (r == NULL)
        abort();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        record_from(st, r);
        if (!fn(arg, r)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    free(r);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- corrections and holds ---- */

int oa_rec_unseal(struct oa_store *s, int64_t doc_id, const char *purpose)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT OR REPLACE INTO record_unseal(doc_id, purpose) VALUES (?, ?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    sqlite3_bind_text(st, 2, purpose, -1, SQLITE_STATIC);
    return step_done(st) == 0 ? 0 : -1;
}

int oa_rec_reseal(struct oa_store *s, int64_t doc_id)
{
    sqlite3_stmt *st = oa_store_stmt(s, "DELETE FROM record_unseal WHERE doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    return step_done(st) == 0 ? 0 : -1;
}

int oa_rec_set_field(struct oa_store *s, int64_t doc_id, const char *field, const char *value)
{
    /* One statement per field: the statement cache is keyed by the SQL's address. */
    static const struct {
        const char *field, *sql;
    } fields[] = {
        {"title", "UPDATE records SET title = ?1 WHERE doc_id = ?2"},
        {"responsible", "UPDATE records SET responsible = ?1 WHERE doc_id = ?2"},
        {"doc_number", "UPDATE records SET doc_number = ?1 WHERE doc_id = ?2"},
        {"doc_date", "UPDATE records SET doc_date = ?1 WHERE doc_id = ?2"},
        {"pages", "UPDATE records SET pages = CAST(?1 AS INTEGER) WHERE doc_id = ?2"},
        {"note", "UPDATE records SET note = ?1 WHERE doc_id = ?2"},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strcmp(fields[i].field, field) != 0)
            continue;
        sqlite3_stmt *st = oa_store_stmt(s, fields[i].sql);
        if (st == NULL)
            return -1;
        sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, doc_id);
        return step_done(st) == 0 ? 0 : -1;
    }
    return 1;
}

int64_t oa_rec_correction_add(struct oa_store *s, int64_t doc_id, const char *field, const char *old,
                              const char *new_value, const char *reason, int64_t by_id)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO record_corrections(doc_id, field, old, new, reason, by_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, old, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, new_value, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, by_id);
    sqlite3_bind_int64(st, 7, oa_now());
    if (step_done(st) != 0)
        return -1;
    return sqlite3_last_insert_rowid(sqlite3_db_handle(st));
}

int oa_rec_corrections_each(struct oa_store *s, int64_t doc_id,
                            void (*fn)(void *arg, const char *field, const char *old, const char *new_value,
                                       const char *reason, int64_t by_id, int64_t at),
                            void *arg)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT field, old, new, reason, by_id, at FROM record_corrections WHERE doc_id = ? ORDER BY id");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
           (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
           sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_rec_set_hold(struct oa_store *s, int64_t doc_id, bool hold, const char *reason)
{
    sqlite3_stmt *st = oa_store_stmt(s, "UPDATE records SET hold = ?, hold_reason = ? WHERE doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int(st, 1, hold ? 1 : 0);
    sqlite3_bind_text(st, 2, reason ? reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, doc_id);
    return step_done(st) == 0 ? 0 : -1;
}

int oa_rec_set_state(struct oa_store *s, int64_t doc_id, const char *state)
{
    sqlite3_stmt *st = oa_store_stmt(s, "UPDATE records SET state = ? WHERE doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, doc_id);
    return step_done(st) == 0 ? 0 : -1;
}

/* ---- disposal lists and tombstones ---- */

int64_t oa_disposal_insert(struct oa_store *s, int64_t organ_id, int64_t proposed_by, const char *reason)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO disposal_lists(organ_id, proposed_by, proposed_at, reason) VALUES (?, ?, ?, ?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, organ_id);
    sqlite3_bind_int64(st, 2, proposed_by);
    sqlite3_bind_int64(st, 3, oa_now());
    sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
    if (step_done(st) != 0)
        return -1;
    return sqlite3_last_insert_rowid(sqlite3_db_handle(st));
}

int oa_disposal_item_add(struct oa_store *s, int64_t list_id, int64_t doc_id)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT OR IGNORE INTO disposal_items(list_id, doc_id) VALUES (?, ?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, list_id);
    sqlite3_bind_int64(st, 2, doc_id);
    return step_done(st) == 0 ? 0 : -1;
}

static void disposal_from(sqlite3_stmt *st, struct oa_disposal_row *d)
{
    memset(d, 0, sizeof(*d));
    d->id = sqlite3_column_int64(st, 0);
    d->organ_id = sqlite3_column_int64(st, 1);
    d->proposed_by = sqlite3_column_int64(st, 2);
    d->proposed_at = sqlite3_column_int64(st, 3);
    text_col(st, 4, d->reason, sizeof(d->reason));
    d->approved_by = sqlite3_column_int64(st, 5);
    d->decided_at = sqlite3_column_int64(st, 6);
    text_col(st, 7, d->opinion, sizeof(d->opinion));
    text_col(st, 8, d->state, sizeof(d->state));
}

#define DISPOSAL_COLS "id, organ_id, proposed_by, proposed_at, reason, approved_by, decided_at, opinion, state"

int oa_disposal_load(struct oa_store *s, int64_t id, struct oa_disposal_row *d)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT " DISPOSAL_COLS " FROM disposal_lists WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        disposal_from(st, d);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int oa_disposal_items(struct oa_store *s, int64_t id, int64_t *ids, size_t cap, size_t *n)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT doc_id FROM disposal_items WHERE list_id = ? ORDER BY doc_id");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    *n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < cap)
        ids[(*n)++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

int oa_disposal_decide(struct oa_store *s, int64_t id, int64_t approved_by, const char *state, const char *opinion)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "UPDATE disposal_lists SET approved_by = ?, decided_at = ?, state = ?, opinion = ? WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, approved_by);
    sqlite3_bind_int64(st, 2, oa_now());
    sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, opinion ? opinion : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, id);
    return step_done(st) == 0 ? 0 : -1;
}

int oa_disposal_pending_for(struct oa_store *s, int64_t doc_id)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT 1 FROM disposal_items i JOIN disposal_lists l ON l.id = i.list_id"
        " WHERE i.doc_id = ? AND l.state = 'proposed'");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int oa_disposal_each(struct oa_store *s, size_t limit, void (*fn)(void *arg, const struct oa_disposal_row *d),
                     void *arg)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT " DISPOSAL_COLS " FROM disposal_lists ORDER BY id DESC LIMIT ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, (int64_t)limit);
    struct oa_disposal_row d;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        disposal_from(st, &d);
        fn(arg, &d);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_tombstone_insert(struct oa_store *s, const struct oa_tombstone_row *t)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO record_tombstones(doc_id, archival_no, title, doc_date, filed_at, disposed_at, list_id,"
        " proposed_by, approved_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, t->doc_id);
    sqlite3_bind_text(st, 2, t->archival_no, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, t->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, t->doc_date, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, t->filed_at);
    sqlite3_bind_int64(st, 6, t->disposed_at);
    sqlite3_bind_int64(st, 7, t->list_id);
    sqlite3_bind_int64(st, 8, t->proposed_by);
    sqlite3_bind_int64(st, 9, t->approved_by);
    return step_done(st) == 0 ? 0 : -1;
}

int oa_tombstone_load(struct oa_store *s, int64_t doc_id, struct oa_tombstone_row *t)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT doc_id, archival_no, title, doc_date, filed_at, disposed_at, list_id, proposed_by, approved_by"
        " FROM record_tombstones WHERE doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(t, 0, sizeof(*t));
        t->doc_id = sqlite3_column_int64(st, 0);
        text_col(st, 1, t->archival_no, sizeof(t->archival_no));
        text_col(st, 2, t->title, sizeof(t->title));
        text_col(st, 3, t->doc_date, sizeof(t->doc_date));
        t->filed_at = sqlite3_column_int64(st, 4);
        t->disposed_at = sqlite3_column_int64(st, 5);
        t->list_id = sqlite3_column_int64(st, 6);
        t->proposed_by = sqlite3_column_int64(st, 7);
        t->approved_by = sqlite3_column_int64(st, 8);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* ---- erasure ---- */

/* Runs one cached statement with doc_id as ?1 (and text as ?2 when not NULL); 0 or -1. */
static int run_on(struct oa_store *s, const char *sql, int64_t doc_id, const char *text)
{
    sqlite3_stmt *st = oa_store_stmt(s, sql);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    if (text != NULL)
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    return step_done(st) == 0 ? 0 : -1;
}

int oa_rec_erase(struct oa_store *s, int64_t doc_id, const char *title, const char *body)
{
    static const char *const erase[] = {
        "UPDATE documents SET title = '', doc_type = '', copy_no = '', doc_number = NULL, signer = '',"
        " main_recipients = '', copied_recipients = '', attachment_note = '', note = '', printing_organ = '',"
        /* #14: a new revision, as every change of a listed field: ETags and the list items' cache (doc_items.h) */
        " revision = revision + 1 WHERE id = ?1",
        "UPDATE doc_bodies SET body = '' WHERE doc_id = ?1",
        "DELETE FROM doc_revisions WHERE doc_id = ?1",
        "UPDATE doc_steps SET opinion = '', detail = '' WHERE doc_id = ?1",
        "DELETE FROM doc_fts WHERE rowid = ?1",
        "UPDATE attachments SET name = '' WHERE doc_id = ?1",
        "UPDATE blobs SET dek = NULL WHERE doc_id = ?1",
        "UPDATE chases SET note = '' WHERE doc_id = ?1",
        "UPDATE doc_numbers SET number = '' WHERE doc_id = ?1",
        /* What went out through the gateway: the outbox's copy (a reply quotes the text) and its files. */
        "UPDATE outbox SET content = X'a0' WHERE doc_id = ?1",
        "DELETE FROM outbox_files WHERE outbox_id IN (SELECT id FROM outbox WHERE doc_id = ?1)",
    };
    /* Freed cells and pages are overwritten with zeros, not left in the file. */
    if (oa_store_exec(s, "PRAGMA secure_delete = ON") != 0)
        return -1;
    /* Idempotent answers kept for retries may quote the steps' opinions: those that do go (opinions of
     * a dozen bytes or more, so that a bare 同意 does not empty the table). */
    int rc = run_on(s,
                    "DELETE FROM idempotency WHERE EXISTS (SELECT 1 FROM doc_steps WHERE doc_id = ?1"
                    " AND length(CAST(opinion AS BLOB)) >= 12 AND instr(idempotency.body, CAST(opinion AS BLOB)) > 0)",
                    doc_id, NULL);
    for (size_t i = 0; i < sizeof(erase) / sizeof(erase[0]) && rc == 0; i++)
        rc = run_on(s, erase[i], doc_id, NULL);
    /* Idempotent answers kept for retries quote the document: those that do go. */
    if (rc == 0 && title != NULL && title[0] != '\0')
        rc = run_on(s, "DELETE FROM idempotency WHERE ?1 > 0 AND instr(body, CAST(?2 AS BLOB)) > 0", doc_id, title);
    if (rc == 0 && body != NULL && body[0] != '\0')
        rc = run_on(s, "DELETE FROM idempotency WHERE ?1 > 0 AND instr(body, CAST(?2 AS BLOB)) > 0", doc_id, body);
    /* A deleted FTS5 row stays in the index's segments until they are merged. */
    if (rc == 0)
        rc = oa_store_exec(s, "INSERT INTO doc_fts(doc_fts) VALUES ('optimize')");
    if (oa_store_exec(s, "PRAGMA secure_delete = FAST") != 0)
        rc = -1;
    return rc;
}
