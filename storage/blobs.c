/* storage/blobs.c: blob rows and attachments.  See blobs.h. */
#include "storage/blobs.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/alloc.h"

#define BLOB_COLS                                                                                   \
    "b.id, b.doc_id, b.attachment_id, b.rev, b.file, b.suite, b.level, b.kek_version, b.dek, b.size," \
    " b.stored, b.compressed, b.digest, b.content_type, b.created_at, b.created_by, b.staged"

static void text_col(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* Reads BLOB_COLS starting at column i. */
static void blob_cols(sqlite3_stmt *st, int i, struct oa_blob_row *b)
{
    memset(b, 0, sizeof(*b));
    b->id = sqlite3_column_int64(st, i + 0);
    b->doc_id = sqlite3_column_int64(st, i + 1);
    b->attachment_id = sqlite3_column_int64(st, i + 2);
    b->rev = sqlite3_column_int(st, i + 3);
    text_col(st, i + 4, b->file, sizeof(b->file));
    b->suite = sqlite3_column_int(st, i + 5);
    b->level = sqlite3_column_int(st, i + 6);
    b->kek_version = sqlite3_column_int(st, i + 7);
    if (sqlite3_column_bytes(st, i + 8) == OA_DEK_WRAPPED)
        memcpy(b->dek, sqlite3_column_blob(st, i + 8), OA_DEK_WRAPPED);
    else
        b->shredded = true;
    b->info.size = (uint64_t)sqlite3_column_int64(st, i + 9);
    b->info.stored = (uint64_t)sqlite3_column_int64(st, i + 10);
    b->info.compressed = sqlite3_column_int(st, i + 11) != 0;
    if (sqlite3_column_bytes(st, i + 12) == 32)
        memcpy(b->info.digest, sqlite3_column_blob(st, i + 12), 32);
    text_col(st, i + 13, b->content_type, sizeof(b->content_type));
    b->created_at = sqlite3_column_int64(st, i + 14);
    b->created_by = sqlite3_column_int64(st, i + 15);
    b->staged = sqlite3_column_int(st, i + 16) != 0;
}

void oa_blob_file_new(char out[OA_BLOB_FILE_LEN + 1])
{
    unsigned char r[OA_BLOB_FILE_LEN / 2];
    randombytes_buf(r, sizeof(r));
    sodium_bin2hex(out, OA_BLOB_FILE_LEN + 1, r, sizeof(r));
}

int oa_blob_path(const char *data_dir, const char *file, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/blobs/%.2s/%s", data_dir, file, file);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int oa_blob_dir_make(const char *data_dir, const char *file)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/blobs", data_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    snprintf(dir, sizeof(dir), "%s/blobs/%.2s", data_dir, file);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

size_t oa_blob_ad(const struct oa_blob_row *b, char *out, size_t cap)
{
    /* A staged file was sealed before it had a document (a gateway upload): doc 0, rev 0. */
    int n = snprintf(out, cap, "oa-blob-v1|doc:%lld|rev:%d|level:%d|file:%s", (long long)(b->staged ? 0 : b->doc_id),
                     b->staged ? 0 : b->rev, b->level, b->file);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

int oa_attachment_put(struct oa_store *s, struct oa_blob_row *b, const char *name, const char *role)
{
    int64_t now = oa_now();
    if (b->attachment_id == 0) {
        sqlite3_stmt *st = oa_store_stmt(s, "INSERT INTO attachments(doc_id, name, role, rev, blob_id, updated_at)"
                                            " VALUES (?, ?, ?, 0, 0, ?)");
        if (st == NULL)
            return -1;
        sqlite3_bind_int64(st, 1, b->doc_id);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        if (sqlite3_step(st) != SQLITE_DONE)
            return -1;
        b->attachment_id = sqlite3_last_insert_rowid(s->db);
    }
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO blobs(doc_id, attachment_id, rev, file, suite, level, kek_version, dek, size, stored,"
        " compressed, digest, content_type, created_at, created_by, staged) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (st == NULL)
        return -1;
    b->created_at = now;
    sqlite3_bind_int64(st, 1, b->doc_id);
    sqlite3_bind_int64(st, 2, b->attachment_id);
    sqlite3_bind_int(st, 3, b->rev);
    sqlite3_bind_text(st, 4, b->file, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, b->suite);
    sqlite3_bind_int(st, 6, b->level);
    sqlite3_bind_int(st, 7, b->kek_version);
    sqlite3_bind_blob(st, 8, b->dek, OA_DEK_WRAPPED, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)b->info.size);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)b->info.stored);
    sqlite3_bind_int(st, 11, b->info.compressed);
    sqlite3_bind_blob(st, 12, b->info.digest, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, b->content_type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 14, now);
    sqlite3_bind_int64(st, 15, b->created_by);
    sqlite3_bind_int(st, 16, b->staged);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    b->id = sqlite3_last_insert_rowid(s->db);
    st = oa_store_stmt(s, "UPDATE attachments SET rev = ?, blob_id = ?, updated_at = ? WHERE id = ? AND doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int(st, 1, b->rev);
    sqlite3_bind_int64(st, 2, b->id);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, b->attachment_id);
    sqlite3_bind_int64(st, 5, b->doc_id);
    if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(s->db) != 1)
        return -1;
    return oa_change_record(s, "document", b->doc_id, "attachment") < 0 ? -1 : 0;
}

