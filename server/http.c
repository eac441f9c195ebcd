/*
 * server/http.c: connections, HTTP/1.1 parsing with llhttp, limits, deadlines,
 * content negotiation and responses.  Accepting, admission and the graceful
 * drain are in listen.c (http-int.h joins the two; listen.c calls into this
 * file, never the reverse).
 *
 * Life of a connection:
 *   accept -> idle deadline -> first byte (header deadline) -> headers complete
 *   (route chosen, limits checked; body deadline) -> message complete (parser
 *   paused, reading stopped, handler runs) -> reply written (write deadline) ->
 *   parse any pipelined bytes already read, else read again (idle deadline).
 *
 * Teardown is two-phase: oa__http_conn_close() closes both handles; the
 * connection is freed only when both close callbacks have run and no handler
 * or write still refers to it.
 *
 * Admission: connections are counted per client address (struct oa_source)
 * as well as in all.  A connection that waits for a request (its deadline is
 * the idle one) is on the server's idle list and its source's, oldest first;
 * when a limit is reached, the longest-idle connection makes room (see
 * listen.c admit()).
 */
#include "server/http.h"

#include <llhttp.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/value.h"
#include "proto/log.h"
#include "server/http-int.h"
#include "server/server.h"

static void conn_read_stop(struct oa_conn *c);

/* Bytes of pipelined input kept while a request is handled, before reading stops. */
#define PENDING_MAX (64 * 1024)
static void conn_feed(struct oa_conn *c, const char *data, size_t len);
static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* ------------------------------------------------------------------------ */
/* sources and idle connections                                             */
/* ------------------------------------------------------------------------ */

_Static_assert(sizeof(((struct oa_server *)0)->source_key) == crypto_shorthash_KEYBYTES, "source_key");

/* The bucket of an address: SipHash under a random key, so that clients
 * cannot choose addresses that share one. */
static size_t source_bucket(const struct oa_server *srv, const unsigned char addr[16])
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, addr, 16, srv->source_key);
    uint64_t v;
    memcpy(&v, h, sizeof(v));
    return (size_t)(v & (srv->source_buckets - 1));
}

/* The entry of an address, or NULL when no admitted connection has it. */
struct oa_source *oa__http_source_find(struct oa_server *srv, const unsigned char addr[16])
{
    struct oa_source *s = srv->sources[source_bucket(srv, addr)];
    while (s != NULL && memcmp(s->addr, addr, 16) != 0)
        s = s->next;
    return s;
}

/* The entry of an address, made when missing. */
struct oa_source *oa__http_source_get(struct oa_server *srv, const unsigned char addr[16])
{
    struct oa_source *s = oa__http_source_find(srv, addr);
    if (s == NULL) {
        size_t b = source_bucket(srv, addr);
        s = oa_xcalloc(1, sizeof(*s));
        memcpy(s->addr, addr, 16);
        s->next = srv->sources[b];
        srv->sources[b] = s;
    }
    return s;
}

/* Takes c off the idle lists (when it is on them). */
static void idle_remove(struct oa_conn *c)
{
    if (!c->idle)
        return;
    struct oa_server *srv = c->srv;
    struct oa_source *s = c->src;
    if (c->idle_prev)
        c->idle_prev->idle_next = c->idle_next;
    else
        srv->idle_head = c->idle_next;
    if (c->idle_next)
        c->idle_next->idle_prev = c->idle_prev;
    else
        srv->idle_tail = c->idle_prev;
    if (c->sidle_prev)
        c->sidle_prev->sidle_next = c->sidle_next;
    else
        s->idle_head = c->sidle_next;
    if (c->sidle_next)
        c->sidle_next->sidle_prev = c->sidle_prev;
    else
        s->idle_tail = c->sidle_prev;
    c->idle_prev = c->idle_next = c->sidle_prev = c->sidle_next = NULL;
    c->idle = false;
}

/* Puts an admitted connection at the end (the newest) of the idle lists. */
static void idle_push(struct oa_conn *c)
{
    idle_remove(c);
    if (c->src == NULL || c->closing)
        return;
    struct oa_server *srv = c->srv;
    struct oa_source *s = c->src;
    c->idle_prev = srv->idle_tail;
    if (srv->idle_tail)
        srv->idle_tail->idle_next = c;
    else
        srv->idle_head = c;
    srv->idle_tail = c;
    c->sidle_prev = s->idle_tail;
    if (s->idle_tail)
        s->idle_tail->sidle_next = c;
    else
        s->idle_head = c;
    s->idle_tail = c;
    c->idle = true;
}

/* Stops counting c (it is closing); frees its source's entry with its last connection. */
static void source_release(struct oa_conn *c)
{
    struct oa_source *s = c->src;
    if (s == NULL)
        return;
    struct oa_server *srv = c->srv;
    idle_remove(c);
    c->src = NULL;
    srv->nlive--;
    if (--s->count > 0)
        return;
    struct oa_source **pp = &srv->sources[source_bucket(srv, s->addr)];
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    free(s);
}

