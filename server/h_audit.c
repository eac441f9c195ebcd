/*
 * server/h_audit.c: the audit trail, for the auditor only.
 *
 *   GET /v1/audit/entries?from=&to=&actor=&doc=&event=&after=&limit=
 *   GET /v1/audit/checkpoint                       latest signed checkpoint (and as a signed note) + public key
 *   GET /v1/audit/proof/inclusion?index=I&size=N   leaf I (0-based) in the tree of size N
 *   GET /v1/audit/proof/consistency?from=M&to=N
 *   GET /v1/audit/export?from=A&to=B               a self-verifying bundle of entries A..B
 *   GET /v1/audit/report?month=YYYY-MM             the monthly security report
 *
 * The decision is oa_access_decide(OA_ACT_AUDIT_READ); every read, allowed or
 * refused, is itself an audit entry, committed before the work starts.  The
 * work runs on the reader threads (storage/reader.h), so a proof over a large
 * log never stalls the writer or the loop.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/audit.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "server/server.h"
#include "storage/audit.h"
#include "storage/report.h"
#include "workflow/access.h"

enum audit_op { A_ENTRIES, A_CHECKPOINT, A_INCLUSION, A_CONSISTENCY, A_EXPORT, A_REPORT };

struct audit_work {
    struct oa_db_job job; /* records the read on the writer, then does the work on a reader */
    struct oa_req *r;
    enum audit_op op;
    int64_t a, b, after, limit, doc;
    const char *actor, *event, *month;
    unsigned char pk[32];
    enum oa_err err;
    const char *message;
    cbor_item_t *out;
};

static cbor_item_t *bytes_item(const void *p, size_t n)
{
    cbor_item_t *it = cbor_build_bytestring(p, n);
    if (it == NULL)
        abort();
    return it;
}

static cbor_item_t *row_item(const struct oa_audit_row *r)
{
    cbor_item_t *m = pv_map(15);
    pv_put_int(m, "id", r->id);
    pv_put_int(m, "at", r->at);
    if (r->has_actor_id)
        pv_put_int(m, "actor_id", r->actor_id);
    else
        pv_put_text(m, "actor_id", NULL);
    pv_put_text(m, "actor", r->has_actor ? r->actor : NULL);
    pv_put_text(m, "on_behalf", r->has_on_behalf ? r->on_behalf : NULL);
    pv_put_text(m, "event", r->event);
    pv_put_text(m, "target", r->has_target ? r->target : NULL);
    if (r->has_doc_id)
        pv_put_int(m, "doc_id", r->doc_id);
    else
        pv_put_text(m, "doc_id", NULL);
    if (r->has_label)
        pv_put_int(m, "label", r->label);
    else
        pv_put_text(m, "label", NULL);
    pv_put_text(m, "from_state", r->has_from ? r->from_state : NULL);
    pv_put_text(m, "to_state", r->has_to ? r->to_state : NULL);
    pv_put_text(m, "source", r->has_source ? r->source : NULL);
    pv_put_text(m, "outcome", r->outcome);
    pv_put_text(m, "detail", r->has_detail ? r->detail : NULL);
    pv_put(m, "leaf", bytes_item(r->leaf, OA_HASH));
    return m;
}

/*
 * The latest checkpoint as an item, or NULL when there is none.  `note` is
 * the checkpoint as a signed note (c2sp.org/tlog-checkpoint), rebuilt from
 * the row; null for a checkpoint signed before notes (no origin).
 */
