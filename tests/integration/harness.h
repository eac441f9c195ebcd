/*
 * tests/integration/harness.h: starts the real oad on an ephemeral loopback
 * port with a temporary data directory, and talks HTTP to it over real
 * sockets.  Nothing here imitates the server.
 */
#ifndef OA_TESTS_HARNESS_H
#define OA_TESTS_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct oad {
    pid_t pid;
    char host[64]; /* the IPv4 address it listens on: 127.0.0.1 unless oad_start_at said another */
    int port;
    char dir[256];
    char log[300];
};

/*
 * Inits a data directory and starts `oad serve` with cheap Argon2id
 * parameters plus `extra` settings ("section.key=value", NULL-terminated).
 * Aborts the test when the server does not come up.
 */
void oad_start(struct oad *o, const char *const *extra);
/* The same listening on another of this machine's IPv4 addresses (connections then come from it too). */
void oad_start_at(struct oad *o, const char *host, const char *const *extra);
/*
 * oad_start in steps: names a fresh data directory in o (o->dir, inside a new
 * temporary directory, not yet created: a test may make it a mount point),
 * then inits it.
 */
void oad_prepare(struct oad *o);
void oad_init(struct oad *o, const char *const *extra);
/*
 * The test process reads oa.db as oad does, through the data directory's
 * database key (oad_init calls it): sqlite3_open then uses the encrypting VFS.
 */
void oad_use_db_key(const struct oad *o);
/* Starts `oad serve` again on o's data directory (after a stop or a crash). */
void oad_serve(struct oad *o, const char *const *extra);
/* SIGTERM, wait; returns the exit status (or -1 when it did not exit by itself). */
int oad_stop(struct oad *o);
/* Waits for oad to exit by itself; its exit status, or -1 after timeout_ms. */
int oad_wait(struct oad *o, int timeout_ms);
/* The one-time password init wrote for an administrator. */
void oad_initial_password(const struct oad *o, const char *user, char *out, size_t n);
/*
 * Runs a shell command, its stdout and stderr into out (NUL-terminated, cut
 * at n - 1 bytes); returns its exit status, or -1 when it did not exit.
 */
int run_capture(const char *cmd, char *out, size_t n);
/* Whether any regular file under d (recursively) holds s; its path into where. */
bool tree_holds(const char *d, const char *s, char *where, size_t cap);

/* The last lines of oad's log (a static buffer), for failure messages. */
const char *oad_log_tail(const struct oad *o);
/* True when the log contains the text. */
bool oad_log_contains(const struct oad *o, const char *text);
/* Waits up to secs for the log to contain text (a line written by a done callback comes after the commit the test
 * may already see); whether it did. */
bool oad_log_wait(const struct oad *o, const char *text, int secs);

struct resp {
    int status;
    char content_type[128];
    char etag[64];
    char connection[32];
    char disposition[1024];
    char *body;      /* NUL-terminated; freed by resp_free */
    size_t body_len;
    bool complete;
};

void resp_free(struct resp *r);

/* A connected blocking socket to the server. */
int http_connect(const struct oad *o);
/* The same from another local address: any of 127.0.0.0/8 is this machine's loopback. */
int http_connect_from(const struct oad *o, const char *source_ip);
/*
 * TLS (#17): from now on every connection is TLS, verifying oad against the
 * CA certificate file `ca` (and its IP address), presenting cert/key when
 * not NULL; ca NULL: plain HTTP again.  Open connections keep what they had.
 */
void http_use_tls(const char *ca, const char *cert, const char *key);
/* A connection, or -1 when the TLS handshake failed (http_tls_error says why). */
int http_try_connect(const struct oad *o);
/* Whether the harness speaks TLS now (the *_tls_test builds, or after http_use_tls). */
bool http_tls_on(void);
/* One read from a connection (decrypted on TLS): as recv(2). */
ssize_t http_recv(int fd, void *buf, size_t n);
/* Why the last TLS handshake or read failed (OpenSSL's reason and the verify result). */
const char *http_tls_error(void);
/* Writes all bytes; false on error. */
bool http_send(int fd, const void *buf, size_t len);
/*
 * Reads one response (llhttp in response mode) within timeout_ms; false on
 * timeout or close before a complete response.  Bytes of a following
 * response stay buffered per fd for the next call.
 */
bool http_read(int fd, struct resp *r, int timeout_ms);
/* True when the peer closes within timeout_ms (EOF), reading and dropping any bytes. */
bool http_wait_close(int fd, int timeout_ms);
void http_close(int fd);

/*
 * One request on a fresh connection.  ctype NULL means no body.  `headers`
 * is extra header lines, each ending in \r\n, or NULL.
 */
struct resp http_do(const struct oad *o, const char *method, const char *path, const char *ctype,
                    const void *body, size_t len, const char *headers);
/* JSON in, JSON out; token may be NULL. */
struct resp http_json(const struct oad *o, const char *method, const char *path, const char *token,
                      const char *json, const char *headers);
/* Parses a response body as JSON (NULL when it is not). */
json_t *resp_json(const struct resp *r);

/* Asserts the status and parses the JSON body (the caller frees it); frees the response. */
json_t *ok_json(struct resp *r, int status);

/*
 * Creates a person in department 1 with roles (a JSON array) and clearance,
 * logs them in and replaces the one-time password; returns their id, the
 * session token in `token`.
 */
long long make_person(const struct oad *o, const char *sys, const char *secadm, const char *name, const char *roles,
                      int clearance, const char *password, char *token, size_t n);


/* Logs in; returns the token in out (and whether a password change is due). */
int login(const struct oad *o, const char *user, const char *password, char *token, size_t n);
/*
 * Logs in an administrator and replaces the one-time password with `newpw`.
 * For secadmin it also enrols an authenticator (clearance and label changes
 * need one) and remembers the session: from then on every request that
 * carries secadmin's token also carries a current code in X-OA-OTP, unless
 * the caller set that header itself.
 */
void admin_login(const struct oad *o, const char *user, const char *newpw, char *token, size_t n);

/* The RFC 6238 code of a base32 secret at time t. */
void totp_at(const char *secret32, time_t t, char out[7]);
/* The authenticator secret admin_login enrolled for secadmin ("" before). */
const char *secadmin_totp_secret(void);

#endif