/* ------------------------------------------------------------------------ */
/* deadlines                                                                */
/* ------------------------------------------------------------------------ */

static void conn_on_timeout(uv_timer_t *t)
{
    struct oa_conn *c = t->data;
    enum deadline d = c->deadline;
    c->deadline = DL_NONE;
    if (d == DL_HEADER || d == DL_BODY) {
        oa_log(OA_LOG_INFO, "timeout", "peer=%s phase=%s", c->peer, d == DL_HEADER ? "header" : "body");
        /* Answer 408 if nothing else is in progress, then close. */
        if (!c->handling && !c->writing) {
            c->early = OA_E_TIMEOUT;
            c->close_after = true;
            c->handling = true;
            c->req.route_index = -1;
            conn_read_stop(c);
            oa_reply_error(&c->req, OA_E_TIMEOUT, NULL);
            return;
        }
    } else if (d == DL_WRITE) {
        oa_log(OA_LOG_INFO, "timeout", "peer=%s phase=write", c->peer);
    }
    oa__http_conn_close(c);
}

/* Sets the connection's one deadline; safe to call again with any kind. */
void oa__http_conn_deadline(struct oa_conn *c, enum deadline d)
{
    const struct oa_config *cfg = c->srv->cfg;
    unsigned ms = 0;
    c->deadline = d;
    /* A connection is idle -- one that may be closed to make room -- exactly
     * while its deadline is the idle one. */
    if (d == DL_IDLE)
        idle_push(c);
    else
        idle_remove(c);
    switch (d) {
    case DL_NONE: uv_timer_stop(&c->timer); return;
    case DL_IDLE: ms = cfg->idle_timeout_ms; break;
    case DL_HEADER: ms = cfg->header_timeout_ms; break;
    case DL_BODY: ms = cfg->body_timeout_ms; break;
    case DL_WRITE: ms = cfg->write_timeout_ms; break;
    }
    uv_timer_start(&c->timer, conn_on_timeout, ms, 0);
}

/* ------------------------------------------------------------------------ */
/* teardown                                                                 */
/* ------------------------------------------------------------------------ */

void oa__http_request_reset(struct oa_conn *c)
{
    struct oa_req *r = &c->req;
    if (r->in != NULL)
        cbor_decref(&r->in);
    oa_arena_reset(&r->arena);
    free(c->body);
    c->body = NULL;
    c->blen = c->bcap = 0;
    c->hlen = 0;
    c->nheaders = 0;
    c->url.off = c->url.len = 0;
    c->field_open = c->value_open = false;
    c->discard_body = false;
    c->stream_in = 0;
    c->stream_paused = false;
    c->body_data = NULL;
    c->body_end = NULL;
    c->early = OA_E_OK;
    c->limit = OA_E_OK;
    c->early_msg = NULL;
    struct oa_arena keep = r->arena;
    memset(r, 0, sizeof(*r));
    r->arena = keep;
    r->srv = c->srv;
    r->conn = c;
    r->route_index = -1;
    /* Until Accept is read, errors go out as JSON: readable by any client. */
    r->out_fmt = OA_FMT_JSON;
    snprintf(r->peer, sizeof(r->peer), "%s", c->peer);
    r->peer_loopback = c->loopback;
}

static void conn_maybe_free(struct oa_conn *c)
{
    if (c->open_handles > 0 || c->handling || c->writing)
        return;
    struct oa_server *srv = c->srv;
    oa__http_request_reset(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->pending);
    free(c->hbuf);
    free(c->wbuf);
    free(c);
    srv->nconns--;
    oa__http_server_maybe_stopped(srv);
}

static void conn_on_close(uv_handle_t *h)
{
    struct oa_conn *c = h->data;
    c->open_handles--;
    if (c->stream_in == 2) {
        /* The connection went while a body was streaming: tell its handler,
         * which still owns the request and answers (into the void). */
        c->stream_in = 3;
        c->open_handles++; /* keeps c through the callback, which may answer */
        c->body_end(&c->req, OA_E_BAD_REQUEST);
        c->open_handles--;
    }
    conn_maybe_free(c);
}

void oa__http_conn_close(struct oa_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    source_release(c);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->tcp, conn_on_close);
    uv_close((uv_handle_t *)&c->timer, conn_on_close);
}

/* ------------------------------------------------------------------------ */
/* parsing                                                                  */
/* ------------------------------------------------------------------------ */

static struct oa_conn *conn_of(llhttp_t *p)
{
    return p->data;
}

