/*
 * clients/gwout.c: oagw's outbound side.  It asks oad for what may leave
 * (GET /v1/gateway/outbox: oad lets only what oa_access_export() allows
 * appear), downloads each file and checks its digest, and writes a bundle
 * signed with our key into the outbox so the ferry never sees half of one:
 *   1. the bundle is written to outbox/.oagw-ID.tmp and fsync'd;
 *   2. state/out/ID.sent records its seq, bundle id, digest and final name
 *      (durably: this is where a crash resumes from);
 *   3. rename to its final name, fsync the outbox directory;
 *   4. POST /v1/gateway/outbox/ID/sent (idempotent), then the cursor.
 * At start a .tmp with a record is finished (renamed), one without is
 * removed, and the item directories (out/ID.d) of files being fetched are
 * removed; an item with a record is never written again, so one item is
 * one bundle with one seq, whatever crashed when.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clients/gw-int.h"
#include "proto/alloc.h"
#include "proto/log.h"
#include "proto/value.h"

struct sent {
    int64_t seq;
    char bundle_id[65], sha256[65], name[128];
};

static void out_path(char *p, size_t n, const struct gw *g, int64_t id, const char *suffix)
{
    snprintf(p, n, "%s/out/%" PRId64 "%s", g->conf.state, id, suffix);
}

static bool sent_read(const struct gw *g, int64_t id, struct sent *s)
{
    char p[PATH_MAX + 100];
    out_path(p, sizeof p, g, id, ".sent");
    FILE *f = fopen(p, "r");
    if (!f)
        return false;
    bool ok = fscanf(f, "%" SCNd64 " %64s %64s %127s", &s->seq, s->bundle_id, s->sha256, s->name) == 4;
    fclose(f);
    return ok;
}

/* The next seq of our own bundles: one past the highest recorded. */
static int64_t next_seq(const struct gw *g)
{
    char dir[PATH_MAX + 10];
    snprintf(dir, sizeof dir, "%s/out", g->conf.state);
    DIR *d = opendir(dir);
    int64_t max = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        char *end = NULL;
        long long id = strtoll(de->d_name, &end, 10);
        struct sent s;
        if (end && strcmp(end, ".sent") == 0 && sent_read(g, id, &s) && s.seq > max)
            max = s.seq;
    }
    if (d)
        closedir(d);
    return max + 1;
}

/* Step 1 of a crash: finish or remove what the outbox holds under a temporary name. */
static void outbox_recover(struct gw *g)
{
    DIR *d = opendir(g->conf.outbox);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        long long id = 0;
        int used = 0;
        if (sscanf(de->d_name, ".oagw-%lld.tmp%n", &id, &used) != 1 || de->d_name[used])
            continue;
        struct sent s;
        char tmp[PATH_MAX + 300], dst[PATH_MAX + 300], hex[65] = "";
        snprintf(tmp, sizeof tmp, "%s/%s", g->conf.outbox, de->d_name);
        int fd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            bundle_sha256_fd(fd, hex, NULL);
            close(fd);
        }
        if (sent_read(g, id, &s) && strcmp(s.sha256, hex) == 0) {
            snprintf(dst, sizeof dst, "%s/%s", g->conf.outbox, s.name);
            rename(tmp, dst);
        } else {
            unlink(tmp);
        }
    }
    if (d)
        closedir(d);
    oa__gw_fsync_dir(g->conf.outbox);
    /* The files a crash left half fetched or not yet removed (out/ID.d): nothing is being written now. */
    char odir[PATH_MAX + 10];
    snprintf(odir, sizeof odir, "%s/out", g->conf.state);
    d = opendir(odir);
    while (d && (de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] != '.' && l > 2 && strcmp(de->d_name + l - 2, ".d") == 0) {
            char q[PATH_MAX + 300];
            snprintf(q, sizeof q, "%s/%s", odir, de->d_name);
            oa__gw_rmtree(q);
        }
    }
    if (d)
        closedir(d);
}

