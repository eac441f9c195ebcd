/*
 * tests/integration/records_office.c: the office the records and package
 * tests share (records_office.h): one organ and department, the people who
 * take a document to archived and file it, and the helpers to do so.
 */
#include "tests/integration/records_office.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
struct oad srv;


struct person people[OFFICE_PEOPLE] = {
    {"drafter", "[\"staff\"]", 2, "", 0},
    {"sec", "[\"secretariat\",\"staff\"]", 4, "", 0},
    {"mayor", "[\"leader\"]", 4, "", 0},
    {"deputy", "[\"leader\"]", 4, "", 0},
    {"archivist", "[\"records\"]", 4, "", 0},
    {"clerk", "[\"records\"]", 1, "", 0},
    {"low", "[\"staff\"]", 1, "", 0},
};

char sys[128], secadm[128];
int key_counter;
int year_now;

void start_office(const char *const *extra)
{
    oad_start(&srv, extra);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", secadm, sizeof(secadm));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    json_decref(ok_json(&r, 201));
    r = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"办公室\"}", NULL);
    json_decref(ok_json(&r, 201));
    for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++) {
        struct person *p = &people[i];
        p->id = make_person(&srv, sys, secadm, p->name, p->roles, p->clearance, "Xq7-records-pass-2026", p->token,
                            sizeof(p->token));
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    year_now = tm.tm_year + 1900;
}

void setup_office(void)
{
    start_office(NULL);
}

struct resp as(int who, const char *method, const char *path, const char *json)
{
    return http_json(&srv, method, path, people[who].token, json, NULL);
}

void act(int who, long long id, const char *action, const char *opinion, const char *params, int status)
{
    char path[96], hdr[128];
    json_t *b = json_pack("{s:s}", "action", action);
    if (opinion)
        json_object_set_new(b, "opinion", json_string(opinion));
    if (params)
        json_object_set_new(b, "params", json_loads(params, 0, NULL));
    char *body = json_dumps(b, 0);
    json_decref(b);
    snprintf(path, sizeof(path), "/v1/documents/%lld/actions", id);
    snprintf(hdr, sizeof(hdr), "Idempotency-Key: office-%d-%ld\r\n", ++key_counter, (long)getpid());
    struct resp r = http_json(&srv, "POST", path, people[who].token, body, hdr);
    free(body);
    cr_assert_eq(r.status, status, "%s by %s: %d %s", action, people[who].name, r.status, r.body);
    resp_free(&r);
}

/* An outgoing document taken through its lifecycle to archived; its date is `date`. */
long long archived_doc(const char *title, const char *body, int level, const char *date, const char *opinion)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"kind\":\"outgoing\",\"title\":\"%s\",\"body\":\"%s\",\"doc_type\":\"通知\",\"level\":%d,"
             "\"doc_date\":\"%s\"}",
             title, body, level, date);
    struct resp r = as(DRAFTER, "POST", "/v1/documents", json);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    act(DRAFTER, id, "submit", opinion, NULL, 200);
    act(SEC, id, "approve", opinion, NULL, 200);
    act(MAYOR, id, "sign", opinion, NULL, 200);
    act(SEC, id, "register", NULL, "{\"prefix\":\"某府办发\"}", 200);
    act(SEC, id, "issue", NULL, NULL, 200);
    act(ARCHIVIST, id, "archive", NULL, NULL, 200);
    return id;
}

const char *code_of(const struct resp *r, char *buf, size_t cap)
{
    json_t *j = resp_json(r);
    snprintf(buf, cap, "%s", j ? json_string_value(json_object_get(j, "code")) : "");
    json_decref(j);
    return buf;
}

void expect_error(struct resp r, int status, const char *code)
{
    char c[64];
    cr_assert_eq(r.status, status, "want %d %s, got %d %s", status, code, r.status, r.body);
    cr_assert_str_eq(code_of(&r, c, sizeof(c)), code, "%s", r.body);
    resp_free(&r);
}

void set_fonds(void)
{
    struct resp r = as(ARCHIVIST, "PUT", "/v1/organs/1/fonds", "{\"fonds\":\"Z109\"}");
    json_decref(ok_json(&r, 200));
    r = as(ARCHIVIST, "PUT", "/v1/records/schedule",
           "{\"organ_id\":1,\"doc_type\":\"通知\",\"issuer\":\"*\",\"retention\":\"D30\"}");
    json_decref(ok_json(&r, 200));
}

json_t *file_doc(int who, long long id, const char *extra)
{
    char json[512];
    snprintf(json, sizeof(json), "{\"document_id\":%lld%s%s}", id, extra ? "," : "", extra ? extra : "");
    struct resp r = as(who, "POST", "/v1/records", json);
    return ok_json(&r, 201);
}
