/*
 * tests/integration/reads_test.c: reads run on the reader threads
 * (storage/reader.h), beside the writer, against the real oad.
 *
 * The writer is stalled for real: the test takes SQLite's write lock on the
 * database from its own connection (BEGIN IMMEDIATE), so the writer's next
 * group waits in its busy handler exactly as behind another writer or a slow
 * commit.  Reads must answer meanwhile; a read that must be audited must not
 * answer before its entry is committed; and a read after an acknowledged
 * write sees that write, from any connection.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/harness.h"

static struct oad srv;
static char sys[128], secadm[128], reader_t[128];
static long long pub_doc, internal_doc;
static bool stopped;

static long long create_doc(const char *token, int level, const char *title)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"kind\":\"outgoing\",\"title\":\"%s\",\"level\":%d,\"body\":\"text\"}", title,
             level);
    struct resp r = http_json(&srv, "POST", "/v1/documents", token, body, NULL);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static void setup(void)
{
    static const char *const extra[] = {"storage.readers=2", NULL};
    stopped = false;
    oad_start(&srv, extra);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", secadm, sizeof(secadm));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    json_decref(ok_json(&r, 201));
    r = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    json_decref(ok_json(&r, 201));
    make_person(&srv, sys, secadm, "clerk", "[\"staff\"]", 2, "Office-Pass-R-9x", reader_t, sizeof(reader_t));
    pub_doc = create_doc(reader_t, 0, "public");
    internal_doc = create_doc(reader_t, 1, "internal");
}

static void teardown(void)
{
    if (!stopped)
        oad_stop(&srv);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static sqlite3 *open_db(bool readonly)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/oa.db", srv.dir);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

/* Audit entries of `event` about document doc, committed now. */
static long long audit_count(const char *event, long long doc)
{
    sqlite3 *db = open_db(true);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM audit_log WHERE event = ? AND (?2 = 0 OR doc_id = ?2"
                                        " OR instr(',' || detail || ',', ',' || ?2 || ',') > 0)",
                                    -1, &st, NULL),
                 SQLITE_OK);
    sqlite3_bind_text(st, 1, event, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, doc);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Sends a request without waiting for its answer; returns the connection. */
static int send_request(const char *method, const char *path, const char *token, const char *json,
                        const char *headers)
{
    int fd = http_connect(&srv);
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nAccept: application/json\r\n%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, token, headers ? headers : "", json ? strlen(json) : 0, json ? json : "");
    cr_assert(http_send(fd, req, (size_t)n));
    return fd;
}

static struct resp get(const char *path, const char *token)
{
    return http_json(&srv, "GET", path, token, NULL, NULL);
}

/*
 * While the writer waits for the database's write lock, reads of what needs
 * no audit entry answer at once; a classified read waits for its entry, and
 * a write for its commit; both answer once the writer can commit.
 */
/* No .timeout: Criterion 2.4.1 loses a timeout request now and then (tests/server/criterion_timeouts_test.py). */
TestSuite(reads, .init = setup, .fini = teardown);

