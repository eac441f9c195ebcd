/*
 * tests/integration/doc_labels_test.c: labels through the real oad: what a
 * caller below a document's label never sees, on any route, list or cursor;
 * need-to-know scope, relabelling, review of expired labels, named
 * declassifiers, and the whole label on incoming copies.  The office is
 * doc_office.c's.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/doc_office.h"

TestSuite(doc_labels, .init = setup_office);

Test(doc_labels, labels_hide_documents_above_clearance_everywhere)
{
    long long id = create_doc(SEC, "outgoing", "机密级文件标题", 3);
    /* low holds 内部 (1): the document does not exist for them. */
    json_t *d = get_doc(LOW, id, 404);
    cr_assert_null(d);
    cr_assert(!list_has(LOW, "view=all", id));
    cr_assert(!list_has(LOW, "q=%E6%9C%BA%E5%AF%86%E7%BA%A7", id)); /* 机密级 */
    cr_assert(list_has(SEC, "q=%E6%9C%BA%E5%AF%86%E7%BA%A7", id));
    struct resp r = act(LOW, id, "comment", "看看", NULL);
    cr_assert_eq(r.status, 404);
    resp_free(&r);
    char path[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld/history", id);
    r = http_json(&srv, "GET", path, people[LOW].token, NULL, NULL);
    cr_assert_eq(r.status, 404);
    resp_free(&r);
    /* The administrators handle no documents. */
    snprintf(path, sizeof(path), "/v1/documents/%lld", id);
    r = http_json(&srv, "GET", path, sys, NULL, NULL);
    cr_assert_eq(r.status, 404);
    resp_free(&r);
    /* Nobody creates above their own clearance. */
    r = http_json(&srv, "POST", "/v1/documents", people[LOW].token, "{\"kind\":\"outgoing\",\"title\":\"x\",\"level\":2}", NULL);
    cr_assert_eq(r.status, 403);
    resp_free(&r);
    cr_assert(db_count("SELECT count(*) FROM audit_log WHERE outcome = 'refused' AND doc_id IS NOT NULL AND label = 3") >= 4);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(doc_labels, scope_relabelling_and_review_of_expired_labels)
{
    /* A 秘密 document scoped to the education department and the mayor by name. */
    struct resp r = http_json(&srv, "POST", "/v1/documents", people[EDU].token,
                              "{\"kind\":\"outgoing\",\"title\":\"招生计划（秘密）\",\"level\":2,"
                              "\"scope\":[\"dept:3\",\"user:mayor\"],\"declass_date\":\"2020-01-01\"}", NULL);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    cr_assert_eq(json_array_size(json_object_get(j, "scope")), 2);
    json_decref(j);
    /* Cleared but outside the scope: it does not exist for them, anywhere. */
    json_decref(get_doc(MAYOR, id, 200));
    cr_assert_null(get_doc(DRAFTER, id, 404));
    cr_assert(!list_has(DRAFTER, "view=all", id));
    cr_assert(!list_has(DRAFTER, "q=%E6%8B%9B%E7%94%9F%E8%AE%A1%E5%88%92", id)); /* 招生计划 */
    cr_assert(list_has(EDU_STAFF, "view=all", id) == false); /* in the department, but only 内部 */
    char path[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld/revisions/1", id);
    r = http_json(&srv, "GET", path, people[DRAFTER].token, NULL, NULL);
    cr_assert_eq(r.status, 404);
    resp_free(&r);
    snprintf(path, sizeof(path), "/v1/documents/%lld", id);
    r = http_json(&srv, "PATCH", path, people[DRAFTER].token, "{\"title\":\"x\"}", "If-Match: *\r\n");
    cr_assert_eq(r.status, 404);
    resp_free(&r);
    /* A scope that leaves out its own author is refused. */
    r = http_json(&srv, "POST", "/v1/documents", people[EDU].token,
                  "{\"kind\":\"outgoing\",\"title\":\"x\",\"scope\":[\"user:mayor\"]}", NULL);
    cr_assert_eq(r.status, 400, "%s", r.body);
    resp_free(&r);
    /* The author may narrow the scope, not widen it. */
    r = http_json(&srv, "PATCH", path, people[EDU].token, "{\"scope\":[\"dept:3\",\"user:mayor\",\"user:drafter\"]}",
                  "If-Match: *\r\n");
    cr_assert_eq(r.status, 403, "%s", r.body);
    resp_free(&r);

    /* No write down: a reply derived from it cannot be 内部 or unscoped. */
    char body[256];
    snprintf(body, sizeof(body), "{\"kind\":\"outgoing\",\"title\":\"复函\",\"level\":1,\"derived_from\":%lld}", id);
    r = http_json(&srv, "POST", "/v1/documents", people[EDU].token, body, NULL);
    cr_assert_eq(r.status, 403, "%s", r.body);
    resp_free(&r);
    snprintf(body, sizeof(body), "{\"kind\":\"outgoing\",\"title\":\"复函\",\"derived_from\":%lld}", id);
    r = http_json(&srv, "POST", "/v1/documents", people[EDU].token, body, NULL);
    j = ok_json(&r, 201);
    cr_assert_eq(json_integer_value(json_object_get(j, "level")), 2, "the derivative did not inherit the level");
    cr_assert_eq(json_array_size(json_object_get(j, "scope")), 2);
    json_decref(j);

    /* Its declassification date has passed: listed for secadmin, never lowered silently. */
    r = http_json(&srv, "GET", "/v1/labels/expired", secadm, NULL, NULL);
    j = ok_json(&r, 200);
    bool listed = false;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(j, "documents"), i, d)
        if (json_integer_value(json_object_get(d, "id")) == id)
            listed = true;
    cr_assert(listed);
    json_decref(j);
    json_t *still = get_doc(EDU, id, 200);
    cr_assert_eq(json_integer_value(json_object_get(still, "level")), 2);
    json_decref(still);

    /* Only secadmin declassifies, with a reason; the step is recorded and audited. */
    snprintf(path, sizeof(path), "/v1/documents/%lld/label", id);
    r = http_json(&srv, "POST", path, people[EDU].token, "{\"level\":0,\"reason\":\"x\"}", NULL);
    cr_assert_eq(r.status, 403);
    resp_free(&r);
    r = http_json(&srv, "POST", path, sys, "{\"level\":0,\"reason\":\"x\"}", NULL);
    cr_assert_eq(r.status, 404, "sysadmin sees no documents, so none exists for them");
    resp_free(&r);
    r = http_json(&srv, "POST", path, secadm, "{\"level\":0}", NULL);
    cr_assert_eq(r.status, 400, "a declassification without a reason was accepted");
    resp_free(&r);
    r = http_json(&srv, "POST", path, secadm, "{\"level\":1,\"scope\":[],\"reason\":\"保密期满，经审查解密为内部\"}", NULL);
    j = ok_json(&r, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "level")), 1);
    cr_assert(json_object_get(j, "title") == NULL, "secadmin was shown the document's text");
    json_decref(j);
    json_decref(get_doc(LOW, id, 200));
    cr_assert(list_has(DRAFTER, "view=all", id));
    cr_assert_eq(db_count("SELECT count(*) FROM audit_log WHERE event = 'document.declassify' AND actor = 'secadmin'"), 1);
    cr_assert_eq(db_count("SELECT count(*) FROM audit_log WHERE event = 'document.relabel' AND outcome = 'refused'"), 2);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(doc_labels, a_named_declassifier_lowers_labels_of_documents_they_can_read)
{
    long long id = create_doc(MAYOR, "outgoing", "机密会议纪要", 3);
    char path[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld/label", id);
    struct resp r = http_json(&srv, "POST", path, people[MAYOR].token, "{\"level\":2,\"reason\":\"降密\"}", NULL);
    cr_assert_eq(r.status, 403, "%s", r.body);
    resp_free(&r);
    /* secadmin names the deputy a declassifier (keeping the clearance). */
    char cpath[96];
    snprintf(cpath, sizeof(cpath), "/v1/users/%lld/clearance", people[DEPUTY].id);
    r = http_json(&srv, "PUT", cpath, secadm, "{\"clearance\":4,\"declassifier\":true}", "If-Match: *\r\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "\"declassifier\":true"));
    resp_free(&r);
    cr_assert_eq(login(&srv, "deputy", "Xq7-office-pass-3", people[DEPUTY].token, sizeof(people[DEPUTY].token)), 201);
    r = http_json(&srv, "POST", path, people[DEPUTY].token, "{\"level\":2,\"reason\":\"经审查降为秘密\"}", NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    json_t *d = get_doc(DRAFTER, id, 200);
    cr_assert_eq(json_integer_value(json_object_get(d, "level")), 2);
    json_decref(d);
    cr_assert_eq(db_count("SELECT count(*) FROM audit_log WHERE event = 'document.declassify' AND actor = 'deputy'"), 1);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(doc_labels, incoming_copies_keep_the_whole_label)
{
    struct resp r = http_json(&srv, "POST", "/v1/documents", people[SEC].token,
                              "{\"kind\":\"outgoing\",\"title\":\"限定范围的通知\",\"level\":1,"
                              "\"scope\":[\"dept:1\",\"dept:3\"]}", NULL);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    expect_state(SEC, id, "submit", NULL, NULL, "review");
    expect_state(SEC, id, "approve", NULL, NULL, "signoff");
    expect_state(MAYOR, id, "sign", NULL, NULL, "register");
    expect_state(SEC, id, "register", NULL, "{\"prefix\":\"某府办发\"}", "issue");
    expect_state(SEC, id, "issue", NULL, "{\"to_departments\":[3]}", "issued");
    r = http_json(&srv, "GET", "/v1/documents?kind=incoming", people[SEC].token, NULL, NULL);
    j = ok_json(&r, 200);
    json_t *copy = json_array_get(json_object_get(j, "documents"), 0);
    cr_assert_not_null(copy);
    long long cid = json_integer_value(json_object_get(copy, "id"));
    cr_assert_eq(json_integer_value(json_object_get(copy, "level")), 1);
    cr_assert_eq(json_array_size(json_object_get(copy, "scope")), 2, "the copy lost its scope");
    json_decref(j);
    /* Health (dept 4) is outside the scope: neither the original nor the copy exists for them. */
    cr_assert_null(get_doc(HEALTH, cid, 404));
    json_decref(get_doc(EDU, cid, 200));
    cr_assert_eq(oad_stop(&srv), 0);
}

/* #13 item 7: each incoming copy is in the to-do of its receiving
 * department's clerks only; the organ's copy in the organ's. */
Test(doc_labels, incoming_copies_go_to_the_receiving_departments_clerks)
{
    long long id = create_doc(DRAFTER, "outgoing", "关于做好防汛工作的通知", 0);
    expect_state(DRAFTER, id, "submit", NULL, NULL, "review");
    /* A role-wide step of organ 1: every secretariat clerk of the organ has it. */
    cr_assert(list_has(SEC, "view=todo", id));
    cr_assert(list_has(EDU_CLERK, "view=todo", id));
    expect_state(SEC, id, "approve", NULL, NULL, "signoff");
    expect_state(MAYOR, id, "sign", NULL, NULL, "register");
    expect_state(SEC, id, "register", NULL, "{\"prefix\":\"某府发\"}", "issue");
    expect_state(SEC, id, "issue", NULL, "{\"to_departments\":[3,4],\"to_organs\":[1]}", "issued");
    struct resp r = http_json(&srv, "GET", "/v1/documents?kind=incoming&view=all&limit=200", people[SEC].token, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    long long edu_copy = 0, health_copy = 0, organ_copy = 0;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(j, "documents"), i, d) {
        if (json_integer_value(json_object_get(d, "source_id")) != id)
            continue;
        long long dep = json_integer_value(json_object_get(d, "department_id"));
        long long cid = json_integer_value(json_object_get(d, "id"));
        if (dep == 3)
            edu_copy = cid;
        else if (dep == 4)
            health_copy = cid;
        else
            organ_copy = cid;
    }
    json_decref(j);
    cr_assert(edu_copy && health_copy && organ_copy);
    cr_assert(list_has(EDU_CLERK, "view=todo", edu_copy));
    cr_assert(!list_has(EDU_CLERK, "view=todo", health_copy), "教育's clerk got 卫健's copy");
    cr_assert(list_has(HEALTH_CLERK, "view=todo", health_copy));
    cr_assert(!list_has(HEALTH_CLERK, "view=todo", edu_copy), "卫健's clerk got 教育's copy");
    cr_assert(!list_has(SEC, "view=todo", edu_copy), "府办 got a department's copy");
    cr_assert(!list_has(SEC, "view=todo", health_copy), "府办 got a department's copy");
    cr_assert(list_has(SEC, "view=todo", organ_copy), "the organ's copy is the organ's clerks'");
    /* The receiving clerk signs for it, and it moves on. */
    expect_state(EDU_CLERK, edu_copy, "sign_for", NULL, NULL, "registering");
}

/* ---- #18 item 1: a hidden document answers exactly as a missing one, on every route ---- */

struct id_route {
    const char *method, *path; /* path with %lld for the document id */
    const char *ctype, *body, *headers;
};

static const struct id_route id_routes[] = {
    {"GET", "/v1/documents/%lld", NULL, NULL, NULL},
    {"PATCH", "/v1/documents/%lld", "application/json", "{\"title\":\"x\"}", "If-Match: *\r\n"},
    {"POST", "/v1/documents/%lld/actions", "application/json", "{\"action\":\"submit\"}", "Idempotency-Key: probe-%lld\r\n"},
    {"GET", "/v1/documents/%lld/history", NULL, NULL, NULL},
    {"GET", "/v1/documents/%lld/revisions/1", NULL, NULL, NULL},
    {"POST", "/v1/documents/%lld/label", "application/json", "{\"level\":3,\"reason\":\"probe\"}", NULL},
    {"GET", "/v1/documents/%lld/attachments", NULL, NULL, NULL},
    {"POST", "/v1/documents/%lld/attachments?name=a.txt", "application/octet-stream", "abc", NULL},
    {"GET", "/v1/documents/%lld/attachments/1", NULL, NULL, NULL},
    {"PUT", "/v1/documents/%lld/attachments/1?name=a.txt", "application/octet-stream", "abc", "If-Match: *\r\n"},
    {"POST", "/v1/documents/%lld/publication", "application/json", "{}", NULL},
    {"POST", "/v1/documents/%lld/publication/review", "application/json", "{\"approve\":true,\"opinion\":\"x\"}",
     NULL},
    {"POST", "/v1/documents/%lld/publication/secrecy_review", "application/json", "{\"opinion\":\"x\"}", NULL},
};

static struct resp probe(const struct id_route *rt, long long id)
{
    char path[160], hdr[300], extra[128] = "";
    snprintf(path, sizeof(path), rt->path, id);
    if (rt->headers)
        snprintf(extra, sizeof(extra), rt->headers, id);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\nAccept: application/json\r\n%s", people[LOW].token, extra);
    return http_do(&srv, rt->method, path, rt->ctype, rt->body, rt->body ? strlen(rt->body) : 0, hdr);
}

Test(doc_labels, a_hidden_document_answers_byte_identically_to_a_missing_one_on_every_route)
{
    long long hidden = create_doc(DRAFTER, "outgoing", "秘密文件", 2); /* LOW has clearance 1 */
    long long missing = 999999;
    for (size_t i = 0; i < sizeof(id_routes) / sizeof(id_routes[0]); i++) {
        struct resp a = probe(&id_routes[i], hidden), b = probe(&id_routes[i], missing);
        cr_assert_eq(a.status, b.status, "%s %s: hidden %d, missing %d (%s | %s)", id_routes[i].method,
                     id_routes[i].path, a.status, b.status, a.body, b.body);
        cr_assert_eq(a.body_len, b.body_len, "%s %s: %s | %s", id_routes[i].method, id_routes[i].path, a.body, b.body);
        cr_assert_eq(memcmp(a.body, b.body, a.body_len), 0, "%s %s: %s | %s", id_routes[i].method,
                     id_routes[i].path, a.body, b.body);
        resp_free(&a);
        resp_free(&b);
    }
    /* Resumable uploads name the document in the body. */
    char body[2][96];
    struct resp u[2];
    for (int k = 0; k < 2; k++) {
        snprintf(body[k], sizeof(body[k]), "{\"document\":%lld,\"name\":\"a.txt\",\"length\":3}", k ? missing : hidden);
        u[k] = http_json(&srv, "POST", "/v1/uploads", people[LOW].token, body[k], NULL);
    }
    cr_assert_eq(u[0].status, u[1].status, "%s | %s", u[0].body, u[1].body);
    cr_assert_str_eq(u[0].body, u[1].body);
    resp_free(&u[0]);
    resp_free(&u[1]);

    /* Every route with a document id in its path is in the list above: a
     * route added later must be added here too. */
    FILE *f = fopen("server/routes.c", "r");
    cr_assert_not_null(f, "server/routes.c is not in the test's runfiles");
    char line[512];
    size_t routes = 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "\"/v1/documents/{}"))
            routes++;
    fclose(f);
    cr_assert_eq(routes, sizeof(id_routes) / sizeof(id_routes[0]),
                 "routes.c has %zu routes with a document id; this test compares %zu", routes,
                 sizeof(id_routes) / sizeof(id_routes[0]));
}

