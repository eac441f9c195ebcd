/*
 * server/tls.c: TLS 1.3 on oad's connections, with OpenSSL through memory
 * BIOs on the libuv loop: no blocking I/O and no thread per connection.
 *
 * Bytes read from the socket go into the connection's read BIO; SSL_read
 * hands back plain bytes, which go to the HTTP layer exactly as a plain
 * connection's would (oa__http_conn_input).  What OpenSSL has to send (the
 * handshake, alerts, tickets, encrypted responses) collects in the write BIO
 * and is written with uv_write: a response's bytes through the connection's
 * one write request (its callback is the response's), anything else through
 * a write request of its own that frees itself.  libuv keeps the order of
 * writes on a stream, so the two never interleave wrongly.
 *
 * The context (certificate, key, client CA) is built at start and again on
 * SIGHUP; a connection keeps the context it began with (SSL_new takes a
 * reference), so a reload never disturbs an open connection.
 *
 * Plain HTTP is allowed only on a loopback address: oa_tls_setup refuses to
 * start otherwise.
 */
#include "server/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/log.h"
#include "server/http-int.h"
#include "server/server.h"

/* The last OpenSSL error as a sentence fragment (empties the error queue). */
static void ssl_reason(char *out, size_t n)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0)
        snprintf(out, n, "no detail");
    else
        ERR_error_string_n(e, out, n);
    ERR_clear_error();
}

bool oa_tls_host_is_loopback(const char *host)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) == 1) {
        static const unsigned char v6_loopback[16] = {[15] = 1};
        static const unsigned char v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
        return memcmp(a, v6_loopback, 16) == 0 || (memcmp(a, v4_mapped, 12) == 0 && a[12] == 127);
    }
    return false;
}

struct ssl_ctx_st *oa_tls_context_new(const struct oa_config *cfg, char *cause, size_t n)
{
    char why[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        ssl_reason(why, sizeof(why));
        snprintf(cause, n, "cannot make a TLS context: %s", why);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
        ssl_reason(why, sizeof(why));
        snprintf(cause, n, "cannot use tls.cert %s: %s", cfg->tls_cert, why);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
        ssl_reason(why, sizeof(why));
        snprintf(cause, n, "cannot use tls.key %s: %s", cfg->tls_key, why);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(cause, n, "tls.key %s is not the key of tls.cert %s", cfg->tls_key, cfg->tls_cert);
        goto fail;
    }
    if (cfg->tls_client_ca[0]) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_client_ca);
        if (names == NULL || SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca, NULL) != 1) {
            if (names)
                sk_X509_NAME_pop_free(names, X509_NAME_free);
            ssl_reason(why, sizeof(why));
            snprintf(cause, n, "cannot use tls.client_ca %s: %s", cfg->tls_client_ca, why);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* SIGHUP: read the certificate and key again; new connections get them, open ones keep theirs. */
static void tls_on_hup(uv_signal_t *h, int signum)
{
    struct oa_server *srv = h->data;
    char cause[1200];
    SSL_CTX *ctx = oa_tls_context_new(srv->cfg, cause, sizeof(cause));
    if (ctx == NULL) {
        oa_log(OA_LOG_ERROR, "tls_reload_failed", "cause=\"%s\" (the previous certificate stays in use)", cause);
        return;
    }
    SSL_CTX_free(srv->tls_ctx);
    srv->tls_ctx = ctx;
    oa_log(OA_LOG_INFO, "tls_reloaded", "cert=%s", srv->cfg->tls_cert);
}

int oa_tls_setup(struct oa_server *srv)
{
    const struct oa_config *cfg = srv->cfg;
    bool cert = cfg->tls_cert[0] != '\0', key = cfg->tls_key[0] != '\0';
    if (cert != key) {
        oa_log(OA_LOG_ERROR, "tls_config", "reason=\"tls.cert and tls.key go together: set both or neither\"");
        return -1;
    }
    if (!cert) {
        if (cfg->tls_client_ca[0] || cfg->tls_client_account) {
            oa_log(OA_LOG_ERROR, "tls_config", "reason=\"tls.client_ca and tls.client_account need tls.cert and tls.key\"");
            return -1;
        }
        if (oa_tls_host_is_loopback(cfg->listen_host))
            return 0;
        if (!cfg->tls_allow_plain_remote) {
            oa_log(OA_LOG_ERROR, "plain_http_refused",
                   "host=%s reason=\"plain HTTP is allowed only on a loopback address: set tls.cert and tls.key "
                   "(oad tls init makes them), or listen on 127.0.0.1\"",
                   cfg->listen_host);
            return -1;
        }
        oa_log(OA_LOG_WARN, "plain_http_remote", "host=%s reason=\"tls.allow_plain_remote is set: traffic is readable "
               "on the network\"", cfg->listen_host);
        return 0;
    }
    if (cfg->tls_client_account && !cfg->tls_client_ca[0]) {
        oa_log(OA_LOG_ERROR, "tls_config", "reason=\"tls.client_account needs tls.client_ca\"");
        return -1;
    }
    char cause[1200];
    srv->tls_ctx = oa_tls_context_new(cfg, cause, sizeof(cause));
    if (srv->tls_ctx == NULL) {
        oa_log(OA_LOG_ERROR, "tls_config", "reason=\"%s\"", cause);
        return -1;
    }
    uv_signal_init(srv->loop, &srv->sig_tls);
    srv->sig_tls.data = srv;
    uv_signal_start(&srv->sig_tls, tls_on_hup, SIGHUP);
    uv_unref((uv_handle_t *)&srv->sig_tls);
    oa_log(OA_LOG_INFO, "tls", "cert=%s client_ca=%s", cfg->tls_cert, cfg->tls_client_ca[0] ? cfg->tls_client_ca : "-");
    return 0;
}

void oa__tls_stop(struct oa_server *srv)
{
    if (srv->tls_ctx == NULL)
        return;
    uv_close((uv_handle_t *)&srv->sig_tls, oa__http_handle_close_noop);
    SSL_CTX_free(srv->tls_ctx);
    srv->tls_ctx = NULL;
}

int oa__tls_conn_start(struct oa_conn *c)
{
    SSL *ssl = SSL_new(c->srv->tls_ctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    if (ssl == NULL || rb == NULL || wb == NULL) {
        SSL_free(ssl);
        BIO_free(rb);
        BIO_free(wb);
        ERR_clear_error();
        return -1;
    }
    /* An empty memory BIO means "nothing yet", not the end of the stream. */
    BIO_set_mem_eof_return(rb, -1);
    SSL_set_bio(ssl, rb, wb);
    SSL_set_accept_state(ssl);
    c->ssl = ssl;
    return 0;
}

void oa__tls_conn_free(struct oa_conn *c)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
}

struct tls_out {
    uv_write_t w;
    char data[];
};

static void tls_on_flushed(uv_write_t *w, int status)
{
    free(w->data);
}

/* Writes what OpenSSL has to send (handshake, alerts, tickets) outside any response. */
static void tls_flush(struct oa_conn *c)
{
    BIO *wb = SSL_get_wbio(c->ssl);
    size_t n = BIO_ctrl_pending(wb);
    if (n == 0 || c->closing)
        return;
    struct tls_out *o = oa_xmalloc(sizeof(*o) + n);
    int got = BIO_read(wb, o->data, (int)n);
    o->w.data = o;
    uv_buf_t b = uv_buf_init(o->data, got > 0 ? (unsigned)got : 0);
    if (got <= 0 || uv_write(&o->w, (uv_stream_t *)&c->tcp, &b, 1, tls_on_flushed) != 0)
        free(o);
}

/* Reads the client certificate's subject CN once the handshake is done. */
static void tls_handshake_done(struct oa_conn *c)
{
    c->tls_done = true;
    X509 *x = SSL_get0_peer_certificate(c->ssl);
    if (x != NULL) {
        char cn[sizeof(c->client_cn)] = "";
        int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
        if (n > 0 && (size_t)n < sizeof(cn) && strlen(cn) == (size_t)n)
            memcpy(c->client_cn, cn, sizeof(cn));
        c->req.client_cn = c->client_cn[0] ? c->client_cn : NULL;
    }
    oa_log(OA_LOG_DEBUG, "tls_handshake", "peer=%s version=%s cipher=%s client_cn=%s", c->peer,
           SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl), c->client_cn[0] ? c->client_cn : "-");
}

