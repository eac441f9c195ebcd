/*
 * tests/integration/records_test.c: records officers through the real oad
 * (#16): filing an archived document into a numbered record (档号 of DA/T
 * 22-2015) with its retention from the schedule or overridden with a
 * reason; a filed record refusing every write path; metadata corrections;
 * the catalogue in JSON, CSV and XLSX listing what the reader may see;
 * legal hold and disposal, after which the record's text is in no file of
 * the data directory while its tombstone and audit entries remain.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/sync.h"
#include "proto/value.h"
#include "tests/integration/records_office.h"

TestSuite(records, .init = setup_office);

Test(records, filing_numbers_each_class_without_gaps_and_shows_the_seal)
{
    long long a = archived_doc("关于冬季防火的通知", "正文甲", 1, "2026-03-01", "同意");
    /* No fonds code yet. */
    char json[128];
    snprintf(json, sizeof(json), "{\"document_id\":%lld}", a);
    expect_error(as(ARCHIVIST, "POST", "/v1/records", json), 409, "fonds_unset");
    /* No schedule rule matches and no retention is given. */
    struct resp r = as(ARCHIVIST, "PUT", "/v1/organs/1/fonds", "{\"fonds\":\"Z109\"}");
    json_decref(ok_json(&r, 200));
    expect_error(as(ARCHIVIST, "POST", "/v1/records", json), 409, "retention_unset");
    r = as(ARCHIVIST, "PUT", "/v1/records/schedule",
           "{\"organ_id\":1,\"doc_type\":\"通知\",\"issuer\":\"*\",\"retention\":\"D30\"}");
    json_decref(ok_json(&r, 200));
    /* Only records officers file; the fonds code never changes once set. */
    expect_error(as(DRAFTER, "POST", "/v1/records", json), 403, "forbidden");
    expect_error(as(ARCHIVIST, "PUT", "/v1/organs/1/fonds", "{\"fonds\":\"Z110\"}"), 409, "conflict");

    json_t *j = file_doc(ARCHIVIST, a, "\"class_code\":\"BGS\",\"pages\":3");
    cr_assert_str_eq(json_string_value(json_object_get(j, "archival_no")), "Z109-WS·2026-D30-BGS-0001");
    json_t *seal = json_object_get(j, "seal");
    cr_assert_str_eq(json_string_value(json_object_get(seal, "全宗号")), "Z109");
    cr_assert_eq(json_integer_value(json_object_get(seal, "年度")), 2026);
    cr_assert_str_eq(json_string_value(json_object_get(seal, "保管期限")), "D30");
    cr_assert_str_eq(json_string_value(json_object_get(seal, "件号")), "0001");
    cr_assert_str_eq(json_string_value(json_object_get(seal, "机构(问题)")), "BGS");
    cr_assert_str_eq(json_string_value(json_object_get(j, "title")), "关于冬季防火的通知");
    cr_assert_str_eq(json_string_value(json_object_get(j, "doc_date")), "20260301");
    cr_assert_eq(json_integer_value(json_object_get(j, "pages")), 3);
    /* The 件: the formal document with its final text, and its handling record. */
    json_t *parts = json_object_get(j, "parts");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(parts, 0), "part")), "formal_document");
    json_t *last = json_array_get(parts, json_array_size(parts) - 1);
    cr_assert_str_eq(json_string_value(json_object_get(last, "part")), "handling_record");
    cr_assert_geq(json_integer_value(json_object_get(last, "steps")), 6);
    json_decref(j);
    /* Filed once. */
    expect_error(as(ARCHIVIST, "POST", "/v1/records", json), 409, "record_filed");

    /* The next of the same class is 0002; another class starts at 0001. */
    long long b = archived_doc("关于春季植树的通知", "正文乙", 0, "2026-04-01", NULL);
    j = file_doc(ARCHIVIST, b, "\"class_code\":\"BGS\"");
    cr_assert_str_eq(json_string_value(json_object_get(j, "archival_no")), "Z109-WS·2026-D30-BGS-0002");
    json_decref(j);
    /* Departing from the schedule needs a reason. */
    long long c = archived_doc("关于机构改革的决定", "正文丙", 0, "2026-05-01", NULL);
    snprintf(json, sizeof(json), "{\"document_id\":%lld,\"retention\":\"Y\",\"class_code\":\"BGS\"}", c);
    expect_error(as(ARCHIVIST, "POST", "/v1/records", json), 400, "reason_required");
    j = file_doc(ARCHIVIST, c, "\"retention\":\"Y\",\"class_code\":\"BGS\",\"reason\":\"涉及机构设置，永久保存\"");
    cr_assert_str_eq(json_string_value(json_object_get(j, "archival_no")), "Z109-WS·2026-Y-BGS-0001");
    cr_assert_str_eq(json_string_value(json_object_get(j, "retention_reason")), "涉及机构设置，永久保存");
    json_decref(j);
    /* A document that is not archived is not filed. */
    r = as(DRAFTER, "POST", "/v1/documents", "{\"kind\":\"outgoing\",\"title\":\"草稿\",\"doc_type\":\"通知\"}");
    j = ok_json(&r, 201);
    snprintf(json, sizeof(json), "{\"document_id\":%lld}", (long long)json_integer_value(json_object_get(j, "id")));
    json_decref(j);
    expect_error(as(ARCHIVIST, "POST", "/v1/records", json), 409, "conflict");
}

