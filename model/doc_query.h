/*
 * model/doc_query.h: what a page of a document list asks for (#14): the
 * view, the filters, the cursor and who asks.  The use case fills it in
 * (app/doc_list.c) and storage runs it (storage/doc_list.c); server/ sets
 * the filters from the query string.
 */
#ifndef OA_MODEL_DOC_QUERY_H
#define OA_MODEL_DOC_QUERY_H

#include <stdbool.h>
#include <stdint.h>

enum oa_doc_view { OA_VIEW_ALL, OA_VIEW_TODO, OA_VIEW_DONE };

/* One page's query; the strings stay the caller's, NULL when not filtered on. */
struct oa_doc_query {
    enum oa_doc_view view;
    int max_level;               /* the highest level the person may read */
    const char *state, *kind, *number;
    int64_t from, to;            /* created_at bounds, 0 when none */
    bool overdue;
    const char *today;           /* YYYY-MM-DD, for overdue */
    const char *q;               /* text search: trigram for 3 characters or more, LIKE for fewer */
    int64_t after, limit;        /* the cursor and the page size (at most OA_DOC_PAGE_MAX) */
    int64_t user_id;             /* the person: the to-do and done lists, and the scope */
    const char *username;
    unsigned roles;
    int64_t department_id;
};

#define OA_DOC_PAGE_MAX 200

#endif
