/*
 * app/audit.h: who asks, as the audit trail names them, and the one helper
 * that writes a use case's audit entry (audit.c).  The entry is appended in
 * the caller's transaction (storage/store.h oa_audit).
 */
#ifndef OA_APP_AUDIT_H
#define OA_APP_AUDIT_H

#include <stdint.h>

struct oa_store;
struct oa_audit_event; /* storage/store.h */


struct oa_doc;

/*
 * Who asks, as the audit trail names them; the server fills it from its
 * request (OA_REQ_ACTOR in server/handlers.h).  The strings stay the
 * caller's.
 */
struct oa_app_actor {
    int64_t user_id;      /* 0 when nobody is logged in */
    const char *username; /* NULL when none */
    const char *source;   /* the client's address */
};

/* The event's actor fields for `by` (no document: label -1). */
void oa_app_audit_actor(const struct oa_app_actor *by, struct oa_audit_event *ev);

/*
 * Appends the audit entry of `event` by `by` about `target` (e.g.
 * "user:12", a username, a path; or NULL): the outcome ("ok", "refused")
 * and a sentence (or NULL).  Returns 0 or -1.
 */
int oa_app_audit(struct oa_store *s, const struct oa_app_actor *by, const char *event, const char *target,
                 const char *outcome, const char *detail);

/*
 * Appends the audit entry of `event` on document d (its id and level) by
 * `by`: the move from -> to (either NULL), for whom (on_behalf, a
 * username, or NULL), the outcome ("ok", "refused") and a sentence (or
 * NULL).  Returns 0 or -1.
 */
int oa_app_audit_doc(struct oa_store *s, const struct oa_app_actor *by, const char *event, const struct oa_doc *d,
                     const char *from, const char *to, const char *on_behalf, const char *outcome,
                     const char *detail);

#endif
