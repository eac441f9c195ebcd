/* app/sync_feed.c: see sync_feed.h.  The SQL is storage/sync.c's. */
#include "app/sync_feed.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/doc_read.h"
#include "proto/alloc.h"
#include "proto/sync.h"
#include "proto/value.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "storage/sync.h"
#include "workflow/access.h"

#define SCAN_MAX 20000 /* changes examined by one page at most */

static void seen_add(struct oa_feed_page *p, int64_t op)
{
    if (p->nseen == p->seen_cap) {
        p->seen_cap = p->seen_cap ? p->seen_cap * 2 : 64;
        p->seen = oa_xrealloc(p->seen, p->seen_cap * sizeof(*p->seen));
    }
    p->seen[p->nseen++] = op;
}

int oa_sync_feed_apply_seen(struct oa_store *s, int64_t user_id, const struct oa_feed_page *p)
{
    for (size_t i = 0; i < p->nseen; i++)
        if (oa_sync_seen_set(s, user_id, p->seen[i] > 0 ? p->seen[i] : -p->seen[i], p->seen[i] > 0) != 0)
            return OA_E_STORAGE;
    return 0;
}

/* The username of user id, "" when none. */
static void username_of(struct oa_store *s, int64_t id, char *name, size_t cap)
{
    struct oa_user u;
    if (id > 0 && oa_user_by_id(s, id, &u) == 1)
        snprintf(name, cap, "%s", u.username);
    else
        name[0] = '\0';
}

/* d's record for me; drafter is d's drafter's username, in_todo whether d is in me's to-do list. */
static cbor_item_t *doc_record(const struct oa_doc *d, unsigned cache_max, const char *drafter, bool in_todo)
{
    bool cacheable = oa_sync_cacheable(d->level, cache_max);
    cbor_item_t *m = oa_sync_map(14);
    oa_sync_put_uint(m, OA_D_ID, (uint64_t)d->id);
    oa_sync_put_uint(m, OA_D_REV, (uint64_t)d->revision);
    oa_sync_put_text(m, OA_D_KIND, d->kind);
    oa_sync_put_text(m, OA_D_STATE, d->state);
    oa_sync_put_text(m, OA_D_TITLE, d->title);
    oa_sync_put_uint(m, OA_D_LEVEL, (uint64_t)d->level);
    oa_sync_put_text(m, OA_D_NUMBER, d->doc_number);
    oa_sync_put_text(m, OA_D_URGENCY, d->urgency);
    oa_sync_put_uint(m, OA_D_UPDATED, (uint64_t)d->updated_at);
    oa_sync_put_text(m, OA_D_DRAFTER, drafter);
    if (cacheable && d->body)
        oa_sync_put_text(m, OA_D_BODY, d->body);
    oa_sync_put_bool(m, OA_D_CACHEABLE, cacheable);
    oa_sync_put_text(m, OA_D_DUE, d->step_due);
    /* In the user's to-do list: the same rule as GET /v1/documents?view=todo. */
    oa_sync_put_bool(m, OA_D_TODO, in_todo);
    return m;
}

cbor_item_t *oa_sync_doc_record(struct oa_store *s, const struct oa_doc *d, const struct oa_user *me,
                                unsigned cache_max_level)
{
    char drafter[OA_USERNAME_MAX + 1];
    username_of(s, d->drafter_id, drafter, sizeof(drafter));
    return doc_record(d, cache_max_level, drafter,
                      oa_doc_in_todo(s, d->id, me->id, me->roles, me->department_id));
}

/* Entries gathered for a page; a definite array at the end. */
struct entries {
    cbor_item_t **v;
    size_t n, cap;
};

static void entries_add(struct entries *e, cbor_item_t *it)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->v = oa_xrealloc(e->v, e->cap * sizeof(*e->v));
    }
    e->v[e->n++] = it;
}

static void entries_free(struct entries *e)
{
    for (size_t i = 0; i < e->n; i++)
        cbor_decref(&e->v[i]);
    free(e->v);
}

static cbor_item_t *entry(int64_t seq, const char *kind, int64_t doc, int64_t rev, cbor_item_t *record)
{
    cbor_item_t *e = oa_sync_map(record ? 5 : 4);
    oa_sync_put_uint(e, OA_E_SEQ, (uint64_t)seq);
    oa_sync_put_text(e, OA_E_KIND, kind);
    oa_sync_put_uint(e, OA_E_DOC, (uint64_t)doc);
    oa_sync_put_uint(e, OA_E_REV, (uint64_t)rev);
    if (record)
        oa_sync_put(e, OA_E_RECORD, record);
    return e;
}

/* The caller's account changed: re-decides every document their clients hold. */
static int recheck_seen(struct oa_store *s, struct oa_feed_page *p, const struct oa_user *me, int64_t seq,
                        struct entries *entries)
{
    struct oa_change_scan held;
    if (oa_sync_seen_scan_begin(s, &held, me->id) != 0)
        return -1;
    int found;
    int64_t id;
    struct oa_doc d;
    while ((found = oa_sync_seen_scan_next(&held, &id, &d)) > 0) {
        bool visible = found == 1 && !me->disabled && oa_doc_visible(s, me, &d);
        int64_t rev = found == 1 ? d.revision : 0;
        if (found == 1)
            oa_doc_free(&d);
        if (visible)
            continue;
        seen_add(p, -id); /* from sync_seen: their clients had it */
        entries_add(entries, entry(seq, "revoke", id, rev, NULL));
        p->count++;
    }
    oa_change_scan_end(&held);
    return found < 0 ? -1 : 0;
}

