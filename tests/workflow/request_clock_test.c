/*
 * tests/workflow/request_clock_test.c: a public request's clock (补正 stops it
 * and restarts it from the corrected application, a consultation pauses it,
 * one extension) and the reply forms of 第36条 (table tests).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "workflow/deadline.h"

static int32_t day(const char *s)
{
    if (s == NULL)
        return INT32_MIN;
    int32_t d = oa_day_parse(s);
    cr_assert_neq(d, INT32_MIN, "%s", s);
    return d;
}

static const char *fmt(int32_t d, char out[11])
{
    if (d == INT32_MIN)
        return "stopped";
    oa_day_format(d, out);
    return out;
}

Test(request_clock, events_move_the_due_day)
{
    /* Received Monday 2026-11-02: due 2026-11-30 when nothing happens. */
    static const struct {
        const char *what;
        struct {
            enum oa_clock_event e;
            const char *day;
        } ev[3];
        int nev;
        int extend;
        const char *today;
        const char *state, *due;
    } rows[] = {
        {"nothing", {{0, NULL}}, 0, 0, "2026-11-03", "running", "2026-11-30"},
        {"correction asked: stopped", {{OA_CLOCK_ASK_CORRECTION, "2026-11-05"}}, 1, 0, "2026-11-20", "stopped",
         NULL},
        {"corrected on Friday 11-13: 20 days from then",
         {{OA_CLOCK_ASK_CORRECTION, "2026-11-05"}, {OA_CLOCK_CORRECTED, "2026-11-13"}}, 2, 0, "2026-11-20",
         "running", "2026-12-11"},
        {"consulting since Tuesday 11-10, today Monday 11-16: four days so far",
         {{OA_CLOCK_CONSULT, "2026-11-10"}}, 1, 0, "2026-11-16", "paused", "2026-12-04"},
        {"consulted 11-10..11-20: eight working days not counted",
         {{OA_CLOCK_CONSULT, "2026-11-10"}, {OA_CLOCK_CONSULT_DONE, "2026-11-20"}}, 2, 0, "2026-12-01", "running",
         "2026-12-10"},
        {"extended by 20", {{0, NULL}}, 0, 20, "2026-11-03", "running", "2026-12-28"},
        {"consulted two days, then extended by 5",
         {{OA_CLOCK_CONSULT, "2026-11-10"}, {OA_CLOCK_CONSULT_DONE, "2026-11-12"}}, 2, 5, "2026-11-13", "running",
         "2026-12-09"},
        {"a correction restarts the clock: an earlier consultation no longer counts",
         {{OA_CLOCK_CONSULT, "2026-11-03"}, {OA_CLOCK_CONSULT_DONE, "2026-11-04"},
          {OA_CLOCK_ASK_CORRECTION, "2026-11-05"}},
         3, 0, "2026-11-06", "stopped", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct oa_request_clock c = oa_request_clock_new(day("2026-11-02"));
        for (int k = 0; k < rows[i].nev; k++)
            cr_assert(oa_request_clock_apply(&c, rows[i].ev[k].e, day(rows[i].ev[k].day), NULL, 0), "%s: event %d",
                      rows[i].what, k);
        c.extend_days = rows[i].extend;
        char out[11];
        cr_assert_str_eq(oa_clock_state_name(oa_request_clock_state(&c)), rows[i].state, "%s", rows[i].what);
        cr_assert_str_eq(fmt(oa_request_clock_due(&c, day(rows[i].today), NULL, 0), out),
                         rows[i].due ? rows[i].due : "stopped", "%s", rows[i].what);
    }
}

Test(request_clock, a_correction_once_within_7_working_days)
{
    static const struct {
        const char *asked_before; /* a first correction, or NULL */
        const char *consult;      /* consulting since, or NULL */
        const char *day;
        bool allowed;
    } rows[] = {
        {NULL, NULL, "2026-11-02", true},
        {NULL, NULL, "2026-11-11", true},   /* the 7th working day after Monday 11-02 */
        {NULL, NULL, "2026-11-12", false},  /* the 8th */
        {"2026-11-03", NULL, "2026-11-04", false}, /* once */
        {NULL, "2026-11-03", "2026-11-04", false}, /* not while consulting */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct oa_request_clock c = oa_request_clock_new(day("2026-11-02"));
        if (rows[i].asked_before) {
            cr_assert(oa_request_clock_apply(&c, OA_CLOCK_ASK_CORRECTION, day(rows[i].asked_before), NULL, 0));
            cr_assert(oa_request_clock_apply(&c, OA_CLOCK_CORRECTED, day(rows[i].asked_before), NULL, 0));
        }
        if (rows[i].consult)
            cr_assert(oa_request_clock_apply(&c, OA_CLOCK_CONSULT, day(rows[i].consult), NULL, 0));
        const char *why = oa_request_clock_refusal(&c, OA_CLOCK_ASK_CORRECTION, day(rows[i].day), NULL, 0);
        cr_assert_eq(why == NULL, rows[i].allowed, "row %zu: %s", i, why ? why : "allowed");
        cr_assert_eq(oa_request_clock_apply(&c, OA_CLOCK_ASK_CORRECTION, day(rows[i].day), NULL, 0),
                     rows[i].allowed, "row %zu", i);
    }
}

