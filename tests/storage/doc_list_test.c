/*
 * tests/storage/doc_list_test.c: the to-do page on a real SQLite file.  The
 * page is merged from the queue's and the participations' indexes
 * (storage/doc_list.c); the oracle is the to-do rule as one query
 * (OA_TODO_DOCS), paged the slow way.  Random offices: personal and
 * role-wide queue rows in and out of the reader's organ and department,
 * participations pending or not, overlapping sources, levels and states.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/doc_list.h"
#include "storage/documents.h"
#include "storage/store.h"

static char dir[256], path[300];
static struct oa_store s;

static void setup(void)
{
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/doclist-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/oa.db", dir);
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
}

static void teardown(void)
{
    oa_store_close(&s);
}

TestSuite(doc_list, .init = setup, .fini = teardown);

static void exec(const char *sql)
{
    cr_assert_eq(oa_store_exec(&s, sql), 0, "%s", sql);
}

/* An office of n documents whose to-do entries are drawn with seed. */
static void office(int n, unsigned seed)
{
    srand(seed);
    exec("BEGIN");
    exec("INSERT INTO organs(id, code, name) VALUES (1, 'A', 'A'), (2, 'B', 'B')");
    exec("INSERT INTO departments(id, organ_id, code, name) VALUES (1, 1, 'a1', 'a1'), (2, 1, 'a2', 'a2'),"
         " (3, 2, 'b1', 'b1')");
    exec("INSERT INTO users(id, username, display_name, pw_hash, roles, clearance, department_id, created_at, updated_at)"
         " VALUES (10, 'me', 'me', 'x', 5, 2, 1, 0, 0), (11, 'other', 'other', 'x', 1, 2, 3, 0, 0)");
    static const char *const states[] = {"review", "signoff", "issued"};
    for (int i = 1; i <= n; i++) {
        char sql[600];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO documents(id, kind, def_version, state, title, level, organ_id, drafter_id,"
                 " created_at, updated_at) VALUES (%d, 'outgoing', 1, '%s', 't%d', %d, %d, 11, %d, %d)",
                 i, states[rand() % 3], i, rand() % 4, 1 + rand() % 2, i, i);
        exec(sql);
        int r = rand() % 10;
        if (r < 3) { /* named */
            snprintf(sql, sizeof(sql), "INSERT INTO doc_queue(doc_id, user_id, roles) VALUES (%d, %d, 0)", i,
                     rand() % 3 ? 10 : 11);
            exec(sql);
        }
        if (r >= 2 && r < 6) { /* role-wide: my role or not, my organ or not, my department or not */
            snprintf(sql, sizeof(sql),
                     "INSERT INTO doc_queue(doc_id, user_id, roles, organ_id, department_id)"
                     " VALUES (%d, 0, %d, %d, %d)",
                     i, (int[]){1, 4, 8}[rand() % 3], rand() % 3, (int[]){0, 0, 1, 2, 3}[rand() % 5]);
            exec(sql);
        }
        if (r >= 5 && r < 8) {
            snprintf(sql, sizeof(sql),
                     "INSERT INTO doc_participants(doc_id, user_id, part, round, status)"
                     " VALUES (%d, %d, 'countersigner', 1, '%s')",
                     i, rand() % 4 ? 10 : 11, rand() % 3 ? "pending" : "approved");
            exec(sql);
        }
    }
    exec("COMMIT");
}

static struct oa_doc_query query(int64_t after, int64_t limit, int max_level, const char *state)
{
    return (struct oa_doc_query){
        .view = OA_VIEW_TODO, .max_level = max_level, .state = state, .today = "2026-12-02", .after = after,
        .limit = limit, .user_id = 10, .username = "me", .roles = 5, .department_id = 1,
    };
}

