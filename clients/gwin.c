/*
 * clients/gwin.c: oagw's inbound side.  A bundle is renamed from the inbox
 * into work/ (so the ferry cannot change it under us and a crash knows
 * where it was), validated whole (proto/bundle.c, then gwscan), and then
 * either imported through oad (uploads, one import call), held in hold/
 * when oad says it is out of sequence, or quarantined with a reason file
 * and an audit entry.  oad answers a repeated import "duplicate", so a
 * crash between the import and the removal of the work file imports
 * nothing twice; the state names are listed in gw-int.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clients/gw-int.h"
#include "proto/alloc.h"
#include "proto/log.h"
#include "proto/value.h"

enum outcome { O_DONE, O_HELD, O_LATER };

static void sub(char *out, size_t n, const struct gw *g, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s%s%s", g->conf.state, dir, name ? "/" : "", name ? name : "");
}

void oa__gw_now_rfc3339(char out[40])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int oa__gw_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int oa__gw_write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char tmp[PATH_MAX + 300], dst[PATH_MAX + 300];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, (const char *)p + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            break;
        off += (size_t)w;
    }
    if (off != n || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, dst) != 0) {
        if (off != n)
            close(fd);
        unlink(tmp);
        return -1;
    }
    return oa__gw_fsync_dir(dir);
}

void oa__gw_rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            unlinkat(dirfd(d), de->d_name, 0);
    closedir(d);
    rmdir(path);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int oa__gw_state_init(struct gw *g, char *why, size_t whylen)
{
    static const char *const dirs[] = {"", "work", "hold", "quarantine", "out"};
    char p[PATH_MAX + 300];
    for (size_t i = 0; i < 5; i++) {
        sub(p, sizeof p, g, dirs[i], NULL);
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            snprintf(why, whylen, "%s: %s", p, strerror(errno));
            return -1;
        }
    }
    /* Half extractions and half-written temporary files: nothing in them is needed. */
    sub(p, sizeof p, g, "work", NULL);
    DIR *d = opendir(p);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            unlinkat(dirfd(d), de->d_name, 0);
        } else if (ends_with(de->d_name, ".d")) {
            char q[PATH_MAX + 600];
            snprintf(q, sizeof q, "%s/%s", p, de->d_name);
            oa__gw_rmtree(q);
        }
    }
    if (d)
        closedir(d);
    return 0;
}

