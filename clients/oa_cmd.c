/* clients/oa_cmd.c: oa login, logout, sync, todo and show. */
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

int oa__cmd_login(struct ctx *c, int argc, char **argv)
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
        oa__say("usage: oa login USER (see oa login --help)");
        return EX_USAGE;
    }
    if (!c->server[0]) {
        struct ctx old = {0};
        oa__ctx_paths(&old);
        if (oa__session_load(&old) || old.server[0])
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
    long st = oa__api(c, "POST", "/v1/sessions", body, NULL, 401, &out, &ex);
    json_decref(body);
    if (st < 0) {
        oa__say("cannot reach %s (%s): is oad running there?", c->server, net_last_error());
        return EX_OFFLINE;
    }
    if (ex != EX_OK)
        return ex;
    if (st == 401) {
        /* Refused credentials: a failure (1), not "log in first" (5); the
         * session already here, if any, and its local copy stay. */
        const char *msg = json_string_value(json_object_get(out, "message"));
        oa__say("%s", msg ? msg : "the username or password is wrong");
        json_decref(out);
        return EX_FAIL;
    }
    snprintf(c->token, sizeof(c->token), "%s", json_string_value(json_object_get(out, "token")));
    snprintf(c->user, sizeof(c->user), "%s", argv[optind]);
    bool must = json_is_true(json_object_get(out, "must_change_password"));
    json_decref(out);
    /* A new session means a new cache key: the old copy is unreadable; start afresh. */
    oa__forget_local(c);
    if (oa__session_save(c) != 0) {
        oa__say("cannot save the session under %s", c->config_dir);
        return EX_FAIL;
    }
    if (c->json)
        printf("{\"user\":\"%s\",\"server\":\"%s\"}\n", c->user, c->server);
    else
        printf("logged in to %s as %s\n", c->server, c->user);
    if (must)
        oa__say("your password is a one-time password: change it before anything else");
    struct sync_stats s;
    oa__do_sync(c, true, &s);
    return EX_OK;
}

int oa__cmd_logout(struct ctx *c, int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        puts("usage: oa logout\nEnds the session on the server and forgets it and the local copy here.");
        return EX_OK;
    }
    if (oa__session_load(c)) {
        json_t *out = NULL;
        int ex;
        oa__api(c, "DELETE", "/v1/sessions/current", NULL, NULL, 401, &out, &ex);
        json_decref(out);
    }
    oa__forget_local(c);
    if (!c->json)
        printf("logged out; the local copy is gone\n");
    return EX_OK;
}

int oa__cmd_sync(struct ctx *c, int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        puts("usage: oa sync\nPushes what you did offline (each conflict is reported), then brings the local\n"
             "copy up to date.  Exit 3 when a conflict needs you, 4 when the server is out of reach.");
        return EX_OK;
    }
    int ex = oa__need_session(c);
    if (ex)
        return ex;
    struct sync_stats s;
    ex = oa__do_sync(c, false, &s);
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
    json_array_append_new(t->arr, oa__record_json(it));
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
    oa__header_print();
    size_t i;
    json_t *d;
    json_array_foreach(arr, i, d)
    {
        struct row r = oa__row_of_json(d);
        oa__row_print(&r);
    }
    if (note)
        printf("%s\n", note);
}

int oa__cmd_todo(struct ctx *c, int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        puts("usage: oa todo\nYour to-do list (待办).  Offline, from the local copy (documents above the\n"
             "cache policy are not kept there).");
        return EX_OK;
    }
    int ex = oa__need_session(c);
    if (ex)
        return ex;
    json_t *out = NULL;
    long st = oa__api(c, "GET", "/v1/documents?view=todo&limit=200", NULL, NULL, 0, &out, &ex);
    if (st == 200) {
        struct sync_stats s;
        oa__do_sync(c, true, &s); /* in passing */
        print_docs(c, json_object_get(out, "documents"), NULL);
        json_decref(out);
        return EX_OK;
    }
    if (st > 0) {
        json_decref(out);
        return ex;
    }
    if (oa__open_cache(c) != 0)
        return EX_FAIL;
    struct todo_ctx t = {c, json_array()};
    cache_each_doc(c->cache, true, todo_row, &t);
    print_docs(c, t.arr, "(offline: from the local copy)");
    json_decref(t.arr);
    return EX_OK;
}

long long oa__doc_arg(const char *s)
{
    char *end = NULL;
    long long v = s ? strtoll(s, &end, 10) : 0;
    return s && end != s && *end == '\0' && v > 0 ? v : 0;
}

void oa__show_json_doc(struct ctx *c, json_t *d)
{
    if (c->json) {
        char *s = json_dumps(d, JSON_COMPACT);
        puts(s);
        free(s);
        return;
    }
    struct row r = oa__row_of_json(d);
    printf("%s\n", r.title ? r.title : "");
    printf("  document %lld, revision %lld, %s, %s\n", r.id, r.rev, oa__level_name(r.level), r.state ? r.state : "");
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

int oa__cmd_show(struct ctx *c, int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--help") == 0) {
        puts("usage: oa show ID\nOne document, from the server, or from the local copy when offline.");
        return argc == 2 ? EX_OK : EX_USAGE;
    }
    int ex = oa__need_session(c);
    if (ex)
        return ex;
    long long id = oa__doc_arg(argv[1]);
    if (id == 0) {
        oa__say("ID is a document number, e.g. oa show 12");
        return EX_USAGE;
    }
    char path[64];
    snprintf(path, sizeof(path), "/v1/documents/%lld", id);
    json_t *out = NULL;
    long st = oa__api(c, "GET", path, NULL, NULL, 0, &out, &ex);
    if (st == 200) {
        oa__show_json_doc(c, out);
        json_decref(out);
        return EX_OK;
    }
    if (st > 0) {
        if (st == 404 && oa__open_cache(c) == 0)
            cache_drop_doc(c->cache, id); /* gone, or no longer for us */
        json_decref(out);
        return ex;
    }
    if (oa__open_cache(c) != 0)
        return EX_FAIL;
    unsigned char *rec = NULL;
    size_t len = 0;
    int64_t rev = 0;
    if (cache_get_doc(c->cache, id, &rec, &len, &rev) != 1) {
        oa__say("cannot reach %s (%s), and document %lld is not in the local copy", c->server, net_last_error(), id);
        return EX_OFFLINE;
    }
    cbor_item_t *it = NULL;
    pv_decode_cbor(rec, len, &it, NULL, 0);
    free(rec);
    json_t *d = oa__record_json(it);
    cbor_decref(&it);
    oa__show_json_doc(c, d);
    if (!c->json)
        printf("\n(offline: from the local copy)\n");
    json_decref(d);
    return EX_OK;
}

char *oa__read_file(const char *path, size_t max)
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
int oa__queue_op(struct ctx *c, cbor_item_t *op, long long id, const char *what)
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
        oa__say("cannot queue the operation");
        return EX_FAIL;
    }
    if (c->json)
        printf("{\"queued\":\"%s\",\"document\":%lld}\n", op_id, id);
    else
        printf("offline: %s of document %lld queued; it is pushed at the next oa sync\n", what, id);
    return EX_OK;
}

/* The revision the local copy has, for a queued operation's base. */
int64_t oa__cached_rev(struct ctx *c, long long id)
{
    unsigned char *rec = NULL;
    size_t len = 0;
    int64_t rev = 0;
    if (cache_get_doc(c->cache, id, &rec, &len, &rev) != 1)
        return 0;
    free(rec);
    return rev;
}
