/*
 * clients/oa.c: oa, the desktop client civil servants use every day.
 *
 * Every command talks to oad when it can and falls back to the local copy
 * when it cannot: reads come from the cache, edits and actions are queued
 * and pushed at the next `oa sync`.  The cache (cache.h) is sealed under a
 * key derived from the session and holds no document above the server's
 * cache policy.  `oa logout` forgets the session and the cache.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "clients/cache.h"
#include "clients/net.h"
#include "proto/alloc.h"
#include "proto/sync.h"
#include "proto/value.h"

/* Exit codes. */
enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_CONFLICT = 3, EX_OFFLINE = 4, EX_LOGIN = 5 };

struct ctx {
    char server[512], token[256], user[64];
    char config_dir[512], data_dir[512], session_path[600], cache_path[600];
    bool json;
    struct cache *cache;
};

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("oa: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- where things live ---- */

static void xdg(char *out, size_t n, const char *env, const char *fallback)
{
    const char *v = getenv(env), *home = getenv("HOME");
    if (v && v[0] == '/')
        snprintf(out, n, "%s/oa", v);
    else
        snprintf(out, n, "%s/%s/oa", home ? home : ".", fallback);
}

static int mkdirs(const char *path)
{
    char buf[600];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

static void ctx_paths(struct ctx *c)
{
    xdg(c->config_dir, sizeof(c->config_dir), "XDG_CONFIG_HOME", ".config");
    xdg(c->data_dir, sizeof(c->data_dir), "XDG_DATA_HOME", ".local/share");
    snprintf(c->session_path, sizeof(c->session_path), "%s/session", c->config_dir);
    snprintf(c->cache_path, sizeof(c->cache_path), "%s/cache.db", c->data_dir);
}

static bool session_load(struct ctx *c)
{
    FILE *f = fopen(c->session_path, "r");
    if (f == NULL)
        return false;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "server ", 7) == 0 && !c->server[0])
            snprintf(c->server, sizeof(c->server), "%s", line + 7);
        else if (strncmp(line, "user ", 5) == 0)
            snprintf(c->user, sizeof(c->user), "%s", line + 5);
        else if (strncmp(line, "token ", 6) == 0)
            snprintf(c->token, sizeof(c->token), "%s", line + 6);
    }
    sodium_memzero(line, sizeof(line));
    fclose(f);
    return c->token[0] != '\0';
}

static int session_save(const struct ctx *c)
{
    if (mkdirs(c->config_dir) != 0)
        return -1;
    char tmp[700];
    snprintf(tmp, sizeof(tmp), "%s.new", c->session_path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fchmod(fileno(f), 0600);
    fprintf(f, "server %s\nuser %s\ntoken %s\n", c->server, c->user, c->token);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        return -1;
    }
    fclose(f);
    return rename(tmp, c->session_path);
}

/* The cache key stays with the session: derived from its token, gone with it. */
static int open_cache(struct ctx *c)
{
    if (c->cache)
        return 0;
    unsigned char key[32];
    crypto_generichash(key, sizeof(key), (const unsigned char *)"oa-cache-v1", 11, (const unsigned char *)c->token,
                       strlen(c->token));
    char err[256];
    int rc = mkdirs(c->data_dir) == 0 ? cache_open(c->cache_path, key, &c->cache, err, sizeof(err)) : -1;
    sodium_memzero(key, sizeof(key));
    if (rc != 0)
        say("cannot open the local copy under %s", c->data_dir);
    return rc;
}

static void forget_local(struct ctx *c)
{
    cache_close(c->cache);
    c->cache = NULL;
    char p[700];
    unlink(c->cache_path);
    snprintf(p, sizeof(p), "%s-wal", c->cache_path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", c->cache_path);
    unlink(p);
    unlink(c->session_path);
}

/* ---- talking to oad ---- */

/* Prints the server's {code, message} with what to do; returns the exit code. */
static int report_error(struct ctx *c, const struct net_resp *r)
{
    json_t *j = NULL;
    if (r->body && strstr(r->content_type, "cbor")) {
        /* an error of the sync routes: the same {code, message}, in CBOR */
        cbor_item_t *it = NULL;
        if (pv_decode_cbor(r->body, r->len, &it, NULL, 0) == OA_E_OK) {
            size_t n = 0;
            char *js = pv_encode_json(it, &n);
            j = js ? json_loads(js, 0, NULL) : NULL;
            free(js);
            cbor_decref(&it);
        }
    } else if (r->body) {
        j = json_loads(r->body, 0, NULL);
    }
    const char *code = j ? json_string_value(json_object_get(j, "code")) : NULL;
    const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
    int ex = EX_FAIL;
    if (r->status == 401) {
        say("%s", msg ? msg : "your session ended");
        say("log in again: oa login %s", c->user[0] ? c->user : "USER");
        /* A session that ended takes its local copy with it: nothing stays readable without it. */
        forget_local(c);
        ex = EX_LOGIN;
    } else if (code && strcmp(code, "password_change_required") == 0) {
        say("%s Change it in the web console or ask your administrator.", msg);
        ex = EX_LOGIN;
    } else if (r->status == 404) {
        say("%s (it does not exist, or you may not see it)", msg ? msg : "not found");
    } else {
        say("%s (%s, HTTP %ld)", msg ? msg : "the server refused", code ? code : "?", r->status);
    }
    json_decref(j);
    return ex;
}

/*
 * A JSON request.  Returns the HTTP status, the parsed body in *out (the
 * caller frees it), or -1 when the server could not be reached.  An error
 * status (400 or more) other than `own`, one the caller handles itself, is
 * reported to the person here, and *ex says how to exit.
 */
static long api(struct ctx *c, const char *method, const char *path, json_t *body, const char *const *headers,
                long own, json_t **out, int *ex)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct net_resp r;
    int rc = net_request(c->server, c->token, method, path, "application/json", text ? "application/json" : NULL,
                         text, text ? strlen(text) : 0, headers, &r);
    free(text);
    *out = NULL;
    *ex = EX_OK;
    if (rc != 0) {
        net_resp_free(&r);
        return -1;
    }
    if (r.status >= 400 && r.status != own)
        *ex = report_error(c, &r);
    else
        *out = r.body ? json_loads(r.body, 0, NULL) : NULL;
    net_resp_free(&r);
    return r.status;
}

static int need_session(struct ctx *c)
{
    if (!session_load(c)) {
        say("you are not logged in: oa login [--server URL] USER");
        return EX_LOGIN;
    }
    return 0;
}

/* ---- rendering ---- */

static const char *const level_names[] = {"公开", "内部", "秘密", "机密", "绝密"};

