/*
 * tests/integration/feed_test.c: a sync feed page's document records say
 * what the document routes say (#14: the page is read in one statement, its
 * to-do and seen flags, bodies and drafters' names with it, no longer one
 * lookup per document): the to-do flag of every record is whether the
 * document is on the caller's to-do list (GET /v1/documents?view=todo), the
 * drafter is the drafter's username, the body is there exactly when the
 * record is cacheable and is the document's body, a document the caller
 * may no longer see is revoked, and a lowered clearance revokes exactly
 * what the caller's clients hold and may no longer see.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sync.h"
#include "proto/value.h"
#include "tests/integration/harness.h"

static struct oad srv;
static char sys_t[128], sec_t[128], alice[128], bob[128];
static long long bob_id;

static long long new_doc(const char *token, const char *title, int level)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"kind\":\"outgoing\",\"title\":\"%s\",\"level\":%d,\"body\":\"正文 %s\"}", title,
             level, title);
    struct resp r = http_json(&srv, "POST", "/v1/documents", token, body, NULL);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static void setup(void)
{
    oad_start(&srv, NULL);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys_t, sizeof(sys_t));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", sec_t, sizeof(sec_t));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys_t, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/departments", sys_t, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    resp_free(&r);
    make_person(&srv, sys_t, sec_t, "alice", "[\"staff\"]", 1, "Office-Pass-A-9x", alice, sizeof(alice));
    bob_id = make_person(&srv, sys_t, sec_t, "bob", "[\"staff\"]", 2, "Office-Pass-B-9x", bob, sizeof(bob));
}

static void teardown(void)
{
    oad_stop(&srv);
}

TestSuite(feed, .init = setup, .fini = teardown);

/* One page of the feed, decoded with the shared codec. */
static cbor_item_t *feed(const char *token, long long since, int limit)
{
    char path[128], h[300];
    snprintf(path, sizeof(path), "/v1/sync/changes?v=1&since=%lld&limit=%d", since, limit);
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nAccept: application/cbor\r\n", token);
    struct resp r = http_do(&srv, "GET", path, NULL, NULL, 0, h);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cbor_item_t *it = NULL;
    cr_assert_eq(pv_decode_cbor(r.body, r.body_len, &it, NULL, 0), OA_E_OK);
    resp_free(&r);
    bool badv;
    cr_assert_null(oa_sync_check(it, "changes", &badv));
    return it;
}

/* The JSON answer of GET path as token. */
static json_t *get(const char *token, const char *path)
{
    struct resp r = http_json(&srv, "GET", path, token, NULL, NULL);
    return ok_json(&r, 200);
}

/* Whether document id is on the caller's to-do list. */
static bool on_todo_list(json_t *todo, long long id)
{
    json_t *docs = json_object_get(todo, "documents");
    for (size_t i = 0; i < json_array_size(docs); i++)
        if (json_integer_value(json_object_get(json_array_get(docs, i), "id")) == id)
            return true;
    return false;
}

