/* storage/sync.c: see sync.h. */
#include "storage/sync.h"

#include <sqlite3.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/value.h"
#include "storage/documents.h"

int oa_sync_seen_has(struct oa_store *s, int64_t user, int64_t doc)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT 1 FROM sync_seen WHERE user_id = ? AND doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int64(st, 2, doc);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int oa_sync_seen_set(struct oa_store *s, int64_t user, int64_t doc, bool held)
{
    sqlite3_stmt *st = oa_store_stmt(s, held ? "INSERT OR IGNORE INTO sync_seen(user_id, doc_id) VALUES (?, ?)"
                                             : "DELETE FROM sync_seen WHERE user_id = ? AND doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int64(st, 2, doc);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_sync_seen_add(struct oa_store *s, int64_t user, int64_t doc, int64_t decided)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT INTO sync_seen(user_id, doc_id, decided) VALUES (?1, ?2, ?3)"
                                        " ON CONFLICT(user_id, doc_id) DO UPDATE SET decided = min(decided, ?3)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int64(st, 2, doc);
    sqlite3_bind_int64(st, 3, decided);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_sync_seen_redecided(struct oa_store *s, int64_t user, int64_t doc, int64_t decided)
{
    sqlite3_stmt *st = oa_store_stmt(s, "UPDATE sync_seen SET decided = ?3"
                                        " WHERE user_id = ?1 AND doc_id = ?2 AND decided < ?3");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int64(st, 2, doc);
    sqlite3_bind_int64(st, 3, decided);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int64_t oa_sync_account_change(struct oa_store *s, int64_t user)
{
    /* changes_entity (entity, entity_id, seq): one row per entity (oa_change_record). */
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT max(seq) FROM changes WHERE entity = 'user' AND entity_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    int rc = sqlite3_step(st);
    int64_t seq = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return seq;
}

int oa_sync_seen_scan_begin(struct oa_store *s, struct oa_change_scan *c, int64_t user, int64_t before)
{
    /* Through sync_seen_decided (user_id, decided): only the rows to re-decide are read. */
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT " OA_DOC_COLS ", c_id, documents.id IS NOT NULL"
                                        " FROM (SELECT doc_id AS c_id FROM sync_seen WHERE user_id = ? AND decided < ?)"
                                        " LEFT JOIN documents ON documents.id = c_id");
    c->st = st;
    c->body_max_level = -1;
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int64(st, 2, before);
    return 0;
}

int oa_sync_seen_scan_next(struct oa_change_scan *c, int64_t *doc_id, struct oa_doc *d)
{
    sqlite3_stmt *st = c->st;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    int x = sqlite3_column_count(st) - 2;
    *doc_id = sqlite3_column_int64(st, x);
    if (sqlite3_column_int(st, x + 1) == 0)
        return 2;
    memset(d, 0, sizeof(*d));
    oa_doc_from_row(st, d);
    return 1;
}

/*
 * The page's changes joined with their documents, in one statement: the
 * document's row, its body when the reader's clients may keep it, the
 * drafter's name, and the reader's to-do and seen flags, each an index
 * lookup inside the statement instead of a statement of its own per
 * document.  The changes are read in seq order straight from the primary
 * key (the `+` keeps SQLite from the entity index, which made it gather
 * and sort every change after `since` before the first row), as a
 * co-routine that the LEFT JOIN keeps outermost: rows come in seq order and
 * the scan stops when the page is full.
 */
#define SCAN_EXTRA 8 /* the columns after OA_DOC_COLS */
static const char scan_sql[] =
    "SELECT " OA_DOC_COLS ", c_seq, c_entity = 'user', c_id, documents.id IS NOT NULL,"
    " CASE WHEN documents.id IS NOT NULL THEN " OA_TODO_DOC("documents.id", "?4", "?5", "?6") " END,"
    " EXISTS (SELECT 1 FROM sync_seen WHERE user_id = ?4 AND doc_id = c_id),"
    " CASE WHEN level <= ?7 THEN (SELECT body FROM doc_bodies WHERE doc_id = documents.id) END,"
    " (SELECT username FROM users WHERE users.id = drafter_id)"
    " FROM (SELECT seq AS c_seq, entity AS c_entity, entity_id AS c_id FROM changes"
    "       WHERE seq > ?1 AND seq <= ?2 AND +entity IN ('document', 'user') ORDER BY seq LIMIT ?3)"
    " LEFT JOIN documents ON c_entity = 'document' AND documents.id = c_id";

int oa_change_scan_begin(struct oa_store *s, struct oa_change_scan *c, int64_t since, int64_t head, int64_t max,
                         const struct oa_feed_reader *r)
{
    sqlite3_stmt *st = oa_store_stmt(s, scan_sql);
    c->st = st;
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int64(st, 2, head);
    sqlite3_bind_int64(st, 3, max);
    sqlite3_bind_int64(st, 4, r->user_id);
    sqlite3_bind_int64(st, 5, r->roles);
    sqlite3_bind_int64(st, 6, r->department_id);
    sqlite3_bind_int(st, 7, r->body_max_level);
    c->body_max_level = r->body_max_level;
    return 0;
}

int oa_change_scan_next(struct oa_change_scan *c, struct oa_change *out, struct oa_doc *d)
{
    sqlite3_stmt *st = c->st;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    int x = sqlite3_column_count(st) - SCAN_EXTRA;
    out->seq = sqlite3_column_int64(st, x);
    out->is_user = sqlite3_column_int(st, x + 1) != 0;
    out->id = sqlite3_column_int64(st, x + 2);
    out->found = !out->is_user && sqlite3_column_int(st, x + 3) != 0;
    out->in_todo = out->found && sqlite3_column_int(st, x + 4) != 0;
    out->seen = !out->is_user && sqlite3_column_int(st, x + 5) != 0;
    out->drafter[0] = '\0';
    if (!out->found)
        return 1;
    memset(d, 0, sizeof(*d));
    oa_doc_from_row(st, d);
    if (d->level <= c->body_max_level) { /* no body row reads as "", as oa_doc_load_body has it */
        const unsigned char *body = sqlite3_column_text(st, x + 6);
        d->body = oa_xstrdup(body != NULL ? (const char *)body : "");
    }
    const unsigned char *name = sqlite3_column_text(st, x + 7);
    if (name != NULL)
        pv_utf8_copy(out->drafter, sizeof(out->drafter), (const char *)name);
    return 1;
}

void oa_change_scan_end(struct oa_change_scan *c)
{
    if (c->st)
        sqlite3_reset(c->st);
    c->st = NULL;
}
