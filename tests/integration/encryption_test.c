/*
 * tests/integration/encryption_test.c: the database encrypted at rest,
 * through the real oad: a marker put in a document's title and body (and so
 * in the full-text index) is in no file of the data directory while oad runs
 * or after it stopped; kill -9 during writes loses nothing acknowledged; a
 * plain data directory is encrypted by `oad encrypt`, once; a wrong database
 * key is refused with a clear message.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/cryptvfs.h"
#include "storage/keys.h"
#include "tests/integration/harness.h"

#define MARKER "QZMARKER4711"

static struct oad srv;
static char sys[128], secadm[128], writer[128];

static void office(const char *const *extra)
{
    oad_start(&srv, extra);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", secadm, sizeof(secadm));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    resp_free(&r);
    make_person(&srv, sys, secadm, "writer", "[\"staff\"]", 3, "Fresh-Secret-3-Qx", writer, sizeof(writer));
}

/* A connection to oad, or -1 when it is gone (http_connect would fail the test). */
static int connect_or_not(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Creates a 机密 document with the marker in title and body; its id, or -1 when oad did not acknowledge it. */
static long long secret_doc(int n)
{
    char body[300];
    snprintf(body, sizeof(body),
             "{\"kind\":\"outgoing\",\"title\":\"%s 标题 %d\",\"level\":3,\"body\":\"正文 %s 机密内容 %d\"}", MARKER, n,
             MARKER, n);
    /* By hand, not http_json: oad may be killed under this request. */
    char req[1024];
    int len = snprintf(req, sizeof(req),
                       "POST /v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                       writer, strlen(body), body);
    struct resp r = {0};
    long long id = -1;
    int fd = connect_or_not();
    bool answered = fd >= 0 && http_send(fd, req, (size_t)len) && http_read(fd, &r, 5000);
    if (fd >= 0)
        http_close(fd);
    if (answered && r.status == 201) {
        json_t *j = resp_json(&r);
        id = json_integer_value(json_object_get(j, "id"));
        json_decref(j);
    }
    resp_free(&r);
    return id;
}

/* Whether any regular file under d (not descending) holds s; names the file in `where`. */
static bool dir_holds(const char *d, const char *s, char *where, size_t cap)
{
    DIR *dh = opendir(d);
    struct dirent *e;
    bool found = false;
    cr_assert_not_null(dh);
    while (!found && (e = readdir(dh)) != NULL) {
        char p[700];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        FILE *f = fopen(p, "rb");
        if (f == NULL)
            continue;
        char *buf = malloc((size_t)st.st_size + 1);
        size_t n = fread(buf, 1, (size_t)st.st_size, f);
        fclose(f);
        found = memmem(buf, n, s, strlen(s)) != NULL;
        if (found)
            snprintf(where, cap, "%s", e->d_name);
        free(buf);
    }
    closedir(dh);
    return found;
}

static int search_hits(void)
{
    struct resp r = http_json(&srv, "GET", "/v1/documents?view=all&q=" MARKER, writer, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    json_t *items = json_object_get(j, "documents");
    int n = items ? (int)json_array_size(items) : -1;
    json_decref(j);
    return n;
}

TestSuite(encryption);

Test(encryption, the_marker_is_in_no_file_running_or_stopped)
{
    char where[300] = "", wal[700];
    office(NULL);
    for (int i = 0; i < 20; i++)
        cr_assert_gt(secret_doc(i), 0);
    cr_assert_eq(search_hits(), 20, "the full-text index finds the marker");
    snprintf(wal, sizeof(wal), "%s/oa.db-wal", srv.dir);
    cr_assert_eq(access(wal, F_OK), 0, "oad runs with a WAL");
    cr_assert(!dir_holds(srv.dir, MARKER, where, sizeof(where)), "the marker is readable in %s while oad runs", where);
    cr_assert(!dir_holds(srv.dir, "CREATE TABLE", where, sizeof(where)), "the schema is readable in %s", where);
    cr_assert_eq(oad_stop(&srv), 0);
    cr_assert(!dir_holds(srv.dir, MARKER, where, sizeof(where)), "the marker is readable in %s after a stop", where);
    oad_serve(&srv, NULL);
    login(&srv, "writer", "Fresh-Secret-3-Qx", writer, sizeof(writer));
    cr_assert_eq(search_hits(), 20);
    char out[4096], cmd[700];
    snprintf(cmd, sizeof(cmd), "server/oad fsck --data %s", srv.dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    snprintf(cmd, sizeof(cmd), "server/oad audit verify --data %s", srv.dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    oad_stop(&srv);
}

/* The SM suite (GB/T 39786's national algorithms) covers the database too, not only the blob files. */
Test(encryption, blob_suite_sm4_sm3_puts_the_database_pages_in_sm4_too)
{
    static const char *const sm[] = {"blob.suite=sm4-sm3", NULL};
    char where[300] = "";
    office(sm);
    cr_assert(dir_holds(srv.dir, "db-suite sm4-gcm", where, sizeof(where)) && strcmp(where, "keys") == 0,
              "the key file does not record the database's SM4 suite");
    for (int i = 0; i < 10; i++)
        cr_assert_gt(secret_doc(i), 0);
    cr_assert_eq(search_hits(), 10);
    cr_assert(!dir_holds(srv.dir, MARKER, where, sizeof(where)), "the marker is readable in %s", where);
    cr_assert_eq(oad_stop(&srv), 0);
    oad_serve(&srv, sm);
    login(&srv, "writer", "Fresh-Secret-3-Qx", writer, sizeof(writer));
    cr_assert_eq(search_hits(), 10);
    char out[4096], cmd[700];
    snprintf(cmd, sizeof(cmd), "server/oad fsck --data %s", srv.dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    oad_stop(&srv);
}

Test(encryption, kill_9_during_writes_loses_nothing_acknowledged)
{
    office(NULL);
    long long ids[400];
    int acked = 0;
    pid_t killer = fork();
    if (killer == 0) {
        usleep(700 * 1000);
        kill(srv.pid, SIGKILL);
        _exit(0);
    }
    for (int i = 0; i < 400; i++) {
        long long id = secret_doc(i);
        if (id < 0)
            break;
        ids[acked++] = id;
    }
    waitpid(killer, NULL, 0);
    cr_assert_eq(oad_wait(&srv, 5000), 128 + SIGKILL, "oad did not die of SIGKILL");
    cr_assert_gt(acked, 0);
    oad_serve(&srv, NULL);
    login(&srv, "writer", "Fresh-Secret-3-Qx", writer, sizeof(writer));
    for (int i = 0; i < acked; i++) {
        char path[64], want[64];
        snprintf(path, sizeof(path), "/v1/documents/%lld", ids[i]);
        struct resp r = http_json(&srv, "GET", path, writer, NULL, NULL);
        json_t *j = ok_json(&r, 200);
        snprintf(want, sizeof(want), "%s 标题 %d", MARKER, i);
        cr_assert_str_eq(json_string_value(json_object_get(j, "title")), want);
        json_decref(j);
    }
    cr_assert_gt(search_hits(), 0);
    oad_stop(&srv);
}

Test(encryption, oad_encrypt_encrypts_a_plain_directory_once)
{
    char where[300] = "", out[4096], cmd[700];
    office((const char *const[]){"storage.encrypt=false", NULL});
    for (int i = 0; i < 5; i++)
        cr_assert_gt(secret_doc(i), 0);
    oad_stop(&srv);
    cr_assert(dir_holds(srv.dir, MARKER, where, sizeof(where)), "storage.encrypt=false keeps the database plain");
    snprintf(cmd, sizeof(cmd), "server/oad encrypt --data %s", srv.dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    cr_assert(!dir_holds(srv.dir, MARKER, where, sizeof(where)), "the marker is readable in %s after oad encrypt",
              where);
    char db[700];
    snprintf(db, sizeof(db), "%s/oa.db", srv.dir);
    cr_assert_eq(oa_cryptvfs_probe(db), 1);
    struct stat a, b;
    cr_assert_eq(stat(db, &a), 0);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(stat(db, &b), 0);
    cr_assert_eq(a.st_ino, b.st_ino, "a second oad encrypt leaves the database alone");
    oad_serve(&srv, NULL);
    login(&srv, "writer", "Fresh-Secret-3-Qx", writer, sizeof(writer));
    cr_assert_eq(search_hits(), 5);
    oad_stop(&srv);
}

Test(encryption, oad_serve_encrypts_a_plain_directory_first)
{
    char where[300] = "";
    office((const char *const[]){"storage.encrypt=false", NULL});
    for (int i = 0; i < 5; i++)
        cr_assert_gt(secret_doc(i), 0);
    oad_stop(&srv);
    cr_assert(dir_holds(srv.dir, MARKER, where, sizeof(where)), "storage.encrypt=false keeps the database plain");
    oad_serve(&srv, NULL);
    login(&srv, "writer", "Fresh-Secret-3-Qx", writer, sizeof(writer));
    cr_assert_eq(search_hits(), 5);
    cr_assert(!dir_holds(srv.dir, MARKER, where, sizeof(where)), "the marker is readable in %s after the migration",
              where);
    oad_stop(&srv);
    cr_assert(!dir_holds(srv.dir, MARKER, where, sizeof(where)), "the marker is readable in %s", where);
}

Test(encryption, a_wrong_database_key_is_refused_clearly)
{
    char out[4096], cmd[700], keys[700], cause[400];
    office(NULL);
    cr_assert_gt(secret_doc(1), 0);
    oad_stop(&srv);
    snprintf(keys, sizeof(keys), "%s/keys", srv.dir);
    struct oa_keys k;
    cr_assert_eq(oa_keys_load(keys, &k, cause, sizeof(cause)), 0, "%s", cause);
    randombytes_buf(k.db_key, sizeof(k.db_key));
    cr_assert_eq(oa_keys_save(keys, &k, cause, sizeof(cause)), 0, "%s", cause);
    oa_keys_wipe(&k);
    snprintf(cmd, sizeof(cmd), "server/oad fsck --data %s", srv.dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 2, "%s", out);
    cr_assert(strstr(out, "does not open") != NULL, "%s", out);
    snprintf(cmd, sizeof(cmd), "server/oad serve --data %s", srv.dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "does not open") != NULL, "%s", out);
}
