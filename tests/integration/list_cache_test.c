/*
 * tests/integration/list_cache_test.c: the CBOR list pages take their items
 * from each reader's cache (storage/doc_items.h, #14), against the real oad
 * with two readers.  A page served from the cache is the page a server with
 * an empty cache gives (the oracle: the same data directory after a
 * restart), and an edit, a new scope or a new level shows on the very next
 * page, from either reader: a stale item is never served.  The erase's new
 * revision is tests/storage/doc_items_test.c's.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness.h"

static struct oad srv;
static char sys[128], secadm[128], clerk[128];
static const char *const extra[] = {"storage.readers=2", NULL};

static long long create_doc(int level, const char *title)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"kind\":\"outgoing\",\"title\":\"%s\",\"level\":%d,\"body\":\"text\"}", title,
             level);
    struct resp r = http_json(&srv, "POST", "/v1/documents", clerk, body, NULL);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static void setup(void)
{
    oad_start(&srv, extra);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", secadm, sizeof(secadm));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    json_decref(ok_json(&r, 201));
    r = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    json_decref(ok_json(&r, 201));
    make_person(&srv, sys, secadm, "clerk", "[\"staff\"]", 2, "Office-Pass-L-9x", clerk, sizeof(clerk));
}

static void teardown(void)
{
    oad_stop(&srv);
}

TestSuite(list_cache, .init = setup, .fini = teardown);

/* The clerk's page of `query` as CBOR: its bytes (the caller frees) and their count. */
static char *page(const char *query, size_t *len)
{
    char path[128], headers[256];
    snprintf(path, sizeof(path), "/v1/documents?%s", query);
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\nAccept: application/cbor\r\n", clerk);
    struct resp r = http_do(&srv, "GET", path, NULL, NULL, 0, headers);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    cr_assert(strstr(r.content_type, "cbor"), "%s", r.content_type);
    char *p = r.body;
    *len = r.body_len;
    r.body = NULL;
    resp_free(&r);
    return p;
}

static bool holds(const char *p, size_t n, const char *text)
{
    return memmem(p, n, text, strlen(text)) != NULL;
}

/* Asks for the page often enough that both readers serve it (from their caches after the first); all alike. */
static char *steady_page(const char *query, size_t *len)
{
    char *first = page(query, len);
    for (int i = 0; i < 8; i++) {
        size_t n = 0;
        char *again = page(query, &n);
        cr_assert(n == *len && memcmp(again, first, n) == 0, "page %d of %s differs from the first", i + 2, query);
        free(again);
    }
    return first;
}

static void post_ok(const char *token, const char *method, const char *path, const char *json, const char *headers)
{
    struct resp r = http_json(&srv, method, path, token, json, headers);
    cr_assert_eq(r.status, 200, "%s %s: %d %s", method, path, r.status, r.body);
    resp_free(&r);
}

Test(list_cache, a_changed_document_is_never_listed_as_it_was)
{
    long long a = create_doc(0, "alpha-before"), b = create_doc(1, "bravo-doc"), c = create_doc(2, "charlie-doc");
    size_t n = 0;
    char *p = steady_page("view=all", &n);
    cr_assert(holds(p, n, "alpha-before") && holds(p, n, "bravo-doc") && holds(p, n, "charlie-doc"));
    cr_assert(!holds(p, n, "user:clerk"));
    free(p);

    /* An edit (a new revision). */
    char path[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld", a);
    post_ok(clerk, "PATCH", path, "{\"title\":\"alpha-after!\"}", "If-Match: *\r\n");
    for (int i = 0; i < 6; i++) {
        p = page("view=all", &n);
        cr_assert(holds(p, n, "alpha-after!") && !holds(p, n, "alpha-before"), "page %d: the old title", i);
        free(p);
    }

    /* A new scope (the label's MAC), by secadmin. */
    snprintf(path, sizeof(path), "/v1/documents/%lld/label", b);
    post_ok(secadm, "POST", path, "{\"scope\":[\"user:clerk\"],\"reason\":\"限定知悉范围\"}", NULL);
    for (int i = 0; i < 6; i++) {
        p = page("view=all", &n);
        cr_assert(holds(p, n, "user:clerk"), "page %d: the old scope", i);
        free(p);
    }

    p = page("view=todo", &n);
    cr_assert(holds(p, n, "user:clerk") && holds(p, n, "alpha-after!"), "the to-do page is stale");
    free(p);

    /* A new level. */
    snprintf(path, sizeof(path), "/v1/documents/%lld/label", c);
    post_ok(secadm, "POST", path, "{\"level\":1,\"reason\":\"经审查降为内部\"}", NULL);
    char *cached = steady_page("view=all", &n);

    /* The oracle: the same data with every reader's cache empty. */
    cr_assert_eq(oad_stop(&srv), 0);
    oad_serve(&srv, extra);
    size_t fn = 0;
    char *fresh = page("view=all", &fn);
    cr_assert(fn == n && memcmp(fresh, cached, n) == 0, "the cached page is not the page of an empty cache");
    free(fresh);
    free(cached);
}

Test(list_cache, pages_and_cursors_from_the_cache_match_a_fresh_server)
{
    for (int i = 0; i < 12; i++) {
        char title[32];
        snprintf(title, sizeof(title), "doc-%02d", i);
        create_doc(i % 3, title);
    }
    size_t n1 = 0, n2 = 0;
    char *first = steady_page("view=all&limit=5", &n1);
    char *todo = steady_page("view=todo&limit=50", &n2);
    cr_assert(holds(todo, n2, "doc-00") && holds(todo, n2, "doc-11"), "the drafts are not in their drafter's to-do list");
    cr_assert_eq(oad_stop(&srv), 0);
    oad_serve(&srv, extra);
    size_t f1 = 0, f2 = 0;
    char *fresh1 = page("view=all&limit=5", &f1), *fresh2 = page("view=todo&limit=50", &f2);
    cr_assert(f1 == n1 && memcmp(fresh1, first, n1) == 0);
    cr_assert(f2 == n2 && memcmp(fresh2, todo, n2) == 0);
    free(first);
    free(todo);
    free(fresh1);
    free(fresh2);
}
