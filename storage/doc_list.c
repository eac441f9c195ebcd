/*
 * storage/doc_list.c: the SQL of the document lists (see doc_list.h).  The
 * to-do rule is the queue's (OA_TODO_DOCS in documents.h); overdue public
 * requests are those in the open states workflow/deadline.h names.
 *
 * The to-do list is not one query: as one (documents WHERE id IN the
 * queue's rows OR in the participations) SQLite gathers and sorts every
 * entry before the first page, so a page cost grew with the list (36 ms
 * for a list of 20,000).  Its three sources are read in document order
 * instead, merged, and each document checked against the filters, until
 * the page is full: a page costs what it shows, whatever the list's length
 * (a search within it is still one query: see todo_search_sql).
 */
#include "storage/doc_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/value.h"
#include "storage/documents.h"
#include "workflow/deadline.h"

#define LIST_FROM(cols)                                                                                 \
    "SELECT " cols " FROM documents WHERE level <= ?1 AND (?2 IS NULL OR state = ?2)"                       \
    " AND (?3 IS NULL OR kind = ?3) AND (?4 IS NULL OR doc_number = ?4)"                                   \
    " AND (?5 IS NULL OR created_at >= ?5) AND (?6 IS NULL OR created_at < ?6)"                            \
    " AND (?7 = 0 OR (step_due IS NOT NULL AND step_due < ?8)"                                             \
    "      OR (request_due < ?8 AND state IN (" OA_REQUEST_OPEN_STATES_SQL ")))"                       \
    " AND (?9 IS NULL OR id IN (SELECT rowid FROM doc_fts WHERE doc_fts MATCH ?9))"                        \
    " AND id > ?11" LIST_SCOPE
/* The scope, narrowed in SQL too so that a page (and its cursor) holds
 * only documents the caller may see; the use case still decides each. */
#define LIST_SCOPE                                                                                       \
    " AND (scoped = 0 OR id IN (SELECT doc_id FROM doc_scope WHERE entry = ?16 OR entry = ?17"           \
    "      OR entry IN (SELECT compartment FROM user_compartments WHERE user_id = ?13)))"
/* What a list page needs of a document before its item (struct oa_doc_head). */
#define HEAD_COLS "id, revision, updated_at, level, declass_date, scoped, label_mac"
#define LIST_WHERE LIST_FROM(OA_DOC_COLS)
#define HEAD_WHERE LIST_FROM(HEAD_COLS)

/*
 * A LIKE whose pattern is a bound parameter makes SQLite prepare the
 * statement again whenever that binding changes (the LIKE optimisation
 * depends on the pattern), and oa_store_stmt clears the bindings on every
 * use: a list with the LIKE clause was parsed and planned anew on every
 * request.  So it has statements of its own, used only for a short search
 * term; the others never mention ?10.
 */
#define LIST_LIKE                                                                                        \
    " AND (title LIKE ?10 ESCAPE '\\'"                                                                     \
    "      OR id IN (SELECT doc_id FROM doc_bodies WHERE body LIKE ?10 ESCAPE '\\'))"
#define LIST_TODO " AND " OA_TODO_DOCS("?13", "?14", "?15")
#define LIST_DONE " AND id IN (SELECT doc_id FROM doc_done WHERE user_id = ?13)"

/*
 * The to-do view's check of a batch of candidates (todo_page): ?18 is a JSON
 * array of ids, read into an ephemeral index; rows come in id order.
 */
#define LIST_BATCH " AND id IN (SELECT value FROM json_each(?18)) ORDER BY id"

/*
 * [short search term][view], whole documents (LIST_WHERE) and heads
 * (HEAD_WHERE).  The to-do view's is the check of a batch of candidates
 * (todo_page); a search within the to-do list is one query (todo_search_sql),
 * since the search's subquery would be run again for every document checked.
 */
#define LIST_TABLE(where)                                                                                \
    {                                                                                                    \
        {                                                                                                \
            where " ORDER BY id LIMIT ?12",                                                              \
            where LIST_BATCH,                                                                            \
            where LIST_DONE " ORDER BY id LIMIT ?12",                                                    \
        },                                                                                               \
        {                                                                                                \
            where LIST_LIKE " ORDER BY id LIMIT ?12",                                                    \
            where LIST_LIKE LIST_BATCH,                                                                  \
            where LIST_LIKE LIST_DONE " ORDER BY id LIMIT ?12",                                          \
        },                                                                                               \
    }
