/*
 * clients/cache.h: the client's local copy, in SQLite under the user's XDG
 * data directory: documents as the change feed sent them, the feed cursor,
 * and operations done offline waiting for the next sync.  Every document
 * record and queued operation is sealed (XChaCha20-Poly1305) under a key
 * derived from the session, so the file alone reveals no content; documents
 * above the server's cache policy are never stored at all.
 */
#ifndef OA_CLIENTS_CACHE_H
#define OA_CLIENTS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cache;

/* Opens (creating, mode 0600) the cache at path.  0 or -1 with a sentence in err. */
int cache_open(const char *path, const unsigned char key[32], struct cache **out, char *err, size_t errlen);
void cache_close(struct cache *c);

int64_t cache_cursor(struct cache *c);
int cache_set_cursor(struct cache *c, int64_t cursor);

/* Stores a document's record (CBOR), sealed.  0 or -1. */
int cache_put_doc(struct cache *c, int64_t id, int64_t rev, bool todo, const void *rec, size_t len);
int cache_drop_doc(struct cache *c, int64_t id);
int cache_drop_all(struct cache *c);
/* A document's record, opened: 1 found (*rec malloc'd), 0 not there, -1 damaged or error. */
int cache_get_doc(struct cache *c, int64_t id, unsigned char **rec, size_t *len, int64_t *rev);
/* Calls fn for each document (todo_only: those in the to-do list), in id order. */
int cache_each_doc(struct cache *c, bool todo_only,
                   int (*fn)(void *arg, int64_t id, const unsigned char *rec, size_t len), void *arg);
int64_t cache_count(struct cache *c);

/* The offline queue: operations (CBOR) in the order they were made. */
int cache_queue_add(struct cache *c, const char *op_id, const void *op, size_t len);
int cache_queue_each(struct cache *c, int (*fn)(void *arg, const char *op_id, const unsigned char *op, size_t len),
                     void *arg);
int cache_queue_remove(struct cache *c, const char *op_id);
int64_t cache_queue_count(struct cache *c);

/* Transactions around a sync's many writes. */
int cache_begin(struct cache *c);
int cache_commit(struct cache *c);

#endif