/* A level given on the command line: 0-4, its Chinese name or its English one; -1 otherwise. */
static int level_parse(const char *s)
{
    static const char *const en[] = {"public", "internal", "secret", "confidential", "top-secret"};
    for (int i = 0; i <= 4; i++)
        if (strcmp(s, level_names[i]) == 0 || strcasecmp(s, en[i]) == 0 || (s[0] == '0' + i && s[1] == '\0'))
            return i;
    return -1;
}

static const char *level_name(long long l)
{
    return l >= 0 && l <= 4 ? level_names[l] : "?";
}

struct row {
    long long id, rev, level;
    const char *state, *title, *number, *due;
    bool todo;
};

static void row_print(const struct row *r)
{
    printf("%6lld  %-4s  %-14s  %-10s  %-18s  %s\n", r->id, level_name(r->level), r->state ? r->state : "",
           r->due && r->due[0] ? r->due : "-", r->number && r->number[0] ? r->number : "-", r->title ? r->title : "");
}

static void header_print(void)
{
    printf("%6s  %-4s  %-14s  %-10s  %-18s  %s\n", "ID", "密级", "STATE", "DUE", "NUMBER", "TITLE");
}

/* A document record of the sync protocol as JSON (for --json and show). */
static json_t *record_json(const cbor_item_t *rec)
{
    json_t *o = json_object();
    uint64_t u;
    char buf[4096];
    bool b;
    static const struct { unsigned key; const char *name; bool text; } f[] = {
        {OA_D_ID, "id", false}, {OA_D_REV, "revision", false}, {OA_D_KIND, "kind", true},
        {OA_D_STATE, "state", true}, {OA_D_TITLE, "title", true}, {OA_D_LEVEL, "level", false},
        {OA_D_NUMBER, "doc_number", true}, {OA_D_URGENCY, "urgency", true}, {OA_D_UPDATED, "updated_at", false},
        {OA_D_DRAFTER, "drafter", true}, {OA_D_DUE, "step_due", true},
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (f[i].text && oa_sync_text(rec, f[i].key, buf, sizeof(buf)))
            json_object_set_new(o, f[i].name, json_string(buf));
        else if (!f[i].text && oa_sync_uint(rec, f[i].key, &u))
            json_object_set_new(o, f[i].name, json_integer((json_int_t)u));
    }
    const cbor_item_t *body = oa_sync_get(rec, OA_D_BODY);
    if (body && cbor_isa_string(body) && cbor_string_is_definite(body))
        json_object_set_new(o, "body", json_stringn((const char *)cbor_string_handle(body), cbor_string_length(body)));
    if (oa_sync_bool(rec, OA_D_TODO, &b))
        json_object_set_new(o, "todo", json_boolean(b));
    return o;
}

static struct row row_of_json(json_t *d)
{
    struct row r = {
        .id = json_integer_value(json_object_get(d, "id")),
        .rev = json_integer_value(json_object_get(d, "revision")),
        .level = json_integer_value(json_object_get(d, "level")),
        .state = json_string_value(json_object_get(d, "state")),
        .title = json_string_value(json_object_get(d, "title")),
        .number = json_string_value(json_object_get(d, "doc_number")),
        .due = json_string_value(json_object_get(d, "step_due")),
    };
    return r;
}

/* ---- sync ---- */

struct sync_stats {
    long changed, revoked, pushed, conflicts, refused;
};

struct push_ctx {
    cbor_item_t *items[OA_SYNC_MAX_OPS];
    size_t n;
};

static int push_collect(void *arg, const char *op_id, const unsigned char *op, size_t len)
{
    struct push_ctx *p = arg;
    cbor_item_t *it = NULL;
    char kind[16] = "";
    if (pv_decode_cbor(op, len, &it, NULL, 0) != OA_E_OK)
        return 0;
    if (oa_sync_text(it, OA_OP_KIND, kind, sizeof(kind)) && strcmp(kind, "attach") == 0) {
        cbor_decref(&it); /* files go by resumable upload, not in the push */
        return 0;
    }
    p->items[p->n++] = it;
    (void)op_id;
    return p->n >= OA_SYNC_MAX_OPS;
}

static int attach_file(struct ctx *c, long long id, const char *file, bool quiet);

struct attach_ctx {
    struct ctx *c;
    struct sync_stats *st;
    bool offline;
};

/* Uploads the files attached offline, in order; a file that is gone or refused is reported and dropped. */
static int attach_queued(void *arg, const char *op_id, const unsigned char *op, size_t len)
{
    struct attach_ctx *a = arg;
    cbor_item_t *it = NULL;
    char kind[16] = "", path[4096] = "";
    uint64_t doc = 0;
    if (pv_decode_cbor(op, len, &it, NULL, 0) != OA_E_OK)
        return 0;
    bool is = oa_sync_text(it, OA_OP_KIND, kind, sizeof(kind)) && strcmp(kind, "attach") == 0 &&
              oa_sync_uint(it, OA_OP_DOC, &doc) && oa_sync_text(it, OA_OP_FIELDS, path, sizeof(path));
    cbor_decref(&it);
    if (!is)
        return 0;
    int ex = attach_file(a->c, (long long)doc, path, true);
    if (ex == EX_OFFLINE) {
        a->offline = true;
        return 1;
    }
    if (ex == EX_OK)
        a->st->pushed++;
    else {
        a->st->refused++;
        printf("REFUSED   attaching %s to document %llu (see above)\n", path, (unsigned long long)doc);
    }
    cache_queue_remove(a->c->cache, op_id);
    return 0;
}