static int append_header_bytes(struct oa_conn *c, const char *at, size_t len)
{
    if (len > c->srv->cfg->max_header_bytes - c->hlen) {
        c->limit = OA_E_HEADERS_TOO_LARGE;
        return -1;
    }
    memcpy(c->hbuf + c->hlen, at, len);
    c->hlen += len;
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    struct oa_conn *c = conn_of(p);
    oa__http_request_reset(c);
    c->in_message = true;
    c->req.t0 = uv_hrtime();
    oa__http_conn_deadline(c, DL_HEADER);
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct oa_conn *c = conn_of(p);
    if (c->url.len == 0)
        c->url.off = c->hlen;
    c->url.len += len;
    return append_header_bytes(c, at, len);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct oa_conn *c = conn_of(p);
    if (!c->field_open) {
        if (c->nheaders == MAX_HEADERS) {
            c->limit = OA_E_HEADERS_TOO_LARGE;
            return -1;
        }
        c->field_open = true;
        c->name[c->nheaders].off = c->hlen;
        c->name[c->nheaders].len = 0;
        c->value[c->nheaders].off = c->hlen;
        c->value[c->nheaders].len = 0;
        c->nheaders++;
    }
    c->name[c->nheaders - 1].len += len;
    return append_header_bytes(c, at, len);
}

static int on_header_field_complete(llhttp_t *p)
{
    conn_of(p)->field_open = false;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct oa_conn *c = conn_of(p);
    if (c->nheaders == 0)
        return 0;
    if (!c->value_open) {
        c->value_open = true;
        c->value[c->nheaders - 1].off = c->hlen;
    }
    c->value[c->nheaders - 1].len += len;
    return append_header_bytes(c, at, len);
}

static int on_header_value_complete(llhttp_t *p)
{
    conn_of(p)->value_open = false;
    return 0;
}

static char *span_dup(struct oa_conn *c, struct span s)
{
    char *out = oa_arena_strndup(&c->req.arena, c->hbuf + s.off, s.len);
    if (out == NULL) {
        oa_log(OA_LOG_ERROR, "bug", "where=span_dup");
        abort();
    }
    return out;
}

/* Matches "/v1/users/{}" against a path; fills params. */
static bool route_match(const char *pattern, const char *path, struct oa_req *r)
{
    int np = 0;
    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            const char *end = strchr(path, '/');
            size_t n = end ? (size_t)(end - path) : strlen(path);
            if (n == 0 || np == OA_ROUTE_PARAMS)
                return false;
            r->params[np++] = oa_arena_strndup(&r->arena, path, n);
            pattern += 2;
            path += n;
            continue;
        }
        if (*pattern != *path)
            return false;
        pattern++;
        path++;
    }
    return *pattern == '\0' && *path == '\0';
}

