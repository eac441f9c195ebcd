/*
 * tests/integration/sync_access_test.c: an account whose access widens
 * (clearance raised, another department) gets the
 * documents that became visible on every one of its clients, against the
 * real oad and, end to end, the real oa: a client whose cursor is behind
 * the change is answered 410 cursor_too_old and walks again from 0, once
 * (a walk from 0 begun after the change is never sent back), and a
 * narrowing alone forces no resync (revocation handles it).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "proto/sync.h"
#include "proto/value.h"
#include "tests/integration/sync_fixture.h"

#define CAROL_PW "Office-Pass-C-9x"
#define DEAD "http://127.0.0.1:1" /* a client that is offline */

static struct oad srv;
static char sys_t[128], sec_t[128], carol[128], dave[128];
static long long carol_id;
static char base[64], tmp[256];

static long long new_doc(const char *token, const char *title, int level, const char *scope)
{
    return sync_new_doc(&srv, token, title, level, scope);
}

static void setup(void)
{
    sync_office_start(&srv, "sync-access", base, tmp, sys_t, sec_t);
    struct resp r =
        http_json(&srv, "POST", "/v1/departments", sys_t, "{\"organ_id\":1,\"code\":\"财政\",\"name\":\"财政局\"}", NULL);
    resp_free(&r);
    carol_id = make_person(&srv, sys_t, sec_t, "carol", "[\"staff\"]", 1, CAROL_PW, carol, sizeof(carol));
    make_person(&srv, sys_t, sec_t, "dave", "[\"staff\"]", 2, "Office-Pass-D-9x", dave, sizeof(dave));
}

static void teardown(void)
{
    oad_stop(&srv);
}

TestSuite(sync_access, .init = setup, .fini = teardown);

/* One page of the feed: its status, and the page (200) or the error's code (else). */
static int feed(const char *token, long long since, int limit, cbor_item_t **page, char *code, size_t cap)
{
    struct resp r = sync_feed_get(&srv, token, since, limit);
    int status = r.status;
    cbor_item_t *it = NULL;
    cr_assert_eq(pv_decode_cbor(r.body, r.body_len, &it, NULL, 0), OA_E_OK, "%d %s", r.status, r.body);
    resp_free(&r);
    if (status == 200) {
        bool badv;
        cr_assert_null(oa_sync_check(it, "changes", &badv));
        *page = it;
        return status;
    }
    const cbor_item_t *c = pv_get(it, "code");
    snprintf(code, cap, "%.*s", c ? (int)cbor_string_length(c) : 0, c ? (const char *)cbor_string_handle(c) : "");
    cbor_decref(&it);
    *page = NULL;
    return status;
}

/*
 * Walks the feed as one client from *cursor to the head, `limit` entries a
 * page, every page answered 200; what the walk had for doc: 'd' a record,
 * 'r' a revoke, in order.
 */
static void walk(const char *token, long long *cursor, int limit, long long doc, char *got, size_t cap)
{
    size_t n = 0;
    got[0] = '\0';
    for (int pages = 0; pages < 1000; pages++) {
        cbor_item_t *p = NULL;
        char code[64] = "";
        int st = feed(token, *cursor, limit, &p, code, sizeof(code));
        cr_assert_eq(st, 200, "page %d from %lld: %d %s", pages, *cursor, st, code);
        uint64_t next = 0;
        bool more = false;
        cr_assert(oa_sync_uint(p, OA_CH_NEXT, &next) && oa_sync_bool(p, OA_CH_MORE, &more));
        const cbor_item_t *e = oa_sync_get(p, OA_CH_ENTRIES);
        for (size_t i = 0; i < cbor_array_size(e); i++) {
            uint64_t id = 0;
            char kind[16] = "";
            cr_assert(oa_sync_uint(cbor_array_handle(e)[i], OA_E_DOC, &id));
            cr_assert(oa_sync_text(cbor_array_handle(e)[i], OA_E_KIND, kind, sizeof(kind)));
            if ((long long)id == doc && n + 1 < cap) {
                got[n++] = kind[0];
                got[n] = '\0';
            }
        }
        *cursor = (long long)next;
        cbor_decref(&p);
        if (!more)
            return;
    }
    cr_assert_fail("the walk did not end");
}

/* The page from since must be 410 cursor_too_old. */
static void refused(const char *token, long long since, const char *who)
{
    cbor_item_t *p = NULL;
    char code[64] = "";
    int st = feed(token, since, 50, &p, code, sizeof(code));
    if (p)
        cbor_decref(&p);
    cr_assert_eq(st, 410, "%s: a cursor behind the widening was answered %d", who, st);
    cr_assert_str_eq(code, "cursor_too_old", "%s", who);
}

