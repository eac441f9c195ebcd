/*
 * tests/integration/blobs_test.c: attachments through the real oad: streamed
 * uploads and downloads at the edge sizes and at 100 MB, ranges, revisions,
 * labels, resumable uploads, tampering, a crash between the file and its row,
 * key rotation, and the data directory never holding the plaintext (names:
 * blob_names_test.c; what both share: blob_fixture.c).
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
TestSuite(blobs, .init = blobs_setup, .fini = blobs_teardown);

Test(blobs, round_trips_at_the_edge_sizes)
{
    const size_t sizes[] = {0, 1, 65535, 65536, 65537, 3 * 65536 + 17};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int text = 0; text < 2; text++) {
            size_t n = sizes[i];
            unsigned char *b = malloc(n + 1);
            fill(b, n, text, (unsigned)(i * 2 + text));
            char name[64];
            snprintf(name, sizeof(name), "f%zu-%d.bin", n, text);
            long long id = upload(doc_id, name, b, n);
            struct resp r = download(writer, doc_id, id, NULL, NULL);
            cr_assert_eq(r.status, 200, "%zu: %s", n, r.body);
            cr_assert_eq(r.body_len, n, "size %zu came back as %zu", n, r.body_len);
            cr_assert(n == 0 || memcmp(r.body, b, n) == 0, "size %zu came back different", n);
            resp_free(&r);
            free(b);
        }
    }
}

/* Downloads a whole attachment over a raw socket, hashing it as it comes. */
static size_t download_hash(long long doc, long long att, unsigned char digest[32])
{
    int fd = http_connect(&srv);
    char req[512];
    int n = snprintf(req, sizeof(req), "GET /v1/documents/%lld/attachments/%lld HTTP/1.1\r\nHost: t\r\n"
                                       "Authorization: Bearer %s\r\nConnection: close\r\n\r\n", doc, att, writer);
    cr_assert(http_send(fd, req, (size_t)n));
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    char buf[1 << 16];
    size_t body = 0;
    bool in_body = false;
    char head[8192];
    size_t hl = 0;
    ssize_t got;
    while ((got = http_recv(fd, buf, sizeof(buf))) > 0) {
        size_t off = 0;
        if (!in_body) {
            size_t before = hl;
            size_t take = (size_t)got < sizeof(head) - hl ? (size_t)got : sizeof(head) - hl;
            memcpy(head + hl, buf, take);
            hl += take;
            char *end = memmem(head, hl, "\r\n\r\n", 4);
            if (end == NULL)
                continue;
            cr_assert(strncmp(head, "HTTP/1.1 200", 12) == 0, "%.*s", (int)hl, head);
            size_t hdr = (size_t)(end + 4 - head);
            off = hdr - before;
            in_body = true;
        }
        EVP_DigestUpdate(c, buf + off, (size_t)got - off);
        body += (size_t)got - off;
    }
    http_close(fd);
    unsigned int dl = 0;
    EVP_DigestFinal_ex(c, digest, &dl);
    EVP_MD_CTX_free(c);
    return body;
}

Test(blobs, a_100_megabyte_blob_streams_both_ways)
{
    /* incompressible (stored), and text (compressed in parallel frames, decoded in parallel pieces) */
    size_t n = 100u * 1000 * 1000;
    unsigned char *b = malloc(n);
    for (int text = 0; text < 2; text++) {
        fill(b, n, text, 7);
        unsigned char want[32], got[32];
        SHA256(b, n, want);
        long long id = upload(doc_id, text ? "big.txt" : "big.bin", b, n);
        cr_assert_eq(download_hash(doc_id, id, got), n);
        cr_assert(memcmp(want, got, 32) == 0, "the 100 MB blob (%s) came back different", text ? "text" : "random");
    }
    free(b);
}

