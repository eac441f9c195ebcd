/*
 * storage/doc_list.h: the SQL of the document lists (doc_list.c): all
 * documents, the to-do list and the done list, with their filters and
 * the text search.  Which documents a person may see and what is audited
 * are the use case's (app/doc_list.c); this only runs the query.
 */
#ifndef OA_STORAGE_DOC_LIST_H
#define OA_STORAGE_DOC_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/doc_query.h"
#include "storage/store.h"

struct oa_doc;

/*
 * The ids of the page, in id order, into ids[OA_DOC_PAGE_MAX]; *n their
 * count.  The scope is narrowed in SQL too, so that a page holds only
 * documents the person may see (the caller still decides each).  Returns 0
 * or -1.
 */
int oa_doc_query_ids(struct oa_store *s, const struct oa_doc_query *q, int64_t *ids, size_t *n);
/* The same page as whole documents (no body) into docs[OA_DOC_PAGE_MAX], read
 * by the page's own statements: no second lookup per document. */
int oa_doc_query_docs(struct oa_store *s, const struct oa_doc_query *q, struct oa_doc *docs, size_t *n);

/*
 * What a list page needs of a document before its item (#14): the key of
 * its encoded item (storage/doc_items.h) and its label, for the read
 * decision; a handful of columns where a whole document has 35.
 */
struct oa_doc_head {
    int64_t id, revision, updated_at;
    int level;
    bool scoped, has_label_mac;
    char declass_date[16];
    unsigned char label_mac[32];
};
/* The same page as heads into heads[OA_DOC_PAGE_MAX]. */
int oa_doc_query_heads(struct oa_store *s, const struct oa_doc_query *q, struct oa_doc_head *heads, size_t *n);

#endif
