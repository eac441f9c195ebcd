/*
 * tests/integration/gateway_test.c: oad's side of the exchange gateway
 * through the real oad: imports (whole, once, in sequence), the gateway's
 * confinement, the public request's lifecycle and clock (补正, 第32条
 * consultation, extension), every reply form of 第36条 leaving through the
 * outbox only when oa_access_export allows it, 主动公开, and the
 * applicant's personal data shown only to those handling the request.
 */
#include <criterion/criterion.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/harness.h"
#include "workflow/calendar.h"
#include "workflow/deadline.h"

static struct oad srv;
static char sys[128], secadm[128], gw[128], sec[128], mayor[128], handler[128], other[128], archivist[128];
static int seq;     /* the sender's last sequence number */
static int nbundle; /* makes bundle ids distinct */

static void setup_office(void)
{
    oad_start(&srv, NULL);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", secadm, sizeof(secadm));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    json_decref(ok_json(&r, 201));
    r = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"办公室\"}", NULL);
    json_decref(ok_json(&r, 201));
    make_person(&srv, sys, secadm, "gateway", "[\"gateway\"]", 0, "Ferry-Link-2026-q", gw, sizeof(gw));
    make_person(&srv, sys, secadm, "sec", "[\"secretariat\",\"staff\"]", 4, "Paper-Trail-2026-q", sec, sizeof(sec));
    make_person(&srv, sys, secadm, "mayor", "[\"leader\"]", 4, "City-Hall-2026-q", mayor, sizeof(mayor));
    make_person(&srv, sys, secadm, "handler", "[\"staff\"]", 2, "Desk-Work-2026-q", handler, sizeof(handler));
    make_person(&srv, sys, secadm, "other", "[\"staff\"]", 2, "Side-Desk-2026-q", other, sizeof(other));
    make_person(&srv, sys, secadm, "archivist", "[\"records\"]", 4, "Archive-2026-x", archivist, sizeof(archivist));
    seq = 0;
}

TestSuite(gateway, .init = setup_office);

/* 64 hex digits: the SHA-256 of some bytes. */
static void sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char d[32];
    SHA256(p, n, d);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void bundle_id(char out[65])
{
    char seed[64];
    snprintf(seed, sizeof(seed), "bundle-%d-%ld", ++nbundle, (long)getpid());
    sha256_hex(seed, strlen(seed), out);
}

/* An RFC 3339 time `days_ago` days before now, in Shanghai time. */
static void instant(int days_ago, char out[40])
{
    time_t t = time(NULL) - (time_t)days_ago * 86400 + 8 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%S+08:00", &tm);
}

/* A staged upload of the gateway; its id in out. */
static void gw_upload(const char *name, const char *data, char out[33])
{
    char body[256];
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"length\":%zu}", name, strlen(data));
    struct resp r = http_json(&srv, "POST", "/v1/uploads", gw, body, NULL);
    json_t *j = ok_json(&r, 201);
    snprintf(out, 33, "%s", json_string_value(json_object_get(j, "upload")));
    json_decref(j);
    char path[96], hdr[320];
    snprintf(path, sizeof(path), "/v1/uploads/%s", out);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\nUpload-Offset: 0\r\n", gw);
    r = http_do(&srv, "PATCH", path, "application/offset+octet-stream", data, strlen(data), hdr);
    j = ok_json(&r, 200);
    char hex[65];
    sha256_hex(data, strlen(data), hex);
    cr_assert_str_eq(json_string_value(json_object_get(j, "sha256")), hex);
    json_decref(j);
}

/* POSTs a public_request bundle with seq `s`; one file when `file` is set.  The response (caller frees). */
static struct resp import_request(const char *id, int s, int days_ago, const char *file)
{
    char confirmed[40], submitted[40], files[512] = "[]";
    instant(days_ago, confirmed);
    instant(days_ago, submitted);
    if (file) {
        char up[33], hex[65];
        gw_upload("申请材料.txt", file, up);
        sha256_hex(file, strlen(file), hex);
        snprintf(files, sizeof(files), "[{\"name\":\"申请材料.txt\",\"sha256\":\"%s\",\"size\":%zu,\"upload\":\"%s\"}]",
                 hex, strlen(file), up);
    }
    char body[2048];
    snprintf(body, sizeof(body),
             "{\"bundle_id\":\"%s\",\"sender\":\"portal-1\",\"seq\":%d,\"type\":\"public_request\","
             "\"created\":\"%s\",\"content\":{\"applicant\":{\"name\":\"张三\",\"id_type\":\"resident_id\","
             "\"id_number\":\"110101199001011234\",\"contact\":\"13800000000\"},"
             "\"subject\":\"申请公开2025年度财政预算执行情况\",\"reply_form\":\"electronic\","
             "\"submitted\":\"%s\",\"confirmed\":\"%s\"},\"files\":%s}",
             id, s, submitted, submitted, confirmed, files);
    return http_json(&srv, "POST", "/v1/gateway/bundles", gw, body, NULL);
}

