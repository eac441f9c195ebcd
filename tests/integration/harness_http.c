/* tests/integration/harness_http.c: the harness's HTTP/1.1 client (see harness.h): connections, plain or TLS
 * (http_use_tls), sending, and reading responses with llhttp, pipelined ones included. */
#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

void resp_free(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* Per-fd leftover bytes, for pipelined responses. */
#define MAXFD 1024

/* TLS (http_use_tls): the client context, each connection's SSL, the last failure. */
static SSL_CTX *tls_client;
static SSL *tls_of[MAXFD];
static char tls_error[512];

void http_use_tls(const char *ca, const char *cert, const char *key)
{
    SSL_CTX_free(tls_client); /* open connections keep theirs */
    tls_client = NULL;
    if (ca == NULL)
        return;
    signal(SIGPIPE, SIG_IGN);
    tls_client = SSL_CTX_new(TLS_client_method());
    cr_assert_not_null(tls_client);
    SSL_CTX_set_verify(tls_client, SSL_VERIFY_PEER, NULL);
    cr_assert_eq(SSL_CTX_load_verify_locations(tls_client, ca, NULL), 1, "cannot read the CA %s", ca);
    if (cert) {
        cr_assert_eq(SSL_CTX_use_certificate_file(tls_client, cert, SSL_FILETYPE_PEM), 1, "%s", cert);
        cr_assert_eq(SSL_CTX_use_PrivateKey_file(tls_client, key, SSL_FILETYPE_PEM), 1, "%s", key);
    }
}

const char *http_tls_error(void)
{
    return tls_error;
}

static void tls_note_error(SSL *ssl, int rc)
{
    unsigned long e = ERR_peek_last_error();
    char why[256] = "";
    if (e)
        ERR_error_string_n(e, why, sizeof(why));
    ERR_clear_error();
    long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    snprintf(tls_error, sizeof(tls_error), "%s%s%s (SSL_get_error %d)", why,
             v != X509_V_OK ? "; verify: " : "", v != X509_V_OK ? X509_verify_cert_error_string(v) : "",
             ssl ? SSL_get_error(ssl, rc) : 0);
}

/* Connects (TLS when http_use_tls set a CA); -1 when the TLS handshake fails (http_tls_error says why). */
static int connect_from(const struct oad *o, const char *source_ip);

int http_try_connect(const struct oad *o)
{
    return connect_from(o, NULL);
}

int http_connect(const struct oad *o)
{
    return http_connect_from(o, NULL);
}

int http_connect_from(const struct oad *o, const char *source_ip)
{
    int fd = connect_from(o, source_ip);
    cr_assert(fd >= 0, "TLS handshake failed: %s", tls_error);
    return fd;
}

static ssize_t io_recv(int fd, char *buf, size_t n)
{
    SSL *ssl = fd < MAXFD ? tls_of[fd] : NULL;
    if (ssl == NULL)
        return recv(fd, buf, n, 0);
    int got = SSL_read(ssl, buf, (int)n);
    if (got > 0)
        return got;
    int e = SSL_get_error(ssl, got);
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    tls_note_error(ssl, got);
    return -1;
}

ssize_t http_recv(int fd, void *buf, size_t n)
{
    return io_recv(fd, buf, n);
}

bool http_tls_on(void)
{
#ifdef OA_TEST_TLS
    return true;
#else
    return tls_client != NULL;
#endif
}

static bool io_readable(int fd, int timeout_ms)
{
    if (fd < MAXFD && tls_of[fd] && SSL_pending(tls_of[fd]) > 0)
        return true;
    struct pollfd pfd = {fd, POLLIN, 0};
    return poll(&pfd, 1, timeout_ms) > 0;
}

static int connect_from(const struct oad *o, const char *source_ip)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    if (source_ip != NULL) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        cr_assert_eq(inet_pton(AF_INET, source_ip, &src.sin_addr), 1, "not an IPv4 address: %s", source_ip);
        cr_assert(bind(fd, (struct sockaddr *)&src, sizeof(src)) == 0, "bind %s: %s", source_ip, strerror(errno));
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    cr_assert_eq(inet_pton(AF_INET, o->host[0] ? o->host : "127.0.0.1", &a.sin_addr), 1);
    cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (tls_client == NULL)
        return fd;
    cr_assert_lt(fd, MAXFD);
    SSL *ssl = SSL_new(tls_client);
    cr_assert_not_null(ssl);
    SSL_set_fd(ssl, fd);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), o->host[0] ? o->host : "127.0.0.1");
    int rc = SSL_connect(ssl);
    if (rc != 1) {
        tls_note_error(ssl, rc);
        SSL_free(ssl);
        close(fd);
        return -1;
    }
    tls_of[fd] = ssl;
    return fd;
}

