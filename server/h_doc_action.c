/*
 * server/h_doc_action.c: lifecycle actions (POST /v1/documents/{id}/actions):
 * a retried request answers as the first did (the idempotency key), the
 * action itself is the use case app/doc_action.c, and the answer is
 * encoded here.  Part of the document routes (h_documents.c), joined by
 * documents-int.h.
 */
#include <stdlib.h>

#include "app/doc_action.h"
#include "proto/value.h"
#include "server/documents-int.h"
#include "server/handlers.h"
#include "server/server.h"
#include "storage/documents.h"

int oa__doc_run_action(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    int rc;

    /* A retried request answers as the first did. */
    unsigned char *stored = NULL;
    size_t stored_len = 0;
    int stored_status = 0;
    rc = oa_idem_get(s, j->r->who.user_id, j->idem_key, &stored_status, &stored, &stored_len);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 1) {
        cbor_item_t *item = NULL;
        enum oa_err e = pv_decode_cbor(stored, stored_len, &item, NULL, 0);
        free(stored);
        if (e != OA_E_OK)
            return OA_E_STORAGE;
        j->status = stored_status;
        j->out = item;
        return 0;
    }

    if (oa__doc_me_from_session(s, j, &me) != 0)
        return OA_E_STORAGE;
    struct oa_doc_action a = {j->id, j->action, j->opinion, j->on_behalf, j->params};
    struct oa_doc_action_result res;
    if (oa_doc_act(s, OA_REQ_ACTOR(j->r), &me, &a, &res) != OA_APP_DONE)
        return oa__doc_end(j, &res.outcome);

    cbor_item_t *out = pv_map(2);
    pv_put(out, "document", oa_app_doc_state_item(&res.doc));
    pv_put_int(out, "step_id", res.step_id);
    oa_doc_free(&res.doc);
    size_t len = 0;
    unsigned char *enc = pv_encode_cbor(out, &len);
    rc = enc ? oa_idem_put(s, me.id, j->idem_key, 200, enc, len) : -1;
    if (rc != 0) {
        free(enc);
        cbor_decref(&out);
        return OA_E_STORAGE;
    }
    j->status = 200;
    if (j->r->out_fmt == OA_FMT_CBOR) {
        j->bytes = enc; /* the same bytes a retry gets */
        j->nbytes = len;
        cbor_decref(&out);
    } else {
        free(enc);
        j->out = out;
    }
    return 0;
}
