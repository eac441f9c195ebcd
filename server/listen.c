/*
 * server/listen.c: accepting connections, admission (per client address and
 * in all, the longest-idle connection making room), the graceful drain on
 * SIGTERM or SIGINT, and starting the server.  The connections themselves
 * are http.c's (joined by http-int.h).
 */
#include "server/source.h"
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
#include "server/tls.h"

/* ------------------------------------------------------------------------ */
/* accepting, draining                                                      */
/* ------------------------------------------------------------------------ */

/* The peer's address as text ("ip:port", for logs), its source (key and text), and whether it is loopback. */
static void conn_peer(struct oa_conn *c, unsigned char addr[16])
{
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    memset(addr, 0, 16);
    snprintf(c->peer, sizeof(c->peer), "unknown");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) != 0)
        return;
    char ip[48] = "";
    int port = 0;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        uv_ip4_name(in, ip, sizeof(ip));
        port = ntohs(in->sin_port);
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, &in->sin_addr, 4);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        uv_ip6_name(in6, ip, sizeof(ip));
        port = ntohs(in6->sin6_port);
        memcpy(addr, &in6->sin6_addr, 16);
    }
    snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, port);
    static const unsigned char v6_loopback[16] = {[15] = 1};
    static const unsigned char v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
    c->loopback = memcmp(addr, v6_loopback, 16) == 0 || (memcmp(addr, v4_mapped, 12) == 0 && addr[12] == 127);
    unsigned char key[16];
    oa_source_of(addr, key, c->source, sizeof(c->source));
    memcpy(addr, key, 16);
}

/* Closes an idle connection to make room for a new one. */
static void evict(struct oa_conn *victim, const char *why)
{
    struct oa_server *srv = victim->srv;
    srv->metrics.connections_evicted++;
    oa_log(OA_LOG_DEBUG, "connection_evicted", "peer=%s reason=%s", victim->peer, why);
    oa__http_conn_close(victim);
}

/*
 * Makes room for a new connection from addr, or returns false when there is
 * none.  A source at http.max_connections_per_source gives up its own
 * longest-idle connection; at http.max_connections, the longest-idle
 * connection of all goes.  A connection in the middle of a request is never
 * closed for this: when the one that would go is not idle, there is none,
 * and the newcomer is refused.  So one address can hold no more than its
 * share, and the share it holds idle is what others reclaim.
 */
static bool admit(struct oa_server *srv, const unsigned char addr[16])
{
    const struct oa_config *cfg = srv->cfg;
    struct oa_source *s = oa__http_source_find(srv, addr);
    if (s != NULL && s->count >= cfg->max_connections_per_source) {
        if (s->idle_head == NULL)
            return false;
        evict(s->idle_head, "source_limit"); /* may free s */
    }
    if (srv->nlive >= cfg->max_connections) {
        if (srv->idle_head == NULL)
            return false;
        evict(srv->idle_head, "capacity");
    }
    return true;
}

static void server_on_connection(uv_stream_t *ls, int status)
{
    struct oa_server *srv = ls->data;
    if (status < 0) {
        oa_log(OA_LOG_WARN, "accept_failed", "error=%s", uv_strerror(status));
        return;
    }
    struct oa_conn *c = oa_xcalloc(1, sizeof(*c));
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
        oa__http_conn_close(c);
        return;
    }
    unsigned char addr[16];
    conn_peer(c, addr);
    bool admitted = admit(srv, addr);
    if (!admitted && srv->tls_ctx != NULL) {
        srv->metrics.connections_refused++; /* a TLS port has no plain answer to give */
        oa__http_conn_close(c);
        return;
    } else if (!admitted) {
        static const char body[] = "{\"code\":\"unavailable\",\"message\":\"Too many connections; try again.\"}";
        char busy[256];
        int n = snprintf(busy, sizeof(busy),
                         "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\nRetry-After: 1\r\n\r\n%s",
                         sizeof(body) - 1, body);
        if (n > 0 && (size_t)n < sizeof(busy)) {
            uv_buf_t b = uv_buf_init(busy, (unsigned)n);
            uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        }
        srv->metrics.connections_refused++;
        oa__http_conn_close(c);
        return;
    }
    c->src = oa__http_source_get(srv, addr);
    c->src->count++;
    srv->nlive++;
    srv->metrics.connections_total++;
    c->hbuf = oa_xmalloc(srv->cfg->max_header_bytes);
    uv_tcp_nodelay(&c->tcp, 1);
    llhttp_init(&c->parser, HTTP_REQUEST, oa__http_parser_settings());
    c->parser.data = c;
    oa_arena_init(&c->req.arena, 256 * 1024);
    if (srv->tls_ctx != NULL && oa__tls_conn_start(c) != 0) {
        oa_log(OA_LOG_ERROR, "tls_failed", "peer=%s reason=\"out of memory\"", c->peer);
        oa__http_conn_close(c);
        return;
    }
    oa__http_request_reset(c);
    c->keep_alive = true;
    oa__http_conn_deadline(c, DL_IDLE);
    oa__http_conn_read_start(c);
}

