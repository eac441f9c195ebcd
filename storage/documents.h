/*
 * storage/documents.h: documents, their revisions, steps, participants,
 * to-do queue, numbers and the calendar, in the database.
 *
 * Runs inside writer jobs.  The workflow decisions are not made here
 * (workflow/docflow.c decides); this module only reads and writes rows, and
 * every write of a document records a change in the global sequence.
 */
#ifndef OA_STORAGE_DOCUMENTS_H
#define OA_STORAGE_DOCUMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/document.h"
#include "storage/store.h"
#include "workflow/calendar.h"


/* The columns of a document row, in the order oa_doc_from_row reads them. */
#define OA_DOC_COLS                                                                                    \
    "id, kind, def_version, state, revision, title, doc_type, copy_no, level, secrecy_period, urgency," \
    " coalesce(organ_id, 0), coalesce(department_id, 0), coalesce(doc_number, ''), signer,"          \
    " main_recipients, copied_recipients, attachment_note, doc_date, note, printing_organ,"           \
    " printing_date, drafter_id, coalesce(source_id, 0), coalesce(reply_id, 0),"                     \
    " coalesce(assignee_id, 0), coalesce(lead_department_id, 0), coalesce(step_due, ''),"            \
    " coalesce(request_due, ''), extended, created_at, updated_at, declass_date, scoped, label_mac"
/* Fills d (all but the body) from st's current row of OA_DOC_COLS, from column 0. */
void oa_doc_from_row(sqlite3_stmt *st, struct oa_doc *d);

/*
 * 1 found, 0 not found, -1 error.  The body is not read (d->body is NULL):
 * state changes never touch it.  The caller frees with oa_doc_free.
 */
int oa_doc_load(struct oa_store *s, int64_t id, struct oa_doc *d);
/* Reads the body into d->body (when not there yet); 0 or -1. */
int oa_doc_load_body(struct oa_store *s, struct oa_doc *d);

/* Inserts (d->id, revision, timestamps set here) with revision 1; 0 or -1. */
int oa_doc_insert(struct oa_store *s, struct oa_doc *d, int64_t author_id);

/*
 * Writes back every field, bumps the revision and records a change.  When
 * `text_changed` lists changed text fields (e.g. "title,body"), a revision
 * row is written too.  0 or -1.
 */
int oa_doc_save(struct oa_store *s, struct oa_doc *d, int64_t author_id, int64_t on_behalf_id,
                const char *text_changed);

/* The document's scope entries, as a NULL-terminated array freed with oa_strv_free (from accounts.h). */
char **oa_doc_scope(struct oa_store *s, int64_t doc_id, size_t *n);
/* The same for a loaded document: no query when it has no scope. */
char **oa_doc_scope_of(struct oa_store *s, const struct oa_doc *d, size_t *n);
/* Replaces the scope (and the document's scoped flag); 0 or -1. */
int oa_doc_scope_set(struct oa_store *s, struct oa_doc *d, const char *const *entries, size_t n);

/* Appends a step with its opinion; returns its id or -1. */
int64_t oa_doc_step(struct oa_store *s, int64_t doc_id, const char *action, const char *from, const char *to,
                    int64_t actor_id, int64_t on_behalf_id, const char *opinion, const char *detail);

/*
 * In one query: how many countersigners are still pending, and whether this
 * user is a pending countersigner or a pending reader.  0 or -1.
 */
int oa_part_facts(struct oa_store *s, int64_t doc_id, int64_t user_id, int *cs_pending, bool *is_cs,
                  bool *is_reader);

/* Participants: countersigners and readers. */
int oa_part_count(struct oa_store *s, int64_t doc_id, const char *part, const char *status);
bool oa_part_is(struct oa_store *s, int64_t doc_id, const char *part, const char *status, int64_t user_id);
/* Starts a new countersign round with these users; 0 or -1. */
int oa_part_new_round(struct oa_store *s, int64_t doc_id, const int64_t *users, int n);
int oa_part_add_readers(struct oa_store *s, int64_t doc_id, const int64_t *users, int n);
/* Sets this user's pending row of `part` to `status`; 0 or -1. */
int oa_part_set(struct oa_store *s, int64_t doc_id, const char *part, int64_t user_id, const char *status);
/* Cancels every pending countersigner; 0 or -1. */
int oa_part_cancel_pending(struct oa_store *s, int64_t doc_id);

/*
 * Replaces the document's to-do queue: the named users, and every holder of
 * `roles` in organ `organ_id` (0: any) and department `department_id` (0:
 * any department of that organ).  users may be NULL when n == 0.  0 or -1.
 */
int oa_queue_set(struct oa_store *s, int64_t doc_id, unsigned roles, int64_t organ_id, int64_t department_id,
                 const int64_t *users, size_t n);

/*
 * The to-do rule, once: a doc_queue row is the person's when it names them,
 * or names none and asks for one of their roles in their organ (and their
 * department, when it names one).  A person in no department belongs to no
 * one organ, and is matched by role in every organ.  The three arguments are SQL parameter
 * names for the user's id, roles and department id.
 */
