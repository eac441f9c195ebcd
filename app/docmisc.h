/*
 * app/docmisc.h: the use cases around documents: delegations (代理), the
 * working-day calendar the secretariat keeps, and the chases (催办)
 * addressed to a person.  Who may delegate to whom and who keeps the
 * calendar are workflow/access.c's decisions; the SQL is storage/docmisc.c's.
 *
 * Each returns 0 when it ran (o says whether it was done or refused, and a
 * refusal keeps its audit entry) or an enum oa_err when storage failed; on
 * success *out, when asked for, is the answer's map.
 */
#ifndef OA_APP_DOCMISC_H
#define OA_APP_DOCMISC_H

#include <stdbool.h>
#include <stdint.h>

#include "app/audit.h"
#include "app/outcome.h"
#include "model/account.h"
#include "proto/value.h"

/* me delegates approvals to the account named `to` for the days given (YYYY-MM-DD, in order). */
int oa_app_delegation_create(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me,
                             const char *to, const char *starts_on, const char *ends_on, struct oa_app_outcome *o,
                             cbor_item_t **out);
/* The delegations me gave or holds: {"delegations": [...]}. */
int oa_app_delegation_list(struct oa_store *s, const struct oa_user *me, cbor_item_t **out);
/* Ends delegation id, which me gave. */
int oa_app_delegation_end(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me, int64_t id,
                          struct oa_app_outcome *o);
/* The calendar's exceptions: {"days": [...]}. */
int oa_app_calendar_list(struct oa_store *s, cbor_item_t **out);
/* me sets day as a working day or a holiday (clear: back to the weekday rule). */
int oa_app_calendar_change(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me, int32_t day,
                           bool clear, bool workday, const char *note, struct oa_app_outcome *o);
/* The chases addressed to me on documents me may still see: {"chases": [...]}. */
int oa_app_chases(struct oa_store *s, const struct oa_user *me, cbor_item_t **out);

#endif