static void on_log_check(uv_check_t *h)
{
    oa_log_flush();
}

static void server_on_drain_timeout(uv_timer_t *t)
{
    struct oa_server *srv = t->data;
    oa_log(OA_LOG_WARN, "drain_timeout", "open_connections=%u", srv->nconns);
    for (struct oa_conn *c = srv->conns; c != NULL; c = c->next)
        oa__http_conn_close(c);
}

void oa_server_drain(struct oa_server *srv)
{
    if (srv->draining)
        return;
    srv->draining = true;
    oa_log(OA_LOG_INFO, "shutdown", "open_connections=%u deadline_ms=%u", srv->nconns,
           srv->cfg->shutdown_timeout_ms);
    if (srv->listening)
        uv_close((uv_handle_t *)&srv->listener, oa__http_handle_close_noop);
    srv->listening = false;
    struct oa_conn *c = srv->conns, *next;
    for (; c != NULL; c = next) {
        next = c->next;
        if (!c->in_message && !c->handling && !c->writing)
            oa__http_conn_close(c);
        else
            c->close_after = true;
    }
    uv_timer_start(&srv->drain_timer, server_on_drain_timeout, srv->cfg->shutdown_timeout_ms, 0);
    oa__http_server_maybe_stopped(srv);
}

static void server_on_signal(uv_signal_t *s, int signum)
{
    oa_server_drain(s->data);
}

int oa_server_start(struct oa_server *srv)
{
    const struct oa_config *cfg = srv->cfg;
    struct sockaddr_storage addr;
    int rc;

    unsigned char rnd[4];
    uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL);
    snprintf(srv->instance, sizeof(srv->instance), "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);

    if (oa_tls_setup(srv) != 0)
        return -1;
    if (strchr(cfg->listen_host, ':'))
        rc = uv_ip6_addr(cfg->listen_host, cfg->listen_port, (struct sockaddr_in6 *)&addr);
    else
        rc = uv_ip4_addr(cfg->listen_host, cfg->listen_port, (struct sockaddr_in *)&addr);
    if (rc != 0) {
        oa_log(OA_LOG_ERROR, "listen_failed", "host=%s reason=\"not an IP address\"", cfg->listen_host);
        oa__tls_stop(srv);
        return -1;
    }
    uv_tcp_init(srv->loop, &srv->listener);
    srv->listener.data = srv;
    if ((rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&addr, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&srv->listener, 1024, server_on_connection)) != 0) {
        oa_log(OA_LOG_ERROR, "listen_failed", "host=%s port=%d error=\"%s\"", cfg->listen_host,
               cfg->listen_port, uv_strerror(rc));
        uv_close((uv_handle_t *)&srv->listener, oa__http_handle_close_noop);
        oa__tls_stop(srv);
        return -1;
    }
    srv->listening = true;
    srv->source_buckets = 64;
    while (srv->source_buckets < cfg->max_connections && srv->source_buckets < 65536)
        srv->source_buckets *= 2;
    srv->sources = oa_xcalloc(srv->source_buckets, sizeof(*srv->sources));
    randombytes_buf(srv->source_key, sizeof(srv->source_key));
    struct sockaddr_storage bound;
    int bl = sizeof(bound);
    uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &bl);
    char ip[48] = "";
    int port = 0;
    if (bound.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&bound, ip, sizeof(ip));
        port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
        snprintf(srv->bound, sizeof(srv->bound), "[%s]:%d", ip, port);
    } else {
        uv_ip4_name((struct sockaddr_in *)&bound, ip, sizeof(ip));
        port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
        snprintf(srv->bound, sizeof(srv->bound), "%s:%d", ip, port);
    }

    uv_timer_init(srv->loop, &srv->drain_timer);
    srv->drain_timer.data = srv;
    uv_signal_init(srv->loop, &srv->sig_term);
    uv_signal_init(srv->loop, &srv->sig_int);
    srv->sig_term.data = srv->sig_int.data = srv;
    uv_signal_start(&srv->sig_term, server_on_signal, SIGTERM);
    uv_signal_start(&srv->sig_int, server_on_signal, SIGINT);
    uv_check_init(srv->loop, &srv->log_check);
    uv_check_start(&srv->log_check, on_log_check);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}
