/*
 * storage/records.h: the rows of records management (#16): organs' fonds
 * codes, filed records and their 件号 counters, retention schedules,
 * metadata corrections, legal holds, disposal lists, tombstones, and the
 * erasure of a disposed record's text.  Runs inside writer jobs (the
 * catalogue also on readers).  The rules are workflow/records.c's; the
 * decisions app/records.c's.
 */
#ifndef OA_STORAGE_RECORDS_H
#define OA_STORAGE_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/records.h"
#include "storage/store.h"

#define OA_REC_TEXT 512

/* A filed record: its archival number's parts and its catalogue entry (归档文件目录). */
struct oa_record_row {
    int64_t doc_id, organ_id;
    char fonds[8];
    char category[8];
    int year;
    char retention[4];     /* "Y", "D30", "D10" */
    char class_code[20];   /* "" when none */
    int item_no;           /* 件号 */
    char archival_no[96];  /* 档号 */
    char retention_reason[OA_REC_TEXT]; /* why the officer departed from the schedule; "" when not */
    char title[OA_REC_TEXT];
    char responsible[OA_REC_TEXT]; /* 责任者 */
    char doc_number[128];  /* 文号 */
    char doc_date[12];     /* YYYYMMDD */
    int pages;
    int level;
    char note[OA_REC_TEXT]; /* 备注 */
    int64_t filed_at, filed_by;
    char state[16];        /* filed, transferred, disposed */
    bool hold;
    char hold_reason[OA_REC_TEXT];
};

/* The fonds code of an organ: 1 set (into out), 0 unset, -1 error; -2 when no such organ. */
int oa_organ_fonds(struct oa_store *s, int64_t organ_id, char out[8]);
/* Sets it: 0, 1 when another organ has it, 2 when no such organ, -1 error. */
int oa_organ_fonds_set(struct oa_store *s, int64_t organ_id, const char *fonds);

/* The 责任者 of an organ's documents: its name into out ("" when none); 0 or -1. */
int oa_rec_organ_name(struct oa_store *s, int64_t organ_id, char *out, size_t cap);
/* The issuer a schedule rule names: the department's code, else the organ's; 0 or -1. */
int oa_rec_issuer(struct oa_store *s, int64_t organ_id, int64_t department_id, char *out, size_t cap);
/* How many steps (with their opinions) the document's handling record has; -1 on error. */
int64_t oa_rec_step_count(struct oa_store *s, int64_t doc_id);

/* Puts (replaces) one rule of organ's retention schedule; 0 or -1. */
int oa_rec_schedule_put(struct oa_store *s, int64_t organ_id, const char *doc_type, const char *issuer,
                        const char *retention);
/* Removes one rule: 1 removed, 0 none, -1 error. */
int oa_rec_schedule_delete(struct oa_store *s, int64_t organ_id, const char *doc_type, const char *issuer);
/* Calls fn for each rule of organ's schedule (organ_id 0: every organ's); 0 or -1. */
int oa_rec_schedule_each(struct oa_store *s, int64_t organ_id,
                         void (*fn)(void *arg, int64_t organ_id, const char *doc_type, const char *issuer,
                                    const char *retention),
                         void *arg);

/*
 * Takes the next 件号 of the lowest class (fonds, category, year, retention,
 * class_code) into *item, inside the caller's write transaction: a filing
 * that is undone gives it back, so the numbers have no gaps.  0 or -1.
 */
int oa_rec_next_item(struct oa_store *s, const char *fonds, const char *category, int year, const char *retention,
                     const char *class_code, int *item);
/* Inserts a filed record; 0, 1 when the document or the number is filed already, -1 error. */
int oa_rec_insert(struct oa_store *s, const struct oa_record_row *r);
/* 1 found (into *r), 0 not filed, -1 error. */
int oa_rec_load(struct oa_store *s, int64_t doc_id, struct oa_record_row *r);
/* Whether document doc_id is a filed record (in any state): 1, 0, -1 error. */
int oa_rec_is_filed(struct oa_store *s, int64_t doc_id);

/* struct oa_rec_filter, what the catalogue lists: model/records.h. */
/* Calls fn for each record matching f, in archival order; fn returns false to stop.  0 or -1. */
int oa_rec_each(struct oa_store *s, const struct oa_rec_filter *f,
                bool (*fn)(void *arg, const struct oa_record_row *r), void *arg);

