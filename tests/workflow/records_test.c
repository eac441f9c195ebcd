/*
 * tests/workflow/records_test.c: the archival number (档号, DA/T 22-2015),
 * retention codes, the retention schedule's choice, appraisal and disposal
 * rules and the end of a secrecy period, table-driven.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "workflow/records.h"

Test(records, the_archival_number_has_the_shape_of_da_t_22)
{
    static const struct {
        const char *fonds, *category;
        int year;
        enum oa_retention ret;
        const char *cls;
        int item;
        const char *want; /* NULL: refused */
    } rows[] = {
        {"Z109", "WS", 2026, OA_RET_Y, "BGS", 1, "Z109-WS·2026-Y-BGS-0001"},
        {"Z001", "WS", 2026, OA_RET_Y, "BGS", 12, "Z001-WS·2026-Y-BGS-0012"},
        {"Z109", "WS", 2026, OA_RET_D30, "CZ", 9999, "Z109-WS·2026-D30-CZ-9999"},
        {"Z109", "WS", 2016, OA_RET_D10, "", 7, "Z109-WS·2016-D10-0007"},
        {"Z109", "WS", 2026, OA_RET_Y, "BGS", 0, NULL},
        {"Z109", "WS", 2026, OA_RET_Y, "BGS", 10000, NULL},
        {"z109", "WS", 2026, OA_RET_Y, "BGS", 1, NULL},
        {"Z10", "WS", 2026, OA_RET_Y, "BGS", 1, NULL},
        {"Z1090", "WS", 2026, OA_RET_Y, "BGS", 1, NULL},
        {"Z109", "ws", 2026, OA_RET_Y, "BGS", 1, NULL},
        {"Z109", "WS", 999, OA_RET_Y, "BGS", 1, NULL},
        {"Z109", "WS", 2026, OA_RET_NONE, "BGS", 1, NULL},
        {"Z109", "WS", 2026, OA_RET_Y, "B-S", 1, NULL},
        {"Z109", "WS", 2026, OA_RET_Y, "办公室", 1, NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[64];
        bool ok = oa_archival_no(rows[i].fonds, rows[i].category, rows[i].year, rows[i].ret, rows[i].cls,
                                 rows[i].item, out, sizeof(out));
        cr_assert_eq(ok, rows[i].want != NULL, "row %zu: %s", i, out);
        cr_assert_str_eq(out, rows[i].want ? rows[i].want : "", "row %zu", i);
    }
    char small[20];
    cr_assert_not(oa_archival_no("Z109", "WS", 2026, OA_RET_Y, "BGS", 1, small, sizeof(small)));
    cr_assert_str_eq(small, "");
}

Test(records, retention_codes_and_years)
{
    cr_assert_eq(oa_retention_parse("Y"), OA_RET_Y);
    cr_assert_eq(oa_retention_parse("D30"), OA_RET_D30);
    cr_assert_eq(oa_retention_parse("D10"), OA_RET_D10);
    cr_assert_eq(oa_retention_parse("D20"), OA_RET_NONE);
    cr_assert_eq(oa_retention_parse(NULL), OA_RET_NONE);
    cr_assert_str_eq(oa_retention_code(OA_RET_D30), "D30");
    cr_assert_null(oa_retention_code(OA_RET_NONE));
    cr_assert_eq(oa_retention_years(OA_RET_Y), 0);
    cr_assert_eq(oa_retention_years(OA_RET_D10), 10);
}

