/*
 * storage/gateway.c: the exchange gateway's rows: imported bundles, public
 * requests' facts, the outbox and 主动公开 proposals.  See gateway.h.
 */
#include "storage/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"

static void text_col(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* Binds text, or NULL for "" (optional dates). */
static void bind_opt(sqlite3_stmt *st, int i, const char *v)
{
    if (v == NULL || v[0] == '\0')
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* ---- imported bundles ---- */

int oa_gw_bundle_find(struct oa_store *s, const char *sender, const char *bundle_id, int64_t *doc_id)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT doc_id FROM gateway_bundles WHERE sender = ? AND bundle_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, bundle_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    *doc_id = sqlite3_column_int64(st, 0);
    return 1;
}

int oa_gw_seq_find(struct oa_store *s, const char *sender, int64_t seq, char out[OA_GW_ID_LEN + 1])
{
    /* A bundle refused for good (gateway_refusals) holds its seq like an imported one. */
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT bundle_id FROM gateway_bundles WHERE sender = ?1 AND seq = ?2"
                                        " UNION ALL SELECT bundle_id FROM gateway_refusals"
                                        " WHERE sender = ?1 AND seq = ?2 LIMIT 1");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, seq);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    text_col(st, 0, out, OA_GW_ID_LEN + 1);
    return 1;
}

int64_t oa_gw_last_seq(struct oa_store *s, const char *sender)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT max(coalesce((SELECT max(seq) FROM gateway_bundles WHERE sender = ?1),"
                                        " 0), coalesce((SELECT max(seq) FROM gateway_refusals WHERE sender = ?1), 0))");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        return -1;
    return sqlite3_column_int64(st, 0);
}

int oa_gw_bundle_put(struct oa_store *s, const char *sender, const char *bundle_id, int64_t seq, const char *type,
                     int64_t doc_id, const char *created)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT INTO gateway_bundles(sender, bundle_id, seq, type, doc_id, created,"
                                        " imported_at) VALUES (?,?,?,?,?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, bundle_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, seq);
    sqlite3_bind_text(st, 4, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, doc_id);
    sqlite3_bind_text(st, 6, created, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, oa_now());
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int oa_gw_audit(struct oa_store *s, const struct oa_audit_event *ev, int64_t *id)
{
    if (oa_audit(s, ev) != 0)
        return -1;
    *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

/* ---- a public request's facts ---- */

#define REQUEST_COLS                                                                                        \
    "doc_id, sender, bundle_id, applicant_name, id_type, id_number, contact, organisation, form_wanted,"     \
    " submitted, confirmed, received, correction_asked, corrected, consult_since, paused_days, extend_days," \
    " review_by, review_at, review_opinion, reply_form, reply_reason, responsible_organ"

int oa_request_load(struct oa_store *s, int64_t doc_id, struct oa_request_row *q)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT " REQUEST_COLS " FROM requests WHERE doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    memset(q, 0, sizeof(*q));
    q->doc_id = sqlite3_column_int64(st, 0);
    text_col(st, 1, q->sender, sizeof(q->sender));
    text_col(st, 2, q->bundle_id, sizeof(q->bundle_id));
    text_col(st, 3, q->applicant_name, sizeof(q->applicant_name));
    text_col(st, 4, q->id_type, sizeof(q->id_type));
    text_col(st, 5, q->id_number, sizeof(q->id_number));
    text_col(st, 6, q->contact, sizeof(q->contact));
    text_col(st, 7, q->organisation, sizeof(q->organisation));
    text_col(st, 8, q->form_wanted, sizeof(q->form_wanted));
    text_col(st, 9, q->submitted, sizeof(q->submitted));
    text_col(st, 10, q->confirmed, sizeof(q->confirmed));
    text_col(st, 11, q->received, sizeof(q->received));
    text_col(st, 12, q->correction_asked, sizeof(q->correction_asked));
    text_col(st, 13, q->corrected, sizeof(q->corrected));
    text_col(st, 14, q->consult_since, sizeof(q->consult_since));
    q->paused_days = sqlite3_column_int(st, 15);
    q->extend_days = sqlite3_column_int(st, 16);
    q->review_by = sqlite3_column_int64(st, 17);
    q->review_at = sqlite3_column_int64(st, 18);
    text_col(st, 19, q->review_opinion, sizeof(q->review_opinion));
    text_col(st, 20, q->reply_form, sizeof(q->reply_form));
    text_col(st, 21, q->reply_reason, sizeof(q->reply_reason));
    text_col(st, 22, q->responsible_organ, sizeof(q->responsible_organ));
    return 1;
}

int oa_request_put(struct oa_store *s, const struct oa_request_row *q)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT OR REPLACE INTO requests(" REQUEST_COLS ")"
                                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, q->doc_id);
    bind_opt(st, 2, q->sender);
    bind_opt(st, 3, q->bundle_id);
    sqlite3_bind_text(st, 4, q->applicant_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, q->id_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, q->id_number, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, q->contact, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, q->organisation, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, q->form_wanted, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, q->submitted, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, q->confirmed, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, q->received, -1, SQLITE_STATIC);
    bind_opt(st, 13, q->correction_asked);
    bind_opt(st, 14, q->corrected);
    bind_opt(st, 15, q->consult_since);
    sqlite3_bind_int(st, 16, q->paused_days);
    sqlite3_bind_int(st, 17, q->extend_days);
    if (q->review_by > 0) {
        sqlite3_bind_int64(st, 18, q->review_by);
        sqlite3_bind_int64(st, 19, q->review_at);
    }
    bind_opt(st, 20, q->review_opinion);
    bind_opt(st, 21, q->reply_form);
    bind_opt(st, 22, q->reply_reason);
    bind_opt(st, 23, q->responsible_organ);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