static cbor_item_t *checkpoint_item(struct oa_store *s, const unsigned char pk[32], uint64_t *size, oa_hash root)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT tree_size, root, at, signature, origin FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1");
    if (st == NULL || sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 1) != OA_HASH ||
        sqlite3_column_bytes(st, 3) != crypto_sign_BYTES) {
        if (st)
            sqlite3_reset(st);
        return NULL;
    }
    cbor_item_t *m = pv_map(6);
    *size = (uint64_t)sqlite3_column_int64(st, 0);
    memcpy(root, sqlite3_column_blob(st, 1), OA_HASH);
    int64_t at = sqlite3_column_int64(st, 2);
    const unsigned char *sig = sqlite3_column_blob(st, 3);
    const char *origin = (const char *)sqlite3_column_text(st, 4);
    char note[OA_AUDIT_NOTE_MAX];
    bool has_note = origin != NULL && oa_audit_note(origin, *size, root, at, pk, sig, note, sizeof(note)) > 0;
    pv_put_int(m, "tree_size", (int64_t)*size);
    pv_put(m, "root", bytes_item(root, OA_HASH));
    pv_put_int(m, "at", at);
    pv_put(m, "signature", bytes_item(sig, crypto_sign_BYTES));
    pv_put(m, "public_key", bytes_item(pk, 32));
    pv_put_text(m, "note", has_note ? note : NULL);
    sqlite3_reset(st);
    return m;
}

static cbor_item_t *path_item(const oa_hash *path, size_t n)
{
    cbor_item_t *arr = pv_array(n);
    for (size_t i = 0; i < n; i++)
        pv_push(arr, bytes_item(path[i], OA_HASH));
    return arr;
}