/* The media type of a Content-Type or Accept element, without parameters. */
static bool media_is(const char *v, size_t n, const char *type)
{
    while (n && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    size_t tl = strlen(type);
    if (n < tl || strncasecmp(v, type, tl) != 0)
        return false;
    v += tl;
    n -= tl;
    while (n && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    return n == 0 || *v == ';';
}

static double accept_q(const char *elem, size_t n)
{
    const char *semi = memchr(elem, ';', n);
    if (semi == NULL)
        return 1.0;
    const char *q = strstr(semi, "q=");
    if (q == NULL || q >= elem + n)
        return 1.0;
    return strtod(q + 2, NULL);
}

/* Picks the response format; false when neither CBOR nor JSON is acceptable. */
static bool negotiate(const char *accept, enum oa_fmt dflt, enum oa_fmt *out)
{
    if (accept == NULL || accept[0] == '\0') {
        *out = dflt;
        return true;
    }
    double qc = -1, qj = -1, qwild = -1;
    const char *p = accept;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        double q = accept_q(p, n);
        if (media_is(p, n, "application/cbor"))
            qc = q;
        else if (media_is(p, n, "application/json"))
            qj = q;
        else if (media_is(p, n, "*/*") || media_is(p, n, "application/*"))
            qwild = q > qwild ? q : qwild;
        if (end == NULL)
            break;
        p = end + 1;
    }
    if (qc < 0)
        qc = qwild;
    if (qj < 0)
        qj = qwild;
    if (qc <= 0 && qj <= 0)
        return false;
    if (qc == qj)
        *out = dflt;
    else
        *out = qc > qj ? OA_FMT_CBOR : OA_FMT_JSON;
    return true;
}

static void set_early(struct oa_conn *c, enum oa_err e, const char *msg)
{
    if (c->early == OA_E_OK) {
        c->early = e;
        c->early_msg = msg;
    }
    c->discard_body = true;
}

static int on_headers_complete(llhttp_t *p)
{
    struct oa_conn *c = conn_of(p);
    struct oa_server *srv = c->srv;
    struct oa_req *r = &c->req;

    r->method = llhttp_method_name(llhttp_get_method(p));
    char *url = span_dup(c, c->url);
    char *q = strchr(url, '?');
    r->query = "";
    if (q) {
        *q = '\0';
        r->query = q + 1;
    }
    r->path = url;

    /* The headers oa reads.  Those with a `twice` message may come once: of
     * two Authorization (or If-Match, ...) headers, a proxy, a log and oad
     * could each go by a different one.  Accept lists are joined; of other
     * repeats, the last counts. */
    static const struct {
        const char *name;
        size_t off;
        const char *twice;
    } known[] = {
        {"content-type", offsetof(struct oa_req, content_type), "The request has more than one Content-Type header."},
        {"accept", offsetof(struct oa_req, accept), NULL}, /* joined */
        {"authorization", offsetof(struct oa_req, authorization),
         "The request has more than one Authorization header."},
        {"if-match", offsetof(struct oa_req, if_match), "The request has more than one If-Match header."},
        {"idempotency-key", offsetof(struct oa_req, idempotency_key),
         "The request has more than one Idempotency-Key header."},
        {"expect", offsetof(struct oa_req, expect), NULL},
        {"range", offsetof(struct oa_req, range), "The request has more than one Range header."},
        {"upload-offset", offsetof(struct oa_req, upload_offset), "The request has more than one Upload-Offset header."},
        {"x-oa-otp", offsetof(struct oa_req, otp), "The request has more than one X-OA-OTP header."},
    };
    for (int i = 0; i < c->nheaders; i++) {
        struct span n = c->name[i];
        const char *name = c->hbuf + n.off;
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
            if (strlen(known[k].name) != n.len || strncasecmp(name, known[k].name, n.len) != 0)
                continue;
            const char **field = (const char **)((char *)r + known[k].off);
            const char *value = span_dup(c, c->value[i]);
            if (*field != NULL && known[k].twice != NULL) {
                set_early(c, OA_E_BAD_REQUEST, known[k].twice);
            } else if (*field != NULL && field == &r->accept) {
                size_t a = strlen(*field), b = strlen(value);
                char *joined = oa_arena_alloc(&r->arena, a + b + 2);
                if (joined == NULL) {
                    set_early(c, OA_E_HEADERS_TOO_LARGE, NULL);
                    break;
                }
                memcpy(joined, *field, a);
                joined[a] = ',';
                memcpy(joined + a + 1, value, b + 1);
                *field = joined;
            } else {
                *field = value;
            }
            break;
        }
    }

    /* Route. */
    bool path_known = false;
    for (int i = 0; i < srv->nroutes; i++) {
        const struct oa_route *rt = &srv->routes[i];
        if (!route_match(rt->pattern, r->path, r))
            continue;
        path_known = true;
        if (strcmp(rt->method, r->method) == 0) {
            r->route = rt;
            r->route_index = i;
            break;
        }
    }
    if (r->route == NULL)
        set_early(c, path_known ? OA_E_METHOD_NOT_ALLOWED : OA_E_NOT_FOUND, NULL);

    /* When the client states no preference (no Accept, or CBOR and JSON
     * equally acceptable, as with curl's default Accept), the answer takes the
     * request body's format; without one, JSON, which a person can read --
     * except on the routes that speak CBOR only (the sync protocol). */
    enum oa_fmt in_fmt = OA_FMT_CBOR;
    size_t ctl = r->content_type ? strlen(r->content_type) : 0;
    if (r->content_type && media_is(r->content_type, ctl, "application/json"))
        in_fmt = OA_FMT_JSON;
    enum oa_fmt dflt = OA_FMT_JSON;
    if (r->content_type && media_is(r->content_type, ctl, "application/cbor"))
        dflt = OA_FMT_CBOR;
    else if (in_fmt != OA_FMT_JSON && r->route && (r->route->flags & OA_ROUTE_CBOR))
        dflt = OA_FMT_CBOR;
    if (!negotiate(r->accept, dflt, &r->out_fmt)) {
        r->out_fmt = OA_FMT_JSON;
        set_early(c, OA_E_NOT_ACCEPTABLE, NULL);
    }

    /* Body limits: a route without a body still gets the default limit for
     * bytes it will discard. */
    bool chunked = (p->flags & F_CHUNKED) != 0;
    bool has_body = chunked || p->content_length > 0;
    c->bmax = srv->cfg->max_body_bytes;
    if (r->route && r->route->max_body)
        c->bmax = r->route->max_body;
    if (r->route && (r->route->flags & OA_ROUTE_STREAM))
        c->bmax = srv->cfg->blob_max_request_bytes;
    if (has_body && !chunked && p->content_length > c->bmax) {
        c->limit = OA_E_BODY_TOO_LARGE;
        return -1;
    }
    r->content_length = chunked ? UINT64_MAX : p->content_length;
    bool stream = r->route && (r->route->flags & OA_ROUTE_STREAM) && has_body;
    if (stream) {
        /* Streamed: its handler sees the request (and its session) before
         * any of the body, and takes the body as it arrives. */
    } else if (r->route && (r->route->flags & OA_ROUTE_BODY) && has_body) {
        if (in_fmt != OA_FMT_JSON && !(r->content_type && media_is(r->content_type, ctl, "application/cbor")))
            set_early(c, OA_E_UNSUPPORTED_MEDIA, NULL);
    } else if (has_body) {
        c->discard_body = true;
    }
    if (has_body && c->early == OA_E_OK && r->expect && strcasecmp(r->expect, "100-continue") == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uv_buf_t b = uv_buf_init((char *)cont, sizeof(cont) - 1);
        uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    }
    if (stream && c->early == OA_E_OK) {
        c->stream_in = 1;
        c->handling = true;
        oa__http_conn_deadline(c, DL_NONE);
        return HPE_PAUSED;
    }
    oa__http_conn_deadline(c, has_body ? DL_BODY : DL_NONE);
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct oa_conn *c = conn_of(p);
    if (len > c->bmax - c->blen) {
        c->limit = OA_E_BODY_TOO_LARGE;
        return -1;
    }
    if (!c->stream_paused)
        oa__http_conn_deadline(c, DL_BODY);
    if (c->stream_in == 2) {
        c->blen += len;
        c->body_data(&c->req, at, len);
        return 0;
    }
    if (c->stream_in == 3)
        return 0; /* answered early; the connection closes */
    if (c->discard_body) {
        c->blen += len;
        return 0;
    }
    if (c->blen + len > c->bcap) {
        size_t cap = c->bcap ? c->bcap : 4096;
        while (cap < c->blen + len)
            cap *= 2;
        if (cap > c->bmax)
            cap = c->bmax;
        c->body = oa_xrealloc(c->body, cap);
        c->bcap = cap;
    }
    memcpy(c->body + c->blen, at, len);
    c->blen += len;
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct oa_conn *c = conn_of(p);
    c->keep_alive = llhttp_should_keep_alive(p);
    c->in_message = false;
    c->handling = true;
    oa__http_conn_deadline(c, DL_NONE);
    return HPE_PAUSED;
}

