/*
 * app/transfer.h: transfers of filed records to the archive (移交, #16),
 * the use cases over storage/transfers.c and app/aip.c.  A records officer
 * makes a batch of records that all pass the four-property check (the
 * batch's report is kept with it), downloads its package with the transfer
 * list (移交清单), and records the archive's receipt, which marks the
 * records transferred.  Each runs in a writer job and returns 0 (o says
 * done or refused) or an enum oa_err.
 */
#ifndef OA_APP_TRANSFER_H
#define OA_APP_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/aip.h"
#include "app/audit.h"
#include "app/outcome.h"
#include "proto/value.h"
#include "workflow/records.h"

/* docs: the documents of filed records, in the order of the list (1 to OA_TRANSFER_MAX, no repeats). */
int oa_transfer_create(struct oa_store *s, const struct oa_aip_env *env, const struct oa_app_actor *by,
                       const int64_t *docs, size_t n, const char *archive, struct oa_app_outcome *o,
                       cbor_item_t **out);
/* The batch: {id, archive, state, created_at, items (the transfer list), report, receipt?}. */
int oa_transfer_get(struct oa_store *s, const struct oa_app_actor *by, int64_t id, struct oa_app_outcome *o,
                    cbor_item_t **out);
/* The batch's package (enveloped when any record is 秘密 or above; see oa_aip_record_package). */
int oa_transfer_package(struct oa_store *s, const struct oa_aip_env *env, const struct oa_app_actor *by, int64_t id,
                        const char *recipient_cert, unsigned char **out, size_t *len, bool *enveloped,
                        struct oa_app_outcome *o);
/* Records the archive's receipt (回执) once; the batch's records become transferred. */
int oa_transfer_receipt(struct oa_store *s, const struct oa_app_actor *by, int64_t id, const char *receipt,
                        const char *received_by, struct oa_app_outcome *o, cbor_item_t **out);

#endif
