/*
 * workflow/deadline.h: the deadlines of documents, and when one is overdue
 * (pure; working days come from workflow/calendar.h).
 *
 * - A public request (依申请公开) is due 20 working days after the day it was
 *   received, and may be extended once by 1 to 20 working days
 *   (政府信息公开条例 (2019) art. 33).
 * - Every step of every kind is due a number of working days after it was
 *   entered, by urgency: very urgent 1, urgent 3, anything else 5.
 * - A document is overdue when its step is past due, or when it is a public
 *   request still open (not replied) past its request deadline.
 *
 * Dates are "YYYY-MM-DD" text where they are compared as the database holds
 * them: such text sorts as the dates do.
 */
#ifndef OA_WORKFLOW_DEADLINE_H
#define OA_WORKFLOW_DEADLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "workflow/calendar.h"

/* Working days a public request has, from the day it was received. */
#define OA_REQUEST_DAYS 20
/* The most working days one extension of a public request may add. */
#define OA_REQUEST_EXTEND_MAX 20
#define OA_REQUEST_EXTEND_MAX_TEXT "20" /* for messages; tests/workflow/deadline_test.c checks it */

/* A public request's due day: OA_REQUEST_DAYS working days after `received`. */
int32_t oa_request_due(int32_t received, const struct oa_day_exception *ex, size_t nex);
/*
 * The due day after an extension by `days` working days; INT32_MIN when
 * days is outside 1..OA_REQUEST_EXTEND_MAX (the flow's guard refuses those).
 */
int32_t oa_request_extend(int32_t due, int days, const struct oa_day_exception *ex, size_t nex);

/* Working days a step has, by the document's urgency ("very_urgent", "urgent", else ordinary). */
int oa_step_days(const char *urgency);
/* The due day of a step entered on `entered`. */
int32_t oa_step_due(int32_t entered, const char *urgency, const struct oa_day_exception *ex, size_t nex);

/*
 * The states in which a public request's deadline runs (NULL-terminated),
 * and the same as an SQL list (the document list's overdue filter is built
 * from it; the table test checks they agree).
 */
extern const char *const oa_request_open_states[];
#define OA_REQUEST_OPEN_STATES_SQL "'imported', 'registered', 'assigned', 'handling'"
/* Whether a request in `state` still runs against its deadline. */
bool oa_request_open(const char *state);

/*
 * Whether a document is overdue on `today`: its step_due (NULL or "" when
 * none) is before today, or it has a request_due before today and is in an
 * open request state.  All dates "YYYY-MM-DD".
 */
bool oa_overdue(const char *state, const char *step_due, const char *request_due, const char *today);

#endif
