/*
 * model/document.h: a document's fields, as storage/ reads and writes them
 * (storage/documents.h) and app/ and server/ use them.
 */
#ifndef OA_MODEL_DOCUMENT_H
#define OA_MODEL_DOCUMENT_H

#include <stdbool.h>
#include <stdint.h>

#define OA_DOC_TEXT 512       /* short text fields */
#define OA_DOC_BODY_MAX (1024 * 1024)

/* Text fields of a document; body is malloc'd. */
struct oa_doc {
    int64_t id;
    char kind[16];
    int def_version;
    char state[32];
    int64_t revision;
    char title[OA_DOC_TEXT];
    char doc_type[32];
    char copy_no[32];
    int level;
    char secrecy_period[64];
    char urgency[16];
    int64_t organ_id, department_id;
    char doc_number[128];     /* "" when none */
    char signer[128];
    char main_recipients[OA_DOC_TEXT];
    char copied_recipients[OA_DOC_TEXT];
    char *body;               /* owned; NULL until oa_doc_load_body; oa_doc_free frees it */
    char attachment_note[OA_DOC_TEXT];
    char doc_date[16];
    char note[OA_DOC_TEXT];
    char printing_organ[128];
    char printing_date[16];
    int64_t drafter_id, source_id, reply_id, assignee_id, lead_department_id;
    char step_due[16];        /* "" when none */
    char request_due[16];
    bool extended;
    int64_t created_at, updated_at;
    char declass_date[16];    /* "" when none */
    bool scoped;              /* the label has a need-to-know scope (doc_scope rows) */
    bool has_label_mac;       /* #17: the label's MAC (storage/labelmac.h), as stored */
    unsigned char label_mac[32];
};

void oa_doc_free(struct oa_doc *d);

#endif