Test(records, an_officer_without_the_clearance_files_the_metadata_but_never_reads_the_content)
{
    set_fonds();
    long long s = archived_doc("秘密：关于专项审计的通知", "秘密正文", 2, "2026-06-01", NULL);
    json_t *j = file_doc(CLERK, s, NULL); /* clearance 内部 */
    cr_assert_str_eq(json_string_value(json_object_get(j, "archival_no")), "Z109-WS·2026-D30-0001");
    cr_assert(json_is_false(json_object_get(j, "content_visible")));
    cr_assert_null(json_object_get(j, "title"));
    char *dump = json_dumps(j, 0);
    cr_assert_null(strstr(dump, "审计"), "%s", dump);
    free(dump);
    json_decref(j);
    char path[64];
    snprintf(path, sizeof(path), "/v1/records/%lld", s);
    struct resp r = as(CLERK, "GET", path, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_null(strstr(r.body, "审计"), "%s", r.body);
    resp_free(&r);
    r = as(ARCHIVIST, "GET", path, NULL);
    j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "title")), "秘密：关于专项审计的通知");
    json_decref(j);
    /* The document read gate still refuses the clerk the document itself. */
    snprintf(path, sizeof(path), "/v1/documents/%lld", s);
    expect_error(as(CLERK, "GET", path, NULL), 404, "not_found");
    snprintf(path, sizeof(path), "/v1/records/%lld", s);
    expect_error(as(LOW, "GET", path, NULL), 403, "forbidden");
}

/* Pushes one op as `who` and returns its result's code ("" when applied). */
static void push_code(int who, bool action, long long doc, char *code, size_t cap)
{
    cbor_item_t *op = oa_sync_map(7);
    char op_id[32];
    snprintf(op_id, sizeof(op_id), "op-%d", ++key_counter);
    oa_sync_put_text(op, 0, op_id);
    oa_sync_put_text(op, 1, action ? "act" : "edit");
    oa_sync_put_uint(op, 2, (uint64_t)doc);
    char path[64];
    snprintf(path, sizeof(path), "/v1/documents/%lld", doc);
    struct resp g = as(who, "GET", path, NULL);
    json_t *gj = ok_json(&g, 200);
    oa_sync_put_uint(op, 3, (uint64_t)json_integer_value(json_object_get(gj, "revision")));
    json_decref(gj);
    if (action) {
        oa_sync_put_text(op, 5, "revoke");
        oa_sync_put_text(op, 6, "撤销");
    } else {
        cbor_item_t *f = pv_map(1);
        pv_put_text(f, "title", "改");
        oa_sync_put(op, 4, f);
    }
    cbor_item_t *msg = oa_sync_message("push", 3);
    cbor_item_t *arr = pv_array(1);
    pv_push(arr, op);
    oa_sync_put(msg, 2, arr);
    size_t len = 0;
    unsigned char *body = pv_encode_cbor(msg, &len);
    cbor_decref(&msg);
    char h[300];
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nAccept: application/cbor\r\n", people[who].token);
    struct resp r = http_do(&srv, "POST", "/v1/sync/push", "application/cbor", body, len, h);
    free(body);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cbor_item_t *it = NULL;
    cr_assert_eq(pv_decode_cbor(r.body, r.body_len, &it, NULL, 0), OA_E_OK);
    resp_free(&r);
    const cbor_item_t *res = oa_sync_get(it, 2);
    cr_assert(res && cbor_isa_array(res) && cbor_array_size(res) == 1);
    cbor_item_t *ri = cbor_array_get(res, 0);
    code[0] = '\0';
    oa_sync_text(ri, 3, code, cap);
    cbor_decref(&ri);
    cbor_decref(&it);
}

