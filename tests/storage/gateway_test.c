/*
 * tests/storage/gateway_test.c: the exchange gateway's rows on a real SQLite
 * file: a bundle is recorded once per (sender, bundle_id) and per (sender,
 * seq), a request's facts round-trip, the outbox pages in id order and an
 * item is marked sent once.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/documents.h"
#include "storage/gateway.h"
#include "storage/store.h"

static char dir[256], path[300];
static struct oa_store s;
static int64_t doc;

static void setup(void)
{
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/gw-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/oa.db", dir);
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    cr_assert_eq(oa_store_exec(&s, "INSERT INTO users(id, username, display_name, roles, pw_hash, created_at,"
                                   " updated_at) VALUES (1, 'gateway', 'gateway', 32, 'x', 0, 0)"),
                 0);
    struct oa_doc d = {0};
    snprintf(d.kind, sizeof(d.kind), "request");
    d.def_version = 1;
    snprintf(d.state, sizeof(d.state), "imported");
    snprintf(d.title, sizeof(d.title), "申请");
    snprintf(d.urgency, sizeof(d.urgency), "ordinary");
    d.body = strdup("申请");
    d.drafter_id = 1;
    cr_assert_eq(oa_store_exec(&s, "BEGIN"), 0);
    cr_assert_eq(oa_doc_insert(&s, &d, 1), 0);
    doc = d.id;
    oa_doc_free(&d);
}

static void teardown(void)
{
    oa_store_exec(&s, "COMMIT");
    oa_store_close(&s);
}

TestSuite(gateway_rows, .init = setup, .fini = teardown);

static const char *const A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *const B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

Test(gateway_rows, a_bundle_is_recorded_once_by_id_and_by_sequence)
{
    int64_t got = 0;
    char other[65];
    cr_assert_eq(oa_gw_last_seq(&s, "portal"), 0);
    cr_assert_eq(oa_gw_bundle_find(&s, "portal", A, &got), 0);
    cr_assert_eq(oa_gw_bundle_put(&s, "portal", A, 1, "public_request", doc, "2026-11-02T10:00:00Z"), 0);
    cr_assert_eq(oa_gw_bundle_find(&s, "portal", A, &got), 1);
    cr_assert_eq(got, doc);
    cr_assert_eq(oa_gw_seq_find(&s, "portal", 1, other), 1);
    cr_assert_str_eq(other, A);
    cr_assert_eq(oa_gw_last_seq(&s, "portal"), 1);
    /* Another sender has its own sequence; the same id or seq again is refused by the schema. */
    cr_assert_eq(oa_gw_last_seq(&s, "portal-2"), 0);
    cr_assert_eq(oa_gw_bundle_put(&s, "portal-2", A, 1, "public_request", doc, "2026-11-02T10:00:00Z"), 0);
    cr_assert_neq(oa_gw_bundle_put(&s, "portal", A, 2, "public_request", doc, "x"), 0);
    cr_assert_neq(oa_gw_bundle_put(&s, "portal", B, 1, "public_request", doc, "x"), 0);
    cr_assert_neq(oa_store_exec(&s, "UPDATE gateway_bundles SET seq = 9"), 0, "imported bundles never change");
}

Test(gateway_rows, a_requests_facts_round_trip)
{
    struct oa_request_row q = {0}, r;
    q.doc_id = doc;
    snprintf(q.sender, sizeof(q.sender), "portal");
    snprintf(q.bundle_id, sizeof(q.bundle_id), "%s", A);
    snprintf(q.applicant_name, sizeof(q.applicant_name), "张三");
    snprintf(q.received, sizeof(q.received), "2026-11-02");
    snprintf(q.consult_since, sizeof(q.consult_since), "2026-11-05");
    q.paused_days = 3;
    cr_assert_eq(oa_request_load(&s, doc, &r), 0);
    cr_assert_eq(oa_request_put(&s, &q), 0);
    cr_assert_eq(oa_request_load(&s, doc, &r), 1);
    cr_assert_str_eq(r.applicant_name, "张三");
    cr_assert_str_eq(r.received, "2026-11-02");
    cr_assert_str_eq(r.consult_since, "2026-11-05");
    cr_assert_str_eq(r.correction_asked, "");
    cr_assert_eq(r.paused_days, 3);
    cr_assert_eq(r.review_by, 0);
    r.review_by = 1;
    r.review_at = 42;
    r.consult_since[0] = '\0';
    cr_assert_eq(oa_request_put(&s, &r), 0);
    cr_assert_eq(oa_request_load(&s, doc, &q), 1);
    cr_assert_eq(q.review_by, 1);
    cr_assert_str_eq(q.consult_since, "");
}

