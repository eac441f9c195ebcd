/*
 * tests/app/sync_feed_test.c: the feed's revocations (app/sync_feed.c) on a
 * real SQLite file, with pages read and written in an order the server's
 * reader and writer threads can give them: a page is built, and its
 * sync_seen writes applied, when the test says.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/sync_feed.h"
#include "proto/sync.h"
#include "proto/value.h"
#include "storage/documents.h"
#include "storage/labelmac.h"
#include "storage/store.h"
#include "storage/sync.h"

#define ME 1
static struct oa_store s;
static const struct oa_app_actor by = {ME, "me", "test"};

static void setup(void)
{
    char dir[256], path[300];
    cr_assert_geq(sodium_init(), 0);
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/app-feed-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/oa.db", dir);
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    unsigned char seed[32];
    randombytes_buf(seed, sizeof(seed));
    cr_assert_eq(oa_labelmac_key(seed), 0);
    cr_assert_eq(oa_store_exec(&s, "INSERT INTO users(id, username, display_name, roles, clearance, pw_hash,"
                                   " must_change_pw, created_at, updated_at)"
                                   " VALUES (1, 'me', 'me', 1, 1, 'x', 0, 0, 0)"),
                 0);
    cr_assert_gt(oa_change_record(&s, "user", ME, "create"), 0);
}

static void teardown(void)
{
    oa_labelmac_forget();
    oa_store_close(&s);
}

TestSuite(sync_feed, .init = setup, .fini = teardown);

/* A document of level drafted by ME (its change recorded); its id. */
static int64_t new_doc(const char *title, int level)
{
    struct oa_doc d = {0};
    snprintf(d.kind, sizeof(d.kind), "outgoing");
    d.def_version = 1;
    snprintf(d.state, sizeof(d.state), "draft");
    snprintf(d.title, sizeof(d.title), "%s", title);
    snprintf(d.urgency, sizeof(d.urgency), "ordinary");
    d.body = strdup("正文");
    d.drafter_id = ME;
    d.level = level;
    cr_assert_eq(oa_doc_insert(&s, &d, ME), 0);
    int64_t id = d.id;
    oa_doc_free(&d);
    return id;
}

/* A page for ME from since, not yet applied. */
static void page(struct oa_feed_page *p, int64_t since, int64_t limit)
{
    memset(p, 0, sizeof(*p));
    cr_assert_eq(oa_sync_feed_page(&s, &by, ME, 0, since, limit, 1, p), 0);
    cr_assert_eq(p->err, OA_E_OK);
}

static void apply(struct oa_feed_page *p)
{
    cr_assert_eq(oa_sync_feed_apply_seen(&s, ME, p), 0);
}

/* The page's entries for doc, in order: 'd' a record, 'r' a revoke. */
static void kinds(const struct oa_feed_page *p, int64_t doc, char *got, size_t cap)
{
    cbor_item_t *it = NULL;
    cr_assert_eq(pv_decode_cbor(p->bytes, p->nbytes, &it, NULL, 0), OA_E_OK);
    const cbor_item_t *e = oa_sync_get(it, OA_CH_ENTRIES);
    size_t n = 0;
    got[0] = '\0';
    for (size_t i = 0; i < cbor_array_size(e); i++) {
        uint64_t id = 0;
        char kind[16] = "";
        cr_assert(oa_sync_uint(cbor_array_handle(e)[i], OA_E_DOC, &id));
        cr_assert(oa_sync_text(cbor_array_handle(e)[i], OA_E_KIND, kind, sizeof(kind)));
        if ((int64_t)id == doc && n + 1 < cap) {
            got[n++] = kind[0];
            got[n] = '\0';
        }
    }
    cbor_decref(&it);
}

/*
 * Two clients of ME.  The account changes (S: a lowered clearance);
 * client A's page meets S and decides D's revocation, but its writes land
 * only after client B's page was read: B's page, full before the account's
 * next change Y (which replaced S), covers S without meeting it, and D is
 * still held as B's page reads it.  B's next page meets Y, where held rows
 * alone are re-decided: the revocation must still reach B.
 */