enum bundle_reason oa__gw_validate(struct gw *g, const char *path, const char *dir, struct bundle *b, char *why,
                                   size_t whylen)
{
    oa__gw_rmtree(dir);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || mkdir(dir, 0700) != 0) {
        snprintf(why, whylen, "%s: %s", fd < 0 ? path : dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return BUNDLE_R_IO;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    enum bundle_reason r = bundle_read(fd, dfd, &g->conf.lim, g->conf.keys, g->conf.nkeys, b, why, whylen);
    close(fd);
    if (r == BUNDLE_R_OK && b->type != BUNDLE_PUBLIC_REQUEST && b->type != BUNDLE_CORRECTION) {
        snprintf(why, whylen, "a %s bundle does not come in from outside", bundle_type_name(b->type));
        r = BUNDLE_R_SCHEMA;
    }
    for (size_t i = 0; r == BUNDLE_R_OK && i < b->nfiles; i++)
        r = gwscan_file(g->scan, dfd, b->files[i].name, why, whylen);
    close(dfd);
    if (r != BUNDLE_R_OK)
        bundle_free(b);
    return r;
}

/* The file name the bundle had in the inbox: what follows the stamp, without ".in" (a static buffer). */
static const char *orig_name(const char *wname)
{
    static char name[256];
    const char *dash = strchr(wname, '-');
    snprintf(name, sizeof name, "%s", dash ? dash + 1 : wname);
    if (ends_with(name, ".in"))
        name[strlen(name) - 3] = '\0';
    return name;
}

/*
 * Quarantine in three steps, each resumable: the reason file beside the
 * work file; the audit entry in oad; the moves into quarantine/ (reason
 * first, so a crash between the two moves re-validates the bundle and
 * records it again rather than losing it).
 */
static enum outcome quarantine(struct gw *g, const char *wname, const char *code, const char *detail)
{
    char path[PATH_MAX + 300], reason[PATH_MAX + 310], work[PATH_MAX + 300];
    sub(work, sizeof work, g, "work", NULL);
    sub(path, sizeof path, g, "work", wname);
    snprintf(reason, sizeof reason, "%s.reason", path);
    if (code) {
        char text[2200], rname[300];
        int n = snprintf(text, sizeof text, "%s\n%s\n", code, detail);
        snprintf(rname, sizeof rname, "%s.reason", wname);
        if (oa__gw_write_file(work, rname, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1) != 0) {
            oa_log(OA_LOG_ERROR, "state_write_failed", "file=%s errno=%d", rname, errno);
            return O_LATER;
        }
    }
    char text[2200] = {0}, hex[65];
    FILE *f = fopen(reason, "r");
    size_t tn = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[tn] = '\0';
    char *nl = strchr(text, '\n');
    const char *dtl = "";
    if (nl) {
        *nl = '\0';
        dtl = nl + 1;
        ((char *)dtl)[strcspn(dtl, "\n")] = '\0';
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || bundle_sha256_fd(fd, hex, NULL) != 0) {
        if (fd >= 0)
            close(fd);
        return O_LATER;
    }
    close(fd);
    char dshort[300];
    json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "file", orig_name(wname), "sha256", hex, "reason", text, "detail",
                          pv_utf8_copy(dshort, sizeof dshort, dtl));
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    struct net_resp r = {0};
    int rc = body ? oa__gw_call(g, "POST", "/v1/gateway/quarantine", body, &r) : 0;
    free(body);
    if (rc < 0 || r.status == 0 || r.status >= 500 || r.status == 401) {
        oa_log(OA_LOG_WARN, "quarantine_audit_pending", "file=%s status=%ld", wname, r.status);
        net_resp_free(&r);
        return O_LATER;
    }
    if (r.status != 201)
        oa_log(OA_LOG_ERROR, "quarantine_audit_refused", "file=%s status=%ld body=%.200s", wname, r.status,
               r.body ? r.body : "");
    net_resp_free(&r);
    char qdir[PATH_MAX + 300], qpath[PATH_MAX + 600], qreason[PATH_MAX + 610];
    sub(qdir, sizeof qdir, g, "quarantine", NULL);
    for (int k = 0;; k++) {
        if (k == 0)
            snprintf(qpath, sizeof qpath, "%s/%s", qdir, orig_name(wname));
        else
            snprintf(qpath, sizeof qpath, "%s/%s.%d", qdir, orig_name(wname), k);
        if (access(qpath, F_OK) != 0)
            break;
    }
    snprintf(qreason, sizeof qreason, "%s.reason", qpath);
    if (rename(reason, qreason) != 0 || oa__gw_fsync_dir(qdir) != 0 || rename(path, qpath) != 0 ||
        oa__gw_fsync_dir(qdir) != 0 || oa__gw_fsync_dir(work) != 0) {
        oa_log(OA_LOG_ERROR, "state_write_failed", "file=%s errno=%d", wname, errno);
        return O_LATER;
    }
    g->quarantined++;
    char safe[300];
    oa_log(OA_LOG_WARN, "quarantined", "file=%s reason=%s", oa_log_str(safe, sizeof safe, wname, strlen(wname)),
           text);
    return O_DONE;
}

