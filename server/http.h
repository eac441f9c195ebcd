/*
 * server/http.h: what handlers see of HTTP.
 *
 * A connection handles one request at a time: while a request is being
 * handled, reading stops (backpressure), and the next pipelined request is
 * parsed only after the response has been written.  A handler answers exactly
 * once, with oa_reply* -- now or later, from a database job's done callback.
 */
#ifndef OA_SERVER_HTTP_H
#define OA_SERVER_HTTP_H

#include <cbor.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/alloc.h"
#include "proto/errors.h"

struct oa_server;
struct oa_conn;
struct oa_req;

enum oa_fmt { OA_FMT_CBOR, OA_FMT_JSON };

typedef void (*oa_handler_fn)(struct oa_req *r);

#define OA_ROUTE_BODY 1u  /* the route takes a CBOR or JSON body (decoded into r->in) */
#define OA_ROUTE_AUTH 2u  /* the route needs a session (see auth.h) */
#define OA_ROUTE_STREAM 8u /* the handler takes the raw body as it arrives (oa_req_body_read) */
#define OA_ROUTE_CBOR 32u  /* answers CBOR when the client states no preference (the sync protocol) */
#define OA_ROUTE_TEXT 64u  /* answers text/plain (/metrics): an Accept of text/plain or any text type is met */
#define OA_ROUTE_PARAMS 4

struct oa_route {
    const char *method;
    const char *pattern;   /* "/v1/users/{}": {} matches one path segment */
    oa_handler_fn handler;
    unsigned flags;
    size_t max_body;       /* 0: the configured default */
    const char *name;      /* label for metrics and logs */
};

/* The authenticated person behind a request (filled by the auth layer). */
struct oa_principal {
    int64_t user_id;
    int64_t session_id;
    unsigned roles;
    int clearance;
    bool must_change_pw;
    bool must_enroll_totp;
    bool declassifier;
    int64_t department_id;
    uint64_t epoch;      /* oa_app_accounts_epoch() when this was read from the database */
    char username[64];
    char display_name[128];
};

struct oa_req {
    struct oa_server *srv;
    struct oa_conn *conn;
    const struct oa_route *route;
    int route_index;

    const char *method;
    const char *path;            /* NUL-terminated, without the query */
    const char *query;           /* after '?', or "" */
    const char *params[OA_ROUTE_PARAMS]; /* the {} segments, NUL-terminated */

    /* Headers oa reads; NULL when absent. */
    const char *content_type, *accept, *authorization, *if_match, *idempotency_key, *otp, *expect, *range,
        *upload_offset;
    uint64_t content_length;     /* UINT64_MAX when chunked */

    unsigned char *body;
    size_t body_len;
    cbor_item_t *in;             /* the decoded body, for OA_ROUTE_BODY routes */
    enum oa_fmt out_fmt;         /* negotiated response format */

    struct oa_arena arena;       /* freed when the response is done */
    char id[32];                 /* request id, in every log line about it */
    char peer[64];               /* client address, for logs and audit */
    char source[64];             /* what per-source throttles count: IPv4 address or IPv6 /64 (source.h) */
    bool peer_loopback;          /* the client is on this machine (127.0.0.0/8, ::1) */
    const char *client_cn;       /* mutual TLS: the client certificate's subject CN; NULL without one */
    uint64_t t0;                 /* uv_hrtime() at the first byte */
    int status;

    struct oa_principal who;
    char etag[48];               /* sent as ETag when not empty */
    void *ctx;                   /* the handler's own state (streamed bodies and responses) */
};

/* Sends `body` (consumed; may be NULL for no body) in the negotiated format. */
void oa_reply(struct oa_req *r, int status, cbor_item_t *body);
/* Sends {code, message}; message NULL means the code's default sentence. */
void oa_reply_error(struct oa_req *r, enum oa_err e, const char *message);
/* Sends raw bytes with a content type (text endpoints such as /metrics). */
void oa_reply_raw(struct oa_req *r, int status, const char *content_type, const void *body, size_t len);

/*
 * Streamed request bodies (OA_ROUTE_STREAM routes).  The handler runs when
 * the headers are in, with the body unread, and calls oa_req_body_read to
 * take it: `data` receives each piece as it arrives (copy what you keep);
 * `end` runs once, with OA_E_OK when the body is complete or an error when
 * it broke a limit or the connection went.  The handler still answers once,
 * after `end` or before (an early answer closes the connection).  Pause stops
 * reading (a piece already read may still arrive); resume reads again.
 */
typedef void (*oa_body_data_fn)(struct oa_req *r, const void *data, size_t len);
typedef void (*oa_body_end_fn)(struct oa_req *r, enum oa_err e);
void oa_req_body_read(struct oa_req *r, oa_body_data_fn data, oa_body_end_fn end);
void oa_req_body_pause(struct oa_req *r);
void oa_req_body_resume(struct oa_req *r);

/*
 * Streamed responses: oa_reply_start sends the status and headers (extra
 * header lines "Name: value\r\n" in `headers`, or NULL) with the body's exact
 * length; then oa_reply_piece sends pieces of it, one at a time.  A piece
 * stays the caller's and must stay untouched until `cb` runs: when it is
 * written (status 0) or the connection failed (status < 0: the response is
 * over; send nothing more).
 * Both return -1 when the connection is already gone (no callback follows);
 * oa_reply_piece returns 1 when an empty last piece left nothing to write:
 * the response is complete and no callback follows either.
 * oa_reply_abort closes the connection mid-body (a body that turned out bad
 * cannot be taken back; closing tells the client it is incomplete).
 */
typedef void (*oa_written_fn)(struct oa_req *r, int status);
int oa_reply_start(struct oa_req *r, int status, const char *content_type, uint64_t length, const char *headers);
int oa_reply_piece(struct oa_req *r, void *data, size_t len, bool last, oa_written_fn cb);
void oa_reply_abort(struct oa_req *r);

/*
 * Checks If-Match against the resource's current ETag (a quoted string).
 * Returns OA_E_OK, OA_E_PRECONDITION_REQUIRED (no If-Match) or
 * OA_E_PRECONDITION_FAILED.  "*" matches anything.
 */
enum oa_err oa_req_if_match(const struct oa_req *r, const char *etag);

/* The route table (routes.c). */
extern const struct oa_route oa_routes[];
extern const int oa_nroutes;

#endif