const llhttp_settings_t *oa__http_parser_settings(void)
{
    static llhttp_settings_t s;
    static bool ready;
    if (!ready) {
        llhttp_settings_init(&s);
        s.on_message_begin = on_message_begin;
        s.on_url = on_url;
        s.on_header_field = on_header_field;
        s.on_header_field_complete = on_header_field_complete;
        s.on_header_value = on_header_value;
        s.on_header_value_complete = on_header_value_complete;
        s.on_headers_complete = on_headers_complete;
        s.on_body = on_body;
        s.on_message_complete = on_message_complete;
        ready = true;
    }
    return &s;
}

/* ------------------------------------------------------------------------ */
/* dispatch                                                                 */
/* ------------------------------------------------------------------------ */

static void dispatch(struct oa_conn *c)
{
    struct oa_server *srv = c->srv;
    struct oa_req *r = &c->req;
    snprintf(r->id, sizeof(r->id), "%s-%llx", srv->instance, (unsigned long long)++srv->next_req);
    r->body = c->body;
    r->body_len = c->blen;

    if (c->early != OA_E_OK) {
        oa_reply_error(r, c->early, c->early_msg);
        return;
    }
    if ((r->route->flags & OA_ROUTE_BODY) && r->body_len > 0) {
        char why[256];
        size_t cl = r->content_type ? strlen(r->content_type) : 0;
        bool json = r->content_type && media_is(r->content_type, cl, "application/json");
        enum oa_err e = json ? pv_decode_json(r->body, r->body_len, &r->in, why, sizeof(why))
                             : pv_decode_cbor(r->body, r->body_len, &r->in, why, sizeof(why));
        if (e != OA_E_OK) {
            oa_reply_error(r, e, why);
            return;
        }
    }
    if (r->route->flags & OA_ROUTE_AUTH) {
        if (srv->auth_gate)
            srv->auth_gate(r);
        else
            oa_reply_error(r, OA_E_INTERNAL, "no authentication gate is installed");
    } else
        r->route->handler(r);
}

/*
 * Parses bytes; on a complete request, keeps what follows it for later and
 * dispatches.  `data` may point into c->pending, which this replaces.
 */
static void conn_feed(struct oa_conn *c, const char *data, size_t len)
{
    llhttp_errno_t err = llhttp_execute(&c->parser, data, len);
    if (err == HPE_OK)
        return;
    if (err == HPE_PAUSED) {
        const char *pos = llhttp_get_error_pos(&c->parser);
        size_t used = pos ? (size_t)(pos - data) : len;
        size_t rest = len - used;
        char *keep = NULL;
        if (rest) {
            keep = oa_xmalloc(rest);
            memcpy(keep, data + used, rest);
        }
        free(c->pending);
        c->pending = keep;
        c->pending_len = rest;
        if (rest > PENDING_MAX)
            conn_read_stop(c);
        if (c->stream_in == 3)
            return; /* answered before the body ended */
        if (c->stream_in == 2) {
            /* The streamed body is complete. */
            c->stream_in = 3;
            c->keep_alive = llhttp_should_keep_alive(&c->parser);
            c->body_end(&c->req, OA_E_OK);
            return;
        }
        dispatch(c);
        return;
    }
    if (c->stream_in == 2) {
        /* The streamed body broke a limit or the protocol: its handler answers, then the connection closes. */
        conn_read_stop(c);
        c->close_after = true;
        c->stream_in = 3;
        c->body_end(&c->req, c->limit != OA_E_OK ? c->limit : OA_E_BAD_REQUEST);
        return;
    }
    /* A protocol error or a limit: answer once, then close. */
    conn_read_stop(c);
    c->close_after = true;
    c->handling = true;
    if (c->req.arena.max == 0)
        oa__http_request_reset(c);
    snprintf(c->req.id, sizeof(c->req.id), "%s-%llx", c->srv->instance,
             (unsigned long long)++c->srv->next_req);
    if (c->limit != OA_E_OK) {
        oa_reply_error(&c->req, c->limit, NULL);
    } else {
        char msg[160];
        snprintf(msg, sizeof(msg), "The request is not valid HTTP/1.1: %s.", llhttp_get_error_reason(&c->parser));
        oa_reply_error(&c->req, OA_E_BAD_REQUEST, msg);
    }
}

