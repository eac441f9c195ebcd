/*
 * app/sync_push.h: what a sync push answers beside each operation's
 * outcome (sync_push.c); the operations themselves are the document use
 * cases (doc_write.c, doc_action.c).
 */
#ifndef OA_APP_SYNC_PUSH_H
#define OA_APP_SYNC_PUSH_H

#include <stdbool.h>
#include <stdint.h>

#include "app/audit.h"
#include "proto/value.h"

struct oa_store;

/*
 * The server's current version of document doc_id, for a pushed operation
 * that conflicted: its protocol record as the caller (by) sees it, the body
 * only when clients may keep it on disk (cache_max_level).  NULL when the
 * caller or the document cannot be read.  The caller owns the item.
 */
cbor_item_t *oa_sync_push_current(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id,
                                  unsigned cache_max_level);

/* Whether a change was handed out after change `next` (a long poll's wake-up). */
bool oa_sync_changed_since(int64_t next);

#endif
