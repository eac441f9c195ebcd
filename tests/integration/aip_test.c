/*
 * tests/integration/aip_test.c: archival packages through the real oad
 * (#16): a filed record's package verifies offline (proto/aip.h, no
 * database) with every audit entry about it proved under the signed
 * checkpoint; the four-property check on demand; a record missing a
 * required element (an incoming document without its 文件编号) fails the
 * check at filing and is not filed; a 秘密 record leaves only in its
 * envelope, and not at all without the archive's certificate.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/value.h"
#include "proto/aip.h"
#include "tests/integration/records_office.h"

TestSuite(aip, .init = setup_office);

Test(aip, a_filed_record_packages_and_verifies_offline)
{
    set_fonds();
    long long id = archived_doc("关于冬季防火的通知", "正文：请各单位做好冬季防火工作。", 1, "2026-03-01", "同意");
    json_t *j = file_doc(ARCHIVIST, id, "\"class_code\":\"BGS\"");
    char archival_no[96];
    snprintf(archival_no, sizeof archival_no, "%s", json_string_value(json_object_get(j, "archival_no")));
    json_decref(j);
    sleep(2); /* the writer signs a checkpoint within a second of new entries */

    char path[64];
    snprintf(path, sizeof(path), "/v1/records/%lld/package", id);
    expect_error(as(DRAFTER, "GET", path, NULL), 403, "forbidden");
    struct resp r = as(ARCHIVIST, "GET", path, NULL);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    cr_assert_str_eq(r.content_type, "application/x-tar");
    struct aip_pkg p = {0};
    struct aip_limits lim;
    aip_limits_default(&lim);
    char why[256] = "";
    cr_assert_eq(aip_read(r.body, r.body_len, &lim, &p, why, sizeof why), 0, "%s", why);
    resp_free(&r);
    struct aip_report rep = {0};
    aip_verify(&p, NULL, &rep);
    char *text = aip_report_text(&rep, archival_no);
    cr_assert(aip_report_ok(&rep), "%s", text);
    free(text);
    cr_assert_eq(rep.records, 1);
    cr_assert_geq(rep.entries, 7, "every step's audit entry is proved (%zu)", rep.entries);
    aip_report_free(&rep);
    /* The formal text in its original bytes, and the catalogue entry as the metadata. */
    const struct aip_entry *body = aip_pkg_find(&p, "data/0001/files/1-正文.txt");
    cr_assert_not_null(body);
    cr_assert_str_eq((const char *)body->data, "正文：请各单位做好冬季防火工作。");
    const struct aip_entry *meta = aip_pkg_find(&p, "data/0001/metadata.json");
    cr_assert_not_null(strstr((const char *)meta->data, archival_no));
    cr_assert_not_null(strstr((const char *)meta->data, "\"密级\": \"内部\""));
    cr_assert_not_null(strstr((const char *)meta->data, "\"步骤\": \"sign\""));
    aip_pkg_free(&p);

    /* The check on demand. */
    snprintf(path, sizeof(path), "/v1/records/%lld/check", id);
    expect_error(as(DRAFTER, "POST", path, "{}"), 403, "forbidden");
    r = as(ARCHIVIST, "POST", path, "{}");
    j = ok_json(&r, 200);
    cr_assert(json_is_true(json_object_get(j, "passed")), "%s", json_string_value(json_object_get(j, "text")));
    json_t *props = json_object_get(json_object_get(j, "report"), "properties");
    cr_assert(json_is_true(json_object_get(props, "authenticity")));
    cr_assert(json_is_true(json_object_get(props, "completeness")));
    cr_assert(json_is_true(json_object_get(props, "usability")));
    cr_assert(json_is_true(json_object_get(props, "security")));
    json_decref(j);
}