/* Pushes what was done offline; each result is reported on its own. */
static int sync_push(struct ctx *c, struct sync_stats *st)
{
    if (cache_queue_count(c->cache) <= 0)
        return 0;
    struct attach_ctx ac = {c, st, false};
    cache_queue_each(c->cache, attach_queued, &ac);
    if (ac.offline)
        return -1;
    struct push_ctx *p = oa_xcalloc(1, sizeof(*p));
    cache_queue_each(c->cache, push_collect, p);
    if (p->n == 0) {
        free(p);
        return 0;
    }
    cbor_item_t *msg = oa_sync_message("push", 1);
    oa_sync_put(msg, OA_P_OPS, pv_array_from(p->items, p->n));
    free(p);
    size_t len = 0;
    unsigned char *bytes = pv_encode_cbor(msg, &len);
    cbor_decref(&msg);
    struct net_resp r;
    int rc = net_request(c->server, c->token, "POST", "/v1/sync/push", "application/cbor", "application/cbor", bytes,
                         len, NULL, &r);
    free(bytes);
    if (rc != 0) {
        net_resp_free(&r);
        return -1;
    }
    if (r.status != 200) {
        int ex = report_error(c, &r);
        net_resp_free(&r);
        return ex == EX_LOGIN ? -2 : -3;
    }
    cbor_item_t *res = NULL;
    bool badv = false;
    if (pv_decode_cbor(r.body, r.len, &res, NULL, 0) != OA_E_OK || oa_sync_check(res, "pushed", &badv) != NULL) {
        say("the server's answer to the push is not understood%s", badv ? " (another protocol version)" : "");
        net_resp_free(&r);
        if (res)
            cbor_decref(&res);
        return -3;
    }
    net_resp_free(&r);
    const cbor_item_t *results = oa_sync_get(res, OA_R_RESULTS);
    size_t n = results && cbor_isa_array(results) ? cbor_array_size(results) : 0;
    for (size_t i = 0; i < n; i++) {
        const cbor_item_t *x = cbor_array_handle(results)[i];
        char id[65] = "", outcome[16] = "", code[64] = "", message[512] = "";
        uint64_t rev = 0;
        oa_sync_text(x, OA_RS_ID, id, sizeof(id));
        oa_sync_text(x, OA_RS_OUTCOME, outcome, sizeof(outcome));
        oa_sync_text(x, OA_RS_CODE, code, sizeof(code));
        oa_sync_text(x, OA_RS_MESSAGE, message, sizeof(message));
        oa_sync_uint(x, OA_RS_REV, &rev);
        if (strcmp(outcome, "applied") == 0) {
            st->pushed++;
        } else if (strcmp(outcome, "conflict") == 0) {
            st->conflicts++;
            const cbor_item_t *cur = oa_sync_get(x, OA_RS_CURRENT);
            json_t *j = cur ? record_json(cur) : NULL;
            printf("CONFLICT  operation %s on document %lld: %s\n", id,
                   j ? (long long)json_integer_value(json_object_get(j, "id")) : 0LL, message);
            printf("          the server has revision %llu (state %s); your change was not applied.\n"
                   "          Look at it (oa show ID) and do it again if it still applies.\n",
                   (unsigned long long)rev, j ? json_string_value(json_object_get(j, "state")) : "?");
            json_decref(j);
        } else {
            st->refused++;
            printf("REFUSED   operation %s: %s (%s)\n", id, message, code);
        }
        cache_queue_remove(c->cache, id); /* answered: never sent again */
    }
    cbor_decref(&res);
    return 0;
}

/* Pulls the change feed from the cursor until it is exhausted. */
static int sync_pull(struct ctx *c, struct sync_stats *st)
{
    for (int pages = 0; pages < 100000; pages++) {
        int64_t cursor = cache_cursor(c->cache);
        char path[128];
        snprintf(path, sizeof(path), "/v1/sync/changes?v=%d&since=%lld&limit=%d", OA_SYNC_VERSION,
                 (long long)cursor, OA_SYNC_MAX_LIMIT);
        struct net_resp r;
        if (net_request(c->server, c->token, "GET", path, "application/cbor", NULL, NULL, 0, NULL, &r) != 0) {
            net_resp_free(&r);
            return -1;
        }
        if (r.status == 410) {
            /* The server says the cursor is no good: start again from nothing. */
            net_resp_free(&r);
            cache_begin(c->cache);
            cache_drop_all(c->cache);
            cache_set_cursor(c->cache, 0);
            cache_commit(c->cache);
            continue;
        }
        if (r.status != 200) {
            int ex = report_error(c, &r);
            net_resp_free(&r);
            return ex == EX_LOGIN ? -2 : -3;
        }
        cbor_item_t *page = NULL;
        bool badv = false;
        const char *why = pv_decode_cbor(r.body, r.len, &page, NULL, 0) != OA_E_OK ? "not CBOR"
                                                                                  : oa_sync_check(page, "changes", &badv);
        net_resp_free(&r);
        uint64_t next = 0;
        bool more = false;
        const cbor_item_t *entries = page ? oa_sync_get(page, OA_CH_ENTRIES) : NULL;
        if (why == NULL && (!oa_sync_uint(page, OA_CH_NEXT, &next) || entries == NULL || !cbor_isa_array(entries)))
            why = "a page without its cursor or entries";
        if (why) {
            say("the server's change feed is not understood: %s", why);
            if (page)
                cbor_decref(&page);
            return -3;
        }
        oa_sync_bool(page, OA_CH_MORE, &more);
        cache_begin(c->cache);
        size_t n = cbor_array_size(entries);
        for (size_t i = 0; i < n; i++) {
            const cbor_item_t *e = cbor_array_handle(entries)[i];
            char kind[16] = "";
            uint64_t doc = 0, rev = 0;
            if (!oa_sync_text(e, OA_E_KIND, kind, sizeof(kind)) || !oa_sync_uint(e, OA_E_DOC, &doc))
                continue; /* an entry of a kind this client does not know: ignored */
            oa_sync_uint(e, OA_E_REV, &rev);
            if (strcmp(kind, "revoke") == 0) {
                cache_drop_doc(c->cache, (int64_t)doc);
                st->revoked++;
                continue;
            }
            if (strcmp(kind, "doc") != 0)
                continue;
            const cbor_item_t *rec = oa_sync_get(e, OA_E_RECORD);
            bool cacheable = false, todo = false;
            oa_sync_bool(rec, OA_D_CACHEABLE, &cacheable);
            oa_sync_bool(rec, OA_D_TODO, &todo);
            st->changed++;
            if (!cacheable) {
                cache_drop_doc(c->cache, (int64_t)doc); /* 涉密信息不落地 */
                continue;
            }
            size_t len = 0;
            unsigned char *bytes = pv_encode_cbor(rec, &len);
            if (bytes)
                cache_put_doc(c->cache, (int64_t)doc, (int64_t)rev, todo, bytes, len);
            free(bytes);
        }
        cache_set_cursor(c->cache, (int64_t)next);
        cache_commit(c->cache);
        cbor_decref(&page);
        if (!more)
            return 0;
    }
    return 0;
}

static int do_sync(struct ctx *c, bool quiet, struct sync_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (open_cache(c) != 0)
        return EX_FAIL;
    int rc = sync_push(c, st);
    if (rc == 0)
        rc = sync_pull(c, st);
    if (rc == -1) {
        if (!quiet)
            say("cannot reach %s: working from the local copy (%lld operations wait to be pushed)", c->server,
                (long long)cache_queue_count(c->cache));
        return EX_OFFLINE;
    }
    if (rc == -2)
        return EX_LOGIN;
    if (rc < 0)
        return EX_FAIL;
    return st->conflicts ? EX_CONFLICT : EX_OK;
}

