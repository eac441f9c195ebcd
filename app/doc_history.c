/* app/doc_history.c: see doc_history.h. */
#include "app/doc_history.h"

#include <stdlib.h>

#include "proto/alloc.h"
#include "storage/doc_history.h"

/* Maps gathered from rows, then one array. */
struct items {
    cbor_item_t **v;
    size_t n, cap;
};

static cbor_item_t *items_add(struct items *it, size_t pairs)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 16;
        it->v = oa_xrealloc(it->v, it->cap * sizeof(*it->v));
    }
    return it->v[it->n++] = pv_map(pairs);
}

/* Puts the rows gathered under key in out (or frees them when the query failed); 0 or -1. */
static int items_put(cbor_item_t *out, const char *key, struct items *it, int rc)
{
    if (rc == 0)
        pv_put(out, key, pv_array_from(it->v, it->n));
    else
        for (size_t i = 0; i < it->n; i++)
            cbor_decref(&it->v[i]);
    free(it->v);
    return rc;
}

static void step_row(void *arg, const struct oa_step_row *r)
{
    cbor_item_t *m = items_add(arg, 9);
    pv_put_int(m, "id", r->id);
    pv_put_text(m, "action", r->action);
    pv_put_text(m, "from", r->from);
    pv_put_text(m, "to", r->to);
    pv_put_text(m, "actor", r->actor);
    pv_put_text(m, "on_behalf_of", r->on_behalf);
    pv_put_text(m, "opinion", r->opinion);
    pv_put_text(m, "detail", r->detail);
    pv_put_int(m, "at", r->at);
}

static void revision_row(void *arg, const struct oa_revision_row *r)
{
    cbor_item_t *m = items_add(arg, 4);
    pv_put_int(m, "revision", r->revision);
    pv_put_text(m, "author", r->author);
    pv_put_int(m, "at", r->at);
    pv_put_text(m, "changed", r->changed);
}

static void participant_row(void *arg, const struct oa_participant_row *r)
{
    cbor_item_t *m = items_add(arg, 5);
    pv_put_text(m, "user", r->user);
    pv_put_text(m, "part", r->part);
    pv_put_int(m, "round", r->round);
    pv_put_text(m, "status", r->status);
    if (r->acted_at == 0)
        pv_put_text(m, "acted_at", NULL);
    else
        pv_put_int(m, "acted_at", r->acted_at);
}

static void chase_row(void *arg, const struct oa_doc_chase_row *r)
{
    cbor_item_t *m = items_add(arg, 4);
    pv_put_text(m, "target", r->target);
    pv_put_text(m, "by", r->by);
    pv_put_text(m, "note", r->note);
    pv_put_int(m, "at", r->at);
}

int oa_app_doc_history(struct oa_store *s, int64_t doc, cbor_item_t **out)
{
    struct items steps = {0}, revisions = {0}, participants = {0}, chases = {0};
    cbor_item_t *m = pv_map(4);
    if (items_put(m, "steps", &steps, oa_doc_steps_each(s, doc, step_row, &steps)) != 0 ||
        items_put(m, "revisions", &revisions, oa_doc_revisions_each(s, doc, revision_row, &revisions)) != 0 ||
        items_put(m, "participants", &participants,
                  oa_doc_participants_each(s, doc, participant_row, &participants)) != 0 ||
        items_put(m, "chases", &chases, oa_doc_chases_each(s, doc, chase_row, &chases)) != 0) {
        cbor_decref(&m);
        return -1;
    }
    *out = m;
    return 0;
}

static void revision_text(void *arg, const struct oa_revision_row *r)
{
    cbor_item_t *m = pv_map(6);
    pv_put_int(m, "revision", r->revision);
    pv_put_int(m, "at", r->at);
    pv_put_text(m, "changed", r->changed);
    pv_put_text(m, "title", r->title);
    pv_put_text(m, "body", r->body);
    pv_put_text(m, "author", r->author);
    *(cbor_item_t **)arg = m;
}

int oa_app_doc_revision(struct oa_store *s, int64_t doc, int64_t n, cbor_item_t **out)
{
    *out = NULL;
    return oa_doc_revision_get(s, doc, n, revision_text, out);
}
