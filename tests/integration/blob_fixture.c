/* tests/integration/blob_fixture.c: see blob_fixture.h. */
#include "tests/integration/blob_fixture.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/harness.h"
struct oad srv;
char sys[128], secadm[128], writer[128], low[128];
long long doc_id;

void make_user(const char *name, const char *roles, int clearance, char *token)
{
    char pw[64];
    snprintf(pw, sizeof(pw), "Fresh-Secret-%d-Qx", clearance);
    make_person(&srv, sys, secadm, name, roles, clearance, pw, token, 128);
}

long long new_doc(int level)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"kind\":\"outgoing\",\"title\":\"附件测试\",\"level\":%d,\"body\":\"正文\"}", level);
    struct resp r = http_json(&srv, "POST", "/v1/documents", writer, body, NULL);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

void blobs_setup(void)
{
    oad_start(&srv, (const char *const[]){"blob.max_bytes=200000000", NULL});
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", secadm, sizeof(secadm));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    resp_free(&r);
    make_user("writer", "[\"staff\"]", 2, writer);
    make_user("lowly", "[\"staff\"]", 0, low);
    doc_id = new_doc(1);
}

void blobs_teardown(void)
{
    oad_stop(&srv);
}

/* Deterministic bytes: compressible text when `text`, else pseudo-random. */
void fill(unsigned char *p, size_t n, bool text, unsigned seed)
{
    uint64_t x = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = text ? (unsigned char)("公文流转 document routing "[(x >> 11) % 26]) : (unsigned char)(x >> 24);
    }
}

/* Sends a request with a raw body written in pieces; returns the response. */
struct resp send_raw(const char *method, const char *path, const char *token, const unsigned char *body,
                     size_t len, const char *extra)
{
    int fd = http_connect(&srv);
    char head[8192];
    int n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nAccept: application/json\r\n"
                     "Content-Type: application/octet-stream\r\nContent-Length: %zu\r\n%s\r\n",
                     method, path, token, len, extra ? extra : "");
    cr_assert(n > 0 && (size_t)n < sizeof(head));
    cr_assert(http_send(fd, head, (size_t)n));
    for (size_t off = 0; off < len;) {
        size_t k = len - off < 1 << 20 ? len - off : 1 << 20;
        if (!http_send(fd, body + off, k))
            break;
        off += k;
    }
    struct resp r = {0};
    cr_assert(http_read(fd, &r, 60000), "no response to %s %s", method, path);
    http_close(fd);
    return r;
}

long long upload(long long doc, const char *name, const unsigned char *body, size_t len)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments?name=%s", doc, name);
    struct resp r = send_raw("POST", path, writer, body, len, NULL);
    json_t *j = ok_json(&r, 201);
    cr_assert_eq(json_integer_value(json_object_get(j, "size")), (json_int_t)len);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

struct resp download(const char *token, long long doc, long long att, const char *query, const char *headers)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments/%lld%s", doc, att, query ? query : "");
    char h[512];
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\n%s", token, headers ? headers : "");
    return http_do(&srv, "GET", path, NULL, NULL, 0, h);
}
