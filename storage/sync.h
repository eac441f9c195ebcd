/*
 * storage/sync.h: the SQL of the sync feed (app/sync_feed.c decides).
 *
 * sync_seen records which documents each user's clients were sent, so that a
 * document they may no longer see is revoked; the change scan walks the
 * global change sequence.  A row is held (revoked_at NULL) or revoked at a
 * change: a revoked row stays, so that every client of the user, each with
 * its own cursor, is sent the revocation when its walk covers that change
 * (oa_sync_revoked_begin), not only the first to sync after it.  A row is
 * never deleted, held or revoked: the table is bounded by the (user,
 * document) pairs ever sent, the bound the held rows alone already had (a
 * document may be sent, revoked and sent again: one row throughout).
 * Access widened: users.access_widened_at and sessions.full_sync_head, one
 * integer per account and per session (app/sync_feed.h).
 */
#ifndef OA_STORAGE_SYNC_H
#define OA_STORAGE_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/accounts.h"
#include "storage/store.h"

/* Whether the user's clients hold doc (a held row; a revoked one is not): 1, 0, or -1 on error. */
int oa_sync_seen_has(struct oa_store *s, int64_t user, int64_t doc);
/*
 * The change at which the user's held doc was revoked (0: not revoked,
 * held or no row), or -1 on error.
 */
int64_t oa_sync_seen_revoked_at(struct oa_store *s, int64_t user, int64_t doc);
/*
 * Records that the user's clients no longer may hold doc, revoked at the
 * change `at` or, when the sequence has moved on since the page that
 * decided it was read, at its head now (a client whose page was read
 * meanwhile, covering `at` but not the later change that replaced the
 * account's, could pass `at` without meeting either: it still covers the
 * head).  A held row becomes revoked; a row already revoked keeps its change
 * (clients past it were sent it).  0 or -1.
 */
int oa_sync_seen_revoke(struct oa_store *s, int64_t user, int64_t doc, int64_t at);
/*
 * Records that the user's clients hold doc, decided visible under the
 * account state of the user's change `decided` (oa_sync_account_change); a
 * held row already there keeps the earlier of the two (a decision under an
 * older account state must be re-decided); a revoked row is held again,
 * decided under `decided`.  0 or -1.
 */
int oa_sync_seen_add(struct oa_store *s, int64_t user, int64_t doc, int64_t decided);
/* A held doc was re-decided visible under the account change `decided`: raises its row to it.  0 or -1. */
int oa_sync_seen_redecided(struct oa_store *s, int64_t user, int64_t doc, int64_t decided);
/* The sequence number of the user's account's latest change (0: none), or -1 on error. */
int64_t oa_sync_account_change(struct oa_store *s, int64_t user);

/*
 * Access widened (proto/SYNC.md): records that the user's account may now
 * see more than before, at its latest change (oa_sync_account_change, the
 * one oa_user_update just recorded).  0 or -1.
 */
int oa_sync_widened_record(struct oa_store *s, int64_t user);
/*
 * The change at which the user's access last widened (0: never), and the
 * head at which `session` (0: none) last asked the feed from 0 (0: never, or
 * no such session of the user's), in one statement.  0 or -1.
 */
int oa_sync_resync_state(struct oa_store *s, int64_t user, int64_t session, int64_t *widened_at,
                         int64_t *full_sync_head);
/* Records that `session` asked the feed from 0 at `head` (a later one only raises it).  0 or -1. */
int oa_sync_session_full(struct oa_store *s, int64_t session, int64_t head);

struct oa_doc;

/* Whose feed a change scan reads: the to-do and seen flags are theirs. */
struct oa_feed_reader {
    int64_t user_id;
    unsigned roles;
    int64_t department_id;
    int body_max_level; /* a document's body is read when its level is at most this (-1: never) */
};

/*
 * The latest change of a document or a user (the table keeps no other:
 * oa_change_record); for a document, what the feed needs of it, read by the
 * scan's own statement (no lookup per document).
 */
struct oa_change {
    int64_t seq;
    bool is_user; /* else a document */
    int64_t id;
    bool found;        /* the document exists: the scan filled the caller's oa_doc */
    bool in_todo;      /* it is in the reader's to-do list (OA_TODO_DOC, documents.h) */
    bool seen;         /* the reader's clients were sent it (a sync_seen row, held or revoked) */
    bool held;         /* and the row is held (not revoked) */
    char drafter[OA_USERNAME_MAX + 1]; /* its drafter's username, "" when none */
};

/*
 * Changes of documents and users with since < seq <= head, in order, at most
 * max of them, for reader r.  begin, then next until it returns 0 (no more)
 * or -1 (error), then always end.  next fills *d when out->found, with what
 * the feed's record and the read decision (app/doc_read.h oa_doc_visible)
 * use: id, kind, state, revision, title, level, urgency, doc_number,
 * step_due, updated_at, drafter_id, the label (declass_date, scoped, its
 * MAC), and the body when the level is at most r->body_max_level; every
 * other field is zero.  The caller frees it with oa_doc_free.
 */
#define OA_SCAN_DRAFTERS 8 /* drafters' names a scan remembers */
struct oa_change_scan {
    void *st;
    int body_max_level;
    struct oa_store *store;
    int ndrafters;
    struct {
        int64_t id;
        char name[OA_USERNAME_MAX + 1];
    } drafters[OA_SCAN_DRAFTERS];
};
int oa_change_scan_begin(struct oa_store *s, struct oa_change_scan *c, int64_t since, int64_t head, int64_t max,
                         const struct oa_feed_reader *r);
int oa_change_scan_next(struct oa_change_scan *c, struct oa_change *out, struct oa_doc *d);
void oa_change_scan_end(struct oa_change_scan *c);

/*
 * Every document the user's clients hold that was last decided under an
 * account change before `before`, with the document, in one statement:
 * begin, then next until 0 (no more) or -1 (error), then
 * oa_change_scan_end.  next sets *doc_id and returns 1 with the document
 * in *d (the caller frees it with oa_doc_free, no body), or 2 when it no
 * longer exists.
 */
int oa_sync_seen_scan_begin(struct oa_store *s, struct oa_change_scan *c, int64_t user, int64_t before);
int oa_sync_seen_scan_next(struct oa_change_scan *c, int64_t *doc_id, struct oa_doc *d);

/*
 * The user's rows revoked at a change in (since, upto], in order of that
 * change, in one statement (through sync_seen_revoked): begin, then next
 * until 0 (no more) or -1 (error), then oa_change_scan_end.  next sets
 * *doc_id, *at (the change) and *rev (the document's revision, 0 when it is
 * gone) and returns 1.
 */
int oa_sync_revoked_begin(struct oa_store *s, struct oa_change_scan *c, int64_t user, int64_t since, int64_t upto);
int oa_sync_revoked_next(struct oa_change_scan *c, int64_t *doc_id, int64_t *at, int64_t *rev);

#endif