/* The oracle: the whole to-do list by the rule as one query, in id order. */
static size_t oracle(int max_level, const char *state, int64_t *ids, size_t cap)
{
    sqlite3_stmt *st = oa_store_stmt(&s, "SELECT id FROM documents WHERE level <= ?1 AND (?2 IS NULL OR state = ?2)"
                                         " AND " OA_TODO_DOCS("?3", "?4", "?5") " ORDER BY id");
    sqlite3_bind_int(st, 1, max_level);
    if (state)
        sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, 10);
    sqlite3_bind_int64(st, 4, 5);
    sqlite3_bind_int64(st, 5, 1);
    size_t n = 0;
    while (n < cap && sqlite3_step(st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

/* Pages through the to-do list limit at a time and checks it is exactly the oracle's. */
static void pages_match(int max_level, const char *state, int64_t limit)
{
    static int64_t want[20000], got[20000];
    size_t nwant = oracle(max_level, state, want, 20000), ngot = 0;
    int64_t after = 0;
    for (;;) {
        int64_t page[OA_DOC_PAGE_MAX];
        size_t n = 0;
        struct oa_doc_query q = query(after, limit, max_level, state);
        cr_assert_eq(oa_doc_query_ids(&s, &q, page, &n), 0);
        cr_assert_leq(n, (size_t)limit);
        /* The same page as whole documents: the rows oa_doc_load reads. */
        static struct oa_doc docs[OA_DOC_PAGE_MAX];
        size_t nd = 0;
        cr_assert_eq(oa_doc_query_docs(&s, &q, docs, &nd), 0);
        cr_assert_eq(nd, n);
        /* And as heads (#14): the same documents, their keys and labels as the whole rows have them. */
        static struct oa_doc_head heads[OA_DOC_PAGE_MAX];
        size_t nh = 0;
        cr_assert_eq(oa_doc_query_heads(&s, &q, heads, &nh), 0);
        cr_assert_eq(nh, n);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(heads[i].id, docs[i].id);
            cr_assert_eq(heads[i].revision, docs[i].revision);
            cr_assert_eq(heads[i].updated_at, docs[i].updated_at);
            cr_assert_eq(heads[i].level, docs[i].level);
            cr_assert_eq(heads[i].scoped, docs[i].scoped);
            cr_assert_str_eq(heads[i].declass_date, docs[i].declass_date);
            cr_assert_eq(heads[i].has_label_mac, docs[i].has_label_mac);
            cr_assert_eq(memcmp(heads[i].label_mac, docs[i].label_mac, sizeof(heads[i].label_mac)), 0);
        }
        for (size_t i = 0; i < n; i++) {
            struct oa_doc one;
            cr_assert_eq(oa_doc_load(&s, page[i], &one), 1);
            cr_assert_eq(docs[i].id, page[i]);
            cr_assert_eq(docs[i].revision, one.revision);
            cr_assert_eq(docs[i].level, one.level);
            cr_assert_str_eq(docs[i].state, one.state);
            cr_assert_str_eq(docs[i].title, one.title);
            cr_assert_eq(docs[i].scoped, one.scoped);
            cr_assert_null(docs[i].body);
            oa_doc_free(&one);
        }
        for (size_t i = 0; i < n; i++)
            got[ngot++] = page[i];
        if (n < (size_t)limit)
            break;
        after = page[n - 1];
    }
    cr_assert_eq(ngot, nwant, "level %d state %s limit %lld: %zu documents, the rule says %zu", max_level,
                 state ? state : "any", (long long)limit, ngot, nwant);
    for (size_t i = 0; i < nwant; i++)
        cr_assert_eq(got[i], want[i], "entry %zu: %lld, the rule says %lld", i, (long long)got[i],
                     (long long)want[i]);
}

Test(doc_list, the_merged_todo_page_is_the_todo_rule_page_by_page)
{
    office(3000, 7);
    cr_assert_gt(oracle(3, NULL, (int64_t[3000]){0}, 3000), 300, "the office gives a long to-do list");
    pages_match(3, NULL, 50);
    pages_match(3, NULL, 1);
    pages_match(1, NULL, 7);
    pages_match(3, "signoff", 50);
    pages_match(0, "issued", OA_DOC_PAGE_MAX);
}

Test(doc_list, an_empty_or_exhausted_todo_list_answers_an_empty_page)
{
    office(50, 11);
    int64_t page[OA_DOC_PAGE_MAX];
    size_t n = 99;
    struct oa_doc_query q = query(1000000, 50, 3, NULL);
    cr_assert_eq(oa_doc_query_ids(&s, &q, page, &n), 0);
    cr_assert_eq(n, 0);
    exec("DELETE FROM doc_queue");
    exec("DELETE FROM doc_participants");
    q = query(0, 50, 3, NULL);
    cr_assert_eq(oa_doc_query_ids(&s, &q, page, &n), 0);
    cr_assert_eq(n, 0);
}

/*
 * The list of all documents without filters (#14: a statement of its own,
 * only the level and scope terms) is the level rule page by page, and a
 * filter still filters (the full statement).
 */
Test(doc_list, the_unfiltered_list_of_all_is_the_level_rule_page_by_page)
{
    office(500, 5);
    for (int max_level = 0; max_level <= 3; max_level += 3) {
        sqlite3_stmt *st = oa_store_stmt(&s, "SELECT id FROM documents WHERE level <= ?1 ORDER BY id");
        sqlite3_bind_int(st, 1, max_level);
        static int64_t want[500];
        size_t nwant = 0, ngot = 0;
        while (sqlite3_step(st) == SQLITE_ROW)
            want[nwant++] = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        cr_assert_gt(nwant, 50);
        int64_t after = 0;
        for (;;) {
            struct oa_doc_query q = query(after, 37, max_level, NULL);
            q.view = OA_VIEW_ALL;
            static struct oa_doc_head heads[OA_DOC_PAGE_MAX];
            size_t n = 0;
            cr_assert_eq(oa_doc_query_heads(&s, &q, heads, &n), 0);
            for (size_t i = 0; i < n; i++) {
                cr_assert_lt(ngot, nwant);
                cr_assert_eq(heads[i].id, want[ngot], "level %d: entry %zu", max_level, ngot);
                ngot++;
            }
            if (n < 37)
                break;
            after = heads[n - 1].id;
        }
        cr_assert_eq(ngot, nwant);
    }
    struct oa_doc_query q = query(0, OA_DOC_PAGE_MAX, 3, "issued");
    q.view = OA_VIEW_ALL;
    static struct oa_doc_head heads[OA_DOC_PAGE_MAX];
    size_t n = 0;
    cr_assert_eq(oa_doc_query_heads(&s, &q, heads, &n), 0);
    cr_assert_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        struct oa_doc d;
        cr_assert_eq(oa_doc_load(&s, heads[i].id, &d), 1);
        cr_assert_str_eq(d.state, "issued");
        oa_doc_free(&d);
    }
}
