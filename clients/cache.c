/* clients/cache.c: see cache.h. */
#include "clients/cache.h"

#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/alloc.h"

struct cache {
    sqlite3 *db;
    unsigned char key[32];
};

static const char schema[] =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = NORMAL;"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS docs (id INTEGER PRIMARY KEY, rev INTEGER NOT NULL, todo INTEGER NOT NULL,"
    "  sealed BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT NOT NULL UNIQUE,"
    "  sealed BLOB NOT NULL);";

int cache_open(const char *path, const unsigned char key[32], struct cache **out, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create the cache %s", path);
        return -1;
    }
    fchmod(fd, 0600);
    close(fd);
    struct cache *c = oa_xcalloc(1, sizeof(*c));
    memcpy(c->key, key, 32);
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(c->db, 5000) != SQLITE_OK || sqlite3_exec(c->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open the cache %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "?");
        cache_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

void cache_close(struct cache *c)
{
    if (c == NULL)
        return;
    sqlite3_close(c->db);
    sodium_memzero(c->key, sizeof(c->key));
    free(c);
}

static sqlite3_stmt *prep(struct cache *c, const char *sql)
{
    sqlite3_stmt *st = NULL;
    return sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) == SQLITE_OK ? st : NULL;
}

static int run(sqlite3_stmt *st)
{
    int rc = st && sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    return rc;
}

int64_t cache_cursor(struct cache *c)
{
    sqlite3_stmt *st = prep(c, "SELECT value FROM meta WHERE key = 'cursor'");
    int64_t v = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return v;
}

int cache_set_cursor(struct cache *c, int64_t cursor)
{
    sqlite3_stmt *st = prep(c, "INSERT OR REPLACE INTO meta(key, value) VALUES ('cursor', ?)");
    if (st)
        sqlite3_bind_int64(st, 1, cursor);
    return run(st);
}

/* nonce || ciphertext+tag, bound to `ad`. */
static unsigned char *seal(struct cache *c, const char *ad, const void *p, size_t n, size_t *outlen)
{
    size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    unsigned char *out = oa_xmalloc(nb + n + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    randombytes_buf(out, nb);
    unsigned long long cl = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + nb, &cl, p, n, (const unsigned char *)ad, strlen(ad), NULL,
                                               out, c->key);
    *outlen = nb + (size_t)cl;
    return out;
}

static unsigned char *unseal(struct cache *c, const char *ad, const unsigned char *p, size_t n, size_t *outlen)
{
    size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, ab = crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (n < nb + ab)
        return NULL;
    unsigned char *out = oa_xmalloc(n - nb - ab + 1);
    unsigned long long ml = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &ml, NULL, p + nb, n - nb, (const unsigned char *)ad,
                                                   strlen(ad), p, c->key) != 0) {
        free(out);
        return NULL;
    }
    *outlen = (size_t)ml;
    return out;
}

int cache_put_doc(struct cache *c, int64_t id, int64_t rev, bool todo, const void *rec, size_t len)
{
    char ad[48];
    snprintf(ad, sizeof(ad), "doc:%lld", (long long)id);
    size_t sl = 0;
    unsigned char *sealed = seal(c, ad, rec, len, &sl);
    sqlite3_stmt *st = prep(c, "INSERT OR REPLACE INTO docs(id, rev, todo, sealed) VALUES (?, ?, ?, ?)");
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, rev);
        sqlite3_bind_int(st, 3, todo);
        sqlite3_bind_blob(st, 4, sealed, (int)sl, SQLITE_STATIC);
    }
    int rc = run(st);
    free(sealed);
    return rc;
}

int cache_drop_doc(struct cache *c, int64_t id)
{
    sqlite3_stmt *st = prep(c, "DELETE FROM docs WHERE id = ?");
    if (st)
        sqlite3_bind_int64(st, 1, id);
    return run(st);
}

int cache_drop_all(struct cache *c)
{
    return sqlite3_exec(c->db, "DELETE FROM docs; DELETE FROM queue; DELETE FROM meta;", NULL, NULL, NULL) == SQLITE_OK
               ? 0 : -1;
}

int cache_get_doc(struct cache *c, int64_t id, unsigned char **rec, size_t *len, int64_t *rev)
{
    sqlite3_stmt *st = prep(c, "SELECT rev, sealed FROM docs WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        char ad[48];
        snprintf(ad, sizeof(ad), "doc:%lld", (long long)id);
        *rev = sqlite3_column_int64(st, 0);
        *rec = unseal(c, ad, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), len);
        rc = *rec ? 1 : -1;
    }
    sqlite3_finalize(st);
    return rc;
}

int cache_each_doc(struct cache *c, bool todo_only,
                   int (*fn)(void *arg, int64_t id, const unsigned char *rec, size_t len), void *arg)
{
    sqlite3_stmt *st = prep(c, todo_only ? "SELECT id, sealed FROM docs WHERE todo = 1 ORDER BY id"
                                         : "SELECT id, sealed FROM docs ORDER BY id");
    if (st == NULL)
        return -1;
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        char ad[48];
        snprintf(ad, sizeof(ad), "doc:%lld", (long long)id);
        size_t len = 0;
        unsigned char *rec = unseal(c, ad, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), &len);
        if (rec == NULL)
            continue; /* sealed under another session's key: skipped */
        rc = fn(arg, id, rec, len);
        free(rec);
    }
    sqlite3_finalize(st);
    return rc;
}

int64_t cache_count(struct cache *c)
{
    sqlite3_stmt *st = prep(c, "SELECT count(*) FROM docs");
    int64_t n = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

int cache_queue_add(struct cache *c, const char *op_id, const void *op, size_t len)
{
    char ad[96];
    snprintf(ad, sizeof(ad), "op:%s", op_id);
    size_t sl = 0;
    unsigned char *sealed = seal(c, ad, op, len, &sl);
    sqlite3_stmt *st = prep(c, "INSERT INTO queue(op_id, sealed) VALUES (?, ?)");
    if (st) {
        sqlite3_bind_text(st, 1, op_id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, sealed, (int)sl, SQLITE_STATIC);
    }
    int rc = run(st);
    free(sealed);
    return rc;
}

int cache_queue_each(struct cache *c, int (*fn)(void *arg, const char *op_id, const unsigned char *op, size_t len),
                     void *arg)
{
    sqlite3_stmt *st = prep(c, "SELECT op_id, sealed FROM queue ORDER BY seq");
    if (st == NULL)
        return -1;
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        char ad[96];
        snprintf(ad, sizeof(ad), "op:%s", id);
        size_t len = 0;
        unsigned char *op = unseal(c, ad, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), &len);
        if (op == NULL)
            continue;
        rc = fn(arg, id, op, len);
        free(op);
    }
    sqlite3_finalize(st);
    return rc;
}

int cache_queue_remove(struct cache *c, const char *op_id)
{
    sqlite3_stmt *st = prep(c, "DELETE FROM queue WHERE op_id = ?");
    if (st)
        sqlite3_bind_text(st, 1, op_id, -1, SQLITE_STATIC);
    return run(st);
}

int64_t cache_queue_count(struct cache *c)
{
    sqlite3_stmt *st = prep(c, "SELECT count(*) FROM queue");
    int64_t n = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

int cache_begin(struct cache *c)
{
    return sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int cache_commit(struct cache *c)
{
    return sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}
