/*
 * app/doc_action.h: taking a lifecycle action on a document (doc_action.c),
 * the use case behind POST /v1/documents/{id}/actions and a pushed "act"
 * operation.  Runs on the writer thread, inside the caller's transaction.
 */
#ifndef OA_APP_DOC_ACTION_H
#define OA_APP_DOC_ACTION_H

#include <stdint.h>

#include "app/audit.h"
#include "app/outcome.h"
#include "model/account.h"
#include "model/document.h"
#include "proto/errors.h"
#include "proto/value.h"

/* The most names one list in params may hold (countersigners, readers, recipients). */
#define OA_ACTION_MAX_NAMES 64

/* One action as asked; the strings and params stay the caller's. */
struct oa_doc_action {
    int64_t doc_id;
    const char *action;          /* "approve", "sign", ... (workflow/flow_*.c) */
    const char *opinion;         /* the written opinion (意见), or NULL */
    const char *on_behalf;       /* the username of whom the caller acts for, or NULL */
    const cbor_item_t *params;   /* a map, or NULL */
};

/* What came of it. */
struct oa_doc_action_result {
    struct oa_app_outcome outcome;
    struct oa_doc doc;     /* done: the document as it is now; the caller frees it (oa_doc_free) */
    int64_t step_id;       /* done: the step recorded */
};

/*
 * Takes action a for `me` (acting for a->on_behalf when given, through
 * that person's active delegation), as `by` in the audit trail.  Decides
 * through workflow/docflow.c oa_flow_step, then applies the answer's
 * effects, one function per effect, the step, the queue and the audit.
 *
 * Returns out->outcome.end: OA_APP_DONE; OA_APP_REFUSED (a refusal before
 * anything was written, audited: the transaction commits so that the audit
 * entry stays); OA_APP_UNDONE (refused or failed after the action wrote
 * something, or storage failed: the caller rolls back).
 */
enum oa_app_end oa_doc_act(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me,
               const struct oa_doc_action *a, struct oa_doc_action_result *out);

/*
 * A retried request answers as the first did: the answer to an action,
 * kept under the caller's key (key) with the action's result.
 */
struct oa_doc_action_answer {
    int status;             /* 200 */
    unsigned char *bytes;   /* the answer, CBOR ({document, step_id}); the caller frees it */
    size_t len;
};
/*
 * Takes action a once per key: the first time as oa_doc_act, keeping its
 * answer; a retry gets the kept answer without acting again.  `me` is the
 * caller as oa_doc_act takes them.  0 with *ans filled (done, or a retry),
 * or refused/undone (*o, nothing in ans), or OA_E_STORAGE.
 */
int oa_doc_act_once(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me, const char *key,
                    const struct oa_doc_action *a, struct oa_doc_action_answer *ans, struct oa_app_outcome *o);

/*
 * The answer kept under key for the caller: 1 found (*status, *body (the
 * caller frees it), *len), 0 none, -1 storage failed.
 */
int oa_app_answer_recall(struct oa_store *s, const struct oa_app_actor *by, const char *key, int *status,
                         unsigned char **body, size_t *len);
/* Keeps an answer under key for the caller (a sync push keeps the revision it made as its status).  0 or -1. */
int oa_app_answer_keep(struct oa_store *s, const struct oa_app_actor *by, const char *key, int status,
                       const void *body, size_t len);

#endif