static const char *const list_sql[2][2][3] = {LIST_TABLE(LIST_WHERE), LIST_TABLE(HEAD_WHERE)};

static const char *const todo_search_sql[2][2] = {
    {LIST_WHERE LIST_TODO " ORDER BY id LIMIT ?12", LIST_WHERE LIST_LIKE LIST_TODO " ORDER BY id LIMIT ?12"},
    {HEAD_WHERE LIST_TODO " ORDER BY id LIMIT ?12", HEAD_WHERE LIST_LIKE LIST_TODO " ORDER BY id LIMIT ?12"},
};

/*
 * The to-do page's check without filters, the common case: only the terms
 * that apply (the level and the scope; the batch holds only ids after the
 * cursor), where LIST_WHERE's null tests cost about as much as the rows.
 * The batch drives the join (CROSS JOIN keeps it the outer loop), so rows
 * come in the batch's order, ascending, with no temporary index for the IN
 * list and no sort; todo_page checks that order.
 */
#define LEAN_TODO(cols)                                                                                  \
    "SELECT " cols " FROM (SELECT value AS doc FROM json_each(?18)) CROSS JOIN documents ON id = doc"  \
    " WHERE level <= ?1" LIST_SCOPE
static const char *const lean_todo_sql[2] = {LEAN_TODO(OA_DOC_COLS), LEAN_TODO(HEAD_COLS)};
/* The same for the list of all documents without filters. */
#define LEAN_ALL(cols) "SELECT " cols " FROM documents WHERE level <= ?1 AND id > ?11" LIST_SCOPE " ORDER BY id LIMIT ?12"
static const char *const lean_all_sql[2] = {LEAN_ALL(OA_DOC_COLS), LEAN_ALL(HEAD_COLS)};

/*
 * The to-do list's three sources (OA_TODO_DOCS), each read in document
 * order from its index: the queue rows naming the person, the role-wide
 * rows that are theirs, and their pending participations.
 */
static const char *const todo_sources[3] = {
    "SELECT doc_id FROM doc_queue WHERE user_id = ?1 AND doc_id > ?2 ORDER BY doc_id",
    "SELECT doc_id FROM doc_queue WHERE user_id = 0 AND doc_id > ?2 AND " OA_QUEUE_ROLE("?3", "?4")
    " ORDER BY doc_id",
    "SELECT doc_id FROM doc_participants WHERE user_id = ?1 AND status = 'pending' AND doc_id > ?2 ORDER BY doc_id",
};

/* A quoted FTS5 phrase of q (double quotes doubled); the caller frees it. */
static char *fts_phrase(const char *q)
{
    size_t n = strlen(q), o = 0;
    char *fts = oa_xmalloc(2 * n + 3);
    fts[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (q[i] == '"')
            fts[o++] = '"';
        fts[o++] = q[i];
    }
    fts[o++] = '"';
    fts[o] = '\0';
    return fts;
}

/* A LIKE pattern matching q anywhere (%, _ and \ escaped); the caller frees it. */
static char *like_pattern(const char *q)
{
    size_t n = strlen(q), o = 0;
    char *like = oa_xmalloc(2 * n + 3);
    like[o++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
            like[o++] = '\\';
        like[o++] = q[i];
    }
    like[o++] = '%';
    like[o] = '\0';
    return like;
}

/* Binds the page's filters (?1-?17) to st. */
static void bind_filters(sqlite3_stmt *st, const struct oa_doc_query *q, const char *fts, const char *like)
{
    sqlite3_bind_int(st, 1, q->max_level);
    if (q->state)
        sqlite3_bind_text(st, 2, q->state, -1, SQLITE_STATIC);
    if (q->kind)
        sqlite3_bind_text(st, 3, q->kind, -1, SQLITE_STATIC);
    if (q->number)
        sqlite3_bind_text(st, 4, q->number, -1, SQLITE_STATIC);
    if (q->from > 0)
        sqlite3_bind_int64(st, 5, q->from);
    if (q->to > 0)
        sqlite3_bind_int64(st, 6, q->to);
    sqlite3_bind_int(st, 7, q->overdue);
    sqlite3_bind_text(st, 8, q->today, -1, SQLITE_TRANSIENT);
    if (fts)
        sqlite3_bind_text(st, 9, fts, -1, SQLITE_STATIC);
    if (like)
        sqlite3_bind_text(st, 10, like, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, q->after);
    sqlite3_bind_int64(st, 12, q->limit);
    sqlite3_bind_int64(st, 13, q->user_id);
    if (q->view != OA_VIEW_ALL) {
        sqlite3_bind_int64(st, 14, q->roles);
        sqlite3_bind_int64(st, 15, q->department_id);
    }
    char user_entry[96], dept_entry[32];
    snprintf(user_entry, sizeof(user_entry), "user:%s", q->username);
    snprintf(dept_entry, sizeof(dept_entry), "dept:%lld", (long long)q->department_id);
    sqlite3_bind_text(st, 16, user_entry, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 17, q->department_id > 0 ? dept_entry : "", -1, SQLITE_TRANSIENT);
}