static int audit_work_run(struct oa_store *s, struct oa_db_job *job)
{
    struct audit_work *a = (struct audit_work *)job;
    uint64_t size = 0;
    oa_hash root;
    switch (a->op) {
    case A_ENTRIES: {
        sqlite3_stmt *st = oa_store_stmt(s,
            "SELECT " OA_AUDIT_COLUMNS " FROM audit_log WHERE id > ?1 AND (?2 = 0 OR at >= ?2)"
            " AND (?3 = 0 OR at < ?3) AND (?4 IS NULL OR actor = ?4) AND (?5 = 0 OR doc_id = ?5)"
            " AND (?6 IS NULL OR event = ?6) ORDER BY id LIMIT ?7");
        if (st == NULL)
            break;
        sqlite3_bind_int64(st, 1, a->after);
        sqlite3_bind_int64(st, 2, a->a);
        sqlite3_bind_int64(st, 3, a->b);
        if (a->actor)
            sqlite3_bind_text(st, 4, a->actor, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, a->doc);
        if (a->event)
            sqlite3_bind_text(st, 6, a->event, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, a->limit);
        cbor_item_t **items = oa_xmalloc((size_t)a->limit * sizeof(*items));
        size_t n = 0;
        int64_t last = 0;
        while (n < (size_t)a->limit && sqlite3_step(st) == SQLITE_ROW) {
            struct oa_audit_row row;
            oa_audit_row_read(st, &row);
            last = row.id;
            items[n++] = row_item(&row);
        }
        sqlite3_reset(st);
        cbor_item_t *arr = pv_array_from(items, n);
        free(items);
        a->out = pv_map(2);
        pv_put(a->out, "entries", arr);
        if (n == (size_t)a->limit)
            pv_put_int(a->out, "next_after", last);
        else
            pv_put_text(a->out, "next_after", NULL);
        break;
    }
    case A_CHECKPOINT:
        a->out = checkpoint_item(s, a->pk, &size, root);
        if (a->out == NULL) {
            a->err = OA_E_NOT_FOUND;
            a->message = "No checkpoint has been signed yet.";
        }
        break;
    case A_INCLUSION:
    case A_CONSISTENCY:
    case A_EXPORT: {
        cbor_item_t *cp = checkpoint_item(s, a->pk, &size, root);
        uint64_t n = a->op == A_EXPORT ? size : (uint64_t)a->b;
        if (cp == NULL || n == 0 || n > size) {
            if (cp)
                cbor_decref(&cp);
            a->err = OA_E_BAD_FIELD;
            a->message = "The tree size must be between 1 and the latest checkpoint's size.";
            break;
        }
        if ((a->op == A_INCLUSION && (a->a < 0 || (uint64_t)a->a >= n)) ||
            (a->op == A_CONSISTENCY && (a->a < 1 || (uint64_t)a->a > n)) ||
            (a->op == A_EXPORT && (a->a < 1 || a->b < a->a || (uint64_t)a->b > size || a->b - a->a >= 10000))) {
            cbor_decref(&cp);
            a->err = OA_E_BAD_FIELD;
            a->message = a->op == A_EXPORT ? "Export 1 to 10000 entries under the latest checkpoint."
                                           : "The index or first size is out of range.";
            break;
        }
        oa_hash *leaves = oa_audit_leaves(s, n);
        if (leaves == NULL) {
            cbor_decref(&cp);
            break;
        }
        oa_hash path[OA_PROOF_MAX];
        if (a->op == A_INCLUSION) {
            size_t c = oa_merkle_inclusion(leaves, n, (uint64_t)a->a, path);
            oa_hash r;
            oa_merkle_root(leaves, n, r);
            a->out = pv_map(5);
            pv_put_int(a->out, "leaf_index", a->a);
            pv_put_int(a->out, "tree_size", (int64_t)n);
            pv_put(a->out, "leaf", bytes_item(leaves[a->a], OA_HASH));
            pv_put(a->out, "root", bytes_item(r, OA_HASH));
            pv_put(a->out, "path", path_item(path, c));
            cbor_decref(&cp);
        } else if (a->op == A_CONSISTENCY) {
            size_t c = oa_merkle_consistency(leaves, n, (uint64_t)a->a, path);
            oa_hash r1, r2;
            oa_merkle_root(leaves, (uint64_t)a->a, r1);
            oa_merkle_root(leaves, n, r2);
            a->out = pv_map(5);
            pv_put_int(a->out, "first", a->a);
            pv_put_int(a->out, "second", (int64_t)n);
            pv_put(a->out, "first_root", bytes_item(r1, OA_HASH));
            pv_put(a->out, "second_root", bytes_item(r2, OA_HASH));
            pv_put(a->out, "path", path_item(path, c));
            cbor_decref(&cp);
        } else {
            /* The bundle: the signed checkpoint, and each entry as its exact
             * CBOR with an inclusion proof against that checkpoint. */
            sqlite3_stmt *st = oa_store_stmt(s, "SELECT " OA_AUDIT_COLUMNS " FROM audit_log WHERE id BETWEEN ? AND ? ORDER BY id");
            sqlite3_bind_int64(st, 1, a->a);
            sqlite3_bind_int64(st, 2, a->b);
            cbor_item_t *arr = pv_array((size_t)(a->b - a->a + 1));
            while (sqlite3_step(st) == SQLITE_ROW) {
                struct oa_audit_row row;
                oa_audit_row_read(st, &row);
                size_t len = 0;
                unsigned char *enc = oa_audit_encode(&row, &len);
                size_t c = oa_merkle_inclusion(leaves, n, (uint64_t)row.id - 1, path);
                cbor_item_t *e = pv_map(3);
                pv_put_int(e, "leaf_index", row.id - 1);
                pv_put(e, "entry", bytes_item(enc, len));
                pv_put(e, "path", path_item(path, c));
                free(enc);
                pv_push(arr, e);
            }
            sqlite3_reset(st);
            a->out = pv_map(3);
            pv_put_text(a->out, "format", "oa-audit-bundle-1");
            pv_put(a->out, "checkpoint", cp);
            pv_put(a->out, "entries", arr);
        }
        free(leaves);
        break;
    }
    case A_REPORT:
        a->out = oa_security_report(s, a->month);
        if (a->out == NULL) {
            a->err = OA_E_BAD_FIELD;
            a->message = "month must be YYYY-MM.";
        }
        break;
    }
    if (a->out == NULL && a->err == OA_E_OK)
        a->err = OA_E_STORAGE;
    return 0;
}

