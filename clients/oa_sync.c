/* clients/oa_sync.c: oa sync -- push what was done offline, then pull the change feed into the cache. */
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

/* ---- sync ---- */

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
    int ex = oa__attach_file(a->c, (long long)doc, path, true);
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
        int ex = oa__report_error(c, &r);
        net_resp_free(&r);
        return ex == EX_LOGIN ? -2 : -3;
    }
    cbor_item_t *res = NULL;
    bool badv = false;
    if (pv_decode_cbor(r.body, r.len, &res, NULL, 0) != OA_E_OK || oa_sync_check(res, "pushed", &badv) != NULL) {
        oa__say("the server's answer to the push is not understood%s", badv ? " (another protocol version)" : "");
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
            json_t *j = cur ? oa__record_json(cur) : NULL;
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
            int ex = oa__report_error(c, &r);
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
            oa__say("the server's change feed is not understood: %s", why);
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

int oa__do_sync(struct ctx *c, bool quiet, struct sync_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (oa__open_cache(c) != 0)
        return EX_FAIL;
    int rc = sync_push(c, st);
    if (rc == 0)
        rc = sync_pull(c, st);
    if (rc == -1) {
        if (!quiet)
            oa__say("cannot reach %s (%s): working from the local copy (%lld operations wait to be pushed)", c->server, net_last_error(),
                (long long)cache_queue_count(c->cache));
        return EX_OFFLINE;
    }
    if (rc == -2)
        return EX_LOGIN;
    if (rc < 0)
        return EX_FAIL;
    return st->conflicts ? EX_CONFLICT : EX_OK;
}
