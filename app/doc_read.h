/*
 * app/doc_read.h: the one document read gate and its audit (doc_read.c),
 * used by the document, attachment, sync and around-document handlers.
 * Every function runs on the writer thread, inside a job.
 */
#ifndef OA_APP_DOC_READ_H
#define OA_APP_DOC_READ_H

#include <stdbool.h>
#include <stdint.h>

#include "app/audit.h"
#include "proto/errors.h"

struct oa_store;

struct oa_user;
struct oa_doc;

/*
 * Whether d's label (level, scope, declassification date) is the one oad
 * wrote (storage/labelmac.h).  A tampered label is audited as
 * document.label_tampered under `what`.  1 intact, 0 tampered, -1 storage
 * error.  Every function below checks it first.
 */
int oa_doc_label_intact(struct oa_store *s, const struct oa_app_actor *by, const struct oa_doc *d,
                        const char *what);
/* The one read decision (level and scope) for a document id. */
bool oa_doc_readable(struct oa_store *s, const struct oa_user *who, int64_t doc_id);
/* Whether `who` may read `d` (the one decision; no audit). */
bool oa_doc_visible(struct oa_store *s, const struct oa_user *who, const struct oa_doc *d);
/*
 * The read gate: may `who` see `d`?  A refusal of a classified or scoped
 * document, or any refusal of an administrator, is audited under `what`.
 * Returns 1 allowed, 0 refused, -1 storage error.
 */
int oa_doc_gate_read(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *who,
                     const struct oa_doc *d, const char *what);
/*
 * Opens document doc_id for `by` (read fresh into *me) through the read
 * gate (a refusal of a classified document is audited under `what`); with
 * `edit`, also asks the document's state machine whether the caller may
 * edit it now (a refusal is audited).  Returns 1 (d loaded; the caller frees it), 0 refused (*err,
 * *message: a not-found answer for what may not be read; OA_E_LABEL_TAMPERED when the label was
 * edited outside oad and, as edited, lets the caller in), -1 storage error.
 */
int oa_doc_open_for(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, bool edit, const char *what,
                    struct oa_user *me, struct oa_doc *d, enum oa_err *err, const char **message);

#endif
