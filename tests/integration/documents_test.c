/*
 * tests/integration/documents_test.c: official documents through the real
 * oad: the sending, receiving and public-request lifecycles, countersigning,
 * numbering, idempotent actions, refusals and delegation (labels:
 * doc_labels_test.c; the office both run in: doc_office.c).
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

TestSuite(documents, .init = setup_office);

Test(documents, an_outgoing_document_with_three_countersigners_an_objection_and_a_return)
{
    long long id = create_doc(DRAFTER, "outgoing", "关于做好冬季安全生产工作的通知", 1);
    cr_assert(list_has(DRAFTER, "view=todo", id));
    expect_state(DRAFTER, id, "submit", NULL, "{\"countersigners\":[\"fin\",\"edu\",\"health\"]}", "review");
    cr_assert(list_has(SEC, "view=todo", id));
    cr_assert(!list_has(DRAFTER, "view=todo", id));
    /* The reviewer returns it once, with reasons. */
    expect_refusal(SEC, id, "return", NULL, NULL, 400, "bad_field");
    expect_state(SEC, id, "return", "请补充责任分工", NULL, "draft");
    expect_state(DRAFTER, id, "submit", NULL, NULL, "review");
    expect_state(SEC, id, "approve", "核稿通过", "{\"countersigners\":[\"fin\",\"edu\",\"health\"]}", "countersign");
    cr_assert(list_has(FIN, "view=todo", id) && list_has(EDU, "view=todo", id));
    /* One countersigner objects: it goes back to the drafter. */
    expect_state(FIN, id, "approve", "同意", NULL, "countersign");
    expect_state(EDU, id, "object", "经费来源未明确", NULL, "draft");
    expect_refusal(HEALTH, id, "approve", "同意", NULL, 409, "conflict");
    /* A new round: all three approve, the last one moves it on. */
    expect_state(DRAFTER, id, "submit", NULL, "{\"countersigners\":[\"fin\",\"edu\",\"health\"]}", "review");
    expect_state(SEC, id, "approve", NULL, NULL, "countersign");
    expect_state(FIN, id, "approve", "同意", NULL, "countersign");
    expect_state(EDU, id, "approve", "已明确，同意", NULL, "countersign");
    expect_refusal(EDU, id, "approve", "again", NULL, 403, "forbidden");
    expect_state(HEALTH, id, "approve", "同意", NULL, "signoff");
    /* Not a leader: refused; the leader signs; the secretariat numbers and issues. */
    expect_refusal(SEC, id, "sign", NULL, NULL, 403, "forbidden");
    expect_state(MAYOR, id, "sign", "同意印发", NULL, "register");
    expect_refusal(SEC, id, "register", NULL, NULL, 400, "bad_field");
    struct resp r = act(SEC, id, "register", NULL, "{\"prefix\":\"某府办发\"}");
    json_t *j = ok_json(&r, 200);
    const char *number = json_string_value(json_object_get(json_object_get(j, "document"), "doc_number"));
    char want[64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    snprintf(want, sizeof(want), "某府办发〔%d〕1号", tm.tm_year + 1900);
    cr_assert_str_eq(number, want);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "document"), "signer")), "mayor");
    json_decref(j);
    expect_state(SEC, id, "issue", NULL, NULL, "issued");
    expect_state(ARCHIVIST, id, "archive", NULL, NULL, "archived");
    expect_refusal(MAYOR, id, "revoke", "x", NULL, 409, "conflict");

    /* The history has every step with its opinion, and opinions cannot be edited. */
    char path[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld/history", id);
    r = http_json(&srv, "GET", path, people[DRAFTER].token, NULL, NULL);
    j = ok_json(&r, 200);
    json_t *steps = json_object_get(j, "steps");
    cr_assert_eq(json_array_size(steps), 16, "%zu steps", json_array_size(steps));
    bool objection = false;
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s)
        if (strcmp(json_string_value(json_object_get(s, "action")), "object") == 0) {
            objection = true;
            cr_assert_str_eq(json_string_value(json_object_get(s, "opinion")), "经费来源未明确");
            cr_assert_str_eq(json_string_value(json_object_get(s, "actor")), "edu");
        }
    cr_assert(objection);
    json_decref(j);
    /* One audit entry per step, and one per refusal. */
    cr_assert_eq(db_count("SELECT count(*) FROM audit_log WHERE event LIKE 'document.%' AND outcome = 'ok'"
                          " AND event NOT IN ('document.read', 'document.history', 'document.list')"), 16);
    /* Lists that showed this 内部 document are recorded, naming it. */
    char listed[160];
    snprintf(listed, sizeof(listed), "SELECT count(*) FROM audit_log WHERE event = 'document.list' AND detail = '%lld'", id);
    cr_assert(db_count(listed) >= 2);
    cr_assert_eq(db_count("SELECT count(*) FROM audit_log WHERE event LIKE 'document.%' AND outcome = 'refused'"), 6);
    cr_assert(list_has(EDU, "view=done", id));
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(documents, issuing_to_two_departments_creates_incoming_documents_that_run_to_completion)
{
    long long id = create_doc(DRAFTER, "outgoing", "关于开展校园食品安全检查的通知", 0);
    expect_state(DRAFTER, id, "submit", NULL, NULL, "review");
    expect_state(SEC, id, "approve", NULL, NULL, "signoff");
    expect_state(MAYOR, id, "sign", NULL, NULL, "register");
    expect_state(SEC, id, "register", NULL, "{\"prefix\":\"某府发\"}", "issue");
    expect_refusal(SEC, id, "issue", NULL, "{\"to_departments\":[99]}", 400, "bad_field");
    expect_state(SEC, id, "issue", NULL, "{\"to_departments\":[3,4],\"to_organs\":[1]}", "issued");

    /* Two incoming copies, linked back. */
    struct resp r = http_json(&srv, "GET", "/v1/documents?kind=incoming", people[SEC].token, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    json_t *docs = json_object_get(j, "documents");
    cr_assert_eq(json_array_size(docs), 3, "two departments and one organ");
    cr_assert(json_is_null(json_object_get(json_array_get(docs, 2), "department_id")), "the organ's copy is organ-wide");
    long long in[2];
    for (int k = 0; k < 2; k++) {
        json_t *d = json_array_get(docs, (size_t)k);
        in[k] = json_integer_value(json_object_get(d, "id"));
        cr_assert_eq(json_integer_value(json_object_get(d, "source_id")), id);
        cr_assert_str_eq(json_string_value(json_object_get(d, "state")), "receiving");
        cr_assert(strstr(json_string_value(json_object_get(d, "doc_number")), "某府发〔"));
    }
    json_decref(j);
    int lead[2] = {3, 4}, staff[2] = {EDU_STAFF, HEALTH_STAFF};
    for (int k = 0; k < 2; k++) {
        expect_state(SEC, in[k], "sign_for", NULL, NULL, "registering");
        expect_state(SEC, in[k], "register", NULL, NULL, "first_check");
        expect_state(SEC, in[k], "accept", NULL, NULL, "proposing");
        expect_state(SEC, in[k], "propose", "拟请分管领导阅示", NULL, "instructing");
        expect_refusal(MAYOR, in[k], "instruct", "请办理", NULL, 400, "bad_field");
        char params[64];
        snprintf(params, sizeof(params), "{\"lead_department_id\":%d}", lead[k]);
        expect_state(MAYOR, in[k], "instruct", "请认真办理", params, "handling");
        cr_assert(list_has(staff[k], "view=todo", in[k]));
        /* Circulation with a read receipt runs beside it. */
        expect_state(SEC, in[k], "circulate", NULL, "{\"readers\":[\"deputy\"]}", "handling");
        cr_assert(list_has(DEPUTY, "view=todo", in[k]));
        expect_state(DEPUTY, in[k], "read", NULL, NULL, "handling");
        expect_refusal(DEPUTY, in[k], "read", NULL, NULL, 403, "forbidden");
        /* A chase reaches the person it targets. */
        char chase[96];
        snprintf(chase, sizeof(chase), "{\"target\":\"%s\"}", people[staff[k]].name);
        expect_state(SEC, in[k], "chase", "请于周五前办结", chase, "handling");
        expect_refusal(staff[1 - k], in[k], "complete", NULL, NULL, 403, "forbidden");
        expect_state(staff[k], in[k], "complete", "已办结", NULL, "completed");
        expect_state(ARCHIVIST, in[k], "archive", NULL, NULL, "archived");
    }
    r = http_json(&srv, "GET", "/v1/chases", people[EDU_STAFF].token, NULL, NULL);
    j = ok_json(&r, 200);
    cr_assert_eq(json_array_size(json_object_get(j, "chases")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "chases"), 0), "note")),
                     "请于周五前办结");
    json_decref(j);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(documents, a_public_request_goes_overdue_and_is_extended_once)
{
    /* The gateway would import it; the secretariat may register paper ones too. */
    long long id = create_doc(SEC, "request", "申请公开2025年度财政预算执行情况", 0);
    /* Received 40 days ago: 20 working days have long passed. */
    time_t t = time(NULL) - 40 * 86400;
    struct tm tm;
    localtime_r(&t, &tm);
    char params[96];
    strftime(params, sizeof(params), "{\"received_on\":\"%Y-%m-%d\"}", &tm);
    expect_state(SEC, id, "register", NULL, params, "registered");
    cr_assert(list_has(SEC, "overdue=1", id));
    expect_refusal(SEC, id, "assign", NULL, "{\"assignee\":\"nobody\"}", 400, "bad_field");
    expect_state(SEC, id, "assign", NULL, "{\"assignee\":\"edu.staff\"}", "assigned");
    expect_state(EDU_STAFF, id, "start", NULL, NULL, "handling");
    expect_refusal(SEC, id, "extend", "需要协调", "{\"days\":20}", 403, "forbidden");
    expect_refusal(MAYOR, id, "extend", "需要协调", "{\"days\":21}", 400, "bad_field");
    json_t *before = get_doc(EDU_STAFF, id, 200);
    char due0[16];
    snprintf(due0, sizeof(due0), "%s", json_string_value(json_object_get(before, "request_due")));
    json_decref(before);
    expect_state(MAYOR, id, "extend", "情况复杂，经批准延期", "{\"days\":20}", "handling");
    json_t *after = get_doc(EDU_STAFF, id, 200);
    cr_assert(strcmp(json_string_value(json_object_get(after, "request_due")), due0) > 0);
    cr_assert(json_is_true(json_object_get(after, "extended")));
    json_decref(after);
    expect_refusal(MAYOR, id, "extend", "再延", "{\"days\":5}", 409, "conflict");
    /* The reply takes a form of 第36条, and must be a 公开 outgoing document after the secrecy review. */
    long long secret = create_doc(EDU_STAFF, "outgoing", "答复（内部）", 1);
    char reply[96];
    snprintf(reply, sizeof(reply), "{\"reply_document_id\":%lld}", secret);
    expect_refusal(EDU_STAFF, id, "reply", NULL, reply, 400, "bad_field");
    snprintf(reply, sizeof(reply), "{\"reply_document_id\":%lld,\"form\":\"public\"}", secret);
    expect_refusal(EDU_STAFF, id, "reply", NULL, reply, 403, "forbidden");
    long long pub = create_doc(EDU_STAFF, "outgoing", "政府信息公开申请答复书", 0);
    snprintf(reply, sizeof(reply), "{\"reply_document_id\":%lld,\"form\":\"public\"}", pub);
    expect_refusal(EDU_STAFF, id, "reply", NULL, reply, 403, "forbidden"); /* no secrecy review yet */
    expect_state(SEC, id, "secrecy_review", "经审查，不涉及国家秘密", NULL, "handling");
    snprintf(reply, sizeof(reply), "{\"reply_document_id\":%lld,\"form\":\"public\"}", secret);
    expect_refusal(EDU_STAFF, id, "reply", NULL, reply, 403, "forbidden"); /* reviewed, but not 公开 */
    snprintf(reply, sizeof(reply), "{\"reply_document_id\":%lld,\"form\":\"public\"}", pub);
    expect_state(EDU_STAFF, id, "reply", NULL, reply, "replied");
    cr_assert(!list_has(SEC, "overdue=1", id));
    json_t *p = get_doc(EDU_STAFF, pub, 200);
    cr_assert_eq(json_integer_value(json_object_get(p, "source_id")), id);
    json_decref(p);
    cr_assert_eq(oad_stop(&srv), 0);
}

