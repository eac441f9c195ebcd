/* storage/audit.c: see audit.h. */
#include "storage/audit.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/value.h"

static void out_text(struct pv_out *o, bool has, const char *v)
{
    pv_out_text(o, has ? v : NULL);
}

static void out_int(struct pv_out *o, bool has, int64_t v)
{
    if (has)
        pv_out_int(o, v);
    else
        pv_out_null(o);
}

/* Written straight into a buffer: the bytes libcbor gave for the same item tree (audit_encode_test). */
unsigned char *oa_audit_encode(const struct oa_audit_row *r, size_t *len)
{
    struct pv_out o = {0};
    pv_out_reserve(&o, 256);
    pv_out_map(&o, 14);
    pv_out_int(&o, 1);
    pv_out_int(&o, r->id);
    pv_out_int(&o, 2);
    pv_out_int(&o, r->at);
    pv_out_int(&o, 3);
    out_int(&o, r->has_actor_id, r->actor_id);
    pv_out_int(&o, 4);
    out_text(&o, r->has_actor, r->actor);
    pv_out_int(&o, 5);
    out_text(&o, r->has_on_behalf, r->on_behalf);
    pv_out_int(&o, 6);
    pv_out_text(&o, r->event);
    pv_out_int(&o, 7);
    out_text(&o, r->has_target, r->target);
    pv_out_int(&o, 8);
    out_int(&o, r->has_doc_id, r->doc_id);
    pv_out_int(&o, 9);
    out_int(&o, r->has_label, r->label);
    pv_out_int(&o, 10);
    out_text(&o, r->has_from, r->from_state);
    pv_out_int(&o, 11);
    out_text(&o, r->has_to, r->to_state);
    pv_out_int(&o, 12);
    out_text(&o, r->has_source, r->source);
    pv_out_int(&o, 13);
    pv_out_text(&o, r->outcome);
    pv_out_int(&o, 14);
    out_text(&o, r->has_detail, r->detail);
    *len = o.n;
    return o.p;
}

void oa_audit_leaf(const struct oa_audit_row *row, oa_hash out)
{
    size_t len = 0;
    unsigned char *enc = oa_audit_encode(row, &len);
    oa_merkle_leaf(enc, len, out);
    free(enc);
}

static void copy_col(sqlite3_stmt *st, int i, char *dst, size_t cap, bool *has)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (has)
        *has = t != NULL;
    pv_utf8_copy(dst, cap, (const char *)t);
}

int oa_audit_row_read(void *stmt, struct oa_audit_row *r)
{
    sqlite3_stmt *st = stmt;
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    r->at = sqlite3_column_int64(st, 1);
    r->has_actor_id = sqlite3_column_type(st, 2) != SQLITE_NULL;
    r->actor_id = sqlite3_column_int64(st, 2);
    copy_col(st, 3, r->actor, sizeof(r->actor), &r->has_actor);
    copy_col(st, 4, r->on_behalf, sizeof(r->on_behalf), &r->has_on_behalf);
    copy_col(st, 5, r->event, sizeof(r->event), NULL);
    copy_col(st, 6, r->target, sizeof(r->target), &r->has_target);
    r->has_doc_id = sqlite3_column_type(st, 7) != SQLITE_NULL;
    r->doc_id = sqlite3_column_int64(st, 7);
    r->has_label = sqlite3_column_type(st, 8) != SQLITE_NULL;
    r->label = r->has_label ? sqlite3_column_int(st, 8) : -1;
    copy_col(st, 9, r->from_state, sizeof(r->from_state), &r->has_from);
    copy_col(st, 10, r->to_state, sizeof(r->to_state), &r->has_to);
    copy_col(st, 11, r->source, sizeof(r->source), &r->has_source);
    copy_col(st, 12, r->outcome, sizeof(r->outcome), NULL);
    copy_col(st, 13, r->detail, sizeof(r->detail), &r->has_detail);
    if (sqlite3_column_bytes(st, 14) == OA_HASH)
        memcpy(r->leaf, sqlite3_column_blob(st, 14), OA_HASH);
    return 0;
}

/* ---- writing entries: the one audit hook ---- */

