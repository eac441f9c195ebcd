/*
 * proto/sync.h: the sync protocol's messages (SYNC.md, sync.cddl), shared by
 * oad and the clients.  Messages are CBOR maps with small integer keys; every
 * message carries the protocol version under key 0 and its type under key 1.
 * Readers ignore keys they do not know and refuse a version they do not.
 */
#ifndef OA_PROTO_SYNC_H
#define OA_PROTO_SYNC_H

#include <cbor.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OA_SYNC_VERSION 1
#define OA_SYNC_MAX_OPS 1000     /* operations in one push */
#define OA_SYNC_MAX_LIMIT 5000   /* entries in one page of changes */

/* Envelope keys (every message). */
enum { OA_K_VERSION = 0, OA_K_TYPE = 1 };

/* "changes": a page of the feed. */
enum { OA_CH_SINCE = 2, OA_CH_NEXT = 3, OA_CH_HEAD = 4, OA_CH_MORE = 5, OA_CH_ENTRIES = 6 };
/* one entry of it */
enum { OA_E_SEQ = 0, OA_E_KIND = 1, OA_E_DOC = 2, OA_E_REV = 3, OA_E_RECORD = 4 };
/* a document record (entry kind "doc"; also a conflict's current version) */
enum {
    OA_D_ID = 0, OA_D_REV = 1, OA_D_KIND = 2, OA_D_STATE = 3, OA_D_TITLE = 4, OA_D_LEVEL = 5, OA_D_NUMBER = 6,
    OA_D_URGENCY = 7, OA_D_UPDATED = 8, OA_D_DRAFTER = 9, OA_D_BODY = 10, OA_D_CACHEABLE = 11, OA_D_DUE = 12,
    OA_D_TODO = 13,
};

/* "push": operations done offline; "pushed": one result each, in order. */
enum { OA_P_OPS = 2 };
enum { OA_OP_ID = 0, OA_OP_KIND = 1, OA_OP_DOC = 2, OA_OP_BASE = 3, OA_OP_FIELDS = 4, OA_OP_ACTION = 5,
       OA_OP_OPINION = 6, OA_OP_PARAMS = 7 };
enum { OA_R_RESULTS = 2 };
enum { OA_RS_ID = 0, OA_RS_OUTCOME = 1, OA_RS_REV = 2, OA_RS_CODE = 3, OA_RS_MESSAGE = 4, OA_RS_CURRENT = 5 };

/* Building: a map with room for n pairs, and a pair under an integer key (the map takes the value). */
cbor_item_t *oa_sync_map(size_t n);
void oa_sync_put(cbor_item_t *map, unsigned key, cbor_item_t *value);
void oa_sync_put_text(cbor_item_t *map, unsigned key, const char *s);
void oa_sync_put_uint(cbor_item_t *map, unsigned key, uint64_t v);
void oa_sync_put_bool(cbor_item_t *map, unsigned key, bool v);
/* A new message map with its envelope (version, type) and room for n more pairs. */
cbor_item_t *oa_sync_message(const char *type, size_t n);

/* Reading: the value under an integer key, or NULL. */
const cbor_item_t *oa_sync_get(const cbor_item_t *map, unsigned key);
/* Typed reads: false when absent or of another type (out untouched). */
bool oa_sync_uint(const cbor_item_t *map, unsigned key, uint64_t *out);
bool oa_sync_bool(const cbor_item_t *map, unsigned key, bool *out);
/* Text into buf (NUL-terminated); false when absent, not text, too long or containing NUL. */
bool oa_sync_text(const cbor_item_t *map, unsigned key, char *buf, size_t cap);

/*
 * Checks a message's envelope: a map whose version is ours and whose type is
 * `type`.  Returns NULL when it is, else a sentence saying what is wrong; a
 * wrong version sets *bad_version.
 */
const char *oa_sync_check(const cbor_item_t *msg, const char *type, bool *bad_version);

#endif