static void note_gap(struct gw *g, const struct bundle *b, int64_t expected)
{
    for (size_t i = 0; i < g->ngaps; i++)
        if (strcmp(g->gaps[i].sender, b->sender) == 0 && g->gaps[i].seq == b->seq) {
            g->gaps[i].expected = expected;
            return;
        }
    if (g->ngaps < sizeof g->gaps / sizeof g->gaps[0]) {
        struct gw_gap *gp = &g->gaps[g->ngaps++];
        snprintf(gp->sender, sizeof gp->sender, "%s", b->sender);
        gp->seq = b->seq;
        gp->expected = expected;
    }
    oa_log(OA_LOG_WARN, "sequence_gap", "sender=%s seq=%lld expected=%lld", b->sender, (long long)b->seq,
           (long long)expected);
}

/* Uploads the files and makes the one import call. */
static enum outcome import(struct gw *g, const char *wname, struct bundle *b, const char *dir)
{
    cbor_item_t *body = pv_map(8), *files = pv_array(b->nfiles);
    enum outcome out = O_LATER;
    struct net_resp r = {0};
    char path[PATH_MAX + 300], detail[1024];
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; i < b->nfiles && dfd >= 0; i++) {
        char id[128];
        int rc = oa__gw_upload(g, dfd, &b->files[i], id, sizeof id, &r);
        if (rc < 0 || (rc > 0 && (r.status == 0 || r.status >= 500 || r.status == 401)))
            goto out;
        if (rc > 0) {
            snprintf(detail, sizeof detail, "upload of files[%zu]: %ld %.900s", i, r.status, r.body ? r.body : "");
            out = quarantine(g, wname, "refused", pv_utf8_trim(detail));
            goto out;
        }
        net_resp_free(&r);
        cbor_item_t *f = pv_map(4);
        pv_put_text(f, "name", b->files[i].name);
        pv_put_text(f, "sha256", b->files[i].sha256);
        pv_put_int(f, "size", (int64_t)b->files[i].size);
        pv_put_text(f, "upload", id);
        pv_push(files, f);
    }
    if (dfd < 0)
        goto out;
    pv_put_text(body, "bundle_id", b->id);
    pv_put_text(body, "sender", b->sender);
    pv_put_int(body, "seq", b->seq);
    pv_put_text(body, "type", bundle_type_name(b->type));
    pv_put_text(body, "created", b->created);
    pv_put(body, "content", cbor_incref(b->content));
    pv_put(body, "files", files);
    files = NULL;
    size_t len = 0;
    char *json = pv_encode_json(body, &len);
    int rc = json ? oa__gw_call(g, "POST", "/v1/gateway/bundles", json, &r) : -1;
    free(json);
    /* 404: an upload expired or oad restarted since: upload again at the next pass */
    if (rc < 0 || r.status == 0 || r.status >= 500 || r.status == 401 || r.status == 404)
        goto out;
    json_t *ans = json_loads(r.body ? r.body : "", 0, NULL);
    const char *code = json_string_value(json_object_get(ans, "code"));
    const char *outcome = json_string_value(json_object_get(ans, "outcome"));
    if (r.status == 201 || r.status == 200) {
        sub(path, sizeof path, g, "work", wname);
        unlink(path);
        oa__gw_fsync_dir(g->conf.state);
        if (r.status == 201)
            g->imported++;
        else
            g->duplicates++;
        oa_log(OA_LOG_INFO, "imported", "bundle=%s sender=%s seq=%lld outcome=%s document=%lld", b->id, b->sender,
               (long long)b->seq, outcome ? outcome : "?", (long long)json_integer_value(json_object_get(ans, "document_id")));
        out = O_DONE;
    } else if (r.status == 409 && code && strcmp(code, "out_of_sequence") == 0) {
        char hold[PATH_MAX + 300];
        sub(path, sizeof path, g, "work", wname);
        sub(hold, sizeof hold, g, "hold", wname);
        if (rename(path, hold) == 0) {
            sub(hold, sizeof hold, g, "hold", NULL);
            oa__gw_fsync_dir(hold);
            note_gap(g, b, json_integer_value(json_object_get(ans, "expected")));
            out = O_HELD;
        }
    } else {
        const char *msg = json_string_value(json_object_get(ans, "message"));
        snprintf(detail, sizeof detail, "%ld %s: %s", r.status, code ? code : "?", msg ? msg : "");
        /* oad's refusals for good keep their own code in the reason file; anything else is "refused" */
        bool named = code && (strcmp(code, "replayed") == 0 || strcmp(code, "correction_refused") == 0);
        out = quarantine(g, wname, named ? code : "refused", pv_utf8_trim(detail));
    }
    json_decref(ans);