Test(aip, a_record_missing_a_required_element_is_not_filed)
{
    set_fonds();
    /* An incoming document handled to the end, but it came without a 文件编号. */
    struct resp r = as(SEC, "POST", "/v1/documents",
                       "{\"kind\":\"incoming\",\"title\":\"来文：关于防汛的通知\",\"body\":\"正文\",\"doc_type\":\"通知\","
                       "\"level\":0,\"doc_date\":\"2026-03-05\"}");
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    act(SEC, id, "sign_for", NULL, NULL, 200);
    act(SEC, id, "register", NULL, NULL, 200);
    act(SEC, id, "accept", NULL, NULL, 200);
    act(SEC, id, "propose", "拟请办公室办理", NULL, 200);
    act(MAYOR, id, "instruct", "请办理", "{\"lead_department_id\":1}", 200);
    act(DRAFTER, id, "complete", "已办结", NULL, 200);
    act(ARCHIVIST, id, "archive", NULL, NULL, 200);
    char json[64];
    snprintf(json, sizeof(json), "{\"document_id\":%lld}", id);
    r = as(ARCHIVIST, "POST", "/v1/records", json);
    cr_assert_eq(r.status, 422, "%d %s", r.status, r.body);
    j = resp_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(j, "code")), "record_check_failed");
    const char *msg = json_string_value(json_object_get(j, "message"));
    cr_assert_not_null(strstr(msg, "文件编号"), "%s", msg);
    cr_assert_not_null(strstr(msg, "完整性"), "%s", msg);
    json_decref(j);
    resp_free(&r);
    char path[64];
    snprintf(path, sizeof(path), "/v1/records/%lld", id);
    expect_error(as(ARCHIVIST, "GET", path, NULL), 404, "not_found");
}

Test(aip, a_secret_record_does_not_leave_without_the_archive_certificate)
{
    set_fonds();
    long long id = archived_doc("关于某项工作的请示", "正文：秘密内容", 2, "2026-03-01", "同意");
    json_decref(file_doc(ARCHIVIST, id, NULL));
    char path[64];
    snprintf(path, sizeof(path), "/v1/records/%lld/package", id);
    expect_error(as(ARCHIVIST, "GET", path, NULL), 409, "aip_recipient_missing");
}

static char cert_dir[] = "/tmp/oa-aip-certXXXXXX";
static char cert_setting[600], key_path[600];

static void setup_with_recipient(void)
{
    cr_assert_not_null(mkdtemp(cert_dir));
    char cmd[2048];
    snprintf(key_path, sizeof key_path, "%s/archive.key", cert_dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s "
             "-out %s/archive.pem -subj /CN=archive -days 1 2>/dev/null",
             key_path, cert_dir);
    cr_assert_eq(system(cmd), 0);
    snprintf(cert_setting, sizeof cert_setting, "records.recipient_cert=%s/archive.pem", cert_dir);
    const char *extra[] = {cert_setting, NULL};
    start_office(extra);
}

TestSuite(aip_secret, .init = setup_with_recipient);

Test(aip_secret, a_secret_record_leaves_in_its_envelope_and_opens_with_the_archive_key)
{
    set_fonds();
    long long id = archived_doc("关于某项工作的请示", "正文：秘密内容", 2, "2026-03-01", "同意");
    json_decref(file_doc(ARCHIVIST, id, NULL));
    char path[64], cert[700], why[256] = "";
    snprintf(path, sizeof(path), "/v1/records/%lld/package", id);
    struct resp r = as(ARCHIVIST, "GET", path, NULL);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    cr_assert_not_null(strstr(r.content_type, "application/pkcs7-mime"));
    cr_assert(aip_is_envelope((const unsigned char *)r.body, r.body_len));
    cr_assert_null(memmem(r.body, r.body_len, "秘密内容", strlen("秘密内容")));
    snprintf(cert, sizeof cert, "%s/archive.pem", cert_dir);
    unsigned char *tar = NULL;
    size_t len = 0;
    cr_assert_eq(aip_envelope_open((const unsigned char *)r.body, r.body_len, key_path, cert, &tar, &len, why,
                                   sizeof why),
                 0, "%s", why);
    resp_free(&r);
    struct aip_pkg p = {0};
    struct aip_limits lim;
    aip_limits_default(&lim);
    cr_assert_eq(aip_read(tar, len, &lim, &p, why, sizeof why), 0, "%s", why);
    const struct aip_entry *body = aip_pkg_find(&p, "data/0001/files/1-正文.txt");
    cr_assert_not_null(body);
    cr_assert_str_eq((const char *)body->data, "正文：秘密内容"); /* plain inside the envelope */
    aip_pkg_free(&p);
    free(tar);
}