bool http_send(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = fd < MAXFD && tls_of[fd] ? SSL_write(tls_of[fd], p, (int)len) : send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static struct {
    char *buf;
    size_t len;
} leftover[MAXFD];

struct pstate {
    struct resp *r;
    char hname[64];
    size_t hname_len;
    int which; /* 1 ctype, 2 etag, 3 connection, 4 content-disposition */
    size_t cap;
};

static int p_on_status(llhttp_t *p, const char *at, size_t len)
{
    return 0;
}

static int p_on_hfield(llhttp_t *p, const char *at, size_t len)
{
    struct pstate *s = p->data;
    if (s->hname_len + len < sizeof(s->hname)) {
        memcpy(s->hname + s->hname_len, at, len);
        s->hname_len += len;
    }
    s->hname[s->hname_len] = 0;
    return 0;
}

static int p_on_hfield_done(llhttp_t *p)
{
    struct pstate *s = p->data;
    s->which = strcasecmp(s->hname, "content-type") == 0 ? 1 : strcasecmp(s->hname, "etag") == 0 ? 2
               : strcasecmp(s->hname, "connection") == 0 ? 3 : strcasecmp(s->hname, "content-disposition") == 0 ? 4
               : 0;
    s->hname_len = 0;
    return 0;
}

static int p_on_hvalue(llhttp_t *p, const char *at, size_t len)
{
    struct pstate *s = p->data;
    char *dst = s->which == 1 ? s->r->content_type : s->which == 2 ? s->r->etag
              : s->which == 3 ? s->r->connection : s->which == 4 ? s->r->disposition : NULL;
    size_t cap = s->which == 1 ? sizeof(s->r->content_type) : s->which == 2 ? sizeof(s->r->etag)
               : s->which == 3 ? sizeof(s->r->connection) : sizeof(s->r->disposition);
    if (dst) {
        size_t cur = strlen(dst);
        size_t n = len < cap - cur - 1 ? len : cap - cur - 1;
        memcpy(dst + cur, at, n);
        dst[cur + n] = 0;
    }
    return 0;
}

static int p_on_body(llhttp_t *p, const char *at, size_t len)
{
    struct pstate *s = p->data;
    if (s->r->body_len + len + 1 > s->cap) {
        s->cap = (s->r->body_len + len + 1) * 2;
        s->r->body = realloc(s->r->body, s->cap);
    }
    memcpy(s->r->body + s->r->body_len, at, len);
    s->r->body_len += len;
    s->r->body[s->r->body_len] = 0;
    return 0;
}

static int p_on_headers_done(llhttp_t *p)
{
    struct pstate *s = p->data;
    s->r->status = p->status_code;
    if (s->r->status == 100) {
        /* an interim response: ignore it and wait for the final one */
        s->r->content_type[0] = s->r->etag[0] = s->r->connection[0] = s->r->disposition[0] = 0;
    }
    return 0;
}

static int p_on_complete(llhttp_t *p)
{
    struct pstate *s = p->data;
    if (p->status_code == 100)
        return 0;
    s->r->complete = true;
    return HPE_PAUSED;
}

bool http_read(int fd, struct resp *r, int timeout_ms)
{
    memset(r, 0, sizeof(*r));
    r->body = calloc(1, 1);
    llhttp_settings_t st;
    llhttp_settings_init(&st);
    st.on_status = p_on_status;
    st.on_header_field = p_on_hfield;
    st.on_header_field_complete = p_on_hfield_done;
    st.on_header_value = p_on_hvalue;
    st.on_headers_complete = p_on_headers_done;
    st.on_body = p_on_body;
    st.on_message_complete = p_on_complete;
    llhttp_t parser;
    llhttp_init(&parser, HTTP_RESPONSE, &st);
    struct pstate ps = {.r = r, .cap = 1};
    parser.data = &ps;

    char buf[65536];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        const char *data;
        size_t len;
        char *owned = NULL;
        if (fd < MAXFD && leftover[fd].len > 0) {
            owned = leftover[fd].buf;
            data = owned;
            len = leftover[fd].len;
            leftover[fd].buf = NULL;
            leftover[fd].len = 0;
        } else {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            int left = timeout_ms - (int)((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
            if (left <= 0)
                return false;
            if (!io_readable(fd, left))
                return false;
            ssize_t n = io_recv(fd, buf, sizeof(buf));
            if (n <= 0) {
                if (n == 0 && llhttp_finish(&parser) == HPE_OK && r->complete)
                    return true;
                return r->complete;
            }
            data = buf;
            len = (size_t)n;
        }
        llhttp_errno_t e = llhttp_execute(&parser, data, len);
        if (e == HPE_PAUSED) {
            const char *pos = llhttp_get_error_pos(&parser);
            size_t used = (size_t)(pos - data);
            if (used < len && fd < MAXFD) {
                leftover[fd].buf = malloc(len - used);
                memcpy(leftover[fd].buf, data + used, len - used);
                leftover[fd].len = len - used;
            }
            free(owned);
            return true;
        }
        free(owned);
        if (e != HPE_OK)
            return false;
    }
}

bool http_wait_close(int fd, int timeout_ms)
{
    char buf[4096];
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        int left = timeout_ms - (int)((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return false;
        if (!io_readable(fd, left))
            return false;
        ssize_t n = io_recv(fd, buf, sizeof(buf));
        if (n <= 0)
            return true;
    }
}

void http_close(int fd)
{
    if (fd < MAXFD) {
        free(leftover[fd].buf);
        leftover[fd].buf = NULL;
        leftover[fd].len = 0;
        SSL_free(tls_of[fd]);
        tls_of[fd] = NULL;
    }
    close(fd);
}