/* Imports a new request in sequence, confirmed `days_ago`; its document id. */
static long long new_request(int days_ago)
{
    char id[65];
    bundle_id(id);
    struct resp r = import_request(id, ++seq, days_ago, NULL);
    json_t *j = ok_json(&r, 201);
    cr_assert_str_eq(json_string_value(json_object_get(j, "outcome")), "imported");
    long long doc = json_integer_value(json_object_get(j, "document_id"));
    json_decref(j);
    return doc;
}

static int key_counter;

static struct resp act(const char *token, long long id, const char *action, const char *opinion, const char *params)
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
    snprintf(hdr, sizeof(hdr), "Idempotency-Key: g-%d-%ld\r\n", ++key_counter, (long)getpid());
    struct resp r = http_json(&srv, "POST", path, token, body, hdr);
    free(body);
    return r;
}

static void expect_state(const char *token, long long id, const char *action, const char *opinion,
                         const char *params, const char *state)
{
    struct resp r = act(token, id, action, opinion, params);
    cr_assert_eq(r.status, 200, "%s on %lld: %d %s", action, id, r.status, r.body);
    json_t *j = resp_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "document"), "state")), state, "%s",
                     action);
    json_decref(j);
    resp_free(&r);
}

static void expect_refusal(const char *token, long long id, const char *action, const char *opinion,
                           const char *params, int status, const char *code)
{
    struct resp r = act(token, id, action, opinion, params);
    cr_assert_eq(r.status, status, "%s on %lld: %d %s", action, id, r.status, r.body);
    cr_assert(strstr(r.body, code), "%s: %s", action, r.body);
    resp_free(&r);
}

static json_t *get_doc(const char *token, long long id)
{
    char path[64];
    snprintf(path, sizeof(path), "/v1/documents/%lld", id);
    struct resp r = http_json(&srv, "GET", path, token, NULL, NULL);
    return ok_json(&r, 200);
}

static json_t *outbox(int after)
{
    char path[96];
    snprintf(path, sizeof(path), "/v1/gateway/outbox?after=%d", after);
    struct resp r = http_json(&srv, "GET", path, gw, NULL, NULL);
    return ok_json(&r, 200);
}

/* The outbox items of document doc (a new reference the caller frees). */
static json_t *items_of(long long doc)
{
    json_t *all = outbox(0), *mine = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(all, "items"), i, it)
        if (json_integer_value(json_object_get(it, "document_id")) == doc)
            json_array_append(mine, it);
    json_decref(all);
    return mine;
}

static void day_text(int32_t d, char out[11])
{
    oa_day_format(d, out);
}

/* Today's day in Shanghai, minus days_ago. */
static int32_t shanghai_day(int days_ago)
{
    char t[40];
    instant(days_ago, t);
    return oa_day_of_instant(t, OA_SHANGHAI_OFFSET_MIN);
}