static void put_clearance(const char *body)
{
    char path[96];
    snprintf(path, sizeof(path), "/v1/users/%lld/clearance", carol_id);
    struct resp r = http_json(&srv, "PUT", path, sec_t, body, "If-Match: *\r\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
}

/*
 * The defect: carol (内部) holds E but not the 秘密 D; her clearance is
 * raised to 秘密.  D's own latest change is behind both her clients'
 * cursors: each is told to start again and gets D from 0; a third client
 * that began from 0 after the change walks page after page unrefused.
 */
Test(sync_access, a_raised_clearance_reaches_every_client_of_the_user)
{
    long long d = new_doc(dave, "秘密件", 2, NULL), e = new_doc(carol, "内部件", 1, NULL);
    char ta[128], tb[128], tc[128], got[16];
    cr_assert_eq(login(&srv, "carol", CAROL_PW, ta, sizeof(ta)), 201);
    cr_assert_eq(login(&srv, "carol", CAROL_PW, tb, sizeof(tb)), 201);
    long long ca = 0, cb = 0, cc = 0;
    walk(ta, &ca, 50, d, got, sizeof(got));
    cr_assert_str_eq(got, "", "D before the change");
    walk(tb, &cb, 1, e, got, sizeof(got));
    cr_assert_str_eq(got, "d", "E before the change");
    cr_assert_eq(ca, cb);
    put_clearance("{\"clearance\":2}");
    /* The change ended the sessions: each client logs in again and keeps its cursor. */
    cr_assert_eq(login(&srv, "carol", CAROL_PW, ta, sizeof(ta)), 201);
    cr_assert_eq(login(&srv, "carol", CAROL_PW, tb, sizeof(tb)), 201);
    refused(ta, ca, "the first client");
    refused(tb, cb, "the second client");
    ca = cb = 0;
    walk(ta, &ca, 50, d, got, sizeof(got));
    cr_assert_str_eq(got, "d", "the first client did not get D");
    walk(tb, &cb, 1, d, got, sizeof(got));
    cr_assert_str_eq(got, "d", "the second client did not get D");
    /* Once from 0 is enough: both continue from their cursors. */
    long long f = new_doc(ta, "之后", 1, NULL);
    walk(ta, &ca, 50, f, got, sizeof(got));
    cr_assert_str_eq(got, "d");
    walk(tb, &cb, 50, f, got, sizeof(got));
    cr_assert_str_eq(got, "d");
    /* A client that began from 0 after the change, one entry a page: never sent back to 0. */
    cr_assert_eq(login(&srv, "carol", CAROL_PW, tc, sizeof(tc)), 201);
    walk(tc, &cc, 1, d, got, sizeof(got));
    cr_assert_str_eq(got, "d");
    walk(tc, &cc, 1, d, got, sizeof(got));
    cr_assert_str_eq(got, "");
}

/*
 * A new login with a cursor from before the change is refused too (the
 * change ended its sessions), and a walk from 0 that began before the
 * change is sent back: it decided D under the old clearance.
 */
Test(sync_access, a_walk_begun_before_the_change_is_sent_back_once)
{
    long long d = new_doc(dave, "秘密件二", 2, NULL);
    for (int i = 0; i < 4; i++)
        new_doc(carol, "填充", 1, NULL);
    char ta[128], got[16];
    cr_assert_eq(login(&srv, "carol", CAROL_PW, ta, sizeof(ta)), 201);
    /* Half a walk from 0: two pages of one entry, then the change. */
    cbor_item_t *p = NULL;
    char code[64];
    cr_assert_eq(feed(ta, 0, 1, &p, code, sizeof(code)), 200);
    uint64_t next = 0;
    cr_assert(oa_sync_uint(p, OA_CH_NEXT, &next));
    cbor_decref(&p);
    /* sysadmin moves carol to another department: her sessions stay. */
    char path[96];
    snprintf(path, sizeof(path), "/v1/users/%lld", carol_id);
    struct resp r = http_json(&srv, "PATCH", path, sys_t, "{\"department_id\":2}", "If-Match: *\r\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    refused(ta, (long long)next, "a walk from 0 begun before the change");
    long long c = 0;
    walk(ta, &c, 2, d, got, sizeof(got));
    cr_assert_str_eq(got, "", "D is still above her clearance");
    /* A lowered clearance narrows only: the clients continue, and are told by revocation. */
    put_clearance("{\"clearance\":0}");
    cr_assert_eq(login(&srv, "carol", CAROL_PW, ta, sizeof(ta)), 201);
    walk(ta, &c, 50, d, got, sizeof(got));
    cr_assert_str_eq(got, "");
}

/* Runs the real oa as carol with its own HOME (its own session and copy); the exit status. */
static int oa(const char *home, const char *server, const char *args, char *out, size_t n)
{
    return sync_run_oa(tmp, base, home, CAROL_PW, server, args, out, n);
}

/*
 * End to end through the real oa: a 内部 document scoped to the 财政
 * department (cacheable: it reaches the disk); sysadmin moves carol there,
 * which keeps her sessions (a change that ends them makes oa log in again,
 * and a new login opens a new copy from 0 anyway); at the next sync both her
 * desktop copies have it offline.
 */
Test(sync_access, a_new_department_reaches_both_copies_of_oa)
{
    long long g = new_doc(dave, "财政件", 1, "[\"dept:2\",\"user:dave\"]");
    new_doc(carol, "她的", 1, NULL);
    char out[8192], args[64], path[96];
    snprintf(args, sizeof(args), "show %lld", g);
    cr_assert_eq(oa("one", NULL, "login carol", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(oa("two", NULL, "login carol", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(oa("one", NULL, "sync", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(oa("two", NULL, "sync", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(oa("one", DEAD, args, out, sizeof(out)), 4, "in the copy before the move: %s", out);
    snprintf(path, sizeof(path), "/v1/users/%lld", carol_id);
    struct resp r = http_json(&srv, "PATCH", path, sys_t, "{\"department_id\":2}", "If-Match: *\r\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    cr_assert_eq(oa("one", NULL, "sync", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(oa("two", NULL, "sync", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(oa("one", DEAD, args, out, sizeof(out)), 0, "not in the first copy: %s", out);
    cr_assert(strstr(out, "财政件"), "%s", out);
    cr_assert_eq(oa("two", DEAD, args, out, sizeof(out)), 0, "not in the second copy: %s", out);
    /* And her own document is still there (the copy was walked again, not emptied). */
    cr_assert_eq(oa("two", NULL, "sync", out, sizeof(out)), 0, "%s", out);
}

/* sysadmin's PATCH of carol's account. */
static void patch_carol(const char *body)
{
    char path[96];
    snprintf(path, sizeof(path), "/v1/users/%lld", carol_id);
    struct resp r = http_json(&srv, "PATCH", path, sys_t, body, "If-Match: *\r\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
}

/*
 * Which account changes send the clients back: a role added, a compartment
 * added and the account enabled again do; a role or a compartment taken
 * away, the same compartments again, the account disabled, and being named a
 * declassifier (no read depends on it) do not.  Each time a
 * fresh login continues from the cursor of a walk to the head.
 */
Test(sync_access, only_the_changes_that_widen_send_the_clients_back)
{
    static const struct {
        const char *body;
        bool patch, widens;
    } steps[] = {
        {"{\"roles\":[\"staff\",\"leader\"]}", true, true},
        {"{\"roles\":[\"staff\"]}", true, false},
        {"{\"clearance\":1,\"declassifier\":true}", false, false},
        {"{\"clearance\":1,\"compartments\":[\"外事\"]}", false, true},
        {"{\"clearance\":1,\"compartments\":[\"外事\"]}", false, false},
        {"{\"clearance\":1}", false, false},
        {"{\"disabled\":true}", true, false},
        {"{\"disabled\":false}", true, true},
        {"{\"display_name\":\"卡罗尔\"}", true, false},
    };
    char t[128], got[8];
    long long c = 0;
    cr_assert_eq(login(&srv, "carol", CAROL_PW, t, sizeof(t)), 201);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (i == 0 || !strstr(steps[i - 1].body, "disabled\":true")) { /* disabled: the cursor from before */
            new_doc(dave, "又一件", 1, NULL); /* the cursor is past a change before the account's */
            c = 0;
            walk(t, &c, 50, 0, got, sizeof(got));
        }
        if (steps[i].patch)
            patch_carol(steps[i].body);
        else
            put_clearance(steps[i].body);
        if (strstr(steps[i].body, "disabled\":true"))
            continue; /* no login: enabled again next */
        if (login(&srv, "carol", CAROL_PW, t, sizeof(t)) != 201)
            cr_assert_fail("step %zu: carol cannot log in", i);
        cbor_item_t *p = NULL;
        char code[64] = "";
        int st = feed(t, c, 50, &p, code, sizeof(code));
        if (p)
            cbor_decref(&p);
        cr_assert_eq(st, steps[i].widens ? 410 : 200, "step %zu (%s): %d %s", i, steps[i].body, st, code);
    }
}
