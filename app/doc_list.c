/*
 * app/doc_list.c: a page of a document list (use case; see doc_list.h).
 * The highest level a person may read is workflow/access.c's decision;
 * the query is storage/doc_list.c's; each document passes the one read
 * decision (doc_read.c) and what classified metadata was shown is audited.
 * A CBOR page (oa_doc_list_items) takes its items from the reader's cache
 * (storage/doc_items.h) where it holds them; the decision and the audit are
 * made for every document of every page all the same.
 */
#include "app/doc_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/doc_read.h"
#include "app/doc_steps.h"
#include "app/doc_view.h"
#include "proto/alloc.h"
#include "storage/doc_items.h"
#include "storage/doc_list.h"
#include "storage/documents.h"
#include "workflow/access.h"
#include "workflow/calendar.h"

/* Fills in who asks (from `me`), the level `me` may read and today (in today[11], which q points to). */
static void query_for(const struct oa_user *me, struct oa_doc_query *q, char today[11])
{
    /* The same decision as every read: the highest level this person may see. */
    int max_level = -1;
    struct oa_subject subj = {me->id, me->roles, me->clearance, false, me->clearance_hold};
    for (int l = OA_LEVEL_MAX; l >= 0 && max_level < 0; l--)
        if (oa_access_read_doc(&subj, l) == OA_ALLOW)
            max_level = l;
    oa_day_format(oa_app_today_local(), today);
    q->max_level = max_level;
    q->today = today;
    q->user_id = me->id;
    q->username = me->username;
    q->roles = me->roles;
    q->department_id = me->department_id;
    /* The route clamps limit to 1..OA_DOC_PAGE_MAX; a page never holds more. */
    if (q->limit > OA_DOC_PAGE_MAX)
        q->limit = OA_DOC_PAGE_MAX;
}

/* The ids of the classified documents shown, "1,2,3" (as many as fit), for the page's audit entry. */
struct shown {
    char text[480];
    size_t len;
};

static void shown_add(struct shown *sh, int64_t id, int level)
{
    if (level <= OA_LEVEL_PUBLIC || sh->len + 24 >= sizeof(sh->text))
        return;
    if (sh->len > 0)
        sh->text[sh->len++] = ',';
    char tmp[20];
    size_t k = 0;
    uint64_t u = (uint64_t)id;
    do {
        tmp[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    while (k > 0)
        sh->text[sh->len++] = tmp[--k];
    sh->text[sh->len] = '\0';
}

/* Access to classified documents' metadata is access too: one entry per list. */
static int shown_audit(struct oa_store *s, const struct oa_app_actor *by, const struct shown *sh)
{
    return sh->len == 0 ? 0 : oa_app_audit(s, by, "document.list", NULL, "ok", sh->text);
}

int oa_doc_list(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me, struct oa_doc_query *q,
                struct oa_doc_page *out)
{
    memset(out, 0, sizeof(*out));
    char today[11];
    query_for(me, q, today);
    size_t n = 0;
    out->docs = oa_xcalloc(q->limit > 0 ? (size_t)q->limit : 1, sizeof(*out->docs));
    if (oa_doc_query_docs(s, q, out->docs, &n) != 0) {
        free(out->docs);
        out->docs = NULL;
        return -1;
    }
    /* SQL filtered by level; the scope is checked here by the one decision. */
    struct shown shown = {.len = 0};
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
        shown_add(&shown, d->id, d->level);
    }
    out->full = n == (size_t)q->limit;
    if (shown_audit(s, by, &shown) != 0) {
        oa_doc_page_free(out);
        return -1;
    }
    return 0;
}

/*
 * Appends the item of the document h names to o: the cached bytes when the
 * cache holds its key, else the document read (in the job's snapshot, the
 * same row as h) and encoded, and the bytes kept.  0 or -1.
 */
static int item_out(struct oa_store *s, const struct oa_doc_head *h, struct pv_out *o)
{
    struct oa_doc_item_key key = {.id = h->id, .revision = h->revision, .updated_at = h->updated_at};
    memcpy(key.label_mac, h->label_mac, sizeof(key.label_mac));
    size_t len = 0;
    const unsigned char *bytes = oa_doc_item_get(s, &key, &len);
    if (bytes != NULL) {
        pv_out_raw(o, bytes, len);
        return 0;
    }
    struct oa_doc d;
    if (oa_doc_load(s, h->id, &d) != 1)
        return -1;
    size_t at = o->n;
    oa_app_doc_item_out(o, s, &d, false);
    if (d.revision == h->revision && d.updated_at == h->updated_at && d.has_label_mac &&
        memcmp(d.label_mac, h->label_mac, sizeof(d.label_mac)) == 0)
        oa_doc_item_put(s, &key, o->p + at, o->n - at);
    oa_doc_free(&d);
    return 0;
}

int oa_doc_list_items(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me,
                      struct oa_doc_query *q, struct oa_doc_page *out, struct pv_out *items)
{
    memset(out, 0, sizeof(*out));
    char today[11];
    query_for(me, q, today);
    struct oa_doc_head heads[OA_DOC_PAGE_MAX];
    size_t n = 0;
    if (oa_doc_query_heads(s, q, heads, &n) != 0)
        return -1;
    pv_out_reserve(items, n * 512); /* about a list item's size: no reallocation on the way */
    /* The read decision needs the label alone: the head's, in a document otherwise empty. */
    struct oa_doc probe;
    memset(&probe, 0, sizeof(probe));
    struct shown shown = {.len = 0};
    for (size_t i = 0; i < n; i++) {
        const struct oa_doc_head *h = &heads[i];
        probe.id = h->id;
        probe.revision = h->revision;
        probe.updated_at = h->updated_at;
        probe.level = h->level;
        probe.scoped = h->scoped;
        probe.has_label_mac = h->has_label_mac;
        memcpy(probe.declass_date, h->declass_date, sizeof(probe.declass_date));
        memcpy(probe.label_mac, h->label_mac, sizeof(probe.label_mac));
        if (!oa_doc_visible(s, me, &probe))
            continue;
        if (item_out(s, h, items) != 0) {
            oa_doc_page_free(out);
            return -1;
        }
        out->n++;
        out->next_after = h->id;
        shown_add(&shown, h->id, h->level);
    }
    out->full = n == (size_t)q->limit;
    if (shown_audit(s, by, &shown) != 0) {
        oa_doc_page_free(out);
        return -1;
    }
    return 0;
}

void oa_doc_page_free(struct oa_doc_page *p)
{
    for (size_t i = 0; p->docs != NULL && i < p->n; i++)
        oa_doc_free(&p->docs[i]);
    free(p->docs);
    memset(p, 0, sizeof(*p));
}
