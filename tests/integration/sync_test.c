/*
 * tests/integration/sync_test.c: the sync protocol and the oa client against
 * the real oad: exact feed pages, two clients (one offline for a while)
 * converging with conflicts reported, a raised label removing a document from
 * a client's copy, an independent CBOR decoder, and bad messages.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/sync.h"
#include "proto/value.h"
#include "tests/integration/sync_fixture.h"

static struct oad srv;
static char sys_t[128], sec_t[128], alice[128], bob[128];
static long long bob_id;
static char base[64], tmp[256];

static long long make_user(const char *name, int clearance, const char *pw, char *token)
{
    return make_person(&srv, sys_t, sec_t, name, "[\"staff\"]", clearance, pw, token, 128);
}

static long long new_doc(const char *token, const char *title, int level)
{
    return sync_new_doc(&srv, token, title, level, NULL);
}

static void setup(void)
{
    sync_office_start(&srv, "sync", base, tmp, sys_t, sec_t);
    make_user("alice", 1, "Office-Pass-A-9x", alice);
    bob_id = make_user("bob", 2, "Office-Pass-B-9x", bob);
}

static void teardown(void)
{
    oad_stop(&srv);
}

TestSuite(sync, .init = setup, .fini = teardown);

/* Runs the client as `who` (its own HOME: its own session and copy); returns the exit status. */
static int oa(const char *who, const char *server, const char *args, char *out, size_t n)
{
    return sync_run_oa(tmp, base, who, strncmp(who, "alice", 5) == 0 ? "Office-Pass-A-9x" : "Office-Pass-B-9x", server,
                       args, out, n);
}

#define DEAD "http://127.0.0.1:1" /* a client that is offline */

/* One page of the feed over HTTP, decoded with the shared codec. */
static cbor_item_t *feed(const char *token, long long since, int limit)
{
    struct resp r = sync_feed_get(&srv, token, since, limit);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cbor_item_t *it = NULL;
    cr_assert_eq(pv_decode_cbor(r.body, r.body_len, &it, NULL, 0), OA_E_OK);
    resp_free(&r);
    bool badv;
    cr_assert_null(oa_sync_check(it, "changes", &badv));
    return it;
}

Test(sync, pages_neither_skip_nor_repeat)
{
    long long ids[40];
    for (int i = 0; i < 40; i++) {
        char t[32];
        snprintf(t, sizeof(t), "page-%d", i);
        ids[i] = new_doc(alice, t, i % 2);
    }
    /* Interleave invisible changes: bob's level-2 documents alice may not see. */
    for (int i = 0; i < 5; i++)
        new_doc(bob, "secret", 2);
    long long cursor = 0, last_seq = 0;
    int seen[64] = {0}, total = 0;
    for (int pages = 0; pages < 100; pages++) {
        cbor_item_t *p = feed(alice, cursor, 7);
        uint64_t next = 0;
        bool more = false;
        cr_assert(oa_sync_uint(p, OA_CH_NEXT, &next) && oa_sync_bool(p, OA_CH_MORE, &more));
        const cbor_item_t *e = oa_sync_get(p, OA_CH_ENTRIES);
        cr_assert(cbor_array_size(e) <= 7);
        for (size_t i = 0; i < cbor_array_size(e); i++) {
            uint64_t seq = 0, doc = 0;
            cr_assert(oa_sync_uint(cbor_array_handle(e)[i], OA_E_SEQ, &seq));
            cr_assert(oa_sync_uint(cbor_array_handle(e)[i], OA_E_DOC, &doc));
            cr_assert((long long)seq > last_seq, "seq %llu after %lld", (unsigned long long)seq, last_seq);
            cr_assert((long long)seq > cursor && seq <= next);
            last_seq = (long long)seq;
            for (int k = 0; k < 40; k++)
                if (ids[k] == (long long)doc)
                    seen[k]++;
            total++;
        }
        cursor = (long long)next;
        cbor_decref(&p);
        if (!more)
            break;
    }
    cr_assert_eq(total, 40, "alice saw %d entries", total);
    for (int k = 0; k < 40; k++)
        cr_assert_eq(seen[k], 1, "document %lld came %d times", ids[k], seen[k]);
    /* Five edits later, the same cursor gives exactly those five. */
    for (int k = 0; k < 5; k++) {
        char path[64];
        snprintf(path, sizeof(path), "/v1/documents/%lld", ids[k * 3]);
        struct resp r = http_json(&srv, "PATCH", path, alice, "{\"note\":\"again\"}", "If-Match: *\r\n");
        cr_assert_eq(r.status, 200, "%s", r.body);
        resp_free(&r);
    }
    cbor_item_t *p = feed(alice, cursor, 100);
    const cbor_item_t *e = oa_sync_get(p, OA_CH_ENTRIES);
    cr_assert_eq(cbor_array_size(e), 5);
    cbor_decref(&p);
}

