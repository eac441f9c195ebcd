/* tests/workflow/deadline_test.c: request and step deadlines, and overdue (table tests). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "workflow/deadline.h"
#include "workflow/docflow.h"

static int32_t day(const char *s)
{
    int32_t d = oa_day_parse(s);
    cr_assert_neq(d, INT32_MIN, "%s", s);
    return d;
}

Test(deadline, a_request_is_due_20_working_days_after_receipt)
{
    /* National Day week 2026: 10-01..10-07 off, 09-27 (Sun) and 10-10 (Sat) worked. */
    static const struct oa_day_exception ex[] = {
        {0, true}, {0, false}, {0, false}, {0, false}, {0, false}, {0, false}, {0, true},
    };
    struct oa_day_exception cal[7];
    memcpy(cal, ex, sizeof(cal));
    const char *days[] = {"2026-09-27", "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07",
                          "2026-10-10"};
    for (int i = 0; i < 7; i++)
        cal[i].day = day(days[i]);
    static const struct {
        const char *received;
        bool with_calendar;
        const char *due;
    } rows[] = {
        {"2026-11-02", false, "2026-11-30"}, /* Monday: four whole weeks */
        {"2026-11-06", false, "2026-12-04"}, /* Friday: the day itself does not count */
        {"2026-11-07", false, "2026-12-04"}, /* Saturday */
        {"2026-09-30", false, "2026-10-28"},
        {"2026-09-30", true, "2026-11-03"},  /* five weekdays off, one Saturday worked */
    };
    cr_assert_eq(OA_REQUEST_DAYS, 20);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[11];
        oa_day_format(oa_request_due(day(rows[i].received), rows[i].with_calendar ? cal : NULL,
                                     rows[i].with_calendar ? 7 : 0), out);
        cr_assert_str_eq(out, rows[i].due, "received %s", rows[i].received);
    }
}

Test(deadline, an_extension_adds_1_to_20_working_days)
{
    static const struct {
        int days;
        const char *due;
    } rows[] = {
        {0, NULL}, {-1, NULL}, {21, NULL}, {1, "2026-12-01"}, {5, "2026-12-07"}, {20, "2026-12-28"},
    };
    char max[8];
    snprintf(max, sizeof(max), "%d", OA_REQUEST_EXTEND_MAX);
    cr_assert_str_eq(max, OA_REQUEST_EXTEND_MAX_TEXT);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int32_t due = oa_request_extend(day("2026-11-30"), rows[i].days, NULL, 0);
        if (rows[i].due == NULL) {
            cr_assert_eq(due, INT32_MIN, "days %d", rows[i].days);
        } else {
            char out[11];
            oa_day_format(due, out);
            cr_assert_str_eq(out, rows[i].due, "days %d", rows[i].days);
        }
    }
}

Test(deadline, a_step_has_working_days_by_urgency)
{
    static const struct {
        const char *urgency;
        int days;
        const char *due; /* entered on Friday 2026-11-06 */
    } rows[] = {
        {"very_urgent", 1, "2026-11-09"}, {"urgent", 3, "2026-11-11"}, {"ordinary", 5, "2026-11-13"},
        {"", 5, "2026-11-13"},            {NULL, 5, "2026-11-13"},     {"URGENT", 5, "2026-11-13"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[11];
        cr_assert_eq(oa_step_days(rows[i].urgency), rows[i].days, "%s", rows[i].urgency);
        oa_day_format(oa_step_due(day("2026-11-06"), rows[i].urgency, NULL, 0), out);
        cr_assert_str_eq(out, rows[i].due, "%s", rows[i].urgency);
    }
}

Test(deadline, overdue_by_step_or_by_an_open_request)
{
    static const struct {
        const char *state, *step_due, *request_due;
        bool overdue;
    } rows[] = {
        {"draft", "", "", false},
        {"draft", NULL, NULL, false},
        {"draft", "2026-11-09", "", false},           /* due today: not yet */
        {"draft", "2026-11-08", "", true},
        {"imported", "", "2026-11-08", true},
        {"registered", "", "2026-11-08", true},
        {"assigned", "", "2026-11-08", true},
        {"handling", "", "2026-11-08", true},
        {"replied", "", "2026-11-08", false},         /* answered: the deadline no longer runs */
        {"archived", "", "2026-11-08", false},
        {"handling", "", "2026-11-09", false},
        {"replied", "2026-11-01", "2026-11-08", true}, /* the step is late whatever the request */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_assert_eq(oa_overdue(rows[i].state, rows[i].step_due, rows[i].request_due, "2026-11-09"),
                     rows[i].overdue, "row %zu", i);
}

Test(deadline, the_open_request_states_are_request_states_and_match_the_sql)
{
    char sql[256] = "";
    for (const char *const *s = oa_request_open_states; *s; s++) {
        cr_assert(oa_request_open(*s));
        cr_assert_not(oa_flow_terminal(OA_KIND_REQUEST, oa_flow_version(OA_KIND_REQUEST), *s), "%s", *s);
        cr_assert(oa_flow_state_known(OA_KIND_REQUEST, oa_flow_version(OA_KIND_REQUEST), *s), "%s", *s);
        char item[40];
        snprintf(item, sizeof(item), "%s'%s'", sql[0] ? ", " : "", *s);
        strcat(sql, item);
    }
    cr_assert_str_eq(sql, OA_REQUEST_OPEN_STATES_SQL);
    cr_assert_not(oa_request_open("replied"));
    cr_assert_not(oa_request_open(NULL));
}