/* The next document of a to-do source after the one it stands on: 1 (in *head), 0 none left, -1 error. */
static int source_next(sqlite3_stmt *st, int64_t *head)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *head = sqlite3_column_int64(st, 0);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Where a page's rows go: ids, whole documents or heads (one of them). */
struct page_out {
    int64_t *ids;
    struct oa_doc *docs;
    struct oa_doc_head *heads;
};

static void head_from_row(sqlite3_stmt *st, struct oa_doc_head *h)
{
    memset(h, 0, sizeof(*h));
    h->id = sqlite3_column_int64(st, 0);
    h->revision = sqlite3_column_int64(st, 1);
    h->updated_at = sqlite3_column_int64(st, 2);
    h->level = sqlite3_column_int(st, 3);
    const unsigned char *declass = sqlite3_column_text(st, 4);
    if (declass != NULL)
        pv_utf8_copy(h->declass_date, sizeof(h->declass_date), (const char *)declass);
    h->scoped = sqlite3_column_int(st, 5) != 0;
    if (sqlite3_column_type(st, 6) == SQLITE_BLOB && sqlite3_column_bytes(st, 6) == (int)sizeof(h->label_mac)) {
        memcpy(h->label_mac, sqlite3_column_blob(st, 6), sizeof(h->label_mac));
        h->has_label_mac = true;
    }
}

/* Takes the row st stands on as the page's next entry. */
static void take_row(sqlite3_stmt *st, const struct page_out *out, size_t *n)
{
    if (out->docs != NULL) {
        memset(&out->docs[*n], 0, sizeof(out->docs[*n]));
        oa_doc_from_row(st, &out->docs[*n]);
    } else if (out->heads != NULL) {
        head_from_row(st, &out->heads[*n]);
    } else {
        out->ids[*n] = sqlite3_column_int64(st, 0);
    }
    (*n)++;
}

