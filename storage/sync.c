/* storage/sync.c: see sync.h. */
#include "storage/sync.h"

#include <sqlite3.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/value.h"
#include "storage/documents.h"

/* The user's row of doc: 0 none, 1 held, 2 revoked (at *at), -1 on error. */
static int seen_state(struct oa_store *s, int64_t user, int64_t doc, int64_t *at)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT revoked_at FROM sync_seen WHERE user_id = ? AND doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int64(st, 2, doc);
    int rc = sqlite3_step(st), state = -1;
    *at = 0;
    if (rc == SQLITE_DONE)
        state = 0;
    else if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_NULL)
        state = 1;
    else if (rc == SQLITE_ROW) {
        state = 2;
        *at = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    return state;
}

int oa_sync_seen_has(struct oa_store *s, int64_t user, int64_t doc)
{
    int64_t at;
    int state = seen_state(s, user, doc, &at);
    return state < 0 ? -1 : state == 1;
}

int64_t oa_sync_seen_revoked_at(struct oa_store *s, int64_t user, int64_t doc)
{
    int64_t at;
    return seen_state(s, user, doc, &at) < 0 ? -1 : at;
}

/*
 * Runs one sync_seen write of ?1 user, ?2 doc and, when nargs is 3, ?3
 * (decided, or a revocation's change); 0 or -1.
 */
