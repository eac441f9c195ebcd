/*
 * server/http_parse.c: a request as llhttp parses it: the request line and
 * headers kept within their limits, the route chosen, the response format
 * negotiated, the body's limits checked and the body gathered (or handed to
 * a streaming handler).  The connection that feeds the parser is http.c's.
 */
#include "server/http.h"

#include <llhttp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/log.h"
#include "server/http-int.h"
#include "server/server.h"

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
bool oa__http_media_is(const char *v, size_t n, const char *type)
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

/* Whether accept names text/plain, or a text or full wildcard, with a q above 0. */
static bool accepts_text(const char *accept)
{
    for (const char *p = accept; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if ((oa__http_media_is(p, n, "text/plain") || oa__http_media_is(p, n, "text/*") ||
             oa__http_media_is(p, n, "*/*")) &&
            accept_q(p, n) > 0)
            return true;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return false;
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
        if (oa__http_media_is(p, n, "application/cbor"))
            qc = q;
        else if (oa__http_media_is(p, n, "application/json"))
            qj = q;
        else if (oa__http_media_is(p, n, "*/*") || oa__http_media_is(p, n, "application/*"))
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
    if (r->content_type && oa__http_media_is(r->content_type, ctl, "application/json"))
        in_fmt = OA_FMT_JSON;
    enum oa_fmt dflt = OA_FMT_JSON;
    if (r->content_type && oa__http_media_is(r->content_type, ctl, "application/cbor"))
        dflt = OA_FMT_CBOR;
    else if (in_fmt != OA_FMT_JSON && r->route && (r->route->flags & OA_ROUTE_CBOR))
        dflt = OA_FMT_CBOR;
    if (!negotiate(r->accept, dflt, &r->out_fmt)) {
        /* A text route's answer is text: its errors, the only JSON it sends, go as JSON. */
        r->out_fmt = OA_FMT_JSON;
        if (!(r->route && (r->route->flags & OA_ROUTE_TEXT) && accepts_text(r->accept)))
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
        if (in_fmt != OA_FMT_JSON && !(r->content_type && oa__http_media_is(r->content_type, ctl, "application/cbor")))
            set_early(c, OA_E_UNSUPPORTED_MEDIA, NULL);
    } else if (has_body) {
        c->discard_body = true;
    }
    if (has_body && c->early == OA_E_OK && r->expect && strcasecmp(r->expect, "100-continue") == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        oa__http_conn_send_now(c, cont, sizeof(cont) - 1);
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

