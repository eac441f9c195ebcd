/*
 * server/h_doc_write.c: creating a document and editing its draft fields:
 * the use cases are app/doc_write.c's; here the job's fields become theirs
 * and the document the answer.
 * Part of the document routes (h_documents.c), joined by documents-int.h.
 */
#include <string.h>

#include "app/doc_write.h"
#include "server/documents-int.h"
#include "server/handlers.h"

/* The fields the request gave, as the use cases take them. */
static void fields_of(const struct doc_job *j, struct oa_app_doc_fields *f)
{
    *f = (struct oa_app_doc_fields){
        .kind = j->kind, .title = j->title, .body = j->body, .doc_type = j->doc_type, .copy_no = j->copy_no,
        .secrecy_period = j->secrecy_period, .urgency = j->urgency, .main_recipients = j->main_recipients,
        .copied_recipients = j->copied_recipients, .attachment_note = j->attachment_note, .doc_date = j->doc_date,
        .note = j->note, .printing_organ = j->printing_organ, .printing_date = j->printing_date,
        .level = j->level, .has_level = j->has_level,
        .has_scope = j->scope != NULL, .scope = (const char *const *)j->scope_v, .nscope = j->nscope,
        .declass_date = j->declass_date, .derived_from = j->derived_from, .opinion = j->opinion,
    };
}

int oa__doc_run_create(struct oa_store *s, struct doc_job *j)
{
    struct oa_app_doc_fields f;
    fields_of(j, &f);
    struct oa_app_outcome o = {0};
    struct oa_doc d;
    int rc = oa_app_doc_create(s, OA_REQ_ACTOR(j->base.r), &f, &d, &o);
    if (rc != 0 || o.end != OA_APP_DONE) {
        oa_doc_free(&d);
        return rc != 0 ? rc : oa__doc_end(j, &o);
    }
    return oa__doc_answer(s, j, &d, 201);
}

int oa__doc_run_edit(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    struct oa_doc d;
    int rc;
    if (!oa__doc_open(s, j, &me, &d, "document.edit", &rc))
        return rc;
    if ((rc = oa__doc_guard_filed(s, j, &d, "document.edit")) >= 0)
        return rc;
    struct oa_app_doc_fields f;
    fields_of(j, &f);
    struct oa_app_outcome o = {0};
    rc = oa_app_doc_edit(s, OA_REQ_ACTOR(j->base.r), &me, &d, &f, j->base.r->if_match, j->from_sync, &o);
    if (rc != 0 || o.end != OA_APP_DONE) {
        oa_doc_free(&d);
        return rc != 0 ? rc : oa__doc_end(j, &o);
    }
    return oa__doc_answer(s, j, &d, 200);
}
