/*
 * tests/storage/records_test.c: records' rows on a real SQLite file (#16):
 * 件号 allocated without gaps and never twice by filings from several
 * threads on their own connections, some of which roll back; the triggers
 * that refuse changes to a filed record and its document unless the writer
 * unsealed it in the same transaction; the erasure of a disposed record.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/documents.h"
#include "storage/records.h"
#include "storage/store.h"
#include "workflow/records.h"

static char dir[256], path[300];
static struct oa_store s;

#define NDOCS 240

static void setup(void)
{
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/rec-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/oa.db", dir);
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    cr_assert_eq(oa_store_exec(&s, "INSERT INTO users(id, username, display_name, roles, pw_hash, created_at,"
                                   " updated_at) VALUES (1, 'archivist', 'archivist', 16, 'x', 0, 0)"),
                 0);
    cr_assert_eq(oa_store_exec(&s, "INSERT INTO organs(id, code, name, fonds) VALUES (1, '某府', '某市人民政府', 'Z109')"),
                 0);
    cr_assert_eq(oa_store_exec(&s, "BEGIN"), 0);
    for (int i = 0; i < NDOCS; i++) {
        struct oa_doc d = {0};
        snprintf(d.kind, sizeof(d.kind), "outgoing");
        d.def_version = 1;
        snprintf(d.state, sizeof(d.state), "archived");
        snprintf(d.title, sizeof(d.title), "文件%d", i);
        snprintf(d.urgency, sizeof(d.urgency), "ordinary");
        d.organ_id = 1;
        d.body = strdup("正文");
        d.drafter_id = 1;
        cr_assert_eq(oa_doc_insert(&s, &d, 1), 0);
        oa_doc_free(&d);
    }
    cr_assert_eq(oa_store_exec(&s, "COMMIT"), 0);
}

static void teardown(void)
{
    oa_store_close(&s);
}

TestSuite(record_rows, .init = setup, .fini = teardown);

/* Files doc_id in class cls on store st, in its own transaction; rolls back when `undo`. 0 or -1. */
static int file_one(struct oa_store *st, int64_t doc_id, const char *cls, bool undo)
{
    if (oa_store_exec(st, "BEGIN IMMEDIATE") != 0)
        return -1;
    struct oa_record_row r = {0};
    r.doc_id = doc_id;
    r.organ_id = 1;
    snprintf(r.fonds, sizeof(r.fonds), "Z109");
    snprintf(r.category, sizeof(r.category), "WS");
    r.year = 2026;
    snprintf(r.retention, sizeof(r.retention), "D30");
    snprintf(r.class_code, sizeof(r.class_code), "%s", cls);
    snprintf(r.title, sizeof(r.title), "文件");
    snprintf(r.doc_date, sizeof(r.doc_date), "20260301");
    r.filed_at = 1;
    r.filed_by = 1;
    if (oa_rec_next_item(st, r.fonds, r.category, r.year, r.retention, r.class_code, &r.item_no) != 0 ||
        !oa_archival_no(r.fonds, r.category, r.year, OA_RET_D30, r.class_code, r.item_no, r.archival_no,
                        sizeof(r.archival_no)) ||
        oa_rec_insert(st, &r) != 0) {
        oa_store_exec(st, "ROLLBACK");
        return -1;
    }
    return oa_store_exec(st, undo ? "ROLLBACK" : "COMMIT");
}

struct filer {
    int first, count;
    int committed;
    int failed;
};

static void *filer_run(void *arg)
{
    struct filer *f = arg;
    struct oa_store st;
    char *why = NULL;
    if (oa_store_open(&st, path, false, &why) != 0) {
        free(why);
        f->failed++;
        return NULL;
    }
    for (int i = 0; i < f->count; i++) {
        int64_t doc = f->first + i;
        bool undo = doc % 7 == 0; /* some filings fail after taking their number */
        /* Two classes interleave: each is numbered on its own. */
        if (file_one(&st, doc, doc % 2 ? "BGS" : "CZ", undo) != 0) {
            f->failed++;
            continue;
        }
        if (!undo)
            f->committed++;
        else if (file_one(&st, doc, doc % 2 ? "BGS" : "CZ", false) == 0)
            f->committed++; /* filed again: it takes the number the undone one gave back */
        else
            f->failed++;
    }
    oa_store_close(&st);
    return NULL;
}

