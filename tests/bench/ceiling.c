/*
 * tests/bench/ceiling.c: the ceiling for the HTTP benchmark.  The least a
 * libuv + llhttp server can do: parse each request and answer a fixed small
 * CBOR body, keep-alive, pipelining-safe.  oad is measured next to it in the
 * same run.  It also gives the transport's ceiling for the blob benchmark:
 * GET /bytes/N answers N bytes from memory (1 MiB writes, the next one when
 * the last is written), and a request body is read and thrown away.
 * Usage: ceiling PORT
 */
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct conn {
    uv_tcp_t tcp;
    llhttp_t parser;
    int pending; /* responses owed for messages parsed so far */
    char url[64];
    size_t url_len;
    unsigned long long bytes; /* GET /bytes/N: what is still to send */
    uv_write_t sw;
};

static char zeros[1 << 20];

static llhttp_settings_t settings;
static char rbuf[65536];
static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: application/cbor\r\nContent-Length: 11\r\n\r\n"
                           "\xa1\x66status\x62ok";

static void on_close(uv_handle_t *h) { free(h->data); }

static void on_write(uv_write_t *w, int status)
{
    free(w);
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    if (c->url_len + n < sizeof(c->url)) {
        memcpy(c->url + c->url_len, at, n);
        c->url_len += n;
        c->url[c->url_len] = '\0';
    }
    return 0;
}

static void stream_next(uv_write_t *w, int status)
{
    struct conn *c = w->data;
    if (status < 0 || c->bytes == 0)
        return;
    size_t n = c->bytes < sizeof(zeros) ? (size_t)c->bytes : sizeof(zeros);
    c->bytes -= n;
    uv_buf_t b = uv_buf_init(zeros, (unsigned)n);
    c->sw.data = c;
    uv_write(&c->sw, (uv_stream_t *)&c->tcp, &b, 1, stream_next);
}

static int on_complete(llhttp_t *p)
{
    struct conn *c = p->data;
    if (strncmp(c->url, "/bytes/", 7) == 0) {
        static char head[128];
        c->bytes = strtoull(c->url + 7, NULL, 10);
        int n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\n\r\n", c->bytes);
        uv_buf_t b = uv_buf_init(head, (unsigned)n);
        c->sw.data = c;
        uv_write(&c->sw, (uv_stream_t *)&c->tcp, &b, 1, stream_next);
    } else {
        c->pending++;
    }
    c->url_len = 0;
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    b->base = rbuf;
    b->len = sizeof(rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct conn *c = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (llhttp_execute(&c->parser, b->base, (size_t)n) != HPE_OK) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    while (c->pending > 0) {
        uv_write_t *w = malloc(sizeof(*w));
        uv_buf_t out = uv_buf_init((char *)resp, sizeof(resp) - 1);
        uv_write(w, s, &out, 1, on_write);
        c->pending--;
    }
}

static void on_connection(uv_stream_t *l, int status)
{
    struct conn *c = calloc(1, sizeof(*c));
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    llhttp_init(&c->parser, HTTP_REQUEST, &settings);
    c->parser.data = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ceiling PORT\n");
        return 2;
    }
    llhttp_settings_init(&settings);
    settings.on_message_complete = on_complete;
    settings.on_url = on_url;
    uv_tcp_t l;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", atoi(argv[1]), &a);
    uv_tcp_init(uv_default_loop(), &l);
    if (uv_tcp_bind(&l, (struct sockaddr *)&a, 0) != 0 || uv_listen((uv_stream_t *)&l, 1024, on_connection) != 0) {
        fprintf(stderr, "ceiling: cannot listen on %s\n", argv[1]);
        return 1;
    }
    return uv_run(uv_default_loop(), UV_RUN_DEFAULT);
}
