/*
 * tests/bench/transitions.c: durable workflow transitions per second through
 * the real oad, and the latency of one action.
 *
 * N clients, each with its own keep-alive connection and its own outgoing
 * document, move their document back and forth: submit (draft -> review),
 * return with an opinion (review -> draft).  The bodies are CBOR, as the thin
 * clients send them.  oad answers only after the group commit, so every
 * counted transition is durable.  One libuv thread drives all connections,
 * so the load generator takes little of the machine it shares with oad.
 *   Usage: transitions PORT TOKEN SECONDS CLIENTS...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static int port;
static const char *token;
static double seconds;

/* {"action": "submit"} and {"action": "return", "opinion": "请修改后再报"} */
static const char submit_body[] = "\xa1\x66" "action" "\x66" "submit";
static const char return_body[] = "\xa2\x66" "action" "\x66" "return" "\x67" "opinion" "\x72"
                                  "\xe8\xaf\xb7\xe4\xbf\xae\xe6\x94\xb9\xe5\x90\x8e\xe5\x86\x8d\xe6\x8a\xa5";

struct client {
    uv_tcp_t tcp;
    uv_connect_t conn;
    uv_write_t wreq;
    long long doc;
    int id;
    long k, ok, failed;
    uint64_t t0;
    char req[1024];
    char buf[16384];
    size_t len;
};

static uint64_t deadline;
static double *lat;
static size_t nlat, caplat;
static int active;

static void send_next(struct client *c);

static void on_close(uv_handle_t *h)
{
    active--;
}

static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    struct client *c = h->data;
    b->base = c->buf + c->len;
    b->len = sizeof(c->buf) - c->len - 1;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct client *c = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = 0;
    char *end = strstr(c->buf, "\r\n\r\n");
    if (end == NULL)
        return;
    char *cl = strcasestr(c->buf, "Content-Length:");
    size_t clen = cl ? strtoul(cl + 15, NULL, 10) : 0;
    size_t total = (size_t)(end + 4 - c->buf) + clen;
    if (c->len < total)
        return;
    int status = atoi(c->buf + 9);
    memmove(c->buf, c->buf + total, c->len - total);
    c->len -= total;
    if (status == 200) {
        c->ok++;
        c->k++;
        if (nlat == caplat) {
            caplat = caplat ? caplat * 2 : 65536;
            lat = realloc(lat, caplat * sizeof(*lat));
        }
        lat[nlat++] = (double)(uv_hrtime() - c->t0) / 1e9;
    } else {
        c->failed++;
    }
    if (uv_hrtime() < deadline)
        send_next(c);
    else
        uv_close((uv_handle_t *)s, on_close);
}

static void on_write(uv_write_t *w, int status)
{
}

static void send_next(struct client *c)
{
    const char *body = (c->k % 2 == 0) ? submit_body : return_body;
    size_t blen = (c->k % 2 == 0) ? sizeof(submit_body) - 1 : sizeof(return_body) - 1;
    int n = snprintf(c->req, sizeof(c->req),
                     "POST /v1/documents/%lld/actions HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer %s\r\n"
                     "Accept: application/cbor\r\nContent-Type: application/cbor\r\nContent-Length: %zu\r\n"
                     "Idempotency-Key: c%d-%d-%ld\r\n\r\n",
                     c->doc, token, blen, c->id, (int)uv_os_getpid(), c->k);
    memcpy(c->req + n, body, blen);
    uv_buf_t b = uv_buf_init(c->req, (unsigned)(n + (int)blen));
    c->t0 = uv_hrtime();
    uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct client *c = req->data;
    if (status < 0) {
        fprintf(stderr, "connect: %s\n", uv_strerror(status));
        exit(1);
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    send_next(c);
}

/* A blocking helper for set-up: creates one document, returns its id. */
static long long create_document(int n, int i)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "curl -sf -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -H 'Accept: application/json'"
             " -d '{\"kind\":\"outgoing\",\"title\":\"基准测试 %d-%d\",\"body\":\"正文\"}'"
             " http://127.0.0.1:%d/v1/documents",
             token, n, i, port);
    FILE *p = popen(cmd, "r");
    char out[8192] = "";
    size_t len = fread(out, 1, sizeof(out) - 1, p);
    out[len] = 0;
    pclose(p);
    char *id = strstr(out, "\"id\":");
    if (id == NULL) {
        fprintf(stderr, "cannot create a document: %s\n", out);
        exit(1);
    }
    return strtoll(id + 5, NULL, 10);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: transitions PORT TOKEN SECONDS CLIENTS...\n");
        return 2;
    }
    port = atoi(argv[1]);
    token = argv[2];
    seconds = atof(argv[3]);
    printf("%-8s %14s %10s %10s %10s\n", "clients", "transitions/s", "p50 ms", "p99 ms", "failed");
    for (int a = 4; a < argc; a++) {
        int n = atoi(argv[a]);
        struct client *cs = calloc((size_t)n, sizeof(*cs));
        for (int i = 0; i < n; i++) {
            cs[i].doc = create_document(n, i);
            cs[i].id = i;
        }
        uv_loop_t *loop = uv_default_loop();
        struct sockaddr_in addr;
        uv_ip4_addr("127.0.0.1", port, &addr);
        nlat = 0;
        uint64_t t0 = uv_hrtime();
        deadline = t0 + (uint64_t)(seconds * 1e9);
        for (int i = 0; i < n; i++) {
            uv_tcp_init(loop, &cs[i].tcp);
            cs[i].tcp.data = &cs[i];
            cs[i].conn.data = &cs[i];
            uv_tcp_connect(&cs[i].conn, &cs[i].tcp, (struct sockaddr *)&addr, on_connect);
            active++;
        }
        uv_run(loop, UV_RUN_DEFAULT);
        double el = (double)(uv_hrtime() - t0) / 1e9;
        long ok = 0, failed = 0;
        for (int i = 0; i < n; i++) {
            ok += cs[i].ok;
            failed += cs[i].failed;
        }
        qsort(lat, nlat, sizeof(*lat), cmp);
        printf("%-8d %14.0f %10.2f %10.2f %10ld\n", n, (double)ok / el, nlat ? lat[nlat / 2] * 1e3 : 0,
               nlat ? lat[nlat * 99 / 100] * 1e3 : 0, failed);
        fflush(stdout);
        free(cs);
    }
    free(lat);
    return 0;
}
