/*
 * app/audit.c: the audit entry of a use case (see audit.h).  What is
 * recorded is decided by the use cases; this only fills the event.
 */
#include "app/audit.h"

#include "storage/documents.h"

void oa_app_audit_actor(const struct oa_app_actor *by, struct oa_audit_event *ev)
{
    ev->actor_id = by->user_id;
    ev->actor = by->username;
    ev->source = by->source;
    ev->label = -1;
}

int oa_app_audit(struct oa_store *s, const struct oa_app_actor *by, const char *event, const char *target,
                 const char *outcome, const char *detail)
{
    struct oa_audit_event ev = {0};
    oa_app_audit_actor(by, &ev);
    ev.event = event;
    ev.target = target;
    ev.outcome = outcome;
    ev.detail = detail;
    return oa_audit(s, &ev);
}

int oa_app_audit_doc(struct oa_store *s, const struct oa_app_actor *by, const char *event, const struct oa_doc *d,
                     const char *from, const char *to, const char *on_behalf, const char *outcome,
                     const char *detail)
{
    struct oa_audit_event ev = {0};
    oa_app_audit_actor(by, &ev);
    ev.event = event;
    ev.doc_id = d->id;
    ev.label = d->level;
    ev.from_state = from;
    ev.to_state = to;
    ev.on_behalf = on_behalf;
    ev.outcome = outcome;
    ev.detail = detail;
    return oa_audit(s, &ev);
}