Test(record_rows, concurrent_filings_number_each_class_without_gaps)
{
    enum { THREADS = 6 };
    pthread_t t[THREADS];
    struct filer f[THREADS];
    for (int i = 0; i < THREADS; i++) {
        f[i] = (struct filer){1 + i * (NDOCS / THREADS), NDOCS / THREADS, 0, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, filer_run, &f[i]), 0);
    }
    int committed = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(f[i].failed, 0, "thread %d failed %d filings", i, f[i].failed);
        committed += f[i].committed;
    }
    cr_assert_eq(committed, NDOCS);
    /* Within each class: 1..n, each once. */
    sqlite3_stmt *st = oa_store_stmt(&s, "SELECT class_code, count(*), min(item_no), max(item_no),"
                                         " count(DISTINCT item_no) FROM records GROUP BY class_code");
    int classes = 0, total = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int n = sqlite3_column_int(st, 1);
        cr_assert_eq(sqlite3_column_int(st, 2), 1);
        cr_assert_eq(sqlite3_column_int(st, 3), n, "class %s: max %d of %d", sqlite3_column_text(st, 0),
                     sqlite3_column_int(st, 3), n);
        cr_assert_eq(sqlite3_column_int(st, 4), n);
        classes++;
        total += n;
    }
    sqlite3_reset(st);
    cr_assert_eq(classes, 2);
    cr_assert_eq(total, NDOCS);
}

static int exec_rc(const char *sql)
{
    return sqlite3_exec(sqlite3_db_handle(oa_store_stmt(&s, "SELECT 1")), sql, NULL, NULL, NULL);
}