static void attachment_cols(sqlite3_stmt *st, struct oa_attachment *a)
{
    memset(a, 0, sizeof(*a));
    a->id = sqlite3_column_int64(st, 0);
    a->doc_id = sqlite3_column_int64(st, 1);
    text_col(st, 2, a->name, sizeof(a->name));
    text_col(st, 3, a->role, sizeof(a->role));
    a->rev = sqlite3_column_int(st, 4);
    a->updated_at = sqlite3_column_int64(st, 5);
    blob_cols(st, 6, &a->blob);
}

int oa_attachment_get(struct oa_store *s, int64_t doc_id, int64_t att_id, int rev, struct oa_attachment *a)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT a.id, a.doc_id, a.name, a.role, a.rev, a.updated_at, " BLOB_COLS
        " FROM attachments a JOIN blobs b ON b.attachment_id = a.id"
        " WHERE a.id = ? AND a.doc_id = ? AND b.rev = CASE WHEN ? > 0 THEN ? ELSE a.rev END");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, att_id);
    sqlite3_bind_int64(st, 2, doc_id);
    sqlite3_bind_int(st, 3, rev);
    sqlite3_bind_int(st, 4, rev);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    attachment_cols(st, a);
    return 1;
}

int oa_attachment_next_rev(struct oa_store *s, int64_t doc_id, int64_t att_id)
{
    if (att_id == 0)
        return 1;
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT rev FROM attachments WHERE id = ? AND doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, att_id);
    sqlite3_bind_int64(st, 2, doc_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    return rc == SQLITE_ROW ? sqlite3_column_int(st, 0) + 1 : -1;
}

struct oa_attachment *oa_attachment_list(struct oa_store *s, int64_t doc_id, size_t *n, int *rc)
{
    *n = 0;
    *rc = -1;
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT a.id, a.doc_id, a.name, a.role, a.rev, a.updated_at, " BLOB_COLS
        " FROM attachments a JOIN blobs b ON b.id = a.blob_id WHERE a.doc_id = ? ORDER BY a.id");
    if (st == NULL)
        return NULL;
    sqlite3_bind_int64(st, 1, doc_id);
    struct oa_attachment *out = NULL;
    size_t cap = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            out = oa_xrealloc(out, cap * sizeof(*out));
        }
        attachment_cols(st, &out[(*n)++]);
    }
    if (step != SQLITE_DONE) {
        free(out);
        *n = 0;
        return NULL;
    }
    *rc = 0;
    return out;
}

int oa_blob_file_known(struct oa_store *s, const char *file)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT 1 FROM blobs WHERE file = ? AND dek IS NOT NULL");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, file, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int oa_blob_each(struct oa_store *s, int (*fn)(void *arg, const struct oa_blob_row *b), void *arg)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT " BLOB_COLS " FROM blobs b ORDER BY b.id", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct oa_blob_row b;
        blob_cols(st, 0, &b);
        if (fn(arg, &b) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_blob_next_reseal(struct oa_store *s, int64_t after_id, struct oa_blob_row *b, int *doc_level)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT " BLOB_COLS ", d.level FROM blobs b JOIN documents d ON d.id = b.doc_id"
        " WHERE b.id > ? AND (b.level <> d.level OR b.staged = 1) AND b.dek IS NOT NULL ORDER BY b.id LIMIT 1");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, after_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    blob_cols(st, 0, b);
    *doc_level = sqlite3_column_int(st, 17);
    return 1;
}

int oa_blob_replace_file(struct oa_store *s, const struct oa_blob_row *b, const char *old_file)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "UPDATE blobs SET file = ?, level = ?, kek_version = ?, dek = ?, stored = ?, compressed = ?, staged = 0"
        " WHERE id = ? AND file = ? AND dek IS NOT NULL");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, b->file, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, b->level);
    sqlite3_bind_int(st, 3, b->kek_version);
    sqlite3_bind_blob(st, 4, b->dek, OA_DEK_WRAPPED, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)b->info.stored);
    sqlite3_bind_int(st, 6, b->info.compressed);
    sqlite3_bind_int64(st, 7, b->id);
    sqlite3_bind_text(st, 8, old_file, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    return sqlite3_changes(s->db) == 1 ? 1 : 0;
}

