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
    cr_assert_eq(oa_sync_seen_set(&s, 7, 2, false), 0);
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