out:
    if (dfd >= 0)
        close(dfd);
    net_resp_free(&r);
    if (files)
        cbor_decref(&files);
    cbor_decref(&body);
    return out;
}

static enum outcome process_one(struct gw *g, const char *wname)
{
    char path[PATH_MAX + 300], reason[PATH_MAX + 310], dir[PATH_MAX + 310], why[1024] = {0};
    sub(path, sizeof path, g, "work", wname);
    snprintf(reason, sizeof reason, "%s.reason", path);
    if (access(reason, F_OK) == 0)
        return quarantine(g, wname, NULL, NULL);
    snprintf(dir, sizeof dir, "%s.d", path);
    struct bundle b = {0};
    enum bundle_reason r = oa__gw_validate(g, path, dir, &b, why, sizeof why);
    enum outcome out;
    if (r == BUNDLE_R_IO) {
        oa_log(OA_LOG_ERROR, "validate_failed", "file=%s why=\"%s\"", wname, why);
        out = O_LATER;
    } else if (r != BUNDLE_R_OK) {
        out = quarantine(g, wname, bundle_reason_code(r), why);
    } else {
        out = import(g, wname, &b, dir);
        bundle_free(&b);
    }
    oa__gw_rmtree(dir);
    return out;
}

static int list_dir(const char *dir, struct dirent ***names)
{
    return scandir(dir, names, NULL, alphasort);
}

/* Moves new inbox files into work/; only regular, non-hidden, finished (not .tmp/.part) files. */
static void take_inbox(struct gw *g)
{
    struct dirent **names = NULL;
    int n = list_dir(g->conf.inbox, &names);
    static unsigned counter;
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        char src[PATH_MAX + 300], dst[PATH_MAX + 300], wname[256], orig[200];
        struct stat st;
        snprintf(src, sizeof src, "%s/%s", g->conf.inbox, nm);
        if (nm[0] == '.' || ends_with(nm, ".tmp") || ends_with(nm, ".part") || lstat(src, &st) != 0 ||
            !S_ISREG(st.st_mode))
            goto next;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        /* A ferry that writes under the final name is still writing while the file is young. */
        long long age_ms = (long long)(ts.tv_sec - st.st_mtim.tv_sec) * 1000 + (ts.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
        if (age_ms < g->conf.settle_ms) {
            g->young = true;
            goto next;
        }
        /* The name is the ferry's: keep it readable and UTF-8 for the audit trail, whatever it is. */
        bool utf8 = pv_utf8_ok((const unsigned char *)nm, strlen(nm));
        pv_utf8_copy(orig, sizeof orig, utf8 ? nm : "");
        if (!utf8) {
            size_t k = 0;
            for (; nm[k] && k < sizeof orig - 1; k++)
                orig[k] = (unsigned char)nm[k] < 0x80 ? nm[k] : '_';
            orig[k] = '\0';
        }
        for (char *c = orig; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '_';
        /* Every bundle in work/ and hold/ ends in ".in", whatever the ferry named it. */
        snprintf(wname, sizeof wname, "%010lld%09ld%04u-%s.in", (long long)ts.tv_sec, ts.tv_nsec,
                 counter++ % 10000, orig);
        sub(dst, sizeof dst, g, "work", wname);
        if (rename(src, dst) != 0) {
            oa_log(OA_LOG_ERROR, "take_failed", "errno=%d (the inbox and the state directory must be on one file system)",
                   errno);
            goto next;
        }
        sub(dst, sizeof dst, g, "work", NULL);
        oa__gw_fsync_dir(dst);
        oa__gw_fsync_dir(g->conf.inbox);
    next:
        free(names[i]);
    }
    free(names);
}

/* Processes every bundle in work/ (names without a suffix of ours); how many were imported. */
static int process_work(struct gw *g)
{
    char work[PATH_MAX + 300];
    sub(work, sizeof work, g, "work", NULL);
    struct dirent **names = NULL;
    int n = list_dir(work, &names), imported = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        char p[PATH_MAX + 600];
        snprintf(p, sizeof p, "%s/%s", work, nm);
        if (nm[0] == '.' || !(ends_with(nm, ".in") || ends_with(nm, ".in.reason"))) {
            /* not ours to process: extraction directories, temporary files */
        } else if (ends_with(nm, ".reason")) {
            p[strlen(p) - 7] = '\0';
            if (access(p, F_OK) != 0) { /* its bundle moved on: nothing left to do */
                strcat(p, ".reason");
                unlink(p);
            }
        } else if (process_one(g, nm) == O_DONE) {
            imported++;
        }
        free(names[i]);
    }
    free(names);
    return imported;
}

