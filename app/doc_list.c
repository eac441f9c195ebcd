/*
 * app/doc_list.c: a page of a document list (use case; see doc_list.h).
 * The highest level a person may read is workflow/access.c's decision;
 * the query is storage/doc_list.c's; each document passes the one read
 * decision (doc_read.c) and what classified metadata was shown is audited.
 */
#include "app/doc_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/doc_read.h"
#include "app/doc_steps.h"
#include "proto/alloc.h"
#include "workflow/access.h"
#include "workflow/calendar.h"

int oa_doc_list(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me, struct oa_doc_query *q,
                struct oa_doc_page *out)
{
    memset(out, 0, sizeof(*out));
    /* The same decision as every read: the highest level this person may see. */
    int max_level = -1;
    struct oa_subject subj = {me->id, me->roles, me->clearance, false, me->clearance_hold};
    for (int l = OA_LEVEL_MAX; l >= 0 && max_level < 0; l--)
        if (oa_access_read_doc(&subj, l) == OA_ALLOW)
            max_level = l;
    char today[11];
    oa_day_format(oa_app_today_local(), today);
    q->max_level = max_level;
    q->today = today;
    q->user_id = me->id;
    q->username = me->username;
    q->roles = me->roles;
    q->department_id = me->department_id;
    if (q->limit > OA_DOC_PAGE_MAX)
        q->limit = OA_DOC_PAGE_MAX;

    size_t n = 0;
    /* The route clamps limit to 1..OA_DOC_PAGE_MAX; a page never holds more. */
    out->docs = oa_xcalloc(q->limit > 0 ? (size_t)q->limit : 1, sizeof(*out->docs));
    if (oa_doc_query_docs(s, q, out->docs, &n) != 0) {
        free(out->docs);
        out->docs = NULL;
        return -1;
    }
    /* SQL filtered by level; the scope is checked here by the one decision. */
    char shown[480] = "";
    for (size_t i = 0; i < n; i++) {
        struct oa_doc *d = &out->docs[i];
        if (!oa_doc_visible(s, me, d)) {
            oa_doc_free(d);
            continue;
        }
        if (out->n != i)
            out->docs[out->n] = *d;
        d = &out->docs[out->n++];
        out->next_after = d->id;
        if (d->level > OA_LEVEL_PUBLIC) {
            size_t cl = strlen(shown);
            if (cl + 24 < sizeof(shown))
                snprintf(shown + cl, sizeof(shown) - cl, "%s%lld", cl ? "," : "", (long long)d->id);
        }
    }
    out->full = n == (size_t)q->limit;
    /* Access to classified documents' metadata is access too: one entry per list. */
    if (shown[0] != '\0' && oa_app_audit(s, by, "document.list", NULL, "ok", shown) != 0) {
        oa_doc_page_free(out);
        return -1;
    }
    return 0;
}

void oa_doc_page_free(struct oa_doc_page *p)
{
    for (size_t i = 0; i < p->n; i++)
        oa_doc_free(&p->docs[i]);
    free(p->docs);
    memset(p, 0, sizeof(*p));
}