Test(record_rows, the_triggers_refuse_changes_to_a_filed_record_unless_unsealed)
{
    cr_assert_eq(oa_store_exec(&s, "INSERT INTO doc_steps(doc_id, action, from_state, to_state, actor_id, opinion, at)"
                                   " VALUES (1, 'sign', 'signoff', 'register', 1, '同意', 0)"),
                 0);
    cr_assert_eq(file_one(&s, 1, "BGS", false), 0);
    /* Before filing, document 2 changes freely. */
    cr_assert_eq(exec_rc("UPDATE documents SET title = 'x' WHERE id = 2"), SQLITE_OK);
    static const char *const refused[] = {
        "UPDATE documents SET title = 'x' WHERE id = 1",
        "UPDATE documents SET state = 'issued' WHERE id = 1",
        "DELETE FROM documents WHERE id = 1",
        "UPDATE doc_bodies SET body = 'x' WHERE doc_id = 1",
        "DELETE FROM doc_revisions WHERE doc_id = 1",
        "INSERT INTO doc_revisions(doc_id, revision, author_id, at, changed, title, body)"
        " VALUES (1, 9, 1, 0, 'title', 'x', 'x')",
        "INSERT INTO doc_steps(doc_id, action, from_state, to_state, actor_id, at)"
        " VALUES (1, 'edit', 'archived', 'archived', 1, 0)",
        "UPDATE doc_steps SET opinion = '' WHERE doc_id = 1",
        "DELETE FROM doc_steps WHERE doc_id = 1",
        "INSERT INTO doc_scope(doc_id, entry) VALUES (1, 'dept:1')",
        "INSERT INTO attachments(doc_id, name, role, rev, blob_id, updated_at) VALUES (1, 'a', 'attachment', 1, 1, 0)",
        "UPDATE records SET archival_no = 'x' WHERE doc_id = 1",
        "UPDATE records SET retention = 'Y' WHERE doc_id = 1",
        "UPDATE records SET title = 'x' WHERE doc_id = 1",
        "DELETE FROM records WHERE doc_id = 1",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        cr_assert_neq(exec_rc(refused[i]), SQLITE_OK, "not refused: %s", refused[i]);
    /* Its state and hold change: they are the record's life, not its content. */
    cr_assert_eq(oa_rec_set_hold(&s, 1, true, "诉讼"), 0);
    /* A correction unseals the metadata, not the document. */
    cr_assert_eq(oa_store_exec(&s, "BEGIN"), 0);
    cr_assert_eq(oa_rec_unseal(&s, 1, "correct"), 0);
    cr_assert_eq(oa_rec_set_field(&s, 1, "pages", "4"), 0);
    cr_assert_eq(oa_rec_set_field(&s, 1, "archival_no", "x"), 1);
    cr_assert_neq(exec_rc("UPDATE documents SET title = 'x' WHERE id = 1"), SQLITE_OK);
    cr_assert_eq(oa_rec_reseal(&s, 1), 0);
    cr_assert_eq(oa_store_exec(&s, "COMMIT"), 0);
    struct oa_record_row r;
    cr_assert_eq(oa_rec_load(&s, 1, &r), 1);
    cr_assert_eq(r.pages, 4);
    cr_assert(r.hold);
    cr_assert_neq(oa_rec_set_field(&s, 1, "pages", "5"), 0, "sealed again after the correction");
}

Test(record_rows, erasure_leaves_no_text_of_the_disposed_record)
{
    cr_assert_eq(oa_store_exec(&s, "INSERT INTO doc_steps(doc_id, action, from_state, to_state, actor_id, opinion, at)"
                                   " VALUES (3, 'sign', 'signoff', 'register', 1, '意见标记XYZ', 0)"),
                 0);
    cr_assert_eq(file_one(&s, 3, "", false), 0);
    cr_assert_eq(oa_store_exec(&s, "BEGIN"), 0);
    cr_assert_neq(oa_rec_erase(&s, 3, "文件2", "正文"), 0, "erased without being unsealed");
    cr_assert_eq(oa_store_exec(&s, "ROLLBACK"), 0);
    cr_assert_eq(oa_store_exec(&s, "BEGIN"), 0);
    cr_assert_eq(oa_rec_unseal(&s, 3, "dispose"), 0);
    cr_assert_eq(oa_rec_erase(&s, 3, "文件2", "正文"), 0);
    cr_assert_eq(oa_rec_set_state(&s, 3, "disposed"), 0);
    cr_assert_eq(oa_rec_reseal(&s, 3), 0);
    cr_assert_eq(oa_store_exec(&s, "COMMIT"), 0);
    sqlite3_stmt *st = oa_store_stmt(&s, "SELECT (SELECT title FROM documents WHERE id = 3),"
                                         " (SELECT body FROM doc_bodies WHERE doc_id = 3),"
                                         " (SELECT count(*) FROM doc_revisions WHERE doc_id = 3),"
                                         " (SELECT group_concat(opinion) FROM doc_steps WHERE doc_id = 3),"
                                         " (SELECT count(*) FROM doc_fts WHERE rowid = 3),"
                                         " (SELECT count(*) FROM doc_steps WHERE doc_id = 3)");
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "");
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 1), "");
    cr_assert_eq(sqlite3_column_int(st, 2), 0);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 3), "");
    cr_assert_eq(sqlite3_column_int(st, 4), 0);
    cr_assert_eq(sqlite3_column_int(st, 5), 1, "the steps stay, without their opinions");
    sqlite3_reset(st);
    /* The record stays, sealed, as disposed. */
    struct oa_record_row r;
    cr_assert_eq(oa_rec_load(&s, 3, &r), 1);
    cr_assert_str_eq(r.state, "disposed");
}
