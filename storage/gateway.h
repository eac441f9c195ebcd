/*
 * storage/gateway.h: the exchange gateway's rows (#15): imported bundles,
 * a public request's own facts, the outbox, and 主动公开 proposals.
 *
 * Runs inside writer jobs.  No rule is decided here: app/gateway.c decides
 * (through workflow/), this module reads and writes rows.
 */
#ifndef OA_STORAGE_GATEWAY_H
#define OA_STORAGE_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/gateway.h" /* OA_GW_SENDER_MAX, OA_GW_ID_LEN */
#include "storage/store.h"


/* ---- imported bundles ---- */

/* The document a (sender, bundle_id) was imported as: 1 found (*doc_id), 0 not, -1 error. */
int oa_gw_bundle_find(struct oa_store *s, const char *sender, const char *bundle_id, int64_t *doc_id);
/* The bundle id that took (sender, seq): 1 found (out, 65 bytes), 0 not, -1 error. */
int oa_gw_seq_find(struct oa_store *s, const char *sender, int64_t seq, char out[OA_GW_ID_LEN + 1]);
/* The highest seq imported from sender (0 when none), or -1 on error. */
int64_t oa_gw_last_seq(struct oa_store *s, const char *sender);
/* Records an imported bundle; 0 or -1. */
int oa_gw_bundle_put(struct oa_store *s, const char *sender, const char *bundle_id, int64_t seq, const char *type,
                     int64_t doc_id, const char *created);

/*
 * Bundles refused for good (migration 16): such a bundle keeps its
 * (sender, seq), so oa_gw_seq_find and oa_gw_last_seq count it.  find: 1
 * (code and reason filled, 64 and 512 bytes), 0 not, -1 error; put: 0 or -1.
 */
int oa_gw_refusal_find(struct oa_store *s, const char *sender, const char *bundle_id, char code[64],
                       char reason[512]);
int oa_gw_refusal_put(struct oa_store *s, const char *sender, const char *bundle_id, int64_t seq, const char *type,
                      const char *code, const char *reason);

/* Appends an audit entry (oa_audit) and gives its id; 0 or -1. */
int oa_gw_audit(struct oa_store *s, const struct oa_audit_event *ev, int64_t *id);

/* ---- a public request's facts ---- */

/* Dates are "YYYY-MM-DD", "" when none; times RFC 3339 text as received. */
struct oa_request_row {
    int64_t doc_id;
    char sender[OA_GW_SENDER_MAX + 1], bundle_id[OA_GW_ID_LEN + 1]; /* "" when typed in by the secretariat */
    char applicant_name[256], id_type[32], id_number[64], contact[256], organisation[256];
    char form_wanted[32], submitted[40], confirmed[40];
    char received[11], correction_asked[11], corrected[11], consult_since[11];
    int paused_days, extend_days;
    int64_t review_by, review_at;                /* the secrecy review (保密审查); 0 when none */
    char review_opinion[512];
    char reply_form[16], reply_reason[512], responsible_organ[256];
};

/* 1 found, 0 not, -1 error. */
int oa_request_load(struct oa_store *s, int64_t doc_id, struct oa_request_row *q);
/* Inserts or replaces the whole row; 0 or -1. */
int oa_request_put(struct oa_store *s, const struct oa_request_row *q);

/* ---- the outbox ---- */

struct oa_outbox_row {
    int64_t id, doc_id;
    char type[16];
    char request_ref[OA_GW_ID_LEN + 1]; /* "" when none */
    unsigned char *content;             /* CBOR map, malloc'd (oa_outbox_row_free) */
    size_t content_len;
    char sent_bundle[OA_GW_ID_LEN + 1], sent_sha256[OA_GW_ID_LEN + 1]; /* "" until sent */
    int64_t created_at, sent_at;
};
void oa_outbox_row_free(struct oa_outbox_row *o);

/*
 * Adds an item with its files (attachment ids and revisions of doc_id, in
 * order; k counts from 1); its id in *id.  The content is CBOR bytes, copied.
 * 0 or -1.
 */
int oa_outbox_add(struct oa_store *s, const char *type, int64_t doc_id, const char *request_ref,
                  const unsigned char *content, size_t len, const int64_t *att_ids, const int *revs, size_t nfiles,
                  int64_t *id);
/* Up to max items with id > after, oldest first, into *out (malloc'd; free each, then the array); -1 error. */
int oa_outbox_list(struct oa_store *s, int64_t after, int max, struct oa_outbox_row **out, size_t *n);
/* One item: 1 found, 0 not, -1 error. */
int oa_outbox_get(struct oa_store *s, int64_t id, struct oa_outbox_row *o);
/* The k-th file of an item: 1 found (*att_id, *rev), 0 not, -1 error. */
int oa_outbox_file(struct oa_store *s, int64_t id, int k, int64_t *att_id, int *rev);
/* An item's files as (attachment id, rev) pairs, k = index + 1; *n of them (max 64); -1 error. */
int oa_outbox_files(struct oa_store *s, int64_t id, int64_t att_ids[64], int revs[64], size_t *n);
/* Records that an item was written out; 0 or -1. */
int oa_outbox_set_sent(struct oa_store *s, int64_t id, const char *bundle_id, const char *sha256);

/* ---- 主动公开 ---- */

struct oa_publication_row {
    int64_t doc_id, proposed_by, proposed_at, reviewed_by, reviewed_at, outbox_id;
    int approved;  /* -1 not reviewed yet, 0 refused, 1 approved */
    char opinion[512];
    int64_t secrecy_by, secrecy_at; /* the secrecy review (保密审查) of this proposal; 0 when none */
    char secrecy_opinion[512];
};
/* 1 found, 0 not, -1 error. */
int oa_publication_load(struct oa_store *s, int64_t doc_id, struct oa_publication_row *p);
/* Inserts or replaces; 0 or -1. */
int oa_publication_put(struct oa_store *s, const struct oa_publication_row *p);

#endif
