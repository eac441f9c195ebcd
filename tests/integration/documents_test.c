/*
 * tests/integration/documents_test.c: official documents through the real
 * oad: the sending, receiving and public-request lifecycles, countersigning,
 * numbering, idempotent actions, refusals, delegation and labels.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/harness.h"

static struct oad srv;

struct person {
    const char *name, *roles;
    int dept;      /* index into depts, -1 for none */
    int clearance;
    char token[128];
    long long id;
};

/* The office of a city government: organ 1, departments 1..5. */
static const char *const depts[] = {"府办", "财政", "教育", "卫健", "档案"};

static struct person people[] = {
    {"drafter", "[\"staff\"]", 0, 2, "", 0},
    {"sec", "[\"secretariat\",\"staff\"]", 0, 4, "", 0},
    {"mayor", "[\"leader\"]", 0, 4, "", 0},
    {"deputy", "[\"leader\"]", 0, 4, "", 0},
    {"fin", "[\"dept_head\"]", 1, 2, "", 0},
    {"edu", "[\"dept_head\"]", 2, 2, "", 0},
    {"health", "[\"dept_head\"]", 3, 2, "", 0},
    {"edu.staff", "[\"staff\"]", 2, 1, "", 0},
    {"health.staff", "[\"staff\"]", 3, 1, "", 0},
    {"archivist", "[\"records\"]", 4, 4, "", 0},
    {"low", "[\"staff\"]", 0, 1, "", 0},
    {"edu.clerk", "[\"secretariat\"]", 2, 2, "", 0},
    {"health.clerk", "[\"secretariat\"]", 3, 2, "", 0},
};
enum { DRAFTER, SEC, MAYOR, DEPUTY, FIN, EDU, HEALTH, EDU_STAFF, HEALTH_STAFF, ARCHIVIST, LOW, EDU_CLERK, HEALTH_CLERK };

static char sys[128], secadm[128];

static void setup_office(void)
{
    oad_start(&srv, NULL);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", secadm, sizeof(secadm));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    json_decref(ok_json(&r, 201));
    for (size_t i = 0; i < sizeof(depts) / sizeof(depts[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body), "{\"organ_id\":1,\"code\":\"%s\",\"name\":\"%s\"}", depts[i], depts[i]);
        r = http_json(&srv, "POST", "/v1/departments", sys, body, NULL);
        json_decref(ok_json(&r, 201));
    }
    for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++) {
        struct person *p = &people[i];
        char body[512], otp[64], path[96];
        snprintf(body, sizeof(body), "{\"username\":\"%s\",\"display_name\":\"%s\",\"roles\":%s,\"department_id\":%d}",
                 p->name, p->name, p->roles, p->dept + 1);
        r = http_json(&srv, "POST", "/v1/users", sys, body, NULL);
        json_t *j = ok_json(&r, 201);
        snprintf(otp, sizeof(otp), "%s", json_string_value(json_object_get(j, "one_time_password")));
        p->id = json_integer_value(json_object_get(json_object_get(j, "user"), "id"));
        json_decref(j);
        snprintf(path, sizeof(path), "/v1/users/%lld/clearance", p->id);
        snprintf(body, sizeof(body), "{\"clearance\":%d}", p->clearance);
        r = http_json(&srv, "PUT", path, secadm, body, "If-Match: *\r\n");
        json_decref(ok_json(&r, 200));
        cr_assert_eq(login(&srv, p->name, otp, p->token, sizeof(p->token)), 201);
        snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"Xq7-office-pass-%zu\"}", otp, i);
        r = http_json(&srv, "POST", "/v1/users/me/password", p->token, body, NULL);
        cr_assert_eq(r.status, 204, "%s", r.body);
        resp_free(&r);
    }
}

