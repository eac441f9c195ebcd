/*
 * storage/doc_history.h: the SQL of a document's history: its steps with
 * their opinions, its text revisions, its participants and the chases on
 * it (app/doc_history.c answers with them).  Each *_each calls fn for each
 * row in order (at most 10,000); the strings live until fn returns (NULL
 * for an empty column); 0, or -1 on error.
 */
#ifndef OA_STORAGE_DOC_HISTORY_H
#define OA_STORAGE_DOC_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/store.h"

struct oa_step_row {
    int64_t id, at;
    const char *action, *from, *to, *actor, *on_behalf, *opinion, *detail;
};
int oa_doc_steps_each(struct oa_store *s, int64_t doc, void (*fn)(void *arg, const struct oa_step_row *r), void *arg);

struct oa_revision_row {
    int64_t revision, at;
    const char *author, *changed, *title, *body; /* title and body only from oa_doc_revision_get */
};
int oa_doc_revisions_each(struct oa_store *s, int64_t doc, void (*fn)(void *arg, const struct oa_revision_row *r),
                          void *arg);
/* Revision n of doc: fn called once when it exists; 1 found, 0 not, -1 error. */
int oa_doc_revision_get(struct oa_store *s, int64_t doc, int64_t n,
                        void (*fn)(void *arg, const struct oa_revision_row *r), void *arg);

struct oa_participant_row {
    const char *user, *part, *status;
    int64_t round;
    int64_t acted_at; /* 0 when not yet */
};
int oa_doc_participants_each(struct oa_store *s, int64_t doc,
                             void (*fn)(void *arg, const struct oa_participant_row *r), void *arg);

struct oa_doc_chase_row {
    const char *target, *by, *note;
    int64_t at;
};
int oa_doc_chases_each(struct oa_store *s, int64_t doc, void (*fn)(void *arg, const struct oa_doc_chase_row *r),
                       void *arg);

#endif