static void set_text(char *dst, size_t cap, const char *v, bool *has)
{
    *has = v != NULL;
    pv_utf8_copy(dst, cap, v);
}

/* The entry's fields from an event (its id, time and leaf are set when it is inserted). */
static void row_from_event(const struct oa_audit_event *ev, struct oa_audit_row *r)
{
    memset(r, 0, sizeof(*r));
    r->has_actor_id = ev->actor_id > 0;
    r->actor_id = ev->actor_id;
    set_text(r->actor, sizeof(r->actor), ev->actor, &r->has_actor);
    set_text(r->on_behalf, sizeof(r->on_behalf), ev->on_behalf, &r->has_on_behalf);
    pv_utf8_copy(r->event, sizeof(r->event), ev->event);
    set_text(r->target, sizeof(r->target), ev->target, &r->has_target);
    r->has_doc_id = ev->doc_id > 0;
    r->doc_id = ev->doc_id;
    r->has_label = ev->label >= 0;
    r->label = ev->label;
    set_text(r->from_state, sizeof(r->from_state), ev->from_state, &r->has_from);
    set_text(r->to_state, sizeof(r->to_state), ev->to_state, &r->has_to);
    set_text(r->source, sizeof(r->source), ev->source, &r->has_source);
    pv_utf8_copy(r->outcome, sizeof(r->outcome), ev->outcome ? ev->outcome : "ok");
    set_text(r->detail, sizeof(r->detail), ev->detail, &r->has_detail);
}

