/*
 * tests/integration/faults_test.c: faults that must not become outages, on
 * real filesystems.  A full disk: the real oad serves its data directory from
 * a small tmpfs that the test mounts, fills with a file until ENOSPC, and
 * unmounts at the end.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/harness.h"

static struct oad srv;
static bool mounted;
static char sys_t[128], sec_t[128], aud_t[128], writer_t[128];
static long long pub_doc, internal_doc, pub_att;

/* ---- a data directory on a small filesystem of its own ---- */

/* Mounts a tmpfs of `mib` MiB on srv.dir; skips the test where mounting is not permitted. */
static void mount_small(int mib)
{
    char opts[32];
    snprintf(opts, sizeof(opts), "size=%dm,mode=0700", mib);
    cr_assert(mkdir(srv.dir, 0700) == 0, "mkdir %s: %s", srv.dir, strerror(errno));
    if (mount("tmpfs", srv.dir, "tmpfs", 0, opts) != 0) {
        if (errno == EPERM || errno == EACCES)
            cr_skip_test("cannot mount a tmpfs here (%s): the disk-full tests need root with CAP_SYS_ADMIN",
                         strerror(errno));
        cr_assert_fail("mount tmpfs on %s: %s", srv.dir, strerror(errno));
    }
    mounted = true;
}

static void filler_path(char *out, size_t n)
{
    snprintf(out, n, "%s/filler", srv.dir);
}

/* Fills the data directory's filesystem with one file until writes fail with ENOSPC. */
static void fill_disk(void)
{
    char path[400];
    filler_path(path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
    static char block[65536];
    memset(block, 'x', sizeof(block));
    for (size_t size = sizeof(block); size >= 1;) {
        ssize_t w = write(fd, block, size);
        if (w < 0) {
            cr_assert_eq(errno, ENOSPC, "filling: %s", strerror(errno));
            size /= 2; /* fill the last partial pages too */
        }
    }
    errno = 0;
    cr_assert(write(fd, "y", 1) < 0 && errno == ENOSPC, "the disk is not full");
    close(fd);
}

static void free_disk(void)
{
    char path[400];
    filler_path(path, sizeof(path));
    cr_assert(unlink(path) == 0, "%s: %s", path, strerror(errno));
}

/* ---- helpers ---- */

static long long new_doc(const char *token, int level, const char *title, const char *text)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"kind\":\"outgoing\",\"title\":\"%s\",\"level\":%d,\"body\":\"%s\"}",
             title, level, text);
    struct resp r = http_json(&srv, "POST", "/v1/documents", token, body, NULL);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

/* Sends a raw body (an upload) and returns the response. */
static struct resp send_body(const char *method, const char *path, const char *token, const void *body, size_t len)
{
    char h[512];
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nAccept: application/json\r\n", token);
    return http_do(&srv, method, path, "application/octet-stream", body, len, h);
}

static struct resp get(const char *path, const char *token, const char *accept)
{
    char h[512];
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nAccept: %s\r\n", token, accept);
    return http_do(&srv, "GET", path, NULL, NULL, 0, h);
}

/* Asserts an error answer: its status and code. */
static void assert_error(struct resp *r, int status, const char *code, const char *what)
{
    cr_assert_eq(r->status, status, "%s: status %d (want %d): %s", what, r->status, status, r->body);
    json_t *j = resp_json(r);
    cr_assert_not_null(j, "%s: %s", what, r->body);
    cr_assert_str_eq(json_string_value(json_object_get(j, "code")), code, "%s: %s", what, r->body);
    json_decref(j);
    resp_free(r);
}

/* Moves every session's last use a minute back (oad stopped): the next request of each records its use. */
static void age_sessions(void)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/oa.db", srv.dir);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "UPDATE sessions SET last_used_at = last_used_at - 60", NULL, NULL, NULL), SQLITE_OK,
                 "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* The space oad holds back for audit entries and logins while the disk is full (storage.reserve_bytes). */
static const char *const reserve_opts[] = {"storage.reserve_bytes=1048576", NULL};