/* #18 item 2: a list's cursor never carries the id of a document the caller cannot see. */
Test(doc_labels, list_cursors_name_only_documents_the_caller_saw)
{
    /* Interleave documents DRAFTER may see with ones scoped away from them. */
    long long mine[6];
    for (int i = 0; i < 6; i++) {
        mine[i] = create_doc(DRAFTER, "outgoing", "可见", 0);
        struct resp r = http_json(&srv, "POST", "/v1/documents", people[EDU].token,
                                  "{\"kind\":\"outgoing\",\"title\":\"范围外\",\"level\":0,\"scope\":[\"dept:3\"]}", NULL);
        json_decref(ok_json(&r, 201));
    }
    char path[128];
    long long after = mine[0] - 1;
    int seen = 0;
    for (int page = 0; page < 20; page++) {
        snprintf(path, sizeof(path), "/v1/documents?view=all&limit=2&after=%lld", after);
        struct resp r = http_json(&srv, "GET", path, people[DRAFTER].token, NULL, NULL);
        json_t *j = ok_json(&r, 200);
        json_t *docs = json_object_get(j, "documents");
        json_t *next = json_object_get(j, "next_after");
        if (json_is_integer(next)) {
            long long cursor = json_integer_value(next);
            bool shown = false;
            size_t i;
            json_t *d;
            json_array_foreach(docs, i, d)
                if (json_integer_value(json_object_get(d, "id")) == cursor)
                    shown = true;
            cr_assert(shown, "next_after %lld is not a document of this page", cursor);
            after = cursor;
        }
        seen += (int)json_array_size(docs);
        bool done = !json_is_integer(next);
        json_decref(j);
        if (done)
            break;
    }
    cr_assert_geq(seen, 6, "the pages skipped documents the caller may see");
}

/* #13 item 5: the to-do queue has no cap on people: a lead department of 300
 * has the document in every member's to-do, the last one created included. */