/* ---- commands ---- */

static int read_password(const char *prompt, char *out, size_t n)
{
    const char *env = getenv("OA_PASSWORD");
    if (env) {
        snprintf(out, n, "%s", env);
        return 0;
    }
    struct termios old, quiet;
    bool tty = isatty(0) && tcgetattr(0, &old) == 0;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(0, TCSAFLUSH, &quiet);
    }
    bool ok = fgets(out, (int)n, stdin) != NULL;
    if (tty) {
        tcsetattr(0, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (!ok)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

static int cmd_login(struct ctx *c, int argc, char **argv)
{
    const char *otp = NULL;
    static const struct option o[] = {{"otp", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        if (ch == 'o')
            otp = optarg;
        else {
            puts("usage: oa [--server URL] login [--otp CODE] USER\n"
                 "Logs in and keeps the session (mode 0600) for the next commands.\n"
                 "The password is read from the terminal (or OA_PASSWORD).");
            return ch == 'h' ? EX_OK : EX_USAGE;
        }
    }
    if (optind != argc - 1) {
        say("usage: oa login USER (see oa login --help)");
        return EX_USAGE;
    }
    if (!c->server[0]) {
        struct ctx old = {0};
        ctx_paths(&old);
        if (session_load(&old) || old.server[0])
            snprintf(c->server, sizeof(c->server), "%s", old.server);
        else
            snprintf(c->server, sizeof(c->server), "http://127.0.0.1:8340");
    }
    char pw[512];
    if (read_password("password: ", pw, sizeof(pw)) != 0)
        return EX_USAGE;
    json_t *body = json_pack("{s:s, s:s}", "username", argv[optind], "password", pw);
    sodium_memzero(pw, sizeof(pw));
    if (otp)
        json_object_set_new(body, "totp", json_string(otp));
    c->token[0] = '\0';
    json_t *out = NULL;
    int ex;
    long st = api(c, "POST", "/v1/sessions", body, NULL, 401, &out, &ex);
    json_decref(body);
    if (st < 0) {
        say("cannot reach %s: is oad running there?", c->server);
        return EX_OFFLINE;
    }
    if (ex != EX_OK)
        return ex;
    if (st == 401) {
        /* Refused credentials: a failure (1), not "log in first" (5); the
         * session already here, if any, and its local copy stay. */
        const char *msg = json_string_value(json_object_get(out, "message"));
        say("%s", msg ? msg : "the username or password is wrong");
        json_decref(out);
        return EX_FAIL;
    }
    snprintf(c->token, sizeof(c->token), "%s", json_string_value(json_object_get(out, "token")));
    snprintf(c->user, sizeof(c->user), "%s", argv[optind]);
    bool must = json_is_true(json_object_get(out, "must_change_password"));
    json_decref(out);
    /* A new session means a new cache key: the old copy is unreadable; start afresh. */
    forget_local(c);
    if (session_save(c) != 0) {
        say("cannot save the session under %s", c->config_dir);
        return EX_FAIL;
    }
    if (c->json)
        printf("{\"user\":\"%s\",\"server\":\"%s\"}\n", c->user, c->server);
    else
        printf("logged in to %s as %s\n", c->server, c->user);
    if (must)
        say("your password is a one-time password: change it before anything else");
    struct sync_stats s;
    do_sync(c, true, &s);
    return EX_OK;
}

static int cmd_logout(struct ctx *c, int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        puts("usage: oa logout\nEnds the session on the server and forgets it and the local copy here.");
        return EX_OK;
    }
    if (session_load(c)) {
        json_t *out = NULL;
        int ex;
        api(c, "DELETE", "/v1/sessions/current", NULL, NULL, 401, &out, &ex);
        json_decref(out);
    }
    forget_local(c);
    if (!c->json)
        printf("logged out; the local copy is gone\n");
    return EX_OK;
}

static int cmd_sync(struct ctx *c, int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        puts("usage: oa sync\nPushes what you did offline (each conflict is reported), then brings the local\n"
             "copy up to date.  Exit 3 when a conflict needs you, 4 when the server is out of reach.");
        return EX_OK;
    }
    int ex = need_session(c);
    if (ex)
        return ex;
    struct sync_stats s;
    ex = do_sync(c, false, &s);
    if (ex == EX_OK || ex == EX_CONFLICT) {
        if (c->json)
            printf("{\"changed\":%ld,\"revoked\":%ld,\"pushed\":%ld,\"conflicts\":%ld,\"refused\":%ld,\"cached\":%lld,"
                   "\"bytes_received\":%llu}\n",
                   s.changed, s.revoked, s.pushed, s.conflicts, s.refused, (long long)cache_count(c->cache),
                   (unsigned long long)net_bytes_received());
        else
            printf("synced: %ld changed, %ld removed, %ld pushed, %ld conflicts, %ld refused; %lld documents here\n",
                   s.changed, s.revoked, s.pushed, s.conflicts, s.refused, (long long)cache_count(c->cache));
    }
    if (ex == EX_OK && s.refused)
        ex = EX_FAIL;
    return ex;
}

struct todo_ctx {
    struct ctx *c;
    json_t *arr;
};

static int todo_row(void *arg, int64_t id, const unsigned char *rec, size_t len)
{
    struct todo_ctx *t = arg;
    cbor_item_t *it = NULL;
    if (pv_decode_cbor(rec, len, &it, NULL, 0) != OA_E_OK)
        return 0;
    json_array_append_new(t->arr, record_json(it));
    cbor_decref(&it);
    (void)id;
    return 0;
}

static void print_docs(struct ctx *c, json_t *arr, const char *note)
{
    if (c->json) {
        char *s = json_dumps(arr, JSON_COMPACT);
        puts(s);
        free(s);
        return;
    }
    header_print();
    size_t i;
    json_t *d;
    json_array_foreach(arr, i, d)
    {
        struct row r = row_of_json(d);
        row_print(&r);
    }
    if (note)
        printf("%s\n", note);
}

static int cmd_todo(struct ctx *c, int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        puts("usage: oa todo\nYour to-do list (待办).  Offline, from the local copy (documents above the\n"
             "cache policy are not kept there).");
        return EX_OK;
    }
    int ex = need_session(c);
    if (ex)
        return ex;
    json_t *out = NULL;
    long st = api(c, "GET", "/v1/documents?view=todo&limit=200", NULL, NULL, 0, &out, &ex);
    if (st == 200) {
        struct sync_stats s;
        do_sync(c, true, &s); /* in passing */
        print_docs(c, json_object_get(out, "documents"), NULL);
        json_decref(out);
        return EX_OK;
    }
    if (st > 0) {
        json_decref(out);
        return ex;
    }
    if (open_cache(c) != 0)
        return EX_FAIL;
    struct todo_ctx t = {c, json_array()};
    cache_each_doc(c->cache, true, todo_row, &t);
    print_docs(c, t.arr, "(offline: from the local copy)");
    json_decref(t.arr);
    return EX_OK;
}

