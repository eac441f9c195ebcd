/*
 * server/http_reply.c: responses: the status line and headers, whole
 * bodies, streamed request bodies and streamed responses, and what happens
 * after a response is written (the connection's next request is http.c's).
 */
#include "server/http.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/etag.h"
#include "proto/value.h"
#include "proto/log.h"
#include "server/http-int.h"
#include "server/server.h"

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
    free(c->cbuf);
    c->cbuf = NULL;
    request_finish(c);
    if (status < 0 || c->closing) {
        oa__http_conn_close(c);
        oa__http_conn_maybe_free(c);
        return;
    }
    oa__http_conn_deadline(c, DL_NONE);
    oa__http_conn_next(c);
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
        oa__http_conn_read_stop(c);
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
        oa__http_conn_maybe_free(c);
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
    if (oa__http_conn_write(c, &b, 1, conn_on_write) != 0) {
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
    return oa_etag_if_match(r->if_match, etag);
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
        oa__http_conn_feed(c, bytes, len);
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
    oa__http_conn_read_stop(c);
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
    free(c->cbuf);
    c->cbuf = NULL;
    c->piece_cb = NULL;
    if (status < 0 || c->closing) {
        if (cb)
            cb(r, -1);
        request_finish(c);
        oa__http_conn_close(c);
        oa__http_conn_maybe_free(c);
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
    oa__http_conn_next(c);
}

int oa_reply_start(struct oa_req *r, int status, const char *content_type, uint64_t length, const char *headers)
{
    struct oa_conn *c = r->conn;
    r->status = status;
    if (c->closing) {
        request_finish(c);
        oa__http_conn_maybe_free(c);
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
        oa__http_conn_maybe_free(c);
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
    if (nb == 0 || oa__http_conn_write(c, b, nb, conn_on_piece_write) != 0) {
        if (nb == 0 && last) {
            /* Nothing at all to write (an empty last piece after headers already sent). */
            c->writing = false;
            c->piece_cb = NULL;
            request_finish(c);
            oa__http_conn_next(c);
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
    oa__http_conn_maybe_free(c);
}

