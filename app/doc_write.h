/*
 * app/doc_write.h: creating a document (rights by kind, the derived label,
 * a scope its drafter can still read) and editing its draft fields and
 * label (doc_write.c).
 */
#ifndef OA_APP_DOC_WRITE_H
#define OA_APP_DOC_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/audit.h"
#include "app/outcome.h"
#include "model/account.h"
#include "model/document.h"

struct oa_store;

/* The fields a create or an edit gives; NULL (has_* false) when absent. */
struct oa_app_doc_fields {
    const char *kind, *title, *body, *doc_type, *copy_no, *secrecy_period, *urgency, *main_recipients,
        *copied_recipients, *attachment_note, *doc_date, *note, *printing_organ, *printing_date;
    int64_t level;
    bool has_level;
    bool has_scope;
    const char *const *scope;   /* has_scope: the label's scope, nscope names */
    size_t nscope;
    const char *declass_date;
    int64_t derived_from;       /* create: the source of a reply, copy or excerpt, or 0 */
    const char *opinion;        /* edit: the step's note */
};

/*
 * Creates a document of f->kind for the caller (by): their role must
 * create that kind, the label at most their clearance; a derived document
 * is labelled at least as high and scoped no wider than its source.  On
 * success *d is the new document (the caller frees it); refusals are in o
 * (audited where the rules say).  0 or OA_E_STORAGE.
 */
int oa_app_doc_create(struct oa_store *s, const struct oa_app_actor *by, const struct oa_app_doc_fields *f,
                      struct oa_doc *d, struct oa_app_outcome *o);

/*
 * Edits d, which `me` opened through the read gate (and is no filed
 * record), with f: the lifecycle must allow an edit in d's state, the label
 * change must be the editor's to make, and, unless version_checked (a sync
 * push checked its base revision), if_match must name d's version.  On
 * success d is the document as edited (unchanged when nothing was); the
 * caller frees d either way.  0 or OA_E_STORAGE.
 */
int oa_app_doc_edit(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me, struct oa_doc *d,
                    const struct oa_app_doc_fields *f, const char *if_match, bool version_checked,
                    struct oa_app_outcome *o);

#endif
