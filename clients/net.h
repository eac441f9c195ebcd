/*
 * clients/net.h: HTTP for the clients, over libcurl.  One request at a time,
 * a bearer token, bodies in memory or streamed from/to files.
 */
#ifndef OA_CLIENTS_NET_H
#define OA_CLIENTS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct net_resp {
    long status;             /* 0 when the server could not be reached */
    char *body;              /* NUL-terminated, malloc'd */
    size_t len;
    char content_type[128];
    char error[256];         /* why the server could not be reached */
};

/*
 * One request.  ctype NULL: no body.  headers: NULL-terminated extra lines
 * ("Name: value"), or NULL.  Returns 0 when a response arrived (any status),
 * -1 when the server could not be reached (r->error says why).
 */
int net_request(const char *base, const char *token, const char *method, const char *path, const char *accept,
                const char *ctype, const void *body, size_t len, const char *const *headers, struct net_resp *r);

/*
 * PUT/PATCH-style upload of file bytes [from, from+len) as the body, with
 * extra headers; same return.
 */
int net_upload_file(const char *base, const char *token, const char *method, const char *path, FILE *f,
                    uint64_t from, uint64_t len, const char *const *headers, struct net_resp *r);

/*
 * GET into a file, appending (for resuming with Range); r->body holds an
 * error body only.  *got counts the bytes written.
 */
int net_download(const char *base, const char *token, const char *path, FILE *out, uint64_t from,
                 struct net_resp *r, uint64_t *got);

void net_resp_free(struct net_resp *r);

/*
 * TLS for every following request (#17): the server is verified against the
 * CA certificate file `ca`, or, with `pin` ("sha256//" + base64 of the
 * SHA-256 of the server's SubjectPublicKeyInfo, as `oad tls pin` prints it),
 * against that key alone; with neither, against the system's CAs.  `cert`
 * and `key`: a client certificate for mutual TLS.  Any may be NULL or "";
 * the strings are copied.  Plain http:// is refused except to this machine
 * (localhost, 127.0.0.0/8, ::1), whatever is set here.
 */
void net_tls(const char *ca, const char *pin, const char *cert, const char *key);

/* Whether a base URL may be used: https://, or http:// to loopback; false with a sentence in why. */
bool net_url_allowed(const char *base, char *why, size_t n);

/* Why the last request that could not reach the server failed (curl's words, or a refused URL). */
const char *net_last_error(void);

/* Bytes received so far (headers and bodies), for the sync summary. */
uint64_t net_bytes_received(void);

#endif
