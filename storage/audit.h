/*
 * storage/audit.h: the tamper-evident audit trail.
 *
 * Every entry is encoded as deterministic CBOR (a map with integer keys 1..14
 * in ascending order, definite lengths, shortest integers, null for absent
 * values) and its leaf hash SHA-256(0x00 || entry) is stored with it, in the
 * transaction of the change it records.  The entries, in id order, are the
 * leaves of a Merkle tree (RFC 9162).  At least once a second while entries
 * arrive, the writer records a checkpoint: tree size, root hash and time,
 * signed with the server's Ed25519 key (derived from the key file's
 * audit-sign seed).  A deleted, edited, reordered or truncated entry no
 * longer matches a signed root, and oad audit verify says where.
 */
#ifndef OA_STORAGE_AUDIT_H
#define OA_STORAGE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/merkle.h"
#include "storage/store.h"

/* One entry as stored. */
struct oa_audit_row {
    int64_t id, at, actor_id, doc_id;
    int label; /* -1 when none */
    char actor[72], on_behalf[72], event[64], target[160], from_state[32], to_state[32], source[64],
        outcome[16], detail[512];
    bool has_actor_id, has_doc_id, has_label, has_actor, has_on_behalf, has_target, has_from, has_to,
        has_source, has_detail;
    oa_hash leaf; /* as stored */
};

/* The deterministic CBOR of an entry, malloc'd; *len its length. */
unsigned char *oa_audit_encode(const struct oa_audit_row *row, size_t *len);
/* The leaf hash an entry should have. */
void oa_audit_leaf(const struct oa_audit_row *row, oa_hash out);

/* The writer's view of the log. */
struct oa_audit_log {
    struct oa_merkle_acc acc;   /* every committed entry so far */
    uint64_t checkpoint_size;   /* size at the last checkpoint */
    uint64_t checkpoint_ms;     /* when (monotonic ms) */
    unsigned char pk[32], sk[64];
    bool signing;
};

/* Derives the signing key pair from the key file's seed. */
void oa_audit_keypair(const unsigned char seed[32], unsigned char pk[32], unsigned char sk[64]);

/* Reads every stored leaf into log->acc, and the last checkpoint; 0 or -1. */
int oa_audit_log_load(struct oa_store *s, struct oa_audit_log *log);
/* Appends the leaves committed since; 0 or -1. */
int oa_audit_log_catch_up(struct oa_store *s, struct oa_audit_log *log);
/* Signs and stores a checkpoint of the current tree in its own transaction; 0 or -1. */
int oa_audit_log_checkpoint(struct oa_store *s, struct oa_audit_log *log, uint64_t now_ms);

/* The message a checkpoint's signature covers. */
size_t oa_audit_checkpoint_message(uint64_t size, const oa_hash root, int64_t at, char *out, size_t cap);

/* Reads leaves [0, n) into a malloc'd array (NULL on error). */
oa_hash *oa_audit_leaves(struct oa_store *s, uint64_t n);

/* Fills a row from a SELECT of the audit_log columns in table order; returns 0. */
int oa_audit_row_read(void *stmt, struct oa_audit_row *row);
#define OA_AUDIT_COLUMNS                                                                              \
    "id, at, actor_id, actor, on_behalf, event, target, doc_id, label, from_state, to_state, source," \
    " outcome, detail, leaf"

/*
 * Recomputes the whole log offline: every entry's leaf from its fields,
 * contiguous ids, every checkpoint's signature (with pk) and root, and that
 * no checkpoint covers more entries than exist.  Returns 0 when all holds,
 * 1 when something was tampered with (report names the first bad entry or
 * range), -1 when the database could not be read.
 */
int oa_audit_verify(struct oa_store *s, const unsigned char pk[32], char *report, size_t cap,
                    uint64_t *entries, uint64_t *checkpoints);

#endif
