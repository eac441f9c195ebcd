/*
 * server/h_doc_label.c: the label routes: relabelling and declassification
 * (PUT /v1/documents/{id}/label) and the review list of labels due for
 * declassification.  HTTP only: the use cases are app/doc_label.c's.
 * Part of the document routes (h_documents.c), joined by documents-int.h.
 */
#include "app/doc_label.h"
#include "server/documents-int.h"
#include "server/handlers.h"
#include "server/server.h"

int oa__doc_run_relabel(struct oa_store *s, struct doc_job *j)
{
    const struct oa_config *cfg = j->base.r->srv->cfg;
    const struct oa_app_second_factor f = {j->base.r->srv->keys, j->base.r->otp, cfg->lockout_threshold, cfg->lockout_s};
    const struct oa_app_relabel rl = {
        .doc_id = j->id, .has_level = j->has_level, .level = j->level, .has_scope = j->scope != NULL,
        .scope = (const char *const *)j->scope_v, .nscope = j->nscope, .declass_date = j->declass_date,
        .reason = j->reason, .step_up = &f,
    };
    struct oa_app_outcome o = {0};
    int rc = oa_app_doc_relabel(s, OA_REQ_ACTOR(j->base.r), &rl, &j->base.out, &o);
    if (rc != 0 || o.end != OA_APP_DONE)
        return rc != 0 ? rc : oa__doc_end(j, &o);
    j->base.status = 200;
    return 0;
}

int oa__doc_run_expired(struct oa_store *s, struct doc_job *j)
{
    struct oa_app_outcome o = {0};
    int rc = oa_app_labels_expired(s, OA_REQ_ACTOR(j->base.r), &j->base.out, &o);
    if (rc != 0 || o.end != OA_APP_DONE)
        return rc != 0 ? rc : oa__doc_end(j, &o);
    j->base.status = 200;
    return 0;
}