/* Inserts a row: gives it the next id, the time and its leaf.  0 or -1. */
static int row_insert(struct oa_store *s, const struct oa_audit_row *rp)
{
    /* The id is chosen here (the writer is the only one inserting), so the
     * leaf can cover it and the row is written once.  It is read from the
     * table every time, never remembered: whatever a rollback undid (a job,
     * one pushed operation's savepoint, a failed commit) it undid the rows
     * too, so the next id is always the one after the last row that exists
     * and the ids stay gap-free.  max(id) is one seek to the last leaf. */
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT coalesce(max(id), 0) + 1 FROM audit_log");
    if (st == NULL || sqlite3_step(st) != SQLITE_ROW)
        return -1;
    int64_t next = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    struct oa_audit_row r = *rp;
    r.id = next;
    r.at = oa_now();
    oa_audit_leaf(&r, r.leaf);

    st = oa_store_stmt(s,
        "INSERT INTO audit_log(id, at, actor_id, actor, on_behalf, event, target, doc_id, label,"
        " from_state, to_state, source, outcome, detail, leaf) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, r.id);
    sqlite3_bind_int64(st, 2, r.at);
    if (r.has_actor_id)
        sqlite3_bind_int64(st, 3, r.actor_id);
    if (r.has_actor)
        sqlite3_bind_text(st, 4, r.actor, -1, SQLITE_TRANSIENT);
    if (r.has_on_behalf)
        sqlite3_bind_text(st, 5, r.on_behalf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, r.event, -1, SQLITE_TRANSIENT);
    if (r.has_target)
        sqlite3_bind_text(st, 7, r.target, -1, SQLITE_TRANSIENT);
    if (r.has_doc_id)
        sqlite3_bind_int64(st, 8, r.doc_id);
    if (r.has_label)
        sqlite3_bind_int(st, 9, r.label);
    if (r.has_from)
        sqlite3_bind_text(st, 10, r.from_state, -1, SQLITE_TRANSIENT);
    if (r.has_to)
        sqlite3_bind_text(st, 11, r.to_state, -1, SQLITE_TRANSIENT);
    if (r.has_source)
        sqlite3_bind_text(st, 12, r.source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 13, r.outcome, -1, SQLITE_TRANSIENT);
    if (r.has_detail)
        sqlite3_bind_text(st, 14, r.detail, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 15, r.leaf, OA_HASH, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    s->audit_rows++;
    return 0;
}

/* Entries a read-only job recorded, for the writer to append (oa_audit_pending_apply). */
struct oa_audit_pending {
    struct oa_audit_pending *next;
    struct oa_audit_row row;
};

int oa_audit(struct oa_store *s, const struct oa_audit_event *ev)
{
    struct oa_audit_row r;
    row_from_event(ev, &r);
    if (s->audit_deferred) {
        struct oa_audit_pending *p = oa_xmalloc(sizeof(*p));
        p->next = NULL;
        p->row = r;
        if (s->pending == NULL)
            s->pending_tail = &s->pending;
        *s->pending_tail = p;
        s->pending_tail = &p->next;
        return 0;
    }
    return row_insert(s, &r);
}

struct oa_audit_pending *oa_audit_pending_take(struct oa_store *s)
{
    struct oa_audit_pending *p = s->pending;
    s->pending = NULL;
    s->pending_tail = &s->pending;
    return p;
}

int oa_audit_pending_apply(struct oa_store *s, const struct oa_audit_pending *p)
{
    for (; p != NULL; p = p->next) {
        if (row_insert(s, &p->row) != 0)
            return -1;
    }
    return 0;
}

void oa_audit_pending_free(struct oa_audit_pending *p)
{
    while (p != NULL) {
        struct oa_audit_pending *next = p->next;
        free(p);
        p = next;
    }
}

/* ---- the tree and its checkpoints ---- */

void oa_audit_keypair(const unsigned char seed[32], unsigned char pk[32], unsigned char sk[64])
{
    crypto_sign_seed_keypair(pk, sk, seed);
}

int oa_audit_log_catch_up(struct oa_store *s, struct oa_audit_log *log)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT id, leaf FROM audit_log WHERE id > ? ORDER BY id");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, (int64_t)log->acc.size);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((uint64_t)sqlite3_column_int64(st, 0) != log->acc.size + 1 || sqlite3_column_bytes(st, 1) != OA_HASH) {
            sqlite3_reset(st);
            return -1; /* a gap: the log was tampered with */
        }
        oa_merkle_acc_push(&log->acc, sqlite3_column_blob(st, 1));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int oa_audit_log_load(struct oa_store *s, struct oa_audit_log *log)
{
    oa_merkle_acc_init(&log->acc);
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT coalesce(max(tree_size), 0) FROM audit_checkpoints");
    if (st == NULL || sqlite3_step(st) != SQLITE_ROW)
        return -1;
    log->checkpoint_size = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return oa_audit_log_catch_up(s, log);
}

/* ---- signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint) ---- */

/* A key name: non-empty, no spaces, no '+'; here printable ASCII only. */
static bool valid_name(const char *name)
{
    if (name[0] == '\0')
        return false;
    for (const char *p = name; *p; p++)
        if (*p <= ' ' || *p > '~' || *p == '+')
            return false;
    return true;
}

int oa_audit_origin(struct oa_store *s, char *out, size_t cap)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT value FROM meta WHERE key = 'audit_origin'");
    if (st == NULL)
        return -1;
    int rc = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        if (v != NULL && strlen(v) < cap && valid_name(v)) {
            memcpy(out, v, strlen(v) + 1);
            rc = 0;
        }
    }
    sqlite3_reset(st);
    return rc;
}

void oa_audit_key_id(const char *name, const unsigned char pk[32], unsigned char id[4])
{
    static const unsigned char sep[2] = {0x0a, 0x01}; /* newline, then the Ed25519 type byte */
    crypto_hash_sha256_state h;
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const unsigned char *)name, strlen(name));
    crypto_hash_sha256_update(&h, sep, sizeof(sep));
    crypto_hash_sha256_update(&h, pk, 32);
    crypto_hash_sha256_final(&h, digest);
    memcpy(id, digest, 4);
}