Test(records, a_filed_record_refuses_every_write_path)
{
    set_fonds();
    long long id = archived_doc("关于表彰先进的通报", "正文", 0, "2026-02-01", NULL);
    char path[160], hdr[256];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", people[SEC].token);
    json_decref(file_doc(ARCHIVIST, id, NULL));

    snprintf(path, sizeof(path), "/v1/documents/%lld", id);
    struct resp r = http_json(&srv, "PATCH", path, people[SEC].token, "{\"title\":\"改\"}", "If-Match: *\r\n");
    expect_error(r, 409, "record_filed");
    snprintf(path, sizeof(path), "/v1/documents/%lld/actions", id);
    r = http_json(&srv, "POST", path, people[MAYOR].token, "{\"action\":\"revoke\",\"opinion\":\"撤销\"}",
                  "Idempotency-Key: rec-revoke\r\n");
    expect_error(r, 409, "record_filed");
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments?name=b.txt", id);
    r = http_do(&srv, "POST", path, "application/octet-stream", "abc", 3, hdr);
    expect_error(r, 409, "record_filed");
    snprintf(path, sizeof(path), "/v1/documents/%lld/label", id);
    r = http_json(&srv, "POST", path, secadm, "{\"level\":1,\"reason\":\"probe\"}", NULL);
    expect_error(r, 409, "record_filed");
    char body[128];
    snprintf(body, sizeof(body), "{\"document\":%lld,\"name\":\"c.txt\",\"length\":3}", id);
    r = http_json(&srv, "POST", "/v1/uploads", people[SEC].token, body, NULL);
    expect_error(r, 409, "record_filed");
    char code[64];
    push_code(SEC, false, id, code, sizeof(code));
    cr_assert_str_eq(code, "record_filed");
    push_code(MAYOR, true, id, code, sizeof(code));
    cr_assert_str_eq(code, "record_filed");

    /* Only a correction with a reason changes the record's metadata, and it is recorded. */
    snprintf(path, sizeof(path), "/v1/records/%lld/corrections", id);
    expect_error(as(ARCHIVIST, "POST", path, "{\"field\":\"pages\",\"value\":\"4\"}"), 400, "reason_required");
    expect_error(as(ARCHIVIST, "POST", path, "{\"field\":\"retention\",\"value\":\"Y\",\"reason\":\"x\"}"), 400,
                 "bad_field");
    r = as(ARCHIVIST, "POST", path, "{\"field\":\"pages\",\"value\":\"4\",\"reason\":\"页数清点有误\"}");
    json_decref(ok_json(&r, 201));
    snprintf(path, sizeof(path), "/v1/records/%lld", id);
    r = as(ARCHIVIST, "GET", path, NULL);
    json_t *j = ok_json(&r, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "pages")), 4);
    json_t *c = json_array_get(json_object_get(j, "corrections"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(c, "field")), "pages");
    cr_assert_str_eq(json_string_value(json_object_get(c, "old")), "1");
    cr_assert_str_eq(json_string_value(json_object_get(c, "new")), "4");
    cr_assert_str_eq(json_string_value(json_object_get(c, "reason")), "页数清点有误");
    cr_assert_eq(json_integer_value(json_object_get(c, "by")), people[ARCHIVIST].id);
    json_decref(j);

    /* Defence in depth: the database itself refuses a change of the filed document. */
    oad_use_db_key(&srv);
    char dbp[400];
    snprintf(dbp, sizeof(dbp), "%s/oa.db", srv.dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(dbp, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char sql[256], *err = NULL;
    snprintf(sql, sizeof(sql), "UPDATE documents SET title = 'x' WHERE id = %lld", id);
    cr_assert_neq(sqlite3_exec(db, sql, NULL, NULL, &err), SQLITE_OK);
    cr_assert(err && strstr(err, "record_filed"), "%s", err ? err : "(none)");
    sqlite3_free(err);
    snprintf(sql, sizeof(sql), "UPDATE records SET archival_no = 'x' WHERE doc_id = %lld", id);
    cr_assert_neq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    snprintf(sql, sizeof(sql), "DELETE FROM records WHERE doc_id = %lld", id);
    cr_assert_neq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* ---- the catalogue ---- */

/* The document ids of a catalogue answer's entries, as "1,2,3". */
static void entry_ids(json_t *j, char *out, size_t cap)
{
    out[0] = '\0';
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "entries"), i, e)
        snprintf(out + strlen(out), cap - strlen(out), "%s%lld", i ? "," : "",
                 (long long)json_integer_value(json_object_get(e, "document_id")));
}

