/*
 * app/doc_act_once.c: a lifecycle action under an idempotency key, and the
 * answers kept for retries (see doc_action.h).
 */
#include <stdlib.h>

#include "app/doc_action.h"
#include "app/doc_view.h"
#include "storage/documents.h"

int oa_app_answer_recall(struct oa_store *s, const struct oa_app_actor *by, const char *key, int *status,
                         unsigned char **body, size_t *len)
{
    return oa_idem_get(s, by->user_id, key, status, body, len);
}

int oa_app_answer_keep(struct oa_store *s, const struct oa_app_actor *by, const char *key, int status,
                       const void *body, size_t len)
{
    return oa_idem_put(s, by->user_id, key, status, body, len);
}

int oa_doc_act_once(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me, const char *key,
                    const struct oa_doc_action *a, struct oa_doc_action_answer *ans, struct oa_app_outcome *o)
{
    *ans = (struct oa_doc_action_answer){0};
    int rc = oa_app_answer_recall(s, by, key, &ans->status, &ans->bytes, &ans->len);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 1)
        return 0;
    struct oa_doc_action_result res;
    if (oa_doc_act(s, by, me, a, &res) != OA_APP_DONE) {
        *o = res.outcome;
        return 0;
    }
    cbor_item_t *out = pv_map(2);
    pv_put(out, "document", oa_app_doc_state_item(&res.doc));
    pv_put_int(out, "step_id", res.step_id);
    oa_doc_free(&res.doc);
    ans->status = 200;
    ans->bytes = pv_encode_cbor(out, &ans->len);
    cbor_decref(&out);
    if (ans->bytes == NULL || oa_app_answer_keep(s, by, key, 200, ans->bytes, ans->len) != 0) {
        free(ans->bytes);
        ans->bytes = NULL;
        return OA_E_STORAGE;
    }
    return 0;
}
