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
#include "model/doc_query.h"
#include "model/document.h"
#include "proto/value.h"

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
/*
 * The same page with its documents written as list items (oa_app_doc_item_out
 * without the body), one after another, at the end of `items` (the caller's,
 * who frees it whatever this returns); out->docs stays NULL.  An item comes
 * from the reader's cache (storage/doc_items.h) when it holds the document's
 * current one.  The decisions and the audit are oa_doc_list's, for every
 * document.  0 or -1.
 */
int oa_doc_list_items(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me,
                      struct oa_doc_query *q, struct oa_doc_page *out, struct pv_out *items);
void oa_doc_page_free(struct oa_doc_page *p);

#endif