static struct resp get_file(int who, const char *path)
{
    char h[256];
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\n", people[who].token);
    return http_do(&srv, "GET", path, NULL, NULL, 0, h);
}

Test(records, the_catalogue_lists_what_the_reader_may_see_as_json_csv_and_xlsx)
{
    set_fonds();
    long long pub = archived_doc("关于公布办事指南的通知", "正文", 0, "2026-01-10", NULL);
    long long sec = archived_doc("秘密：关于专项审计的通知", "正文", 2, "2026-01-12", NULL);
    long long old = archived_doc("关于二〇一〇年工作的通知", "正文", 1, "2010-05-04", NULL);
    json_decref(file_doc(ARCHIVIST, pub, "\"class_code\":\"BGS\",\"pages\":2,\"note\":\"=1+1\""));
    json_decref(file_doc(ARCHIVIST, sec, "\"class_code\":\"BGS\""));
    json_decref(file_doc(ARCHIVIST, old, "\"retention\":\"D10\",\"reason\":\"一般性事务\""));

    /* JSON: the archivist (绝密) sees all three; the clerk (内部) not the 秘密 one. */
    char ids[128], want[128];
    struct resp r = as(ARCHIVIST, "GET", "/v1/records", NULL);
    json_t *j = ok_json(&r, 200);
    entry_ids(j, ids, sizeof(ids));
    snprintf(want, sizeof(want), "%lld,%lld,%lld", old, pub, sec);
    cr_assert_str_eq(ids, want);
    json_t *e = json_array_get(json_object_get(j, "entries"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(e, "archival_no")), "Z109-WS·2026-D30-BGS-0001");
    cr_assert_str_eq(json_string_value(json_object_get(e, "responsible")), "某市人民政府");
    cr_assert_str_eq(json_string_value(json_object_get(e, "doc_date")), "20260110");
    cr_assert_str_eq(json_string_value(json_object_get(e, "level_name")), "公开");
    cr_assert(json_string_value(json_object_get(e, "doc_number"))[0] != '\0');
    json_decref(j);
    r = as(CLERK, "GET", "/v1/records", NULL);
    j = ok_json(&r, 200);
    entry_ids(j, ids, sizeof(ids));
    snprintf(want, sizeof(want), "%lld,%lld", old, pub);
    cr_assert_str_eq(ids, want);
    json_decref(j);
    /* Filters. */
    r = as(ARCHIVIST, "GET", "/v1/records?fonds=Z109&year=2026&retention=D30&class=BGS", NULL);
    j = ok_json(&r, 200);
    entry_ids(j, ids, sizeof(ids));
    snprintf(want, sizeof(want), "%lld,%lld", pub, sec);
    cr_assert_str_eq(ids, want);
    json_decref(j);
    r = as(ARCHIVIST, "GET", "/v1/records?year=2010", NULL);
    j = ok_json(&r, 200);
    entry_ids(j, ids, sizeof(ids));
    snprintf(want, sizeof(want), "%lld", old);
    cr_assert_str_eq(ids, want);
    json_decref(j);
    expect_error(as(LOW, "GET", "/v1/records", NULL), 403, "forbidden");
    expect_error(as(ARCHIVIST, "GET", "/v1/records?format=pdf", NULL), 400, "bad_request");

    /* CSV: the header, one line per record the clerk may see, a formula defused. */
    r = get_file(CLERK, "/v1/records?format=csv");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.content_type, "text/csv"), "%s", r.content_type);
    cr_assert_eq(memcmp(r.body, "\xEF\xBB\xBF件号,档号,责任者,文号,题名,日期,页数,密级,备注\r\n", 3 + 52), 0, "%s", r.body);
    cr_assert(strstr(r.body, "0001,Z109-WS·2026-D30-BGS-0001,某市人民政府,"), "%s", r.body);
    cr_assert(strstr(r.body, ",关于公布办事指南的通知,20260110,2,公开,\"'=1+1\"\r\n"), "%s", r.body);
    cr_assert_null(strstr(r.body, "审计"), "%s", r.body);
    int lines = 0;
    for (const char *p = r.body; (p = strstr(p, "\r\n")) != NULL; p += 2)
        lines++;
    cr_assert_eq(lines, 3);
    resp_free(&r);

    /* XLSX: a zip whose sheet lists what the reader may see (python3's zipfile reads it). */
    for (int k = 0; k < 2; k++) {
        int who = k ? CLERK : ARCHIVIST;
        r = get_file(who, "/v1/records?format=xlsx");
        cr_assert_eq(r.status, 200, "%s", r.body);
        cr_assert(strstr(r.content_type, "spreadsheetml"), "%s", r.content_type);
        cr_assert_eq(memcmp(r.body, "PK\x03\x04", 4), 0);
        char file[400], cmd[1200], out[8192];
        snprintf(file, sizeof(file), "%s/../catalogue-%d.xlsx", srv.dir, k);
        FILE *f = fopen(file, "wb");
        cr_assert_not_null(f);
        cr_assert_eq(fwrite(r.body, 1, r.body_len, f), r.body_len);
        fclose(f);
        resp_free(&r);
        snprintf(cmd, sizeof(cmd),
                 "python3 -c 'import sys, zipfile, re; z = zipfile.ZipFile(sys.argv[1]);"
                 " names = z.namelist(); assert \"xl/worksheets/sheet1.xml\" in names, names;"
                 " wb = z.read(\"xl/workbook.xml\").decode(); assert \"归档文件目录\" in wb, wb;"
                 " ss = z.read(\"xl/sharedStrings.xml\").decode() if \"xl/sharedStrings.xml\" in names else \"\";"
                 " rows = re.findall(r\"<row \", z.read(\"xl/worksheets/sheet1.xml\").decode());"
                 " print(len(rows)); print(ss)' %s",
                 file);
        cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
        cr_assert_eq(atoi(out), k ? 3 : 4, "%s", out);
        cr_assert(strstr(out, "关于公布办事指南的通知") && strstr(out, "Z109-WS·2010-D10-0001"), "%s", out);
        cr_assert_eq(strstr(out, "秘密：关于专项审计的通知") != NULL, k == 0, "%s", out);
    }
}

