/*
 * tests/storage/sync_test.c: storage/sync.c's held documents (sync_seen) on
 * a real SQLite file (#14): each held document remembers the change of its
 * holder's account under which it was last decided visible, and the feed's
 * re-decision reads only those decided under an earlier one.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/document.h"
#include "storage/documents.h"
#include "storage/store.h"
#include "storage/sync.h"

static char dir[256], path[300];
static struct oa_store s;

static void setup(void)
{
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/sync-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/oa.db", dir);
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
}

static void teardown(void)
{
    oa_store_close(&s);
}

TestSuite(sync_seen, .init = setup, .fini = teardown);

/* The held documents of user the re-decision at account change `before` reads, as a bit set of ids 1..63. */
static uint64_t to_redecide(int64_t user, int64_t before)
{
    struct oa_change_scan c;
    cr_assert_eq(oa_sync_seen_scan_begin(&s, &c, user, before), 0);
    uint64_t ids = 0;
    int64_t id;
    struct oa_doc d;
    int rc;
    while ((rc = oa_sync_seen_scan_next(&c, &id, &d)) > 0) {
        cr_assert_eq(rc, 2, "no documents table rows here: every held id reads as gone");
        cr_assert(id > 0 && id < 64);
        ids |= UINT64_C(1) << id;
    }
    oa_change_scan_end(&c);
    cr_assert_eq(rc, 0);
    return ids;
}

#define BIT(n) (UINT64_C(1) << (n))

Test(sync_seen, only_documents_decided_under_an_earlier_account_change_are_re_decided)
{
    int64_t a1 = oa_change_record(&s, "user", 7, "create");
    cr_assert_eq(oa_sync_account_change(&s, 7), a1);
    cr_assert_eq(oa_sync_account_change(&s, 8), 0, "no change of user 8");
    cr_assert_eq(oa_sync_seen_add(&s, 7, 1, a1), 0);
    cr_assert_eq(oa_sync_seen_add(&s, 7, 2, a1), 0);
    cr_assert_eq(oa_sync_seen_add(&s, 8, 3, 0), 0);
    cr_assert_eq(oa_sync_seen_has(&s, 7, 1), 1);
    cr_assert_eq(to_redecide(7, a1), 0, "all decided under the account's latest change");

    int64_t a2 = oa_change_record(&s, "user", 7, "update"); /* e.g. a lowered clearance */
    cr_assert_eq(oa_sync_account_change(&s, 7), a2);
    cr_assert_eq(to_redecide(7, a2), BIT(1) | BIT(2));
    cr_assert_eq(to_redecide(8, a2), BIT(3), "another user's rows are theirs");

    /* A page re-decided 1 (kept) and revoked 2 under a2; a page read under a1 added 4 meanwhile. */
    cr_assert_eq(oa_sync_seen_redecided(&s, 7, 1, a2), 0);
    cr_assert_eq(oa_sync_seen_revoke(&s, 7, 2, a2), 0);
    cr_assert_eq(oa_sync_seen_add(&s, 7, 4, a1), 0);
    cr_assert_eq(to_redecide(7, a2), BIT(4), "4 was decided under the older state: re-decided at a2");

    /* A row keeps the earlier of two decisions; a re-decision only raises it. */
    cr_assert_eq(oa_sync_seen_add(&s, 7, 1, a1), 0);
    cr_assert_eq(to_redecide(7, a2), BIT(1) | BIT(4), "added again under a1 by a page read before a2");
    cr_assert_eq(oa_sync_seen_redecided(&s, 7, 1, a2), 0);
    cr_assert_eq(oa_sync_seen_redecided(&s, 7, 1, a1), 0);
    cr_assert_eq(to_redecide(7, a2), BIT(4));
    cr_assert_eq(oa_sync_seen_add(&s, 7, 4, a2), 0);
    cr_assert_eq(to_redecide(7, a2), BIT(4), "a later decision does not raise an earlier one");
    cr_assert_eq(oa_sync_seen_has(&s, 7, 2), 0);
}

