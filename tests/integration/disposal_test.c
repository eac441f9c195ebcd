/*
 * tests/integration/disposal_test.c: what disposal leaves behind, through
 * the real oad.  A record that went out through the exchange gateway (a
 * reply to a public request, with a file) and is then disposed of leaves
 * nothing of its own: no copy of its text in the gateway's outbox, no
 * outbox item that still leaves, and none of its encrypted blob files on
 * disk (crypto-shredded keys make them unreadable, but they piled up);
 * the blobs of other documents stay, and fsck is clean.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/records_office.h"

#define MARKER "MARKER-5e21d0-outbox"

static char gw[128];

static void office(void)
{
    /* storage.encrypt=false: the database file is plain, so a byte of text left in it can be found. */
    start_office((const char *const[]){"storage.encrypt=false", NULL});
    make_person(&srv, sys, secadm, "gateway", "[\"gateway\"]", 0, "Ferry-Link-2026-q", gw, sizeof(gw));
    set_fonds();
}

TestSuite(disposal_leftovers, .init = office);

/* The regular files under DATA/blobs (recursively). */
static int count_files(const char *d)
{
    DIR *dh = opendir(d);
    if (dh == NULL)
        return 0;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(dh)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[1024];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
        if (lstat(p, &st) != 0)
            continue;
        n += S_ISDIR(st.st_mode) ? count_files(p) : S_ISREG(st.st_mode) ? 1 : 0;
    }
    closedir(dh);
    return n;
}

/* Every regular file's path under d, each followed by \n, appended to out. */
static void list_files(const char *d, char *out, size_t cap)
{
    DIR *dh = opendir(d);
    if (dh == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[1024];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
        if (lstat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            list_files(p, out, cap);
        else if (S_ISREG(st.st_mode))
            snprintf(out + strlen(out), cap - strlen(out), "%s\n", p);
    }
    closedir(dh);
}

static int blob_files(void)
{
    char d[400];
    snprintf(d, sizeof(d), "%s/blobs", srv.dir);
    return count_files(d);
}

static long long new_doc(int who, const char *json)
{
    struct resp r = as(who, "POST", "/v1/documents", json);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static void attach(int who, long long doc, const char *name, const char *bytes)
{
    char path[256], hdr[256];
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments?name=%s", doc, name);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", people[who].token);
    struct resp r = http_do(&srv, "POST", path, "application/octet-stream", bytes, strlen(bytes), hdr);
    json_decref(ok_json(&r, 201));
}

/* A public request imported through the gateway; its document id. */
static long long import_request(void)
{
    char now[40], id[65];
    time_t t = time(NULL) + 8 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S+08:00", &tm);
    unsigned char d[32];
    SHA256((const unsigned char *)now, strlen(now), d);
    for (int i = 0; i < 32; i++)
        snprintf(id + 2 * i, 3, "%02x", d[i]);
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"bundle_id\":\"%s\",\"sender\":\"portal-1\",\"seq\":1,\"type\":\"public_request\","
             "\"created\":\"%s\",\"content\":{\"applicant\":{\"name\":\"张三\",\"id_type\":\"resident_id\","
             "\"id_number\":\"110101199001011234\",\"contact\":\"13800000000\"},"
             "\"subject\":\"申请公开二〇一〇年春运安排\",\"reply_form\":\"electronic\","
             "\"submitted\":\"%s\",\"confirmed\":\"%s\"},\"files\":[]}",
             id, now, now, now);
    struct resp r = http_json(&srv, "POST", "/v1/gateway/bundles", gw, body, NULL);
    json_t *j = ok_json(&r, 201);
    long long doc = json_integer_value(json_object_get(j, "document_id"));
    json_decref(j);
    return doc;
}

/* The gateway's outbox item of document doc (a new reference), or NULL. */
static json_t *outbox_item_of(long long doc)
{
    struct resp r = http_json(&srv, "GET", "/v1/gateway/outbox?limit=200", gw, NULL, NULL);
    json_t *all = ok_json(&r, 200), *found = NULL;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(all, "items"), i, it)
        if (json_integer_value(json_object_get(it, "document_id")) == doc)
            found = json_incref(it);
    json_decref(all);
    return found;
}

static void dispose(long long doc)
{
    char json[256], path[96];
    snprintf(json, sizeof(json), "{\"document_id\":%lld,\"retention\":\"D10\",\"reason\":\"一般性事务\"}", doc);
    struct resp r = as(ARCHIVIST, "POST", "/v1/records", json);
    json_decref(ok_json(&r, 201));
    snprintf(json, sizeof(json), "{\"documents\":[%lld],\"reason\":\"保管期限已满，经鉴定无继续保存价值\"}", doc);
    r = as(ARCHIVIST, "POST", "/v1/disposals", json);
    json_t *j = ok_json(&r, 201);
    long long list = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/disposals/%lld/decision", list);
    r = as(MAYOR, "POST", path, "{\"approve\":true,\"opinion\":\"同意销毁\"}");
    j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "disposed");
    json_decref(j);
}

