/*
 * app/aip.h: archival information packages of oa's records and their
 * four-property check (docs/AIP.md, #16), the use cases over proto/aip.h.
 * They gather a record's facts from storage (the document, its text and
 * files decrypted, its steps, its audit entries with inclusion proofs under
 * the latest signed checkpoint), write the package and check it.  Who may
 * ask is the caller's decision (workflow/access.c); each runs inside a job.
 */
#ifndef OA_APP_AIP_H
#define OA_APP_AIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/outcome.h"
#include "app/records.h"
#include "model/keys.h"
#include "proto/aip.h"

struct oa_record_row; /* storage/records.h */

struct oa_store;

/* What the server lends the packaging: where the files are, their keys, the log's key. */
struct oa_aip_env {
    const char *data_dir;
    const struct oa_keys *const *keys; /* the server's keys field: the key file is replaced whole on reload */
    unsigned char audit_pk[32];
};

/* Largest package built in memory (the files decrypted, plus the tar): 512 MiB. */
#define OA_AIP_MAX_BYTES (512u << 20)

/*
 * Writes the package of the records recs[0..n) (filed, or about to be) to
 * fd under the base directory name; transfer_list: a batch's JSON, or NULL.
 * Returns 0, 1 when a record cannot be packaged (a file that does not
 * decrypt, too large: why says which), -1 on a storage error.
 */
int oa_aip_write(struct oa_store *s, const struct oa_aip_env *env, const struct oa_record_row *recs, size_t n,
                 const char *name, const char *transfer_list, int fd, char *why, size_t whylen);

/*
 * Packages the records in memory, reads the package back and runs the
 * four-property check under the log's own key (no scanner inside oad: the
 * security finding no_scanner is not raised).  at_filing: entries newer
 * than the latest checkpoint cannot be proved yet, so a record with no
 * provable entry is not refused for that (it is at transfer).  Fills
 * report (the caller frees it).  Returns 0, 1 when it could not be
 * packaged (why), -1 on a storage error.
 */
int oa_aip_check(struct oa_store *s, const struct oa_aip_env *env, const struct oa_record_row *recs, size_t n,
                 bool at_filing, struct aip_report *report, char *why, size_t whylen);

/*
 * The filing check records.c calls (oa_rec_set_filing_check with arg a
 * struct oa_aip_env that outlives the server): refuses a record that fails
 * the four properties, with the first findings in *why.
 */
int oa_aip_filing_check(struct oa_store *s, const struct oa_rec_filing *f, void *arg, const char **why);

/*
 * The package of records recs[0..n) as bytes (*out malloc'd, the caller
 * frees): the tar, or with recipient_cert (a PEM file) the tar in its CMS
 * envelope.  0, 1 when it could not be made (why), -1 on a storage error.
 */
int oa_aip_bytes(struct oa_store *s, const struct oa_aip_env *env, const struct oa_record_row *recs, size_t n,
                 const char *name, const char *transfer_list, const char *recipient_cert, unsigned char **out,
                 size_t *len, char *why, size_t whylen);

/*
 * The package of one filed record for a records officer who may read it
 * (OA_ACT_RECORDS_MANAGE and the read gate): *out (malloc'd, the caller
 * frees) holds the tar, or for 秘密 and above the tar in its CMS envelope
 * to recipient_cert (*enveloped true; none configured: refused
 * aip_recipient_missing).  Audited as record.package.  Returns 0 (o says
 * done or refused) or an enum oa_err.
 */
int oa_aip_record_package(struct oa_store *s, const struct oa_aip_env *env, const struct oa_app_actor *by,
                          int64_t doc_id, const char *recipient_cert, unsigned char **out, size_t *len,
                          bool *enveloped, struct oa_app_outcome *o);

/*
 * The four-property check of one filed record on demand (a records
 * officer): *out {document_id, archival_no, passed, report (the JSON
 * report), text}.  Audited as record.check with its outcome.
 */
int oa_aip_record_check(struct oa_store *s, const struct oa_aip_env *env, const struct oa_app_actor *by,
                        int64_t doc_id, struct oa_app_outcome *o, cbor_item_t **out);

#endif
