/*
 * server/h_doc_list.c: the document list (to-do, done, all, filters, search:
 * the use case app/doc_list.c, the query storage/doc_list.c; this encodes
 * the page).  The label routes are h_doc_label.c.
 * Part of the document routes (h_documents.c), joined by documents-int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/doc_list.h"
#include "app/doc_read.h"
#include "app/doc_steps.h"
#include "proto/alloc.h"
#include "proto/value.h"
#include "server/documents-int.h"
#include "server/handlers.h"
#include "server/server.h"
#include "workflow/access.h"
#include "workflow/calendar.h"
#include "workflow/deadline.h"
#include "workflow/docflow.h"

/* ---- lists ---- */

int oa__doc_run_list(struct oa_store *s, struct doc_job *j)
{
    struct oa_user me;
    if (oa__doc_load_me(s, j, &me) != 0)
        return OA_E_STORAGE;
    struct oa_doc_query q = {
        .view = strcmp(j->view, "todo") == 0 ? OA_VIEW_TODO : strcmp(j->view, "done") == 0 ? OA_VIEW_DONE : OA_VIEW_ALL,
        .state = j->state,
        .kind = j->kind,
        .number = j->number,
        .from = j->from,
        .to = j->to,
        .overdue = j->overdue,
        .q = j->q,
        .after = j->after,
        .limit = j->limit,
    };
    struct oa_doc_page page;
    if (j->base.r->out_fmt == OA_FMT_CBOR) {
        /* A CBOR answer is written as it goes, without an item tree; the items come encoded. */
        struct pv_out out = {0};
        pv_out_map(&out, 2);
        pv_out_text(&out, "documents");
        size_t head = pv_out_array_later(&out);
        if (oa_doc_list_items(s, OA_REQ_ACTOR(j->base.r), &me, &q, &page, &out) != 0) {
            free(out.p);
            return OA_E_STORAGE;
        }
        pv_out_array_set(&out, head, page.n);
        /* The cursor is the last document this caller was shown, never an id
         * they were not: a full page of visible documents goes on after it. */
        pv_out_text(&out, "next_after");
        if (page.full && page.n > 0)
            pv_out_int(&out, page.next_after);
        else
            pv_out_null(&out);
        oa_doc_page_free(&page);
        j->base.status = 200;
        j->base.bytes = out.p;
        j->base.nbytes = out.n;
        return 0;
    }
    if (oa_doc_list(s, OA_REQ_ACTOR(j->base.r), &me, &q, &page) != 0)
        return OA_E_STORAGE;
    bool more = page.full && page.n > 0;
    j->base.status = 200;
    cbor_item_t *arr = pv_array(page.n);
    for (size_t i = 0; i < page.n; i++)
        pv_push(arr, oa_app_doc_item(s, &page.docs[i], false));
    cbor_item_t *out = pv_map(2);
    pv_put(out, "documents", arr);
    if (more)
        pv_put_int(out, "next_after", page.next_after);
    else
        pv_put_text(out, "next_after", NULL);
    oa_doc_page_free(&page);
    j->base.out = out;
    return 0;
}
