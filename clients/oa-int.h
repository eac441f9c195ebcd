/*
 * clients/oa-int.h: what the parts of oa share: oa.c (where things live,
 * talking to oad, rendering, main), oa_sync.c (oa sync), oa_cmd.c (log in
 * and out, to-do, show) and oa_doc.c (new, edit, act, history, attach, get).
 * Not for use outside them.
 */
#ifndef OA_CLIENTS_OA_INT_H
#define OA_CLIENTS_OA_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "clients/cache.h"
#include "clients/net.h"
#include "proto/sync.h"

/* Exit codes. */
enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_CONFLICT = 3, EX_OFFLINE = 4, EX_LOGIN = 5 };

struct ctx {
    char server[512], token[256], user[64];
    char ca[512], pin[128], cert[512], key[512]; /* TLS (#17): flags, OA_CA..., else the session's */
    char config_dir[512], data_dir[512], session_path[600], cache_path[600];
    bool json;
    struct cache *cache;
};

struct row {
    long long id, rev, level;
    const char *state, *title, *number, *due;
    bool todo;
};

struct sync_stats {
    long changed, revoked, pushed, conflicts, refused;
};

void oa__say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void oa__ctx_paths(struct ctx *c);

bool oa__session_load(struct ctx *c);

int oa__session_save(const struct ctx *c);

/* The cache key stays with the session: derived from its token, gone with it. */
int oa__open_cache(struct ctx *c);

void oa__forget_local(struct ctx *c);

/* Prints the server's {code, message} with what to do; returns the exit code. */
int oa__report_error(struct ctx *c, const struct net_resp *r);

/*
 * A JSON request.  Returns the HTTP status, the parsed body in *out (the
 * caller frees it), or -1 when the server could not be reached.  An error
 * status (400 or more) other than `own`, one the caller handles itself, is
 * reported to the person here, and *ex says how to exit.
 */
long oa__api(struct ctx *c, const char *method, const char *path, json_t *body, const char *const *headers,
             long own, json_t **out, int *ex);

int oa__need_session(struct ctx *c);

/* A level given on the command line: 0-4, its Chinese name or its English one; -1 otherwise. */
int oa__level_parse(const char *s);

const char *oa__level_name(long long l);

void oa__row_print(const struct row *r);

void oa__header_print(void);

/* A document record of the sync protocol as JSON (for --json and show). */
json_t *oa__record_json(const cbor_item_t *rec);

struct row oa__row_of_json(json_t *d);

int oa__do_sync(struct ctx *c, bool quiet, struct sync_stats *st);

int oa__cmd_login(struct ctx *c, int argc, char **argv);

int oa__cmd_logout(struct ctx *c, int argc, char **argv);

int oa__cmd_sync(struct ctx *c, int argc, char **argv);

int oa__cmd_todo(struct ctx *c, int argc, char **argv);

long long oa__doc_arg(const char *s);

void oa__show_json_doc(struct ctx *c, json_t *d);

int oa__cmd_show(struct ctx *c, int argc, char **argv);

char *oa__read_file(const char *path, size_t max);

/* Queues an operation for the next sync. */
int oa__queue_op(struct ctx *c, cbor_item_t *op, long long id, const char *what);

/* The revision the local copy has, for a queued operation's base. */
int64_t oa__cached_rev(struct ctx *c, long long id);

int oa__cmd_new(struct ctx *c, int argc, char **argv);

int oa__cmd_edit(struct ctx *c, int argc, char **argv);

int oa__cmd_act(struct ctx *c, int argc, char **argv);

int oa__cmd_history(struct ctx *c, int argc, char **argv);

/*
 * A resumable upload: each piece continues from the offset the server holds.
 * Returns an exit code; EX_OFFLINE when the server cannot be reached at the start.
 */
int oa__attach_file(struct ctx *c, long long id, const char *file, bool quiet);

int oa__cmd_attach(struct ctx *c, int argc, char **argv);

int oa__cmd_get(struct ctx *c, int argc, char **argv);

#endif
