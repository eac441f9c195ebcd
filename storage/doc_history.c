/* storage/doc_history.c: see doc_history.h. */
#include "storage/doc_history.h"

#include <sqlite3.h>

#define TEXT(st, i) ((const char *)sqlite3_column_text((st), (i)))

static sqlite3_stmt *bound(struct oa_store *s, const char *sql, int64_t doc)
{
    sqlite3_stmt *st = oa_store_stmt(s, sql);
    if (st != NULL)
        sqlite3_bind_int64(st, 1, doc);
    return st;
}

static int finish(sqlite3_stmt *st, int rc)
{
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_doc_steps_each(struct oa_store *s, int64_t doc, void (*fn)(void *arg, const struct oa_step_row *r), void *arg)
{
    sqlite3_stmt *st = bound(s,
        "SELECT s.id, s.action, s.from_state, s.to_state, a.username, b.username, s.opinion, s.detail, s.at"
        " FROM doc_steps s JOIN users a ON a.id = s.actor_id LEFT JOIN users b ON b.id = s.on_behalf_id"
        " WHERE s.doc_id = ? ORDER BY s.id LIMIT 10000", doc);
    if (st == NULL)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct oa_step_row r = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 8), TEXT(st, 1), TEXT(st, 2),
                                TEXT(st, 3), TEXT(st, 4), TEXT(st, 5), TEXT(st, 6), TEXT(st, 7)};
        fn(arg, &r);
    }
    return finish(st, rc);
}

int oa_doc_revisions_each(struct oa_store *s, int64_t doc, void (*fn)(void *arg, const struct oa_revision_row *r),
                          void *arg)
{
    sqlite3_stmt *st = bound(s,
        "SELECT r.revision, u.username, r.at, r.changed FROM doc_revisions r JOIN users u ON u.id = r.author_id"
        " WHERE r.doc_id = ? ORDER BY r.revision LIMIT 10000", doc);
    if (st == NULL)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct oa_revision_row r = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 2), TEXT(st, 1),
                                    TEXT(st, 3), NULL, NULL};
        fn(arg, &r);
    }
    return finish(st, rc);
}

int oa_doc_revision_get(struct oa_store *s, int64_t doc, int64_t n,
                        void (*fn)(void *arg, const struct oa_revision_row *r), void *arg)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT r.revision, r.at, r.changed, r.title, r.body, u.username FROM doc_revisions r"
        " JOIN users u ON u.id = r.author_id WHERE r.doc_id = ? AND r.revision = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc);
    sqlite3_bind_int64(st, 2, n);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        struct oa_revision_row r = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), TEXT(st, 5),
                                    TEXT(st, 2), TEXT(st, 3), TEXT(st, 4)};
        fn(arg, &r);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int oa_doc_participants_each(struct oa_store *s, int64_t doc,
                             void (*fn)(void *arg, const struct oa_participant_row *r), void *arg)
{
    sqlite3_stmt *st = bound(s,
        "SELECT u.username, p.part, p.round, p.status, p.acted_at FROM doc_participants p"
        " JOIN users u ON u.id = p.user_id WHERE p.doc_id = ? ORDER BY p.part, p.round, u.username LIMIT 10000", doc);
    if (st == NULL)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct oa_participant_row r = {TEXT(st, 0), TEXT(st, 1), TEXT(st, 3), sqlite3_column_int64(st, 2),
                                       sqlite3_column_type(st, 4) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 4)};
        fn(arg, &r);
    }
    return finish(st, rc);
}

int oa_doc_chases_each(struct oa_store *s, int64_t doc, void (*fn)(void *arg, const struct oa_doc_chase_row *r),
                       void *arg)
{
    sqlite3_stmt *st = bound(s,
        "SELECT t.username, b.username, c.note, c.at FROM chases c JOIN users t ON t.id = c.target_id"
        " JOIN users b ON b.id = c.by_id WHERE c.doc_id = ? ORDER BY c.id LIMIT 10000", doc);
    if (st == NULL)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct oa_doc_chase_row r = {TEXT(st, 0), TEXT(st, 1), TEXT(st, 2), sqlite3_column_int64(st, 3)};
        fn(arg, &r);
    }
    return finish(st, rc);
}
