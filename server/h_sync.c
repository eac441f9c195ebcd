/*
 * server/h_sync.c: the sync protocol (proto/SYNC.md) for thin clients.
 *
 *   GET  /v1/sync/changes?v=1&since=N[&limit=L][&wait=S]   a page of the change feed
 *   POST /v1/sync/push   {0: 1, 1: "push", 2: [ops]}       operations done offline
 *
 * The feed walks the global change sequence after `since`.  A document is
 * sent once per page at its latest change, as the caller may see it now (the
 * one read decision); a document the caller may no longer see is sent as a
 * revocation when their clients were sent it before (sync_seen), and a change
 * of the caller's own account re-decides everything they were sent.  The
 * next cursor is the last sequence number examined, so pages neither skip
 * nor repeat a change.  With `wait`, an empty page waits up to S seconds for
 * a change (long poll); an empty answer is the heartbeat.
 *
 * Both run as writer jobs: they see every committed change in order.  The
 * protocol is CBOR only (its maps have integer keys).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sync.h"
#include "app/doc_read.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "proto/log.h"
#include "server/server.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "workflow/access.h"

#define SCAN_MAX 20000 /* changes examined by one page at most */

struct feed_job {
    struct oa_db_job job;
    struct oa_req *r;
    int64_t since, limit;
    uint64_t wait_until;   /* uv_now deadline of a long poll, 0 for none */
    uv_timer_t timer;
    bool timer_open;
    int64_t next;          /* result: the cursor after this page */
    size_t count;
    unsigned char *bytes;
    size_t nbytes;
    enum oa_err err;
    const char *message;
    /*
     * What the page changes in sync_seen, in order: +doc the user's clients
     * now hold it, -doc they no longer do.  A page is read on a reader
     * thread; the writer applies these after it (seen_apply).
     */
    int64_t *seen;
    size_t nseen, seen_cap;
};

static void seen_add(struct feed_job *j, int64_t op)
{
    if (j->nseen == j->seen_cap) {
        j->seen_cap = j->seen_cap ? j->seen_cap * 2 : 64;
        j->seen = oa_xrealloc(j->seen, j->seen_cap * sizeof(*j->seen));
    }
    j->seen[j->nseen++] = op;
}

/* Whether the user's clients hold doc: 1, 0, or -1 on error. */
static int seen_has(struct oa_store *s, int64_t user, int64_t doc)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT 1 FROM sync_seen WHERE user_id = ? AND doc_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int64(st, 2, doc);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The user's clients now hold doc (written after the page: seen_apply); 0 or -1. */
static int seen_mark(struct oa_store *s, struct feed_job *j, int64_t user, int64_t doc)
{
    int had = seen_has(s, user, doc);
    if (had == 0)
        seen_add(j, doc);
    return had < 0 ? -1 : 0;
}

/* Forgets that the user's clients had doc: 1 they had it (revoke), 0 not, -1 error. */
static int seen_forget(struct oa_store *s, struct feed_job *j, int64_t user, int64_t doc)
{
    int had = seen_has(s, user, doc);
    if (had == 1)
        seen_add(j, -doc);
    return had;
}

/* Writes what a page changed in sync_seen (on the writer). */
static int seen_apply(struct oa_store *s, struct oa_db_job *job)
{
    struct feed_job *j = (struct feed_job *)job;
    for (size_t i = 0; i < j->nseen; i++) {
        int64_t doc = j->seen[i] > 0 ? j->seen[i] : -j->seen[i];
        sqlite3_stmt *st = oa_store_stmt(s, j->seen[i] > 0 ? "INSERT OR IGNORE INTO sync_seen(user_id, doc_id) VALUES (?, ?)"
                                                           : "DELETE FROM sync_seen WHERE user_id = ? AND doc_id = ?");
        if (st == NULL)
            return OA_E_STORAGE;
        sqlite3_bind_int64(st, 1, j->r->who.user_id);
        sqlite3_bind_int64(st, 2, doc);
        if (sqlite3_step(st) != SQLITE_DONE)
            return OA_E_STORAGE;
    }
    return 0;
}