/* ---- the outbox ---- */

void oa_outbox_row_free(struct oa_outbox_row *o)
{
    free(o->content);
    o->content = NULL;
}

int oa_outbox_add(struct oa_store *s, const char *type, int64_t doc_id, const char *request_ref,
                  const unsigned char *content, size_t len, const int64_t *att_ids, const int *revs, size_t nfiles,
                  int64_t *id)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT INTO outbox(type, doc_id, request_ref, content, created_at)"
                                        " VALUES (?,?,?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, doc_id);
    bind_opt(st, 3, request_ref);
    sqlite3_bind_blob(st, 4, content, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, oa_now());
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    *id = sqlite3_last_insert_rowid(s->db);
    for (size_t k = 0; k < nfiles; k++) {
        st = oa_store_stmt(s, "INSERT INTO outbox_files(outbox_id, k, attachment_id, rev) VALUES (?,?,?,?)");
        if (st == NULL)
            return -1;
        sqlite3_bind_int64(st, 1, *id);
        sqlite3_bind_int64(st, 2, (int64_t)k + 1);
        sqlite3_bind_int64(st, 3, att_ids[k]);
        sqlite3_bind_int(st, 4, revs[k]);
        if (sqlite3_step(st) != SQLITE_DONE)
            return -1;
    }
    return oa_change_record(s, "outbox", *id, "create") < 0 ? -1 : 0;
}

#define OUTBOX_COLS "id, doc_id, type, request_ref, content, sent_bundle, sent_sha256, created_at, sent_at"

static void outbox_cols(sqlite3_stmt *st, struct oa_outbox_row *o)
{
    memset(o, 0, sizeof(*o));
    o->id = sqlite3_column_int64(st, 0);
    o->doc_id = sqlite3_column_int64(st, 1);
    text_col(st, 2, o->type, sizeof(o->type));
    text_col(st, 3, o->request_ref, sizeof(o->request_ref));
    o->content_len = (size_t)sqlite3_column_bytes(st, 4);
    o->content = oa_xmalloc(o->content_len ? o->content_len : 1);
    if (o->content_len)
        memcpy(o->content, sqlite3_column_blob(st, 4), o->content_len);
    text_col(st, 5, o->sent_bundle, sizeof(o->sent_bundle));
    text_col(st, 6, o->sent_sha256, sizeof(o->sent_sha256));
    o->created_at = sqlite3_column_int64(st, 7);
    o->sent_at = sqlite3_column_int64(st, 8);
}

int oa_outbox_list(struct oa_store *s, int64_t after, int max, struct oa_outbox_row **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT " OUTBOX_COLS " FROM outbox WHERE id > ? ORDER BY id LIMIT ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int(st, 2, max);
    struct oa_outbox_row *rows = oa_xcalloc((size_t)(max > 0 ? max : 1), sizeof(*rows));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && (int)*n < max)
        outbox_cols(st, &rows[(*n)++]);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        for (size_t i = 0; i < *n; i++)
            oa_outbox_row_free(&rows[i]);
        free(rows);
        *n = 0;
        return -1;
    }
    *out = rows;
    return 0;
}

int oa_outbox_get(struct oa_store *s, int64_t id, struct oa_outbox_row *o)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT " OUTBOX_COLS " FROM outbox WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    outbox_cols(st, o);
    return 1;
}