void oa__tls_on_read(struct oa_conn *c, const char *data, size_t len)
{
    if (BIO_write(SSL_get_rbio(c->ssl), data, (int)len) != (int)len) {
        oa__http_conn_close(c);
        return;
    }
    char plain[16 * 1024];
    while (!c->closing) {
        int n = SSL_read(c->ssl, plain, sizeof(plain));
        if (n > 0) {
            if (!c->tls_done)
                tls_handshake_done(c);
            oa__http_conn_input(c, plain, (size_t)n);
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!c->tls_done && SSL_is_init_finished(c->ssl))
                tls_handshake_done(c);
            break;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            /* close_notify: the peer finished sending */
            tls_flush(c);
            oa__http_conn_eof(c);
            return;
        }
        char why[256];
        ssl_reason(why, sizeof(why));
        oa_log(OA_LOG_INFO, "tls_failed", "peer=%s phase=%s reason=\"%s\"", c->peer,
               c->tls_done ? "data" : "handshake", why);
        /* Send the alert now: a write queued on a closing handle is cancelled. */
        BIO *wb = SSL_get_wbio(c->ssl);
        char *p = NULL;
        long pl = BIO_get_mem_data(wb, &p);
        if (pl > 0) {
            uv_buf_t b = uv_buf_init(p, (unsigned)pl);
            uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        }
        oa__http_conn_close(c);
        return;
    }
    tls_flush(c);
}

/* Encrypts bufs into the write BIO; false when OpenSSL refuses. */
static bool tls_encrypt(struct oa_conn *c, const uv_buf_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        size_t done = 0;
        if (b[i].len > 0 && SSL_write_ex(c->ssl, b[i].base, b[i].len, &done) != 1) {
            char why[256];
            ssl_reason(why, sizeof(why));
            oa_log(OA_LOG_INFO, "tls_failed", "peer=%s phase=write reason=\"%s\"", c->peer, why);
            return false;
        }
    }
    return true;
}

int oa__tls_write(struct oa_conn *c, uv_buf_t *b, unsigned n, uv_write_cb cb)
{
    if (!tls_encrypt(c, b, n))
        return -1;
    BIO *wb = SSL_get_wbio(c->ssl);
    size_t len = BIO_ctrl_pending(wb);
    free(c->cbuf);
    c->cbuf = oa_xmalloc(len ? len : 1);
    int got = len ? BIO_read(wb, c->cbuf, (int)len) : 0;
    uv_buf_t out = uv_buf_init(c->cbuf, got > 0 ? (unsigned)got : 0);
    return uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &out, 1, cb);
}

void oa__tls_send_now(struct oa_conn *c, const char *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    if (tls_encrypt(c, &b, 1))
        tls_flush(c);
}