/* Moves held bundles back into work/ to try them again, while that imports something. */
static void retry_held(struct gw *g)
{
    char hold[PATH_MAX + 300], work[PATH_MAX + 300];
    sub(hold, sizeof hold, g, "hold", NULL);
    sub(work, sizeof work, g, "work", NULL);
    for (int round = 0; round < 1000; round++) {
        struct dirent **names = NULL;
        int n = list_dir(hold, &names), moved = 0;
        for (int i = 0; i < n; i++) {
            char a[PATH_MAX + 600], b[PATH_MAX + 600];
            snprintf(a, sizeof a, "%s/%s", hold, names[i]->d_name);
            snprintf(b, sizeof b, "%s/%s", work, names[i]->d_name);
            if (ends_with(names[i]->d_name, ".in") && rename(a, b) == 0)
                moved++;
            free(names[i]);
        }
        free(names);
        if (!moved)
            return;
        g->ngaps = 0;
        if (process_work(g) == 0)
            return;
    }
}

void oa__gw_inbound_pass(struct gw *g)
{
    int done = process_work(g);
    take_inbox(g);
    done += process_work(g);
    (void)done;
    retry_held(g);
    oa__gw_write_status(g);
}

void oa__gw_write_status(struct gw *g)
{
    char hold[PATH_MAX + 300];
    sub(hold, sizeof hold, g, "hold", NULL);
    struct dirent **names = NULL;
    int n = list_dir(hold, &names), held = 0;
    for (int i = 0; i < n; i++) {
        held += ends_with(names[i]->d_name, ".in");
        free(names[i]);
    }
    free(names);
    json_t *gaps = json_array();
    for (size_t i = 0; i < g->ngaps; i++)
        json_array_append_new(gaps, json_pack("{s:s, s:I, s:I}", "sender", g->gaps[i].sender, "seq",
                                              (json_int_t)g->gaps[i].seq, "expected", (json_int_t)g->gaps[i].expected));
    char now[40];
    oa__gw_now_rfc3339(now);
    json_t *st = json_pack("{s:s, s:I, s:I, s:I, s:i, s:o, s:I, s:b}", "updated", now, "imported",
                           (json_int_t)g->imported, "duplicates", (json_int_t)g->duplicates, "quarantined",
                           (json_int_t)g->quarantined, "held", held, "gaps", gaps, "refused_out",
                           (json_int_t)g->refused_out, "server_reachable", !g->server_down);
    char *text = json_dumps(st, JSON_INDENT(1));
    json_decref(st);
    if (text && oa__gw_write_file(g->conf.state, "status.json", text, strlen(text)) != 0)
        oa_log(OA_LOG_ERROR, "state_write_failed", "file=status.json errno=%d", errno);
    free(text);
}