struct reg_arg {
    long long id;
    int status;
    char number[64];
};

static void *register_one(void *p)
{
    struct reg_arg *a = p;
    struct resp r = act(SEC, a->id, "register", NULL, "{\"prefix\":\"某府办函\"}");
    a->status = r.status;
    json_t *j = resp_json(&r);
    const char *n = j ? json_string_value(json_object_get(json_object_get(j, "document"), "doc_number")) : NULL;
    snprintf(a->number, sizeof(a->number), "%s", n ? n : "");
    json_decref(j);
    resp_free(&r);
    return NULL;
}

Test(documents, a_hundred_concurrent_registrations_never_duplicate_or_skip_a_number)
{
    enum { N = 100 };
    static struct reg_arg args[N];
    for (int i = 0; i < N; i++) {
        char title[64];
        snprintf(title, sizeof(title), "函%d", i);
        args[i].id = create_doc(DRAFTER, "outgoing", title, 0);
        expect_state(DRAFTER, args[i].id, "submit", NULL, NULL, "review");
        expect_state(SEC, args[i].id, "approve", NULL, NULL, "signoff");
        expect_state(MAYOR, args[i].id, "sign", NULL, NULL, "register");
    }
    pthread_t th[N];
    for (int i = 0; i < N; i++)
        pthread_create(&th[i], NULL, register_one, &args[i]);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    bool seen[N + 1] = {false};
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "某府办函〔%d〕", tm.tm_year + 1900);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(args[i].status, 200);
        cr_assert(strncmp(args[i].number, prefix, strlen(prefix)) == 0, "%s", args[i].number);
        int seq = atoi(args[i].number + strlen(prefix));
        cr_assert(seq >= 1 && seq <= N && !seen[seq], "number %d duplicated or out of range", seq);
        seen[seq] = true;
    }
    /* A voided number is recorded and never reused. */
    expect_state(SEC, args[0].id, "void_number", "印制错误", NULL, "register");
    expect_state(SEC, args[0].id, "register", NULL, "{\"prefix\":\"某府办函\"}", "issue");
    json_t *d = get_doc(SEC, args[0].id, 200);
    char want[96];
    snprintf(want, sizeof(want), "%s%d号", prefix, N + 1);
    cr_assert_str_eq(json_string_value(json_object_get(d, "doc_number")), want);
    json_decref(d);
    cr_assert_eq(db_count("SELECT count(*) FROM doc_numbers WHERE voided = 1"), 1);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(documents, a_retried_action_with_the_same_key_acts_once)
{
    long long id = create_doc(DRAFTER, "outgoing", "幂等测试", 0);
    char path[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld/actions", id);
    const char *body = "{\"action\":\"comment\",\"opinion\":\"只记一次\"}";
    struct resp a = http_json(&srv, "POST", path, people[DRAFTER].token, body, "Idempotency-Key: same-key\r\n");
    struct resp b = http_json(&srv, "POST", path, people[DRAFTER].token, body, "Idempotency-Key: same-key\r\n");
    cr_assert_eq(a.status, 200, "%s", a.body);
    cr_assert_eq(b.status, 200);
    cr_assert_str_eq(a.body, b.body);
    resp_free(&a);
    resp_free(&b);
    snprintf(path, sizeof(path), "SELECT count(*) FROM doc_steps WHERE doc_id = %lld AND action = 'comment'", id);
    cr_assert_eq(db_count(path), 1);
    snprintf(path, sizeof(path), "/v1/documents/%lld/actions", id);
    struct resp c = http_json(&srv, "POST", path, people[DRAFTER].token, body, NULL);
    cr_assert_eq(c.status, 400, "an action without a key was accepted");
    resp_free(&c);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(documents, refusals_are_clear_and_change_nothing)
{
    long long id = create_doc(DRAFTER, "outgoing", "拒绝测试", 0);
    json_t *d = get_doc(DRAFTER, id, 200);
    cr_assert_str_eq(json_string_value(json_object_get(d, "body")), "正文：拒绝测试");
    json_decref(d);
    /* Two-character terms are searched in titles and bodies without the trigram index. */
    cr_assert(list_has(DRAFTER, "q=%E6%AD%A3%E6%96%87", id)); /* 正文 */
    cr_assert(!list_has(DRAFTER, "q=%E6%B2%A1%E6%9C%89", id)); /* 没有 */
    int steps = db_count("SELECT count(*) FROM doc_steps");
    int changes = db_count("SELECT count(*) FROM changes");
    expect_refusal(MAYOR, id, "sign", NULL, NULL, 409, "conflict");      /* state */
    expect_refusal(SEC, id, "submit", NULL, NULL, 403, "forbidden");     /* role */
    expect_refusal(DRAFTER, id, "teleport", NULL, NULL, 400, "bad_field"); /* unknown */
    cr_assert_eq(db_count("SELECT count(*) FROM doc_steps"), steps);
    cr_assert_eq(db_count("SELECT count(*) FROM changes"), changes);

    /* Edits take If-Match: missing 428, stale 412; a good one makes a revision. */
    char path[64];
    snprintf(path, sizeof(path), "/v1/documents/%lld", id);
    struct resp r = http_json(&srv, "GET", path, people[DRAFTER].token, NULL, NULL);
    char etag[64], hdr[128];
    snprintf(etag, sizeof(etag), "%s", r.etag);
    resp_free(&r);
    r = http_json(&srv, "PATCH", path, people[DRAFTER].token, "{\"body\":\"新的正文\"}", NULL);
    cr_assert_eq(r.status, 428);
    resp_free(&r);
    r = http_json(&srv, "PATCH", path, people[DRAFTER].token, "{\"body\":\"新的正文\"}", "If-Match: \"d1-999\"\r\n");
    cr_assert_eq(r.status, 412);
    resp_free(&r);
    snprintf(hdr, sizeof(hdr), "If-Match: %s\r\n", etag);
    r = http_json(&srv, "PATCH", path, people[SEC].token, "{\"body\":\"别人的修改\"}", hdr);
    cr_assert_eq(r.status, 403, "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "PATCH", path, people[DRAFTER].token, "{\"body\":\"新的正文\"}", hdr);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strcmp(r.etag, etag) != 0);
    resp_free(&r);
    r = http_json(&srv, "PATCH", path, people[DRAFTER].token, "{\"body\":\"再改\"}", hdr);
    cr_assert_eq(r.status, 412, "a stale ETag was accepted");
    resp_free(&r);
    snprintf(path, sizeof(path), "/v1/documents/%lld/revisions/1", id);
    r = http_json(&srv, "GET", path, people[DRAFTER].token, NULL, NULL);
    json_t *rev = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(rev, "body")), "正文：拒绝测试");
    json_decref(rev);
    snprintf(path, sizeof(path), "/v1/documents/%lld/revisions/2", id);
    r = http_json(&srv, "GET", path, people[DRAFTER].token, NULL, NULL);
    rev = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(rev, "body")), "新的正文");
    cr_assert_str_eq(json_string_value(json_object_get(rev, "changed")), "body");
    json_decref(rev);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(documents, a_delegate_signs_and_both_names_are_recorded)
{
    long long id = create_doc(DRAFTER, "outgoing", "代理签发测试", 0);
    expect_state(DRAFTER, id, "submit", NULL, NULL, "review");
    expect_state(SEC, id, "approve", NULL, NULL, "signoff");
    /* The drafter has no delegation from the mayor. */
    struct resp r = act_as(DRAFTER, "mayor", id, "sign", NULL, NULL);
    cr_assert_eq(r.status, 403, "%s", r.body);
    resp_free(&r);
    time_t now = time(NULL);
    struct tm tm;
    char body[256], from[16], to[16];
    localtime_r(&now, &tm);
    strftime(from, sizeof(from), "%Y-%m-%d", &tm);
    now += 7 * 86400;
    localtime_r(&now, &tm);
    strftime(to, sizeof(to), "%Y-%m-%d", &tm);
    snprintf(body, sizeof(body), "{\"to\":\"sec\",\"starts_on\":\"%s\",\"ends_on\":\"%s\"}", from, to);
    r = http_json(&srv, "POST", "/v1/delegations", people[MAYOR].token, body, NULL);
    cr_assert_eq(r.status, 201, "%s", r.body);
    resp_free(&r);
    r = act_as(SEC, "mayor", id, "sign", "代签", NULL);
    json_t *j = ok_json(&r, 200);
    cr_assert_str_eq(state_of(j), "register");
    json_decref(j);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM doc_steps WHERE doc_id = %lld AND action = 'sign' AND actor_id = %lld"
             " AND on_behalf_id = %lld", id, people[SEC].id, people[MAYOR].id);
    cr_assert_eq(db_count(sql), 1);
    cr_assert_eq(db_count("SELECT count(*) FROM audit_log WHERE event = 'document.sign' AND actor = 'sec'"
                          " AND on_behalf = 'mayor'"), 1);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(documents, a_lead_department_of_three_hundred_all_have_it_to_do)
{
    char body[256], last_otp[64] = "";
    for (int i = 0; i < 300; i++) {
        snprintf(body, sizeof(body), "{\"username\":\"dang.%03d\",\"display_name\":\"档案%d\",\"roles\":[\"staff\"],"
                 "\"department_id\":5}", i, i);
        struct resp r = http_json(&srv, "POST", "/v1/users", sys, body, NULL);
        json_t *j = ok_json(&r, 201);
        if (i == 299)
            snprintf(last_otp, sizeof(last_otp), "%s", json_string_value(json_object_get(j, "one_time_password")));
        json_decref(j);
    }
    long long in = create_doc(SEC, "incoming", "来文：档案整理", 0);
    expect_state(SEC, in, "sign_for", NULL, NULL, "registering");
    expect_state(SEC, in, "register", NULL, NULL, "first_check");
    expect_state(SEC, in, "accept", NULL, NULL, "proposing");
    expect_state(SEC, in, "propose", "拟请档案科办理", NULL, "instructing");
    expect_state(MAYOR, in, "instruct", "请办理", "{\"lead_department_id\":5}", "handling");
    char tok[128];
    cr_assert_eq(login(&srv, "dang.299", last_otp, tok, sizeof(tok)), 201);
    snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"Dang-299-Pass-2026\"}", last_otp);
    struct resp r = http_json(&srv, "POST", "/v1/users/me/password", tok, body, NULL);
    cr_assert_eq(r.status, 204, "%s", r.body);
    resp_free(&r);
    cr_assert_eq(login(&srv, "dang.299", "Dang-299-Pass-2026", tok, sizeof(tok)), 201);
    r = http_json(&srv, "GET", "/v1/documents?view=todo", tok, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    bool found = false;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(j, "documents"), i, d)
        if (json_integer_value(json_object_get(d, "id")) == in)
            found = true;
    json_decref(j);
    cr_assert(found, "the 300th member of the lead department does not have it to do");
}

/* Review C1: only signing for and registering are the receiving department's;
 * the leader's instruction and later steps stay organ-wide. */
Test(documents, after_registration_an_incoming_copy_is_the_organs_again)
{
    long long in = create_doc(EDU_CLERK, "incoming", "来文：教育科收", 0); /* registered by 教育's clerk */
    cr_assert(list_has(EDU_CLERK, "view=todo", in));
    cr_assert(!list_has(SEC, "view=todo", in), "府办 has 教育's sign-for");
    expect_state(EDU_CLERK, in, "sign_for", NULL, NULL, "registering");
    expect_state(EDU_CLERK, in, "register", NULL, NULL, "first_check");
    expect_state(SEC, in, "accept", NULL, NULL, "proposing");
    expect_state(SEC, in, "propose", "拟请市长阅示", NULL, "instructing");
    cr_assert(list_has(MAYOR, "view=todo", in), "the leader of another department lost the instruction from the to-do");
}