/* Downloads file k of an item into dir and checks it against the item's digest and size. */
static int fetch_file(struct gw *g, int64_t id, size_t k, const cbor_item_t *f, const char *dir, char *name,
                      size_t nlen)
{
    const cbor_item_t *nm = pv_get(f, "name"), *sha = pv_get(f, "sha256"), *href = pv_get(f, "href");
    if (!nm || !cbor_isa_string(nm) || !sha || !cbor_isa_string(sha) || !href || !cbor_isa_string(href) ||
        cbor_string_length(nm) >= nlen || cbor_string_length(sha) != 64 || cbor_string_length(href) > 200)
        return -1;
    memcpy(name, cbor_string_handle(nm), cbor_string_length(nm));
    name[cbor_string_length(nm)] = '\0';
    if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || !name[0])
        return -1;
    char path[PATH_MAX + 600], hrefs[256], hex[65];
    memcpy(hrefs, cbor_string_handle(href), cbor_string_length(href));
    hrefs[cbor_string_length(href)] = '\0';
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *out = fopen(path, "w+b");
    if (!out)
        return -1;
    struct net_resp r = {0};
    uint64_t got = 0;
    int rc = net_download(g->conf.server, g->token, hrefs, out, 0, &r, &got);
    int ok = rc == 0 && r.status == 200 && fflush(out) == 0 && fsync(fileno(out)) == 0;
    rewind(out);
    ok = ok && bundle_sha256_fd(fileno(out), hex, NULL) == 0 && memcmp(hex, cbor_string_handle(sha), 64) == 0;
    fclose(out);
    if (!ok)
        oa_log(OA_LOG_ERROR, "outbox_file_failed", "item=%" PRId64 " file=%zu status=%ld", id, k, r.status);
    net_resp_free(&r);
    return ok ? 0 : -1;
}

/* Writes the bundle of one outbox item (steps 1-3); 0, or -1 to stop here and retry later. */
static int write_item(struct gw *g, int64_t id, const cbor_item_t *item, struct sent *s)
{
    const cbor_item_t *type = pv_get(item, "type"), *content = pv_get(item, "content"),
                      *files = pv_get(item, "files"), *ref = pv_get(item, "request_ref");
    char tname[32] = "", dir[PATH_MAX + 100], why[512] = "";
    enum bundle_type t;
    size_t nf = files && cbor_isa_array(files) ? cbor_array_size(files) : 0;
    if (type && cbor_isa_string(type) && cbor_string_length(type) < sizeof tname)
        memcpy(tname, cbor_string_handle(type), cbor_string_length(type));
    if (!content || !cbor_isa_map(content) || (files && !cbor_isa_array(files)) || !bundle_type_parse(tname, &t) ||
        t == BUNDLE_PUBLIC_REQUEST || t == BUNDLE_CORRECTION || nf > BUNDLE_MAX_FILES) {
        g->refused_out++;
        oa_log(OA_LOG_ERROR, "outbox_item_invalid", "item=%" PRId64 " why=\"not an item oagw can write\"", id);
        return -1;
    }
    out_path(dir, sizeof dir, g, id, ".d");
    oa__gw_rmtree(dir);
    if (mkdir(dir, 0700) != 0)
        return -1;
    int rc = -1;
    char (*names)[256] = oa_xcalloc(nf + 1, sizeof *names);
    struct bundle_src *src = oa_xcalloc(nf + 1, sizeof *src);
    char (*paths)[PATH_MAX + 400] = oa_xcalloc(nf + 1, sizeof *paths);
    unsigned char *manifest = NULL;
    /* receipt and reply name the request they answer inside their content */
    size_t extra = (t == BUNDLE_RECEIPT || t == BUNDLE_REPLY) && ref && cbor_isa_string(ref) ? 1 : 0;
    cbor_item_t *c = pv_map(cbor_map_size(content) + extra);
    for (size_t i = 0; i < cbor_map_size(content); i++)
        cbor_map_add(c, (struct cbor_pair){cbor_map_handle(content)[i].key, cbor_map_handle(content)[i].value});
    if (extra)
        pv_put(c, "request_ref", cbor_incref((cbor_item_t *)ref));
    for (size_t k = 0; k < nf; k++) {
        if (fetch_file(g, id, k, cbor_array_handle(files)[k], dir, names[k], sizeof names[k]) != 0)
            goto out;
        snprintf(paths[k], sizeof paths[k], "%s/%s", dir, names[k]);
        src[k] = (struct bundle_src){names[k], paths[k]};
    }
    char now[40], tmp[PATH_MAX + 300], dst[PATH_MAX + 300];
    oa__gw_now_rfc3339(now);
    s->seq = next_seq(g);
    size_t mlen = 0;
    manifest = bundle_manifest_build(t, g->conf.sender, s->seq, now, c, src, nf, &mlen, why, sizeof why);
    if (!manifest) {
        g->refused_out++;
        oa_log(OA_LOG_ERROR, "outbox_item_invalid", "item=%" PRId64 " why=\"%s\"", id, why);
        goto out;
    }
    snprintf(tmp, sizeof tmp, "%s/.oagw-%" PRId64 ".tmp", g->conf.outbox, id);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || bundle_write(fd, manifest, mlen, g->sk, src, nf, why, sizeof why) != 0 || fsync(fd) != 0 ||
        lseek(fd, 0, SEEK_SET) != 0 || bundle_sha256_fd(fd, s->sha256, NULL) != 0) {
        oa_log(OA_LOG_ERROR, "outbox_write_failed", "item=%" PRId64 " why=\"%s\" errno=%d", id, why, errno);
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    bundle_sha256_hex(manifest, mlen, s->bundle_id);
    snprintf(s->name, sizeof s->name, "oa-%s-%010" PRId64 ".tar", g->conf.sender, s->seq);
    char rec[400], odir[PATH_MAX + 10], rname[64];
    int n = snprintf(rec, sizeof rec, "%" PRId64 " %s %s %s\n", s->seq, s->bundle_id, s->sha256, s->name);
    snprintf(odir, sizeof odir, "%s/out", g->conf.state);
    snprintf(rname, sizeof rname, "%" PRId64 ".sent", id);
    snprintf(dst, sizeof dst, "%s/%s", g->conf.outbox, s->name);
    if (oa__gw_write_file(odir, rname, rec, (size_t)n) != 0 || rename(tmp, dst) != 0 ||
        oa__gw_fsync_dir(g->conf.outbox) != 0) {
        oa_log(OA_LOG_ERROR, "outbox_write_failed", "item=%" PRId64 " errno=%d", id, errno);
        goto out;
    }
    oa_log(OA_LOG_INFO, "exported", "item=%" PRId64 " type=%s seq=%" PRId64 " bundle=%s file=%s", id, tname, s->seq,
           s->bundle_id, s->name);
    rc = 0;
out:
    cbor_decref(&c);
    free(manifest);
    free(names);
    free(src);
    free(paths);
    oa__gw_rmtree(dir);
    return rc;
}