size_t oa_audit_vkey(const char *name, const unsigned char pk[32], char *out, size_t cap)
{
    unsigned char id[4], key[33];
    char idhex[9], b64[sodium_base64_ENCODED_LEN(33, sodium_base64_VARIANT_ORIGINAL)];
    oa_audit_key_id(name, pk, id);
    sodium_bin2hex(idhex, sizeof(idhex), id, sizeof(id));
    key[0] = 0x01;
    memcpy(key + 1, pk, 32);
    sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(out, cap, "%s+%s+%s", name, idhex, b64);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t oa_audit_note_text(const char *origin, uint64_t size, const oa_hash root, int64_t at, char *out, size_t cap)
{
    char b64[sodium_base64_ENCODED_LEN(OA_HASH, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof(b64), root, OA_HASH, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(out, cap, "%s\n%llu\n%s\ntime %lld\n", origin, (unsigned long long)size, b64, (long long)at);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t oa_audit_note(const char *origin, uint64_t size, const oa_hash root, int64_t at, const unsigned char pk[32],
                     const unsigned char sig[64], char *out, size_t cap)
{
    size_t len = oa_audit_note_text(origin, size, root, at, out, cap);
    if (len == 0)
        return 0;
    unsigned char blob[4 + crypto_sign_BYTES];
    char b64[sodium_base64_ENCODED_LEN(sizeof(blob), sodium_base64_VARIANT_ORIGINAL)];
    oa_audit_key_id(origin, pk, blob);
    memcpy(blob + 4, sig, crypto_sign_BYTES);
    sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob), sodium_base64_VARIANT_ORIGINAL);
    /* The blank line, then an em dash (U+2014), a space, the key name, a space, the signature. */
    int n = snprintf(out + len, cap - len, "\n\xe2\x80\x94 %s %s\n", origin, b64);
    return n > 0 && (size_t)n < cap - len ? len + (size_t)n : 0;
}

size_t oa_audit_checkpoint_message(uint64_t size, const oa_hash root, int64_t at, char *out, size_t cap)
{
    char hex[2 * OA_HASH + 1];
    sodium_bin2hex(hex, sizeof(hex), root, OA_HASH);
    int n = snprintf(out, cap, "oa audit checkpoint v1\n%llu\n%s\n%lld\n", (unsigned long long)size, hex,
                     (long long)at);
    return n > 0 ? (size_t)n : 0;
}

int oa_audit_log_checkpoint(struct oa_store *s, struct oa_audit_log *log, uint64_t now_ms)
{
    if (!log->signing || log->acc.size == log->checkpoint_size)
        return 0;
    if (log->origin[0] == '\0' && oa_audit_origin(s, log->origin, sizeof(log->origin)) != 0) {
        log->origin[0] = '\0';
        return -1;
    }
    oa_hash root;
    oa_merkle_acc_root(&log->acc, root);
    int64_t at = oa_now();
    char text[OA_AUDIT_NOTE_MAX];
    size_t len = oa_audit_note_text(log->origin, log->acc.size, root, at, text, sizeof(text));
    if (len == 0)
        return -1;
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const unsigned char *)text, len, log->sk);
    if (oa_store_exec(s, "BEGIN IMMEDIATE") != 0)
        return -1;
    sqlite3_stmt *st = oa_store_stmt(s,
        "INSERT INTO audit_checkpoints(tree_size, root, at, signature, origin) VALUES (?, ?, ?, ?, ?)");
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, (int64_t)log->acc.size);
    sqlite3_bind_blob(st, 2, root, OA_HASH, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, at);
    sqlite3_bind_blob(st, 4, sig, sizeof(sig), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, log->origin, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto fail;
    sqlite3_reset(st);
    if (oa_store_exec(s, "COMMIT") != 0)
        goto fail;
    log->checkpoint_size = log->acc.size;
    log->checkpoint_ms = now_ms;
    return 0;
fail:
    if (st)
        sqlite3_reset(st);
    oa_store_exec(s, "ROLLBACK");
    return -1;
}

oa_hash *oa_audit_leaves(struct oa_store *s, uint64_t n)
{
    oa_hash *leaves = oa_xmalloc((n ? n : 1) * sizeof(oa_hash));
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT id, leaf FROM audit_log WHERE id <= ? ORDER BY id");
    if (st == NULL) {
        free(leaves);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, (int64_t)n);
    uint64_t i = 0;
    while (i < n && sqlite3_step(st) == SQLITE_ROW) {
        if ((uint64_t)sqlite3_column_int64(st, 0) != i + 1 || sqlite3_column_bytes(st, 1) != OA_HASH)
            break;
        memcpy(leaves[i++], sqlite3_column_blob(st, 1), OA_HASH);
    }
    sqlite3_reset(st);
    if (i != n) {
        free(leaves);
        return NULL;
    }
    return leaves;
}

