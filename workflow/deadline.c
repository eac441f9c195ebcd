/*
 * workflow/deadline.c: request and step deadlines, and overdue (see
 * deadline.h for the rules).  Pure.
 */
#include "workflow/deadline.h"

#include <string.h>

const char *const oa_request_open_states[] = {"imported", "registered", "assigned", "handling", NULL};

int32_t oa_request_due(int32_t received, const struct oa_day_exception *ex, size_t nex)
{
    return oa_workdays_add(received, OA_REQUEST_DAYS, ex, nex);
}

int32_t oa_request_extend(int32_t due, int days, const struct oa_day_exception *ex, size_t nex)
{
    if (days < 1 || days > OA_REQUEST_EXTEND_MAX)
        return INT32_MIN;
    return oa_workdays_add(due, days, ex, nex);
}

int oa_step_days(const char *urgency)
{
    if (urgency && strcmp(urgency, "very_urgent") == 0)
        return 1;
    if (urgency && strcmp(urgency, "urgent") == 0)
        return 3;
    return 5;
}

int32_t oa_step_due(int32_t entered, const char *urgency, const struct oa_day_exception *ex, size_t nex)
{
    return oa_workdays_add(entered, oa_step_days(urgency), ex, nex);
}

bool oa_request_open(const char *state)
{
    for (const char *const *s = oa_request_open_states; state && *s; s++)
        if (strcmp(*s, state) == 0)
            return true;
    return false;
}

bool oa_overdue(const char *state, const char *step_due, const char *request_due, const char *today)
{
    if (step_due && step_due[0] && strcmp(step_due, today) < 0)
        return true;
    return request_due && request_due[0] && strcmp(request_due, today) < 0 && oa_request_open(state);
}
