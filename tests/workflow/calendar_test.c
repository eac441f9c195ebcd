/* tests/workflow/calendar_test.c: dates and working days. */
#include <criterion/criterion.h>

#include "workflow/calendar.h"

Test(calendar, dates_round_trip_and_reject_nonsense)
{
    char out[11];
    int32_t d = oa_day_parse("2026-11-21");
    cr_assert_neq(d, INT32_MIN);
    oa_day_format(d, out);
    cr_assert_str_eq(out, "2026-11-21");
    cr_assert_eq(oa_day_parse("1970-01-01"), 0);
    cr_assert_eq(oa_day_parse("2026-02-29"), INT32_MIN);
    cr_assert_neq(oa_day_parse("2028-02-29"), INT32_MIN);
    cr_assert_eq(oa_day_parse("2026-13-01"), INT32_MIN);
    cr_assert_eq(oa_day_parse("2026-1-01"), INT32_MIN);
    cr_assert_eq(oa_day_parse("2026-01-01x"), INT32_MIN);
    cr_assert_eq(oa_day_parse(NULL), INT32_MIN);
}

Test(calendar, weekends_holidays_and_make_up_days)
{
    int32_t sat = oa_day_parse("2026-11-21"), mon = oa_day_parse("2026-11-23");
    cr_assert(!oa_is_workday(sat, NULL, 0));
    cr_assert(oa_is_workday(mon, NULL, 0));
    /* Friday 2026-11-20 + 1 working day = Monday 23rd. */
    cr_assert_eq(oa_workdays_add(oa_day_parse("2026-11-20"), 1, NULL, 0), mon);
    /* 20 working days from Monday 2026-11-02 = Monday 2026-11-30. */
    cr_assert_eq(oa_workdays_add(oa_day_parse("2026-11-02"), 20, NULL, 0), oa_day_parse("2026-11-30"));
    /* National Day week: Oct 1-7 holidays, Saturday Oct 10 a make-up workday. */
    struct oa_day_exception ex[8];
    for (int i = 0; i < 7; i++)
        ex[i] = (struct oa_day_exception){oa_day_parse("2026-10-01") + i, false};
    ex[7] = (struct oa_day_exception){oa_day_parse("2026-10-10"), true};
    cr_assert(!oa_is_workday(oa_day_parse("2026-10-05"), ex, 8));
    cr_assert(oa_is_workday(oa_day_parse("2026-10-10"), ex, 8));
    /* From Wed Sep 30: Oct 8 (Thu), 9 (Fri), 10 (make-up Sat), 12 (Mon). */
    cr_assert_eq(oa_workdays_add(oa_day_parse("2026-09-30"), 4, ex, 8), oa_day_parse("2026-10-12"));
}