static int seen_write(struct oa_store *s, const char *sql, int nargs, int64_t user, int64_t doc, int64_t decided)
{
    sqlite3_stmt *st = oa_store_stmt(s, sql);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int64(st, 2, doc);
    if (nargs == 3)
        sqlite3_bind_int64(st, 3, decided);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_sync_seen_revoke(struct oa_store *s, int64_t user, int64_t doc, int64_t at)
{
    /* max(changes.seq) is the primary key's last entry: oa_change_head. */
    return seen_write(s,
                      "UPDATE sync_seen SET revoked_at = max(?3, coalesce((SELECT max(seq) FROM changes), 0))"
                      " WHERE user_id = ?1 AND doc_id = ?2 AND revoked_at IS NULL",
                      3, user, doc, at);
}

int oa_sync_seen_add(struct oa_store *s, int64_t user, int64_t doc, int64_t decided)
{
    return seen_write(s, "INSERT INTO sync_seen(user_id, doc_id, decided) VALUES (?1, ?2, ?3)"
                         " ON CONFLICT(user_id, doc_id) DO UPDATE SET"
                         " decided = CASE WHEN revoked_at IS NULL THEN min(decided, ?3) ELSE ?3 END, revoked_at = NULL",
                      3, user, doc, decided);
}

int oa_sync_seen_redecided(struct oa_store *s, int64_t user, int64_t doc, int64_t decided)
{
    return seen_write(s,
                      "UPDATE sync_seen SET decided = ?3"
                      " WHERE user_id = ?1 AND doc_id = ?2 AND decided < ?3 AND revoked_at IS NULL",
                      3, user, doc, decided);
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

int oa_sync_widened_record(struct oa_store *s, int64_t user)
{
    sqlite3_stmt *st = oa_store_stmt(s, "UPDATE users SET access_widened_at = (SELECT coalesce(max(seq), 0)"
                                        " FROM changes WHERE entity = 'user' AND entity_id = ?1) WHERE id = ?1");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_sync_resync_state(struct oa_store *s, int64_t user, int64_t session, int64_t *widened_at,
                         int64_t *full_sync_head)
{
    /* Two primary-key lookups. */
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT access_widened_at, coalesce((SELECT full_sync_head FROM sessions"
                                        " WHERE id = ?2 AND user_id = ?1), 0) FROM users WHERE id = ?1");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int64(st, 2, session);
    int rc = sqlite3_step(st);
    *widened_at = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    *full_sync_head = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int oa_sync_session_full(struct oa_store *s, int64_t session, int64_t head)
{
    sqlite3_stmt *st =
        oa_store_stmt(s, "UPDATE sessions SET full_sync_head = max(full_sync_head, ?2) WHERE id = ?1");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, session);
    sqlite3_bind_int64(st, 2, head);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* A scan of one statement (NULL: it could not be prepared, -1). */
static int scan_init(struct oa_change_scan *c, struct oa_store *s, sqlite3_stmt *st)
{
    memset(c, 0, sizeof(*c));
    c->st = st;
    c->store = s;
    c->body_max_level = -1;
    return st == NULL ? -1 : 0;
}

int oa_sync_seen_scan_begin(struct oa_store *s, struct oa_change_scan *c, int64_t user, int64_t before)
{
    /* Through sync_seen_decided (user_id, decided), held rows only: only the rows to re-decide are read. */
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT " OA_DOC_COLS ", c_id, documents.id IS NOT NULL"
                                        " FROM (SELECT doc_id AS c_id FROM sync_seen"
                                        "  WHERE user_id = ? AND decided < ? AND revoked_at IS NULL)"
                                        " LEFT JOIN documents ON documents.id = c_id");
    if (scan_init(c, s, st) != 0)
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

int oa_sync_revoked_begin(struct oa_store *s, struct oa_change_scan *c, int64_t user, int64_t since, int64_t upto)
{
    /* Through the partial index sync_seen_revoked (user_id, revoked_at): a page with none reads one index probe. */
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT sync_seen.doc_id, revoked_at, coalesce(documents.revision, 0)"
                                        " FROM sync_seen LEFT JOIN documents ON documents.id = sync_seen.doc_id"
                                        " WHERE user_id = ?1 AND revoked_at > ?2 AND revoked_at <= ?3"
                                        " ORDER BY revoked_at");
    if (scan_init(c, s, st) != 0)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, upto);
    return 0;
}

int oa_sync_revoked_next(struct oa_change_scan *c, int64_t *doc_id, int64_t *at, int64_t *rev)
{
    int rc = sqlite3_step(c->st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    *doc_id = sqlite3_column_int64(c->st, 0);
    *at = sqlite3_column_int64(c->st, 1);
    *rev = sqlite3_column_int64(c->st, 2);
    return 1;
}

/*
 * The page's changes joined with their documents, in one statement: what
 * the feed's record and the read decision need of the document's row (not
 * all of OA_DOC_COLS: the label, its MAC and the record's fields), its body
 * when the reader's clients may keep it, and the reader's to-do and seen
 * flags, each an index lookup inside the statement instead of a statement
 * of its own per document (the seen flag and the body as LEFT JOINs, which
 * cost less than a correlated subquery each per row).  The changes are read
 * in seq order straight from the primary key (the `+` keeps SQLite from the
 * entity index, which made it gather and sort every change after `since`
 * before the first row); the LEFT JOINs keep them the outermost loop, each
 * joined table gives at most one row (by its primary key), so rows come in
 * seq order with no sort and the scan stops when the page is full.  (A
 * co-routine over the changes, as before, cost a sixth more.)  Drafters'
 * names are looked up apart, once per drafter per page (drafter_name).
 */
/*
 * The reader in the to-do rule, as an expression SQLite cannot look up by:
 * with a plain ?4, the rule's "user_id = ?4 OR (user_id = 0 AND ...)" on
 * doc_queue became a multi-index OR, a temporary row set built and cleared
 * per row; read through the primary key's doc_id prefix alone (a document's
 * few queue and participant rows) it costs less.  The same value: ?4 is
 * never NULL.
 */
#define TODO_USER "coalesce(?4, user_id)"
static const char scan_sql[] =
    "SELECT changes.seq, changes.entity = 'user', changes.entity_id,"
    " CASE WHEN documents.id IS NOT NULL THEN " OA_TODO_DOC("documents.id", TODO_USER, "?5", "?6") " END,"
    " sync_seen.doc_id IS NOT NULL, sync_seen.revoked_at IS NULL, doc_bodies.body,"
    " documents.id, documents.kind, state, revision, title, level, urgency, coalesce(doc_number, ''),"
    " coalesce(step_due, ''), updated_at, declass_date, scoped, label_mac, drafter_id"
    " FROM changes"
    " LEFT JOIN documents ON changes.entity = 'document' AND documents.id = changes.entity_id"
    " LEFT JOIN sync_seen ON changes.entity = 'document' AND sync_seen.user_id = ?4"
    "  AND sync_seen.doc_id = changes.entity_id"
    " LEFT JOIN doc_bodies ON documents.level <= ?7 AND doc_bodies.doc_id = documents.id"
    " WHERE changes.seq > ?1 AND changes.seq <= ?2 AND +changes.entity IN ('document', 'user')"
    " ORDER BY changes.seq LIMIT ?3";
enum { /* scan_sql's columns; SC_DOC_ID is NULL when the document is gone */
    SC_SEQ, SC_IS_USER, SC_ID, SC_TODO, SC_SEEN, SC_HELD, SC_BODY,
    SC_DOC_ID, SC_KIND, SC_STATE, SC_REVISION, SC_TITLE, SC_LEVEL, SC_URGENCY, SC_NUMBER, SC_STEP_DUE,
    SC_UPDATED, SC_DECLASS, SC_SCOPED, SC_LABEL_MAC, SC_DRAFTER_ID
};

int oa_change_scan_begin(struct oa_store *s, struct oa_change_scan *c, int64_t since, int64_t head, int64_t max,
                         const struct oa_feed_reader *r)
{
    sqlite3_stmt *st = oa_store_stmt(s, scan_sql);
    if (scan_init(c, s, st) != 0)
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

static void col_copy(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    pv_utf8_copy(dst, cap, (const char *)sqlite3_column_text(st, i));
}

/*
 * The drafter's username into name ("" when none), from the scan's memo of
 * the page's drafters: a page's documents come from a few drafters, so one
 * lookup each instead of one per document.  -1 on error.
 */
static int drafter_name(struct oa_change_scan *c, int64_t id, char *name, size_t cap)
{
    for (int i = 0; i < c->ndrafters; i++)
        if (c->drafters[i].id == id) {
            memcpy(name, c->drafters[i].name, cap < sizeof(c->drafters[i].name) ? cap : sizeof(c->drafters[i].name));
            name[cap - 1] = '\0';
            return 0;
        }
    sqlite3_stmt *st = oa_store_stmt(c->store, "SELECT username FROM users WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_reset(st);
        return -1;
    }
    int slot = c->ndrafters < OA_SCAN_DRAFTERS ? c->ndrafters++ : (int)(id % OA_SCAN_DRAFTERS);
    c->drafters[slot].id = id;
    pv_utf8_copy(c->drafters[slot].name, sizeof(c->drafters[slot].name),
                 rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : "");
    sqlite3_reset(st);
    pv_utf8_copy(name, cap, c->drafters[slot].name);
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
    out->seq = sqlite3_column_int64(st, SC_SEQ);
    out->is_user = sqlite3_column_int(st, SC_IS_USER) != 0;
    out->id = sqlite3_column_int64(st, SC_ID);
    out->found = !out->is_user && sqlite3_column_type(st, SC_DOC_ID) != SQLITE_NULL;
    out->in_todo = out->found && sqlite3_column_int(st, SC_TODO) != 0;
    out->seen = !out->is_user && sqlite3_column_int(st, SC_SEEN) != 0;
    out->held = out->seen && sqlite3_column_int(st, SC_HELD) != 0;
    out->drafter[0] = '\0';
    if (!out->found)
        return 1;
    memset(d, 0, sizeof(*d));
    d->id = sqlite3_column_int64(st, SC_DOC_ID);
    col_copy(st, SC_KIND, d->kind, sizeof(d->kind));
    col_copy(st, SC_STATE, d->state, sizeof(d->state));
    d->revision = sqlite3_column_int64(st, SC_REVISION);
    col_copy(st, SC_TITLE, d->title, sizeof(d->title));
    d->level = sqlite3_column_int(st, SC_LEVEL);
    col_copy(st, SC_URGENCY, d->urgency, sizeof(d->urgency));
    col_copy(st, SC_NUMBER, d->doc_number, sizeof(d->doc_number));
    col_copy(st, SC_STEP_DUE, d->step_due, sizeof(d->step_due));
    d->updated_at = sqlite3_column_int64(st, SC_UPDATED);
    col_copy(st, SC_DECLASS, d->declass_date, sizeof(d->declass_date));
    d->scoped = sqlite3_column_int(st, SC_SCOPED) != 0;
    if (sqlite3_column_type(st, SC_LABEL_MAC) == SQLITE_BLOB &&
        sqlite3_column_bytes(st, SC_LABEL_MAC) == (int)sizeof(d->label_mac)) {
        memcpy(d->label_mac, sqlite3_column_blob(st, SC_LABEL_MAC), sizeof(d->label_mac));
        d->has_label_mac = true;
    }
    d->drafter_id = sqlite3_column_int64(st, SC_DRAFTER_ID);
    if (d->level <= c->body_max_level) { /* no body row reads as "", as oa_doc_load_body has it */
        const unsigned char *body = sqlite3_column_text(st, SC_BODY);
        d->body = oa_xstrdup(body != NULL ? (const char *)body : "");
    }
    if (d->drafter_id > 0 && drafter_name(c, d->drafter_id, out->drafter, sizeof(out->drafter)) != 0) {
        oa_doc_free(d);
        return -1;
    }
    return 1;
}

void oa_change_scan_end(struct oa_change_scan *c)
{
    if (c->st)
        sqlite3_reset(c->st);
    c->st = NULL;
}
