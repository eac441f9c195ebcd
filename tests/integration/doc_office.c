/* tests/integration/doc_office.c: see doc_office.h. */
#include "tests/integration/doc_office.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


struct oad srv;


/* The office of a city government: organ 1, departments 1..5. */
const char *const depts[] = {"府办", "财政", "教育", "卫健", "档案"};

struct person people[] = {
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

char sys[128], secadm[128];

void setup_office(void)
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

long long create_doc(int who, const char *kind, const char *title, int level)
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
struct resp act_as(int who, const char *on_behalf, long long id, const char *action, const char *opinion,
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

struct resp act(int who, long long id, const char *action, const char *opinion, const char *params)
{
    return act_as(who, NULL, id, action, opinion, params);
}

const char *state_of(json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "document"), "state"));
}

void expect_state(int who, long long id, const char *action, const char *opinion, const char *params,
                         const char *state)
{
    struct resp r = act(who, id, action, opinion, params);
    json_t *j = ok_json(&r, 200);
    cr_assert_str_eq(state_of(j), state, "%s -> %s, want %s", action, state_of(j), state);
    json_decref(j);
}

void expect_refusal(int who, long long id, const char *action, const char *opinion, const char *params,
                           int status, const char *code)
{
    struct resp r = act(who, id, action, opinion, params);
    cr_assert_eq(r.status, status, "%s by %s: %d %s", action, people[who].name, r.status, r.body);
    json_t *j = resp_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(j, "code")), code);
    json_decref(j);
    resp_free(&r);
}

json_t *get_doc(int who, long long id, int status)
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

bool list_has(int who, const char *query, long long id)
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

int db_count(const char *sql)
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
