/*
 * tests/integration/blob_names_test.c: attachment names through the real
 * oad: a long name in CJK keeps the status line and the Content-Disposition
 * whole; names that are not UTF-8, hold slashes or control characters, or
 * are too long are refused on upload, replace and resumable upload alike,
 * and change nothing.  The fixture is blob_fixture.c's.
 */
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

#include "tests/integration/blob_fixture.h"
TestSuite(blob_names, .init = blobs_setup, .fini = blobs_teardown);

static void pct(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        cr_assert(o + 4 < cap);
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p))
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", *p);
    }
    out[o] = '\0';
}

/* n copies of a CJK character: 3 bytes of UTF-8 each. */
static void cjk_name(char *out, size_t cap, int n)
{
    cr_assert((size_t)n * 3 < cap);
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        strcat(out, i % 2 ? "件" : "文");
}

Test(blob_names, a_long_cjk_name_keeps_the_status_line)
{
    /* 85 CJK characters: 255 bytes, the longest name; 765 characters percent-encoded. */
    char name[1024], enc[4096], path[4200], want[4200];
    cjk_name(name, sizeof(name), 85);
    pct(name, enc, sizeof(enc));
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments?name=%s", doc_id, enc);
    struct resp r = send_raw("POST", path, writer, (const unsigned char *)"long name", 9, NULL);
    json_t *j = ok_json(&r, 201);
    cr_assert_str_eq(json_string_value(json_object_get(j, "name")), name);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    for (int ranged = 1; ranged >= 0; ranged--) {
        r = download(writer, doc_id, id, NULL, ranged ? "Range: bytes=5-\r\n" : NULL);
        cr_assert_eq(r.status, ranged ? 206 : 200, "status %d: the head did not arrive", r.status);
        const char *whole = "long name", *part = ranged ? whole + 5 : whole;
        cr_assert(r.body_len == strlen(part) && memcmp(r.body, part, r.body_len) == 0);
        snprintf(want, sizeof(want), "attachment; filename*=UTF-8''%s", enc);
        cr_assert_str_eq(r.disposition, want);
        resp_free(&r);
    }

    /* 200 CJK characters (600 bytes) are over the limit: a clean 400 on every path that names a file. */
    cjk_name(name, sizeof(name), 200);
    pct(name, enc, sizeof(enc));
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments?name=%s", doc_id, enc);
    r = send_raw("POST", path, writer, (const unsigned char *)"x", 1, NULL);
    cr_assert_eq(r.status, 400, "%d %s", r.status, r.body);
    cr_assert(strstr(r.body, "\"bad_field\""), "%s", r.body);
    resp_free(&r);
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments/%lld?name=%s", doc_id, id, enc);
    r = send_raw("PUT", path, writer, (const unsigned char *)"x", 1, NULL);
    cr_assert_eq(r.status, 400, "%d %s", r.status, r.body);
    cr_assert(strstr(r.body, "\"bad_field\""), "%s", r.body);
    resp_free(&r);
    char body[1024];
    snprintf(body, sizeof(body), "{\"document\":%lld,\"name\":\"%s\",\"length\":1}", doc_id, name);
    r = http_json(&srv, "POST", "/v1/uploads", writer, body, NULL);
    cr_assert_eq(r.status, 400, "%d %s", r.status, r.body);
    cr_assert(strstr(r.body, "\"bad_field\""), "%s", r.body);
    resp_free(&r);
}

/* Names that hide what they are: a NUL that cut the name short, control characters, text direction overrides, bytes
 * that are not UTF-8, an overlong "/". */
static const char *const bad_names[] = {
    "a%00.exe", "report%00", "a%01b", "a%7Fb", "a%C2%85b", "invoice%E2%80%AEfdp.exe", "a%E2%81%A6b",
    "%FF%FE.txt", "a%C0%AFb", "%E6%96", "..",
};
#define NBAD (sizeof(bad_names) / sizeof(bad_names[0]))

static void expect_bad_field(struct resp *r, const char *what)
{
    cr_assert_eq(r->status, 400, "%s: %d %s", what, r->status, r->body);
    cr_assert(strstr(r->body, "\"bad_field\""), "%s: %s", what, r->body);
    resp_free(r);
}