/* Writes v (not negative) in decimal at p; returns the characters written (at most 20). */
static size_t put_id(char *p, int64_t v)
{
    char tmp[20];
    size_t k = 0;
    uint64_t u = (uint64_t)v;
    do {
        tmp[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    for (size_t i = 0; i < k; i++)
        p[i] = tmp[k - 1 - i];
    return k;
}

/*
 * The to-do page: the sources merged in document order, and the candidates
 * checked against the filters by `check` a batch at a time (as many as the
 * page still needs; another batch only when the filters refused some), not
 * one statement per document.
 */
static int todo_page(struct oa_store *s, const struct oa_doc_query *q, sqlite3_stmt *check,
                     const struct page_out *out, size_t *n)
{
    sqlite3_stmt *src[3];
    int64_t head[3];
    bool live[3];
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        src[i] = oa_store_stmt(s, todo_sources[i]);
        if (src[i] == NULL) {
            while (i-- > 0)
                sqlite3_reset(src[i]);
            return -1;
        }
        sqlite3_bind_int64(src[i], 1, q->user_id);
        sqlite3_bind_int64(src[i], 2, q->after);
        sqlite3_bind_int64(src[i], 3, q->roles);
        sqlite3_bind_int64(src[i], 4, q->department_id);
        int got = source_next(src[i], &head[i]);
        live[i] = got == 1;
        if (got < 0)
            rc = -1;
    }
    size_t want = (size_t)q->limit < OA_DOC_PAGE_MAX ? (size_t)q->limit : OA_DOC_PAGE_MAX;
    char batch[OA_DOC_PAGE_MAX * 21 + 3]; /* "[id,id,...]": at most OA_DOC_PAGE_MAX ids of 20 characters */
    bool exhausted = false;
    while (rc == 0 && *n < want && !exhausted) {
        size_t len = 0, count = 0;
        batch[len++] = '[';
        while (rc == 0 && count < want - *n) {
            int64_t next = INT64_MAX;
            for (int i = 0; i < 3; i++)
                if (live[i] && head[i] < next)
                    next = head[i];
            if (next == INT64_MAX) {
                exhausted = true;
                break;
            }
            for (int i = 0; i < 3 && rc == 0; i++) { /* every source standing on it moves on */
                if (live[i] && head[i] == next) {
                    int got = source_next(src[i], &head[i]);
                    live[i] = got == 1;
                    rc = got < 0 ? -1 : 0;
                }
            }
            if (count > 0)
                batch[len++] = ',';
            len += put_id(batch + len, next);
            count++;
        }
        batch[len++] = ']';
        batch[len] = '\0';
        if (rc != 0 || count == 0)
            break;
        sqlite3_bind_text(check, 18, batch, (int)len, SQLITE_TRANSIENT);
        int step = SQLITE_DONE;
        int64_t last = q->after;
        while (*n < want && (step = sqlite3_step(check)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(check, 0);
            if (id <= last) { /* never: the page would not be in document order */
                rc = -1;
                break;
            }
            last = id;
            take_row(check, out, n);
        }
        if (rc == 0 && *n < want && step != SQLITE_DONE)
            rc = -1;
        sqlite3_reset(check);
    }
    for (int i = 0; i < 3; i++)
        sqlite3_reset(src[i]);
    return rc;
}

/* No filter but the view, the level and the scope: the to-do page's lean check applies. */
static bool unfiltered(const struct oa_doc_query *q)
{
    return q->state == NULL && q->kind == NULL && q->number == NULL && q->from <= 0 && q->to <= 0 && !q->overdue &&
           q->q == NULL;
}

static int query_page(struct oa_store *s, const struct oa_doc_query *q, const struct page_out *out, size_t *n)
{
    *n = 0;
    size_t q_chars = 0; /* trigram search needs three characters; shorter terms use LIKE */
    for (const unsigned char *c = (const unsigned char *)(q->q ? q->q : ""); *c; c++)
        q_chars += (*c & 0xC0) != 0x80;
    bool short_term = q->q != NULL && q_chars < 3, merged = q->view == OA_VIEW_TODO && q->q == NULL;
    int cols = out->heads != NULL;
    const char *sql = q->view == OA_VIEW_TODO && !merged ? todo_search_sql[cols][short_term]
                      : merged && unfiltered(q)           ? lean_todo_sql[cols]
                      : q->view == OA_VIEW_ALL && unfiltered(q) ? lean_all_sql[cols]
                                                          : list_sql[cols][short_term][q->view];
    sqlite3_stmt *st = oa_store_stmt(s, sql);
    if (st == NULL)
        return -1;
    char *fts = NULL, *like = NULL;
    if (q->q != NULL) {
        if (q_chars >= 3)
            fts = fts_phrase(q->q);
        else
            like = like_pattern(q->q);
    }
    bind_filters(st, q, fts, like);
    int rc = 0;
    if (merged) {
        rc = todo_page(s, q, st, out, n);
    } else {
        int step = SQLITE_DONE;
        while (*n < (size_t)q->limit && *n < OA_DOC_PAGE_MAX && (step = sqlite3_step(st)) == SQLITE_ROW)
            take_row(st, out, n);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            rc = -1;
        sqlite3_reset(st);
    }
    free(fts);
    free(like);
    return rc;
}

int oa_doc_query_ids(struct oa_store *s, const struct oa_doc_query *q, int64_t *ids, size_t *n)
{
    struct page_out out = {.ids = ids};
    return query_page(s, q, &out, n);
}

int oa_doc_query_docs(struct oa_store *s, const struct oa_doc_query *q, struct oa_doc *docs, size_t *n)
{
    struct page_out out = {.docs = docs};
    return query_page(s, q, &out, n);
}

int oa_doc_query_heads(struct oa_store *s, const struct oa_doc_query *q, struct oa_doc_head *heads, size_t *n)
{
    struct page_out out = {.heads = heads};
    return query_page(s, q, &out, n);
}