/* The user's rows revoked at a change in (since, upto], as a bit set of ids 1..63. */
static uint64_t revoked_in(int64_t user, int64_t since, int64_t upto)
{
    struct oa_change_scan c;
    cr_assert_eq(oa_sync_revoked_begin(&s, &c, user, since, upto), 0);
    uint64_t ids = 0;
    int64_t id, at, rev, last = 0;
    int rc;
    while ((rc = oa_sync_revoked_next(&c, &id, &at, &rev)) > 0) {
        cr_assert(id > 0 && id < 64);
        cr_assert(at > since && at <= upto && at >= last, "in the range, in order");
        cr_assert_eq(rev, 0, "no documents table rows here");
        last = at;
        ids |= UINT64_C(1) << id;
    }
    oa_change_scan_end(&c);
    cr_assert_eq(rc, 0);
    return ids;
}

/*
 * A revoked row stays, with the change it was revoked at, for every client
 * of the user whose walk covers that change; it is re-decided no more, and a
 * document sent again is held again, decided afresh.
 */
Test(sync_seen, a_revoked_row_stays_with_its_change_until_sent_again)
{
    int64_t a1 = oa_change_record(&s, "user", 7, "create");
    for (int64_t d = 1; d <= 3; d++)
        cr_assert_eq(oa_sync_seen_add(&s, 7, d, a1), 0);
    cr_assert_eq(oa_sync_seen_add(&s, 8, 1, a1), 0);
    cr_assert_eq(oa_sync_seen_revoke(&s, 7, 1, 40), 0);
    cr_assert_eq(oa_sync_seen_revoke(&s, 7, 2, 50), 0);
    cr_assert_eq(oa_sync_seen_revoke(&s, 7, 2, 60), 0);
    cr_assert_eq(oa_sync_seen_has(&s, 7, 1), 0, "revoked: not held");
    cr_assert_eq(oa_sync_seen_revoked_at(&s, 7, 1), 40);
    cr_assert_eq(oa_sync_seen_revoked_at(&s, 7, 2), 50, "a revoked row keeps the change clients were told at");
    cr_assert_eq(oa_sync_seen_revoked_at(&s, 7, 3), 0, "held");
    cr_assert_eq(oa_sync_seen_revoked_at(&s, 7, 9), 0, "no row");
    cr_assert_eq(oa_sync_seen_has(&s, 8, 1), 1, "another user's row is theirs");
    cr_assert_eq(revoked_in(7, 0, 100), BIT(1) | BIT(2));
    cr_assert_eq(revoked_in(7, 40, 100), BIT(2), "a client past 40 was told of 1");
    cr_assert_eq(revoked_in(7, 0, 49), BIT(1));
    cr_assert_eq(revoked_in(7, 50, 100), 0);
    cr_assert_eq(revoked_in(8, 0, 100), 0);
    int64_t a2 = oa_change_record(&s, "user", 7, "update");
    cr_assert_eq(to_redecide(7, a2), BIT(3), "revoked rows are not re-decided");
    /* Sent again (visible again): held, decided under the page's account state. */
    cr_assert_eq(oa_sync_seen_add(&s, 7, 1, a2), 0);
    cr_assert_eq(oa_sync_seen_has(&s, 7, 1), 1);
    cr_assert_eq(revoked_in(7, 0, 100), BIT(2));
    cr_assert_eq(to_redecide(7, a2), BIT(3), "1 was decided under a2, not kept at a1");
    cr_assert_eq(oa_sync_seen_redecided(&s, 7, 2, a2), 0);
    cr_assert_eq(oa_sync_seen_revoked_at(&s, 7, 2), 50, "a re-decision leaves a revoked row alone");
    /* Decided at a change the sequence has since moved past: revoked at its head. */
    for (int i = 0; i < 100; i++)
        oa_change_record(&s, "document", 1000 + i, "create");
    int64_t head = oa_change_head(&s);
    cr_assert_gt(head, 100);
    cr_assert_eq(oa_sync_seen_revoke(&s, 7, 3, a2), 0);
    cr_assert_eq(oa_sync_seen_revoked_at(&s, 7, 3), head);
}

/*
 * The scan's to-do flag (storage/sync.c, through the primary keys) is the
 * to-do rule (oa_doc_in_todo) for each way a document reaches a to-do list:
 * the reader's own queue row, a role row of their department or organ or
 * of none, a role row elsewhere, a pending and an acted participation, and
 * another person's row.
 */
