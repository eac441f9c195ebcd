/*
 * server/auth.h: authentication: session tokens, password hashing, and the
 * gate in front of every OA_ROUTE_AUTH route.
 *
 * A session token is 32 random bytes, sent as unpadded base64url in
 * "Authorization: Bearer ...".  The database holds only its SHA-256.
 * Passwords are hashed with Argon2id (libsodium); the parameters are part of
 * each stored hash string, so raising them later needs no migration.
 * Hashing and verifying run on libuv's thread pool, never on the loop.
 */
#ifndef OA_SERVER_AUTH_H
#define OA_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "server/http.h"

#define OA_TOKEN_BYTES 32
#define OA_TOKEN_TEXT 44 /* base64url of 32 bytes (43) + NUL */

/* Route flag: reachable while the user still has to change a one-time password. */
#define OA_ROUTE_BEFORE_PWCHANGE 16u
/* Route flag: open to the exchange gateway's account (workflow/access.c oa_access_route). */
#define OA_ROUTE_GATEWAY 64u

/* Validates the bearer token, fills r->who, then calls the route's handler. */
void oa_auth_dispatch(struct oa_req *r);
/*
 * The same for a handler that admits other credentials too (GET /metrics):
 * validates the bearer token as a session, fills r->who and calls `next`, or
 * answers 401 (and the first-login gates as for the route's flags).
 */
void oa_auth_then(struct oa_req *r, oa_handler_fn next);

/* A new random token and its hash. */
void oa_token_new(char text[OA_TOKEN_TEXT], unsigned char hash[32]);

/* Hashes a password synchronously (oad init); 0 or -1 (out of memory). */
int oa_password_hash(const char *password, uint64_t opslimit, size_t memlimit, char out[128]);

/*
 * Chooses the Argon2id opslimit for `memlimit` bytes so that one hash takes
 * about target_ms on this machine (at least 2, at most 16).
 */
uint64_t oa_password_calibrate(size_t memlimit, unsigned target_ms);

/*
 * Computes, before serving, the dummy hash that a login of an unknown user
 * is verified against (so the first such login does not hash on the loop).
 */
void oa_password_prepare(uint64_t opslimit, size_t memlimit);

/* Argon2id work now on the pool, waiting for a thread, and the most ever run at once. */
void oa_password_work_stats(unsigned *running, unsigned *waiting, unsigned *peak);

/* A random one-time password: 20 characters from an unambiguous alphabet. */
void oa_password_generate(char out[21]);

/*
 * Runs an Argon2id verify (when `hash` is set) and/or hash (when `newpw` is
 * set) on the thread pool, then calls done on the loop.  The strings are
 * copied and wiped afterwards.
 */
struct oa_pw_work;
typedef void (*oa_pw_done_fn)(void *arg, bool verified, const char *new_hash);
void oa_password_work(uv_loop_t *loop, const char *hash, const char *password, const char *newpw,
                      uint64_t opslimit, size_t memlimit, oa_pw_done_fn done, void *arg);

#endif