/* ---- retention and disposal ---- */

#include <dirent.h>
#include <sys/stat.h>

#define MARKER "MARKER-7f3a9c-dispose"

static int plain_count(const char *sql)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/oa.db", srv.dir);
    sqlite3 *db;
    /* storage.encrypt=false: the plain file, past the encrypting VFS oad_init made the default. */
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, "unix"), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static long long propose(const char *docs, int status, const char *code)
{
    char json[256];
    snprintf(json, sizeof(json), "{\"documents\":[%s],\"reason\":\"保管期限已满，经鉴定无继续保存价值\"}", docs);
    struct resp r = as(ARCHIVIST, "POST", "/v1/disposals", json);
    if (status != 201) {
        expect_error(r, status, code);
        return 0;
    }
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "proposed");
    json_decref(j);
    return id;
}

static void disposal_office(void)
{
    start_office((const char *const[]){"storage.encrypt=false", NULL});
    set_fonds();
}

TestSuite(disposal, .init = disposal_office);

Test(disposal, a_held_record_refuses_disposal_and_a_disposed_one_leaves_only_its_tombstone_and_audit)
{
    /* The record to dispose of: the marker in its body, an opinion and an attachment (name and bytes). */
    struct resp r = as(DRAFTER, "POST", "/v1/documents",
                       "{\"kind\":\"outgoing\",\"title\":\"关于二〇一〇年春运工作的通知\",\"body\":\"正文 " MARKER
                       " 正文\",\"doc_type\":\"通知\",\"level\":0,\"doc_date\":\"2010-01-15\"}");
    json_t *j = ok_json(&r, 201);
    long long a = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    char path[256], hdr[256];
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments?name=" MARKER ".txt", a);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", people[DRAFTER].token);
    r = http_do(&srv, "POST", path, "application/octet-stream", "attachment " MARKER, strlen("attachment " MARKER), hdr);
    j = ok_json(&r, 201);
    long long att = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    act(DRAFTER, a, "submit", "请审核 " MARKER, NULL, 200);
    act(SEC, a, "approve", NULL, NULL, 200);
    act(MAYOR, a, "sign", "同意 " MARKER, NULL, 200);
    act(SEC, a, "register", NULL, "{\"prefix\":\"某府办发\"}", 200);
    act(SEC, a, "issue", NULL, NULL, 200);
    act(ARCHIVIST, a, "archive", NULL, NULL, 200);
    json_decref(file_doc(ARCHIVIST, a, "\"retention\":\"D10\",\"reason\":\"一般性事务\""));
    /* Another due record, a permanent one, and one not yet due. */
    long long held = archived_doc("关于二〇一〇年防汛的通知", "正文", 0, "2010-06-01", NULL);
    json_decref(file_doc(ARCHIVIST, held, "\"retention\":\"D10\",\"reason\":\"一般性事务\""));
    long long perm = archived_doc("关于机构设置的决定", "正文", 0, "2000-06-01", NULL);
    json_decref(file_doc(ARCHIVIST, perm, "\"retention\":\"Y\",\"reason\":\"机构沿革\""));
    long long young = archived_doc("关于今年工作的通知", "正文", 0, "2026-06-01", NULL);
    json_decref(file_doc(ARCHIVIST, young, NULL));

    /* The appraisal list: the two 2010 D10 records, never the permanent one nor the young one. */
    r = as(MAYOR, "GET", "/v1/records/appraisal", NULL);
    j = ok_json(&r, 200);
    char ids[128], want[128];
    entry_ids(j, ids, sizeof(ids));
    snprintf(want, sizeof(want), "%lld,%lld", a, held);
    cr_assert_str_eq(ids, want);
    json_decref(j);

    /* Proposals: not due, permanent, held, and no reason are refused. */
    char list[64];
    snprintf(list, sizeof(list), "%lld", young);
    propose(list, 409, "record_not_due");
    snprintf(list, sizeof(list), "%lld", perm);
    propose(list, 409, "record_not_due");
    snprintf(path, sizeof(path), "/v1/records/%lld/hold", held);
    expect_error(as(ARCHIVIST, "PUT", path, "{\"hold\":true}"), 400, "reason_required");
    r = as(ARCHIVIST, "PUT", path, "{\"hold\":true,\"reason\":\"涉及诉讼，冻结\"}");
    json_decref(ok_json(&r, 200));
    snprintf(list, sizeof(list), "%lld,%lld", a, held);
    propose(list, 409, "record_held");
    snprintf(list, sizeof(list), "{\"documents\":[%lld]}", a);
    expect_error(as(ARCHIVIST, "POST", "/v1/disposals", list), 400, "reason_required");
    expect_error(as(DRAFTER, "POST", "/v1/disposals", list), 403, "forbidden");

    /* A hold that comes after the proposal still stops the approval. */
    r = as(ARCHIVIST, "PUT", path, "{\"hold\":false,\"reason\":\"诉讼结束\"}");
    json_decref(ok_json(&r, 200));
    snprintf(list, sizeof(list), "%lld", held);
    long long l1 = propose(list, 201, NULL);
    r = as(ARCHIVIST, "PUT", path, "{\"hold\":true,\"reason\":\"再次冻结\"}");
    json_decref(ok_json(&r, 200));
    snprintf(path, sizeof(path), "/v1/disposals/%lld/decision", l1);
    expect_error(as(MAYOR, "POST", path, "{\"approve\":true,\"opinion\":\"同意销毁\"}"), 409, "record_held");
    snprintf(path, sizeof(path), "/v1/records/%lld", held);
    r = as(ARCHIVIST, "GET", path, NULL);
    j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "filed");
    json_decref(j);

    /* The list of the marked record: only a leader approves, never its proposer. */
    snprintf(list, sizeof(list), "%lld", a);
    long long l2 = propose(list, 201, NULL);
    snprintf(path, sizeof(path), "/v1/disposals/%lld/decision", l2);
    expect_error(as(ARCHIVIST, "POST", path, "{\"approve\":true,\"opinion\":\"同意\"}"), 403, "forbidden");
    expect_error(as(MAYOR, "POST", path, "{\"approve\":true}"), 400, "reason_required");
    char where[1024];
    cr_assert(tree_holds(srv.dir, MARKER, where, sizeof(where)), "the marker should be in the plain database before");
    int audit_before = plain_count("SELECT count(*) FROM audit_log");
    r = as(MAYOR, "POST", path, "{\"approve\":true,\"opinion\":\"同意销毁\"}");
    j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "disposed");
    json_decref(j);
    expect_error(as(DEPUTY, "POST", path, "{\"approve\":true,\"opinion\":\"再次\"}"), 409, "conflict");

    /* No byte of its text is left in any file of the data directory. */
    cr_assert(!tree_holds(srv.dir, MARKER, where, sizeof(where)), "the marker is still in %s", where);
    /* Its files are crypto-shredded: gone, for everyone. */
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments/%lld", a, att);
    expect_error(as(DRAFTER, "GET", path, NULL), 410, "gone");
    /* The tombstone and the record remain. */
    snprintf(path, sizeof(path), "/v1/records/%lld", a);
    r = as(ARCHIVIST, "GET", path, NULL);
    j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "disposed");
    json_t *t = json_object_get(j, "tombstone");
    cr_assert_str_eq(json_string_value(json_object_get(t, "archival_no")), "Z109-WS·2010-D10-0001");
    cr_assert_str_eq(json_string_value(json_object_get(t, "title")), "关于二〇一〇年春运工作的通知");
    cr_assert_eq(json_integer_value(json_object_get(t, "approved_by")), people[MAYOR].id);
    json_decref(j);
    /* Every audit entry remains, with the disposal's own, and the trail verifies. */
    cr_assert_geq(plain_count("SELECT count(*) FROM audit_log"), audit_before + 2);
    cr_assert_eq(plain_count("SELECT count(*) FROM audit_log WHERE event = 'record.dispose'"), 1);
    cr_assert_eq(plain_count("SELECT count(*) FROM audit_log WHERE event = 'record.file'"), 4);
    char out[4096], cmd[700];
    snprintf(cmd, sizeof(cmd), "server/oad audit verify --data %s", srv.dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    /* The disposed record is out of the catalogue, and its list records the decision. */
    r = as(ARCHIVIST, "GET", "/v1/records", NULL);
    j = ok_json(&r, 200);
    entry_ids(j, ids, sizeof(ids));
    snprintf(want, sizeof(want), "%lld", a);
    cr_assert_null(strstr(ids, want) == ids ? ids : NULL, "%s", ids);
    json_decref(j);
    r = as(MAYOR, "GET", "/v1/disposals", NULL);
    j = ok_json(&r, 200);
    json_t *first = json_array_get(json_object_get(j, "lists"), 0);
    cr_assert_eq(json_integer_value(json_object_get(first, "id")), l2);
    cr_assert_eq(json_integer_value(json_object_get(first, "approved_by")), people[MAYOR].id);
    json_decref(j);
}