/* In the user's to-do list: the same rule as GET /v1/documents?view=todo. */
static bool in_todo(struct oa_store *s, int64_t doc, const struct oa_user *me)
{
    return oa_doc_in_todo(s, doc, me->id, me->roles, me->department_id);
}

/* The last username looked up: a page's documents mostly share their drafters. */
struct name_memo {
    int64_t id;
    char name[64];
};

static const char *username_of(struct oa_store *s, int64_t id, struct name_memo *m)
{
    if (m->id == id && id > 0)
        return m->name;
    struct oa_user u;
    m->id = id;
    if (id > 0 && oa_user_by_id(s, id, &u) == 1)
        snprintf(m->name, sizeof(m->name), "%s", u.username);
    else
        m->name[0] = '\0';
    return m->name;
}

/* The document record of the protocol; the body only when clients may keep it on disk. */
static cbor_item_t *doc_record(struct oa_store *s, const struct oa_doc *d, const struct oa_user *me, unsigned cache_max,
                               struct name_memo *names)
{
    bool cacheable = oa_sync_cacheable(d->level, cache_max);
    cbor_item_t *m = oa_sync_map(14);
    oa_sync_put_uint(m, OA_D_ID, (uint64_t)d->id);
    oa_sync_put_uint(m, OA_D_REV, (uint64_t)d->revision);
    oa_sync_put_text(m, OA_D_KIND, d->kind);
    oa_sync_put_text(m, OA_D_STATE, d->state);
    oa_sync_put_text(m, OA_D_TITLE, d->title);
    oa_sync_put_uint(m, OA_D_LEVEL, (uint64_t)d->level);
    oa_sync_put_text(m, OA_D_NUMBER, d->doc_number);
    oa_sync_put_text(m, OA_D_URGENCY, d->urgency);
    oa_sync_put_uint(m, OA_D_UPDATED, (uint64_t)d->updated_at);
    oa_sync_put_text(m, OA_D_DRAFTER, username_of(s, d->drafter_id, names));
    if (cacheable && d->body)
        oa_sync_put_text(m, OA_D_BODY, d->body);
    oa_sync_put_bool(m, OA_D_CACHEABLE, cacheable);
    oa_sync_put_text(m, OA_D_DUE, d->step_due);
    oa_sync_put_bool(m, OA_D_TODO, in_todo(s, d->id, me));
    return m;
}

/* Entries gathered for a page; a definite array at the end. */
struct entries {
    cbor_item_t **v;
    size_t n, cap;
};

static void entries_add(struct entries *e, cbor_item_t *it)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->v = oa_xrealloc(e->v, e->cap * sizeof(*e->v));
    }
    e->v[e->n++] = it;
}

static void entries_free(struct entries *e)
{
    for (size_t i = 0; i < e->n; i++)
        cbor_decref(&e->v[i]);
    free(e->v);
}

static cbor_item_t *entry(int64_t seq, const char *kind, int64_t doc, int64_t rev, cbor_item_t *record)
{
    cbor_item_t *e = oa_sync_map(record ? 5 : 4);
    oa_sync_put_uint(e, OA_E_SEQ, (uint64_t)seq);
    oa_sync_put_text(e, OA_E_KIND, kind);
    oa_sync_put_uint(e, OA_E_DOC, (uint64_t)doc);
    oa_sync_put_uint(e, OA_E_REV, (uint64_t)rev);
    if (record)
        oa_sync_put(e, OA_E_RECORD, record);
    return e;
}

