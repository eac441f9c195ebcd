/* storage/sync.c: see sync.h. */
#include "storage/sync.h"

#include <sqlite3.h>
#include <string.h>

#include "proto/alloc.h"

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

int oa_sync_seen_list(struct oa_store *s, int64_t user, int64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT doc_id FROM sync_seen WHERE user_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *ids = oa_xrealloc(*ids, cap * sizeof(**ids));
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_change_scan_begin(struct oa_store *s, struct oa_change_scan *c, int64_t since, int64_t head, int64_t max)
{
    sqlite3_stmt *st = oa_store_stmt(s,
                         "SELECT seq, entity = 'user', entity_id FROM changes WHERE seq > ? AND seq <= ?"
                         " AND entity IN ('document', 'user') ORDER BY seq LIMIT ?");
    c->st = st;
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int64(st, 2, head);
    sqlite3_bind_int64(st, 3, max);
    return 0;
}

int oa_change_scan_next(struct oa_change_scan *c, struct oa_change *out)
{
    sqlite3_stmt *st = c->st;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    out->seq = sqlite3_column_int64(st, 0);
    out->is_user = sqlite3_column_int(st, 1) != 0;
    out->id = sqlite3_column_int64(st, 2);
    return 1;
}

void oa_change_scan_end(struct oa_change_scan *c)
{
    if (c->st)
        sqlite3_reset(c->st);
    c->st = NULL;
}