Test(records, records_whose_secrecy_period_ended_are_listed_for_declassification_review)
{
    set_fonds();
    long long ended = archived_doc("秘密：二〇一二年的通知", "正文", 2, "2012-01-05", NULL); /* 秘密: 10 years at most */
    long long current = archived_doc("秘密：今年的通知", "正文", 2, "2026-01-05", NULL);
    long long open = archived_doc("二〇〇〇年的公开通知", "正文", 0, "2000-01-05", NULL);
    json_decref(file_doc(ARCHIVIST, ended, NULL));
    json_decref(file_doc(ARCHIVIST, current, NULL));
    json_decref(file_doc(ARCHIVIST, open, NULL));
    struct resp r = as(ARCHIVIST, "GET", "/v1/records/declassification", NULL);
    json_t *j = ok_json(&r, 200);
    char ids[64], want[64];
    entry_ids(j, ids, sizeof(ids));
    snprintf(want, sizeof(want), "%lld", ended);
    cr_assert_str_eq(ids, want);
    json_t *e = json_array_get(json_object_get(j, "entries"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(e, "title")), "秘密：二〇一二年的通知");
    json_decref(j);
    /* The clerk (内部) sees the entry, not its title. */
    r = as(CLERK, "GET", "/v1/records/declassification", NULL);
    j = ok_json(&r, 200);
    e = json_array_get(json_object_get(j, "entries"), 0);
    cr_assert_not_null(e);
    cr_assert_null(json_object_get(e, "title"));
    json_decref(j);
    expect_error(as(DRAFTER, "GET", "/v1/records/declassification", NULL), 403, "forbidden");
}