static long long doc_arg(const char *s)
{
    char *end = NULL;
    long long v = s ? strtoll(s, &end, 10) : 0;
    return s && end != s && *end == '\0' && v > 0 ? v : 0;
}

static void show_json_doc(struct ctx *c, json_t *d)
{
    if (c->json) {
        char *s = json_dumps(d, JSON_COMPACT);
        puts(s);
        free(s);
        return;
    }
    struct row r = row_of_json(d);
    printf("%s\n", r.title ? r.title : "");
    printf("  document %lld, revision %lld, %s, %s\n", r.id, r.rev, level_name(r.level), r.state ? r.state : "");
    const char *keys[] = {"doc_number", "urgency", "main_recipients", "signer", "step_due", NULL};
    for (int i = 0; keys[i]; i++) {
        const char *v = json_string_value(json_object_get(d, keys[i]));
        if (v && v[0])
            printf("  %s: %s\n", keys[i], v);
    }
    const char *body = json_string_value(json_object_get(d, "body"));
    if (body)
        printf("\n%s\n", body);
}

static int cmd_show(struct ctx *c, int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--help") == 0) {
        puts("usage: oa show ID\nOne document, from the server, or from the local copy when offline.");
        return argc == 2 ? EX_OK : EX_USAGE;
    }
    int ex = need_session(c);
    if (ex)
        return ex;
    long long id = doc_arg(argv[1]);
    if (id == 0) {
        say("ID is a document number, e.g. oa show 12");
        return EX_USAGE;
    }
    char path[64];
    snprintf(path, sizeof(path), "/v1/documents/%lld", id);
    json_t *out = NULL;
    long st = api(c, "GET", path, NULL, NULL, 0, &out, &ex);
    if (st == 200) {
        show_json_doc(c, out);
        json_decref(out);
        return EX_OK;
    }
    if (st > 0) {
        if (st == 404 && open_cache(c) == 0)
            cache_drop_doc(c->cache, id); /* gone, or no longer for us */
        json_decref(out);
        return ex;
    }
    if (open_cache(c) != 0)
        return EX_FAIL;
    unsigned char *rec = NULL;
    size_t len = 0;
    int64_t rev = 0;
    if (cache_get_doc(c->cache, id, &rec, &len, &rev) != 1) {
        say("cannot reach %s, and document %lld is not in the local copy", c->server, id);
        return EX_OFFLINE;
    }
    cbor_item_t *it = NULL;
    pv_decode_cbor(rec, len, &it, NULL, 0);
    free(rec);
    json_t *d = record_json(it);
    cbor_decref(&it);
    show_json_doc(c, d);
    if (!c->json)
        printf("\n(offline: from the local copy)\n");
    json_decref(d);
    return EX_OK;
}