/* The caller's account changed: re-decides every document their clients hold. */
static int recheck_seen(struct oa_store *s, struct feed_job *j, const struct oa_user *me, int64_t seq,
                        struct entries *entries, size_t *count)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT doc_id FROM sync_seen WHERE user_id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, me->id);
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            ids = oa_xrealloc(ids, cap * sizeof(*ids));
        }
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct oa_doc d;
        int found = oa_doc_load(s, ids[i], &d);
        if (found < 0) {
            rc = -1;
            break;
        }
        bool visible = found == 1 && !me->disabled && oa_doc_visible(s, me, &d);
        int64_t rev = found == 1 ? d.revision : 0;
        if (found == 1)
            oa_doc_free(&d);
        if (visible)
            continue;
        if (seen_forget(s, j, me->id, ids[i]) < 0) {
            rc = -1;
            break;
        }
        entries_add(entries, entry(seq, "revoke", ids[i], rev, NULL));
        (*count)++;
    }
    free(ids);
    return rc;
}

static int feed_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct feed_job *j = (struct feed_job *)job;
    j->nseen = 0;
    struct oa_user me;
    if (oa_user_by_id(s, j->r->who.user_id, &me) != 1)
        return OA_E_STORAGE;
    int64_t head = oa_change_head(s);
    if (head < 0)
        return OA_E_STORAGE;
    if (j->since > head) {
        j->err = OA_E_CURSOR_TOO_OLD;
        j->message = "Your sync cursor is ahead of this server's changes (a restored or another server): "
                     "start again from 0 (a full resync).";
        return 0;
    }
    unsigned cache_max = j->r->srv->cfg->sync_cache_max_level;
    struct entries entries = {0};
    size_t count = 0;
    int64_t cursor = j->since;
    sqlite3_stmt *scan = oa_store_stmt(s,
                           "SELECT c.seq, c.entity, c.entity_id,"
                           " (SELECT max(c2.seq) FROM changes c2 WHERE c2.entity = c.entity"
                           "   AND c2.entity_id = c.entity_id) AS latest"
                           " FROM changes c WHERE c.seq > ? AND c.seq <= ?"
                           " AND c.entity IN ('document', 'user') ORDER BY c.seq LIMIT ?");
    if (scan == NULL)
        return OA_E_STORAGE;
    sqlite3_bind_int64(scan, 1, j->since);
    sqlite3_bind_int64(scan, 2, head);
    sqlite3_bind_int64(scan, 3, SCAN_MAX);
    int rc = 0, step;
    size_t scanned = 0, classified = 0;
    struct name_memo names = {0};
    char shown[400] = "";
    while (count < (size_t)j->limit && (step = sqlite3_step(scan)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(scan, 0);
        const char *entity = (const char *)sqlite3_column_text(scan, 1);
        int64_t id = sqlite3_column_int64(scan, 2), latest = sqlite3_column_int64(scan, 3);
        cursor = seq;
        scanned++;
        if (strcmp(entity, "user") == 0) {
            if (id == me.id && seq == latest && (rc = recheck_seen(s, j, &me, seq, &entries, &count)) != 0)
                break;
            continue;
        }
        if (seq != latest)
            continue; /* it changes again later: sent then */
        struct oa_doc d;
        int found = oa_doc_load(s, id, &d);
        if (found < 0) {
            rc = -1;
            break;
        }
        if (found == 1 && oa_doc_visible(s, &me, &d)) {
            if (oa_sync_cacheable(d.level, cache_max) && oa_doc_load_body(s, &d) != 0) {
                oa_doc_free(&d);
                rc = -1;
                break;
            }
            cbor_item_t *rec = doc_record(s, &d, &me, cache_max, &names);
            entries_add(&entries, entry(seq, "doc", d.id, d.revision, rec));
            count++;
            if (d.level > OA_LEVEL_PUBLIC) {
                size_t cl = strlen(shown);
                if (cl + 24 < sizeof(shown))
                    snprintf(shown + cl, sizeof(shown) - cl, "%s%lld", cl ? "," : "", (long long)d.id);
                classified++;
            }
            rc = seen_mark(s, j, me.id, d.id);
        } else {
            int had = seen_forget(s, j, me.id, id);
            if (had > 0) {
                entries_add(&entries, entry(seq, "revoke", id, found == 1 ? d.revision : 0, NULL));
                count++;
            }
            rc = had < 0 ? -1 : 0;
        }
        if (found == 1)
            oa_doc_free(&d);
        if (rc != 0)
            break;
    }
    sqlite3_reset(scan);
    if (rc != 0) {
        entries_free(&entries);
        return OA_E_STORAGE;
    }
    if (count < (size_t)j->limit)
        cursor = scanned < SCAN_MAX ? head : cursor; /* every change up to head was examined */
    if (classified > 0) {
        /* Sending a classified document to a client is an access: one entry per page. */
        char detail[480];
        snprintf(detail, sizeof(detail), "%zu classified documents sent: %s%s", classified, shown,
                 strlen(shown) + 24 >= sizeof(shown) ? ",..." : "");
        if (oa_app_audit(s, OA_REQ_ACTOR(j->r), "sync.feed", NULL, "ok", detail) != 0) {
            entries_free(&entries);
            return OA_E_STORAGE;
        }
    }
    if (j->nseen > 0) {
        if (s->audit_deferred)
            job->then = seen_apply; /* on a reader: the writer records them before the page is sent */
        else if (seen_apply(s, job) != 0) {
            entries_free(&entries);
            return OA_E_STORAGE;
        }
    }
    j->next = cursor;
    j->count = count;
    cbor_item_t *m = oa_sync_message("changes", 5);
    oa_sync_put_uint(m, OA_CH_SINCE, (uint64_t)j->since);
    oa_sync_put_uint(m, OA_CH_NEXT, (uint64_t)cursor);
    oa_sync_put_uint(m, OA_CH_HEAD, (uint64_t)head);
    oa_sync_put_bool(m, OA_CH_MORE, cursor < head);
    oa_sync_put(m, OA_CH_ENTRIES, pv_array_from(entries.v, entries.n));
    free(entries.v);
    j->bytes = pv_encode_cbor(m, &j->nbytes);
    cbor_decref(&m);
    return j->bytes ? 0 : OA_E_INTERNAL;
}

