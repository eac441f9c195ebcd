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

int oa__doc_run_action(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    if (oa__doc_me_from_session(s, j, &me) != 0)
        return OA_E_STORAGE;
    struct oa_doc_action a = {j->id, j->action, j->opinion, j->on_behalf, j->params};
    struct oa_doc_action_answer ans;
    struct oa_app_outcome o = {0};
    int rc = oa_doc_act_once(s, OA_REQ_ACTOR(j->base.r), &me, j->idem_key, &a, &ans, &o);
    if (rc != 0)
        return rc;
    if (o.end != OA_APP_DONE)
        return oa__doc_end(j, &o);
    j->base.status = ans.status;
    if (j->base.r->out_fmt == OA_FMT_CBOR) {
        j->base.bytes = ans.bytes; /* the same bytes a retry gets */
        j->base.nbytes = ans.len;
        return 0;
    }
    enum oa_err e = pv_decode_cbor(ans.bytes, ans.len, &j->base.out, NULL, 0);
    free(ans.bytes);
    return e == OA_E_OK ? 0 : OA_E_STORAGE;
}
