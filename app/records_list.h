/*
 * app/records_list.h: what records officers and leaders read about the
 * records (records_list.c): the catalogue (归档文件目录), the appraisal list
 * of records past their retention, and the declassification review list
 * of records whose secrecy period has ended.  Each lists only what the
 * reader may see (the one read decision of app/doc_read.h), runs on a
 * reader or the writer, and returns 0 when it ran (o: done or refused) or
 * an enum oa_err when storage failed.
 */
#ifndef OA_APP_RECORDS_LIST_H
#define OA_APP_RECORDS_LIST_H

#include "app/audit.h"
#include "app/outcome.h"
#include "model/records.h"
#include "proto/value.h"

/* The most catalogue entries one answer holds. */
#define OA_CATALOGUE_MAX 50000

/*
 * The catalogue: {entries: [{document_id, item_no, archival_no, fonds, year,
 * retention, class_code, responsible, doc_number, title, doc_date, pages,
 * level, level_name (公开...), note, state, hold}], truncated}, in archival
 * order, filtered by f; records the reader may not read are left out.
 * Showing classified entries is audited (records.catalogue).
 */
int oa_rec_catalogue(struct oa_store *s, const struct oa_app_actor *by, const struct oa_rec_filter *f,
                     struct oa_app_outcome *o, cbor_item_t **out);

/*
 * The appraisal list (鉴定): filed records past their retention this year
 * (never Y): {entries: [{document_id, archival_no, retention, year,
 * due_since, hold, [title]}]}; the title only when the reader may read it.
 */
int oa_rec_appraisal(struct oa_store *s, const struct oa_app_actor *by, struct oa_app_outcome *o, cbor_item_t **out);

/*
 * Records whose secrecy period has ended (解密审查): {entries: [{document_id,
 * archival_no, level, secrecy_period, declass_date, doc_date, [title]}]}.
 */
int oa_rec_declass_review(struct oa_store *s, const struct oa_app_actor *by, struct oa_app_outcome *o,
                          cbor_item_t **out);

#endif