static void feed_on_done(struct oa_db_job *job);

static void feed_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void feed_finish(struct feed_job *j)
{
    free(j->seen);
    j->seen = NULL;
    if (j->timer_open) {
        j->timer.data = j;
        uv_close((uv_handle_t *)&j->timer, feed_timer_closed);
    } else {
        free(j);
    }
}

/* Long poll: every 50 ms, look whether a change was handed out since; at the deadline, answer empty. */
static void feed_on_tick(uv_timer_t *t)
{
    struct feed_job *j = t->data;
    struct oa_server *srv = j->r->srv;
    bool changed = atomic_load(&oa_change_latest) > j->next;
    bool expired = uv_now(srv->loop) >= j->wait_until;
    if (!changed && !expired && !srv->draining)
        return;
    uv_timer_stop(t);
    if (changed && !expired && !srv->draining) {
        free(j->bytes);
        j->bytes = NULL;
        j->since = j->next;
        j->job.next = NULL;
        j->job.rc = 0;
        oa_db_submit(srv, &j->job);
        return;
    }
    j->wait_until = 0;
    feed_on_done(&j->job); /* the heartbeat: the empty page already encoded */
}

static void feed_on_done(struct oa_db_job *job)
{
    struct feed_job *j = (struct feed_job *)job;
    struct oa_req *r = j->r;
    if (job->rc != 0 || j->err != OA_E_OK) {
        oa_reply_error(r, j->err != OA_E_OK ? j->err : (enum oa_err)job->rc, j->message);
        free(j->bytes);
        feed_finish(j);
        return;
    }
    if (j->count == 0 && j->wait_until > uv_now(r->srv->loop) && !r->srv->draining) {
        if (!j->timer_open) {
            uv_timer_init(r->srv->loop, &j->timer);
            j->timer_open = true;
        }
        j->timer.data = j;
        uv_timer_start(&j->timer, feed_on_tick, 50, 50);
        return;
    }
    oa_reply_raw(r, 200, "application/cbor", j->bytes, j->nbytes);
    free(j->bytes);
    feed_finish(j);
}

