/*
 * server/http.c: connections: reading, deadlines, admission bookkeeping,
 * feeding llhttp, dispatch and teardown.  The parser's callbacks (limits,
 * routing, content negotiation) are in http_parse.c, responses and streamed
 * bodies in http_reply.c, TLS in tls.c; accepting, admission and the
 * graceful drain in listen.c (http-int.h joins them; listen.c calls into
 * this file, never the reverse).
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
            oa__http_conn_read_stop(c);
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
    snprintf(r->source, sizeof(r->source), "%s", c->source);
    r->peer_loopback = c->loopback;
    r->client_cn = c->client_cn[0] ? c->client_cn : NULL;
}

void oa__http_conn_maybe_free(struct oa_conn *c)
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
    free(c->cbuf);
    oa__tls_conn_free(c);
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
    oa__http_conn_maybe_free(c);
}

void oa__http_conn_close(struct oa_conn *c)
{
    if (c->closing)
        return;
    if (c->ssl != NULL)
        oa__tls_close_notify(c);
    c->closing = true;
    source_release(c);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->tcp, conn_on_close);
    uv_close((uv_handle_t *)&c->timer, conn_on_close);
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
        bool json = r->content_type && oa__http_media_is(r->content_type, cl, "application/json");
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
void oa__http_conn_feed(struct oa_conn *c, const char *data, size_t len)
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
            oa__http_conn_read_stop(c);
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
        oa__http_conn_read_stop(c);
        c->close_after = true;
        c->stream_in = 3;
        c->body_end(&c->req, c->limit != OA_E_OK ? c->limit : OA_E_BAD_REQUEST);
        return;
    }
    /* A protocol error or a limit: answer once, then close. */
    oa__http_conn_read_stop(c);
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

void oa__http_conn_read_stop(struct oa_conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

void oa__http_conn_eof(struct oa_conn *c)
{
    if (c->stream_in == 2) {
        oa__http_conn_close(c); /* the body ended early: conn_on_close tells the handler */
        return;
    }
    if (c->handling || c->writing) {
        /* The peer is done sending: answer all it asked, then close. */
        oa__http_conn_read_stop(c);
        c->eof = true;
        return;
    }
    /* EOF or error; a half-received request is abandoned. */
    oa__http_conn_close(c);
}

void oa__http_conn_input(struct oa_conn *c, const char *data, size_t len)
{
    if (c->stream_in == 2) {
        oa__http_conn_feed(c, data, len);
        return;
    }
    if (c->handling || c->writing) {
        /* Pipelined bytes while a request is handled: keep them, within a
         * bound; past it, stop reading until the reply is written. */
        c->pending = oa_xrealloc(c->pending, c->pending_len + len);
        memcpy(c->pending + c->pending_len, data, len);
        c->pending_len += len;
        if (c->pending_len > PENDING_MAX)
            oa__http_conn_read_stop(c);
        return;
    }
    oa__http_conn_feed(c, data, len);
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct oa_conn *c = s->data;
    if (nread == 0)
        return;
    if (nread < 0)
        oa__http_conn_eof(c);
    else if (c->ssl != NULL)
        oa__tls_on_read(c, buf->base, (size_t)nread);
    else
        oa__http_conn_input(c, buf->base, (size_t)nread);
}

int oa__http_conn_write(struct oa_conn *c, uv_buf_t *b, unsigned n, uv_write_cb cb)
{
    if (c->ssl != NULL)
        return oa__tls_write(c, b, n, cb);
    return uv_write(&c->wreq, (uv_stream_t *)&c->tcp, b, n, cb);
}

void oa__http_conn_send_now(struct oa_conn *c, const char *data, size_t len)
{
    if (c->ssl != NULL) {
        oa__tls_send_now(c, data, len);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
}

/* After a response: parse what is pending, or read again. */
void oa__http_conn_next(struct oa_conn *c)
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
        oa__http_conn_feed(c, data, len);
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
    oa_log(OA_LOG_INFO, "drained", "pending_jobs=%u", oa_jobs_pending(srv->jobs));
    if (srv->on_drained)
        srv->on_drained(srv);
    oa_jobs_stop(srv->jobs); /* the readers first: their last jobs may still hand audit entries to the writer */
    srv->jobs = NULL;
    uv_close((uv_handle_t *)&srv->drain_timer, oa__http_handle_close_noop);
    uv_close((uv_handle_t *)&srv->sig_term, oa__http_handle_close_noop);
    uv_close((uv_handle_t *)&srv->sig_int, oa__http_handle_close_noop);
    oa__tls_stop(srv);
    uv_check_stop(&srv->log_check);
    uv_close((uv_handle_t *)&srv->log_check, oa__http_handle_close_noop);
}