Test(blobs, ranges_decrypt_what_they_need)
{
    size_t n = 300000;
    unsigned char *b = malloc(n);
    for (int text = 0; text < 2; text++) {
        fill(b, n, text, 99);
        long long id = upload(doc_id, text ? "r.txt" : "r.bin", b, n);
        struct resp r = download(writer, doc_id, id, NULL, "Range: bytes=65530-65545\r\n");
        cr_assert_eq(r.status, 206, "%s", r.body);
        cr_assert_eq(r.body_len, 16);
        cr_assert(memcmp(r.body, b + 65530, 16) == 0);
        resp_free(&r);
        r = download(writer, doc_id, id, NULL, "Range: bytes=-5\r\n");
        cr_assert_eq(r.status, 206);
        cr_assert(r.body_len == 5 && memcmp(r.body, b + n - 5, 5) == 0);
        resp_free(&r);
        r = download(writer, doc_id, id, NULL, "Range: bytes=299990-\r\n");
        cr_assert(r.status == 206 && r.body_len == 10 && memcmp(r.body, b + n - 10, 10) == 0);
        resp_free(&r);
        r = download(writer, doc_id, id, NULL, "Range: bytes=400000-\r\n");
        cr_assert_eq(r.status, 416, "%s", r.body);
        cr_assert(strstr(r.body, "range_not_satisfiable"));
        resp_free(&r);
    }
    free(b);
}

Test(blobs, replace_makes_a_revision_and_old_ones_stay_readable)
{
    long long id = upload(doc_id, "draft.txt", (const unsigned char *)"first version", 13);
    char path[256];
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments/%lld", doc_id, id);
    struct resp r = send_raw("PUT", path, writer, (const unsigned char *)"second version!", 15, NULL);
    json_t *j = ok_json(&r, 201);
    cr_assert_eq(json_integer_value(json_object_get(j, "rev")), 2);
    cr_assert_str_eq(json_string_value(json_object_get(j, "content_type")), "text/plain");
    json_decref(j);
    r = download(writer, doc_id, id, NULL, NULL);
    cr_assert(r.body_len == 15 && memcmp(r.body, "second version!", 15) == 0);
    cr_assert(r.etag[0] == '"', "no ETag");
    resp_free(&r);
    r = download(writer, doc_id, id, "?rev=1", NULL);
    cr_assert(r.status == 200 && r.body_len == 13 && memcmp(r.body, "first version", 13) == 0);
    resp_free(&r);
    /* A stale If-Match refuses the replacement and changes nothing. */
    r = send_raw("PUT", path, writer, (const unsigned char *)"third", 5, "If-Match: \"a1-1\"\r\n");
    cr_assert_eq(r.status, 412, "%s", r.body);
    resp_free(&r);
    /* The list shows the current revision with its sniffed type and digest. */
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments", doc_id);
    r = http_json(&srv, "GET", path, writer, NULL, NULL);
    j = ok_json(&r, 200);
    json_t *arr = json_object_get(j, "attachments"), *it;
    size_t i;
    bool seen = false;
    json_array_foreach(arr, i, it) if (json_integer_value(json_object_get(it, "id")) == id)
    {
        seen = true;
        cr_assert_eq(json_integer_value(json_object_get(it, "rev")), 2);
        cr_assert_eq(strlen(json_string_value(json_object_get(it, "sha256"))), 64);
    }
    cr_assert(seen);
    json_decref(j);
}

Test(blobs, content_types_are_sniffed_from_the_bytes)
{
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                        0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde};
    long long id = upload(doc_id, "picture.txt", png, sizeof(png));
    struct resp r = download(writer, doc_id, id, NULL, NULL);
    cr_assert_str_eq(r.content_type, "image/png");
    resp_free(&r);
    const char *pdf = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
    id = upload(doc_id, "report", (const unsigned char *)pdf, strlen(pdf));
    r = download(writer, doc_id, id, NULL, NULL);
    cr_assert_str_eq(r.content_type, "application/pdf");
    resp_free(&r);
}

