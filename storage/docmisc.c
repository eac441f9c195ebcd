/* storage/docmisc.c: see docmisc.h. */
#include "storage/docmisc.h"

#include <sqlite3.h>

#include "proto/value.h"

int64_t oa_delegation_insert(struct oa_store *s, int64_t from, int64_t to, const char *starts_on, const char *ends_on)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT INTO delegations(from_id, to_id, starts_on, ends_on, created_at)"
                                        " VALUES (?,?,?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    sqlite3_bind_text(st, 3, starts_on, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ends_on, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, oa_now());
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? sqlite3_last_insert_rowid(s->db) : -1;
}

int oa_delegation_revoke(struct oa_store *s, int64_t id, int64_t from)
{
    sqlite3_stmt *st = oa_store_stmt(s, "UPDATE delegations SET revoked = 1 WHERE id = ? AND from_id = ? AND revoked = 0");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, from);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    return sqlite3_changes(s->db) > 0;
}

int oa_delegation_each(struct oa_store *s, int64_t user, void (*fn)(void *arg, const struct oa_delegation_row *row),
                       void *arg)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT d.id, f.username, t.username, d.starts_on, d.ends_on, d.revoked FROM delegations d"
        " JOIN users f ON f.id = d.from_id JOIN users t ON t.id = d.to_id"
        " WHERE d.from_id = ?1 OR d.to_id = ?1 ORDER BY d.id LIMIT 1000");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct oa_delegation_row row = {
            sqlite3_column_int64(st, 0),         (const char *)sqlite3_column_text(st, 1),
            (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
            (const char *)sqlite3_column_text(st, 4), sqlite3_column_int(st, 5) != 0,
        };
        fn(arg, &row);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_calendar_each(struct oa_store *s, void (*fn)(void *arg, int32_t day, bool workday, const char *note), void *arg)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT day, workday, note FROM calendar ORDER BY day LIMIT 10000");
    if (st == NULL)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, (int32_t)sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1) != 0,
           (const char *)sqlite3_column_text(st, 2));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_calendar_set(struct oa_store *s, int32_t day, bool workday, const char *note)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT OR REPLACE INTO calendar(day, workday, note) VALUES (?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, day);
    sqlite3_bind_int(st, 2, workday);
    sqlite3_bind_text(st, 3, note ? note : "", -1, SQLITE_STATIC);
    return step_done(st);
}

int oa_calendar_clear(struct oa_store *s, int32_t day)
{
    sqlite3_stmt *st = oa_store_stmt(s, "DELETE FROM calendar WHERE day = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, day);
    return step_done(st);
}

int oa_chases_for(struct oa_store *s, int64_t user, struct oa_chase_row *rows)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT c.id, c.doc_id, d.title, b.username, c.note, c.at FROM chases c"
        " JOIN documents d ON d.id = c.doc_id JOIN users b ON b.id = c.by_id"
        " WHERE c.target_id = ? ORDER BY c.id DESC LIMIT 200");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    int n = 0, rc = SQLITE_DONE;
    while (n < OA_CHASES_MAX && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rows[n].id = sqlite3_column_int64(st, 0);
        rows[n].doc = sqlite3_column_int64(st, 1);
        pv_utf8_copy(rows[n].title, sizeof(rows[n].title), (const char *)sqlite3_column_text(st, 2));
        pv_utf8_copy(rows[n].by, sizeof(rows[n].by), (const char *)sqlite3_column_text(st, 3));
        pv_utf8_copy(rows[n].note, sizeof(rows[n].note), (const char *)sqlite3_column_text(st, 4));
        rows[n].at = sqlite3_column_int64(st, 5);
        n++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : -1;
}