Test(records, the_most_specific_schedule_rule_wins)
{
    static const struct oa_retention_rule rules[] = {
        {"*", "*", OA_RET_D10},
        {"通知", "*", OA_RET_D30},
        {"*", "BGS", OA_RET_D30},
        {"请示", "BGS", OA_RET_Y},
        {"决定", "*", OA_RET_Y},
    };
    static const struct {
        const char *type, *issuer;
        enum oa_retention want;
    } rows[] = {
        {"请示", "BGS", OA_RET_Y},   {"通知", "BGS", OA_RET_D30}, {"通知", "CZ", OA_RET_D30},
        {"函", "BGS", OA_RET_D30},   {"函", "CZ", OA_RET_D10},    {"决定", "BGS", OA_RET_Y},
        {"请示", "CZ", OA_RET_D10},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_assert_eq(oa_retention_schedule_pick(rules, 5, rows[i].type, rows[i].issuer), rows[i].want, "row %zu", i);
    /* No catch-all: nothing matches. */
    cr_assert_eq(oa_retention_schedule_pick(rules + 1, 4, "函", "CZ"), OA_RET_NONE);
    cr_assert_eq(oa_retention_schedule_pick(NULL, 0, "函", "CZ"), OA_RET_NONE);
}

Test(records, appraisal_and_disposal)
{
    /* The period runs from the year after the record's year. */
    cr_assert_not(oa_record_due(OA_RET_D10, 2016, 2026));
    cr_assert(oa_record_due(OA_RET_D10, 2016, 2027));
    cr_assert_not(oa_record_due(OA_RET_D30, 2000, 2030));
    cr_assert(oa_record_due(OA_RET_D30, 2000, 2031));
    cr_assert_not(oa_record_due(OA_RET_Y, 1000, 9999));
    static const struct {
        const char *state;
        enum oa_retention ret;
        int year;
        bool held;
        enum oa_dispose_check want;
    } rows[] = {
        {"filed", OA_RET_D10, 2010, false, OA_DISPOSE_OK},
        {"filed", OA_RET_D10, 2010, true, OA_DISPOSE_HELD},
        {"filed", OA_RET_D10, 2020, false, OA_DISPOSE_NOT_DUE},
        {"filed", OA_RET_D10, 2020, true, OA_DISPOSE_NOT_DUE},
        {"filed", OA_RET_Y, 1900, false, OA_DISPOSE_PERMANENT},
        {"transferred", OA_RET_D10, 2010, false, OA_DISPOSE_NOT_FILED},
        {"disposed", OA_RET_D10, 2010, false, OA_DISPOSE_NOT_FILED},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        enum oa_dispose_check c = oa_record_disposable(rows[i].state, rows[i].ret, rows[i].year, rows[i].held, 2026);
        cr_assert_eq(c, rows[i].want, "row %zu: %d", i, c);
        cr_assert_eq(oa_dispose_reason(c) == NULL, c == OA_DISPOSE_OK);
    }
}

Test(records, the_end_of_a_secrecy_period)
{
    static const struct {
        int level;
        const char *period, *declass, *date, *today;
        bool want;
    } rows[] = {
        {2, "10年", "", "2016-03-01", "2026-02-28", false},
        {2, "10年", "", "2016-03-01", "2026-03-01", true},
        {2, "", "", "20160301", "2026-03-01", true},     /* 秘密: 10 years at most */
        {3, "", "", "20160301", "2026-03-01", false},    /* 机密: 20 */
        {4, "", "", "2000-01-01", "2030-01-01", true},   /* 绝密: 30 */
        {2, "6个月", "", "2026-01-15", "2026-07-15", true},
        {2, "6个月", "", "2026-01-15", "2026-07-14", false},
        {2, "10年", "2020-01-01", "2016-03-01", "2020-01-01", true}, /* a declassification date wins */
        {2, "10年", "2030-01-01", "2016-03-01", "2027-01-01", false},
        {1, "", "", "2000-01-01", "2026-01-01", false},  /* 内部 has no secrecy period */
        {2, "长期", "", "2000-01-01", "2026-01-01", false},
        {2, "10年", "", "", "2026-01-01", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_assert_eq(oa_secrecy_ended(rows[i].level, rows[i].period, rows[i].declass, rows[i].date, rows[i].today),
                     rows[i].want, "row %zu", i);
}