static long long file_size(const char *name)
{
    char path[400];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", srv.dir, name);
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* How many audit entries of this event there are on this document (oad may be running: WAL). */
static long long audit_count(const char *event, long long doc)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/oa.db", srv.dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM audit_log WHERE event = ? AND doc_id = ?", -1, &st,
                                    NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, event, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, doc);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void setup(void)
{
    oad_prepare(&srv);
    mount_small(8);
    oad_init(&srv, NULL);
    oad_serve(&srv, reserve_opts);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys_t, sizeof(sys_t));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", sec_t, sizeof(sec_t));
    admin_login(&srv, "auditor", "Trail-Reader-2026", aud_t, sizeof(aud_t));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys_t, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/departments", sys_t, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    resp_free(&r);
    make_person(&srv, sys_t, sec_t, "writer", "[\"staff\"]", 1, "Fresh-Secret-1-Qx", writer_t, sizeof(writer_t));
    pub_doc = new_doc(writer_t, 0, "公开的通知", "正文 open");
    internal_doc = new_doc(writer_t, 1, "内部的通知", "正文 internal");
    char path[128];
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments?name=a.txt", pub_doc);
    r = send_body("POST", path, writer_t, "attachment bytes\n", 17);
    json_t *j = ok_json(&r, 201);
    pub_att = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    /* The writer's client has synced once: its documents are known to it. */
    r = get("/v1/sync/changes?v=1&since=0&limit=100", writer_t, "application/cbor");
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
}

static void teardown(void)
{
    oad_stop(&srv);
    if (mounted && umount2(srv.dir, MNT_DETACH) != 0)
        fprintf(stderr, "umount %s: %s\n", srv.dir, strerror(errno));
    mounted = false;
}

TestSuite(disk_full, .init = setup, .fini = teardown);

/* The sync cursor after everything there is now. */
static long long sync_head(void)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/oa.db", srv.dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT max(seq) FROM changes", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    long long head = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return head;
}

/*
 * The data directory's filesystem is full and every session's last use is
 * due to be recorded: reads, lists, search, downloads and sync of existing
 * sessions answer; every write is refused with no_space (507), and so is a
 * read whose audit record cannot be written (a classified document's); once
 * there is room, writes go through again.
 */
