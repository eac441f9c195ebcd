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

/* ---- a public request's clock ---- */

struct oa_request_clock oa_request_clock_new(int32_t received)
{
    struct oa_request_clock c = {received, INT32_MIN, INT32_MIN, INT32_MIN, 0, 0};
    return c;
}

enum oa_clock_state oa_request_clock_state(const struct oa_request_clock *c)
{
    if (c->correction_asked != INT32_MIN && c->corrected == INT32_MIN)
        return OA_CLOCK_STOPPED;
    if (c->consult_since != INT32_MIN)
        return OA_CLOCK_PAUSED;
    return OA_CLOCK_RUNNING;
}

const char *oa_clock_state_name(enum oa_clock_state st)
{
    switch (st) {
    case OA_CLOCK_RUNNING: return "running";
    case OA_CLOCK_STOPPED: return "stopped";
    case OA_CLOCK_PAUSED: return "paused";
    }
    return "running";
}

int oa_workdays_between(int32_t from, int32_t to, const struct oa_day_exception *ex, size_t nex)
{
    int n = 0;
    for (int32_t d = from + 1; d <= to; d++)
        if (oa_is_workday(d, ex, nex))
            n++;
    return n;
}

int32_t oa_request_clock_due(const struct oa_request_clock *c, int32_t today, const struct oa_day_exception *ex,
                             size_t nex)
{
    enum oa_clock_state st = oa_request_clock_state(c);
    if (st == OA_CLOCK_STOPPED || c->received == INT32_MIN)
        return INT32_MIN;
    int32_t start = c->corrected != INT32_MIN ? c->corrected : c->received;
    int days = OA_REQUEST_DAYS + c->paused_days + c->extend_days;
    if (st == OA_CLOCK_PAUSED)
        days += oa_workdays_between(c->consult_since, today, ex, nex);
    return oa_workdays_add(start, days, ex, nex);
}

const char *oa_request_clock_refusal(const struct oa_request_clock *c, enum oa_clock_event e, int32_t day,
                                     const struct oa_day_exception *ex, size_t nex)
{
    enum oa_clock_state st = oa_request_clock_state(c);
    switch (e) {
    case OA_CLOCK_ASK_CORRECTION:
        if (c->correction_asked != INT32_MIN)
            return "A correction (补正) may be asked for only once, for everything at once.";
        if (st == OA_CLOCK_PAUSED)
            return "Finish the third-party consultation before asking for a correction.";
        if (day > oa_workdays_add(c->received, OA_REQUEST_CORRECTION_DAYS, ex, nex))
            return "A correction (补正) must be asked for within 7 working days of receipt.";
        return NULL;
    case OA_CLOCK_CORRECTED:
        if (st != OA_CLOCK_STOPPED)
            return "No correction was asked for, or it has arrived already.";
        if (day < c->correction_asked)
            return "The corrected application cannot be received before the correction was asked for.";
        return NULL;
    case OA_CLOCK_CONSULT:
        if (st != OA_CLOCK_RUNNING)
            return st == OA_CLOCK_PAUSED ? "A consultation is running already."
                                         : "The clock is stopped until the corrected application arrives.";
        return NULL;
    case OA_CLOCK_CONSULT_DONE:
        if (st != OA_CLOCK_PAUSED)
            return "No consultation is running.";
        if (day < c->consult_since)
            return "A consultation cannot end before it began.";
        return NULL;
    }
    return "Unknown clock event.";
}

bool oa_request_clock_apply(struct oa_request_clock *c, enum oa_clock_event e, int32_t day,
                            const struct oa_day_exception *ex, size_t nex)
{
    if (oa_request_clock_refusal(c, e, day, ex, nex) != NULL)
        return false;
    switch (e) {
    case OA_CLOCK_ASK_CORRECTION: c->correction_asked = day; break;
    case OA_CLOCK_CORRECTED:
        /* The time limit runs afresh from the corrected application's receipt. */
        c->corrected = day;
        c->paused_days = 0;
        break;
    case OA_CLOCK_CONSULT: c->consult_since = day; break;
    case OA_CLOCK_CONSULT_DONE:
        c->paused_days += oa_workdays_between(c->consult_since, day, ex, nex);
        c->consult_since = INT32_MIN;
        break;
    }
    return true;
}

/* ---- a correction (补正) arriving through the exchange ---- */

enum oa_correction_verdict oa_correction_verdict(bool found, const char *state, const struct oa_request_clock *c,
                                                 int32_t day)
{
    if (!found || state == NULL || c == NULL)
        return OA_CORRECTION_UNKNOWN;
    /* Open means the clock still runs, is paused or stopped: anything else is over. */
    if (!oa_request_open(state) && strcmp(state, "correcting") != 0 && strcmp(state, "consulting") != 0)
        return OA_CORRECTION_CLOSED;
    if (strcmp(state, "correcting") != 0 || oa_request_clock_state(c) != OA_CLOCK_STOPPED ||
        day == INT32_MIN || day < c->correction_asked)
        return OA_CORRECTION_NOT_AWAITED;
    return OA_CORRECTION_TAKEN;
}

const char *oa_correction_refusal(enum oa_correction_verdict v)
{
    switch (v) {
    case OA_CORRECTION_TAKEN: return NULL;
    case OA_CORRECTION_UNKNOWN:
        return "content.request_ref names no public request imported from this sender: the correction was not taken.";
    case OA_CORRECTION_CLOSED:
        return "The request named by content.request_ref is closed (replied, refused, withdrawn or archived): the "
               "correction was not taken.";
    case OA_CORRECTION_NOT_AWAITED:
        return "The request named by content.request_ref is not awaiting a correction (none was asked for, it came "
               "already, or it is dated before the asking): the correction was not taken.";
    }
    return "Unknown verdict.";
}

/* ---- reply forms (第36条) ---- */

static const char *const reply_forms[OA_REPLY__COUNT] = {
    "public", "partial", "not_disclosed", "not_exist", "not_ours", "repeated", "other_law",
};

int oa_reply_form_parse(const char *s)
{
    for (int i = 0; s && i < OA_REPLY__COUNT; i++)
        if (strcmp(s, reply_forms[i]) == 0)
            return i;
    return -1;
}

const char *oa_reply_form_name(enum oa_reply_form f)
{
    return (unsigned)f < OA_REPLY__COUNT ? reply_forms[f] : NULL;
}

const char *oa_reply_form_refusal(int form, bool has_reason, bool has_organ)
{
    if (form < 0 || form >= OA_REPLY__COUNT)
        return "params.form must be one of public, partial, not_disclosed, not_exist, not_ours, repeated, other_law.";
    bool needs_reason = form == OA_REPLY_PARTIAL || form == OA_REPLY_NOT_DISCLOSED || form == OA_REPLY_NOT_OURS ||
                        form == OA_REPLY_OTHER_LAW;
    if (needs_reason && !has_reason)
        return "This form of reply needs params.reason (第36条).";
    if (has_organ && form != OA_REPLY_NOT_OURS)
        return "params.responsible_organ goes only with the form not_ours.";
    return NULL;
}