static void conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct oa_conn *c = h->data;
    buf->base = c->srv->read_buf;
    buf->len = sizeof(c->srv->read_buf);
}

void oa__http_conn_read_start(struct oa_conn *c)
{
    if (!c->reading && !c->closing) {
        uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read);
        c->reading = true;
    }
}

static void conn_read_stop(struct oa_conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct oa_conn *c = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        if (c->stream_in == 2) {
            oa__http_conn_close(c); /* the body ended early: conn_on_close tells the handler */
            return;
        }
        if (c->handling || c->writing) {
            /* The peer is done sending: answer all it asked, then close. */
            conn_read_stop(c);
            c->eof = true;
            return;
        }
        /* EOF or error; a half-received request is abandoned. */
        oa__http_conn_close(c);
        return;
    }
    if (c->stream_in == 2) {
        conn_feed(c, buf->base, (size_t)nread);
        return;
    }
    if (c->handling || c->writing) {
        /* Pipelined bytes while a request is handled: keep them, within a
         * bound; past it, stop reading until the reply is written. */
        c->pending = oa_xrealloc(c->pending, c->pending_len + (size_t)nread);
        memcpy(c->pending + c->pending_len, buf->base, (size_t)nread);
        c->pending_len += (size_t)nread;
        if (c->pending_len > PENDING_MAX)
            conn_read_stop(c);
        return;
    }
    conn_feed(c, buf->base, (size_t)nread);
}

/* After a response: parse what is pending, or read again. */
static void conn_next(struct oa_conn *c)
{
    if (c->close_after || !c->keep_alive || c->srv->draining) {
        oa__http_conn_close(c);
        return;
    }
    llhttp_resume(&c->parser);
    if (c->pending_len > 0) {
        char *data = c->pending;
        size_t len = c->pending_len;
        c->pending = NULL;
        c->pending_len = 0;
        conn_feed(c, data, len);
        free(data);
        if (c->handling || c->closing)
            return;
    }
    if (c->eof) {
        oa__http_conn_close(c);
        return;
    }
    if (!c->in_message)
        oa__http_conn_deadline(c, DL_IDLE);
    oa__http_conn_read_start(c);
}

/* ------------------------------------------------------------------------ */
/* responses                                                                */
/* ------------------------------------------------------------------------ */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    }
    return "Status";
}

/* Logs and counts a finished request, then forgets it. */
static void request_finish(struct oa_conn *c)
{
    struct oa_req *r = &c->req;
    struct oa_server *srv = c->srv;
    uint64_t ns = r->t0 ? uv_hrtime() - r->t0 : 0;
    oa_metrics_request(&srv->metrics, r->route_index < 0 ? OA_METRIC_MAX_ROUTES : r->route_index,
                       r->status, ns);
    if (oa_log_enabled(OA_LOG_INFO)) {
        char path[160];
        oa_log(OA_LOG_INFO, "request", "id=%s peer=%s method=%s path=%s status=%d user=%s us=%llu",
               r->id, c->peer, r->method ? r->method : "-",
               r->path ? oa_log_str(path, sizeof(path), r->path, strlen(r->path)) : "-", r->status,
               r->who.username[0] ? r->who.username : "-", (unsigned long long)(ns / 1000));
    }
    c->handling = false;
}

static void conn_on_write(uv_write_t *w, int status)
{
    struct oa_conn *c = w->data;
    c->writing = false;
    free(c->wbuf);
    c->wbuf = NULL;
    request_finish(c);
    if (status < 0 || c->closing) {
        oa__http_conn_close(c);
        conn_maybe_free(c);
        return;
    }
    oa__http_conn_deadline(c, DL_NONE);
    conn_next(c);
}

/*
 * Formats the status line and headers of r's response (extra header lines
 * in `headers`, or NULL) and decides whether the connection closes after it:
 * an answer given before a streamed body was read always closes it, since
 * the rest of that body cannot be told from a next request.  Returns a
 * malloc'd buffer sized to the head plus `room` bytes after it (for the
 * body); *n gets the head's length.
 */