Test(blobs, labels_hide_attachments_as_if_they_did_not_exist)
{
    long long id = upload(doc_id, "secret.txt", (const unsigned char *)"internal only", 13);
    char path[128];
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments", doc_id);
    struct resp r = http_json(&srv, "GET", path, low, NULL, NULL);
    cr_assert_eq(r.status, 404, "%s", r.body);
    resp_free(&r);
    r = download(low, doc_id, id, NULL, NULL);
    cr_assert_eq(r.status, 404, "%s", r.body);
    cr_assert(strstr(r.body, "not_found"));
    resp_free(&r);
    /* Uploading to it is refused the same way. */
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments?name=x", doc_id);
    r = send_raw("POST", path, low, (const unsigned char *)"x", 1, NULL);
    cr_assert_eq(r.status, 404, "%s", r.body);
    resp_free(&r);
    /* Each refusal is in the audit trail, for the auditor. */
    char aud[128];
    admin_login(&srv, "auditor", "Trail-Watcher-2026", aud, sizeof(aud));
    const char *events[] = {"attachment.list", "attachment.read", "attachment.add"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "/v1/audit/entries?event=%s&doc=%lld", events[i], doc_id);
        r = http_json(&srv, "GET", path, aud, NULL, NULL);
        cr_assert_eq(r.status, 200, "%s", r.body);
        cr_assert(strstr(r.body, "\"refused\"") && strstr(r.body, "lowly"), "%s not audited: %s", events[i], r.body);
        resp_free(&r);
    }
    /* #18 item 2: the auditor sees ids, events, actors and outcomes, never
     * an attachment's name, which is content under the document's label. */
    long long sid = new_doc(2);
    long long sa = upload(sid, "zhongyao-mingdan-7731.txt", (const unsigned char *)"classified", 10);
    r = download(writer, sid, sa, NULL, NULL);
    cr_assert_eq(r.status, 200);
    resp_free(&r);
    snprintf(path, sizeof(path), "/v1/audit/entries?doc=%lld", sid);
    r = http_json(&srv, "GET", path, aud, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "attachment.add"), "%s", r.body);
    cr_assert_null(strstr(r.body, "zhongyao-mingdan-7731"), "the trail shows a 秘密 attachment's name: %s", r.body);
    resp_free(&r);
}

/* Every regular file under dir: does any contain the marker? */
static bool tree_contains(const char *dir, const char *marker)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[1024];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            found = tree_contains(p, marker);
            continue;
        }
        FILE *f = fopen(p, "rb");
        if (f == NULL)
            continue;
        char *buf = malloc((size_t)st.st_size + 1);
        size_t n = fread(buf, 1, (size_t)st.st_size, f);
        fclose(f);
        found = memmem(buf, n, marker, strlen(marker)) != NULL;
        free(buf);
    }
    closedir(d);
    return found;
}

Test(blobs, the_data_directory_never_holds_the_plaintext)
{
    const char *marker = "MARKER-7d1f-PLAINTEXT-MUST-NOT-REACH-DISK";
    size_t n = 200000, ml = strlen(marker);
    unsigned char *b = malloc(n);
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)marker[i % ml];
    upload(doc_id, "marker.txt", b, n);
    /* and an incompressible one, with the marker at the start */
    fill(b, n, false, 3);
    memcpy(b, marker, ml);
    upload(doc_id, "marker.bin", b, n);
    free(b);
    oad_stop(&srv); /* checkpoint the WAL too */
    cr_assert_not(tree_contains(srv.dir, marker), "the plaintext marker is on disk under %s", srv.dir);
    oad_serve(&srv, NULL);
}

static int run_oad(const char *args, char *out, size_t n)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "server/oad %s 2>&1", args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The file of the attachment's current blob, from the database. */
static void blob_file(long long att, char *path, size_t n)
{
    char db[400], file[64] = "";
    snprintf(db, sizeof(db), "%s/oa.db", srv.dir);
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT file FROM blobs WHERE attachment_id = ? ORDER BY rev DESC LIMIT 1",
                                    -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, att);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    snprintf(file, sizeof(file), "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(h);
    snprintf(path, n, "%s/blobs/%.2s/%s", srv.dir, file, file);
}