int oa_outbox_file(struct oa_store *s, int64_t id, int k, int64_t *att_id, int *rev)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT attachment_id, rev FROM outbox_files WHERE outbox_id = ? AND k = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, k);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    *att_id = sqlite3_column_int64(st, 0);
    *rev = sqlite3_column_int(st, 1);
    return 1;
}

int oa_outbox_files(struct oa_store *s, int64_t id, int64_t att_ids[64], int revs[64], size_t *n)
{
    *n = 0;
    sqlite3_stmt *st =
        oa_store_stmt(s, "SELECT attachment_id, rev FROM outbox_files WHERE outbox_id = ? ORDER BY k LIMIT 64");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < 64) {
        att_ids[*n] = sqlite3_column_int64(st, 0);
        revs[(*n)++] = sqlite3_column_int(st, 1);
    }
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

int oa_outbox_set_sent(struct oa_store *s, int64_t id, const char *bundle_id, const char *sha256)
{
    sqlite3_stmt *st = oa_store_stmt(s, "UPDATE outbox SET sent_bundle = ?, sent_sha256 = ?, sent_at = ?"
                                        " WHERE id = ? AND sent_bundle IS NULL");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, bundle_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, oa_now());
    sqlite3_bind_int64(st, 4, id);
    return sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(s->db) == 1 ? 0 : -1;
}

int oa_gw_refusal_find(struct oa_store *s, const char *sender, const char *bundle_id, char code[64],
                       char reason[512])
{
    sqlite3_stmt *st =
        oa_store_stmt(s, "SELECT code, reason FROM gateway_refusals WHERE sender = ? AND bundle_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, bundle_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    text_col(st, 0, code, 64);
    text_col(st, 1, reason, 512);
    return 1;
}

int oa_gw_refusal_put(struct oa_store *s, const char *sender, const char *bundle_id, int64_t seq, const char *type,
                      const char *code, const char *reason)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT INTO gateway_refusals(sender, bundle_id, seq, type, code, reason,"
                                        " refused_at) VALUES (?,?,?,?,?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, bundle_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, seq);
    sqlite3_bind_text(st, 4, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, oa_now());
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

/* ---- 主动公开 ---- */

int oa_publication_load(struct oa_store *s, int64_t doc_id, struct oa_publication_row *p)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT doc_id, proposed_by, proposed_at, coalesce(reviewed_by, 0),"
                                        " coalesce(reviewed_at, 0), coalesce(approved, -1), coalesce(opinion, ''),"
                                        " coalesce(outbox_id, 0), coalesce(secrecy_by, 0), coalesce(secrecy_at, 0),"
                                        " coalesce(secrecy_opinion, '') FROM publications WHERE doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, doc_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    memset(p, 0, sizeof(*p));
    p->doc_id = sqlite3_column_int64(st, 0);
    p->proposed_by = sqlite3_column_int64(st, 1);
    p->proposed_at = sqlite3_column_int64(st, 2);
    p->reviewed_by = sqlite3_column_int64(st, 3);
    p->reviewed_at = sqlite3_column_int64(st, 4);
    p->approved = sqlite3_column_int(st, 5);
    text_col(st, 6, p->opinion, sizeof(p->opinion));
    p->outbox_id = sqlite3_column_int64(st, 7);
    p->secrecy_by = sqlite3_column_int64(st, 8);
    p->secrecy_at = sqlite3_column_int64(st, 9);
    text_col(st, 10, p->secrecy_opinion, sizeof(p->secrecy_opinion));
    return 1;
}

int oa_publication_put(struct oa_store *s, const struct oa_publication_row *p)
{
    sqlite3_stmt *st = oa_store_stmt(s, "INSERT OR REPLACE INTO publications(doc_id, proposed_by, proposed_at,"
                                        " reviewed_by, reviewed_at, approved, opinion, outbox_id, secrecy_by,"
                                        " secrecy_at, secrecy_opinion) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, p->doc_id);
    sqlite3_bind_int64(st, 2, p->proposed_by);
    sqlite3_bind_int64(st, 3, p->proposed_at);
    if (p->reviewed_by > 0) {
        sqlite3_bind_int64(st, 4, p->reviewed_by);
        sqlite3_bind_int64(st, 5, p->reviewed_at);
    }
    if (p->approved >= 0)
        sqlite3_bind_int(st, 6, p->approved);
    bind_opt(st, 7, p->opinion);
    if (p->outbox_id > 0)
        sqlite3_bind_int64(st, 8, p->outbox_id);
    if (p->secrecy_by > 0) {
        sqlite3_bind_int64(st, 9, p->secrecy_by);
        sqlite3_bind_int64(st, 10, p->secrecy_at);
        bind_opt(st, 11, p->secrecy_opinion);
    }
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}