/* ---- offline verification ---- */

struct checkpoint {
    uint64_t size;
    oa_hash root;
    int64_t at;
    unsigned char sig[crypto_sign_BYTES];
    bool sig_ok, foreign; /* foreign: a note under another origin than this log's */
};

int oa_audit_verify(struct oa_store *s, const unsigned char pk[32], char *report, size_t cap,
                    uint64_t *entries, uint64_t *checkpoints)
{
    /* This log's origin: every note must be signed under it. */
    char origin[OA_AUDIT_ORIGIN_MAX];
    if (oa_audit_origin(s, origin, sizeof(origin)) != 0)
        return -1;
    /* The checkpoints, ascending. */
    size_t ncp = 0, capcp = 64;
    struct checkpoint *cp = oa_xmalloc(capcp * sizeof(*cp));
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT tree_size, root, at, signature, origin FROM audit_checkpoints ORDER BY tree_size");
    if (st == NULL) {
        free(cp);
        return -1;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (ncp == capcp) {
            capcp *= 2;
            cp = oa_xrealloc(cp, capcp * sizeof(*cp));
        }
        struct checkpoint *c = &cp[ncp++];
        memset(c, 0, sizeof(*c));
        c->size = (uint64_t)sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 1) == OA_HASH)
            memcpy(c->root, sqlite3_column_blob(st, 1), OA_HASH);
        c->at = sqlite3_column_int64(st, 2);
        if (sqlite3_column_bytes(st, 3) == crypto_sign_BYTES)
            memcpy(c->sig, sqlite3_column_blob(st, 3), crypto_sign_BYTES);
        /* A note is rebuilt from its row under the row's origin; a row
         * without one predates notes and signed the v1 message. */
        const char *o = (const char *)sqlite3_column_text(st, 4);
        char msg[OA_AUDIT_NOTE_MAX];
        size_t len = o ? oa_audit_note_text(o, c->size, c->root, c->at, msg, sizeof(msg))
                       : oa_audit_checkpoint_message(c->size, c->root, c->at, msg, sizeof(msg));
        c->foreign = o != NULL && strcmp(o, origin) != 0;
        c->sig_ok = len > 0 && crypto_sign_verify_detached(c->sig, (const unsigned char *)msg, len, pk) == 0;
    }
    sqlite3_reset(st);
    *checkpoints = ncp;
    int result = 0;
    for (size_t i = 0; i < ncp; i++)
        if (!cp[i].sig_ok || cp[i].foreign) {
            snprintf(report, cap, cp[i].sig_ok ? "checkpoint at tree size %llu was signed for another log (origin)"
                                               : "checkpoint at tree size %llu has a bad signature",
                     (unsigned long long)cp[i].size);
            result = 1;
            goto out;
        }

    /* Every entry, in order: its leaf from its fields, and the roots. */
    struct oa_merkle_acc acc;
    oa_merkle_acc_init(&acc);
    size_t next_cp = 0;
    uint64_t last_good = 0;
    st = oa_store_stmt(s, "SELECT " OA_AUDIT_COLUMNS " FROM audit_log ORDER BY id");
    if (st == NULL) {
        result = -1;
        goto out;
    }
    struct oa_audit_row row;
    int64_t first_mismatch = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        oa_audit_row_read(st, &row);
        if ((uint64_t)row.id != acc.size + 1) {
            snprintf(report, cap, "entry %llu is missing (the next entry is %lld): entries were deleted or reordered",
                     (unsigned long long)acc.size + 1, (long long)row.id);
            result = 1;
            goto rows_done;
        }
        oa_hash want;
        oa_audit_leaf(&row, want);
        if (first_mismatch == 0 && sodium_memcmp(want, row.leaf, OA_HASH) != 0)
            first_mismatch = row.id;
        /* The tree is built from what the fields say, so an edit shows even
         * when the stored leaf was edited to match. */
        oa_merkle_acc_push(&acc, want);
        while (next_cp < ncp && cp[next_cp].size == acc.size) {
            oa_hash root;
            oa_merkle_acc_root(&acc, root);
            if (sodium_memcmp(root, cp[next_cp].root, OA_HASH) != 0) {
                if (first_mismatch != 0)
                    snprintf(report, cap, "entry %lld was altered (its content no longer matches its hash)",
                             (long long)first_mismatch);
                else
                    snprintf(report, cap,
                             "entries %llu to %llu do not match the signed checkpoint at size %llu:"
                             " an entry among them was altered, removed or reordered",
                             (unsigned long long)last_good + 1, (unsigned long long)cp[next_cp].size,
                             (unsigned long long)cp[next_cp].size);
                result = 1;
                goto rows_done;
            }
            last_good = cp[next_cp].size;
            next_cp++;
        }
    }
    if (first_mismatch != 0) {
        snprintf(report, cap, "entry %lld was altered (its content no longer matches its hash)",
                 (long long)first_mismatch);
        result = 1;
    } else if (next_cp < ncp) {
        snprintf(report, cap,
                 "the log holds %llu entries but a signed checkpoint covers %llu: entries were removed from"
                 " the end or the log was rolled back",
                 (unsigned long long)acc.size, (unsigned long long)cp[ncp - 1].size);
        result = 1;
    } else {
        snprintf(report, cap, "%llu entries and %zu signed checkpoints verified", (unsigned long long)acc.size, ncp);
    }
