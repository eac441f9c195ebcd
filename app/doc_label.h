/*
 * app/doc_label.h: a document's label after it was made (doc_label.c):
 * relabelling and declassification by secadmin or a named declassifier,
 * and the review list of labels whose declassification date has come.
 */
#ifndef OA_APP_DOC_LABEL_H
#define OA_APP_DOC_LABEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/accounts.h"
#include "app/audit.h"
#include "app/outcome.h"
#include "proto/value.h"

struct oa_store;

/* A label change as asked; absent parts (has_* false, NULL) stay as they are. */
struct oa_app_relabel {
    int64_t doc_id;
    bool has_level;
    int64_t level;
    bool has_scope;
    const char *const *scope;
    size_t nscope;
    const char *declass_date;
    const char *reason;                        /* required: recorded with the step */
    const struct oa_app_second_factor *step_up; /* secadmin's change needs a current code */
};

/*
 * Changes a document's label: level, scope, declassification date.
 * Lowering a level or widening a scope is declassification, a recorded
 * step; secadmin sees the label, never the text (everyone else passes the
 * read gate, and a document they may not see answers as a missing one).
 * *out: {id, level, level_name, declass_date, revision} (the caller owns
 * it).  0 (refusals in o, audited where the rules say) or OA_E_STORAGE.
 */
int oa_app_doc_relabel(struct oa_store *s, const struct oa_app_actor *by, const struct oa_app_relabel *rl,
                       cbor_item_t **out, struct oa_app_outcome *o);

/*
 * Labels whose declassification date has come (today, local time), for
 * secadmin or a declassifier to review: never lowered silently.  *out:
 * {documents: [...]}.  0 (refused in o) or OA_E_STORAGE.
 */
int oa_app_labels_expired(struct oa_store *s, const struct oa_app_actor *by, cbor_item_t **out,
                          struct oa_app_outcome *o);

#endif