/*
 * One document's latest change, c (with the document in d when c->found, as
 * the scan read it): sent, revoked, or nothing.  Takes d.
 */
static int feed_doc(struct oa_store *s, struct oa_feed_page *p, const struct oa_user *me, const struct oa_change *c,
                    struct oa_doc *d, unsigned cache_max, struct entries *entries, char *shown, size_t shown_len,
                    size_t *classified)
{
    int rc = 0;
    if (c->found && oa_doc_visible(s, me, d)) {
        /* The scan read the body of every document at most cache_max; the decision is still oa_sync_cacheable's. */
        if (oa_sync_cacheable(d->level, cache_max) && oa_doc_load_body(s, d) != 0) {
            oa_doc_free(d);
            return -1;
        }
        entries_add(entries, entry(c->seq, "doc", d->id, d->revision, doc_record(d, cache_max, c->drafter, c->in_todo)));
        p->count++;
        if (d->level > OA_LEVEL_PUBLIC) {
            size_t cl = strlen(shown);
            if (cl + 24 < shown_len)
                snprintf(shown + cl, shown_len - cl, "%s%lld", cl ? "," : "", (long long)d->id);
            (*classified)++;
        }
        if (!c->seen) /* the user's clients now hold it (written after the page) */
            seen_add(p, d->id);
    } else if (c->seen) { /* they held it: revoke */
        seen_add(p, -c->id);
        entries_add(entries, entry(c->seq, "revoke", c->id, c->found ? d->revision : 0, NULL));
        p->count++;
    }
    if (c->found)
        oa_doc_free(d);
    return rc;
}

int oa_sync_feed_page(struct oa_store *s, const struct oa_app_actor *by, int64_t user_id, int64_t since,
                      int64_t limit, unsigned cache_max, struct oa_feed_page *p)
{
    p->nseen = 0;
    p->count = 0;
    p->err = OA_E_OK;
    struct oa_user me;
    if (oa_user_by_id(s, user_id, &me) != 1)
        return OA_E_STORAGE;
    int64_t head = oa_change_head(s);
    if (head < 0)
        return OA_E_STORAGE;
    p->head = head;
    if (since > head) {
        p->err = OA_E_CURSOR_TOO_OLD;
        p->message = "Your sync cursor is ahead of this server's changes (a restored or another server): "
                     "start again from 0 (a full resync).";
        return 0;
    }
    struct entries entries = {0};
    int64_t cursor = since;
    struct oa_change_scan scan;
    struct oa_feed_reader reader = {me.id, me.roles, me.department_id, cache_max > INT_MAX ? INT_MAX : (int)cache_max};
    if (oa_change_scan_begin(s, &scan, since, head, SCAN_MAX, &reader) != 0)
        return OA_E_STORAGE;
    int rc = 0, step = 0;
    size_t scanned = 0, classified = 0;
    char shown[400] = "";
    struct oa_change c;
    struct oa_doc d;
    while (p->count < (size_t)limit && (step = oa_change_scan_next(&scan, &c, &d)) == 1) {
        cursor = c.seq;
        scanned++;
        if (c.is_user) {
            if (c.id == me.id)
                rc = recheck_seen(s, p, &me, c.seq, &entries);
        } else {
            rc = feed_doc(s, p, &me, &c, &d, cache_max, &entries, shown, sizeof(shown), &classified);
        }
        if (rc != 0)
            break;
    }
    oa_change_scan_end(&scan);
    if (rc != 0 || step < 0) {
        entries_free(&entries);
        return OA_E_STORAGE;
    }
    if (p->count < (size_t)limit)
        cursor = scanned < SCAN_MAX ? head : cursor; /* every change up to head was examined */
    if (classified > 0) {
        /* Sending a classified document to a client is an access: one entry per page. */
        char detail[480];
        snprintf(detail, sizeof(detail), "%zu classified documents sent: %s%s", classified, shown,
                 strlen(shown) + 24 >= sizeof(shown) ? ",..." : "");
        if (oa_app_audit(s, by, "sync.feed", NULL, "ok", detail) != 0) {
            entries_free(&entries);
            return OA_E_STORAGE;
        }
    }
    p->next = cursor;
    cbor_item_t *m = oa_sync_message("changes", 5);
    oa_sync_put_uint(m, OA_CH_SINCE, (uint64_t)since);
    oa_sync_put_uint(m, OA_CH_NEXT, (uint64_t)cursor);
    oa_sync_put_uint(m, OA_CH_HEAD, (uint64_t)head);
    oa_sync_put_bool(m, OA_CH_MORE, cursor < head);
    oa_sync_put(m, OA_CH_ENTRIES, pv_array_from(entries.v, entries.n));
    free(entries.v);
    p->bytes = pv_encode_cbor(m, &p->nbytes);
    cbor_decref(&m);
    return p->bytes ? 0 : OA_E_INTERNAL;
}

void oa_sync_feed_page_free(struct oa_feed_page *p)
{
    free(p->bytes);
    free(p->seen);
    p->bytes = NULL;
    p->seen = NULL;
    p->nseen = p->seen_cap = 0;
}