Test(blobs, damage_is_detected_never_served_and_fsck_names_it)
{
    size_t n = 150000;
    unsigned char *b = malloc(n);
    fill(b, n, false, 11);
    long long a = upload(doc_id, "a.bin", b, n);
    long long c = upload(doc_id, "c.bin", b, n);
    long long other = new_doc(1);
    long long o = upload(other, "o.bin", b, n);
    free(b);
    char out[8192], args[600];
    snprintf(args, sizeof(args), "fsck --data %s", srv.dir);
    cr_assert_eq(run_oad(args, out, sizeof(out)), 0, "%s", out);

    /* A flipped bit in the middle of a. */
    char pa[512], pc[512], po[512];
    blob_file(a, pa, sizeof(pa));
    blob_file(c, pc, sizeof(pc));
    blob_file(o, po, sizeof(po));
    int fd = open(pa, O_RDWR);
    unsigned char byte;
    cr_assert_eq(pread(fd, &byte, 1, 70000), 1);
    byte ^= 0x10;
    cr_assert_eq(pwrite(fd, &byte, 1, 70000), 1);
    close(fd);
    /* Damage in the first piece (1 MiB) is found before the status line:
     * a clean blob_damaged answer, not a 200 cut off (#18 item 5). */
    struct resp r = download(writer, doc_id, a, NULL, NULL);
    cr_assert_eq(r.status, 500, "a damaged blob was answered %d", r.status);
    cr_assert(strstr(r.body, "blob_damaged"), "%s", r.body);
    resp_free(&r);
    /* The other document's blob copied over c: bound to another document, it fails. */
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "cp %s %s", po, pc);
    cr_assert_eq(system(cmd), 0);
    r = download(writer, doc_id, c, NULL, NULL);
    cr_assert_eq(r.status, 500, "a blob copied from another document was served: %d", r.status);
    resp_free(&r);
    /* A range of an intact part of c still fails: every segment is bound. */
    r = download(writer, doc_id, c, NULL, "Range: bytes=0-9\r\n");
    cr_assert_eq(r.status, 500);
    resp_free(&r);
    /* A truncated o. */
    cr_assert_eq(truncate(po, 100000), 0);
    cr_assert_eq(run_oad(args, out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "DAMAGED") && strstr(out, "3 damaged"), "%s", out);
    char name[64];
    snprintf(name, sizeof(name), "attachment %lld rev 1", a);
    cr_assert(strstr(out, name), "fsck did not name %s: %s", name, out);
}

Test(blobs, resumable_upload_continues_after_a_broken_connection)
{
    size_t n = 3000000;
    unsigned char *b = malloc(n);
    fill(b, n, true, 5);
    char body[256];
    snprintf(body, sizeof(body), "{\"document\":%lld,\"name\":\"resumed.txt\",\"length\":%zu}", doc_id, n);
    struct resp r = http_json(&srv, "POST", "/v1/uploads", writer, body, NULL);
    json_t *j = ok_json(&r, 201);
    char loc[128];
    snprintf(loc, sizeof(loc), "%s", json_string_value(json_object_get(j, "location")));
    json_decref(j);

    /* Send part of the body, then drop the connection. */
    for (int round = 0; round < 3; round++) {
        r = http_json(&srv, "GET", loc, writer, NULL, NULL);
        j = ok_json(&r, 200);
        size_t off = (size_t)json_integer_value(json_object_get(j, "offset"));
        json_decref(j);
        size_t part = (n - off) / 3 + (size_t)(rand() % 1000);
        int fd = http_connect(&srv);
        char head[512];
        int hn = snprintf(head, sizeof(head),
                          "PATCH %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nUpload-Offset: %zu\r\n"
                          "Content-Type: application/offset+octet-stream\r\nContent-Length: %zu\r\n\r\n",
                          loc, writer, off, n - off);
        cr_assert(http_send(fd, head, (size_t)hn));
        cr_assert(http_send(fd, b + off, part));
        usleep(100000);
        http_close(fd);
        usleep(100000);
    }
    /* A wrong offset is refused with the right one. */
    r = http_json(&srv, "GET", loc, writer, NULL, NULL);
    j = ok_json(&r, 200);
    size_t off = (size_t)json_integer_value(json_object_get(j, "offset"));
    json_decref(j);
    cr_assert(off > 0 && off < n, "offset %zu", off);
    char hdr[64];
    snprintf(hdr, sizeof(hdr), "Upload-Offset: %zu\r\n", off + 1);
    r = send_raw("PATCH", loc, writer, b, 10, hdr);
    cr_assert_eq(r.status, 409, "%s", r.body);
    cr_assert(strstr(r.body, "offset_mismatch"));
    resp_free(&r);
    /* Another user cannot see it. */
    r = http_json(&srv, "GET", loc, low, NULL, NULL);
    cr_assert_eq(r.status, 404);
    resp_free(&r);
    /* The rest completes it. */
    snprintf(hdr, sizeof(hdr), "Upload-Offset: %zu\r\n", off);
    r = send_raw("PATCH", loc, writer, b + off, n - off, hdr);
    j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    r = download(writer, doc_id, id, NULL, NULL);
    cr_assert(r.status == 200 && r.body_len == n && memcmp(r.body, b, n) == 0, "the resumed blob differs");
    resp_free(&r);
    free(b);
}