static char *read_file(const char *path, size_t max)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = oa_xmalloc(max + 1);
    size_t n = fread(buf, 1, max + 1, f);
    if (f != stdin)
        fclose(f);
    if (n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* Queues an operation for the next sync. */
static int queue_op(struct ctx *c, cbor_item_t *op, long long id, const char *what)
{
    char op_id[40];
    unsigned char rnd[16];
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(op_id, sizeof(op_id), rnd, sizeof(rnd));
    oa_sync_put_text(op, OA_OP_ID, op_id);
    size_t len = 0;
    unsigned char *bytes = pv_encode_cbor(op, &len);
    cbor_decref(&op);
    int rc = bytes ? cache_queue_add(c->cache, op_id, bytes, len) : -1;
    free(bytes);
    if (rc != 0) {
        say("cannot queue the operation");
        return EX_FAIL;
    }
    if (c->json)
        printf("{\"queued\":\"%s\",\"document\":%lld}\n", op_id, id);
    else
        printf("offline: %s of document %lld queued; it is pushed at the next oa sync\n", what, id);
    return EX_OK;
}

/* The revision the local copy has, for a queued operation's base. */
static int64_t cached_rev(struct ctx *c, long long id)
{
    unsigned char *rec = NULL;
    size_t len = 0;
    int64_t rev = 0;
    if (cache_get_doc(c->cache, id, &rec, &len, &rev) != 1)
        return 0;
    free(rec);
    return rev;
}

static int cmd_new(struct ctx *c, int argc, char **argv)
{
    const char *kind = "outgoing", *title = NULL, *body_file = NULL, *urgency = NULL;
    int level = 1;
    static const struct option o[] = {{"kind", required_argument, NULL, 'k'}, {"title", required_argument, NULL, 't'},
                                      {"level", required_argument, NULL, 'l'}, {"body-file", required_argument, NULL, 'b'},
                                      {"urgency", required_argument, NULL, 'u'}, {"help", no_argument, NULL, 'h'}, {0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        switch (ch) {
        case 'k': kind = optarg; break;
        case 't': title = optarg; break;
        case 'l':
            if ((level = level_parse(optarg)) < 0) {
                fprintf(stderr, "oa: --level must be 0-4, 公开 内部 秘密 机密 绝密, or public internal secret "
                                "confidential top-secret (not '%s')\n", optarg);
                return EX_USAGE;
            }
            break;
        case 'b': body_file = optarg; break;
        case 'u': urgency = optarg; break;
        default:
            puts("usage: oa new --title TITLE [--kind outgoing|incoming|request] [--level 0-4]\n"
                 "              [--urgency ordinary|urgent|very_urgent] [--body-file FILE|-]\n"
                 "Drafts a new document (needs the server).  Levels: 0 公开, 1 内部 (default), 2 秘密, 3 机密, 4 绝密.");
            return ch == 'h' ? EX_OK : EX_USAGE;
        }
    }
    if (title == NULL) {
        say("a new document needs --title");
        return EX_USAGE;
    }
    int ex = need_session(c);
    if (ex)
        return ex;
    json_t *b = json_pack("{s:s, s:s, s:i}", "kind", kind, "title", title, "level", level);
    if (urgency)
        json_object_set_new(b, "urgency", json_string(urgency));
    if (body_file) {
        char *text = read_file(body_file, 1024 * 1024);
        if (text == NULL) {
            json_decref(b);
            say("cannot read %s (at most 1 MB of text)", body_file);
            return EX_USAGE;
        }
        json_object_set_new(b, "body", json_string(text));
        free(text);
    }
    json_t *out = NULL;
    long st = api(c, "POST", "/v1/documents", b, NULL, 0, &out, &ex);
    json_decref(b);
    if (st < 0) {
        say("cannot reach %s: a new document needs the server", c->server);
        return EX_OFFLINE;
    }
    if (ex != EX_OK)
        return ex;
    if (c->json)
        show_json_doc(c, out);
    else
        printf("created document %lld (revision %lld)\n", (long long)json_integer_value(json_object_get(out, "id")),
               (long long)json_integer_value(json_object_get(out, "revision")));
    json_decref(out);
    return EX_OK;
}

static int cmd_edit(struct ctx *c, int argc, char **argv)
{
    const char *title = NULL, *body_file = NULL, *note = NULL;
    static const struct option o[] = {{"title", required_argument, NULL, 't'}, {"body-file", required_argument, NULL, 'b'},
                                      {"note", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        switch (ch) {
        case 't': title = optarg; break;
        case 'b': body_file = optarg; break;
        case 'n': note = optarg; break;
        default:
            puts("usage: oa edit ID [--title TITLE] [--body-file FILE|-] [--note TEXT]\n"
                 "Edits a draft's fields against the revision you last saw.  Offline, the edit is\n"
                 "queued and pushed at the next oa sync; a conflict is reported then, never merged.");
            return ch == 'h' ? EX_OK : EX_USAGE;
        }
    }
    long long id = optind == argc - 1 ? doc_arg(argv[optind]) : 0;
    if (id == 0 || (!title && !body_file && !note)) {
        say("usage: oa edit ID --title ... | --body-file ... | --note ...");
        return EX_USAGE;
    }
    int ex = need_session(c);
    if (ex)
        return ex;
    if (open_cache(c) != 0)
        return EX_FAIL;
    json_t *f = json_object();
    if (title)
        json_object_set_new(f, "title", json_string(title));
    if (note)
        json_object_set_new(f, "note", json_string(note));
    if (body_file) {
        char *text = read_file(body_file, 1024 * 1024);
        if (text == NULL) {
            json_decref(f);
            say("cannot read %s (at most 1 MB of text)", body_file);
            return EX_USAGE;
        }
        json_object_set_new(f, "body", json_string(text));
        free(text);
    }
    int64_t base = cached_rev(c, id);
    char path[64], ifm[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld", id);
    json_t *out = NULL;
    long st = -1;
    if (base > 0) {
        snprintf(ifm, sizeof(ifm), "If-Match: \"d%lld-%lld\"", id, (long long)base);
        const char *h[] = {ifm, NULL};
        st = api(c, "PATCH", path, f, h, 412, &out, &ex);
    } else {
        /* Not in the local copy: read the current revision first. */
        st = api(c, "GET", path, NULL, NULL, 0, &out, &ex);
        if (st == 200) {
            base = json_integer_value(json_object_get(out, "revision"));
            json_decref(out);
            snprintf(ifm, sizeof(ifm), "If-Match: \"d%lld-%lld\"", id, (long long)base);
            const char *h[] = {ifm, NULL};
            st = api(c, "PATCH", path, f, h, 412, &out, &ex);
        }
    }
    if (st < 0) {
        json_decref(out);
        if (base == 0) {
            json_decref(f);
            say("cannot reach %s, and document %lld is not in the local copy", c->server, id);
            return EX_OFFLINE;
        }
        cbor_item_t *op = oa_sync_map(5);
        oa_sync_put_text(op, OA_OP_KIND, "edit");
        oa_sync_put_uint(op, OA_OP_DOC, (uint64_t)id);
        oa_sync_put_uint(op, OA_OP_BASE, (uint64_t)base);
        char *fj = json_dumps(f, JSON_COMPACT);
        cbor_item_t *fc = NULL;
        pv_decode_json(fj, strlen(fj), &fc, NULL, 0);
        free(fj);
        json_decref(f);
        oa_sync_put(op, OA_OP_FIELDS, fc);
        return queue_op(c, op, id, "the edit");
    }
    json_decref(f);
    if (st == 412) {
        json_decref(out);
        say("document %lld changed on the server since you last saw it (revision %lld): "
            "run oa sync, look at it (oa show %lld), and edit again", id, (long long)base, id);
        return EX_CONFLICT;
    }
    if (ex != EX_OK) {
        json_decref(out);
        return ex;
    }
    printf(c->json ? "{\"document\":%lld,\"revision\":%lld}\n" : "edited document %lld: now revision %lld\n", id,
           (long long)json_integer_value(json_object_get(out, "revision")));
    json_decref(out);
    struct sync_stats s;
    do_sync(c, true, &s);
    return EX_OK;
}

static int cmd_act(struct ctx *c, int argc, char **argv)
{
    const char *opinion = NULL;
    json_t *params = json_object();
    static const struct option o[] = {{"opinion", required_argument, NULL, 'o'}, {"param", required_argument, NULL, 'p'},
                                      {"help", no_argument, NULL, 'h'}, {0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        if (ch == 'o') {
            opinion = optarg;
        } else if (ch == 'p' && strchr(optarg, '=')) {
            char key[64];
            const char *eq = strchr(optarg, '=');
            snprintf(key, sizeof(key), "%.*s", (int)(eq - optarg), optarg);
            json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
            json_object_set_new(params, key, v ? v : json_string(eq + 1));
        } else {
            json_decref(params);
            puts("usage: oa act ID ACTION [--opinion TEXT] [--param KEY=VALUE ...]\n"
                 "Acts on a document (submit, approve, object, sign, register, ...) with your opinion.\n"
                 "Offline, the action is queued for the next oa sync; if the document changed\n"
                 "meanwhile, the action is not applied and the conflict is shown to you.");
            return ch == 'h' ? EX_OK : EX_USAGE;
        }
    }
    long long id = optind == argc - 2 ? doc_arg(argv[optind]) : 0;
    if (id == 0) {
        json_decref(params);
        say("usage: oa act ID ACTION [--opinion TEXT]");
        return EX_USAGE;
    }
    const char *action = argv[optind + 1];
    int ex = need_session(c);
    if (ex || open_cache(c) != 0) {
        json_decref(params);
        return ex ? ex : EX_FAIL;
    }
    json_t *b = json_pack("{s:s}", "action", action);
    if (opinion)
        json_object_set_new(b, "opinion", json_string(opinion));
    if (json_object_size(params))
        json_object_set(b, "params", params);
    char path[80], key[80];
    unsigned char rnd[16];
    randombytes_buf(rnd, sizeof(rnd));
    char hex[33];
    sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
    snprintf(key, sizeof(key), "Idempotency-Key: %s", hex);
    snprintf(path, sizeof(path), "/v1/documents/%lld/actions", id);
    const char *h[] = {key, NULL};
    json_t *out = NULL;
    long st = api(c, "POST", path, b, h, 0, &out, &ex);
    json_decref(b);
    if (st < 0) {
        int64_t base = cached_rev(c, id);
        if (base == 0) {
            json_decref(params);
            say("cannot reach %s, and document %lld is not in the local copy", c->server, id);
            return EX_OFFLINE;
        }
        cbor_item_t *op = oa_sync_map(7);
        oa_sync_put_text(op, OA_OP_KIND, "act");
        oa_sync_put_uint(op, OA_OP_DOC, (uint64_t)id);
        oa_sync_put_uint(op, OA_OP_BASE, (uint64_t)base);
        oa_sync_put_text(op, OA_OP_ACTION, action);
        if (opinion)
            oa_sync_put_text(op, OA_OP_OPINION, opinion);
        if (json_object_size(params)) {
            char *pj = json_dumps(params, JSON_COMPACT);
            cbor_item_t *pc = NULL;
            pv_decode_json(pj, strlen(pj), &pc, NULL, 0);
            free(pj);
            oa_sync_put(op, OA_OP_PARAMS, pc);
        }
        json_decref(params);
        return queue_op(c, op, id, "the action");
    }
    json_decref(params);
    if (ex != EX_OK)
        return ex;
    json_t *d = json_object_get(out, "document");
    if (c->json) {
        char *s = json_dumps(out, JSON_COMPACT);
        puts(s);
        free(s);
    } else {
        printf("document %lld: %s -> %s\n", id, action, json_string_value(json_object_get(d, "state")));
    }
    json_decref(out);
    struct sync_stats s;
    do_sync(c, true, &s);
    return EX_OK;
}

static int cmd_history(struct ctx *c, int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--help") == 0) {
        puts("usage: oa history ID\nEvery step of a document with its opinions (needs the server).");
        return argc == 2 ? EX_OK : EX_USAGE;
    }
    int ex = need_session(c);
    if (ex)
        return ex;
    long long id = doc_arg(argv[1]);
    char path[80];
    snprintf(path, sizeof(path), "/v1/documents/%lld/history", id);
    json_t *out = NULL;
    long st = api(c, "GET", path, NULL, NULL, 0, &out, &ex);
    if (st < 0) {
        say("cannot reach %s: the history needs the server", c->server);
        return EX_OFFLINE;
    }
    if (ex != EX_OK)
        return ex;
    if (c->json) {
        char *s = json_dumps(out, JSON_COMPACT);
        puts(s);
        free(s);
    } else {
        size_t i;
        json_t *step;
        printf("%-6s %-14s %-24s %-12s %s\n", "STEP", "ACTION", "FROM -> TO", "BY", "OPINION");
        json_array_foreach(json_object_get(out, "steps"), i, step)
        {
            char ft[64];
            snprintf(ft, sizeof(ft), "%s -> %s", json_string_value(json_object_get(step, "from")) ?: "",
                     json_string_value(json_object_get(step, "to")) ?: "");
            printf("%-6lld %-14s %-24s %-12s %s\n", (long long)json_integer_value(json_object_get(step, "id")),
                   json_string_value(json_object_get(step, "action")) ?: "", ft,
                   json_string_value(json_object_get(step, "actor")) ?: "",
                   json_string_value(json_object_get(step, "opinion")) ?: "");
        }
    }
    json_decref(out);
    return EX_OK;
}

/*
 * A resumable upload: each piece continues from the offset the server holds.
 * Returns an exit code; EX_OFFLINE when the server cannot be reached at the start.
 */
static int attach_file(struct ctx *c, long long id, const char *file, bool quiet)
{
    FILE *f = fopen(file, "rb");
    struct stat sb;
    if (f == NULL || fstat(fileno(f), &sb) != 0) {
        if (f)
            fclose(f);
        say("cannot read %s", file);
        return EX_USAGE;
    }
    const char *name = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    json_t *b = json_pack("{s:I, s:s, s:I}", "document", (json_int_t)id, "name", name, "length", (json_int_t)sb.st_size);
    json_t *out = NULL;
    int ex;
    long st = api(c, "POST", "/v1/uploads", b, NULL, 0, &out, &ex);
    json_decref(b);
    if (st < 0 || ex != EX_OK) {
        fclose(f);
        return st < 0 ? EX_OFFLINE : ex;
    }
    char loc[128];
    snprintf(loc, sizeof(loc), "%s", json_string_value(json_object_get(out, "location")));
    json_decref(out);
    uint64_t size = (uint64_t)sb.st_size, off = 0;
    const uint64_t piece = 64u * 1024 * 1024;
    int tries = 0;
    for (;;) {
        uint64_t len = size - off < piece ? size - off : piece;
        char ho[64];
        snprintf(ho, sizeof(ho), "Upload-Offset: %llu", (unsigned long long)off);
        const char *h[] = {ho, NULL};
        struct net_resp r;
        int rc = net_upload_file(c->server, c->token, "PATCH", loc, f, off, len, h, &r);
        json_t *j = rc == 0 && r.body ? json_loads(r.body, 0, NULL) : NULL;
        if (rc == 0 && r.status == 201) {
            if (c->json && !quiet)
                printf("%s\n", r.body);
            else if (!quiet)
                printf("attached %s to document %lld as attachment %lld (%llu bytes)\n", name, id,
                       (long long)json_integer_value(json_object_get(j, "id")), (unsigned long long)size);
            json_decref(j);
            net_resp_free(&r);
            fclose(f);
            return EX_OK;
        }
        if (rc == 0 && r.status == 200) {
            off = (uint64_t)json_integer_value(json_object_get(j, "offset"));
            tries = 0;
        } else if (rc == 0 && r.status != 409 && r.status < 500) {
            ex = report_error(c, &r);
            json_decref(j);
            net_resp_free(&r);
            fclose(f);
            return ex;
        } else {
            /* Broken off: ask where the server is, and go on from there. */
            if (++tries > 20) {
                say("the upload keeps breaking off (%s); run the same command again later", r.error);
                json_decref(j);
                net_resp_free(&r);
                fclose(f);
                return EX_FAIL;
            }
            sleep(tries > 3 ? 2 : 0);
            json_t *g = NULL;
            int gex;
            if (api(c, "GET", loc, NULL, NULL, 0, &g, &gex) == 200)
                off = (uint64_t)json_integer_value(json_object_get(g, "offset"));
            json_decref(g);
        }
        json_decref(j);
        net_resp_free(&r);
    }
}

static int cmd_attach(struct ctx *c, int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "--help") == 0) {
        puts("usage: oa attach ID FILE\nAttaches a file to a document.  The upload resumes where it stopped\n"
             "when the connection breaks; offline, it is queued and uploaded at the next oa sync.");
        return argc == 2 ? EX_OK : EX_USAGE;
    }
    int ex = need_session(c);
    if (ex)
        return ex;
    long long id = doc_arg(argv[1]);
    char abs[4096];
    if (id == 0 || realpath(argv[2], abs) == NULL) {
        say("usage: oa attach ID FILE (cannot read %s)", argv[2]);
        return EX_USAGE;
    }
    ex = attach_file(c, id, abs, false);
    if (ex != EX_OFFLINE)
        return ex;
    /* Offline: remember the file; the next sync uploads it (the file must still be there). */
    if (open_cache(c) != 0)
        return EX_FAIL;
    cbor_item_t *op = oa_sync_map(4);
    oa_sync_put_text(op, OA_OP_KIND, "attach");
    oa_sync_put_uint(op, OA_OP_DOC, (uint64_t)id);
    oa_sync_put_text(op, OA_OP_FIELDS, abs);
    return queue_op(c, op, id, "the attachment");
}

static int cmd_get(struct ctx *c, int argc, char **argv)
{
    const char *outpath = NULL;
    static const struct option o[] = {{"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "o:h", o, NULL)) != -1) {
        if (ch == 'o')
            outpath = optarg;
        else {
            puts("usage: oa get ID ATTACHMENT [-o FILE]\nDownloads an attachment (to FILE, default: its id); an interrupted\n"
                 "download continues where it stopped when run again.");
            return ch == 'h' ? EX_OK : EX_USAGE;
        }
    }
    long long id = optind == argc - 2 ? doc_arg(argv[optind]) : 0, att = id ? doc_arg(argv[optind + 1]) : 0;
    if (att == 0) {
        say("usage: oa get ID ATTACHMENT [-o FILE]");
        return EX_USAGE;
    }
    int ex = need_session(c);
    if (ex)
        return ex;
    char def[64], part[700], path[96];
    snprintf(def, sizeof(def), "attachment-%lld", att);
    if (outpath == NULL)
        outpath = def;
    snprintf(part, sizeof(part), "%s.part", outpath);
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments/%lld", id, att);
    for (int tries = 0; tries < 20; tries++) {
        FILE *f = fopen(part, "ab");
        if (f == NULL) {
            say("cannot write %s", part);
            return EX_FAIL;
        }
        fchmod(fileno(f), 0600);
        uint64_t from = (uint64_t)ftello(f), got = 0;
        struct net_resp r;
        int rc = net_download(c->server, c->token, path, f, from, &r, &got);
        fclose(f);
        if (rc == 0 && (r.status == 200 || r.status == 206) && r.error[0] == '\0') {
            if (r.status == 200 && from > 0) {
                /* the server sent it whole: keep only the fresh copy */
                say("the server sent the whole file again; run the command once more");
                unlink(part);
                net_resp_free(&r);
                continue;
            }
            net_resp_free(&r);
            if (rename(part, outpath) != 0) {
                say("cannot rename %s", part);
                return EX_FAIL;
            }
            printf(c->json ? "{\"file\":\"%s\"}\n" : "saved %s\n", outpath);
            return EX_OK;
        }
        if (rc == 0 && r.status == 416) {
            net_resp_free(&r);
            rename(part, outpath);
            printf(c->json ? "{\"file\":\"%s\"}\n" : "saved %s\n", outpath);
            return EX_OK;
        }
        if (rc == 0 && r.status >= 400) {
            ex = report_error(c, &r);
            net_resp_free(&r);
            return ex;
        }
        net_resp_free(&r);
        sleep(tries > 3 ? 2 : 0);
    }
    say("the download keeps breaking off; run the same command again to continue");
    return EX_OFFLINE;
}

static const char usage[] =
    "usage: oa [--server URL] [--json] COMMAND [ARGS]\n"
    "\n"
    "  login USER          log in (the password is asked for)\n"
    "  todo                your to-do list (待办)\n"
    "  show ID             one document\n"
    "  new --title T ...   draft a new document\n"
    "  edit ID ...         edit a draft (queued when offline)\n"
    "  act ID ACTION ...   act on a document with an opinion (queued when offline)\n"
    "  history ID          its steps and opinions\n"
    "  attach ID FILE      attach a file (resumes when the connection breaks)\n"
    "  get ID ATTACHMENT   download an attachment\n"
    "  sync                push what you did offline, bring the local copy up to date\n"
    "  logout              end the session and forget the local copy\n"
    "\n"
    "Each command takes --help.  --json prints JSON for scripts.  The server is the one\n"
    "you logged in to (or --server, or OA_SERVER).\n"
    "Exit status: 0 done, 1 refused or failed, 2 usage, 3 conflict (your change was not\n"
    "applied), 4 the server is out of reach, 5 log in first.\n";

int main(int argc, char **argv)
{
    struct ctx c = {0};
    if (sodium_init() < 0)
        return EX_FAIL;
    umask(077);
    ctx_paths(&c);
    const char *env = getenv("OA_SERVER");
    if (env)
        snprintf(c.server, sizeof(c.server), "%s", env);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--json") == 0)
            c.json = true;
        else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc)
            snprintf(c.server, sizeof(c.server), "%s", argv[++i]);
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return EX_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("oa 0.2 (sync protocol %d)\n", OA_SYNC_VERSION);
            return EX_OK;
        } else {
            fputs(usage, stderr);
            return EX_USAGE;
        }
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return EX_USAGE;
    }
    static const struct { const char *name; int (*fn)(struct ctx *, int, char **); } cmds[] = {
        {"login", cmd_login}, {"logout", cmd_logout}, {"sync", cmd_sync}, {"todo", cmd_todo},
        {"show", cmd_show}, {"new", cmd_new}, {"edit", cmd_edit}, {"act", cmd_act},
        {"history", cmd_history}, {"attach", cmd_attach}, {"get", cmd_get},
    };
    for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
        if (strcmp(argv[i], cmds[k].name) != 0)
            continue;
        optind = 1;
        int rc = cmds[k].fn(&c, argc - i, argv + i);
        cache_close(c.cache);
        sodium_memzero(c.token, sizeof(c.token));
        return rc;
    }
    say("unknown command '%s'; see oa --help", argv[i]);
    return EX_USAGE;
}