rows_done:
    sqlite3_reset(st);
    *entries = acc.size;
out:
    free(cp);
    return result;
}

int oa_audit_checkpoint_latest(struct oa_store *s, struct oa_checkpoint *cp)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT tree_size, root, at, signature, origin FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1");
    if (st == NULL)
        return -1;
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == OA_HASH &&
        sqlite3_column_bytes(st, 3) == (int)sizeof(cp->sig)) {
        cp->size = (uint64_t)sqlite3_column_int64(st, 0);
        memcpy(cp->root, sqlite3_column_blob(st, 1), OA_HASH);
        cp->at = sqlite3_column_int64(st, 2);
        memcpy(cp->sig, sqlite3_column_blob(st, 3), sizeof(cp->sig));
        const char *origin = (const char *)sqlite3_column_text(st, 4);
        snprintf(cp->origin, sizeof(cp->origin), "%s", origin ? origin : "");
        found = 1;
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        found = -1;
    }
    sqlite3_reset(st);
    return found;
}

static int rows_step(sqlite3_stmt *st, int64_t limit, void (*fn)(void *arg, const struct oa_audit_row *row),
                     void *arg)
{
    int rc = SQLITE_DONE;
    for (int64_t n = 0; n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW; n++) {
        struct oa_audit_row row;
        oa_audit_row_read(st, &row);
        fn(arg, &row);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int oa_audit_rows_each(struct oa_store *s, const struct oa_audit_filter *f,
                       void (*fn)(void *arg, const struct oa_audit_row *row), void *arg)
{
    sqlite3_stmt *st = oa_store_stmt(s,
        "SELECT " OA_AUDIT_COLUMNS " FROM audit_log WHERE id > ?1 AND (?2 = 0 OR at >= ?2)"
        " AND (?3 = 0 OR at < ?3) AND (?4 IS NULL OR actor = ?4) AND (?5 = 0 OR doc_id = ?5)"
        " AND (?6 IS NULL OR event = ?6) ORDER BY id LIMIT ?7");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, f->after);
    sqlite3_bind_int64(st, 2, f->from);
    sqlite3_bind_int64(st, 3, f->to);
    if (f->actor)
        sqlite3_bind_text(st, 4, f->actor, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, f->doc);
    if (f->event)
        sqlite3_bind_text(st, 6, f->event, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, f->limit);
    return rows_step(st, f->limit, fn, arg);
}

int oa_audit_rows_range(struct oa_store *s, int64_t a, int64_t b,
                        void (*fn)(void *arg, const struct oa_audit_row *row), void *arg)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT " OA_AUDIT_COLUMNS " FROM audit_log WHERE id BETWEEN ? AND ? ORDER BY id");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    return rows_step(st, INT64_MAX, fn, arg);
}