Test(request_clock, events_out_of_turn_are_refused_and_change_nothing)
{
    struct oa_request_clock c = oa_request_clock_new(day("2026-11-02"));
    struct oa_request_clock before = c;
    cr_assert_not(oa_request_clock_apply(&c, OA_CLOCK_CORRECTED, day("2026-11-03"), NULL, 0));
    cr_assert_not(oa_request_clock_apply(&c, OA_CLOCK_CONSULT_DONE, day("2026-11-03"), NULL, 0));
    cr_assert_eq(memcmp(&c, &before, sizeof(c)), 0);
    cr_assert(oa_request_clock_apply(&c, OA_CLOCK_ASK_CORRECTION, day("2026-11-03"), NULL, 0));
    cr_assert_not(oa_request_clock_apply(&c, OA_CLOCK_CONSULT, day("2026-11-04"), NULL, 0)); /* stopped */
    cr_assert_not(oa_request_clock_apply(&c, OA_CLOCK_CORRECTED, day("2026-11-02"), NULL, 0)); /* before asked */
    cr_assert(oa_request_clock_apply(&c, OA_CLOCK_CORRECTED, day("2026-11-04"), NULL, 0));
    cr_assert_not(oa_request_clock_apply(&c, OA_CLOCK_CORRECTED, day("2026-11-05"), NULL, 0)); /* once */
    cr_assert(oa_request_clock_apply(&c, OA_CLOCK_CONSULT, day("2026-11-05"), NULL, 0));
    cr_assert_not(oa_request_clock_apply(&c, OA_CLOCK_CONSULT, day("2026-11-06"), NULL, 0));
    cr_assert_not(oa_request_clock_apply(&c, OA_CLOCK_CONSULT_DONE, day("2026-11-04"), NULL, 0));
}

