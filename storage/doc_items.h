/*
 * storage/doc_items.h: a reader connection's cache of the list pages'
 * encoded document items (#14), bounded, keyed by what the item is made of:
 * the document's id, revision and updated_at (every change of a listed field
 * bumps the revision: oa_doc_save, and oa_rec_erase since #14) and its label's
 * MAC (level, declassification date and scope: oa_doc_scope_set is followed
 * by oa_doc_label_seal).  A changed document has a new key, so an item is
 * never invalidated, only left behind; it is never served stale.
 *
 * Only a reader's connection (opened read-only: storage/reader.h) caches:
 * what it sees is committed, so a key names one content for good.  On the
 * writer a job's changes could still be rolled back (a failed group commit)
 * and the same revision written again with other content, so there
 * oa_doc_item_get always misses and oa_doc_item_put keeps nothing.
 *
 * The access decision and the audit are not cached: the caller makes them
 * per request and per document, as before, and asks here only for bytes.
 */
#ifndef OA_STORAGE_DOC_ITEMS_H
#define OA_STORAGE_DOC_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

/* Slots (direct-mapped by id) and the largest item kept: at most 4 MiB a reader. */
#define OA_DOC_ITEMS_SLOTS 1024
#define OA_DOC_ITEMS_MAX_BYTES 4096

/* An item's key: all that its bytes depend on. */
struct oa_doc_item_key {
    int64_t id, revision, updated_at;
    unsigned char label_mac[32];
};

/*
 * The cached bytes of the item with key k, or NULL (*len 0); they stay valid
 * until the next oa_doc_item_put or oa_store_close on s.
 */
const unsigned char *oa_doc_item_get(struct oa_store *s, const struct oa_doc_item_key *k, size_t *len);
/* Keeps a copy of the len bytes p as the item of key k (replacing its slot's); nothing on the writer. */
void oa_doc_item_put(struct oa_store *s, const struct oa_doc_item_key *k, const unsigned char *p, size_t len);
/* Frees the cache of s (oa_store_close calls it). */
void oa_doc_items_free(struct oa_store *s);

/* Hits, misses and puts on this connection, for the tests and the benchmark. */
struct oa_doc_items_stats {
    uint64_t hits, misses, puts;
};
void oa_doc_items_stats(const struct oa_store *s, struct oa_doc_items_stats *out);

#endif
