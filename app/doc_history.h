/*
 * app/doc_history.h: a document's history as the API shows it -- its steps
 * with their opinions, its text revisions, its participants and the chases
 * on it -- and one earlier text.  The caller has passed the read gate
 * (doc_read.h) and audited the read; the SQL is storage/doc_history.c's.
 */
#ifndef OA_APP_DOC_HISTORY_H
#define OA_APP_DOC_HISTORY_H

#include <stdint.h>

#include "proto/value.h"

struct oa_store;

/* {"steps", "revisions", "participants", "chases"}: 0, or -1 on a storage error. */
int oa_app_doc_history(struct oa_store *s, int64_t doc, cbor_item_t **out);
/* {revision, at, changed, title, body, author}: 1, 0 when doc has no revision n, -1 on error. */
int oa_app_doc_revision(struct oa_store *s, int64_t doc, int64_t n, cbor_item_t **out);

#endif