Test(blobs, a_crash_between_file_and_row_leaves_nothing_behind)
{
    oad_stop(&srv);
    setenv("OAD_FAULT", "blob-before-commit", 1);
    oad_serve(&srv, NULL);
    unsetenv("OAD_FAULT");
    char token[128];
    cr_assert_eq(login(&srv, "writer", "Fresh-Secret-2-Qx", token, sizeof(token)), 201);
    char path[128];
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments?name=lost.bin", doc_id);
    unsigned char b[100000];
    fill(b, sizeof(b), false, 1);
    int fd = http_connect(&srv);
    char head[512];
    int hn = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                                          "Content-Length: %zu\r\n\r\n", path, token, sizeof(b));
    http_send(fd, head, (size_t)hn);
    http_send(fd, b, sizeof(b));
    cr_assert(http_wait_close(fd, 10000));
    http_close(fd);
    cr_assert_eq(oad_wait(&srv, 5000), 86, "the fault did not fire");
    /* The sealed file is on disk, without a row. */
    char cmd[600], out[64] = "";
    snprintf(cmd, sizeof(cmd), "find %s/blobs -type f | wc -l", srv.dir);
    FILE *p = popen(cmd, "r");
    cr_assert(fgets(out, sizeof(out), p));
    pclose(p);
    int before = atoi(out);
    cr_assert(before >= 1);
    oad_serve(&srv, NULL);
    cr_assert(oad_log_contains(&srv, "event=blob_orphans_removed count=1"), "no orphan removed");
    p = popen(cmd, "r");
    cr_assert(fgets(out, sizeof(out), p));
    pclose(p);
    cr_assert_eq(atoi(out), before - 1);
    snprintf(cmd, sizeof(cmd), "find %s/blobs -name '*.tmp-*' | wc -l", srv.dir);
    p = popen(cmd, "r");
    cr_assert(fgets(out, sizeof(out), p));
    pclose(p);
    cr_assert_eq(atoi(out), 0);
}

static bool key_file_has(const char *line_start)
{
    char path[400], line[256];
    snprintf(path, sizeof(path), "%s/keys", srv.dir);
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, line_start, strlen(line_start)) == 0)
            found = true;
    if (f)
        fclose(f);
    return found;
}

Test(blobs, key_rotation_rewraps_and_retires_the_old_version)
{
    long long id = upload(doc_id, "kept.txt", (const unsigned char *)"survives rotation", 17);
    cr_assert(key_file_has("kek 1 1 "));
    char out[4096], args[600];
    snprintf(args, sizeof(args), "keys rotate --data %s", srv.dir);
    cr_assert_eq(run_oad(args, out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "rewrapping"), "%s", out);
    bool retired = false;
    for (int i = 0; i < 500 && !retired; i++) {
        retired = !key_file_has("kek 1 1 ") && key_file_has("kek 1 2 ");
        if (!retired)
            usleep(10000);
    }
    cr_assert(retired, "version 1 was not retired");
    struct resp r = download(writer, doc_id, id, NULL, NULL);
    cr_assert(r.status == 200 && r.body_len == 17 && memcmp(r.body, "survives rotation", 17) == 0);
    resp_free(&r);
    /* After a restart (keys read from the file again) it still opens. */
    oad_stop(&srv);
    oad_serve(&srv, NULL);
    char token[128];
    cr_assert_eq(login(&srv, "writer", "Fresh-Secret-2-Qx", token, sizeof(token)), 201);
    r = download(token, doc_id, id, NULL, NULL);
    cr_assert(r.status == 200 && r.body_len == 17);
    resp_free(&r);
    snprintf(args, sizeof(args), "fsck --data %s", srv.dir);
    cr_assert_eq(run_oad(args, out, sizeof(out)), 0, "%s", out);
}