Test(feed, records_say_what_the_document_routes_say)
{
    long long mine[3], theirs[3];
    for (int i = 0; i < 3; i++) {
        char t[32];
        snprintf(t, sizeof(t), "bob-%d", i);
        mine[i] = new_doc(bob, t, i);
        snprintf(t, sizeof(t), "alice-%d", i);
        theirs[i] = new_doc(alice, t, i % 2);
    }
    json_t *todo = get(bob, "/v1/documents?view=todo&limit=200");
    cbor_item_t *p = feed(bob, 0, 100);
    const cbor_item_t *e = oa_sync_get(p, OA_CH_ENTRIES);
    int docs = 0, todo_yes = 0, todo_no = 0, bodies = 0, kept_back = 0;
    for (size_t i = 0; i < cbor_array_size(e); i++) {
        const cbor_item_t *en = cbor_array_handle(e)[i], *rec = oa_sync_get(en, OA_E_RECORD);
        char kind[16];
        cr_assert(oa_sync_text(en, OA_E_KIND, kind, sizeof(kind)));
        cr_assert_str_eq(kind, "doc");
        cr_assert_not_null(rec);
        uint64_t id = 0, level = 0;
        bool in_todo = false, cacheable = false;
        cr_assert(oa_sync_uint(rec, OA_D_ID, &id) && oa_sync_uint(rec, OA_D_LEVEL, &level));
        cr_assert(oa_sync_bool(rec, OA_D_TODO, &in_todo) && oa_sync_bool(rec, OA_D_CACHEABLE, &cacheable));
        cr_assert_eq(in_todo, on_todo_list(todo, (long long)id), "document %llu: todo flag %d, the list says not",
                     (unsigned long long)id, in_todo);
        in_todo ? todo_yes++ : todo_no++;
        char path[64], drafter[80], title[64], body[160], want[200];
        snprintf(path, sizeof(path), "/v1/documents/%llu", (unsigned long long)id);
        json_t *d = get(bob, path);
        cr_assert(oa_sync_text(rec, OA_D_DRAFTER, drafter, sizeof(drafter)));
        cr_assert(oa_sync_text(rec, OA_D_TITLE, title, sizeof(title)));
        cr_assert_str_eq(drafter, strncmp(title, "bob", 3) == 0 ? "bob" : "alice");
        cr_assert_str_eq(title, json_string_value(json_object_get(d, "title")));
        cr_assert_eq((long long)level, json_integer_value(json_object_get(d, "level")));
        bool has_body = oa_sync_get(rec, OA_D_BODY) != NULL;
        cr_assert_eq(has_body, cacheable, "document %llu: a body %s, cacheable %d", (unsigned long long)id,
                     has_body ? "sent" : "missing", cacheable);
        if (has_body) {
            cr_assert(oa_sync_text(rec, OA_D_BODY, body, sizeof(body)));
            snprintf(want, sizeof(want), "正文 %s", title);
            cr_assert_str_eq(body, want);
            cr_assert_str_eq(body, json_string_value(json_object_get(d, "body")));
            bodies++;
        } else {
            kept_back++;
        }
        json_decref(d);
        docs++;
    }
    cr_assert_eq(docs, 6);
    cr_assert(todo_yes > 0 && todo_no > 0, "to-do flags: %d set, %d not: the test shows nothing", todo_yes, todo_no);
    cr_assert(bodies > 0 && kept_back > 0, "bodies: %d sent, %d kept back", bodies, kept_back);
    uint64_t next = 0;
    cr_assert(oa_sync_uint(p, OA_CH_NEXT, &next));
    cbor_decref(&p);
    json_decref(todo);

    /* bob's clients now hold all six: a label raised above his clearance revokes one, and only that one. */
    char path[64];
    snprintf(path, sizeof(path), "/v1/documents/%lld/label", mine[2]);
    struct resp r = http_json(&srv, "POST", path, sec_t, "{\"level\":3,\"reason\":\"升密\"}", NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    /* an edit of one of alice's: sent again, with its new revision */
    snprintf(path, sizeof(path), "/v1/documents/%lld", theirs[0]);
    r = http_json(&srv, "PATCH", path, alice, "{\"note\":\"again\"}", "If-Match: *\r\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    p = feed(bob, (long long)next, 100);
    e = oa_sync_get(p, OA_CH_ENTRIES);
    cr_assert_eq(cbor_array_size(e), 2);
    for (size_t i = 0; i < 2; i++) {
        const cbor_item_t *en = cbor_array_handle(e)[i];
        char kind[16];
        uint64_t doc = 0;
        cr_assert(oa_sync_text(en, OA_E_KIND, kind, sizeof(kind)) && oa_sync_uint(en, OA_E_DOC, &doc));
        if ((long long)doc == mine[2])
            cr_assert_str_eq(kind, "revoke");
        else
            cr_assert(strcmp(kind, "doc") == 0 && (long long)doc == theirs[0], "%s %llu", kind,
                      (unsigned long long)doc);
    }
    cr_assert(oa_sync_uint(p, OA_CH_NEXT, &next));
    cbor_decref(&p);

    /* bob's clearance lowered to 内部: his next page re-decides all he holds and revokes his 秘密 and 内部 ones. */
    snprintf(path, sizeof(path), "/v1/users/%lld/clearance", bob_id);
    r = http_json(&srv, "PUT", path, sec_t, "{\"clearance\":0}", "If-Match: *\r\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    cr_assert_eq(login(&srv, "bob", "Office-Pass-B-9x", bob, sizeof(bob)), 201);
    p = feed(bob, (long long)next, 100);
    e = oa_sync_get(p, OA_CH_ENTRIES);
    bool revoked[2] = {false, false};
    for (size_t i = 0; i < cbor_array_size(e); i++) {
        const cbor_item_t *en = cbor_array_handle(e)[i];
        char kind[16];
        uint64_t doc = 0;
        cr_assert(oa_sync_text(en, OA_E_KIND, kind, sizeof(kind)) && oa_sync_uint(en, OA_E_DOC, &doc));
        cr_assert_str_eq(kind, "revoke", "document %llu", (unsigned long long)doc);
        cr_assert((long long)doc == mine[1] || (long long)doc == theirs[1], "document %llu revoked",
                  (unsigned long long)doc);
        revoked[(long long)doc == theirs[1]] = true;
    }
    cr_assert(revoked[0] && revoked[1] && cbor_array_size(e) == 2, "%zu entries", cbor_array_size(e));
    cbor_decref(&p);
}