/*
 * Lets the next writes of this transaction change filed record doc_id
 * (purpose "correct": its metadata; "dispose": also its document, to erase
 * it), past the triggers; oa_rec_reseal closes it again.  0 or -1.
 */
int oa_rec_unseal(struct oa_store *s, int64_t doc_id, const char *purpose);
int oa_rec_reseal(struct oa_store *s, int64_t doc_id);

/*
 * The correctable catalogue fields, by name: title, responsible,
 * doc_number, doc_date, pages, note.  Writes value (pages as decimal) to
 * the record; 0, 1 when `field` is not correctable, -1 error (a sealed
 * record without oa_rec_unseal is an error).
 */
int oa_rec_set_field(struct oa_store *s, int64_t doc_id, const char *field, const char *value);
/* Records a correction; its id or -1. */
int64_t oa_rec_correction_add(struct oa_store *s, int64_t doc_id, const char *field, const char *old,
                              const char *new_value, const char *reason, int64_t by_id);
/* Calls fn for each correction of doc_id, oldest first; 0 or -1. */
int oa_rec_corrections_each(struct oa_store *s, int64_t doc_id,
                            void (*fn)(void *arg, const char *field, const char *old, const char *new_value,
                                       const char *reason, int64_t by_id, int64_t at),
                            void *arg);

/* Sets or lifts a legal hold (冻结); 0 or -1. */
int oa_rec_set_hold(struct oa_store *s, int64_t doc_id, bool hold, const char *reason);
/* Sets a record's state ("transferred", "disposed"); 0 or -1. */
int oa_rec_set_state(struct oa_store *s, int64_t doc_id, const char *state);

/* A disposal list (销毁清册). */
struct oa_disposal_row {
    int64_t id, organ_id, proposed_by, proposed_at, approved_by, decided_at;
    char reason[OA_REC_TEXT];
    char opinion[OA_REC_TEXT];
    char state[16]; /* proposed, refused, disposed */
};
/* A new list; its id or -1. */
int64_t oa_disposal_insert(struct oa_store *s, int64_t organ_id, int64_t proposed_by, const char *reason);
int oa_disposal_item_add(struct oa_store *s, int64_t list_id, int64_t doc_id);
/* 1 found, 0 none, -1 error. */
int oa_disposal_load(struct oa_store *s, int64_t id, struct oa_disposal_row *d);
/* The documents of a list, at most cap into ids (*n); 0 or -1. */
int oa_disposal_items(struct oa_store *s, int64_t id, int64_t *ids, size_t cap, size_t *n);
/* Records the decision (state "refused" or "disposed"); 0 or -1. */
int oa_disposal_decide(struct oa_store *s, int64_t id, int64_t approved_by, const char *state, const char *opinion);
/* Whether doc_id is on a list that is still proposed: 1, 0, -1. */
int oa_disposal_pending_for(struct oa_store *s, int64_t doc_id);
/* Calls fn for each list, newest first (at most limit); 0 or -1. */
int oa_disposal_each(struct oa_store *s, size_t limit, void (*fn)(void *arg, const struct oa_disposal_row *d),
                     void *arg);

/* A tombstone: what remains of a disposed record. */
struct oa_tombstone_row {
    int64_t doc_id;
    char archival_no[96];
    char title[OA_REC_TEXT];
    char doc_date[12];
    int64_t filed_at, disposed_at, list_id, proposed_by, approved_by;
};
int oa_tombstone_insert(struct oa_store *s, const struct oa_tombstone_row *t);
/* 1 found, 0 none, -1 error. */
int oa_tombstone_load(struct oa_store *s, int64_t doc_id, struct oa_tombstone_row *t);

/*
 * Erases the text of filed record doc_id (which oa_rec_unseal opened for
 * "dispose"), with secure_delete on: the document's title, body, every
 * field of its text, its revisions, its steps' opinions, its FTS rows (then
 * the index is merged so no segment keeps them), its attachments' names,
 * chase notes, and the idempotent answers that quoted it; and destroys its
 * blobs' wrapped data keys (crypto-shredding).  `title` and `body` are the
 * text before erasure (to find the answers that quote it).  Keeps the row's
 * id, kind, level and dates.  0 or -1.
 */
int oa_rec_erase(struct oa_store *s, int64_t doc_id, const char *title, const char *body);

#endif