/* The names of a document's attachments, one per line. */
static void attachment_names(long long doc, char *out, size_t cap)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments", doc);
    struct resp r = http_json(&srv, "GET", path, writer, NULL, NULL);
    json_t *j = ok_json(&r, 200), *it;
    size_t i;
    out[0] = '\0';
    json_array_foreach(json_object_get(j, "attachments"), i, it)
    {
        size_t o = strlen(out);
        snprintf(out + o, cap - o, "%s\n", json_string_value(json_object_get(it, "name")));
    }
    json_decref(j);
}

Test(blob_names, bad_names_are_refused_on_upload)
{
    long long doc = new_doc(1);
    char path[512], names[4096];
    for (size_t i = 0; i < NBAD; i++) {
        snprintf(path, sizeof(path), "/v1/documents/%lld/attachments?name=%s", doc, bad_names[i]);
        struct resp r = send_raw("POST", path, writer, (const unsigned char *)"x", 1, NULL);
        expect_bad_field(&r, bad_names[i]);
    }
    attachment_names(doc, names, sizeof(names));
    cr_assert_str_eq(names, "", "stored: %s", names);
    /* A name in any script, with spaces, is fine. */
    upload(doc, "%E6%8A%A5%E5%91%8A%20final%20%C3%A9.pdf", (const unsigned char *)"ok", 2);
    attachment_names(doc, names, sizeof(names));
    cr_assert_str_eq(names, "报告 final é.pdf\n");
}

Test(blob_names, bad_names_are_refused_on_replace)
{
    long long doc = new_doc(1);
    long long id = upload(doc, "plain.txt", (const unsigned char *)"ok", 2);
    char path[512], names[4096];
    for (size_t i = 0; i < NBAD; i++) {
        snprintf(path, sizeof(path), "/v1/documents/%lld/attachments/%lld?name=%s", doc, id, bad_names[i]);
        struct resp r = send_raw("PUT", path, writer, (const unsigned char *)"x", 1, NULL);
        expect_bad_field(&r, bad_names[i]);
    }
    attachment_names(doc, names, sizeof(names));
    cr_assert_str_eq(names, "plain.txt\n");
}

Test(blob_names, bad_names_are_refused_on_resumable_upload)
{
    /* The name is a body field: in JSON... */
    const char *json_bad[] = {"a\\u0001b", "a\\u007fb", "a\\u0085b", "invoice\\u202efdp.exe", "a\\u2066b", "a/b"};
    for (size_t i = 0; i < sizeof(json_bad) / sizeof(json_bad[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body), "{\"document\":%lld,\"name\":\"%s\",\"length\":1}", doc_id, json_bad[i]);
        struct resp r = http_json(&srv, "POST", "/v1/uploads", writer, body, NULL);
        expect_bad_field(&r, json_bad[i]);
    }
    /* ...and in CBOR, which can carry a NUL or bytes that are not UTF-8 in a text string (JSON's \u0000 is
     * refused by the JSON decoder, as bad_body). */
    const char *cbor_bad[] = {"a\0.exe", "\xff\xfe.txt"};
    for (size_t i = 0; i < 2; i++) {
        unsigned char b[64];
        size_t n = 0;
        cr_assert(doc_id < 256);
        b[n++] = 0xa3;
        b[n++] = 0x68;
        memcpy(b + n, "document", 8);
        n += 8;
        b[n++] = 0x18;
        b[n++] = (unsigned char)doc_id;
        b[n++] = 0x64;
        memcpy(b + n, "name", 4);
        n += 4;
        b[n++] = 0x66;
        memcpy(b + n, cbor_bad[i], 6);
        n += 6;
        b[n++] = 0x66;
        memcpy(b + n, "length", 6);
        n += 6;
        b[n++] = 0x01;
        char h[256];
        snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nAccept: application/json\r\n", writer);
        struct resp r = http_do(&srv, "POST", "/v1/uploads", "application/cbor", b, n, h);
        if (i == 0) {
            expect_bad_field(&r, "CBOR name with NUL");
        } else {
            /* libcbor refuses a text string that is not UTF-8 while decoding the body */
            cr_assert_eq(r.status, 400, "%s", r.body);
            cr_assert(strstr(r.body, "\"bad_body\""), "%s", r.body);
            resp_free(&r);
        }
    }
}

/*
 * A resumable upload fed by several whole PATCHes: one that ends short of the
 * declared length is answered with the offset held; one that runs past it is
 * refused (413) and keeps what came before; the last one commits (201).
 */