static void audit_work_done(struct oa_db_job *job)
{
    struct audit_work *a = (struct audit_work *)job;
    struct oa_req *r = a->r;
    if (job->rc != 0 || a->err != OA_E_OK) {
        if (a->out)
            cbor_decref(&a->out);
        oa_reply_error(r, job->rc != 0 ? (enum oa_err)job->rc : a->err, a->message);
    } else {
        oa_reply(r, 200, a->out);
    }
    free(a);
}

/* The read is recorded first; then the work runs on the pool. */
static int audit_record_run(struct oa_store *s, struct oa_db_job *job)
{
    struct audit_work *a = (struct audit_work *)job;
    return oa_app_audit(s, OA_REQ_ACTOR(a->r), "audit.read", a->r->path, "ok", a->r->query[0] ? a->r->query : NULL) == 0
               ? 0
               : OA_E_STORAGE;
}

static void audit_record_done(struct oa_db_job *job)
{
    struct audit_work *a = (struct audit_work *)job;
    if (job->rc) {
        oa_reply_error(a->r, (enum oa_err)job->rc, NULL);
        free(a);
        return;
    }
    job->run = audit_work_run;
    job->done = audit_work_done;
    job->flags = OA_JOB_READ;
    oa_db_submit(a->r->srv, job);
}

static void audit_start(struct oa_req *r, enum audit_op op)
{
    struct oa_subject who = {.id = r->who.user_id, .roles = r->who.roles, .clearance = r->who.clearance};
    enum oa_decision d = oa_access_decide(&who, OA_ACT_AUDIT_READ, NULL);
    if (d != OA_ALLOW) {
        oa_refuse(r, OA_E_FORBIDDEN, "Only the auditor reads the audit trail.", "audit.read", r->path);
        return;
    }
    struct audit_work *a = oa_xcalloc(1, sizeof(*a));
    a->r = r;
    a->op = op;
    memcpy(a->pk, r->srv->audit_pk, 32);
    bool ok = true;
    switch (op) {
    case A_ENTRIES:
        ok = oa_query_int(r, "from", 0, INT64_MAX, 0, &a->a) && oa_query_int(r, "to", 0, INT64_MAX, 0, &a->b) &&
             oa_query_int(r, "after", 0, INT64_MAX, 0, &a->after) &&
             oa_query_clamped(r, "limit", 1, 1000, 100, &a->limit) && oa_query_int(r, "doc", 0, INT64_MAX, 0, &a->doc);
        a->actor = oa_query_param(r, "actor");
        a->event = oa_query_param(r, "event");
        break;
    case A_INCLUSION:
        ok = oa_query_int(r, "index", 0, INT64_MAX, -1, &a->a) && oa_query_int(r, "size", 0, INT64_MAX, 0, &a->b);
        break;
    case A_CONSISTENCY:
        ok = oa_query_int(r, "from", 0, INT64_MAX, 0, &a->a) && oa_query_int(r, "to", 0, INT64_MAX, 0, &a->b);
        break;
    case A_EXPORT:
        ok = oa_query_int(r, "from", 0, INT64_MAX, 1, &a->a) && oa_query_int(r, "to", 0, INT64_MAX, 0, &a->b);
        break;
    case A_REPORT:
        a->month = oa_query_param(r, "month");
        break;
    case A_CHECKPOINT:
        break;
    }
    if (!ok) {
        free(a); /* answered 400 */
        return;
    }
    a->job.run = audit_record_run;
    a->job.done = audit_record_done;
    oa_db_submit(r->srv, &a->job);
}

void h_audit_entries(struct oa_req *r) { audit_start(r, A_ENTRIES); }
void h_audit_checkpoint(struct oa_req *r) { audit_start(r, A_CHECKPOINT); }
void h_audit_inclusion(struct oa_req *r) { audit_start(r, A_INCLUSION); }
void h_audit_consistency(struct oa_req *r) { audit_start(r, A_CONSISTENCY); }
void h_audit_export(struct oa_req *r) { audit_start(r, A_EXPORT); }
void h_audit_report(struct oa_req *r) { audit_start(r, A_REPORT); }