Test(gateway_rows, the_outbox_pages_in_order_and_an_item_is_sent_once)
{
    int64_t ids[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(oa_outbox_add(&s, "receipt", doc, A, (const unsigned char *)"\xa0", 1, NULL, NULL, 0, &ids[i]),
                     0);
    struct oa_outbox_row *rows = NULL;
    size_t n = 0;
    cr_assert_eq(oa_outbox_list(&s, ids[0], 10, &rows, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(rows[0].id, ids[1]);
    cr_assert_eq(rows[1].id, ids[2]);
    cr_assert_str_eq(rows[0].request_ref, A);
    cr_assert_eq(rows[0].content_len, 1);
    for (size_t i = 0; i < n; i++)
        oa_outbox_row_free(&rows[i]);
    free(rows);
    cr_assert_eq(oa_outbox_set_sent(&s, ids[1], A, B), 0);
    cr_assert_neq(oa_outbox_set_sent(&s, ids[1], B, A), 0, "sent once");
    struct oa_outbox_row o;
    cr_assert_eq(oa_outbox_get(&s, ids[1], &o), 1);
    cr_assert_str_eq(o.sent_bundle, A);
    cr_assert_str_eq(o.sent_sha256, B);
    oa_outbox_row_free(&o);
    cr_assert_eq(oa_outbox_get(&s, 999, &o), 0);
}

Test(gateway_rows, a_bundle_refused_for_good_keeps_its_seq_and_is_never_changed)
{
    static const char *const C = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    char code[64], reason[512], other[65];
    cr_assert_eq(oa_gw_bundle_put(&s, "portal", A, 1, "public_request", doc, "2026-12-01T10:00:00+08:00"), 0);
    cr_assert_eq(oa_gw_refusal_find(&s, "portal", B, code, reason), 0);
    cr_assert_eq(oa_gw_refusal_put(&s, "portal", B, 2, "correction", "correction_refused", "not awaited"), 0);
    cr_assert_eq(oa_gw_refusal_find(&s, "portal", B, code, reason), 1);
    cr_assert_str_eq(code, "correction_refused");
    cr_assert_str_eq(reason, "not awaited");
    /* its seq counts: the next expected is 3, and seq 2 is taken by it */
    cr_assert_eq(oa_gw_last_seq(&s, "portal"), 2);
    cr_assert_eq(oa_gw_seq_find(&s, "portal", 2, other), 1);
    cr_assert_str_eq(other, B);
    cr_assert_eq(oa_gw_seq_find(&s, "portal", 3, other), 0);
    cr_assert_eq(oa_gw_last_seq(&s, "other"), 0);
    /* once per (sender, bundle id) and per (sender, seq); never updated or deleted */
    cr_assert_neq(oa_gw_refusal_put(&s, "portal", B, 3, "correction", "correction_refused", "again"), 0);
    cr_assert_neq(oa_gw_refusal_put(&s, "portal", C, 2, "correction", "correction_refused", "same seq"), 0);
    cr_assert_neq(oa_store_exec(&s, "UPDATE gateway_refusals SET reason = 'x'"), 0);
    cr_assert_neq(oa_store_exec(&s, "DELETE FROM gateway_refusals"), 0);
    cr_assert_eq(oa_gw_refusal_find(&s, "portal", B, code, reason), 1);
    cr_assert_str_eq(reason, "not awaited");
}
