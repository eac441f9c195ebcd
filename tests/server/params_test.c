/* tests/server/params_test.c: the one parser of ids, whole numbers and query strings (server/params.c). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "server/http.h"
#include "server/params.h"

Test(params, whole_numbers_in_range_and_nothing_else)
{
    static const struct {
        const char *s;
        int64_t lo, hi;
        bool ok;
        int64_t v;
    } rows[] = {
        {"0", 0, 10, true, 0},
        {"10", 0, 10, true, 10},
        {"11", 0, 10, false, 0},
        {"-1", 0, 10, false, 0},
        {"-1", -1, 10, true, -1},
        {"007", 0, 10, true, 7},
        {"9223372036854775807", 0, INT64_MAX, true, INT64_MAX},
        {"9223372036854775808", 0, INT64_MAX, false, 0},        /* overflow */
        {"-9223372036854775808", INT64_MIN, 0, true, INT64_MIN},
        {"-9223372036854775809", INT64_MIN, 0, false, 0},
        {"99999999999999999999999", 0, INT64_MAX, false, 0},
        {"", 0, 10, false, 0},
        {"-", -10, 10, false, 0},
        {"+1", 0, 10, false, 0},
        {" 1", 0, 10, false, 0},
        {"1 ", 0, 10, false, 0},
        {"1x", 0, 10, false, 0},
        {"0x1", 0, 10, false, 0},
        {"1e3", 0, 10000, false, 0},
        {"--1", -10, 10, false, 0},
        {NULL, 0, 10, false, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t v = 12345;
        bool ok = oa_parse_int(rows[i].s, rows[i].lo, rows[i].hi, &v);
        cr_assert_eq(ok, rows[i].ok, "row %zu '%s'", i, rows[i].s ? rows[i].s : "(null)");
        cr_assert_eq(v, ok ? rows[i].v : 12345, "row %zu", i);
    }
}

Test(params, ids_are_positive)
{
    static const struct {
        const char *s;
        bool ok;
    } rows[] = {
        {"1", true}, {"42", true}, {"9223372036854775807", true}, {"0", false}, {"-3", false},
        {"", false}, {"1/", false}, {"abc", false}, {NULL, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t v = 0;
        cr_assert_eq(oa_parse_id(rows[i].s, &v), rows[i].ok, "row %zu", i);
    }
}

Test(params, unsigned_header_numbers)
{
    static const struct {
        const char *s;
        bool ok;
        uint64_t v;
    } rows[] = {
        {"0", true, 0},
        {"18446744073709551615", true, UINT64_MAX},
        {"18446744073709551616", false, 0},
        {"-1", false, 0},
        {"", false, 0},
        {"5 ", false, 0},
        {NULL, false, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint64_t v = 0;
        bool ok = oa_parse_u64(rows[i].s, &v);
        cr_assert_eq(ok, rows[i].ok, "row %zu", i);
        if (ok)
            cr_assert_eq(v, rows[i].v, "row %zu", i);
    }
}

Test(params, query_parameters_are_found_whole_and_percent_decoded)
{
    struct oa_req r;
    memset(&r, 0, sizeof(r));
    oa_arena_init(&r.arena, 4096);
    r.query = "xlimit=9&limit=5&q=a%20b+c&bad=%zz%4&nul=a%00b&empty=&after";
    static const struct {
        const char *name, *want;
        size_t len;
    } rows[] = {
        {"limit", "5", 1}, {"q", "a b c", 5}, {"bad", "%zz%4", 5}, {"nul", "a\0b", 3},
        {"empty", "", 0},  {"after", NULL, 0}, {"xlimit", "9", 1}, {"missing", NULL, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t len = 99;
        const char *v = oa_query_param_n(&r, rows[i].name, &len);
        if (rows[i].want == NULL) {
            cr_assert_null(v, "%s", rows[i].name);
            continue;
        }
        cr_assert_not_null(v, "%s", rows[i].name);
        cr_assert_eq(len, rows[i].len, "%s", rows[i].name);
        cr_assert_eq(memcmp(v, rows[i].want, len), 0, "%s", rows[i].name);
    }
    oa_arena_reset(&r.arena);
}
