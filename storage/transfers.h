/*
 * storage/transfers.h: the rows of transfers to the archive (#16, 移交,
 * migration 14): a batch of filed records, the check report it was sent
 * with, and the archive's receipt.
 */
#ifndef OA_STORAGE_TRANSFERS_H
#define OA_STORAGE_TRANSFERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"
#include "workflow/records.h" /* OA_TRANSFER_MAX */


struct oa_transfer_row {
    int64_t id, created_by, created_at, received_at, recorded_by;
    char archive[256], state[16], received_by[256];
    char *report;  /* malloc'd (oa_transfer_free) */
    char *receipt; /* malloc'd, NULL until received */
};
void oa_transfer_free(struct oa_transfer_row *t);

/* Inserts a batch and its items in order; its id in *id.  0 or -1. */
int oa_transfer_insert(struct oa_store *s, const char *archive, int64_t by, int64_t at, const char *report,
                       const int64_t *docs, size_t n, int64_t *id);
/* 1 found (the caller frees with oa_transfer_free), 0 none, -1 error. */
int oa_transfer_load(struct oa_store *s, int64_t id, struct oa_transfer_row *t);
/* The batch's documents in order, malloc'd (*n of them; NULL when none); -1 on error in *rc. */
int64_t *oa_transfer_docs(struct oa_store *s, int64_t id, size_t *n, int *rc);
/* 1 when the record is in a batch not yet received or already received (sent once), 0 not, -1 error. */
int oa_transfer_has_doc(struct oa_store *s, int64_t doc_id);
/*
 * Records the archive's receipt and marks the batch's records transferred,
 * when the batch is still 'sent': 0, 1 when it was received already, -1 error.
 */
int oa_transfer_receive(struct oa_store *s, int64_t id, const char *receipt, const char *received_by, int64_t at,
                        int64_t recorded_by);

#endif
