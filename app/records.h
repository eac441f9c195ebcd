/*
 * app/records.h: filing (归档, DA/T 22-2015) and what a filed record allows,
 * the use cases (records.c).  Who may do what is workflow/access.c's
 * decision (OA_ACT_RECORDS_MANAGE: records officers); the archival number,
 * retention and the schedule's choice are workflow/records.c's; the rows
 * storage/records.c's.  Each function runs on the writer thread inside a
 * job and returns 0 when it ran (o says done or refused; a refusal keeps
 * its audit entry) or an enum oa_err when storage failed.
 */
#ifndef OA_APP_RECORDS_H
#define OA_APP_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "app/audit.h"
#include "app/outcome.h"
#include "proto/value.h"

struct oa_record_row; /* storage/records.h */

struct oa_doc;
struct oa_attachment;
struct oa_user;

/* What is about to be filed, for a filing check: the 件 and its record. */
struct oa_rec_filing {
    const struct oa_record_row *record;  /* number, retention and catalogue entry, not yet inserted */
    const struct oa_doc *doc;            /* the formal document (its final text is its current revision) */
    const struct oa_attachment *files;   /* its files (role "body": the formal body file), current revisions */
    size_t nfiles;
    int64_t nsteps;                      /* the handling record: steps with their opinions */
};

/*
 * A check that may refuse a filing (the four-property check, 四性检测, plugs
 * in here): returns 0 to let it pass, 1 to refuse it with a sentence for
 * the person in *why (static, or valid until the job ends), -1 on a storage
 * error.  It runs inside the filing's transaction, after the number was
 * taken and before the record is inserted; a refusal undoes the filing
 * (the number is given back) and is answered 422 record_check_failed.
 */
typedef int (*oa_rec_check_fn)(struct oa_store *s, const struct oa_rec_filing *f, void *arg, const char **why);
/* Installs the filing check (NULL: none); call before serving. */
void oa_rec_set_filing_check(oa_rec_check_fn fn, void *arg);

/* What the officer asks for when filing. */
struct oa_rec_file_req {
    int64_t doc_id;
    const char *retention;  /* "Y", "D30", "D10", or NULL: the schedule's */
    const char *reason;     /* why, when retention departs from the schedule */
    const char *class_code; /* 机构(问题)代码, or NULL/"" for none */
    int pages;              /* 页数; -1: one per file (at least 1) */
    const char *note;       /* 备注, or NULL */
};

/*
 * Files an archived document as a record: the 件 is the document with its
 * files, its final text and its handling record.  Takes the next 件号 of the
 * lowest class inside this transaction (gap-free under concurrent
 * filing), runs the filing check, inserts the record and audits it.  A
 * records officer files a document they may not read: its metadata is
 * filed, and the answer shows them no content.  *out: the record
 * (oa_rec_item).
 */
int oa_rec_file(struct oa_store *s, const struct oa_app_actor *by, const struct oa_rec_file_req *q,
                struct oa_app_outcome *o, cbor_item_t **out);

/*
 * The record of document doc_id as `who` may see it: the archival number,
 * the 归档章 items, retention, state, hold and the 件's parts; the content
 * (title, 责任者, 文号, date, 备注, file names) only when who may read the
 * document.  *out NULL when doc_id is not filed.  Readers and writer.
 */
int oa_rec_get(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, struct oa_app_outcome *o,
               cbor_item_t **out);
/* The map of one record, with its content when `content` (the caller decided). */
cbor_item_t *oa_rec_item(const struct oa_record_row *r, bool content);

/*
 * A metadata correction of a filed record: one catalogue field (title,
 * responsible, doc_number, doc_date, pages, note) to `value`, with a
 * reason (required: reason_required), recorded with the old value, the
 * person and the time; the document itself never changes.
 */
int oa_rec_correct(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, const char *field,
                   const char *value, const char *reason, struct oa_app_outcome *o, cbor_item_t **out);

/* Sets or lifts a legal hold (冻结) with a reason (required). */
int oa_rec_hold(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, bool hold, const char *reason,
                struct oa_app_outcome *o, cbor_item_t **out);

/* Sets an organ's fonds code (全宗号), once: a records officer's. */
int oa_rec_fonds_set(struct oa_store *s, const struct oa_app_actor *by, int64_t organ_id, const char *fonds,
                     struct oa_app_outcome *o, cbor_item_t **out);

/* Puts a rule of an organ's retention schedule (a records officer's), or lists the schedules (officers and leaders). */
int oa_rec_schedule_set(struct oa_store *s, const struct oa_app_actor *by, int64_t organ_id, const char *doc_type,
                        const char *issuer, const char *retention, struct oa_app_outcome *o, cbor_item_t **out);
int oa_rec_schedule_list(struct oa_store *s, const struct oa_app_actor *by, int64_t organ_id,
                         struct oa_app_outcome *o, cbor_item_t **out);

/*
 * The immutability guard of every write path to a document (edit, action,
 * attachment, upload, sync push, relabel): 1 when document doc_id is a
 * filed record (the refusal is audited under `what`; *err record_filed),
 * 0 when it is not, -1 on a storage error.
 */
int oa_rec_guard_write(struct oa_store *s, const struct oa_app_actor *by, const struct oa_doc *d, const char *what,
                       enum oa_err *err, const char **message);

#endif