Test(sync_seen, the_scans_todo_flag_is_the_todo_rule)
{
    const char *setup_sql =
        "INSERT INTO organs(id, code, name) VALUES (1, 'o1', 'o1'), (2, 'o2', 'o2');"
        "INSERT INTO departments(id, organ_id, code, name) VALUES (1, 1, 'd1', 'd1'), (2, 1, 'd2', 'd2'),"
        " (3, 2, 'd3', 'd3');"
        "INSERT INTO users(id, username, display_name, department_id, roles, pw_hash, created_at, updated_at)"
        " VALUES (7, 'bob', 'bob', 1, 3, 'x', 0, 0), (8, 'eve', 'eve', 1, 1, 'x', 0, 0);";
    cr_assert_eq(oa_store_exec(&s, setup_sql), 0, "%s", oa_store_errmsg(&s));
    const char *rows[] = {
        "",                                                                              /* 1: nothing */
        "INSERT INTO doc_queue(doc_id, user_id, roles) VALUES (2, 7, 0)",                  /* bob's own row */
        "INSERT INTO doc_queue(doc_id, user_id, roles) VALUES (3, 8, 0)",                  /* eve's row */
        "INSERT INTO doc_queue(doc_id, user_id, roles, department_id) VALUES (4, 0, 2, 1)", /* bob's role, his dept */
        "INSERT INTO doc_queue(doc_id, user_id, roles, department_id) VALUES (5, 0, 2, 2)", /* another dept */
        "INSERT INTO doc_queue(doc_id, user_id, roles, organ_id) VALUES (6, 0, 2, 1)",     /* his organ */
        "INSERT INTO doc_queue(doc_id, user_id, roles, organ_id) VALUES (7, 0, 2, 2)",     /* another organ */
        "INSERT INTO doc_queue(doc_id, user_id, roles) VALUES (8, 0, 4)",                  /* a role he lacks */
        "INSERT INTO doc_participants(doc_id, user_id, part, round, status)"
        " VALUES (9, 7, 'countersigner', 1, 'pending')",
        "INSERT INTO doc_participants(doc_id, user_id, part, round, status)"
        " VALUES (10, 7, 'countersigner', 1, 'approved'), (10, 8, 'countersigner', 1, 'pending')",
    };
    int n = (int)(sizeof(rows) / sizeof(rows[0]));
    for (int i = 1; i <= n; i++) {
        char sql[400];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO documents(id, kind, def_version, state, title, level, drafter_id, created_at,"
                 " updated_at) VALUES (%d, 'outgoing', 1, 'draft', 'doc %d', 0, 8, 0, 0)",
                 i, i);
        cr_assert_eq(oa_store_exec(&s, sql), 0, "%s", oa_store_errmsg(&s));
        if (rows[i - 1][0] != '\0')
            cr_assert_eq(oa_store_exec(&s, rows[i - 1]), 0, "%s: %s", rows[i - 1], oa_store_errmsg(&s));
        cr_assert_gt(oa_change_record(&s, "document", i, "create"), 0);
    }
    struct oa_feed_reader r = {7, 2, 1, -1};
    struct oa_change_scan c;
    cr_assert_eq(oa_change_scan_begin(&s, &c, 0, oa_change_head(&s), 100, &r), 0);
    struct oa_change ch;
    struct oa_doc d;
    int seen = 0, rc, yes = 0;
    while ((rc = oa_change_scan_next(&c, &ch, &d)) == 1) {
        cr_assert(ch.found);
        bool want = oa_doc_in_todo(&s, ch.id, 7, 2, 1);
        cr_assert_eq(ch.in_todo, want, "document %lld: the scan says %d, the rule %d", (long long)ch.id,
                     ch.in_todo, want);
        cr_assert_str_eq(ch.drafter, "eve");
        yes += want;
        oa_doc_free(&d);
        seen++;
    }
    oa_change_scan_end(&c);
    cr_assert_eq(rc, 0);
    cr_assert_eq(seen, n);
    cr_assert_eq(yes, 4, "2, 4, 6 and 9 are bob's to do: %d were", yes);
}
