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
 * audit-sign seed) as a C2SP signed note in the tlog-checkpoint format, so
 * that any verifier of those formats checks it with the published verifier
 * key.  A deleted, edited, reordered or truncated entry no longer matches a
 * signed root, and oad audit verify says where.
 */
#ifndef OA_STORAGE_AUDIT_H
#define OA_STORAGE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/audit.h"
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

/* Room for the log's origin with its NUL ("oa.audit/" and 16 hex digits). */
#define OA_AUDIT_ORIGIN_MAX 64
/* Room for a whole signed note. */
#define OA_AUDIT_NOTE_MAX 512
/* Room for a verifier key with its NUL. */
#define OA_AUDIT_VKEY_MAX (OA_AUDIT_ORIGIN_MAX + 64)

/* The writer's view of the log. */
struct oa_audit_log {
    struct oa_merkle_acc acc;   /* every committed entry so far */
    uint64_t checkpoint_size;   /* size at the last checkpoint */
    uint64_t checkpoint_ms;     /* when (monotonic ms) */
    unsigned char pk[32], sk[64];
    char origin[OA_AUDIT_ORIGIN_MAX]; /* read from the database when first needed */
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

/*
 * The log's origin, which is also its signing key's name: "oa.audit/" and 16
 * random hex digits, chosen once per database (schema migration 10, kept in
 * meta) and never changed.  Returns 0, or -1 when the database has none (an
 * older schema) or holds one that is not a valid key name.
 */
int oa_audit_origin(struct oa_store *s, char *out, size_t cap);

/* The signed-note key ID of an Ed25519 key: SHA-256(name || 0x0a || 0x01 || pk)[:4]. */
void oa_audit_key_id(const char *name, const unsigned char pk[32], unsigned char id[4]);
/*
 * The verifier key to publish, "<name>+<key ID, 8 hex digits>+<base64(0x01 ||
 * pk)>" (golang.org/x/mod/sumdb/note's vkey).  Returns its length, 0 when cap
 * is too small.
 */
size_t oa_audit_vkey(const char *name, const unsigned char pk[32], char *out, size_t cap);
/*
 * The note text a checkpoint signs (tlog-checkpoint): the origin, the tree
 * size in decimal, the root in standard padded base64, and one extension line
 * "time <at in decimal seconds>", each ending in a line feed.  Returns its
 * length, 0 when cap is too small.
 */
size_t oa_audit_note_text(const char *origin, uint64_t size, const oa_hash root, int64_t at, char *out, size_t cap);
/*
 * The whole signed note: the text above, a blank line and the signature line
 * "— <origin> <base64(key ID || sig)>\n", NUL-terminated.  Returns its
 * length, 0 when cap is too small.
 */
size_t oa_audit_note(const char *origin, uint64_t size, const oa_hash root, int64_t at, const unsigned char pk[32],
                     const unsigned char sig[64], char *out, size_t cap);
/* The message of a checkpoint signed before migration 10 (origin NULL): "oa audit checkpoint v1\n...". */
size_t oa_audit_checkpoint_message(uint64_t size, const oa_hash root, int64_t at, char *out, size_t cap);

/* Reads leaves [0, n) into a malloc'd array (NULL on error). */
oa_hash *oa_audit_leaves(struct oa_store *s, uint64_t n);

/*
 * Entries that oa_audit kept on a reader's connection (audit_deferred), in
 * the order recorded.  take moves them out of the store (NULL when none; the
 * caller owns them and frees them with free); apply inserts them in the
 * current transaction, each with the next id and the time of insertion
 * (writer thread), 0 or -1.
 */
struct oa_audit_pending;
struct oa_audit_pending *oa_audit_pending_take(struct oa_store *s);
int oa_audit_pending_apply(struct oa_store *s, const struct oa_audit_pending *p);
void oa_audit_pending_free(struct oa_audit_pending *p);

/* Fills a row from a SELECT of the audit_log columns in table order; returns 0. */
int oa_audit_row_read(void *stmt, struct oa_audit_row *row);

/* The latest signed checkpoint. */
struct oa_checkpoint {
    uint64_t size;
    oa_hash root;
    int64_t at;
    unsigned char sig[64];
    char origin[128]; /* "" for a checkpoint signed before notes */
};
/* 1 found, 0 none signed yet, -1 error. */
int oa_audit_checkpoint_latest(struct oa_store *s, struct oa_checkpoint *cp);

/* struct oa_audit_filter, which entries: model/audit.h. */
/* Calls fn for each entry the filter selects, in id order; 0, or -1 on error. */
int oa_audit_rows_each(struct oa_store *s, const struct oa_audit_filter *f,
                       void (*fn)(void *arg, const struct oa_audit_row *row), void *arg);
/* Calls fn for each entry with a <= id <= b, in id order; 0, or -1 on error. */
int oa_audit_rows_range(struct oa_store *s, int64_t a, int64_t b,
                        void (*fn)(void *arg, const struct oa_audit_row *row), void *arg);
#define OA_AUDIT_COLUMNS                                                                              \
    "id, at, actor_id, actor, on_behalf, event, target, doc_id, label, from_state, to_state, source," \
    " outcome, detail, leaf"

/*
 * Recomputes the whole log offline: every entry's leaf from its fields,
 * contiguous ids, every checkpoint's signature (with pk: a note's under this
 * log's origin, an older checkpoint's over its v1 message) and root, and that
 * no checkpoint covers more entries than exist.  Returns 0 when all holds,
 * 1 when something was tampered with (report names the first bad entry or
 * range), -1 when the database could not be read.
 */
int oa_audit_verify(struct oa_store *s, const unsigned char pk[32], char *report, size_t cap,
                    uint64_t *entries, uint64_t *checkpoints);

#endif