void h_sync_changes(struct oa_req *r)
{
    int64_t v, since, limit, wait;
    if (!oa_query_int(r, "v", 0, INT32_MAX, -1, &v))
        return;
    if (v != OA_SYNC_VERSION) {
        oa_reply_error(r, OA_E_UNSUPPORTED_VERSION,
                       v < 0 ? "Send the protocol version as ?v=1." : "This server speaks sync protocol version 1.");
        return;
    }
    if (!oa_query_int(r, "since", 0, INT64_MAX, 0, &since) ||
        !oa_query_int(r, "limit", 1, OA_SYNC_MAX_LIMIT, 500, &limit) || !oa_query_int(r, "wait", 0, 60, 0, &wait))
        return;
    struct feed_job *j = oa_xcalloc(1, sizeof(*j));
    j->r = r;
    j->since = since;
    j->limit = limit;
    j->wait_until = wait ? uv_now(r->srv->loop) + (uint64_t)wait * 1000 : 0;
    j->job.run = feed_on_run;
    j->job.done = feed_on_done;
    j->job.flags = OA_JOB_READ;
    oa_db_submit(r->srv, &j->job);
}

/* ---- push ---- */

struct push_job {
    struct oa_db_job job;
    struct oa_req *r;
    unsigned char *bytes;
    size_t nbytes;
};

static cbor_item_t *result(const char *op_id, const char *outcome)
{
    cbor_item_t *m = oa_sync_map(6);
    oa_sync_put_text(m, OA_RS_ID, op_id);
    oa_sync_put_text(m, OA_RS_OUTCOME, outcome);
    return m;
}

static cbor_item_t *refused(const char *op_id, enum oa_err e, const char *message)
{
    cbor_item_t *m = result(op_id, "refused");
    oa_sync_put_text(m, OA_RS_CODE, oa_err_code(e));
    oa_sync_put_text(m, OA_RS_MESSAGE, message ? message : oa_err_message(e));
    return m;
}