Test(disk_full, reads_keep_working_and_writes_are_refused_with_no_space)
{
    cr_assert_eq(oad_stop(&srv), 0);
    age_sessions();
    oad_serve(&srv, reserve_opts);
    cr_assert_eq(file_size("reserve"), 1048576, "oad holds its reserve: %lld", file_size("reserve"));
    fill_disk();

    char path[160];
    struct resp r;
    for (int round = 0; round < 2; round++) { /* the second round: nothing was saved in the first */
        snprintf(path, sizeof(path), "/v1/documents/%lld", pub_doc);
        r = get(path, writer_t, "application/json");
        cr_assert_eq(r.status, 200, "read a document: %d %s\n%s", r.status, r.body, oad_log_tail(&srv));
        cr_assert(strstr(r.body, "公开的通知") != NULL, "%s", r.body);
        resp_free(&r);
        snprintf(path, sizeof(path), "/v1/documents/%lld/history", pub_doc);
        r = get(path, writer_t, "application/json");
        cr_assert_eq(r.status, 200, "history: %d %s", r.status, r.body);
        resp_free(&r);
        r = get("/v1/documents?view=all&q=open", writer_t, "application/json");
        cr_assert_eq(r.status, 200, "list and search: %d %s", r.status, r.body);
        cr_assert(strstr(r.body, "公开的通知") != NULL, "search: %s", r.body);
        resp_free(&r);
        snprintf(path, sizeof(path), "/v1/documents/%lld/attachments", pub_doc);
        r = get(path, writer_t, "application/json");
        cr_assert_eq(r.status, 200, "attachments: %d %s", r.status, r.body);
        resp_free(&r);
        snprintf(path, sizeof(path), "/v1/documents/%lld/attachments/%lld", pub_doc, pub_att);
        r = get(path, writer_t, "*/*");
        cr_assert_eq(r.status, 200, "download: %d %s", r.status, r.body);
        cr_assert(r.body_len == 17 && memcmp(r.body, "attachment bytes\n", 17) == 0);
        resp_free(&r);
        snprintf(path, sizeof(path), "/v1/sync/changes?v=1&since=%lld&limit=100", sync_head());
        r = get(path, writer_t, "application/cbor");
        cr_assert_eq(r.status, 200, "sync: %d %s", r.status, r.body);
        resp_free(&r);
        r = get("/v1/users/me", sys_t, "application/json");
        cr_assert_eq(r.status, 200, "an administrator's session: %d %s", r.status, r.body);
        resp_free(&r);
        r = get("/v1/sessions", writer_t, "application/json");
        cr_assert_eq(r.status, 200, "own sessions: %d %s", r.status, r.body);
        resp_free(&r);
    }

    /* Writes are refused, each with the one code for a full disk. */
    snprintf(path, sizeof(path), "/v1/documents/%lld", pub_doc);
    r = get(path, writer_t, "application/json");
    char etag[128];
    snprintf(etag, sizeof(etag), "If-Match: %s\r\n", r.etag);
    resp_free(&r);
    r = http_json(&srv, "PATCH", path, writer_t, "{\"body\":\"changed while full\"}", etag);
    assert_error(&r, 507, "no_space", "an edit");
    r = http_json(&srv, "POST", "/v1/documents", writer_t,
                  "{\"kind\":\"outgoing\",\"title\":\"new\",\"level\":0,\"body\":\"x\"}", NULL);
    assert_error(&r, 507, "no_space", "a new document");
    /* The reserve is given up for what must still be written: it is there no more. */
    cr_assert_eq(file_size("reserve"), -1, "the reserve is released once the disk is full");
    /* A classified read is recorded in the audit trail, in the reserve: answered, and recorded. */
    long long reads_before = audit_count("document.read", internal_doc);
    snprintf(path, sizeof(path), "/v1/documents/%lld", internal_doc);
    r = get(path, writer_t, "application/json");
    cr_assert_eq(r.status, 200, "a read of a 内部 document: %d %s\n%s", r.status, r.body, oad_log_tail(&srv));
    cr_assert(strstr(r.body, "内部的通知") != NULL, "%s", r.body);
    resp_free(&r);
    cr_assert_gt(audit_count("document.read", internal_doc), reads_before, "the classified read is in the audit trail");
    r = get("/v1/documents?view=all", writer_t, "application/json");
    cr_assert_eq(r.status, 200, "a list that shows a 内部 document: %d %s", r.status, r.body);
    cr_assert(strstr(r.body, "内部的通知") != NULL, "%s", r.body);
    resp_free(&r);
    /* A new login writes a session row, in the reserve: it works, and so does the new session. */
    json_t *req = json_pack("{s:s, s:s}", "username", "writer", "password", "Fresh-Secret-1-Qx");
    char *body = json_dumps(req, 0);
    r = http_json(&srv, "POST", "/v1/sessions", NULL, body, NULL);
    free(body);
    json_decref(req);
    json_t *login = ok_json(&r, 201);
    char fresh_t[128];
    snprintf(fresh_t, sizeof(fresh_t), "%s", json_string_value(json_object_get(login, "token")));
    json_decref(login);
    r = get("/v1/users/me", fresh_t, "application/json");
    cr_assert_eq(r.status, 200, "the new session: %d %s", r.status, r.body);
    resp_free(&r);
    /* The reserve is not for ordinary writes: they are still refused after it was given up. */
    snprintf(path, sizeof(path), "/v1/documents/%lld", pub_doc);
    r = http_json(&srv, "PATCH", path, writer_t, "{\"body\":\"changed while full\"}", etag);
    assert_error(&r, 507, "no_space", "an edit after the reserve was given up");
    r = http_json(&srv, "POST", "/v1/documents", fresh_t,
                  "{\"kind\":\"outgoing\",\"title\":\"new\",\"level\":0,\"body\":\"x\"}", NULL);
    assert_error(&r, 507, "no_space", "a new document after the reserve was given up");
    cr_assert(oad_log_contains(&srv, "level=error event=fault_raised fault=no_space"), "%s", oad_log_tail(&srv));

    /* Room again: the same edit goes through, and was not applied before. */
    free_disk();
    snprintf(path, sizeof(path), "/v1/documents/%lld", pub_doc);
    r = get(path, writer_t, "application/json");
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "changed while full") == NULL, "%s", r.body);
    snprintf(etag, sizeof(etag), "If-Match: %s\r\n", r.etag);
    resp_free(&r);
    r = http_json(&srv, "PATCH", path, writer_t, "{\"body\":\"changed after\"}", etag);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    resp_free(&r);
    cr_assert_eq(file_size("reserve"), 1048576, "the reserve is taken back once there is room");
    snprintf(path, sizeof(path), "/v1/documents/%lld", internal_doc);
    r = get(path, writer_t, "application/json");
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    resp_free(&r);
    cr_assert_eq(oad_stop(&srv), 0);
}

