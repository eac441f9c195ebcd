/* storage/doc_items.c: the list pages' item cache of a reader's connection.  See doc_items.h. */
#include "storage/doc_items.h"

#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"

struct item_slot {
    struct oa_doc_item_key key;
    size_t len;
    unsigned char *bytes; /* NULL: empty */
};

struct oa_doc_items {
    struct item_slot slot[OA_DOC_ITEMS_SLOTS];
    struct oa_doc_items_stats stats;
};

static bool key_eq(const struct oa_doc_item_key *a, const struct oa_doc_item_key *b)
{
    return a->id == b->id && a->revision == b->revision && a->updated_at == b->updated_at &&
           memcmp(a->label_mac, b->label_mac, sizeof(a->label_mac)) == 0;
}

/* This connection's cache, made on first use; NULL on the writer's (not read-only) connection. */
static struct oa_doc_items *items_of(struct oa_store *s)
{
    if (s->doc_items == NULL && s->db != NULL && sqlite3_db_readonly(s->db, "main") == 1)
        s->doc_items = oa_xcalloc(1, sizeof(*s->doc_items));
    return s->doc_items;
}

static struct item_slot *slot_of(struct oa_doc_items *c, int64_t id)
{
    return &c->slot[(uint64_t)id % OA_DOC_ITEMS_SLOTS];
}

const unsigned char *oa_doc_item_get(struct oa_store *s, const struct oa_doc_item_key *k, size_t *len)
{
    struct oa_doc_items *c = items_of(s);
    *len = 0;
    if (c == NULL)
        return NULL;
    struct item_slot *sl = slot_of(c, k->id);
    if (sl->bytes == NULL || !key_eq(&sl->key, k)) {
        c->stats.misses++;
        return NULL;
    }
    c->stats.hits++;
    *len = sl->len;
    return sl->bytes;
}

void oa_doc_item_put(struct oa_store *s, const struct oa_doc_item_key *k, const unsigned char *p, size_t len)
{
    struct oa_doc_items *c = items_of(s);
    if (c == NULL || len == 0 || len > OA_DOC_ITEMS_MAX_BYTES)
        return;
    struct item_slot *sl = slot_of(c, k->id);
    if (sl->bytes == NULL || sl->len < len) {
        free(sl->bytes);
        sl->bytes = oa_xmalloc(len);
    }
    memcpy(sl->bytes, p, len);
    sl->len = len;
    sl->key = *k;
    c->stats.puts++;
}

void oa_doc_items_free(struct oa_store *s)
{
    struct oa_doc_items *c = s->doc_items;
    if (c == NULL)
        return;
    for (size_t i = 0; i < OA_DOC_ITEMS_SLOTS; i++)
        free(c->slot[i].bytes);
    free(c);
    s->doc_items = NULL;
}

void oa_doc_items_stats(const struct oa_store *s, struct oa_doc_items_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (s->doc_items != NULL)
        *out = s->doc_items->stats;
}
