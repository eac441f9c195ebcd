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

/*
 * A public request's clock (政府信息公开条例 (2019) 第30-33条), as facts the
 * database keeps; days are days since 1970-01-01, INT32_MIN for "none".
 *
 * - It starts from the receipt date (第31条: for an internet application,
 *   the day the portal confirmed it).
 * - A correction (补正) may be asked once, within OA_REQUEST_CORRECTION_DAYS
 *   working days of receipt; the clock then stops, and starts again from the
 *   receipt of the corrected application (第30条).
 * - A consultation of a third party (第32条) pauses it: its working days do
 *   not count.
 * - One extension of 1..OA_REQUEST_EXTEND_MAX working days (第33条).
 */
#define OA_REQUEST_CORRECTION_DAYS 7

struct oa_request_clock {
    int32_t received;         /* the receipt date */
    int32_t correction_asked; /* the day a correction was asked for, or INT32_MIN */
    int32_t corrected;        /* the corrected application's receipt date, or INT32_MIN */
    int32_t consult_since;    /* a consultation running since this day, or INT32_MIN */
    int paused_days;          /* working days of consultations finished since the clock (re)started */
    int extend_days;          /* the extension granted, 0 when none */
};

enum oa_clock_state {
    OA_CLOCK_RUNNING,
    OA_CLOCK_STOPPED, /* waiting for the corrected application */
    OA_CLOCK_PAUSED,  /* a third party is being consulted */
};

/* An empty clock received on `received`. */
struct oa_request_clock oa_request_clock_new(int32_t received);
enum oa_clock_state oa_request_clock_state(const struct oa_request_clock *c);
/* "running", "stopped", "paused". */
const char *oa_clock_state_name(enum oa_clock_state st);

/* Working days in (from, to]: 0 when to <= from. */
int oa_workdays_between(int32_t from, int32_t to, const struct oa_day_exception *ex, size_t nex);

/*
 * The due day on `today`: OA_REQUEST_DAYS + paused days + extension working
 * days after the clock's start (the corrected application's receipt when
 * there is one, else the receipt), with a running consultation's days up to
 * today added; INT32_MIN while stopped for a correction.
 */
int32_t oa_request_clock_due(const struct oa_request_clock *c, int32_t today, const struct oa_day_exception *ex,
                             size_t nex);

/*
 * Why a clock event may not happen now, as a sentence, or NULL when it may:
 * asking for a correction (once, within OA_REQUEST_CORRECTION_DAYS working
 * days of receipt, not while consulting), receiving the corrected
 * application (only when one was asked for and none came yet), starting a
 * consultation (not while stopped or already consulting), ending one (only
 * while consulting).  oa_request_clock_apply applies one that may.
 */
enum oa_clock_event { OA_CLOCK_ASK_CORRECTION, OA_CLOCK_CORRECTED, OA_CLOCK_CONSULT, OA_CLOCK_CONSULT_DONE };
const char *oa_request_clock_refusal(const struct oa_request_clock *c, enum oa_clock_event e, int32_t day,
                                     const struct oa_day_exception *ex, size_t nex);
/* Applies event e on `day` (after oa_request_clock_refusal said yes); false when it may not. */
bool oa_request_clock_apply(struct oa_request_clock *c, enum oa_clock_event e, int32_t day,
                            const struct oa_day_exception *ex, size_t nex);

/*
 * Whether a correction (补正) bundle that arrived through the exchange may
 * be taken by the request it names (#15), or why not.  `found`: its
 * request_ref names a public request imported from the same sender;
 * `state`: that request's state; `c` its clock; `day` the correction's
 * receipt date (the bundle's `confirmed`).  It is taken only by a request
 * that awaits it: in `correcting`, with a correction asked for and none
 * received yet, on or after the day it was asked.  Everything else is
 * refused whole (oad answers 409 correction_refused, audited, nothing
 * changes): an unknown request, a closed one (replied, refused, withdrawn,
 * archived), one that is not waiting for a correction.
 */
enum oa_correction_verdict {
    OA_CORRECTION_TAKEN,
    OA_CORRECTION_UNKNOWN,     /* no such request from this sender */
    OA_CORRECTION_CLOSED,      /* the request is closed */
    OA_CORRECTION_NOT_AWAITED, /* no correction was asked for, or it came already, or it predates the asking */
};
enum oa_correction_verdict oa_correction_verdict(bool found, const char *state, const struct oa_request_clock *c,
                                                 int32_t day);
/* A sentence for a refusal verdict (for the answer and the audit trail); NULL for OA_CORRECTION_TAKEN. */
const char *oa_correction_refusal(enum oa_correction_verdict v);

/*
 * The forms of a reply (第36条) and what each needs: a reason for partial
 * disclosure, non-disclosure, another organ's matter and another law's
 * procedure; the responsible organ is given only with not_ours (when known).
 */
enum oa_reply_form {
    OA_REPLY_PUBLIC,        /* 公开 (already public, or provided) */
    OA_REPLY_PARTIAL,       /* 部分公开 */
    OA_REPLY_NOT_DISCLOSED, /* 不予公开 */
    OA_REPLY_NOT_EXIST,     /* 信息不存在 */
    OA_REPLY_NOT_OURS,      /* 非本机关负责 */
    OA_REPLY_REPEATED,      /* 重复申请 */
    OA_REPLY_OTHER_LAW,     /* 按其他法规办理 */
    OA_REPLY__COUNT
};
/* The form named s ("public", "partial", ...), or -1. */
int oa_reply_form_parse(const char *s);
const char *oa_reply_form_name(enum oa_reply_form f);
/* Why a reply of this form with (or without) a reason and an organ is incomplete, or NULL when it is whole. */
const char *oa_reply_form_refusal(int form, bool has_reason, bool has_organ);

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