/*
 * An upload meets the full disk in the blob store, not in the database: it is
 * refused with the same code as every other write, one-shot or resumable, and
 * leaves nothing behind; with room again the same upload goes through.
 */
Test(disk_full, an_upload_is_refused_with_the_same_code)
{
    static unsigned char body[256 * 1024];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (unsigned char)(i * 2654435761u >> 13);
    fill_disk();
    char path[160];
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments?name=big.bin", pub_doc);
    struct resp r = send_body("POST", path, writer_t, body, sizeof(body));
    assert_error(&r, 507, "no_space", "a one-shot upload");

    char req[160];
    snprintf(req, sizeof(req), "{\"document\":%lld,\"name\":\"big.bin\",\"length\":%zu}", pub_doc, sizeof(body));
    r = http_json(&srv, "POST", "/v1/uploads", writer_t, req, NULL);
    if (r.status == 201) { /* created while nothing is written yet: the data is refused */
        json_t *j = ok_json(&r, 201);
        snprintf(path, sizeof(path), "%s", json_string_value(json_object_get(j, "location")));
        json_decref(j);
        char h[512];
        snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nAccept: application/json\r\nUpload-Offset: 0\r\n", writer_t);
        r = http_do(&srv, "PATCH", path, "application/offset+octet-stream", body, sizeof(body), h);
    }
    assert_error(&r, 507, "no_space", "a resumable upload");
    cr_assert_not(oad_log_contains(&srv, "event=blob_write_failed"), "a full disk is a fault, not a failure per upload");

    free_disk();
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments?name=big.bin", pub_doc);
    r = send_body("POST", path, writer_t, body, sizeof(body));
    json_t *j = ok_json(&r, 201);
    cr_assert_eq(json_integer_value(json_object_get(j, "size")), (json_int_t)sizeof(body));
    json_decref(j);
    /* Only the blob that was committed is on disk: nothing of the refused ones. */
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "test $(find '%s/blobs' -type f | wc -l) -eq 2", srv.dir);
    cr_assert_eq(system(cmd), 0, "blob files left behind");
    cr_assert_eq(oad_stop(&srv), 0);
}

/* The lines of oad's log that contain the text (a static buffer, cut when long). */
static char found_lines[4096];

/* How many lines of oad's log contain the text; found_lines has them. */
static int log_count(const char *text)
{
    FILE *f = fopen(srv.log, "r");
    cr_assert_not_null(f);
    char line[4096];
    int n = 0;
    found_lines[0] = '\0';
    while (fgets(line, sizeof(line), f)) {
        if (strstr(line, text) != NULL) {
            n++;
            size_t len = strlen(found_lines);
            snprintf(found_lines + len, sizeof(found_lines) - len, "%s", line);
        }
    }
    fclose(f);
    return n;
}

static char *metrics(void)
{
    char h[200];
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\n", aud_t); /* /metrics is the auditor's or sysadmin's */
    struct resp r = http_do(&srv, "GET", "/metrics", NULL, NULL, 0, h);
    cr_assert_eq(r.status, 200, "%s", r.body);
    return r.body; /* the caller frees it */
}

static struct resp edit(const char *text)
{
    char path[96], body[128], etag[128];
    snprintf(path, sizeof(path), "/v1/documents/%lld", pub_doc);
    struct resp r = get(path, writer_t, "application/json");
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    snprintf(etag, sizeof(etag), "If-Match: %s\r\n", r.etag);
    resp_free(&r);
    snprintf(body, sizeof(body), "{\"body\":\"%s\"}", text);
    return http_json(&srv, "PATCH", path, writer_t, body, etag);
}

/*
 * While the disk is full /healthz says the server is degraded and why, the
 * metrics say so, and the log says so once; when space returns all of it
 * clears by itself, and the period lands in the audit trail as an alarm that
 * the monthly report lists.
 */
