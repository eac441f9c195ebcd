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

static void ids_push(int64_t **v, size_t *n, size_t *cap, int64_t id)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *v = oa_xrealloc(*v, *cap * sizeof(**v));
    }
    (*v)[(*n)++] = id;
}

static void seen_add(struct oa_feed_page *p, int64_t op)
{
    ids_push(&p->seen, &p->nseen, &p->seen_cap, op);
}

bool oa_sync_feed_writes(const struct oa_feed_page *p)
{
    return p->nseen > 0 || p->nkept > 0;
}

int oa_sync_feed_apply_seen(struct oa_store *s, int64_t user_id, const struct oa_feed_page *p)
{
    for (size_t i = 0; i < p->nseen; i++) {
        int rc = p->seen[i] > 0 ? oa_sync_seen_add(s, user_id, p->seen[i], p->account_seq)
                                : oa_sync_seen_set(s, user_id, -p->seen[i], false);
        if (rc != 0)
            return OA_E_STORAGE;
    }
    for (size_t i = 0; i < p->nkept; i++)
        if (oa_sync_seen_redecided(s, user_id, p->kept[i], p->account_seq) != 0)
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

/* A map's pair with an integer key (the protocol's keys, proto/sync.h). */
static void kv_int(struct pv_out *o, unsigned key, int64_t v)
{
    pv_out_int(o, key);
    pv_out_int(o, v);
}

static void kv_text(struct pv_out *o, unsigned key, const char *v)
{
    pv_out_int(o, key);
    pv_out_text(o, v);
}

static void kv_bool(struct pv_out *o, unsigned key, bool v)
{
    pv_out_int(o, key);
    pv_out_bool(o, v);
}

/*
 * Writes d's record for me to o, straight into the page's bytes (no item
 * tree: a page's records were built, encoded and freed item by item);
 * drafter is d's drafter's username, in_todo whether d is in me's to-do list.
 */
static void doc_record_out(struct pv_out *o, const struct oa_doc *d, unsigned cache_max, const char *drafter,
                           bool in_todo)
{
    bool cacheable = oa_sync_cacheable(d->level, cache_max), body = cacheable && d->body;
    pv_out_map(o, 13 + body);
    kv_int(o, OA_D_ID, d->id);
    kv_int(o, OA_D_REV, d->revision);
    kv_text(o, OA_D_KIND, d->kind);
    kv_text(o, OA_D_STATE, d->state);
    kv_text(o, OA_D_TITLE, d->title);
    kv_int(o, OA_D_LEVEL, d->level);
    kv_text(o, OA_D_NUMBER, d->doc_number);
    kv_text(o, OA_D_URGENCY, d->urgency);
    kv_int(o, OA_D_UPDATED, d->updated_at);
    kv_text(o, OA_D_DRAFTER, drafter);
    if (body)
        kv_text(o, OA_D_BODY, d->body);
    kv_bool(o, OA_D_CACHEABLE, cacheable);
    kv_text(o, OA_D_DUE, d->step_due);
    /* In the user's to-do list: the same rule as GET /v1/documents?view=todo. */
    kv_bool(o, OA_D_TODO, in_todo);
}

cbor_item_t *oa_sync_doc_record(struct oa_store *s, const struct oa_doc *d, const struct oa_user *me,
                                unsigned cache_max_level)
{
    char drafter[OA_USERNAME_MAX + 1];
    username_of(s, d->drafter_id, drafter, sizeof(drafter));
    struct pv_out o = {0};
    doc_record_out(&o, d, cache_max_level, drafter, oa_doc_in_todo(s, d->id, me->id, me->roles, me->department_id));
    cbor_item_t *it = NULL;
    if (pv_decode_cbor(o.p, o.n, &it, NULL, 0) != OA_E_OK) /* our own bytes: only out of memory */
        oa_oom();
    free(o.p);
    return it;
}

/* The page's entries, written as they come; the array's head goes before them at the end. */
struct entries {
    struct pv_out o;
    size_t n;
};

static void entries_free(struct entries *e)
{
    free(e->o.p);
}

/* Starts an entry; a "doc" entry's record (doc_record_out) follows it. */
static void entry(struct entries *e, int64_t seq, const char *kind, int64_t doc, int64_t rev, bool record)
{
    struct pv_out *o = &e->o;
    pv_out_map(o, record ? 5 : 4);
    kv_int(o, OA_E_SEQ, seq);
    kv_text(o, OA_E_KIND, kind);
    kv_int(o, OA_E_DOC, doc);
    kv_int(o, OA_E_REV, rev);
    if (record)
        pv_out_int(o, OA_E_RECORD);
    e->n++;
}

/*
 * The caller's account changed (its latest change, seq): re-decides every
 * document their clients hold that was decided under an earlier account
 * state; the others were decided under this one, and a change of their
 * own label comes later in the feed.
 */
static int recheck_seen(struct oa_store *s, struct oa_feed_page *p, const struct oa_user *me, int64_t seq,
                        struct entries *entries)
{
    struct oa_change_scan held;
    if (oa_sync_seen_scan_begin(s, &held, me->id, seq) != 0)
        return -1;
    int found;
    int64_t id;
    struct oa_doc d;
    while ((found = oa_sync_seen_scan_next(&held, &id, &d)) > 0) {
        bool visible = found == 1 && !me->disabled && oa_doc_visible(s, me, &d);
        int64_t rev = found == 1 ? d.revision : 0;
        if (found == 1)
            oa_doc_free(&d);
        if (visible) {
            ids_push(&p->kept, &p->nkept, &p->kept_cap, id); /* now decided under seq */
            continue;
        }
        seen_add(p, -id); /* from sync_seen: their clients had it */
        entry(entries, seq, "revoke", id, rev, false);
        p->count++;
    }
    oa_change_scan_end(&held);
    return found < 0 ? -1 : 0;
}

/* Appends ",id" (or "id" first) to shown while 24 bytes are left: a page's list of classified documents sent. */
static void shown_add(char *shown, size_t shown_len, int64_t id)
{
    size_t cl = strlen(shown);
    if (cl + 24 >= shown_len)
        return;
    char digits[24];
    size_t n = 0;
    uint64_t v = id < 0 ? 0 : (uint64_t)id; /* document ids are positive */
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    if (cl > 0)
        shown[cl++] = ',';
    while (n > 0)
        shown[cl++] = digits[--n];
    shown[cl] = '\0';
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
        entry(entries, c->seq, "doc", d->id, d->revision, true);
        doc_record_out(&entries->o, d, cache_max, c->drafter, c->in_todo);
        p->count++;
        if (d->level > OA_LEVEL_PUBLIC) {
            shown_add(shown, shown_len, d->id);
            (*classified)++;
        }
        if (!c->seen) /* the user's clients now hold it (written after the page) */
            seen_add(p, d->id);
    } else if (c->seen) { /* they held it: revoke */
        seen_add(p, -c->id);
        entry(entries, c->seq, "revoke", c->id, c->found ? d->revision : 0, false);
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
    p->nkept = 0;
    p->count = 0;
    p->err = OA_E_OK;
    struct oa_user me;
    if (oa_user_by_id(s, user_id, &me) != 1)
        return OA_E_STORAGE;
    int64_t head = oa_change_head(s);
    if (head < 0)
        return OA_E_STORAGE;
    p->head = head;
    if ((p->account_seq = oa_sync_account_change(s, me.id)) < 0)
        return OA_E_STORAGE;
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
            if (c.id == me.id) /* the account's latest change: c.seq == p->account_seq */
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
    /* The "changes" message (oa_sync_message's head), its entries appended as written. */
    struct pv_out o = {0};
    pv_out_map(&o, 2 + 5);
    kv_int(&o, OA_K_VERSION, OA_SYNC_VERSION);
    kv_text(&o, OA_K_TYPE, "changes");
    kv_int(&o, OA_CH_SINCE, since);
    kv_int(&o, OA_CH_NEXT, cursor);
    kv_int(&o, OA_CH_HEAD, head);
    kv_bool(&o, OA_CH_MORE, cursor < head);
    pv_out_int(&o, OA_CH_ENTRIES);
    pv_out_array(&o, entries.n);
    pv_out_raw(&o, entries.o.p, entries.o.n);
    entries_free(&entries);
    p->bytes = o.p;
    p->nbytes = o.n;
    return 0;
}

void oa_sync_feed_page_free(struct oa_feed_page *p)
{
    free(p->bytes);
    free(p->seen);
    free(p->kept);
    p->bytes = NULL;
    p->seen = NULL;
    p->kept = NULL;
    p->nseen = p->seen_cap = 0;
    p->nkept = p->kept_cap = 0;
}
