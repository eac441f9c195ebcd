/*
 * tests/integration/label_test.c: a document's label bound by its MAC
 * (#17, GB/T 39786 8.4 c), through the real oad.  A 机密 document's level
 * lowered in oa.db behind oad's back (sqlite3 through the database key, oad
 * stopped) is detected by the read gate: the reader the edited label would
 * let in gets 500 label_tampered and none of the document, a list shows
 * nothing of it, secadmin cannot relabel it (which would seal the edit),
 * and each attempt is in the audit trail.  Put back, it reads again.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness.h"

#define MARKER "LBLMARK5521"

static struct oad srv;
static char sys[128], secadm[128], aud[128], writer[128], low[128];

static void db_exec(const char *sql)
{
    char path[400];
    sqlite3 *db = NULL;
    snprintf(path, sizeof(path), "%s/oa.db", srv.dir);
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &err), SQLITE_OK, "%s: %s", sql, err ? err : "");
    sqlite3_close(db);
}

static struct resp get(const char *token, long long id)
{
    char path[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld", id);
    return http_json(&srv, "GET", path, token, NULL, NULL);
}

Test(label, a_label_edited_on_disk_is_refused_audited_and_never_sealed)
{
    oad_start(&srv, NULL);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", secadm, sizeof(secadm));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    resp_free(&r);
    make_person(&srv, sys, secadm, "writer", "[\"staff\"]", 3, "Fresh-Secret-3-Qx", writer, sizeof(writer));
    make_person(&srv, sys, secadm, "lowly", "[\"staff\"]", 1, "Fresh-Secret-1-Qx", low, sizeof(low));
    r = http_json(&srv, "POST", "/v1/documents", writer,
                  "{\"kind\":\"outgoing\",\"title\":\"" MARKER " 机密标题\",\"level\":3,\"body\":\"" MARKER " 正文\"}",
                  NULL);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    r = get(low, id);
    cr_assert_eq(r.status, 404, "%s", r.body);
    resp_free(&r);
    cr_assert_eq(oad_stop(&srv), 0);

    /* 机密 -> 内部 in the database, not through oad. */
    char sql[200];
    snprintf(sql, sizeof(sql), "UPDATE documents SET level = 1 WHERE id = %lld", id);
    db_exec(sql);
    oad_serve(&srv, NULL);
    cr_assert_eq(login(&srv, "lowly", "Fresh-Secret-1-Qx", low, sizeof(low)), 201);
    cr_assert_eq(login(&srv, "writer", "Fresh-Secret-3-Qx", writer, sizeof(writer)), 201);
    r = get(low, id);
    cr_assert_eq(r.status, 500, "a label lowered on disk let a 内部 reader in: %d %s", r.status, r.body);
    cr_assert(strstr(r.body, "\"label_tampered\""), "%s", r.body);
    cr_assert_null(strstr(r.body, MARKER), "%s", r.body);
    resp_free(&r);
    r = get(writer, id);
    cr_assert_eq(r.status, 500, "%s", r.body);
    cr_assert_null(strstr(r.body, MARKER), "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/documents?view=all", low, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_null(strstr(r.body, MARKER), "a list shows the tampered document: %s", r.body);
    resp_free(&r);
    char path[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld/label", id);
    r = http_json(&srv, "POST", path, secadm, "{\"level\":1,\"reason\":\"降为内部\"}", NULL);
    cr_assert_eq(r.status, 500, "secadmin sealed a label edited on disk: %d %s", r.status, r.body);
    cr_assert(strstr(r.body, "\"label_tampered\""), "%s", r.body);
    resp_free(&r);
    admin_login(&srv, "auditor", "Trail-Watcher-2026", aud, sizeof(aud));
    snprintf(path, sizeof(path), "/v1/audit/entries?event=document.label_tampered&doc=%lld", id);
    r = http_json(&srv, "GET", path, aud, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "lowly") && strstr(r.body, "writer") && strstr(r.body, "secadmin"), "%s", r.body);
    cr_assert(strstr(r.body, "document.relabel"), "%s", r.body);
    resp_free(&r);
    cr_assert_eq(oad_stop(&srv), 0);

    /* Put back as oad wrote it: the document reads again, for its reader only. */
    snprintf(sql, sizeof(sql), "UPDATE documents SET level = 3 WHERE id = %lld", id);
    db_exec(sql);
    oad_serve(&srv, NULL);
    cr_assert_eq(login(&srv, "writer", "Fresh-Secret-3-Qx", writer, sizeof(writer)), 201);
    cr_assert_eq(login(&srv, "lowly", "Fresh-Secret-1-Qx", low, sizeof(low)), 201);
    r = get(writer, id);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, MARKER), "%s", r.body);
    resp_free(&r);
    r = get(low, id);
    cr_assert_eq(r.status, 404, "%s", r.body);
    resp_free(&r);
    cr_assert_eq(oad_stop(&srv), 0);
}