Test(disposal_leftovers, an_exported_reply_leaves_no_outbox_copy_and_no_blob_file_after_disposal)
{
    /* A document that stays, with a file of its own. */
    long long keep = new_doc(DRAFTER, "{\"kind\":\"outgoing\",\"title\":\"留存的通知\",\"body\":\"正文\","
                                      "\"doc_type\":\"通知\",\"level\":0}");
    attach(DRAFTER, keep, "keep.txt", "kept bytes");

    /* A request in through the gateway, answered with a 公开 reply of 2010 that carries the marker and a file. */
    long long req = import_request();
    act(SEC, req, "register", NULL, NULL, 200);
    act(SEC, req, "assign", NULL, "{\"assignee\":\"drafter\"}", 200);
    act(DRAFTER, req, "start", NULL, NULL, 200);
    act(SEC, req, "secrecy_review", "经审查，不涉及国家秘密", NULL, 200);
    long long reply = new_doc(DRAFTER, "{\"kind\":\"outgoing\",\"title\":\"政府信息公开申请答复书\",\"body\":\"答复 " MARKER
                                       " 正文\",\"doc_type\":\"通知\",\"level\":0,\"doc_date\":\"2010-03-01\"}");
    attach(DRAFTER, reply, "answer.txt", "reply file bytes");
    char params[96];
    snprintf(params, sizeof(params), "{\"reply_document_id\":%lld,\"form\":\"public\"}", reply);
    act(DRAFTER, req, "reply", NULL, params, 200);

    /* It went out: the outbox item quotes the reply's text, and its file can be fetched. */
    json_t *it = outbox_item_of(reply);
    cr_assert_not_null(it, "the reply is not in the outbox");
    cr_assert(strstr(json_string_value(json_object_get(json_object_get(it, "content"), "text")), MARKER));
    long long item = json_integer_value(json_object_get(it, "id"));
    json_decref(it);
    char path[128];
    snprintf(path, sizeof(path), "/v1/gateway/outbox/%lld/files/1", item);
    char hdr[200];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\nAccept: */*\r\n", gw);
    struct resp r = http_do(&srv, "GET", path, NULL, NULL, 0, hdr);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    cr_assert(r.body_len == strlen("reply file bytes") && memcmp(r.body, "reply file bytes", r.body_len) == 0);
    resp_free(&r);

    /* The reply runs its course to the archive, is filed and, past its retention, disposed of. */
    act(DRAFTER, reply, "submit", NULL, NULL, 200);
    act(SEC, reply, "approve", NULL, NULL, 200);
    act(MAYOR, reply, "sign", NULL, NULL, 200);
    act(SEC, reply, "register", NULL, "{\"prefix\":\"某府办发\"}", 200);
    act(SEC, reply, "issue", NULL, NULL, 200);
    act(ARCHIVIST, reply, "archive", NULL, NULL, 200);
    int files_before = blob_files();
    char blobs_dir[400], before[8192] = "", after[8192] = "";
    snprintf(blobs_dir, sizeof(blobs_dir), "%s/blobs", srv.dir);
    list_files(blobs_dir, before, sizeof(before));
    cr_assert_geq(files_before, 2);
    char where[1024];
    cr_assert(tree_holds(srv.dir, MARKER, where, sizeof(where)), "the marker should be in the database before");
    dispose(reply);

    /* No byte of its text is left, the outbox's copy included. */
    cr_assert(!tree_holds(srv.dir, MARKER, where, sizeof(where)), "the marker is still in %s", where);
    /* Its item no longer leaves, and its file is not served. */
    it = outbox_item_of(reply);
    cr_assert_null(it, "a disposed record's outbox item still leaves: %s", it ? json_dumps(it, 0) : "");
    r = http_do(&srv, "GET", path, NULL, NULL, 0, hdr);
    cr_assert(r.status == 403 || r.status == 404 || r.status == 410, "%d %s", r.status, r.body);
    resp_free(&r);
    /* Its one blob file is gone from the disk; the other document's stays and still reads. */
    cr_assert_eq(blob_files(), files_before - 1, "blob files: %d before, %d after", files_before, blob_files());
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments", keep);
    r = as(DRAFTER, "GET", path, NULL);
    json_t *j = ok_json(&r, 200);
    long long att = json_integer_value(json_object_get(json_array_get(json_object_get(j, "attachments"), 0), "id"));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments/%lld", keep, att);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\nAccept: */*\r\n", people[DRAFTER].token);
    r = http_do(&srv, "GET", path, NULL, NULL, 0, hdr);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    resp_free(&r);
    /* The request's receipt is still there (it quotes only numbers and dates). */
    it = outbox_item_of(req);
    cr_assert_not_null(it, "the request's receipt went too");
    json_decref(it);

    /* A crash between the commit and the removal would leave the file: the start-up sweep removes it. */
    list_files(blobs_dir, after, sizeof(after));
    char gone[1024];
    cr_assert_eq(oad_stop(&srv), 0);
    /* The removed file is the one in `before` that is not in `after`. */
    bool found = false;
    for (char *line = before, *nl; !found && (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        *nl = '\0';
        char probe[1030];
        snprintf(probe, sizeof(probe), "%s\n", line);
        if (strstr(after, probe) == NULL) {
            snprintf(gone, sizeof(gone), "%s", line);
            found = true;
        }
        *nl = '\n';
    }
    cr_assert(found, "no blob file was removed");
    FILE *f = fopen(gone, "wb");
    cr_assert_not_null(f);
    fputs("what a crash left", f);
    fclose(f);
    oad_serve(&srv, (const char *const[]){"storage.encrypt=false", NULL});
    cr_assert_eq(access(gone, F_OK), -1, "the sweep kept the dead file %s", gone);

    /* fsck finds every blob intact (the disposed ones shredded, their files gone by design). */
    cr_assert_eq(oad_stop(&srv), 0);
    char out[4096], cmd[700];
    snprintf(cmd, sizeof(cmd), "server/oad fsck --data %s", srv.dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
}
