/*
 * app/gateway-int.h: what app/gateway.c shares with app/publication.c
 * (主动公开); nobody else includes it.
 */
#ifndef OA_APP_GATEWAY_INT_H
#define OA_APP_GATEWAY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/value.h"

struct oa_store;

/*
 * Adds an outbox item of `type` for doc_id: `content` (consumed) encoded as
 * CBOR, with doc_id's current attachments when with_files.  Its id in *id.
 * 0 or -1.
 */
int oa__gw_outbox_put(struct oa_store *s, const char *type, int64_t doc_id, const char *request_ref,
                      cbor_item_t *content, bool with_files, int64_t *id);

#endif