Test(request_clock, working_days_between)
{
    static const struct {
        const char *from, *to;
        int n;
    } rows[] = {
        {"2026-11-02", "2026-11-02", 0}, {"2026-11-02", "2026-11-01", 0}, {"2026-11-02", "2026-11-03", 1},
        {"2026-11-06", "2026-11-09", 1}, {"2026-11-02", "2026-11-30", 20},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_assert_eq(oa_workdays_between(day(rows[i].from), day(rows[i].to), NULL, 0), rows[i].n, "row %zu", i);
}

Test(request_clock, reply_forms_and_what_each_needs)
{
    static const struct {
        const char *form;
        bool reason, organ, ok;
    } rows[] = {
        {"public", false, false, true},        {"public", true, false, true},
        {"partial", false, false, false},      {"partial", true, false, true},
        {"not_disclosed", false, false, false}, {"not_disclosed", true, false, true},
        {"not_exist", false, false, true},     {"not_exist", false, true, false},
        {"not_ours", false, true, false},      {"not_ours", true, false, true},
        {"not_ours", true, true, true},        {"repeated", false, false, true},
        {"other_law", false, false, false},    {"other_law", true, false, true},
        {"secret", true, false, false},        {"", false, false, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int f = oa_reply_form_parse(rows[i].form);
        const char *why = oa_reply_form_refusal(f, rows[i].reason, rows[i].organ);
        cr_assert_eq(why == NULL, rows[i].ok, "row %zu (%s): %s", i, rows[i].form, why ? why : "ok");
        if (f >= 0)
            cr_assert_str_eq(oa_reply_form_name((enum oa_reply_form)f), rows[i].form);
    }
    cr_assert_eq(oa_reply_form_parse(NULL), -1);
}

Test(request_clock, the_receipt_day_is_the_confirmation_instant_in_shanghai)
{
    static const struct {
        const char *instant, *day; /* NULL: refused */
    } rows[] = {
        {"2026-11-02T10:00:00+08:00", "2026-11-02"},
        {"2026-11-02T23:59:59+08:00", "2026-11-02"},
        {"2026-11-02T16:00:00Z", "2026-11-03"},      /* midnight in Shanghai */
        {"2026-11-02T15:59:59.999Z", "2026-11-02"},
        {"2026-11-02T00:30:00+09:00", "2026-11-01"}, /* 23:30 in Shanghai the day before */
        {"2026-12-31T20:00:00-05:00", "2027-01-01"}, /* 01:00 UTC on 01-01 is 09:00 in Shanghai */
        {"2026-11-02 10:00:00+08:00", NULL},
        {"2026-11-02T10:00:00", NULL},
        {"2026-11-02T25:00:00Z", NULL},
        {"2026-02-30T10:00:00Z", NULL},
        {"2026-11-02T10:00:00+08:00x", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int32_t d = oa_day_of_instant(rows[i].instant, OA_SHANGHAI_OFFSET_MIN);
        char out[11];
        cr_assert_str_eq(fmt(d, out), rows[i].day ? rows[i].day : "stopped", "%s", rows[i].instant);
    }
    cr_assert_eq(oa_day_of_instant(NULL, 0), INT32_MIN);
}

Test(request_clock, a_correction_bundle_is_taken_only_by_a_request_awaiting_it)
{
    /* Received 2026-11-02; a correction asked for on 2026-11-04 (unless noted). */
    static const struct {
        const char *what;
        bool found;
        const char *state;
        const char *asked, *corrected, *consult; /* the clock's facts, NULL for none */
        const char *day;                         /* the correction's receipt date */
        enum oa_correction_verdict want;
    } rows[] = {
        {"awaited", true, "correcting", "2026-11-04", NULL, NULL, "2026-11-06", OA_CORRECTION_TAKEN},
        {"awaited, the same day it was asked", true, "correcting", "2026-11-04", NULL, NULL, "2026-11-04",
         OA_CORRECTION_TAKEN},
        {"dated before the asking", true, "correcting", "2026-11-04", NULL, NULL, "2026-11-03",
         OA_CORRECTION_NOT_AWAITED},
        {"unknown request", false, NULL, NULL, NULL, NULL, "2026-11-06", OA_CORRECTION_UNKNOWN},
        {"unknown, whatever the state says", false, "correcting", "2026-11-04", NULL, NULL, "2026-11-06",
         OA_CORRECTION_UNKNOWN},
        {"never asked: registered", true, "registered", NULL, NULL, NULL, "2026-11-06", OA_CORRECTION_NOT_AWAITED},
        {"never asked: imported", true, "imported", NULL, NULL, NULL, "2026-11-06", OA_CORRECTION_NOT_AWAITED},
        {"never asked: handling", true, "handling", NULL, NULL, NULL, "2026-11-06", OA_CORRECTION_NOT_AWAITED},
        {"never asked: consulting", true, "consulting", NULL, NULL, "2026-11-05", "2026-11-06",
         OA_CORRECTION_NOT_AWAITED},
        {"came already", true, "registered", "2026-11-04", "2026-11-05", NULL, "2026-11-06",
         OA_CORRECTION_NOT_AWAITED},
        {"came already, still marked correcting", true, "correcting", "2026-11-04", "2026-11-05", NULL,
         "2026-11-06", OA_CORRECTION_NOT_AWAITED},
        {"closed: replied", true, "replied", "2026-11-04", NULL, NULL, "2026-11-06", OA_CORRECTION_CLOSED},
        {"closed: refused (回退)", true, "refused", NULL, NULL, NULL, "2026-11-06", OA_CORRECTION_CLOSED},
        {"closed: withdrawn", true, "withdrawn", "2026-11-04", NULL, NULL, "2026-11-06", OA_CORRECTION_CLOSED},
        {"closed: archived", true, "archived", NULL, NULL, NULL, "2026-11-06", OA_CORRECTION_CLOSED},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct oa_request_clock c = oa_request_clock_new(day("2026-11-02"));
        c.correction_asked = day(rows[i].asked);
        c.corrected = day(rows[i].corrected);
        c.consult_since = day(rows[i].consult);
        enum oa_correction_verdict v = oa_correction_verdict(rows[i].found, rows[i].state, &c, day(rows[i].day));
        cr_expect_eq(v, rows[i].want, "%s: got %d, want %d", rows[i].what, v, rows[i].want);
        cr_expect_eq(oa_correction_refusal(v) == NULL, v == OA_CORRECTION_TAKEN, "%s", rows[i].what);
    }
    cr_assert_eq(oa_correction_verdict(true, "correcting", NULL, day("2026-11-06")), OA_CORRECTION_UNKNOWN);
    struct oa_request_clock c = oa_request_clock_new(day("2026-11-02"));
    c.correction_asked = day("2026-11-04");
    cr_assert_eq(oa_correction_verdict(true, "correcting", &c, INT32_MIN), OA_CORRECTION_NOT_AWAITED);
}