static char *response_head(struct oa_req *r, int status, const char *content_type, uint64_t length,
                           const char *headers, size_t room, size_t *n)
{
    struct oa_conn *c = r->conn;
    if (c->stream_in == 1 || c->stream_in == 2) {
        c->close_after = true;
        c->stream_in = 3;
        conn_read_stop(c);
    }
    bool close = c->close_after || !c->keep_alive || c->srv->draining;
    if (close)
        c->close_after = true;
#define HEAD_FORMAT                                                                                \
    "HTTP/1.1 %d %s\r\n"                                                                           \
    "Content-Type: %s\r\n"                                                                         \
    "Content-Length: %llu\r\n"                                                                     \
    "X-Request-Id: %s\r\n"                                                                         \
    "Cache-Control: no-store\r\n"                                                                  \
    "%s%s%s%s%s"                                                                                   \
    "\r\n"
#define HEAD_ARGS                                                                                  \
    status, reason(status), content_type, (unsigned long long)length, r->id, r->etag[0] ? "ETag: " : "", \
        r->etag, r->etag[0] ? "\r\n" : "", headers ? headers : "", close ? "Connection: close\r\n" : ""
    int need = snprintf(NULL, 0, HEAD_FORMAT, HEAD_ARGS);
    if (need < 0 || room > SIZE_MAX - (size_t)need - 1) {
        oa_log(OA_LOG_ERROR, "bug", "where=response_head");
        abort();
    }
    char *buf = oa_xmalloc((size_t)need + 1 + room);
    snprintf(buf, (size_t)need + 1, HEAD_FORMAT, HEAD_ARGS);
#undef HEAD_FORMAT
#undef HEAD_ARGS
    *n = (size_t)need;
    return buf;
}

void oa_reply_raw(struct oa_req *r, int status, const char *content_type, const void *body, size_t len)
{
    struct oa_conn *c = r->conn;
    r->status = status;
    if (c->closing) {
        request_finish(c);
        conn_maybe_free(c);
        return;
    }
    size_t n = 0;
    c->wbuf = response_head(r, status, content_type, len, NULL, len, &n);
    c->wlen = n + len;
    if (len)
        memcpy(c->wbuf + n, body, len);
    uv_buf_t b = uv_buf_init(c->wbuf, (unsigned)c->wlen);
    c->wreq.data = c;
    c->writing = true;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, conn_on_write) != 0) {
        c->writing = false;
        free(c->wbuf);
        c->wbuf = NULL;
        request_finish(c);
        oa__http_conn_close(c);
        return;
    }
    oa__http_conn_deadline(c, DL_WRITE);
}

void oa_reply(struct oa_req *r, int status, cbor_item_t *body)
{
    if (body == NULL) {
        oa_reply_raw(r, status, r->out_fmt == OA_FMT_JSON ? "application/json" : "application/cbor", "", 0);
        return;
    }
    size_t len = 0;
    void *bytes;
    const char *ctype;
    if (r->out_fmt == OA_FMT_JSON) {
        bytes = pv_encode_json(body, &len);
        ctype = "application/json";
    } else {
        bytes = pv_encode_cbor(body, &len);
        ctype = "application/cbor";
    }
    cbor_decref(&body);
    if (bytes == NULL) {
        oa_log(OA_LOG_ERROR, "encode_failed", "id=%s", r->id);
        oa_reply_error(r, OA_E_INTERNAL, NULL);
        return;
    }
    oa_reply_raw(r, status, ctype, bytes, len);
    free(bytes);
}

void oa_reply_error(struct oa_req *r, enum oa_err e, const char *message)
{
    cbor_item_t *m = pv_map(2);
    pv_put_text(m, "code", oa_err_code(e));
    pv_put_text(m, "message", message ? message : oa_err_message(e));
    r->etag[0] = '\0';
    oa_reply(r, oa_err_status(e), m);
}

enum oa_err oa_req_if_match(const struct oa_req *r, const char *etag)
{
    if (r->if_match == NULL)
        return OA_E_PRECONDITION_REQUIRED;
    const char *p = r->if_match;
    size_t el = strlen(etag);
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return OA_E_OK;
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == el && memcmp(p, etag, n) == 0)
            return OA_E_OK;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return OA_E_PRECONDITION_FAILED;
}

/* ------------------------------------------------------------------------ */
/* streamed bodies and responses                                            */
/* ------------------------------------------------------------------------ */

void oa_req_body_read(struct oa_req *r, oa_body_data_fn data, oa_body_end_fn end)
{
    struct oa_conn *c = r->conn;
    if (c->stream_in != 1) {
        /* No body to stream (or it is gone): it ended, empty or not. */
        end(r, c->closing ? OA_E_BAD_REQUEST : OA_E_OK);
        return;
    }
    if (c->closing) {
        c->stream_in = 3;
        end(r, OA_E_BAD_REQUEST);
        return;
    }
    c->stream_in = 2;
    c->body_data = data;
    c->body_end = end;
    c->blen = 0;
    llhttp_resume(&c->parser);
    if (!c->stream_paused)
        oa__http_conn_deadline(c, DL_BODY);
    if (c->pending_len > 0) {
        char *bytes = c->pending;
        size_t len = c->pending_len;
        c->pending = NULL;
        c->pending_len = 0;
        conn_feed(c, bytes, len);
        free(bytes);
    }
    if (c->stream_in == 2 && !c->stream_paused && !c->eof)
        oa__http_conn_read_start(c);
}

