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

/* The page changes doc's row: held (revoked_at 0) or revoked at that change. */
static void seen_add(struct oa_feed_page *p, int64_t doc, int64_t revoked_at)
{
    if (p->nseen == p->seen_cap) {
        p->seen_cap = p->seen_cap ? p->seen_cap * 2 : 64;
        p->seen = oa_xrealloc(p->seen, p->seen_cap * sizeof(*p->seen));
    }
    p->seen[p->nseen++] = (struct oa_feed_seen){doc, revoked_at};
}

bool oa_sync_feed_writes(const struct oa_feed_page *p)
{
    return p->nseen > 0 || p->nkept > 0 || p->full_session > 0;
}

int oa_sync_feed_apply_seen(struct oa_store *s, int64_t user_id, const struct oa_feed_page *p)
{
    for (size_t i = 0; i < p->nseen; i++) {
        const struct oa_feed_seen *e = &p->seen[i];
        int rc = e->revoked_at == 0 ? oa_sync_seen_add(s, user_id, e->doc, p->account_seq)
                                    : oa_sync_seen_revoke(s, user_id, e->doc, e->revoked_at);
        if (rc != 0)
            return OA_E_STORAGE;
    }
    for (size_t i = 0; i < p->nkept; i++)
        if (oa_sync_seen_redecided(s, user_id, p->kept[i], p->account_seq) != 0)
            return OA_E_STORAGE;
    if (p->full_session > 0 && oa_sync_session_full(s, p->full_session, p->head) != 0)
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

/*
 * The page's entries, written as they come; the array's head goes before
 * them at the end.  at[i] is where entry i starts, with its seq and
 * document (to merge the kept revocations in: add_revoked).
 */
struct entries {
    struct pv_out o;
    size_t n, cap;
    struct entry_at {
        int64_t seq, doc;
        size_t off;
    } *at;
};

static void entries_free(struct entries *e)
{
    free(e->o.p);
    free(e->at);
}

/* Notes that entry e->n, of seq and doc, starts here (the caller writes it and counts it). */
static void entry_at(struct entries *e, int64_t seq, int64_t doc)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->at = oa_xrealloc(e->at, e->cap * sizeof(*e->at));
    }
    e->at[e->n] = (struct entry_at){seq, doc, e->o.n};
}

/* Starts an entry; a "doc" entry's record (doc_record_out) follows it. */
static void entry(struct entries *e, int64_t seq, const char *kind, int64_t doc, int64_t rev, bool record)
{
    struct pv_out *o = &e->o;
    entry_at(e, seq, doc);
    pv_out_map(o, record ? 5 : 4);
    kv_int(o, OA_E_SEQ, seq);
    kv_text(o, OA_E_KIND, kind);
    kv_int(o, OA_E_DOC, doc);
    kv_int(o, OA_E_REV, rev);
    if (record)
        pv_out_int(o, OA_E_RECORD);
    e->n++;
}

static int id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Copies entry i of e to the end of m, as written. */
static void entry_copy(struct entries *m, const struct entries *e, size_t i)
{
    size_t end = i + 1 < e->n ? e->at[i + 1].off : e->o.n;
    entry_at(m, e->at[i].seq, e->at[i].doc);
    pv_out_raw(&m->o, e->o.p + e->at[i].off, end - e->at[i].off);
    m->n++;
}

/*
 * The revocations kept for the user (sync_seen.revoked_at) at a change in
 * (since, next], the page's range: another client of the user decided them
 * when its page met that change, and the change itself may since have been
 * replaced by a later one of the same document or account (one row per
 * entity in changes), so this page may not meet it.  Each is merged
 * into the page's entries in seq order, unless the page already has an
 * entry for that document (the page's own decision, made now, is the
 * newer).  One statement per page; none read: nothing changes.
 */
static int add_revoked(struct oa_store *s, struct oa_feed_page *p, int64_t user, int64_t since, int64_t next,
                       struct entries *e)
{
    struct oa_change_scan rv;
    if (oa_sync_revoked_begin(s, &rv, user, since, next) != 0)
        return -1;
    struct entries m = {0};
    int64_t *docs = NULL, doc, at, rev;
    size_t i = 0, added = 0;
    int rc;
    while ((rc = oa_sync_revoked_next(&rv, &doc, &at, &rev)) == 1) {
        if (docs == NULL) { /* the first one: the page's documents, sorted */
            docs = oa_xmalloc((e->n + 1) * sizeof(*docs));
            for (size_t k = 0; k < e->n; k++)
                docs[k] = e->at[k].doc;
            qsort(docs, e->n, sizeof(*docs), id_cmp);
            pv_out_reserve(&m.o, e->o.n + 64);
        }
        if (bsearch(&doc, docs, e->n, sizeof(*docs), id_cmp) != NULL)
            continue;
        for (; i < e->n && e->at[i].seq <= at; i++) /* the page's entries up to it */
            entry_copy(&m, e, i);
        entry(&m, at, "revoke", doc, rev, false);
        added++;
    }
    oa_change_scan_end(&rv);
    free(docs);
    if (rc < 0) {
        entries_free(&m);
        return -1;
    }
    if (added == 0) {
        entries_free(&m);
        return 0;
    }
    for (; i < e->n; i++)
        entry_copy(&m, e, i);
    p->count += added;
    entries_free(e);
    *e = m;
    return 0;
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
        seen_add(p, id, seq); /* a held row: their clients had it; kept, revoked at seq */
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
        if (!c->held) /* the user's clients now hold it, or again (written after the page) */
            seen_add(p, d->id, 0);
    } else if (c->seen) { /* they were sent it: revoke (again, for a client that has not been told) */
        if (c->held)
            seen_add(p, c->id, c->seq);
        entry(entries, c->seq, "revoke", c->id, c->found ? d->revision : 0, false);
        p->count++;
    }
    if (c->found)
        oa_doc_free(d);
    return rc;
}

/*
 * Access widened (sync_feed.h): whether the page from since must send the
 * client back to 0 (1), or may go on (0), or -1 on error.  A page from 0
 * never is; it records its head for the session (p->full_session, written
 * after the page) when the session's last walk from 0 began before the
 * widening, and only then: a later walk from 0 changes nothing the check
 * reads until the account widens again (so a first page read again and
 * again writes nothing).
 */
static int widened_behind(struct oa_store *s, struct oa_feed_page *p, int64_t user, int64_t session, int64_t since)
{
    int64_t widened = 0, full = 0;
    if (oa_sync_resync_state(s, user, session, &widened, &full) != 0)
        return -1;
    if (full >= widened)
        return 0;
    if (since == 0) {
        p->full_session = session; /* this walk decides everything as the account is now */
        return 0;
    }
    return since < widened;
}

int oa_sync_feed_page(struct oa_store *s, const struct oa_app_actor *by, int64_t user_id, int64_t session_id,
                      int64_t since, int64_t limit, unsigned cache_max, struct oa_feed_page *p)
{
    p->nseen = 0;
    p->nkept = 0;
    p->count = 0;
    p->err = OA_E_OK;
    p->full_session = 0;
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
    int behind = widened_behind(s, p, me.id, session_id, since);
    if (behind < 0)
        return OA_E_STORAGE;
    if (behind) {
        p->err = OA_E_CURSOR_TOO_OLD;
        p->message = "Your access changed: start again from 0 (a full resync).";
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
    if (add_revoked(s, p, me.id, since, cursor, &entries) != 0) {
        entries_free(&entries);
        return OA_E_STORAGE;
    }
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
