/*
 * tests/app/records_test.c: the filing check's hook (app/records.c
 * oa_rec_set_filing_check) on a real SQLite file: the check sees the record
 * about to be filed, with its number; its refusal undoes the filing with
 * record_check_failed, and the number it took is given back with the
 * rolled-back transaction.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/records.h"
#include "storage/documents.h"
#include "storage/store.h"
#include "storage/records.h"

static struct oa_store s;
static int64_t doc;

static void setup(void)
{
    char dir[256], path[300];
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/app-rec-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/oa.db", dir);
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    cr_assert_eq(oa_store_exec(&s, "INSERT INTO users(id, username, display_name, roles, clearance, pw_hash,"
                                   " must_change_pw, created_at, updated_at)"
                                   " VALUES (1, 'archivist', 'archivist', 16, 4, 'x', 0, 0, 0)"),
                 0);
    cr_assert_eq(oa_store_exec(&s, "INSERT INTO organs(id, code, name, fonds) VALUES (1, '某府', '某市人民政府', 'Z109');"
                                   "INSERT INTO retention_schedule VALUES (1, '*', '*', 'D30')"),
                 0);
    struct oa_doc d = {0};
    snprintf(d.kind, sizeof(d.kind), "outgoing");
    d.def_version = 1;
    snprintf(d.state, sizeof(d.state), "archived");
    snprintf(d.title, sizeof(d.title), "关于检查的通知");
    snprintf(d.urgency, sizeof(d.urgency), "ordinary");
    snprintf(d.doc_date, sizeof(d.doc_date), "2026-03-01");
    d.organ_id = 1;
    d.body = strdup("正文");
    d.drafter_id = 1;
    cr_assert_eq(oa_doc_insert(&s, &d, 1), 0);
    doc = d.id;
    oa_doc_free(&d);
}

static void teardown(void)
{
    oa_rec_set_filing_check(NULL, NULL);
    oa_store_close(&s);
}

TestSuite(filing_check, .init = setup, .fini = teardown);

static char seen[96];

static int refuse_all(struct oa_store *st, const struct oa_rec_filing *f, void *arg, const char **why)
{
    (void)st;
    snprintf(seen, sizeof(seen), "%s", f->record->archival_no);
    cr_assert_str_eq(f->doc->title, "关于检查的通知");
    cr_assert_str_eq((const char *)arg, "four properties");
    *why = "completeness: a required element is missing";
    return 1;
}

Test(filing_check, a_refused_filing_is_undone_and_gives_its_number_back)
{
    struct oa_app_actor by = {1, "archivist", "test"};
    struct oa_rec_file_req q = {.doc_id = doc, .pages = -1};
    struct oa_app_outcome o = {0};
    cbor_item_t *out = NULL;
    oa_rec_set_filing_check(refuse_all, "four properties");
    cr_assert_eq(oa_store_exec(&s, "BEGIN"), 0);
    cr_assert_eq(oa_rec_file(&s, &by, &q, &o, &out), 0);
    cr_assert_eq(o.end, OA_APP_UNDONE);
    cr_assert_eq(o.err, OA_E_RECORD_CHECK_FAILED);
    cr_assert_str_eq(o.message, "completeness: a required element is missing");
    cr_assert_null(out);
    cr_assert_str_eq(seen, "Z109-WS·2026-D30-0001");
    /* The writer rolls an undone job back. */
    cr_assert_eq(oa_store_exec(&s, "ROLLBACK"), 0);

    oa_rec_set_filing_check(NULL, NULL);
    memset(&o, 0, sizeof(o));
    cr_assert_eq(oa_store_exec(&s, "BEGIN"), 0);
    cr_assert_eq(oa_rec_file(&s, &by, &q, &o, &out), 0);
    cr_assert_eq(o.end, OA_APP_DONE, "%s", o.message ? o.message : "");
    cr_assert_not_null(out);
    const cbor_item_t *no = pv_get(out, "archival_no");
    cr_assert(no != NULL && cbor_isa_string(no));
    cr_assert_eq(memcmp(cbor_string_handle(no), "Z109-WS·2026-D30-0001", cbor_string_length(no)), 0);
    cbor_decref(&out);
    cr_assert_eq(oa_store_exec(&s, "COMMIT"), 0);
}
