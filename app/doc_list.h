/*
 * app/doc_list.h: a page of a document list (doc_list.c): all documents,
 * the to-do list or the done list, filtered and searched.  Runs on the
 * writer thread, inside the caller's job.
 */
#ifndef OA_APP_DOC_LIST_H
#define OA_APP_DOC_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/audit.h"
#include "model/account.h"
#include "storage/doc_list.h"
#include "model/document.h"

/* A page: the documents `me` may see, in id order. */
struct oa_doc_page {
    struct oa_doc *docs; /* n loaded documents, without bodies; oa_doc_page_free frees them */
    size_t n;
    bool full;           /* the query filled the page: there may be more after next_after */
    int64_t next_after;  /* the last document shown, the cursor of the next page (never an unseen id) */
};

/*
 * Lists the page q asks for (its filters, view, cursor and limit; this
 * fills in who asks from `me`, the level `me` may read and today).  Each
 * document passes the one read decision (app/doc_read.c); classified
 * documents shown are audited, one entry per page, by `by`.  Returns 0 or
 * -1 (storage).
 */
int oa_doc_list(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me, struct oa_doc_query *q,
                struct oa_doc_page *out);
void oa_doc_page_free(struct oa_doc_page *p);

#endif