static int push_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct push_job *j = (struct push_job *)job;
    const cbor_item_t *ops = oa_sync_get(j->r->in, OA_P_OPS);
    size_t n = cbor_array_size(ops);
    cbor_item_t *results = cbor_new_definite_array(n);
    if (results == NULL)
        oa_oom();
    for (size_t i = 0; i < n; i++) {
        const cbor_item_t *o = cbor_array_handle(ops)[i];
        char id[65] = "", kind[8] = "", action[33] = "";
        uint64_t doc = 0, base = 0;
        struct oa_push_op op = {0};
        const cbor_item_t *fields = oa_sync_get(o, OA_OP_FIELDS), *params = oa_sync_get(o, OA_OP_PARAMS),
                          *opinion = oa_sync_get(o, OA_OP_OPINION);
        if (!oa_sync_text(o, OA_OP_ID, id, sizeof(id)) || id[0] == '\0') {
            (void)cbor_array_push(results, cbor_move(refused("", OA_E_BAD_FIELD, "An operation needs its id (key 0, 1 to 64 characters).")));
            continue;
        }
        if (!oa_sync_text(o, OA_OP_KIND, kind, sizeof(kind)) || (strcmp(kind, "edit") && strcmp(kind, "act")) ||
            !oa_sync_uint(o, OA_OP_DOC, &doc) || !oa_sync_uint(o, OA_OP_BASE, &base) || doc > INT64_MAX ||
            base > INT64_MAX || (fields && !cbor_isa_map(fields)) || (params && !cbor_isa_map(params)) ||
            (opinion && (!cbor_isa_string(opinion) || !cbor_string_is_definite(opinion) ||
                         cbor_string_length(opinion) > 4000)) ||
            (strcmp(kind, "act") == 0 && !oa_sync_text(o, OA_OP_ACTION, action, sizeof(action)))) {
            (void)cbor_array_push(results, cbor_move(refused(id, OA_E_BAD_FIELD,
                "An operation needs kind (edit or act), doc, base revision, and fields (edit) or action (act).")));
            continue;
        }
        char *op_text = NULL;
        if (opinion) {
            op_text = oa_arena_strndup(&j->r->arena, cbor_string_handle(opinion), cbor_string_length(opinion));
            if (op_text == NULL || strlen(op_text) != cbor_string_length(opinion) ||
                !pv_utf8_ok(cbor_string_handle(opinion), cbor_string_length(opinion))) {
                (void)cbor_array_push(results, cbor_move(refused(id, OA_E_BAD_FIELD, "The opinion is not valid text.")));
                continue;
            }
        }
        op.op_id = id;
        op.is_action = strcmp(kind, "act") == 0;
        op.doc_id = (int64_t)doc;
        op.base_rev = (int64_t)base;
        op.fields = fields;
        op.action = action;
        op.opinion = op_text;
        op.params = params;
        struct oa_push_result res;
        if (oa_doc_push_op(s, j->r, &op, &res) != 0) {
            cbor_decref(&results);
            return OA_E_STORAGE;
        }
        cbor_item_t *out;
        if (res.outcome == OA_PUSH_APPLIED) {
            out = result(id, "applied");
            oa_sync_put_uint(out, OA_RS_REV, (uint64_t)res.revision);
        } else if (res.outcome == OA_PUSH_CONFLICT) {
            out = result(id, "conflict");
            oa_sync_put_uint(out, OA_RS_REV, (uint64_t)res.revision);
            oa_sync_put_text(out, OA_RS_CODE, "conflict");
            oa_sync_put_text(out, OA_RS_MESSAGE, "The document changed on the server since you worked on it offline; "
                                                 "look at its current version and act again.");
            struct oa_doc d;
            struct oa_user me;
            if (oa_user_by_id(s, j->r->who.user_id, &me) == 1 && oa_doc_load(s, op.doc_id, &d) == 1) {
                unsigned cache_max = j->r->srv->cfg->sync_cache_max_level;
                if (oa_sync_cacheable(d.level, cache_max))
                    oa_doc_load_body(s, &d);
                struct name_memo names = {0};
                oa_sync_put(out, OA_RS_CURRENT, doc_record(s, &d, &me, cache_max, &names));
                oa_doc_free(&d);
            }
        } else {
            out = refused(id, res.err, res.message);
        }
        (void)cbor_array_push(results, cbor_move(out));
    }
    cbor_item_t *m = oa_sync_message("pushed", 1);
    oa_sync_put(m, OA_R_RESULTS, results);
    j->bytes = pv_encode_cbor(m, &j->nbytes);
    cbor_decref(&m);
    return j->bytes ? 0 : OA_E_INTERNAL;
}

static void push_on_done(struct oa_db_job *job)
{
    struct push_job *j = (struct push_job *)job;
    if (job->rc != 0)
        oa_reply_error(j->r, (enum oa_err)job->rc, NULL);
    else
        oa_reply_raw(j->r, 200, "application/cbor", j->bytes, j->nbytes);
    free(j->bytes);
    free(j);
}

void h_sync_push(struct oa_req *r)
{
    bool bad_version = false;
    const char *why = oa_sync_check(r->in, "push", &bad_version);
    const cbor_item_t *ops = oa_sync_get(r->in, OA_P_OPS);
    if (why == NULL && (ops == NULL || !cbor_isa_array(ops) || !cbor_array_is_definite(ops) ||
                        cbor_array_size(ops) > OA_SYNC_MAX_OPS))
        why = "A push carries its operations as an array under key 2 (at most 1000).";
    if (why) {
        oa_reply_error(r, bad_version ? OA_E_UNSUPPORTED_VERSION : OA_E_BAD_FIELD, why);
        return;
    }
    struct push_job *j = oa_xcalloc(1, sizeof(*j));
    j->r = r;
    j->job.run = push_on_run;
    j->job.done = push_on_done;
    oa_writer_submit(r->srv->writer, &j->job);
}