Test(disk_full, the_server_says_it_is_degraded_and_the_report_lists_the_period)
{
    struct resp r = http_json(&srv, "GET", "/healthz", NULL, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);

    fill_disk();
    for (int i = 0; i < 3; i++) {
        r = edit("while full");
        assert_error(&r, 507, "no_space", "an edit");
    }
    r = http_json(&srv, "GET", "/healthz", NULL, NULL, NULL);
    j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "degraded");
    cr_assert_str_eq(json_string_value(json_object_get(j, "reason")), "no_space");
    cr_assert_gt(json_integer_value(json_object_get(j, "since")), 0);
    cr_assert(strstr(json_string_value(json_object_get(j, "message")), "disk is full") != NULL);
    json_decref(j);
    char *m = metrics();
    cr_assert(strstr(m, "\noa_degraded{reason=\"no_space\"} 1\n") != NULL, "%s", m);
    cr_assert(strstr(m, "status=\"507\"} 3\n") != NULL, "%s", m);
    free(m);
    sleep(2); /* the writer would sign a checkpoint of the entries before the fill by now */
    cr_assert_eq(log_count("level=error event=fault_raised fault=no_space"), 1, "%s", oad_log_tail(&srv));
    cr_assert_eq(log_count("level=error"), 1, "one error line for the fault, no more:\n%s", found_lines);

    free_disk();
    r = edit("with room again");
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    resp_free(&r);
    r = http_json(&srv, "GET", "/healthz", NULL, NULL, NULL);
    j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);
    m = metrics();
    cr_assert(strstr(m, "\noa_degraded{reason=\"no_space\"} 0\n") != NULL, "%s", m);
    free(m);
    cr_assert_eq(log_count("event=fault_cleared fault=no_space"), 1, "%s", oad_log_tail(&srv));

    char month[16], path[64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(month, sizeof(month), "%Y-%m", &tm);
    snprintf(path, sizeof(path), "/v1/audit/report?month=%s", month);
    r = http_json(&srv, "GET", path, aud_t, NULL, NULL);
    j = ok_json(&r, 200);
    json_t *periods = json_object_get(j, "disk_full");
    cr_assert_eq(json_array_size(periods), 1, "%s", json_dumps(j, 0));
    const char *detail = json_string_value(json_object_get(json_array_get(periods, 0), "detail"));
    cr_assert(strstr(detail, "disk was full from ") != NULL && strstr(detail, "writes refused") != NULL, "%s", detail);
    bool alarmed = false;
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(j, "alarms"), i, a)
        alarmed |= strcmp(json_string_value(json_object_get(a, "event")), "system.no_space") == 0;
    cr_assert(alarmed, "%s", json_dumps(j, 0));
    json_decref(j);
    cr_assert_eq(oad_stop(&srv), 0);

    /* The trail with the alarm in it still verifies. */
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "%s audit verify --data %s > /dev/null", getenv("OAD_BIN") ? getenv("OAD_BIN") : "server/oad",
             srv.dir);
    cr_assert_eq(system(cmd), 0);
}

/* ---- a damaged database ---- */

static struct oad dmg;