Test(blobs, a_raised_label_reseals_the_blobs)
{
    long long id = upload(doc_id, "follow.txt", (const unsigned char *)"follows the label", 17);
    char before[512], after[512];
    blob_file(id, before, sizeof(before));
    char path[128];
    snprintf(path, sizeof(path), "/v1/documents/%lld/label", doc_id);
    struct resp r = http_json(&srv, "POST", path, secadm, "{\"level\":2,\"reason\":\"contains names\"}", NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    bool moved = false;
    for (int i = 0; i < 300 && !moved; i++) {
        blob_file(id, after, sizeof(after));
        moved = strcmp(before, after) != 0 && access(before, F_OK) != 0;
        if (!moved)
            usleep(10000);
    }
    cr_assert(moved, "the blob was not re-sealed");
    r = download(writer, doc_id, id, NULL, NULL);
    cr_assert(r.status == 200 && r.body_len == 17 && memcmp(r.body, "follows the label", 17) == 0);
    resp_free(&r);
    char out[4096], args[600];
    snprintf(args, sizeof(args), "fsck --data %s", srv.dir);
    cr_assert_eq(run_oad(args, out, sizeof(out)), 0, "%s", out);
}

/* Percent-encodes every byte but the unreserved ones (RFC 3986). */
Test(blobs, a_resumable_upload_takes_its_bytes_in_several_requests)
{
    size_t n = 1000;
    unsigned char b[1000];
    fill(b, n, true, 11);
    char body[256];
    snprintf(body, sizeof(body), "{\"document\":%lld,\"name\":\"pieces.txt\",\"length\":%zu}", doc_id, n);
    struct resp r = http_json(&srv, "POST", "/v1/uploads", writer, body, NULL);
    json_t *j = ok_json(&r, 201);
    char loc[128];
    snprintf(loc, sizeof(loc), "%s", json_string_value(json_object_get(j, "location")));
    json_decref(j);

    r = send_raw("PATCH", loc, writer, b, 400, "Upload-Offset: 0\r\n");
    j = ok_json(&r, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "offset")), 400);
    cr_assert_eq(json_integer_value(json_object_get(j, "length")), (json_int_t)n);
    json_decref(j);

    unsigned char over[700];
    memcpy(over, b + 400, 600);
    memset(over + 600, 'x', 100);
    r = send_raw("PATCH", loc, writer, over, sizeof(over), "Upload-Offset: 400\r\n");
    cr_assert_eq(r.status, 413, "%s", r.body);
    cr_assert(strstr(r.body, "body_too_large") && strstr(r.body, "declared length"), "%s", r.body);
    resp_free(&r);

    r = http_json(&srv, "GET", loc, writer, NULL, NULL);
    j = ok_json(&r, 200);
    size_t off = (size_t)json_integer_value(json_object_get(j, "offset"));
    json_decref(j);
    cr_assert(off >= 400 && off <= n, "offset %zu", off);
    char hdr[64];
    snprintf(hdr, sizeof(hdr), "Upload-Offset: %zu\r\n", off);
    r = send_raw("PATCH", loc, writer, b + off, n - off, hdr);
    j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    cr_assert_eq(json_integer_value(json_object_get(j, "size")), (json_int_t)n);
    json_decref(j);
    r = download(writer, doc_id, id, NULL, NULL);
    cr_assert(r.status == 200 && r.body_len == n && memcmp(r.body, b, n) == 0, "the pieced blob differs");
    resp_free(&r);
    /* Committed: the upload is gone. */
    r = http_json(&srv, "GET", loc, writer, NULL, NULL);
    cr_assert_eq(r.status, 404, "%s", r.body);
    resp_free(&r);
}
