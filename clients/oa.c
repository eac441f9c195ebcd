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
#include "clients/oa-int.h"
#include "proto/alloc.h"
#include "proto/sync.h"
#include "proto/value.h"

void oa__say(const char *fmt, ...)
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

void oa__ctx_paths(struct ctx *c)
{
    xdg(c->config_dir, sizeof(c->config_dir), "XDG_CONFIG_HOME", ".config");
    xdg(c->data_dir, sizeof(c->data_dir), "XDG_DATA_HOME", ".local/share");
    snprintf(c->session_path, sizeof(c->session_path), "%s/session", c->config_dir);
    snprintf(c->cache_path, sizeof(c->cache_path), "%s/cache.db", c->data_dir);
}

bool oa__session_load(struct ctx *c)
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
        else if (strncmp(line, "ca ", 3) == 0 && !c->ca[0])
            snprintf(c->ca, sizeof(c->ca), "%s", line + 3);
        else if (strncmp(line, "pin ", 4) == 0 && !c->pin[0])
            snprintf(c->pin, sizeof(c->pin), "%s", line + 4);
        else if (strncmp(line, "cert ", 5) == 0 && !c->cert[0])
            snprintf(c->cert, sizeof(c->cert), "%s", line + 5);
        else if (strncmp(line, "key ", 4) == 0 && !c->key[0])
            snprintf(c->key, sizeof(c->key), "%s", line + 4);
    }
    net_tls(c->ca, c->pin, c->cert, c->key);
    sodium_memzero(line, sizeof(line));
    fclose(f);
    return c->token[0] != '\0';
}

int oa__session_save(const struct ctx *c)
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
    const char *tls_lines[][2] = {{"ca", c->ca}, {"pin", c->pin}, {"cert", c->cert}, {"key", c->key}};
    for (size_t i = 0; i < 4; i++)
        if (tls_lines[i][1][0])
            fprintf(f, "%s %s\n", tls_lines[i][0], tls_lines[i][1]);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        return -1;
    }
    fclose(f);
    return rename(tmp, c->session_path);
}

/* The cache key stays with the session: derived from its token, gone with it. */
int oa__open_cache(struct ctx *c)
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
        oa__say("cannot open the local copy under %s", c->data_dir);
    return rc;
}

void oa__forget_local(struct ctx *c)
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
int oa__report_error(struct ctx *c, const struct net_resp *r)
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
        oa__say("%s", msg ? msg : "your session ended");
        oa__say("log in again: oa login %s", c->user[0] ? c->user : "USER");
        /* A session that ended takes its local copy with it: nothing stays readable without it. */
        oa__forget_local(c);
        ex = EX_LOGIN;
    } else if (code && strcmp(code, "password_change_required") == 0) {
        oa__say("%s Change it in the web console or ask your administrator.", msg);
        ex = EX_LOGIN;
    } else if (r->status == 404) {
        oa__say("%s (it does not exist, or you may not see it)", msg ? msg : "not found");
    } else {
        oa__say("%s (%s, HTTP %ld)", msg ? msg : "the server refused", code ? code : "?", r->status);
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
long oa__api(struct ctx *c, const char *method, const char *path, json_t *body, const char *const *headers,
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
        *ex = oa__report_error(c, &r);
    else
        *out = r.body ? json_loads(r.body, 0, NULL) : NULL;
    net_resp_free(&r);
    return r.status;
}

int oa__need_session(struct ctx *c)
{
    if (!oa__session_load(c)) {
        oa__say("you are not logged in: oa login [--server URL] USER");
        return EX_LOGIN;
    }
    return 0;
}

/* ---- rendering ---- */

static const char *const level_names[] = {"公开", "内部", "秘密", "机密", "绝密"};

/* A level given on the command line: 0-4, its Chinese name or its English one; -1 otherwise. */
int oa__level_parse(const char *s)
{
    static const char *const en[] = {"public", "internal", "secret", "confidential", "top-secret"};
    for (int i = 0; i <= 4; i++)
        if (strcmp(s, level_names[i]) == 0 || strcasecmp(s, en[i]) == 0 || (s[0] == '0' + i && s[1] == '\0'))
            return i;
    return -1;
}

const char *oa__level_name(long long l)
{
    return l >= 0 && l <= 4 ? level_names[l] : "?";
}

void oa__row_print(const struct row *r)
{
    printf("%6lld  %-4s  %-14s  %-10s  %-18s  %s\n", r->id, oa__level_name(r->level), r->state ? r->state : "",
           r->due && r->due[0] ? r->due : "-", r->number && r->number[0] ? r->number : "-", r->title ? r->title : "");
}

void oa__header_print(void)
{
    printf("%6s  %-4s  %-14s  %-10s  %-18s  %s\n", "ID", "密级", "STATE", "DUE", "NUMBER", "TITLE");
}

/* A document record of the sync protocol as JSON (for --json and show). */
json_t *oa__record_json(const cbor_item_t *rec)
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

struct row oa__row_of_json(json_t *d)
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

static const char usage[] =
    "usage: oa [--server URL] [--ca FILE | --pin sha256//KEY] [--cert FILE --key FILE] [--json] COMMAND [ARGS]\n"
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
    "you logged in to (or --server, or OA_SERVER).  The server is verified against\n"
    "--ca (or OA_CA), or its key against --pin (OA_PIN, from 'oad tls pin'); --cert and\n"
    "--key (OA_CERT, OA_KEY) present a client certificate.  Login remembers them.  Plain\n"
    "http:// is refused except to this machine.\n"
    "Exit status: 0 done, 1 refused or failed, 2 usage, 3 conflict (your change was not\n"
    "applied), 4 the server is out of reach, 5 log in first.\n";

int main(int argc, char **argv)
{
    struct ctx c = {0};
    if (sodium_init() < 0)
        return EX_FAIL;
    umask(077);
    oa__ctx_paths(&c);
    const char *env = getenv("OA_SERVER");
    if (env)
        snprintf(c.server, sizeof(c.server), "%s", env);
    struct {
        const char *flag, *env;
        char *field;
        size_t size;
    } tls_opts[] = {
        {"--ca", "OA_CA", c.ca, sizeof(c.ca)},
        {"--pin", "OA_PIN", c.pin, sizeof(c.pin)},
        {"--cert", "OA_CERT", c.cert, sizeof(c.cert)},
        {"--key", "OA_KEY", c.key, sizeof(c.key)},
    };
    for (size_t k = 0; k < 4; k++)
        if ((env = getenv(tls_opts[k].env)) != NULL)
            snprintf(tls_opts[k].field, tls_opts[k].size, "%s", env);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        size_t k = 0;
        while (k < 4 && !(i + 1 < argc && strcmp(argv[i], tls_opts[k].flag) == 0))
            k++;
        if (k < 4) {
            snprintf(tls_opts[k].field, tls_opts[k].size, "%s", argv[++i]);
            continue;
        }
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
    net_tls(c.ca, c.pin, c.cert, c.key);
    static const struct { const char *name; int (*fn)(struct ctx *, int, char **); } cmds[] = {
        {"login", oa__cmd_login}, {"logout", oa__cmd_logout}, {"sync", oa__cmd_sync}, {"todo", oa__cmd_todo},
        {"show", oa__cmd_show}, {"new", oa__cmd_new}, {"edit", oa__cmd_edit}, {"act", oa__cmd_act},
        {"history", oa__cmd_history}, {"attach", oa__cmd_attach}, {"get", oa__cmd_get},
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
    oa__say("unknown command '%s'; see oa --help", argv[i]);
    return EX_USAGE;
}