Test(aip, a_transfer_batch_passes_the_check_leaves_with_its_list_and_is_received)
{
    set_fonds();
    long long a = archived_doc("关于甲事项的通知", "正文甲", 1, "2026-03-01", "同意");
    long long b = archived_doc("关于乙事项的通知", "正文乙", 0, "2026-03-02", "同意");
    long long c = archived_doc("关于丙事项的通知", "正文丙", 0, "2026-03-03", "同意");
    json_decref(file_doc(ARCHIVIST, a, "\"class_code\":\"BGS\""));
    json_decref(file_doc(ARCHIVIST, b, "\"class_code\":\"BGS\""));
    json_decref(file_doc(ARCHIVIST, c, "\"class_code\":\"BGS\""));
    sleep(2);
    char json[256];
    /* 0001 and 0003 without 0002: a gap in the class's 件号. */
    snprintf(json, sizeof json, "{\"documents\":[%lld,%lld],\"archive\":\"某市档案馆\"}", a, c);
    struct resp r = as(ARCHIVIST, "POST", "/v1/transfers", json);
    cr_assert_eq(r.status, 422, "%d %s", r.status, r.body);
    cr_assert_not_null(strstr(r.body, "piece_gap"), "%s", r.body);
    resp_free(&r);
    expect_error(as(DRAFTER, "POST", "/v1/transfers", json), 403, "forbidden");

    snprintf(json, sizeof json, "{\"documents\":[%lld,%lld,%lld],\"archive\":\"某市档案馆\"}", a, b, c);
    r = as(ARCHIVIST, "POST", "/v1/transfers", json);
    json_t *j = ok_json(&r, 201);
    long long t = json_integer_value(json_object_get(j, "id"));
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "sent");
    json_t *list = json_object_get(j, "transfer_list");
    cr_assert_eq(json_integer_value(json_object_get(list, "件数")), 3);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(list, "目录"), 1), "档号")),
                     "Z109-WS·2026-D30-BGS-0002");
    cr_assert(json_is_true(json_object_get(json_object_get(j, "report"), "passed")));
    json_decref(j);
    /* A record goes in one transfer. */
    snprintf(json, sizeof json, "{\"documents\":[%lld],\"archive\":\"某市档案馆\"}", b);
    expect_error(as(ARCHIVIST, "POST", "/v1/transfers", json), 409, "conflict");

    /* The batch's package: three records and the transfer list, verified offline. */
    char path[64];
    snprintf(path, sizeof path, "/v1/transfers/%lld/package", t);
    r = as(ARCHIVIST, "GET", path, NULL);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    struct aip_pkg p = {0};
    struct aip_limits lim;
    aip_limits_default(&lim);
    char why[256] = "";
    cr_assert_eq(aip_read(r.body, r.body_len, &lim, &p, why, sizeof why), 0, "%s", why);
    resp_free(&r);
    cr_assert_str_eq(p.base, "oa-transfer-1");
    const struct aip_entry *tl = aip_pkg_find(&p, "data/transfer-list.json");
    cr_assert_not_null(tl);
    cr_assert_not_null(strstr((const char *)tl->data, "某市档案馆"));
    struct aip_report rep = {0};
    struct aip_check_policy pol = {.scan_optional = true};
    cr_assert_eq(aip_check(&p, NULL, &pol, &rep, why, sizeof why), 0, "%s", why);
    char *text = aip_report_text(&rep, "batch");
    cr_assert(aip_report_ok(&rep), "%s", text);
    free(text);
    cr_assert_eq(rep.records, 3);
    aip_report_free(&rep);
    aip_pkg_free(&p);

    /* The archive's receipt marks the records transferred, once. */
    snprintf(path, sizeof path, "/v1/transfers/%lld/receipt", t);
    expect_error(as(ARCHIVIST, "POST", path, "{\"receipt\":\"已接收三件\"}"), 400, "bad_field");
    r = as(ARCHIVIST, "POST", path, "{\"receipt\":\"某市档案馆接收回执：已接收三件，四性检测通过。\",\"received_by\":\"王档案\"}");
    j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "received");
    cr_assert_str_eq(json_string_value(json_object_get(j, "received_by")), "王档案");
    json_decref(j);
    expect_error(as(ARCHIVIST, "POST", path, "{\"receipt\":\"again\",\"received_by\":\"王档案\"}"), 409, "conflict");
    snprintf(path, sizeof path, "/v1/records/%lld", b);
    r = as(ARCHIVIST, "GET", path, NULL);
    j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "transferred");
    json_decref(j);
    snprintf(path, sizeof path, "/v1/transfers/%lld", t);
    r = as(ARCHIVIST, "GET", path, NULL);
    j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "received");
    json_decref(j);
    expect_error(as(ARCHIVIST, "GET", "/v1/transfers/99", NULL), 404, "not_found");
}
