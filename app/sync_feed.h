/*
 * app/sync_feed.h: a page of the sync feed (proto/SYNC.md), the use case
 * behind GET /v1/sync/changes, and the document record a push conflict
 * answers with.
 *
 * The feed walks the global change sequence after `since`.  A document is
 * sent once per page at its latest change, as the caller may see it now (the
 * one read decision, doc_read.h); a document the caller may no longer see is
 * sent as a revocation when their clients were sent it before (sync_seen),
 * and a change of the caller's own account re-decides everything they were
 * sent under an earlier state of the account (each held document remembers
 * the account change it was last decided under: a first sync, whose page
 * always meets the account's latest change, no longer re-reads them all).
 * A revocation is kept with the change it was decided at, and every page
 * covering that change sends it again, so that each of the user's clients
 * (its own cursor) gets it, not only the first to sync.  The next cursor is
 * the last sequence number examined, so pages neither skip nor repeat a
 * change.  Classified documents sent are audited, one entry per page.
 *
 * Access widened: the feed sends a document at its latest change only, so a
 * document that became visible by a change of the account (clearance
 * raised, a compartment or role added, another department, enabled again:
 * workflow/access.h oa_access_widened), whose own change lies behind a
 * client's cursor, would never reach it.  The account remembers the change
 * that widened it (users.access_widened_at) and each session the head at
 * which it last walked from 0 (sessions.full_sync_head): a page from a
 * cursor behind the widening, on a session that has not walked from 0
 * since, is refused with 410 cursor_too_old, and the client walks again from
 * 0, once.  One indexed read per page; a page from 0 writes its head for the
 * session only when the session's last walk from 0 began before the widening.
 */
#ifndef OA_APP_SYNC_FEED_H
#define OA_APP_SYNC_FEED_H

#include <cbor.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/audit.h"
#include "proto/errors.h"

struct oa_store;

struct oa_doc;
struct oa_user;

/* A change the page makes to one sync_seen row (oa_sync_feed_apply_seen). */
struct oa_feed_seen {
    int64_t doc;
    int64_t revoked_at; /* 0: the user's clients now hold doc; else revoked at this change */
};

struct oa_feed_page {
    enum oa_err err;          /* a refusal with its message (the cursor is ahead of the server) */
    const char *message;
    int64_t next, head;       /* the cursor after this page; the newest change */
    size_t count;             /* entries sent */
    unsigned char *bytes;     /* the encoded "changes" message (malloc'd) */
    size_t nbytes;
    /*
     * What the page changes in sync_seen, in order: documents the user's
     * clients now hold, held ones revoked.  A page may be read on a reader
     * thread: oa_sync_feed_apply_seen writes these on the writer.
     */
    struct oa_feed_seen *seen;
    size_t nseen, seen_cap;
    /*
     * The caller's account's latest change as the page read it: the documents
     * it adds were decided visible under that account state.  When the page
     * met that change, the held documents decided under an earlier one were
     * re-decided: those still visible (kept) are then decided under it.
     */
    int64_t account_seq;
    int64_t *kept;
    size_t nkept, kept_cap;
    /*
     * Access widened (proto/SYNC.md): a page from 0 records, for the
     * session that asked (0: none), the head it began at, when the session
     * had not walked from 0 since the widening (oa_sync_feed_apply_seen
     * writes it).
     */
    int64_t full_session;
};

/*
 * Builds the page for user_id's client logged in as session_id (0: none);
 * 0 (p->err may still refuse) or an enum oa_err (storage).  A page from a
 * cursor behind the change at which the account's access last widened is
 * refused (410 cursor_too_old: start again from 0) unless the session's
 * walk from 0 began after that change.
 */
int oa_sync_feed_page(struct oa_store *s, const struct oa_app_actor *by, int64_t user_id, int64_t session_id,
                      int64_t since, int64_t limit, unsigned cache_max_level, struct oa_feed_page *p);
/* Whether the page has sync_seen (or its session's walk from 0) to write (oa_sync_feed_apply_seen). */
bool oa_sync_feed_writes(const struct oa_feed_page *p);
/* Writes the page's sync_seen changes for user, and a walk from 0 for its session; 0 or OA_E_STORAGE. */
int oa_sync_feed_apply_seen(struct oa_store *s, int64_t user_id, const struct oa_feed_page *p);
/* Frees what the page holds (not p itself). */
void oa_sync_feed_page_free(struct oa_feed_page *p);

/* The protocol's document record of d as me sees it; the body only when clients may keep it on disk. */
cbor_item_t *oa_sync_doc_record(struct oa_store *s, const struct oa_doc *d, const struct oa_user *me,
                                unsigned cache_max_level);

#endif