/* Runs oad with args (and the harness's cheap Argon2id settings not needed here); its exit status, output in out. */
static int run_oad(const char *args, char *out, size_t n)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "%s %s 2>&1", getenv("OAD_BIN") ? getenv("OAD_BIN") : "server/oad", args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void copy_file(const char *from, const char *to)
{
    char cmd[900];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* Overwrites the first page of the documents table (its b-tree's root) with a repeated byte. */
static void damage_documents(const char *db_path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT rootpage, (SELECT page_size FROM pragma_page_size())"
                                        " FROM sqlite_schema WHERE name = 'documents'", -1, &st, NULL), SQLITE_OK,
                 "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    long root = (long)sqlite3_column_int64(st, 0), page = (long)sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    FILE *f = fopen(db_path, "r+b");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, (root - 1) * page, SEEK_SET), 0);
    for (long i = 0; i < page; i++)
        fputc(0x55, f);
    fclose(f);
}

static void damaged_teardown(void)
{
    oad_stop(&dmg);
}

TestSuite(damaged, .fini = damaged_teardown);

/*
 * One page of oa.db overwritten (oad stopped): oad fsck calls the database
 * damaged and says to restore it; oad serve refuses to start and says why;
 * both findings are noted in DIR/faults, and once the backup is back in place
 * oad serve records them in its audit trail -- once -- where the monthly
 * report lists them.
 */
Test(damaged, fsck_and_serve_find_a_damaged_page_and_the_report_lists_it)
{
    oad_start(&dmg, NULL);
    char sys[128], sec[128], wr[128];
    admin_login(&dmg, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&dmg, "secadmin", "Label-Keeper-2026", sec, sizeof(sec));
    struct resp r = http_json(&dmg, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    resp_free(&r);
    r = http_json(&dmg, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    resp_free(&r);
    make_person(&dmg, sys, sec, "writer", "[\"staff\"]", 1, "Fresh-Secret-1-Qx", wr, sizeof(wr));
    for (int i = 0; i < 60; i++) {
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"kind\":\"outgoing\",\"title\":\"关于第%d号事项的通知\",\"level\":0,\"body\":\"%s%d\"}", i,
                 "正文正文正文正文正文正文正文正文正文正文正文正文正文正文正文正文正文正文正文正文正文正文", i);
        r = http_json(&dmg, "POST", "/v1/documents", wr, body, NULL);
        cr_assert_eq(r.status, 201, "%s", r.body);
        resp_free(&r);
    }
    cr_assert_eq(oad_stop(&dmg), 0);

    char db[400], backup[400], journal[400], out[8192], args[600];
    snprintf(db, sizeof(db), "%s/oa.db", dmg.dir);
    snprintf(backup, sizeof(backup), "%s.backup", dmg.dir);
    snprintf(journal, sizeof(journal), "%s/faults", dmg.dir);
    copy_file(db, backup);
    damage_documents(db);

    snprintf(args, sizeof(args), "fsck --data %s", dmg.dir);
    cr_assert_eq(run_oad(args, out, sizeof(out)), 1, "oad fsck: %s", out);
    cr_assert(strstr(out, "DAMAGED database") != NULL, "%s", out);
    cr_assert(strstr(out, "restore it from backup") != NULL, "%s", out);

    snprintf(args, sizeof(args), "serve --data %s --listen 127.0.0.1:0", dmg.dir);
    cr_assert_eq(run_oad(args, out, sizeof(out)), 1, "oad serve: %s", out);
    cr_assert(strstr(out, "is damaged") != NULL && strstr(out, "restore the database from backup") != NULL, "%s",
              out);
    cr_assert_null(strstr(out, "event=listening"), "%s", out);

    FILE *f = fopen(journal, "r");
    cr_assert_not_null(f, "no fault journal");
    int lines = 0;
    while (fgets(out, sizeof(out), f))
        lines++;
    fclose(f);
    cr_assert_eq(lines, 2, "one finding each from fsck and serve");

    /* The backup back in place: served, and the findings recorded in its trail, once. */
    copy_file(backup, db);
    for (const char *ext = "-wal"; ext; ext = ext[1] == 'w' ? "-shm" : NULL) {
        snprintf(args, sizeof(args), "%s%s", db, ext);
        unlink(args);
    }
    oad_serve(&dmg, NULL);
    cr_assert(oad_log_contains(&dmg, "event=fault_journal_recorded findings=2"), "%s", oad_log_tail(&dmg));
    r = http_json(&dmg, "GET", "/healthz", NULL, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);
    cr_assert_eq(oad_stop(&dmg), 0);
    oad_serve(&dmg, NULL);
    cr_assert_eq(oad_stop(&dmg), 0);

    char month[16];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(month, sizeof(month), "%Y-%m", &tm);
    snprintf(args, sizeof(args), "report security --month %s --data %s", month, dmg.dir);
    cr_assert_eq(run_oad(args, out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "database damage found: 2\n") != NULL, "%s", out);
    cr_assert(strstr(out, "found damaged at ") != NULL && strstr(out, "by oad fsck") != NULL &&
                  strstr(out, "by oad serve") != NULL,
              "%s", out);
    snprintf(args, sizeof(args), "audit verify --data %s", dmg.dir);
    cr_assert_eq(run_oad(args, out, sizeof(out)), 0, "%s", out);
    snprintf(args, sizeof(args), "fsck --data %s", dmg.dir);
    cr_assert_eq(run_oad(args, out, sizeof(out)), 0, "%s", out);
}