static long long create_doc(int who, const char *kind, const char *title, int level)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"kind\":\"%s\",\"title\":\"%s\",\"body\":\"正文：%s\",\"doc_type\":\"通知\",\"level\":%d,"
             "\"urgency\":\"urgent\",\"main_recipients\":\"各区人民政府\"}",
             kind, title, title, level);
    struct resp r = http_json(&srv, "POST", "/v1/documents", people[who].token, body, NULL);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), kind[0] == 'o' ? "draft" : kind[0] == 'i' ? "receiving" : "imported");
    json_decref(j);
    return id;
}

static int key_counter;

/* Acts with a fresh idempotency key; returns the response (the caller frees). */
static struct resp act_as(int who, const char *on_behalf, long long id, const char *action, const char *opinion,
                          const char *params)
{
    char path[96], hdr[128];
    json_t *b = json_pack("{s:s}", "action", action);
    if (opinion)
        json_object_set_new(b, "opinion", json_string(opinion));
    if (params)
        json_object_set_new(b, "params", json_loads(params, 0, NULL));
    if (on_behalf)
        json_object_set_new(b, "on_behalf_of", json_string(on_behalf));
    char *body = json_dumps(b, 0);
    json_decref(b);
    snprintf(path, sizeof(path), "/v1/documents/%lld/actions", id);
    snprintf(hdr, sizeof(hdr), "Idempotency-Key: k-%d-%ld\r\n", ++key_counter, (long)getpid());
    struct resp r = http_json(&srv, "POST", path, people[who].token, body, hdr);
    free(body);
    return r;
}

static struct resp act(int who, long long id, const char *action, const char *opinion, const char *params)
{
    return act_as(who, NULL, id, action, opinion, params);
}

static const char *state_of(json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "document"), "state"));
}

static void expect_state(int who, long long id, const char *action, const char *opinion, const char *params,
                         const char *state)
{
    struct resp r = act(who, id, action, opinion, params);
    json_t *j = ok_json(&r, 200);
    cr_assert_str_eq(state_of(j), state, "%s -> %s, want %s", action, state_of(j), state);
    json_decref(j);
}

static void expect_refusal(int who, long long id, const char *action, const char *opinion, const char *params,
                           int status, const char *code)
{
    struct resp r = act(who, id, action, opinion, params);
    cr_assert_eq(r.status, status, "%s by %s: %d %s", action, people[who].name, r.status, r.body);
    json_t *j = resp_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(j, "code")), code);
    json_decref(j);
    resp_free(&r);
}

static json_t *get_doc(int who, long long id, int status)
{
    char path[64];
    snprintf(path, sizeof(path), "/v1/documents/%lld", id);
    struct resp r = http_json(&srv, "GET", path, people[who].token, NULL, NULL);
    if (status != 200) {
        cr_assert_eq(r.status, status, "%d %s", r.status, r.body);
        resp_free(&r);
        return NULL;
    }
    return ok_json(&r, 200);
}

static bool list_has(int who, const char *query, long long id)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/documents?%s", query);
    struct resp r = http_json(&srv, "GET", path, people[who].token, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    bool found = false;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(j, "documents"), i, d)
        if (json_integer_value(json_object_get(d, "id")) == id)
            found = true;
    json_decref(j);
    return found;
}

static int db_count(const char *sql)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/oa.db", srv.dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

TestSuite(documents, .init = setup_office, .timeout = 120);

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

Test(documents, labels_hide_documents_above_clearance_everywhere)
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

Test(documents, scope_relabelling_and_review_of_expired_labels)
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

Test(documents, a_named_declassifier_lowers_labels_of_documents_they_can_read)
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

Test(documents, incoming_copies_keep_the_whole_label)
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
Test(documents, incoming_copies_go_to_the_receiving_departments_clerks)
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

Test(documents, a_hidden_document_answers_byte_identically_to_a_missing_one_on_every_route)
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
Test(documents, list_cursors_name_only_documents_the_caller_saw)
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
Test(documents, a_lead_department_of_three_hundred_all_have_it_to_do, .timeout = 240)
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