Test(gateway, an_import_is_answered_once_in_sequence_and_a_replay_is_refused)
{
    char a[65], b[65], c[65];
    bundle_id(a);
    bundle_id(b);
    bundle_id(c);
    struct resp r = import_request(a, 1, 0, "我申请公开以下信息。");
    json_t *j = ok_json(&r, 201);
    long long doc = json_integer_value(json_object_get(j, "document_id"));
    json_decref(j);
    /* The ferry resends it: the same answer, nothing imported twice. */
    r = import_request(a, 1, 0, NULL);
    j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "outcome")), "duplicate");
    cr_assert_eq(json_integer_value(json_object_get(j, "document_id")), doc);
    json_decref(j);
    /* Another bundle under a used sequence number: a replay. */
    r = import_request(b, 1, 0, NULL);
    cr_assert_eq(r.status, 409, "%s", r.body);
    cr_assert(strstr(r.body, "\"replayed\""), "%s", r.body);
    resp_free(&r);
    /* A gap: held by oagw, which learns the number expected. */
    r = import_request(c, 3, 0, NULL);
    j = ok_json(&r, 409);
    cr_assert_str_eq(json_string_value(json_object_get(j, "code")), "out_of_sequence");
    cr_assert_eq(json_integer_value(json_object_get(j, "expected")), 2);
    json_decref(j);
    r = import_request(c, 2, 0, NULL);
    json_decref(ok_json(&r, 201));
    r = import_request(b, 3, 0, NULL);
    json_decref(ok_json(&r, 201));
    seq = 3;
    /* The request and its file are there for the secretariat. */
    j = get_doc(sec, doc);
    cr_assert_str_eq(json_string_value(json_object_get(j, "kind")), "request");
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "imported");
    json_decref(j);
    char path[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments", doc);
    r = http_json(&srv, "GET", path, sec, NULL, NULL);
    j = ok_json(&r, 200);
    json_t *atts = json_object_get(j, "attachments");
    cr_assert_eq(json_array_size(atts), 1);
    long long att = json_integer_value(json_object_get(json_array_get(atts, 0), "id"));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments/%lld", doc, att);
    r = http_json(&srv, "GET", path, sec, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(r.body, "我申请公开以下信息。");
    resp_free(&r);
    /* The staged file is re-sealed to its document and label in the background, and reads the same. */
    char aud[128];
    admin_login(&srv, "auditor", "Audit-Trail-2026", aud, sizeof(aud));
    bool resealed = false;
    for (int i = 0; i < 100 && !resealed; i++) {
        r = http_json(&srv, "GET", "/v1/audit/entries?event=blob.reseal", aud, NULL, NULL);
        resealed = r.status == 200 && strstr(r.body, "re-sealed") != NULL;
        resp_free(&r);
        if (!resealed)
            usleep(50000);
    }
    cr_assert(resealed);
    r = http_json(&srv, "GET", path, sec, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(r.body, "我申请公开以下信息。");
    resp_free(&r);
    /* An upload is used by one import only. */
    char up[33], hex[65], body[1024], id[65];
    gw_upload("x.txt", "xyz", up);
    sha256_hex("xyz", 3, hex);
    bundle_id(id);
    snprintf(body, sizeof(body),
             "{\"bundle_id\":\"%s\",\"sender\":\"portal-1\",\"seq\":4,\"type\":\"public_request\","
             "\"created\":\"2026-11-02T10:00:00+08:00\",\"content\":{\"applicant\":{\"name\":\"李四\",\"id_type\":"
             "\"passport\",\"id_number\":\"E1234\",\"contact\":\"li@example.cn\"},\"subject\":\"s\","
             "\"reply_form\":\"paper\",\"submitted\":\"2026-11-02T10:00:00+08:00\",\"confirmed\":"
             "\"2026-11-02T10:00:00+08:00\"},\"files\":[{\"name\":\"x.txt\",\"sha256\":\"%s\",\"size\":4,"
             "\"upload\":\"%s\"}]}",
             id, hex, up);
    r = http_json(&srv, "POST", "/v1/gateway/bundles", gw, body, NULL);
    cr_assert_eq(r.status, 400, "size differs: %s", r.body);
    resp_free(&r);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(gateway, the_gateway_is_confined_and_its_routes_are_its_own)
{
    struct resp r = http_json(&srv, "GET", "/v1/documents?view=all", gw, NULL, NULL);
    cr_assert_eq(r.status, 403, "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/documents", gw, "{\"kind\":\"request\",\"title\":\"t\",\"body\":\"b\"}", NULL);
    cr_assert_eq(r.status, 403, "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/users", gw, NULL, NULL);
    cr_assert_eq(r.status, 403, "%s", r.body);
    resp_free(&r);
    /* Its uploads name no document; nobody else's may omit one. */
    r = http_json(&srv, "POST", "/v1/uploads", gw, "{\"document\":1,\"name\":\"a\",\"length\":1}", NULL);
    cr_assert_eq(r.status, 403, "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/uploads", sec, "{\"name\":\"a\",\"length\":1}", NULL);
    cr_assert_eq(r.status, 400, "%s", r.body);
    resp_free(&r);
    const char *q = "{\"file\":\"b.tar\",\"sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\","
                    "\"reason\":\"path_traversal\",\"detail\":\"../etc/passwd\"}";
    r = http_json(&srv, "POST", "/v1/gateway/quarantine", sec, q, NULL);
    cr_assert_eq(r.status, 403, "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/gateway/outbox", mayor, NULL, NULL);
    cr_assert_eq(r.status, 403, "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/gateway/quarantine", gw, q, NULL);
    json_t *j = ok_json(&r, 201);
    long long audit_id = json_integer_value(json_object_get(j, "audit_id"));
    cr_assert(audit_id > 0);
    json_decref(j);
    char aud[128];
    admin_login(&srv, "auditor", "Audit-Trail-2026", aud, sizeof(aud));
    r = http_json(&srv, "GET", "/v1/audit/entries?limit=1000", aud, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "gateway.quarantine"), "%s", r.body);
    cr_assert(strstr(r.body, "path_traversal"));
    cr_assert(strstr(r.body, "route.refused"));
    resp_free(&r);
    cr_assert_eq(oad_stop(&srv), 0);
}

/* The request's facts in the document (the `request` map). */
static json_t *request_of(const char *token, long long id)
{
    json_t *d = get_doc(token, id), *q = json_object_get(d, "request");
    cr_assert(json_is_object(q), "no request map: %s", json_dumps(d, 0));
    json_incref(q);
    json_decref(d);
    return q;
}

static const char *text_of(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

Test(gateway, a_request_in_is_registered_with_its_due_date_and_a_receipt_goes_out)
{
    long long doc = new_request(2);
    expect_state(sec, doc, "register", NULL, NULL, "registered");
    char due[11];
    day_text(oa_request_due(shanghai_day(2), NULL, 0), due);
    json_t *d = get_doc(sec, doc);
    cr_assert_str_eq(text_of(d, "request_due"), due);
    json_decref(d);
    json_t *items = items_of(doc);
    cr_assert_eq(json_array_size(items), 1, "%s", json_dumps(items, 0));
    json_t *it = json_array_get(items, 0);
    cr_assert_str_eq(text_of(it, "type"), "receipt");
    json_t *c = json_object_get(it, "content");
    cr_assert(json_is_true(json_object_get(c, "accepted")));
    cr_assert_str_eq(text_of(c, "due"), due);
    char today[11];
    day_text(shanghai_day(0), today);
    cr_assert_str_eq(text_of(c, "registered"), today);
    cr_assert_eq(strlen(text_of(it, "request_ref")), 64);
    long long id = json_integer_value(json_object_get(it, "id"));
    json_decref(items);
    /* oagw acknowledges it once; again with the same digests is fine, other digests are not. */
    char path[96], body[256], h1[65], h2[65];
    sha256_hex("manifest", 8, h1);
    sha256_hex("bundle", 6, h2);
    snprintf(path, sizeof(path), "/v1/gateway/outbox/%lld/sent", id);
    snprintf(body, sizeof(body), "{\"bundle_id\":\"%s\",\"sha256\":\"%s\"}", h1, h2);
    struct resp r = http_json(&srv, "POST", path, gw, body, NULL);
    json_decref(ok_json(&r, 200));
    r = http_json(&srv, "POST", path, gw, body, NULL);
    json_decref(ok_json(&r, 200));
    snprintf(body, sizeof(body), "{\"bundle_id\":\"%s\",\"sha256\":\"%s\"}", h2, h1);
    r = http_json(&srv, "POST", path, gw, body, NULL);
    cr_assert_eq(r.status, 409, "%s", r.body);
    resp_free(&r);
    /* 回退: a request refused at registration gets a refusal receipt with the reason. */
    long long bad = new_request(0);
    expect_refusal(sec, bad, "refuse", NULL, NULL, 400, "bad_field");
    expect_state(sec, bad, "refuse", "申请内容不明确，无法确定所需信息", NULL, "refused");
    items = items_of(bad);
    cr_assert_eq(json_array_size(items), 1);
    c = json_object_get(json_array_get(items, 0), "content");
    cr_assert(json_is_false(json_object_get(c, "accepted")));
    cr_assert_str_eq(text_of(c, "reason"), "申请内容不明确，无法确定所需信息");
    json_decref(items);
    cr_assert_eq(oad_stop(&srv), 0);
}

/* A correction bundle for request `ref` confirmed days_ago; the response. */
static struct resp import_correction(const char *ref, int s, int days_ago)
{
    char id[65], confirmed[40], body[1024];
    bundle_id(id);
    instant(days_ago, confirmed);
    snprintf(body, sizeof(body),
             "{\"bundle_id\":\"%s\",\"sender\":\"portal-1\",\"seq\":%d,\"type\":\"correction\",\"created\":\"%s\","
             "\"content\":{\"request_ref\":\"%s\",\"text\":\"补充：所需信息为第三季度部分。\",\"confirmed\":\"%s\"},"
             "\"files\":[]}",
             id, s, confirmed, ref, confirmed);
    return http_json(&srv, "POST", "/v1/gateway/bundles", gw, body, NULL);
}

Test(gateway, a_correction_stops_the_clock_and_restarts_it_from_the_corrected_application)
{
    long long doc = new_request(3);
    expect_state(sec, doc, "register", NULL, NULL, "registered");
    json_t *q = request_of(sec, doc);
    char ref[65];
    snprintf(ref, sizeof(ref), "%s", text_of(q, "bundle_id"));
    json_decref(q);
    expect_refusal(sec, doc, "request_correction", NULL, NULL, 400, "bad_field"); /* needs the opinion */
    expect_state(sec, doc, "request_correction", "请补正：说明所需信息的时间范围", NULL, "correcting");
    json_t *d = get_doc(sec, doc);
    cr_assert_str_eq(text_of(d, "request_due"), "", "the clock is stopped");
    cr_assert_str_eq(text_of(json_object_get(d, "request"), "clock"), "stopped");
    json_decref(d);
    /* Once only. */
    struct resp r = import_correction(ref, ++seq, 0);
    json_t *j = ok_json(&r, 201);
    cr_assert_eq(json_integer_value(json_object_get(j, "document_id")), doc);
    json_decref(j);
    d = get_doc(sec, doc);
    cr_assert_str_eq(text_of(d, "state"), "registered");
    char due[11];
    day_text(oa_request_due(shanghai_day(0), NULL, 0), due);
    cr_assert_str_eq(text_of(d, "request_due"), due, "20 working days from the corrected application");
    cr_assert_str_eq(text_of(json_object_get(d, "request"), "clock"), "running");
    json_decref(d);
    expect_refusal(sec, doc, "request_correction", "再补正", NULL, 409, "conflict");
    /* A correction nobody awaits any more is refused; the clock does not move (gateway_correction_test). */
    r = import_correction(ref, ++seq, 0);
    cr_assert_eq(r.status, 409, "%s", r.body);
    cr_assert(strstr(r.body, "correction_refused"), "%s", r.body);
    resp_free(&r);
    d = get_doc(sec, doc);
    cr_assert_str_eq(text_of(d, "request_due"), due);
    cr_assert_str_eq(text_of(d, "state"), "registered");
    json_decref(d);
    /* Too late: more than 7 working days after receipt. */
    long long late = new_request(15);
    expect_state(sec, late, "register", NULL, NULL, "registered");
    expect_refusal(sec, late, "request_correction", "请补正", NULL, 409, "conflict");
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(gateway, a_consultation_pauses_the_clock_and_a_leader_extends_it_once)
{
    long long doc = new_request(10);
    expect_state(sec, doc, "register", NULL, NULL, "registered");
    expect_state(sec, doc, "assign", NULL, "{\"assignee\":\"handler\"}", "assigned");
    expect_state(handler, doc, "start", NULL, NULL, "handling");
    /* The letter to the third party went out a week ago (第32条). */
    char since[11], params[64];
    day_text(shanghai_day(7), since);
    snprintf(params, sizeof(params), "{\"since\":\"%s\"}", since);
    expect_refusal(handler, doc, "consult", "征求第三方意见", "{\"since\":\"2999-01-01\"}", 400, "bad_field");
    expect_state(handler, doc, "consult", "征求第三方意见", params, "consulting");
    json_t *q = request_of(handler, doc);
    cr_assert_str_eq(text_of(q, "clock"), "paused");
    json_decref(q);
    expect_state(handler, doc, "consult_done", NULL, NULL, "handling");
    int paused = oa_workdays_between(shanghai_day(7), shanghai_day(0), NULL, 0);
    q = request_of(handler, doc);
    cr_assert_eq(json_integer_value(json_object_get(q, "paused_days")), paused);
    json_decref(q);
    char due[11];
    day_text(oa_workdays_add(shanghai_day(10), OA_REQUEST_DAYS + paused, NULL, 0), due);
    json_t *d = get_doc(handler, doc);
    cr_assert_str_eq(text_of(d, "request_due"), due);
    json_decref(d);
    /* One extension of at most 20 working days, by a leader. */
    expect_refusal(sec, doc, "extend", "需要协调", "{\"days\":20}", 403, "forbidden");
    expect_refusal(mayor, doc, "extend", "需要协调", "{\"days\":21}", 400, "bad_field");
    expect_state(mayor, doc, "extend", "情况复杂，经批准延期", "{\"days\":20}", "handling");
    day_text(oa_workdays_add(shanghai_day(10), OA_REQUEST_DAYS + paused + 20, NULL, 0), due);
    d = get_doc(handler, doc);
    cr_assert_str_eq(text_of(d, "request_due"), due);
    cr_assert(json_is_true(json_object_get(d, "extended")));
    json_decref(d);
    expect_refusal(mayor, doc, "extend", "再延", "{\"days\":5}", 409, "conflict");
    cr_assert_eq(oad_stop(&srv), 0);
}

static long long create_reply(const char *title, int level)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"kind\":\"outgoing\",\"title\":\"%s\",\"body\":\"答复：%s\",\"level\":%d}", title,
             title, level);
    struct resp r = http_json(&srv, "POST", "/v1/documents", handler, body, NULL);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static long long handled_request(void)
{
    long long doc = new_request(0);
    expect_state(sec, doc, "register", NULL, NULL, "registered");
    expect_state(sec, doc, "assign", NULL, "{\"assignee\":\"handler\"}", "assigned");
    expect_state(handler, doc, "start", NULL, NULL, "handling");
    return doc;
}

Test(gateway, each_reply_form_leaves_only_when_public_and_reviewed)
{
    static const struct {
        const char *form, *extra;  /* params besides form and the reply */
        bool ok;
    } rows[] = {
        {"public", "", true},
        {"partial", "", false},
        {"partial", ",\"reason\":\"部分涉及个人隐私（第15条）\"", true},
        {"not_disclosed", ",\"reason\":\"属于国家秘密（第14条）\"", true},
        {"not_exist", "", true},
        {"not_ours", ",\"reason\":\"该信息由市统计局制作\",\"responsible_organ\":\"某市统计局\"", true},
        {"not_ours", "", false},
        {"repeated", "", true},
        {"other_law", ",\"reason\":\"按档案法办理\"", true},
        {"other_law", "", false},
        {"public", ",\"responsible_organ\":\"某局\"", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        long long doc = handled_request();
        long long reply = create_reply("政府信息公开申请答复书", 0);
        if (i == 0) {
            /* The reply's files go out with it. */
            char path[128], hdr[300];
            snprintf(path, sizeof(path), "/v1/documents/%lld/attachments?name=budget.txt", reply);
            snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", handler);
            struct resp up = http_do(&srv, "POST", path, "application/octet-stream", "预算执行情况表", 21, hdr);
            cr_assert_eq(up.status, 201, "%s", up.body);
            resp_free(&up);
        }
        char params[512];
        snprintf(params, sizeof(params), "{\"reply_document_id\":%lld,\"form\":\"%s\"%s}", reply, rows[i].form,
                 rows[i].extra);
        /* No reply leaves before its secrecy review (保密审查). */
        if (rows[i].ok)
            expect_refusal(handler, doc, "reply", NULL, params, 403, "forbidden");
        expect_state(sec, doc, "secrecy_review", "经审查，不涉及国家秘密", NULL, "handling");
        if (!rows[i].ok) {
            expect_refusal(handler, doc, "reply", NULL, params, 400, "bad_field");
            continue;
        }
        expect_state(handler, doc, "reply", NULL, params, "replied");
        json_t *items = items_of(reply);
        cr_assert_eq(json_array_size(items), 1, "%s", rows[i].form);
        json_t *it = json_array_get(items, 0);
        cr_assert_str_eq(text_of(it, "type"), "reply");
        json_t *c = json_object_get(it, "content");
        cr_assert_str_eq(text_of(c, "form"), rows[i].form);
        cr_assert_str_eq(text_of(c, "text"), "答复：政府信息公开申请答复书");
        if (strstr(rows[i].extra, "reason"))
            cr_assert(strlen(text_of(c, "reason")) > 0);
        if (strstr(rows[i].extra, "responsible_organ"))
            cr_assert_str_eq(text_of(c, "responsible_organ"), "某市统计局");
        json_t *files = json_object_get(it, "files");
        cr_assert_eq(json_array_size(files), i == 0 ? 1 : 0);
        if (i == 0) {
            json_t *f = json_array_get(files, 0);
            char hex[65];
            sha256_hex("预算执行情况表", 21, hex);
            cr_assert_str_eq(text_of(f, "sha256"), hex);
            struct resp got = http_json(&srv, "GET", text_of(f, "href"), gw, NULL, NULL);
            cr_assert_eq(got.status, 200, "%s", got.body);
            cr_assert_eq(got.body_len, 21);
            cr_assert_eq(memcmp(got.body, "预算执行情况表", 21), 0);
            resp_free(&got);
        }
        json_decref(items);
    }
    /* A reply above 公开 is refused, audited, and nothing goes out. */
    long long doc = handled_request();
    long long internal = create_reply("答复（内部）", 1);
    expect_state(mayor, doc, "secrecy_review", "已审查", NULL, "handling");
    char params[128];
    snprintf(params, sizeof(params), "{\"reply_document_id\":%lld,\"form\":\"public\"}", internal);
    expect_refusal(handler, doc, "reply", NULL, params, 403, "forbidden");
    json_t *items = items_of(internal);
    cr_assert_eq(json_array_size(items), 0);
    json_decref(items);
    json_t *d = get_doc(handler, doc);
    cr_assert_str_eq(text_of(d, "state"), "handling");
    json_decref(d);
    char aud[128];
    admin_login(&srv, "auditor", "Audit-Trail-2026", aud, sizeof(aud));
    struct resp r = http_json(&srv, "GET", "/v1/audit/entries?event=document.action&limit=1000", aud, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "may leave through the gateway"), "%s", r.body);
    resp_free(&r);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(gateway, the_applicants_personal_data_only_for_those_handling_it)
{
    long long doc = new_request(0);
    json_t *q = request_of(sec, doc);
    cr_assert_str_eq(text_of(json_object_get(q, "applicant"), "id_number"), "110101199001011234");
    json_decref(q);
    q = request_of(other, doc);
    cr_assert_str_eq(text_of(json_object_get(q, "applicant"), "id_number"), "(redacted)");
    cr_assert_str_eq(text_of(json_object_get(q, "applicant"), "name"), "(redacted)");
    cr_assert(json_is_true(json_object_get(q, "personal_data_redacted")));
    json_decref(q);
    expect_state(sec, doc, "register", NULL, NULL, "registered");
    expect_state(sec, doc, "assign", NULL, "{\"assignee\":\"handler\"}", "assigned");
    q = request_of(handler, doc);
    cr_assert_str_eq(text_of(json_object_get(q, "applicant"), "contact"), "13800000000");
    json_decref(q);
    q = request_of(mayor, doc);
    cr_assert_str_eq(text_of(json_object_get(q, "applicant"), "name"), "张三");
    json_decref(q);
    q = request_of(archivist, doc);
    cr_assert_str_eq(text_of(json_object_get(q, "applicant"), "contact"), "(redacted)");
    json_decref(q);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(gateway, an_issued_public_document_is_published_after_review)
{
    long long doc = create_reply("关于2026年度重点工作的通知", 0);
    char path[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld/publication", doc);
    struct resp r = http_json(&srv, "POST", path, handler, "{}", NULL);
    cr_assert_eq(r.status, 409, "not issued yet: %s", r.body);
    resp_free(&r);
    expect_state(handler, doc, "submit", NULL, NULL, "review");
    expect_state(sec, doc, "approve", NULL, NULL, "signoff");
    expect_state(mayor, doc, "sign", NULL, NULL, "register");
    expect_state(sec, doc, "register", NULL, "{\"prefix\":\"府办发\"}", "issue");
    expect_state(sec, doc, "issue", NULL, NULL, "issued");
    r = http_json(&srv, "POST", path, other, "{}", NULL);
    cr_assert_eq(r.status, 403, "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "POST", path, handler, "{\"opinion\":\"建议主动公开\"}", NULL);
    json_t *j = ok_json(&r, 200);
    cr_assert_str_eq(text_of(j, "status"), "proposed");
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/documents/%lld/publication/review", doc);
    r = http_json(&srv, "POST", path, sec, "{\"approve\":true,\"opinion\":\"同意\"}", NULL);
    cr_assert_eq(r.status, 403, "the review is a leader's: %s", r.body);
    resp_free(&r);
    json_t *none = items_of(doc);
    cr_assert_eq(json_array_size(none), 0);
    json_decref(none);
    /* No publication leaves without its secrecy review (保密审查): refused and audited. */
    r = http_json(&srv, "POST", path, mayor, "{\"approve\":true,\"opinion\":\"同意公开\"}", NULL);
    cr_assert_eq(r.status, 403, "%s", r.body);
    cr_assert(strstr(r.body, "secrecy_review"), "%s", r.body);
    resp_free(&r);
    char spath[112];
    snprintf(spath, sizeof(spath), "/v1/documents/%lld/publication/secrecy_review", doc);
    r = http_json(&srv, "POST", spath, sec, "{}", NULL);
    cr_assert_eq(r.status, 400, "the opinion is required: %s", r.body);
    resp_free(&r);
    r = http_json(&srv, "POST", spath, handler, "{\"opinion\":\"不涉密\"}", NULL);
    cr_assert_eq(r.status, 403, "not the proposer's, not a staff member's: %s", r.body);
    resp_free(&r);
    r = http_json(&srv, "POST", spath, sec, "{\"opinion\":\"经审查，不涉及国家秘密\"}", NULL);
    j = ok_json(&r, 200);
    cr_assert(json_is_true(json_object_get(j, "secrecy_reviewed")));
    cr_assert_str_eq(text_of(j, "status"), "proposed");
    json_decref(j);
    r = http_json(&srv, "POST", spath, mayor, "{\"opinion\":\"再审\"}", NULL);
    cr_assert_eq(r.status, 409, "once per proposal: %s", r.body);
    resp_free(&r);
    r = http_json(&srv, "POST", path, mayor, "{\"approve\":true,\"opinion\":\"同意公开\"}", NULL);
    j = ok_json(&r, 200);
    cr_assert_str_eq(text_of(j, "status"), "published");
    json_decref(j);
    json_t *items = items_of(doc);
    cr_assert_eq(json_array_size(items), 1);
    json_t *c = json_object_get(json_array_get(items, 0), "content");
    cr_assert_str_eq(text_of(c, "title"), "关于2026年度重点工作的通知");
    cr_assert(strstr(text_of(c, "number"), "府办发"));
    json_decref(items);
    char aud[128];
    admin_login(&srv, "auditor", "Audit-Trail-2026", aud, sizeof(aud));
    r = http_json(&srv, "GET", "/v1/audit/entries?event=gateway.export&limit=1000", aud, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "\"refused\"") && strstr(r.body, "before the publication is approved"), "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/audit/entries?event=publication.secrecy_review&limit=1000", aud, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "\"ok\"") && strstr(r.body, "\"refused\""), "%s", r.body);
    resp_free(&r);
    /* An internal document is never proposed. */
    long long internal = create_reply("内部通知", 1);
    expect_state(handler, internal, "submit", NULL, NULL, "review");
    expect_state(sec, internal, "approve", NULL, NULL, "signoff");
    expect_state(mayor, internal, "sign", NULL, NULL, "register");
    expect_state(sec, internal, "register", NULL, "{\"prefix\":\"府办发\"}", "issue");
    expect_state(sec, internal, "issue", NULL, NULL, "issued");
    snprintf(path, sizeof(path), "/v1/documents/%lld/publication", internal);
    r = http_json(&srv, "POST", path, handler, "{}", NULL);
    cr_assert_eq(r.status, 403, "%s", r.body);
    resp_free(&r);
    cr_assert_eq(oad_stop(&srv), 0);
}
