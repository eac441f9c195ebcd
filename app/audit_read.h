/*
 * app/audit_read.h: what the auditor reads of the audit trail (the use
 * cases behind /v1/audit/...; server/h_audit.c decides who may and records
 * the read first).  Pure reads: they run on the reader threads.
 */
#ifndef OA_APP_AUDIT_READ_H
#define OA_APP_AUDIT_READ_H

#include <stdint.h>

#include "model/audit.h"
#include "proto/errors.h"
#include "proto/value.h"

struct oa_store;

enum oa_audit_read_op {
    OA_AUDIT_ENTRIES,     /* a page of entries: filter */
    OA_AUDIT_CHECKPOINT,  /* the latest signed checkpoint */
    OA_AUDIT_INCLUSION,   /* leaf a in the tree of size b */
    OA_AUDIT_CONSISTENCY, /* tree size a within size b */
    OA_AUDIT_EXPORT,      /* entries a..b, each with its proof, under the latest checkpoint */
    OA_AUDIT_REPORT,      /* the monthly security report of month */
};

struct oa_audit_read {
    enum oa_audit_read_op op;
    struct oa_audit_filter filter; /* OA_AUDIT_ENTRIES */
    int64_t a, b;
    const char *month;
    unsigned char pk[32];          /* the log's public key, shown with checkpoints */
    enum oa_err err;               /* a refusal (bad range, none yet) and its sentence */
    const char *message;
};

/* Answers q into *out; 0 (q->err may refuse) or OA_E_STORAGE. */
int oa_app_audit_read(struct oa_store *s, struct oa_audit_read *q, cbor_item_t **out);

#endif