struct oa_blob_row *oa_blob_stale_keys(struct oa_store *s, const int cur[], int max, size_t *n, int *rc)
{
    *n = 0;
    *rc = -1;
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT " BLOB_COLS " FROM blobs b WHERE b.dek IS NOT NULL AND b.kek_version <>"
        " CASE b.level WHEN 0 THEN ? WHEN 1 THEN ? WHEN 2 THEN ? WHEN 3 THEN ? ELSE ? END LIMIT ?");
    if (st == NULL)
        return NULL;
    for (int i = 0; i < OA_KEY_LEVELS; i++)
        sqlite3_bind_int(st, i + 1, cur[i]);
    sqlite3_bind_int(st, OA_KEY_LEVELS + 1, max);
    struct oa_blob_row *out = oa_xcalloc((size_t)max, sizeof(*out));
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        blob_cols(st, 0, &out[(*n)++]);
    if (step != SQLITE_DONE) {
        free(out);
        *n = 0;
        return NULL;
    }
    *rc = 0;
    return out;
}

int oa_blob_set_dek(struct oa_store *s, int64_t id, int kek_version, const unsigned char dek[OA_DEK_WRAPPED])
{
    sqlite3_stmt *st = oa_store_stmt(s, "UPDATE blobs SET kek_version = ?, dek = ? WHERE id = ? AND dek IS NOT NULL");
    if (st == NULL)
        return -1;
    sqlite3_bind_int(st, 1, kek_version);
    sqlite3_bind_blob(st, 2, dek, OA_DEK_WRAPPED, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, id);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int64_t oa_blob_count_kek(struct oa_store *s, int level, int version)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT count(*) FROM blobs WHERE level = ? AND kek_version = ? AND dek IS NOT NULL");
    if (st == NULL)
        return -1;
    sqlite3_bind_int(st, 1, level);
    sqlite3_bind_int(st, 2, version);
    return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
}

int oa_blob_shred(struct oa_store *s, int64_t id)
{
    sqlite3_stmt *st = oa_store_stmt(s, "UPDATE blobs SET dek = NULL WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    return sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(s->db) == 1 ? 0 : -1;
}

int oa_blob_sweep(struct oa_store *s, const char *data_dir, int *removed)
{
    char dir[4096];
    *removed = 0;
    snprintf(dir, sizeof(dir), "%s/blobs", data_dir);
    DIR *top = opendir(dir);
    if (top == NULL)
        return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(top)) != NULL) {
        if (strlen(e->d_name) != 2 || e->d_name[0] == '.')
            continue;
        char sub[4096 + 8];
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        DIR *d = opendir(sub);
        if (d == NULL)
            continue;
        struct dirent *f;
        while ((f = readdir(d)) != NULL) {
            if (f->d_name[0] == '.')
                continue;
            /* A temporary file is an interrupted upload; a file no row names was
             * written but never committed (a crash between the two). */
            bool orphan = strstr(f->d_name, ".tmp-") != NULL;
            if (!orphan) {
                int known = oa_blob_file_known(s, f->d_name);
                if (known < 0) {
                    rc = -1;
                    break;
                }
                orphan = known == 0;
            }
            if (orphan) {
                char path[8300];
                snprintf(path, sizeof(path), "%s/%s", sub, f->d_name);
                if (unlink(path) == 0)
                    (*removed)++;
            }
        }
        closedir(d);
    }
    closedir(top);
    oa_store_reset_all(s);
    return rc;
}

/* ---- the files a disposal leaves dead ---- */

int oa_blob_dead_files(struct oa_store *s, int64_t doc_id, struct oa_blob_files *f)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT b.file FROM blobs b WHERE b.doc_id = ?1 AND b.dek IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.blob_id = b.id AND a.doc_id <> b.doc_id)"
        " AND NOT EXISTS (SELECT 1 FROM blobs o WHERE o.file = b.file AND o.id <> b.id)"
        " AND NOT EXISTS (SELECT 1 FROM outbox_files x JOIN outbox ob ON ob.id = x.outbox_id"
        "                 WHERE x.attachment_id = b.attachment_id AND x.rev = b.rev AND ob.doc_id <> b.doc_id)"
        " ORDER BY b.id");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 0);
        if (name == NULL || strlen((const char *)name) != OA_BLOB_FILE_LEN)
            continue;
        if (f->n == f->cap) {
            f->cap = f->cap ? 2 * f->cap : 16;
            f->name = oa_xrealloc(f->name, f->cap * sizeof(*f->name));
        }
        memcpy(f->name[f->n++], name, OA_BLOB_FILE_LEN + 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

size_t oa_blob_files_unlink(const char *data_dir, const struct oa_blob_files *f)
{
    size_t removed = 0;
    for (size_t i = 0; i < f->n; i++) {
        char path[4200];
        if (oa_blob_path(data_dir, f->name[i], path, sizeof(path)) == 0 && unlink(path) == 0)
            removed++;
    }
    return removed;
}

void oa_blob_files_free(struct oa_blob_files *f)
{
    free(f->name);
    *f = (struct oa_blob_files){0};
}