void oa_req_body_pause(struct oa_req *r)
{
    struct oa_conn *c = r->conn;
    if (c->stream_in != 2 || c->stream_paused)
        return;
    c->stream_paused = true;
    conn_read_stop(c);
    oa__http_conn_deadline(c, DL_NONE);
}

void oa_req_body_resume(struct oa_req *r)
{
    struct oa_conn *c = r->conn;
    if (!c->stream_paused)
        return;
    c->stream_paused = false;
    if (c->stream_in == 2 && !c->closing) {
        oa__http_conn_deadline(c, DL_BODY);
        oa__http_conn_read_start(c);
    }
}

static void conn_on_piece_write(uv_write_t *w, int status)
{
    struct oa_conn *c = w->data;
    struct oa_req *r = &c->req;
    oa_written_fn cb = c->piece_cb;
    bool last = c->piece_last;
    c->writing = false;
    free(c->wbuf);
    c->wbuf = NULL;
    c->piece_cb = NULL;
    if (status < 0 || c->closing) {
        if (cb)
            cb(r, -1);
        request_finish(c);
        oa__http_conn_close(c);
        conn_maybe_free(c);
        return;
    }
    oa__http_conn_deadline(c, DL_NONE);
    if (!last) {
        if (cb)
            cb(r, 0);
        return;
    }
    if (cb)
        cb(r, 0);
    request_finish(c);
    conn_next(c);
}

int oa_reply_start(struct oa_req *r, int status, const char *content_type, uint64_t length, const char *headers)
{
    struct oa_conn *c = r->conn;
    r->status = status;
    if (c->closing) {
        request_finish(c);
        conn_maybe_free(c);
        return -1;
    }
    size_t n = 0;
    c->wbuf = response_head(r, status, content_type, length, headers, 0, &n);
    c->wlen = n;
    return 0;
}

int oa_reply_piece(struct oa_req *r, void *data, size_t len, bool last, oa_written_fn cb)
{
    struct oa_conn *c = r->conn;
    if (c->closing) {
        free(c->wbuf);
        c->wbuf = NULL;
        request_finish(c);
        conn_maybe_free(c);
        return -1;
    }
    uv_buf_t b[2];
    unsigned nb = 0;
    if (c->wbuf)
        b[nb++] = uv_buf_init(c->wbuf, (unsigned)c->wlen);
    if (len)
        b[nb++] = uv_buf_init(data, (unsigned)len);
    c->piece_last = last;
    c->piece_cb = cb;
    c->wreq.data = c;
    c->writing = true;
    if (nb == 0 || uv_write(&c->wreq, (uv_stream_t *)&c->tcp, b, nb, conn_on_piece_write) != 0) {
        if (nb == 0 && last) {
            /* Nothing at all to write (an empty last piece after headers already sent). */
            c->writing = false;
            c->piece_cb = NULL;
            request_finish(c);
            conn_next(c);
            return 1;
        }
        c->writing = false;
        free(c->wbuf);
        c->wbuf = NULL;
        request_finish(c);
        oa__http_conn_close(c);
        return -1;
    }
    oa__http_conn_deadline(c, DL_WRITE);
    return 0;
}

void oa_reply_abort(struct oa_req *r)
{
    struct oa_conn *c = r->conn;
    free(c->wbuf);
    c->wbuf = NULL;
    if (r->status == 0)
        r->status = 500;
    request_finish(c);
    oa__http_conn_close(c);
    conn_maybe_free(c);
}

/* ------------------------------------------------------------------------ */
/* the end of a drain                                                       */
/* ------------------------------------------------------------------------ */

void oa__http_handle_close_noop(uv_handle_t *h)
{
}

void oa__http_server_maybe_stopped(struct oa_server *srv)
{
    if (!srv->draining || srv->stopped || srv->nconns > 0)
        return;
    srv->stopped = true;
    free(srv->sources); /* empty: every connection is gone */
    srv->sources = NULL;
    oa_log(OA_LOG_INFO, "drained", "pending_jobs=%u", oa_writer_pending(srv->writer));
    if (srv->on_drained)
        srv->on_drained(srv);
    /* Readers first: their last jobs may still hand audit entries to the writer. */
    if (srv->readers != NULL)
        oa_readers_stop(srv->readers);
    srv->readers = NULL;
    oa_writer_stop(srv->writer);
    srv->writer = NULL;
    uv_close((uv_handle_t *)&srv->drain_timer, oa__http_handle_close_noop);
    uv_close((uv_handle_t *)&srv->sig_term, oa__http_handle_close_noop);
    uv_close((uv_handle_t *)&srv->sig_int, oa__http_handle_close_noop);
    uv_check_stop(&srv->log_check);
    uv_close((uv_handle_t *)&srv->log_check, oa__http_handle_close_noop);
}