Test(sync, two_clients_converge_and_conflicts_are_reported)
{
    char out[8192], args[256];
    long long d1 = new_doc(bob, "共同起草", 1), d2 = new_doc(bob, "另一份", 1);
    cr_assert_eq(oa("bob", NULL, "login bob", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(oa("bob2", NULL, "login bob", out, sizeof(out)), 0, "%s", out);
    /* bob2 goes offline and works on both documents. */
    snprintf(args, sizeof(args), "edit %lld --title 离线标题", d1);
    cr_assert_eq(oa("bob2", DEAD, args, out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "queued"), "%s", out);
    snprintf(args, sizeof(args), "edit %lld --note 离线备注", d2);
    cr_assert_eq(oa("bob2", DEAD, args, out, sizeof(out)), 0, "%s", out);
    snprintf(args, sizeof(args), "act %lld submit --opinion 请审核", d1);
    cr_assert_eq(oa("bob2", DEAD, args, out, sizeof(out)), 0, "%s", out);
    /* Offline, reads come from the local copy. */
    snprintf(args, sizeof(args), "show %lld", d2);
    cr_assert_eq(oa("bob2", DEAD, args, out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "另一份") && strstr(out, "local copy"), "%s", out);
    /* Meanwhile the online client edits d1. */
    snprintf(args, sizeof(args), "edit %lld --title 在线标题", d1);
    cr_assert_eq(oa("bob", NULL, args, out, sizeof(out)), 0, "%s", out);
    /* Back online: d2's edit applies; d1's edit and action conflict and are reported, one by one. */
    int st = oa("bob2", NULL, "sync", out, sizeof(out));
    cr_assert_eq(st, 3, "exit %d: %s", st, out);
    int conflicts = 0;
    for (char *p = out; (p = strstr(p, "CONFLICT")) != NULL; p++)
        conflicts++;
    cr_assert_eq(conflicts, 2, "%s", out);
    cr_assert(strstr(out, "1 pushed") && strstr(out, "2 conflicts"), "%s", out);
    /* Nothing lost: the online edit stands, the offline note landed, the action did not act. */
    char path[64];
    snprintf(path, sizeof(path), "/v1/documents/%lld", d1);
    struct resp r = http_json(&srv, "GET", path, bob, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "title")), "在线标题");
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "draft");
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/documents/%lld", d2);
    r = http_json(&srv, "GET", path, bob, NULL, NULL);
    j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "note")), "离线备注");
    json_decref(j);
    /* Both converge: the same documents at the same revisions. */
    cr_assert_eq(oa("bob", NULL, "sync", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(oa("bob2", NULL, "sync", out, sizeof(out)), 0, "the conflicts were reported once: %s", out);
    for (int k = 0; k < 2; k++) {
        char a[4096], b[4096];
        snprintf(args, sizeof(args), "--json show %lld", k ? d2 : d1);
        cr_assert_eq(oa("bob", DEAD, args, a, sizeof(a)), 0, "%s", a);
        cr_assert_eq(oa("bob2", DEAD, args, b, sizeof(b)), 0, "%s", b);
        cr_assert_str_eq(a, b);
    }
}

Test(sync, a_raised_label_removes_the_document_from_the_copy)
{
    char out[8192], args[256];
    long long d = new_doc(alice, "将要升密", 1);
    cr_assert_eq(oa("alice", NULL, "login alice", out, sizeof(out)), 0, "%s", out);
    snprintf(args, sizeof(args), "show %lld", d);
    cr_assert_eq(oa("alice", DEAD, args, out, sizeof(out)), 0, "not in the copy: %s", out);
    char path[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld/label", d);
    struct resp r = http_json(&srv, "POST", path, sec_t, "{\"level\":2,\"reason\":\"涉及敏感事项\"}", NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    cr_assert_eq(oa("alice", NULL, "sync", out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "1 removed"), "%s", out);
    cr_assert_eq(oa("alice", DEAD, args, out, sizeof(out)), 4, "still readable offline: %s", out);
    cr_assert(strstr(out, "not in the local copy"), "%s", out);
    /* A lowered clearance does the same for every document the client holds. */
    long long d2 = new_doc(bob, "给鲍勃", 1);
    cr_assert_eq(oa("bob", NULL, "login bob", out, sizeof(out)), 0, "%s", out);
    snprintf(path, sizeof(path), "/v1/users/%lld/clearance", bob_id);
    r = http_json(&srv, "PUT", path, sec_t, "{\"clearance\":0}", "If-Match: *\r\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    /* A clearance change ends the person's sessions; the client then drops its copy with the session. */
    snprintf(args, sizeof(args), "show %lld", d2);
    cr_assert_eq(oa("bob", NULL, "sync", out, sizeof(out)), 5, "%s", out);
    cr_assert(strstr(out, "oa login bob"), "%s", out);
    char p[400];
    struct stat st;
    snprintf(p, sizeof(p), "%s/bob/.local/share/oa/cache.db", tmp);
    cr_assert_neq(stat(p, &st), 0, "the copy outlived the session");
    cr_assert_eq(oa("bob", DEAD, args, out, sizeof(out)), 5, "%s", out);
}

/*
 * Walks the feed as one client from *cursor to the head, page after page
 * (entries in seq order), and moves *cursor; what the walk had for doc, in
 * order, as a string: 'd' a record, 'r' a revoke ("" nothing).
 */
static void walk(const char *token, long long *cursor, long long doc, char *got, size_t cap)
{
    size_t n = 0;
    long long last = 0;
    got[0] = '\0';
    for (int pages = 0; pages < 100; pages++) {
        cbor_item_t *p = feed(token, *cursor, 50);
        uint64_t next = 0;
        bool more = false;
        cr_assert(oa_sync_uint(p, OA_CH_NEXT, &next) && oa_sync_bool(p, OA_CH_MORE, &more));
        const cbor_item_t *e = oa_sync_get(p, OA_CH_ENTRIES);
        for (size_t i = 0; i < cbor_array_size(e); i++) {
            uint64_t seq = 0, id = 0;
            char kind[16] = "";
            cr_assert(oa_sync_uint(cbor_array_handle(e)[i], OA_E_SEQ, &seq));
            cr_assert(oa_sync_uint(cbor_array_handle(e)[i], OA_E_DOC, &id));
            cr_assert(oa_sync_text(cbor_array_handle(e)[i], OA_E_KIND, kind, sizeof(kind)));
            cr_assert((long long)seq >= last && (long long)seq > *cursor && seq <= next, "seq %llu",
                      (unsigned long long)seq);
            last = (long long)seq;
            if ((long long)id == doc && n + 1 < cap) {
                got[n++] = kind[0];
                got[n] = '\0';
            }
        }
        *cursor = (long long)next;
        cbor_decref(&p);
        if (!more)
            break;
    }
}

/*
 * A revocation reaches each client of the user, not only the first to sync
 * after it: the server keeps the revoked row (sync_seen.revoked_at).
 */
Test(sync, a_raised_label_is_revoked_on_every_client_of_the_user)
{
    char out[8192], args[256], path[96];
    long long d = new_doc(alice, "两端都有", 1);
    cr_assert_eq(oa("alice", NULL, "login alice", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(oa("alice2", NULL, "login alice", out, sizeof(out)), 0, "%s", out);
    snprintf(args, sizeof(args), "show %lld", d);
    cr_assert_eq(oa("alice", DEAD, args, out, sizeof(out)), 0, "not in the first copy: %s", out);
    cr_assert_eq(oa("alice2", DEAD, args, out, sizeof(out)), 0, "not in the second copy: %s", out);
    snprintf(path, sizeof(path), "/v1/documents/%lld/label", d);
    struct resp r = http_json(&srv, "POST", path, sec_t, "{\"level\":2,\"reason\":\"涉及敏感事项\"}", NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    cr_assert_eq(oa("alice", NULL, "sync", out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "1 removed"), "%s", out);
    cr_assert_eq(oa("alice", DEAD, args, out, sizeof(out)), 4, "still in the first copy: %s", out);
    /* The second client syncs after the first: it is revoked there too. */
    cr_assert_eq(oa("alice2", NULL, "sync", out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "1 removed"), "the second client was not told: %s", out);
    cr_assert_eq(oa("alice2", DEAD, args, out, sizeof(out)), 4, "still in the second copy: %s", out);
    cr_assert(strstr(out, "not in the local copy"), "%s", out);
    /* A client that starts from 0 after it gets no record of it, only a revoke (it cannot be told apart). */
    long long c = 0;
    char got[16];
    walk(alice, &c, d, got, sizeof(got));
    cr_assert_str_eq(got, "r");
    cr_assert_eq(oa("alice3", NULL, "login alice", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(oa("alice3", DEAD, args, out, sizeof(out)), 4, "in a new copy: %s", out);
    /* Lowered again (a change of the document): every client gets it back. */
    r = http_json(&srv, "POST", path, sec_t, "{\"level\":1,\"reason\":\"解密\"}", NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    cr_assert_eq(oa("alice", NULL, "sync", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(oa("alice2", NULL, "sync", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(oa("alice", DEAD, args, out, sizeof(out)), 0, "not back in the first copy: %s", out);
    cr_assert_eq(oa("alice2", DEAD, args, out, sizeof(out)), 0, "not back in the second copy: %s", out);
    walk(alice, &c, d, got, sizeof(got));
    cr_assert_str_eq(got, "d");
    /* Raised once more: the row held again is revoked again, on both. */
    r = http_json(&srv, "POST", path, sec_t, "{\"level\":2,\"reason\":\"再次升密\"}", NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    cr_assert_eq(oa("alice2", NULL, "sync", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(oa("alice", NULL, "sync", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(oa("alice", DEAD, args, out, sizeof(out)), 4, "still in the first copy: %s", out);
    cr_assert_eq(oa("alice2", DEAD, args, out, sizeof(out)), 4, "still in the second copy: %s", out);
}

/*
 * The same for a revocation by a change of the account (a lowered
 * clearance), decided at the account's change by whichever client's page
 * meets it first: two clients with their own cursors, over the protocol
 * (the clearance change ends the sessions; the cursors are the clients').
 */
Test(sync, a_lowered_clearance_is_revoked_on_every_client_of_the_user)
{
    long long d = new_doc(bob, "鲍勃两端", 1), e = new_doc(bob, "鲍勃公开", 0);
    char ta[128], tb[128], got[16];
    cr_assert_eq(login(&srv, "bob", "Office-Pass-B-9x", ta, sizeof(ta)), 201);
    cr_assert_eq(login(&srv, "bob", "Office-Pass-B-9x", tb, sizeof(tb)), 201);
    long long ca = 0, cb = 0, cc = 0;
    walk(ta, &ca, d, got, sizeof(got));
    cr_assert_str_eq(got, "d");
    walk(tb, &cb, d, got, sizeof(got));
    cr_assert_str_eq(got, "d");
    char path[96];
    snprintf(path, sizeof(path), "/v1/users/%lld/clearance", bob_id);
    struct resp r = http_json(&srv, "PUT", path, sec_t, "{\"clearance\":0}", "If-Match: *\r\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    /* Some change after the account's, so that a page is not just the account's change. */
    snprintf(path, sizeof(path), "/v1/documents/%lld", e);
    r = http_json(&srv, "PATCH", path, bob, "{\"note\":\"later\"}", "If-Match: *\r\n");
    resp_free(&r);
    cr_assert_eq(login(&srv, "bob", "Office-Pass-B-9x", ta, sizeof(ta)), 201);
    cr_assert_eq(login(&srv, "bob", "Office-Pass-B-9x", tb, sizeof(tb)), 201);
    walk(ta, &ca, d, got, sizeof(got));
    cr_assert_str_eq(got, "r", "the first client");
    walk(tb, &cb, d, got, sizeof(got));
    cr_assert_str_eq(got, "r", "the second client was not told");
    walk(ta, &ca, d, got, sizeof(got));
    cr_assert_str_eq(got, "", "nothing new for the first client");
    walk(tb, &cb, d, got, sizeof(got));
    cr_assert_str_eq(got, "", "nothing new for the second client");
    /* A third client from 0: no record, a revoke. */
    walk(ta, &cc, d, got, sizeof(got));
    cr_assert_str_eq(got, "r");
}

Test(sync, documents_above_the_cache_policy_never_reach_the_disk)
{
    char out[8192], args[256];
    const char *marker = "SECRET-MARKER-5c1e";
    char body[256];
    snprintf(body, sizeof(body), "{\"kind\":\"outgoing\",\"title\":\"%s\",\"level\":2,\"body\":\"%s\"}", marker, marker);
    struct resp r = http_json(&srv, "POST", "/v1/documents", bob, body, NULL);
    json_t *j = ok_json(&r, 201);
    long long d = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    cr_assert_eq(oa("bob", NULL, "login bob", out, sizeof(out)), 0, "%s", out);
    snprintf(args, sizeof(args), "show %lld", d);
    cr_assert_eq(oa("bob", NULL, args, out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, marker), "%s", out);
    cr_assert_eq(oa("bob", DEAD, args, out, sizeof(out)), 4, "a 秘密 document is in the copy: %s", out);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "grep -rqa %s %s/bob", marker, tmp);
    cr_assert_neq(system(cmd), 0, "the marker is on the client's disk");
    /* The session and the copy are private, and logout forgets both. */
    struct stat st;
    char p[400];
    snprintf(p, sizeof(p), "%s/bob/.config/oa/session", tmp);
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 077, 0);
    cr_assert_eq(oa("bob", NULL, "logout", out, sizeof(out)), 0, "%s", out);
    cr_assert_neq(stat(p, &st), 0);
    snprintf(p, sizeof(p), "%s/bob/.local/share/oa/cache.db", tmp);
    cr_assert_neq(stat(p, &st), 0);
    cr_assert_eq(oa("bob", NULL, "todo", out, sizeof(out)), 5, "%s", out);
}

Test(sync, an_independent_decoder_reads_every_message_type)
{
    long long d = new_doc(alice, "python", 1);
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 tests/integration/sync_cbor_check.py %s %s %lld 2>&1", base, alice, d);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = 0;
    int st = pclose(p);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
    cr_assert(strstr(out, "ok:"), "%s", out);
}

static struct resp push_raw(const void *body, size_t len)
{
    char h[300];
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nAccept: application/json\r\n", alice);
    return http_do(&srv, "POST", "/v1/sync/push", "application/cbor", body, len, h);
}

Test(sync, bad_messages_get_clear_errors_and_change_nothing)
{
    long long d = new_doc(alice, "untouched", 1);
    struct resp r = push_raw("\xff\x00garbage", 9);
    cr_assert_eq(r.status, 400);
    cr_assert(strstr(r.body, "bad_body"), "%s", r.body);
    resp_free(&r);
    /* truncated: a map of 3 with one pair */
    r = push_raw("\xa3\x00\x01", 3);
    cr_assert_eq(r.status, 400, "%s", r.body);
    resp_free(&r);
    /* a version from the future */
    r = push_raw("\xa3\x00\x02\x01\x64push\x02\x80", 11);
    cr_assert_eq(r.status, 400);
    cr_assert(strstr(r.body, "unsupported_version"), "%s", r.body);
    resp_free(&r);
    /* ops that are not an array */
    r = push_raw("\xa3\x00\x01\x01\x64push\x02\x01", 11);
    cr_assert_eq(r.status, 400);
    cr_assert(strstr(r.body, "bad_field"), "%s", r.body);
    resp_free(&r);
    /* oversized */
    int fd = http_connect(&srv);
    char head[512];
    int hn = snprintf(head, sizeof(head), "POST /v1/sync/push HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                                          "Content-Type: application/cbor\r\nContent-Length: %u\r\n\r\n",
                      alice, 9u * 1024 * 1024);
    cr_assert(http_send(fd, head, (size_t)hn));
    r = (struct resp){0};
    cr_assert(http_read(fd, &r, 5000));
    cr_assert_eq(r.status, 413, "%d", r.status);
    resp_free(&r);
    http_close(fd);
    /* deeply nested */
    char deep[200];
    memset(deep, 0x81, sizeof(deep));
    deep[199] = 0;
    r = push_raw(deep, sizeof(deep));
    cr_assert_eq(r.status, 400, "%s", r.body);
    resp_free(&r);
    /* the feed: a wrong version, a bad limit */
    char h[300];
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nAccept: application/json\r\n", alice);
    r = http_do(&srv, "GET", "/v1/sync/changes?v=2", NULL, NULL, 0, h);
    cr_assert(r.status == 400 && strstr(r.body, "unsupported_version"), "%s", r.body);
    resp_free(&r);
    r = http_do(&srv, "GET", "/v1/sync/changes?v=1&limit=0", NULL, NULL, 0, h);
    cr_assert(r.status == 400 && strstr(r.body, "limit"), "%s", r.body);
    resp_free(&r);
    /* nothing changed */
    char path[64];
    snprintf(path, sizeof(path), "/v1/documents/%lld", d);
    r = http_json(&srv, "GET", path, alice, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "revision")), 1);
    json_decref(j);
}

Test(sync, a_long_poll_wakes_on_a_change)
{
    cbor_item_t *p = feed(alice, 0, 1000);
    uint64_t head = 0;
    oa_sync_uint(p, OA_CH_NEXT, &head);
    cbor_decref(&p);
    int fd = http_connect(&srv);
    char req[512];
    int n = snprintf(req, sizeof(req), "GET /v1/sync/changes?v=1&since=%llu&wait=20 HTTP/1.1\r\nHost: t\r\n"
                                       "Authorization: Bearer %s\r\nAccept: application/cbor\r\n\r\n",
                     (unsigned long long)head, alice);
    cr_assert(http_send(fd, req, (size_t)n));
    usleep(300000);
    long long d = new_doc(alice, "wake up", 0);
    struct resp r = {0};
    cr_assert(http_read(fd, &r, 5000), "the long poll did not wake");
    cr_assert_eq(r.status, 200);
    cbor_item_t *it = NULL;
    cr_assert_eq(pv_decode_cbor(r.body, r.body_len, &it, NULL, 0), OA_E_OK);
    const cbor_item_t *e = oa_sync_get(it, OA_CH_ENTRIES);
    uint64_t doc = 0;
    cr_assert(cbor_array_size(e) == 1 && oa_sync_uint(cbor_array_handle(e)[0], OA_E_DOC, &doc) && (long long)doc == d);
    cbor_decref(&it);
    resp_free(&r);
    http_close(fd);
}

/* (Uploads broken off at random points and resumed: blobs_test.c.) */
Test(sync, a_client_attaches_and_gets_a_file_byte_identical)
{
    char out[8192], args[600], file[300], got[320];
    long long d = new_doc(alice, "带附件", 1);
    cr_assert_eq(oa("alice", NULL, "login alice", out, sizeof(out)), 0, "%s", out);
    snprintf(file, sizeof(file), "%s/report.bin", tmp);
    FILE *f = fopen(file, "wb");
    for (int i = 0; i < 3000000; i++)
        fputc((int)(((unsigned)i * 7919u) % 251u), f);
    fclose(f);
    snprintf(args, sizeof(args), "attach %lld %s", d, file);
    cr_assert_eq(oa("alice", NULL, args, out, sizeof(out)), 0, "%s", out);
    long long att = 0;
    char *p = strstr(out, "attachment ");
    cr_assert(p && sscanf(p, "attachment %lld", &att) == 1, "%s", out);
    snprintf(got, sizeof(got), "%s/got.bin", tmp);
    snprintf(args, sizeof(args), "get %lld %lld -o %s", d, att, got);
    cr_assert_eq(oa("alice", NULL, args, out, sizeof(out)), 0, "%s", out);
    char cmd[800];
    snprintf(cmd, sizeof(cmd), "cmp -s %s %s", file, got);
    cr_assert_eq(system(cmd), 0, "the downloaded file differs");
    /* Attached offline: queued, and uploaded by the next sync. */
    snprintf(args, sizeof(args), "attach %lld %s", d, file);
    cr_assert_eq(oa("alice", DEAD, args, out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "queued"), "%s", out);
    cr_assert_eq(oa("alice", NULL, "sync", out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "1 pushed"), "%s", out);
    char path[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments", d);
    struct resp r = http_json(&srv, "GET", path, alice, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    cr_assert_eq(json_array_size(json_object_get(j, "attachments")), 2);
    json_decref(j);
}

/* ---- the audit trail stays gap-free whatever a push rolls back (#13 item 2) ---- */

/* One pushed operation: an edit of the title, or an action. */
static cbor_item_t *push_op(const char *op_id, bool act, long long doc, long long base_rev, const char *what)
{
    cbor_item_t *op = oa_sync_map(6);
    oa_sync_put_text(op, 0, op_id);
    oa_sync_put_text(op, 1, act ? "act" : "edit");
    oa_sync_put_uint(op, 2, (uint64_t)doc);
    oa_sync_put_uint(op, 3, (uint64_t)base_rev);
    if (act) {
        oa_sync_put_text(op, 5, what);
        oa_sync_put_text(op, 6, "同意");
    } else {
        cbor_item_t *f = pv_map(1);
        pv_put_text(f, "title", what);
        oa_sync_put(op, 4, f);
    }
    return op;
}

/* An edit of arbitrary fields (the map is moved into the op). */
static cbor_item_t *push_op_fields(const char *op_id, long long doc, long long base_rev, cbor_item_t *fields)
{
    cbor_item_t *op = oa_sync_map(5);
    oa_sync_put_text(op, 0, op_id);
    oa_sync_put_text(op, 1, "edit");
    oa_sync_put_uint(op, 2, (uint64_t)doc);
    oa_sync_put_uint(op, 3, (uint64_t)base_rev);
    oa_sync_put(op, 4, fields);
    return op;
}

/* Pushes the ops as the token's user; returns the outcomes joined by spaces. */
static void push_ops_as(const char *token, cbor_item_t **ops, size_t n, char *outcomes, size_t cap)
{
    cbor_item_t *msg = oa_sync_message("push", 3);
    cbor_item_t *arr = pv_array(n);
    for (size_t i = 0; i < n; i++)
        pv_push(arr, ops[i]);
    oa_sync_put(msg, 2, arr);
    size_t len = 0;
    unsigned char *body = pv_encode_cbor(msg, &len);
    cbor_decref(&msg);
    char h[300];
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nAccept: application/cbor\r\n", token);
    struct resp r = http_do(&srv, "POST", "/v1/sync/push", "application/cbor", body, len, h);
    free(body);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cbor_item_t *it = NULL;
    cr_assert_eq(pv_decode_cbor(r.body, r.body_len, &it, NULL, 0), OA_E_OK);
    resp_free(&r);
    const cbor_item_t *res = oa_sync_get(it, 2);
    cr_assert(res && cbor_isa_array(res));
    outcomes[0] = 0;
    for (size_t i = 0; i < cbor_array_size(res); i++) {
        char o[32] = "";
        cbor_item_t *ri = cbor_array_get(res, i);
        oa_sync_text(ri, 1, o, sizeof(o));
        cbor_decref(&ri);
        snprintf(outcomes + strlen(outcomes), cap - strlen(outcomes), "%s%s", i ? " " : "", o);
    }
    cbor_decref(&it);
}

static void push_ops(cbor_item_t **ops, size_t n, char *outcomes, size_t cap)
{
    push_ops_as(alice, ops, n, outcomes, cap);
}

static long long doc_revision_as(const char *token, long long id)
{
    char path[64];
    snprintf(path, sizeof(path), "/v1/documents/%lld", id);
    struct resp r = http_json(&srv, "GET", path, token, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    long long rev = json_integer_value(json_object_get(j, "revision"));
    json_decref(j);
    return rev;
}

/* The highest audit entry id and the signed checkpoint's size, read from the database file. */
static void audit_sizes(long long *entries, long long *checkpoint)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/oa.db", srv.dir);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db,
                     "SELECT (SELECT coalesce(max(id),0) FROM audit_log),"
                     " (SELECT coalesce(max(tree_size),0) FROM audit_checkpoints)", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    *entries = sqlite3_column_int64(st, 0);
    *checkpoint = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static int audit_verify(char *out, size_t n)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "server/oad audit verify --data %s", srv.dir);
    return run_capture(cmd, out, n);
}

Test(sync, pushes_that_mix_outcomes_leave_a_gap_free_trail_that_verifies)
{
    char outcomes[128], out[4096], id[32];
    for (int round = 0; round < 3; round++) {
        long long d = new_doc(alice, "混合推送", 1);
        long long rev = doc_revision_as(alice, d);
        /* applied, then refused (a drafter may not sign, and the draft is not
         * at sign-off), then a conflict (a stale base), then applied again. */
        cbor_item_t *ops[4];
        snprintf(id, sizeof(id), "mix-%d-a", round);
        ops[0] = push_op(id, false, d, rev, "第一次修改");
        snprintf(id, sizeof(id), "mix-%d-b", round);
        ops[1] = push_op(id, true, d, rev + 1, "sign");
        snprintf(id, sizeof(id), "mix-%d-c", round);
        ops[2] = push_op(id, false, d, rev, "过时的修改");
        snprintf(id, sizeof(id), "mix-%d-d", round);
        ops[3] = push_op(id, false, d, rev + 1, "第二次修改");
        push_ops(ops, 4, outcomes, sizeof(outcomes));
        cr_assert_str_eq(outcomes, "applied refused conflict applied");
        new_doc(alice, "之后的文件", 1);
        if (round == 1) {
            /* A crash between pushes: everything acknowledged stays, ids go on from the last row. */
            kill(srv.pid, SIGKILL);
            cr_assert_eq(oad_wait(&srv, 5000), 128 + SIGKILL, "oad did not die of SIGKILL");
            oad_serve(&srv, NULL);
            login(&srv, "alice", "Office-Pass-A-9x", alice, sizeof(alice));
        }
    }
    /* New entries are under a signed checkpoint within about a second. */
    long long entries = 0, cp = 0;
    for (int i = 0; i < 40; i++) {
        audit_sizes(&entries, &cp);
        if (cp == entries)
            break;
        usleep(100 * 1000);
    }
    cr_assert_eq(cp, entries, "the checkpoint covers %lld of %lld entries", cp, entries);
    /* The untouched trail verifies, while oad runs and after it stopped. */
    cr_assert_eq(audit_verify(out, sizeof(out)), 0, "%s", out);
    oad_stop(&srv);
    cr_assert_eq(audit_verify(out, sizeof(out)), 0, "%s", out);
    oad_serve(&srv, NULL);
    login(&srv, "alice", "Office-Pass-A-9x", alice, sizeof(alice));
}

/* #13 item 4: a pushed edit of a field that is not the caller's, unknown, or a
 * lowering of the label is refused and changes nothing; never "applied". */
Test(sync, pushed_edits_that_cannot_apply_are_refused_not_applied)
{
    char outcomes[128];
    long long d = new_doc(bob, "秘密件", 2);
    long long rev = doc_revision_as(bob, d);
    cbor_item_t *ops[4];
    cbor_item_t *f = pv_map(1);
    pv_put_int(f, "level", 1); /* a lowering: declassification is not an edit */
    ops[0] = push_op_fields("low-1", d, rev, f);
    f = pv_map(1);
    pv_put_text(f, "urgency", "whenever"); /* not one of the three */
    ops[1] = push_op_fields("low-2", d, rev, f);
    f = pv_map(1);
    pv_put_text(f, "clearance", "4"); /* not a document field at all */
    ops[2] = push_op_fields("low-3", d, rev, f);
    f = pv_map(1);
    pv_put_text(f, "kind", "incoming"); /* fixed at creation */
    ops[3] = push_op_fields("low-4", d, rev, f);
    push_ops_as(bob, ops, 4, outcomes, sizeof(outcomes));
    cr_assert_str_eq(outcomes, "refused refused refused refused");
    cr_assert_eq(doc_revision_as(bob, d), rev, "a refused edit changed the document");
}

/* #13 item 5: `oa new --level` takes the names in Chinese and English and the
 * digits, and refuses anything else instead of filing it as 公开. */
Test(sync, oa_new_takes_level_names_and_refuses_the_rest)
{
    char out[4096];
    cr_assert_eq(oa("bob", NULL, "login bob", out, sizeof(out)), 0, "%s", out);
    const char *given[] = {"秘密", "secret", "2", "内部", "Internal", "1"};
    const int want[] = {2, 2, 2, 1, 1, 1};
    for (int i = 0; i < 6; i++) {
        char args[128];
        snprintf(args, sizeof(args), "--json new --title 级别%d --level %s", i, given[i]);
        cr_assert_eq(oa("bob", NULL, args, out, sizeof(out)), 0, "%s: %s", given[i], out);
        json_t *j = json_loads(out, 0, NULL);
        cr_assert_not_null(j, "%s", out);
        json_t *lv = json_object_get(j, "level");
        if (lv == NULL)
            lv = json_object_get(json_object_get(j, "document"), "level");
        cr_assert_eq(json_integer_value(lv), want[i], "--level %s made level %lld: %s", given[i],
                     (long long)json_integer_value(lv), out);
        json_decref(j);
    }
    const char *bad[] = {"mimi", "5", "-1", "秘", ""};
    for (int i = 0; i < 5; i++) {
        char args[128];
        snprintf(args, sizeof(args), "new --title 坏级别 --level '%s'", bad[i]);
        cr_assert_eq(oa("bob", NULL, args, out, sizeof(out)), 2, "--level '%s': %s", bad[i], out);
        cr_assert(strstr(out, "--level must be"), "%s", out);
    }
}