Test(sync_feed, a_revocation_written_after_a_page_covered_its_change_still_reaches_it)
{
    int64_t d = new_doc("两端都有", 1);
    struct oa_feed_page a = {0}, b = {0};
    char got[8];
    page(&a, 0, 100);
    kinds(&a, d, got, sizeof(got));
    cr_assert_str_eq(got, "d");
    apply(&a);
    int64_t ca = a.next;
    oa_sync_feed_page_free(&a);
    page(&b, 0, 100);
    kinds(&b, d, got, sizeof(got));
    cr_assert_str_eq(got, "d");
    apply(&b);
    int64_t cb = b.next;
    oa_sync_feed_page_free(&b);

    /* S: a lowered clearance. */
    cr_assert_eq(oa_store_exec(&s, "UPDATE users SET clearance = 0 WHERE id = 1"), 0);
    int64_t S = oa_change_record(&s, "user", ME, "update");
    page(&a, ca, 100); /* A meets S: revokes D (written later) */
    kinds(&a, d, got, sizeof(got));
    cr_assert_str_eq(got, "r");
    new_doc("后来的", 0); /* some change after S, then Y replaces S */
    int64_t Y = oa_change_record(&s, "user", ME, "update");
    cr_assert_gt(Y, S);
    page(&b, cb, 1); /* B: full at the change after S, before Y; D still held */
    cr_assert_lt(b.next, Y);
    cr_assert_gt(b.next, S);
    kinds(&b, d, got, sizeof(got));
    cr_assert_str_eq(got, "");
    apply(&a);
    apply(&b);
    cb = b.next;
    oa_sync_feed_page_free(&a);
    oa_sync_feed_page_free(&b);
    cr_assert_eq(oa_sync_seen_has(&s, ME, d), 0, "revoked");
    page(&b, cb, 100);
    kinds(&b, d, got, sizeof(got));
    cr_assert_str_eq(got, "r", "B's copy keeps D");
    oa_sync_feed_page_free(&b);
}

/* A page for ME's session `session` from since: 0, with p->err set by the page. */
static void page_as(struct oa_feed_page *p, int64_t session, int64_t since, int64_t limit)
{
    memset(p, 0, sizeof(*p));
    cr_assert_eq(oa_sync_feed_page(&s, &by, ME, session, since, limit, 1, p), 0);
}

/*
 * Access widened: a cursor behind the widening is refused until the session
 * walks from 0; that walk's head is written once (the page from 0 read again
 * and again, as the reads benchmark does, writes nothing more); a session
 * that never walked after it, and a widening that moves it again, are
 * refused.
 */
Test(sync_feed, a_widened_account_sends_each_session_back_to_0_once)
{
    cr_assert_eq(oa_store_exec(&s, "INSERT INTO sessions(id, token_hash, user_id, created_at, last_used_at,"
                                   " expires_at, source) VALUES (7, x'07', 1, 0, 0, 0, 't'), (8, x'08', 1, 0, 0, 0, 't')"),
                 0);
    new_doc("内部件", 1);
    struct oa_feed_page a;
    page_as(&a, 7, 0, 100);
    cr_assert_eq(a.err, OA_E_OK);
    cr_assert_eq(a.full_session, 0, "never widened: nothing to remember");
    apply(&a);
    int64_t ca = a.next;
    oa_sync_feed_page_free(&a);
    /* W: the clearance raised, recorded as the use case does. */
    cr_assert_eq(oa_store_exec(&s, "UPDATE users SET clearance = 2 WHERE id = 1"), 0);
    int64_t W = oa_change_record(&s, "user", ME, "update");
    cr_assert_eq(oa_sync_widened_record(&s, ME), 0);
    new_doc("之后", 1);
    page_as(&a, 7, ca, 100);
    cr_assert_eq(a.err, OA_E_CURSOR_TOO_OLD);
    cr_assert_str_eq(a.message, "Your access changed: start again from 0 (a full resync).");
    oa_sync_feed_page_free(&a);
    page_as(&a, 7, 0, 1); /* the walk from 0, one entry a page */
    cr_assert_eq(a.err, OA_E_OK);
    cr_assert_eq(a.full_session, 7);
    cr_assert(oa_sync_feed_writes(&a));
    apply(&a);
    ca = a.next;
    cr_assert_lt(ca, W);
    oa_sync_feed_page_free(&a);
    page_as(&a, 7, ca, 100);
    cr_assert_eq(a.err, OA_E_OK, "a walk from 0 begun after W was sent back");
    apply(&a);
    oa_sync_feed_page_free(&a);
    page_as(&a, 7, 0, 100);
    cr_assert_eq(a.full_session, 0, "written again");
    cr_assert_not(oa_sync_feed_writes(&a));
    oa_sync_feed_page_free(&a);
    /* The other session (another client) never walked after W. */
    page_as(&a, 8, ca, 100);
    cr_assert_eq(a.err, OA_E_CURSOR_TOO_OLD);
    oa_sync_feed_page_free(&a);
    /* No session (0) is refused the same way. */
    page_as(&a, 0, ca, 100);
    cr_assert_eq(a.err, OA_E_CURSOR_TOO_OLD);
    oa_sync_feed_page_free(&a);
    /* Another widening: session 7 is sent back again, and only from a cursor behind it. */
    cr_assert_eq(oa_store_exec(&s, "UPDATE users SET clearance = 3 WHERE id = 1"), 0);
    int64_t W2 = oa_change_record(&s, "user", ME, "update");
    cr_assert_eq(oa_sync_widened_record(&s, ME), 0);
    page_as(&a, 7, W2 - 1, 100);
    cr_assert_eq(a.err, OA_E_CURSOR_TOO_OLD);
    oa_sync_feed_page_free(&a);
    page_as(&a, 7, W2, 100);
    cr_assert_eq(a.err, OA_E_OK);
    oa_sync_feed_page_free(&a);
}