#define OA_QUEUE_MINE(user, roles, dept) "(user_id = " user " OR (user_id = 0 AND " OA_QUEUE_ROLE(roles, dept) "))"
/* The second half alone: a row that names none asks for one of these roles in this department's organ. */
#define OA_QUEUE_ROLE(roles, dept)                                                                 \
    "(roles & " roles ") != 0"                                                                     \
    " AND (organ_id = 0 OR organ_id = coalesce((SELECT organ_id FROM departments WHERE id = " dept "), organ_id))" \
    " AND (department_id = 0 OR department_id = " dept ")"

/*
 * A document is in a person's to-do list when its queue has a row that is
 * theirs (OA_QUEUE_MINE) or they are a named participant who has not acted
 * yet (a countersigner, a reader in circulation).  OA_TODO_DOCS is that as
 * a condition on a documents query's `id` column (the to-do view);
 * OA_TODO_DOC asks it of one document (the sync feed's todo flag, read with
 * the feed's page), and oa_doc_in_todo runs that alone.
 */
#define OA_TODO_DOCS(user, roles, dept)                                                            \
    "(id IN (SELECT doc_id FROM doc_queue WHERE " OA_QUEUE_MINE(user, roles, dept) ")"            \
    " OR id IN (SELECT doc_id FROM doc_participants WHERE user_id = " user " AND status = 'pending'))"
/* The same for one document, as an SQL expression on `doc` (its id: a parameter or a column): two index lookups. */
#define OA_TODO_DOC(doc, user, roles, dept)                                                        \
    "(EXISTS (SELECT 1 FROM doc_queue WHERE doc_id = " doc " AND " OA_QUEUE_MINE(user, roles, dept) ")" \
    " OR EXISTS (SELECT 1 FROM doc_participants WHERE doc_id = " doc " AND user_id = " user              \
    " AND status = 'pending'))"
/* Whether document doc_id is in the to-do list of the user (id, roles, department). */
bool oa_doc_in_todo(struct oa_store *s, int64_t doc_id, int64_t user_id, unsigned roles, int64_t department_id);

/*
 * Allocates the next number for (organ, prefix, year) and records it for the
 * document; writes the formatted number ("府办发〔2026〕12号") into out.
 */
int oa_number_allocate(struct oa_store *s, int64_t organ_id, const char *prefix, int year, int64_t doc_id,
                       char *out, size_t outlen);
/* Marks the document's current number void, with a reason; 0 or -1. */
int oa_number_void(struct oa_store *s, int64_t doc_id, const char *number, const char *reason);

/*
 * The calendar's exceptions, sorted (*n entries).  The array belongs to this
 * module and stays valid until the next call; writer thread only.
 */
const struct oa_day_exception *oa_calendar_get(struct oa_store *s, size_t *n);
/* Call after any change to the calendar table. */
void oa_calendar_changed(void);

/* Stores a response for an idempotency key; and looks one up (1 found, 0 not, -1 error). */
int oa_idem_put(struct oa_store *s, int64_t user_id, const char *key, int status, const void *body, size_t len);
/* Forgets at most `max` of the oldest stored answers kept since before
 * `before` (rows append in time order, so only the oldest are looked at);
 * *n how many.  0 or -1. */
int oa_idem_prune(struct oa_store *s, int64_t before, int max, int64_t *n);
int oa_idem_get(struct oa_store *s, int64_t user_id, const char *key, int *status, unsigned char **body,
                size_t *len);

/* The user id for a username, 0 when none, -1 on error. */
int64_t oa_user_id_by_name(struct oa_store *s, const char *username);

/* A growable list of ids (people a step names); free v when done. */
struct oa_ids {
    int64_t *v;
    size_t n, cap;
};
void oa_ids_add(struct oa_ids *ids, int64_t id);
/* Appends the countersigners of doc_id who have not acted yet; 0 or -1. */
int oa_part_pending_countersigners(struct oa_store *s, int64_t doc_id, struct oa_ids *out);
/* Appends the enabled members of a department; 0 or -1. */
int oa_department_members(struct oa_store *s, int64_t department_id, struct oa_ids *out);
/* A classified document whose declassification date has come (the label review list). */
struct oa_declass_due {
    int64_t id;
    char kind[16];
    int level;
    char declass_date[16];
    char doc_number[128];
};
/* Those due on or before `today` (YYYY-MM-DD), by date then id, at most cap into out. 0 or -1. */
int oa_doc_declass_due(struct oa_store *s, const char *today, struct oa_declass_due *out, size_t cap, size_t *n);
/* Whether department id exists. */
bool oa_department_exists(struct oa_store *s, int64_t id);
/* The organ a department belongs to (organs: the organ itself, if it exists); 0 when none, -1 on error. */
int64_t oa_department_organ(struct oa_store *s, int64_t department_id);
int64_t oa_organ_find(struct oa_store *s, int64_t organ_id);
/* Whether `from` has an active delegation to `to` on day `today` (YYYY-MM-DD). */
bool oa_delegation_active(struct oa_store *s, int64_t from, int64_t to, const char *today);
/* Records a chase (催办) of doc_id for target_id by by_id, with a note; 0 or -1. */
int oa_chase_add(struct oa_store *s, int64_t doc_id, int64_t target_id, int64_t by_id, const char *note);

#endif
