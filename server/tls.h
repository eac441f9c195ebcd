/*
 * server/tls.h: TLS on oad's listener (tls.c) and the private CA that
 * `oad tls` keeps for an office (tls_ca.c).
 */
#ifndef OA_SERVER_TLS_H
#define OA_SERVER_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "server/config.h"

struct oa_server;
struct ssl_ctx_st;

/* Whether an IP address (text) is a loopback one: 127.0.0.0/8, ::1, ::ffff:127.x. */
bool oa_tls_host_is_loopback(const char *host);

/*
 * A server context from cfg's tls.cert, tls.key and tls.client_ca (TLS 1.3
 * only; with a client CA, a verified client certificate is required).
 * NULL with a sentence in cause.  The caller frees it with SSL_CTX_free.
 */
struct ssl_ctx_st *oa_tls_context_new(const struct oa_config *cfg, char *cause, size_t n);

/*
 * At start, before listening: without tls.cert, refuses (-1, logged) a
 * listen address that is not loopback; with it, makes srv->tls_ctx and
 * reloads it on SIGHUP.  0 or -1 (logged).
 */
int oa_tls_setup(struct oa_server *srv);

/*
 * Issues a certificate signed by a CA (ca_cert_pem, ca_key_pem files), or a
 * self-signed CA when those are NULL.  `names`: comma-separated DNS names or
 * IP addresses (server certificates; the first is the CN), or the account
 * name (client certificates).  Valid from now + not_before_s to now +
 * not_after_s (seconds; negative for the past).  Writes cert_out and key_out
 * (the key mode 0600).  0, or -1 with a sentence in cause.
 */
enum oa_cert_kind { OA_CERT_CA, OA_CERT_SERVER, OA_CERT_CLIENT };
int oa_tls_issue(enum oa_cert_kind kind, const char *ca_cert_pem, const char *ca_key_pem, const char *names,
                 long not_before_s, long not_after_s, const char *cert_out, const char *key_out, char *cause,
                 size_t n);

/* A certificate file's pin: "sha256//" + base64 of the SHA-256 of its SubjectPublicKeyInfo.  0 or -1. */
int oa_tls_pin(const char *cert_pem, char *out, size_t n);

/* `oad tls init|client ...` (argv[0] is "tls"); the exit status. */
int oa_tls_command(int argc, char **argv);

#endif
