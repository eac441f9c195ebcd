/* tests/workflow/number_test.c: the document number format (table test). */
#include <criterion/criterion.h>
#include <string.h>

#include "workflow/number.h"

Test(number, formats_prefix_year_and_sequence)
{
    static const struct {
        const char *prefix;
        int year;
        long long seq;
        const char *want;
    } rows[] = {
        {"某府办发", 2026, 12, "某府办发〔2026〕12号"},
        {"某府办发", 2026, 1, "某府办发〔2026〕1号"},
        {"国办函", 2027, 1000, "国办函〔2027〕1000号"},
        {"", 2026, 3, "〔2026〕3号"},
        {"X", 2026, 9223372036854775807LL, "X〔2026〕9223372036854775807号"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[128];
        cr_assert(oa_number_format(rows[i].prefix, rows[i].year, rows[i].seq, out, sizeof(out)));
        cr_assert_str_eq(out, rows[i].want);
    }
}

Test(number, reports_a_number_that_does_not_fit)
{
    char out[16];
    /* "某府办发" is 12 bytes: the year no longer fits. */
    cr_assert_not(oa_number_format("某府办发", 2026, 12, out, sizeof(out)));
    cr_assert_eq(strlen(out), sizeof(out) - 1);
    char exact[sizeof("A〔2026〕1号")];
    cr_assert(oa_number_format("A", 2026, 1, exact, sizeof(exact)));
    cr_assert_not(oa_number_format("A", 2026, 10, exact, sizeof(exact)));
}