Test(reads, answer_while_the_writer_is_stalled)
{
    char path[128], etag[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld", pub_doc);
    struct resp r = get(path, reader_t); /* also puts the session in the gate's cache */
    cr_assert_eq(r.status, 200, "%s", r.body);
    snprintf(etag, sizeof(etag), "If-Match: %s\r\n", r.etag);
    resp_free(&r);

    sqlite3 *lock = open_db(false);
    cr_assert_eq(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    uint64_t t0 = now_ms();
    int wfd = send_request("PATCH", path, reader_t, "{\"title\":\"changed while stalled\"}", etag);
    char cpath[128];
    snprintf(cpath, sizeof(cpath), "/v1/documents/%lld", internal_doc);
    int cfd = send_request("GET", cpath, reader_t, NULL, NULL);

    /* Reads with nothing to record: answered while the writer waits. */
    for (int i = 0; i < 5; i++) {
        r = get(path, reader_t);
        cr_assert_eq(r.status, 200, "%s", r.body);
        cr_assert(strstr(r.body, "\"public\"") != NULL, "the committed title: %s", r.body);
        resp_free(&r);
        snprintf(path, sizeof(path), "/v1/documents/%lld/history", pub_doc);
        r = get(path, reader_t);
        cr_assert_eq(r.status, 200, "%s", r.body);
        resp_free(&r);
        snprintf(path, sizeof(path), "/v1/documents/%lld", pub_doc);
    }
    /* Every GET with nothing to record is a read: the caller's account and sessions, lists around documents. */
    static const char *const others[] = {"/v1/users/me", "/v1/sessions", "/v1/organs", "/v1/calendar",
                                         "/v1/delegations", "/v1/chases", "/v1/documents/%lld/attachments"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        char other[128];
        snprintf(other, sizeof(other), others[i], pub_doc);
        r = get(other, reader_t);
        cr_assert_eq(r.status, 200, "%s: %s", other, r.body);
        resp_free(&r);
    }
    uint64_t reads_ms = now_ms() - t0;
    cr_assert_lt(reads_ms, 1500, "seventeen reads took %llu ms behind a stalled writer", (unsigned long long)reads_ms);

    /* The write and the classified read are still waiting. */
    struct resp w = {0}, c = {0};
    cr_assert_not(http_read(wfd, &w, 200), "a write answered before its commit");
    cr_assert_not(http_read(cfd, &c, 50), "a classified read answered before its audit entry was committed");
    cr_assert_eq(audit_count("document.read", internal_doc), 0);
    resp_free(&w);
    resp_free(&c);
    memset(&w, 0, sizeof(w));
    memset(&c, 0, sizeof(c));

    cr_assert_eq(sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(lock);
    cr_assert(http_read(wfd, &w, 10000), "the write never answered");
    cr_assert_eq(w.status, 200, "%s", w.body);
    cr_assert(http_read(cfd, &c, 10000), "the classified read never answered");
    cr_assert_eq(c.status, 200, "%s", c.body);
    cr_assert_eq(audit_count("document.read", internal_doc), 1);
    resp_free(&w);
    resp_free(&c);
    http_close(wfd);
    http_close(cfd);
    r = get(path, reader_t);
    cr_assert(strstr(r.body, "changed while stalled") != NULL, "%s", r.body);
    resp_free(&r);
}

/*
 * Every read that shows classified content -- a document, a list, a feed
 * page -- has its audit entry committed by the time it is answered; the
 * trail verifies afterwards.
 */
Test(reads, classified_reads_are_audited_before_the_answer)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/documents/%lld", internal_doc);
    for (int i = 1; i <= 30; i++) {
        struct resp r = get(path, reader_t);
        cr_assert_eq(r.status, 200, "%s", r.body);
        resp_free(&r);
        cr_assert_eq(audit_count("document.read", internal_doc), i, "read %d answered before its entry", i);
        r = get("/v1/documents?view=all", reader_t);
        cr_assert_eq(r.status, 200, "%s", r.body);
        resp_free(&r);
        cr_assert_eq(audit_count("document.list", internal_doc), i, "list %d answered before its entry", i);
        char hdr[200];
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\nAccept: application/cbor\r\n", reader_t);
        r = http_do(&srv, "GET", "/v1/sync/changes?v=1&since=0&limit=50", NULL, NULL, 0, hdr);
        cr_assert_eq(r.status, 200, "%s", r.body);
        resp_free(&r);
        cr_assert_eq(audit_count("sync.feed", 0), i, "feed page %d answered before its entry", i);
    }
    stopped = true;
    cr_assert_eq(oad_stop(&srv), 0);
    char cmd[600], out[4096];
    snprintf(cmd, sizeof(cmd), "%s audit verify --data '%s' 2>&1", getenv("OAD_BIN") ? getenv("OAD_BIN") : "server/oad",
             srv.dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
}

/* Read-your-writes, from many clients at once, each reading on another connection than it wrote on. */
#define CLIENTS 8
#define ROUNDS 25

struct client {
    long long doc;
    int stale, failed;
    char why[256];
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    char path[128], etag[96], body[128], want[64];
    snprintf(path, sizeof(path), "/v1/documents/%lld", c->doc);
    struct resp r = get(path, reader_t);
    snprintf(etag, sizeof(etag), "If-Match: %s\r\n", r.etag);
    resp_free(&r);
    for (int k = 0; k < ROUNDS; k++) {
        snprintf(want, sizeof(want), "doc %lld round %d", c->doc, k);
        snprintf(body, sizeof(body), "{\"title\":\"%s\"}", want);
        r = http_json(&srv, "PATCH", path, reader_t, body, etag);
        if (r.status != 200) {
            c->failed++;
            snprintf(c->why, sizeof(c->why), "PATCH %d %s", r.status, r.body ? r.body : "");
            resp_free(&r);
            return NULL;
        }
        snprintf(etag, sizeof(etag), "If-Match: %s\r\n", r.etag);
        resp_free(&r);
        r = get(path, reader_t);
        if (r.status != 200 || strstr(r.body, want) == NULL) {
            c->stale++;
            snprintf(c->why, sizeof(c->why), "GET after PATCH %d: %.200s", r.status, r.body ? r.body : "");
        }
        resp_free(&r);
        r = get("/v1/documents?view=all&limit=200", reader_t);
        if (r.status != 200 || strstr(r.body, want) == NULL) {
            c->stale++;
            snprintf(c->why, sizeof(c->why), "list after PATCH %d", r.status);
        }
        resp_free(&r);
    }
    return NULL;
}

Test(reads, a_read_after_an_answer_sees_the_write)
{
    struct client cs[CLIENTS] = {0};
    pthread_t th[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        cs[i].doc = create_doc(reader_t, 0, "rw");
    for (int i = 0; i < CLIENTS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, client_main, &cs[i]), 0);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < CLIENTS; i++) {
        cr_assert_eq(cs[i].failed, 0, "client %d: %s", i, cs[i].why);
        cr_assert_eq(cs[i].stale, 0, "client %d read a state older than its acknowledged write: %s", i, cs[i].why);
    }
}
