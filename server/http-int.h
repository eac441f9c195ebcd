/*
 * server/http-int.h: internal to the connection layer (http.c, http_parse.c,
 * http_reply.c, listen.c, tls.c): a connection, a client address's share of
 * them, and the functions its files call in each other.  Nobody else
 * includes it.
 */
#ifndef OA_SERVER_HTTP_INT_H
#define OA_SERVER_HTTP_INT_H

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "server/http.h"

#define MAX_HEADERS 64
/* Bytes of pipelined input kept while a request is handled, before reading stops. */
#define PENDING_MAX (64 * 1024)

enum deadline { DL_NONE, DL_IDLE, DL_HEADER, DL_BODY, DL_WRITE };

struct span {
    size_t off, len;
};

/* The admitted connections from one client address; freed with its last one. */
struct oa_source {
    struct oa_source *next;             /* in its hash bucket */
    unsigned char addr[16];             /* IPv6, or IPv4 as ::ffff:a.b.c.d */
    unsigned count;                     /* admitted connections not closing */
    struct oa_conn *idle_head, *idle_tail; /* those waiting for a request, longest idle first */
};

struct oa_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wreq;
    llhttp_t parser;
    struct oa_server *srv;
    struct oa_conn *prev, *next;
    int open_handles;

    bool closing;      /* conn_close was called */
    bool in_message;   /* a request's bytes have begun to arrive */
    bool handling;     /* a request is with its handler */
    bool writing;      /* a response is being written */
    bool keep_alive;
    bool close_after;  /* close once the current response is written */
    enum deadline deadline;

    /* bytes read past a complete request (pipelining), parsed after the reply */
    char *pending;
    size_t pending_len;
    bool reading;      /* uv_read_start is in effect */
    bool eof;          /* the peer finished sending: answer what arrived, then close */

    /* the request line and headers as they arrive */
    char *hbuf;
    size_t hlen;
    struct span url, name[MAX_HEADERS], value[MAX_HEADERS];
    int nheaders;
    bool field_open, value_open;

    /* the body */
    unsigned char *body;
    size_t blen, bcap, bmax;
    bool discard_body;

    /* a streamed body (OA_ROUTE_STREAM): 0 none, 1 waiting for the handler,
     * 2 flowing to it, 3 ended */
    int stream_in;
    bool stream_paused;
    oa_body_data_fn body_data;
    oa_body_end_fn body_end;

    /* a streamed response: whether the piece being written is the last, and what to call after */
    bool piece_last;
    oa_written_fn piece_cb;

    enum oa_err early;  /* an answer decided before the body was read */
    enum oa_err limit;  /* a limit that stopped the parser */
    const char *early_msg;

    struct oa_req req;
    char *wbuf;
    size_t wlen;
    char peer[64];
    char source[64];   /* what per-source limits count: the IPv4 address or the IPv6 /64 (source.h) */
    bool loopback;     /* the peer's address is a loopback one */

    /* admission: the client address's entry (NULL before the connection is
     * admitted and from conn_close on), and the idle lists while it waits */
    struct oa_source *src;
    bool idle;
    struct oa_conn *idle_prev, *idle_next;   /* the server's idle list */
    struct oa_conn *sidle_prev, *sidle_next; /* its source's idle list */

    /* TLS (tls.c): NULL on a plain connection */
    struct ssl_st *ssl;
    char *cbuf;        /* the encrypted bytes of the response being written */
    bool tls_done;     /* the handshake finished (and client_cn was read) */
    char client_cn[64]; /* the client certificate's subject CN, or "" */
};

/* http.c */
struct oa_source *oa__http_source_find(struct oa_server *srv, const unsigned char addr[16]);
struct oa_source *oa__http_source_get(struct oa_server *srv, const unsigned char addr[16]);
void oa__http_conn_deadline(struct oa_conn *c, enum deadline d);
void oa__http_request_reset(struct oa_conn *c);
void oa__http_conn_close(struct oa_conn *c);
const llhttp_settings_t *oa__http_parser_settings(void);
void oa__http_conn_read_start(struct oa_conn *c);
void oa__http_handle_close_noop(uv_handle_t *h);
void oa__http_server_maybe_stopped(struct oa_server *srv);
void oa__http_conn_read_stop(struct oa_conn *c);
/* Parses bytes; on a complete request keeps what follows and dispatches. */
void oa__http_conn_feed(struct oa_conn *c, const char *data, size_t len);
/* After a response: parse what is pending, or read again, or close. */
void oa__http_conn_next(struct oa_conn *c);
/* Frees c once its handles are closed and no handler or write refers to it. */
void oa__http_conn_maybe_free(struct oa_conn *c);

/* Plain bytes that arrived (decrypted, on a TLS connection). */
void oa__http_conn_input(struct oa_conn *c, const char *data, size_t len);
/* The peer finished sending (EOF, or TLS close_notify). */
void oa__http_conn_eof(struct oa_conn *c);
/* Writes a response's bytes (encrypting them on a TLS connection) with c->wreq; uv_write's return. */
int oa__http_conn_write(struct oa_conn *c, uv_buf_t *b, unsigned n, uv_write_cb cb);
/* Sends a few bytes now, with no callback (100 Continue); best effort. */
void oa__http_conn_send_now(struct oa_conn *c, const char *data, size_t len);

/* tls.c */
/* Begins the server side of TLS on an accepted connection (srv->tls_ctx set); 0 or -1. */
int oa__tls_conn_start(struct oa_conn *c);
/* Encrypted bytes that arrived: decrypts and hands the plain ones to oa__http_conn_input. */
void oa__tls_on_read(struct oa_conn *c, const char *data, size_t len);
int oa__tls_write(struct oa_conn *c, uv_buf_t *b, unsigned n, uv_write_cb cb);
void oa__tls_send_now(struct oa_conn *c, const char *data, size_t len);
void oa__tls_conn_free(struct oa_conn *c);
/* At the end of a drain: stops the reload signal, frees the context. */
void oa__tls_stop(struct oa_server *srv);

/* http_parse.c */
/* The media type of a Content-Type or Accept element, without parameters. */
bool oa__http_media_is(const char *v, size_t n, const char *type);

#endif
