/*
 * storage/sync.h: the SQL of the sync feed (app/sync_feed.c decides).
 *
 * sync_seen records which documents each user's clients were sent, so that a
 * document they may no longer see is revoked; the change scan walks the
 * global change sequence.
 */
#ifndef OA_STORAGE_SYNC_H
#define OA_STORAGE_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

/* Whether the user's clients hold doc: 1, 0, or -1 on error. */
int oa_sync_seen_has(struct oa_store *s, int64_t user, int64_t doc);
/* Records that the user's clients now hold doc (held) or no longer do; 0 or -1. */
int oa_sync_seen_set(struct oa_store *s, int64_t user, int64_t doc, bool held);
/* Every document the user's clients hold, in *ids (malloc'd, the caller frees); 0 or -1. */
int oa_sync_seen_list(struct oa_store *s, int64_t user, int64_t **ids, size_t *n);

/* The latest change of a document or a user (the table keeps no other: oa_change_record). */
struct oa_change {
    int64_t seq;
    bool is_user; /* else a document */
    int64_t id;
};

/*
 * Changes of documents and users with since < seq <= head, in order, at most
 * max of them.  begin, then next until it returns 0 (no more) or -1 (error),
 * then always end.
 */
struct oa_change_scan {
    void *st;
};
int oa_change_scan_begin(struct oa_store *s, struct oa_change_scan *c, int64_t since, int64_t head, int64_t max);
int oa_change_scan_next(struct oa_change_scan *c, struct oa_change *out);
void oa_change_scan_end(struct oa_change_scan *c);

#endif
