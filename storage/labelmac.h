/*
 * storage/labelmac.h: the integrity of a document's security label
 * (GB/T 39786-2021 8.4 c; #17).
 *
 * A document's level, declassification date and need-to-know scope decide
 * who reads it.  They are bound by an HMAC-SHA256 stored with the row
 * (documents.label_mac, migration 15), under a key derived by HKDF-SHA256
 * from the key file's audit signing seed (which never rotates): editing a
 * label on disk, or moving one row's label to another, without the key file
 * is detected by the one read gate (app/doc_read.c).  Every write of a label
 * (oa_doc_insert, oa_doc_save, oa_doc_scope_set) recomputes it.
 *
 * The MAC covers, in this order: "oa-label-v1", the document id (8 bytes,
 * big-endian), the level (1 byte), the declassification date (4-byte length,
 * bytes), the scoped flag (1 byte) and, when scoped, each scope entry in
 * ascending byte order (4-byte length, bytes).
 */
#ifndef OA_STORAGE_LABELMAC_H
#define OA_STORAGE_LABELMAC_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/store.h"

#define OA_LABEL_MAC_LEN 32

struct oa_doc;

/*
 * Derives the label key from the key file's audit seed and keeps it for the
 * process (every thread reads it; set it before starting any).  Until it is
 * set, labels are written without a MAC and every check fails (fail closed).
 */
int oa_labelmac_key(const unsigned char audit_seed[32]);
/* Wipes the label key. */
void oa_labelmac_forget(void);

/* Recomputes and stores document d's label MAC from its row and scope rows.  0 or -1. */
int oa_doc_label_seal(struct oa_store *s, int64_t doc_id);
/*
 * The MAC of d's label as d holds it (level, date, scoped flag) with its
 * scope rows as stored: 1 made, 0 no key (the label goes unsealed), -1
 * storage error.  oa_doc_save writes it with the row, in the same UPDATE,
 * when the row's scoped flag is d's.
 */
int oa_doc_label_mac_of(struct oa_store *s, const struct oa_doc *d, unsigned char mac[OA_LABEL_MAC_LEN]);

/*
 * Checks d's label (d as oa_doc_load read it, with its label_mac) against
 * its MAC: 1 intact, 0 tampered (or no MAC, or no key), -1 storage error.
 * Each thread remembers the last unscoped labels it found intact (a bounded
 * table, labelmac.c): the same id, level, date and MAC under the same key
 * are not hashed again; anything else is.
 */
int oa_doc_label_check(struct oa_store *s, const struct oa_doc *d);

/*
 * Gives every document that has no label MAC one (the rows migration 15
 * found), once per database: meta label_mac_filled records that it ran, and
 * from then on a missing MAC is tampering.  Inside its own transaction; the
 * number sealed in *n.  0 or -1.
 */
int oa_doc_label_fill(struct oa_store *s, int *n);

#endif
