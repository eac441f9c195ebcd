/*
 * app/doc_view.h: a document as the API shows it (doc_view.c): the item of
 * GET /v1/documents/{id} and of the list pages, the answer to an action,
 * its entity tag.
 */
#ifndef OA_APP_DOC_VIEW_H
#define OA_APP_DOC_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/document.h"
#include "proto/value.h"

struct oa_store;

/* The document's entity tag ("d<id>-<revision>"), for ETag and If-Match. */
void oa_app_doc_etag(const struct oa_doc *d, char *out, size_t n);
/* Puts text v under k, or null when v is empty. */
void oa_app_doc_put_opt(cbor_item_t *m, const char *k, const char *v);
/*
 * The document with its label's scope (read from s); the body (loaded into
 * d when not yet) only when with_body.  The caller owns the item; with the
 * body it has room for two more pairs.
 */
cbor_item_t *oa_app_doc_item(struct oa_store *s, const struct oa_doc *d, bool with_body);
/* The same item written as CBOR into o (no tree): the bytes pv_encode_cbor gives for oa_app_doc_item's. */
void oa_app_doc_item_out(struct pv_out *o, struct oa_store *s, const struct oa_doc *d, bool with_body);
/* The document's revision now: 1 (*revision), 0 no such document, -1 storage failed. */
int oa_app_doc_current_revision(struct oa_store *s, int64_t id, int64_t *revision);
/* What an action changed: the answer to an action, also kept for its retries. */
cbor_item_t *oa_app_doc_state_item(const struct oa_doc *d);

#endif
