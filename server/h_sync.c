/*
 * server/h_sync.c: the sync protocol (proto/SYNC.md) for thin clients.
 *
 *   GET  /v1/sync/changes?v=1&since=N[&limit=L][&wait=S]   a page of the change feed
 *   POST /v1/sync/push   {0: 1, 1: "push", 2: [ops]}       operations done offline
 *
 * What a feed page holds is app/sync_feed.c's use case.  With `wait`, an
 * empty page waits up to S seconds for a change (long poll); an empty answer
 * is the heartbeat.
 *
 * The feed runs on a reader (its sync_seen changes, its session's walk from
 * 0 when access widened, and its audit entry go to the writer before the
 * page is sent), a push on the writer.  The protocol is CBOR only (its maps
 * have integer keys).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/doc_read.h"
#include "app/jobs.h"
#include "app/sync_feed.h"
#include "app/sync_push.h"
#include "proto/log.h"
#include "proto/sync.h"
#include "proto/value.h"
#include "server/handlers.h"
#include "server/server.h"
#include "workflow/access.h"

struct feed_job {
    struct oa_req_job base;
    int64_t since, limit;
    uint64_t wait_until;   /* uv_now deadline of a long poll, 0 for none */
    uv_timer_t *timer;     /* a long poll's, once it waited */
    struct oa_feed_page page;
};

/* Writes what a page changed in sync_seen (on the writer). */
static int seen_apply(struct oa_store *s, struct oa_db_job *job)
{
    struct feed_job *j = (struct feed_job *)job;
    return oa_sync_feed_apply_seen(s, j->base.r->who.user_id, &j->page);
}

static int feed_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct feed_job *j = (struct feed_job *)job;
    struct oa_req *r = j->base.r;
    int rc = oa_sync_feed_page(s, OA_REQ_ACTOR(r), r->who.user_id, r->who.session_id, j->since, j->limit,
                               r->srv->cfg->sync_cache_max_level, &j->page);
    if (rc == 0 && j->page.err != OA_E_OK)
        return oa_req_fail(&j->base, j->page.err, j->page.message);
    if (rc != 0 || !oa_sync_feed_writes(&j->page))
        return rc;
    if (oa_jobs_on_reader(s))
        job->then = seen_apply; /* on a reader: the writer records them before the page is sent */
    else
        rc = seen_apply(s, job);
    return rc;
}

/* The page (already encoded) becomes the answer. */
static void feed_take_page(struct feed_job *j)
{
    j->base.status = 200;
    j->base.bytes = j->page.bytes;
    j->base.nbytes = j->page.nbytes;
    j->page.bytes = NULL;
}

static void feed_timer_closed(uv_handle_t *h)
{
    free(h);
}

static void feed_finish(struct oa_req_job *base, bool ok)
{
    struct feed_job *j = (struct feed_job *)base;
    (void)ok;
    oa_sync_feed_page_free(&j->page);
    if (j->timer != NULL)
        uv_close((uv_handle_t *)j->timer, feed_timer_closed);
}

/* Long poll: every 50 ms, look whether a change was handed out since; at the deadline, answer empty. */
static void feed_on_tick(uv_timer_t *t)
{
    struct feed_job *j = t->data;
    struct oa_server *srv = j->base.r->srv;
    bool changed = oa_sync_changed_since(j->page.next);
    bool expired = uv_now(srv->loop) >= j->wait_until;
    if (!changed && !expired && !srv->draining)
        return;
    uv_timer_stop(t);
    if (changed && !expired && !srv->draining) {
        free(j->page.bytes);
        j->page.bytes = NULL;
        j->since = j->page.next;
        oa_req_job_submit(&j->base);
        return;
    }
    feed_take_page(j); /* the heartbeat: the empty page */
    oa_req_job_answer(&j->base);
}

/* An empty page of a long poll waits for a change; any other page is the answer. */
static bool feed_step(struct oa_req_job *base)
{
    struct feed_job *j = (struct feed_job *)base;
    struct oa_server *srv = base->r->srv;
    if (j->page.count == 0 && j->wait_until > uv_now(srv->loop) && !srv->draining) {
        if (j->timer == NULL) {
            j->timer = oa_xcalloc(1, sizeof(*j->timer));
            uv_timer_init(srv->loop, j->timer);
            j->timer->data = j;
        }
        uv_timer_start(j->timer, feed_on_tick, 50, 50);
        return true;
    }
    feed_take_page(j);
    return false;
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
    struct feed_job *j = oa_req_job_new(r, sizeof(*j), feed_on_run, OA_JOB_READ);
    j->since = since;
    j->limit = limit;
    j->wait_until = wait ? uv_now(r->srv->loop) + (uint64_t)wait * 1000 : 0;
    j->base.step = feed_step;
    j->base.finish = feed_finish;
    oa_req_job_submit(&j->base);
}

/* ---- push ---- */


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
    struct oa_req_job *j = (struct oa_req_job *)job;
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
            cbor_item_t *cur =
                oa_sync_push_current(s, OA_REQ_ACTOR(j->r), op.doc_id, j->r->srv->cfg->sync_cache_max_level);
            if (cur != NULL)
                oa_sync_put(out, OA_RS_CURRENT, cur);
        } else {
            out = refused(id, res.err, res.message);
        }
        (void)cbor_array_push(results, cbor_move(out));
    }
    cbor_item_t *m = oa_sync_message("pushed", 1);
    oa_sync_put(m, OA_R_RESULTS, results);
    j->status = 200;
    j->bytes = pv_encode_cbor(m, &j->nbytes);
    cbor_decref(&m);
    return j->bytes ? 0 : OA_E_INTERNAL;
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
    oa_req_job_submit(oa_req_job_new(r, sizeof(struct oa_req_job), push_on_run, 0));
}
