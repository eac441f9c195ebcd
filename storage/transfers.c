/* storage/transfers.c: the rows of transfers (#16).  See transfers.h. */
#include "storage/transfers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"

void oa_transfer_free(struct oa_transfer_row *t)
{
    free(t->report);
    free(t->receipt);
    t->report = t->receipt = NULL;
}

int oa_transfer_insert(struct oa_store *s, const char *archive, int64_t by, int64_t at, const char *report,
                       const int64_t *docs, size_t n, int64_t *id)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT INTO transfers(archive, created_by, created_at, report) VALUES (?, ?, ?, ?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, archive, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, by);
    sqlite3_bind_int64(st, 3, at);
    sqlite3_bind_text(st, 4, report, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    *id = sqlite3_last_insert_rowid(sqlite3_db_handle(st));
    st = oa_store_stmt(s, "INSERT INTO transfer_items(transfer_id, seq, doc_id) VALUES (?, ?, ?)");
    if (st == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, *id);
        sqlite3_bind_int64(st, 2, (int64_t)i + 1);
        sqlite3_bind_int64(st, 3, docs[i]);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

static char *dup_col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? oa_xstrdup((const char *)t) : NULL;
}

int oa_transfer_load(struct oa_store *s, int64_t id, struct oa_transfer_row *t)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT id, archive, created_by, created_at, report, state, receipt, coalesce(received_by, ''),"
        " coalesce(received_at, 0), coalesce(recorded_by, 0) FROM transfers WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(t, 0, sizeof(*t));
        t->id = sqlite3_column_int64(st, 0);
        snprintf(t->archive, sizeof t->archive, "%s", (const char *)sqlite3_column_text(st, 1));
        t->created_by = sqlite3_column_int64(st, 2);
        t->created_at = sqlite3_column_int64(st, 3);
        t->report = dup_col(st, 4);
        snprintf(t->state, sizeof t->state, "%s", (const char *)sqlite3_column_text(st, 5));
        t->receipt = dup_col(st, 6);
        snprintf(t->received_by, sizeof t->received_by, "%s", (const char *)sqlite3_column_text(st, 7));
        t->received_at = sqlite3_column_int64(st, 8);
        t->recorded_by = sqlite3_column_int64(st, 9);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int64_t *oa_transfer_docs(struct oa_store *s, int64_t id, size_t *n, int *rc)
{
    *n = 0;
    *rc = -1;
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT doc_id FROM transfer_items WHERE transfer_id = ? ORDER BY seq");
    if (st == NULL)
        return NULL;
    sqlite3_bind_int64(st, 1, id);
    int64_t *out = NULL;
    size_t cap = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW && *n < OA_TRANSFER_MAX) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            out = oa_xrealloc(out, cap * sizeof(*out));
        }
        out[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    *rc = r == SQLITE_DONE || r == SQLITE_ROW ? 0 : -1;
    return out;
}

int oa_transfer_has_doc(struct oa_store *s, int64_t doc_id)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT 1 FROM transfer_items WHERE doc_id = ? LIMIT 1");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int oa_transfer_receive(struct oa_store *s, int64_t id, const char *receipt, const char *received_by, int64_t at,
                        int64_t recorded_by)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "UPDATE transfers SET state = 'received', receipt = ?, received_by = ?, received_at = ?, recorded_by = ?"
        " WHERE id = ? AND state = 'sent'");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, receipt, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, received_by, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, at);
    sqlite3_bind_int64(st, 4, recorded_by);
    sqlite3_bind_int64(st, 5, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (sqlite3_changes(sqlite3_db_handle(st)) == 0)
        return 1;
    st = oa_store_stmt(s,
        "UPDATE records SET state = 'transferred'"
        " WHERE doc_id IN (SELECT doc_id FROM transfer_items WHERE transfer_id = ?) AND state = 'filed'");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}
