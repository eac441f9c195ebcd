/*
 * tests/storage/doc_items_test.c: the list pages' item cache of a reader's
 * connection (storage/doc_items.h, #14) on a real SQLite file: an item is
 * found only under its whole key (id, revision, updated_at, label MAC), a
 * slot holds the last item put, the writer's connection keeps nothing, and
 * an erased document (oa_rec_erase) takes a new revision, so that its old
 * item's key is never asked for again.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/doc_items.h"
#include "storage/records.h"
#include "storage/store.h"

static char dir[256], path[300];
static struct oa_store w, r;

static void setup(void)
{
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/docitems-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/oa.db", dir);
    char *why = NULL;
    cr_assert_eq(oa_store_open(&w, path, true, &why), 0, "%s", why);
    cr_assert_eq(oa_store_open_readonly(&r, path, &why), 0, "%s", why);
}

static void teardown(void)
{
    oa_store_close(&r);
    oa_store_close(&w);
}

TestSuite(doc_items, .init = setup, .fini = teardown);

static struct oa_doc_item_key key(int64_t id, int64_t revision, int64_t updated_at, unsigned char mac)
{
    struct oa_doc_item_key k = {.id = id, .revision = revision, .updated_at = updated_at};
    memset(k.label_mac, mac, sizeof(k.label_mac));
    return k;
}

Test(doc_items, an_item_is_found_under_its_whole_key_only)
{
    struct oa_doc_item_key k = key(7, 3, 1000, 0xAB);
    size_t len = 99;
    cr_assert_null(oa_doc_item_get(&r, &k, &len));
    cr_assert_eq(len, 0);
    oa_doc_item_put(&r, &k, (const unsigned char *)"item-7-r3", 9);
    const unsigned char *p = oa_doc_item_get(&r, &k, &len);
    cr_assert_not_null(p);
    cr_assert_eq(len, 9);
    cr_assert_eq(memcmp(p, "item-7-r3", 9), 0);

    /* Any part of the key changed: a miss (a new revision, an erase, a save, a relabel or new scope). */
    struct oa_doc_item_key other[] = {key(7, 4, 1000, 0xAB), key(7, 3, 1001, 0xAB), key(7, 3, 1000, 0xAC),
                                      key(7 + OA_DOC_ITEMS_SLOTS, 3, 1000, 0xAB)};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        cr_assert_null(oa_doc_item_get(&r, &other[i], &len), "key %zu hit", i);
    other[2].label_mac[31] = 0xAB; /* one byte of the MAC differs */
    other[2].label_mac[0] = 0xAC;
    cr_assert_null(oa_doc_item_get(&r, &other[2], &len));

    /* The new revision replaces the old one's bytes in the slot. */
    oa_doc_item_put(&r, &other[0], (const unsigned char *)"item-7-r4-longer", 16);
    cr_assert_null(oa_doc_item_get(&r, &k, &len));
    p = oa_doc_item_get(&r, &other[0], &len);
    cr_assert(p != NULL && len == 16 && memcmp(p, "item-7-r4-longer", 16) == 0);
    /* So does another document sharing the slot. */
    oa_doc_item_put(&r, &other[3], (const unsigned char *)"x", 1);
    cr_assert_null(oa_doc_item_get(&r, &other[0], &len));
    p = oa_doc_item_get(&r, &other[3], &len);
    cr_assert(p != NULL && len == 1 && p[0] == 'x');

    struct oa_doc_items_stats st;
    oa_doc_items_stats(&r, &st);
    cr_assert_eq(st.puts, 3);
    cr_assert_eq(st.hits, 3);
}

Test(doc_items, an_oversized_item_is_not_kept)
{
    static unsigned char big[OA_DOC_ITEMS_MAX_BYTES + 1];
    memset(big, 'b', sizeof(big));
    struct oa_doc_item_key k = key(1, 1, 1, 1);
    size_t len = 0;
    oa_doc_item_put(&r, &k, big, sizeof(big));
    cr_assert_null(oa_doc_item_get(&r, &k, &len));
    oa_doc_item_put(&r, &k, big, OA_DOC_ITEMS_MAX_BYTES);
    cr_assert_not_null(oa_doc_item_get(&r, &k, &len));
    cr_assert_eq(len, OA_DOC_ITEMS_MAX_BYTES);
}

Test(doc_items, the_writer_connection_keeps_nothing)
{
    /* What the writer reads may still be rolled back, and the revision written again with other content. */
    struct oa_doc_item_key k = key(5, 1, 1, 1);
    size_t len = 0;
    oa_doc_item_put(&w, &k, (const unsigned char *)"abc", 3);
    cr_assert_null(oa_doc_item_get(&w, &k, &len));
    struct oa_doc_items_stats st;
    oa_doc_items_stats(&w, &st);
    cr_assert_eq(st.puts, 0);
    cr_assert_null(w.doc_items);
}

Test(doc_items, an_erased_document_takes_a_new_revision)
{
    cr_assert_eq(oa_store_exec(&w, "INSERT INTO users(id, username, display_name, pw_hash, roles, clearance,"
                                   " department_id, created_at, updated_at) VALUES (11, 'd', 'd', 'x', 1, 2, NULL, 0, 0)"),
                 0);
    cr_assert_eq(oa_store_exec(&w, "INSERT INTO documents(id, kind, def_version, state, revision, title, level,"
                                   " drafter_id, created_at, updated_at) VALUES (3, 'outgoing', 1, 'issued', 4,"
                                   " '关于某事的通知', 1, 11, 10, 20)"),
                 0);
    cr_assert_eq(oa_store_exec(&w, "BEGIN"), 0);
    cr_assert_eq(oa_rec_erase(&w, 3, "关于某事的通知", ""), 0);
    cr_assert_eq(oa_store_exec(&w, "COMMIT"), 0);
    sqlite3_stmt *st = oa_store_stmt(&w, "SELECT revision, title FROM documents WHERE id = 3");
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int64(st, 0), 5, "the erase kept the revision: a cached item would outlive the text");
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 1), "");
    sqlite3_reset(st);
}