static int64_t cursor_read(const struct gw *g)
{
    char p[PATH_MAX + 20];
    snprintf(p, sizeof p, "%s/out.cursor", g->conf.state);
    FILE *f = fopen(p, "r");
    long long v = 0;
    if (f) {
        if (fscanf(f, "%lld", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v;
}

void oa__gw_outbound_pass(struct gw *g)
{
    outbox_recover(g);
    for (int page = 0; page < 100; page++) {
        int64_t after = cursor_read(g);
        char path[128];
        snprintf(path, sizeof path, "/v1/gateway/outbox?after=%" PRId64 "&limit=20", after);
        struct net_resp r = {0};
        if (oa__gw_call(g, "GET", path, NULL, &r) != 0 || r.status != 200) {
            if (r.status != 200)
                oa_log(OA_LOG_WARN, "outbox_unavailable", "status=%ld", r.status);
            net_resp_free(&r);
            return;
        }
        cbor_item_t *root = NULL;
        char why[256];
        const cbor_item_t *items = NULL;
        if (pv_decode_json(r.body, r.len, &root, why, sizeof why) != OA_E_OK || !cbor_isa_map(root) ||
            !(items = pv_get(root, "items")) || !cbor_isa_array(items)) {
            oa_log(OA_LOG_ERROR, "outbox_bad_answer", "why=\"%s\"", why);
            if (root)
                cbor_decref(&root);
            net_resp_free(&r);
            return;
        }
        net_resp_free(&r);
        size_t n = cbor_array_size(items);
        for (size_t i = 0; i < n; i++) {
            const cbor_item_t *item = cbor_array_handle(items)[i], *idi = pv_get(item, "id");
            if (!idi || !cbor_isa_uint(idi)) {
                oa_log(OA_LOG_ERROR, "outbox_bad_answer", "why=\"an item without an id\"");
                cbor_decref(&root);
                return;
            }
            int64_t id = (int64_t)cbor_get_int(idi);
            struct sent s;
            if (!sent_read(g, id, &s) && write_item(g, id, item, &s) != 0) {
                oa_log(OA_LOG_WARN, "outbox_item_pending", "item=%" PRId64, id);
                cbor_decref(&root);
                return;
            }
            char body[300], p2[128], cur[32];
            snprintf(body, sizeof body, "{\"bundle_id\":\"%s\",\"sha256\":\"%s\"}", s.bundle_id, s.sha256);
            snprintf(p2, sizeof p2, "/v1/gateway/outbox/%" PRId64 "/sent", id);
            struct net_resp r2 = {0};
            int rc = oa__gw_call(g, "POST", p2, body, &r2);
            long st = r2.status;
            net_resp_free(&r2);
            if (rc != 0 || st != 200) {
                oa_log(st == 409 ? OA_LOG_ERROR : OA_LOG_WARN, "outbox_sent_pending", "item=%" PRId64 " status=%ld",
                       id, st);
                cbor_decref(&root);
                return;
            }
            int cn = snprintf(cur, sizeof cur, "%" PRId64 "\n", id);
            oa__gw_write_file(g->conf.state, "out.cursor", cur, (size_t)cn);
        }
        cbor_decref(&root);
        if (n == 0)
            return;
    }
}
