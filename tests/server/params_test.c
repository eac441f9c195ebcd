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

/* The pure core under oa_query_param_n: the raw value where it stands, then its decoding. */
Test(params, the_query_core_finds_raw_values_and_decodes_them)
{
    const char *q = "xlimit=9&limit=5&q=a%20b+c&empty=&after&=anon&limit=6";
    size_t vl = 99;
    const char *v = oa_query_find(q, "limit", &vl);
    cr_assert_eq(v, q + 15);
    cr_assert_eq(vl, 1);
    v = oa_query_find(q, "q", &vl);
    cr_assert_eq(vl, 7);
    cr_assert_eq(memcmp(v, "a%20b+c", 7), 0);
    char out[8];
    cr_assert_eq(oa_query_decode(v, vl, out), 5);
    cr_assert_str_eq(out, "a b c");
    cr_assert_not_null(oa_query_find(q, "empty", &vl));
    cr_assert_eq(vl, 0);
    cr_assert_null(oa_query_find(q, "after", &vl));
    cr_assert_null(oa_query_find(q, "missing", &vl));
    cr_assert_null(oa_query_find(NULL, "q", &vl));
    cr_assert_null(oa_query_find("", "q", &vl));
    v = oa_query_find(q, "", &vl); /* as before the split: an empty name finds "=anon" */
    cr_assert_eq(v, q + 41);
    cr_assert_eq(vl, 4);
    static const struct {
        const char *in, *want;
        size_t len;
    } rows[] = {
        {"%41%62", "Ab", 2}, {"%4", "%4", 2}, {"%", "%", 1},     {"%%41", "%A", 2}, {"%zz", "%zz", 3},
        {"%00x", "\0x", 2},  {"a+b", "a b", 3}, {"%2B", "+", 1}, {"%4g", "%4g", 3}, {"", "", 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char buf[16];
        size_t n = oa_query_decode(rows[i].in, strlen(rows[i].in), buf);
        cr_assert_eq(n, rows[i].len, "row %zu '%s': %zu", i, rows[i].in, n);
        cr_assert_eq(memcmp(buf, rows[i].want, n), 0, "row %zu", i);
        cr_assert_eq(buf[n], '\0', "row %zu", i);
    }
}

/*
 * oa_parse_range: the contract parse_range of h_attachments.c had, byte for
 * byte, including what strtoull lets through (blanks, a sign, saturation).
 */
Test(params, range_headers_against_a_size)
{
    static const struct {
        const char *h;
        uint64_t size;
        int rc;
        uint64_t from, len;
    } rows[] = {
        {NULL, 100, 0, 0, 0},
        {"", 100, 0, 0, 0},
        {"bytes=0-9", 100, 1, 0, 10},
        {"bytes=0-0", 100, 1, 0, 1},
        {"bytes=99-99", 100, 1, 99, 1},
        {"bytes=90-", 100, 1, 90, 10},
        {"bytes=90-200", 100, 1, 90, 10},           /* the end is clamped */
        {"bytes=-10", 100, 1, 90, 10},
        {"bytes=-200", 100, 1, 0, 100},            /* a suffix longer than the file: all of it */
        {"bytes=-0", 100, -1, 0, 0},
        {"bytes=100-", 100, -1, 0, 0},
        {"bytes=100-200", 100, -1, 0, 0},
        {"bytes=99999999999999999999999-", 100, -1, 0, 0}, /* saturates, then is past the end */
        {"bytes=0-99999999999999999999999", 100, 1, 0, 100},
        {"bytes=0-", 0, -1, 0, 0},                 /* nothing to range over */
        {"bytes=0-0", 0, -1, 0, 0},
        {"bytes=-5", 0, -1, 0, 0},
        {"bytes=5-4", 100, 0, 0, 0},               /* b < a: ignored, the whole is sent */
        {"bytes=0-1,5-6", 100, 0, 0, 0},           /* several ranges: ignored */
        {"bytes=", 100, 0, 0, 0},
        {"bytes=-", 100, 0, 0, 0},
        {"bytes=a-b", 100, 0, 0, 0},
        {"bytes=1-2x", 100, 0, 0, 0},
        {"bytes=-5x", 100, 0, 0, 0},
        {"bytes=1", 100, 0, 0, 0},
        {"items=0-9", 100, 0, 0, 0},
        {"Bytes=0-9", 100, 0, 0, 0},
        {"bytes = 0-9", 100, 0, 0, 0},
        {"bytes= 1-2", 100, 1, 1, 2},              /* strtoull skips blanks and takes a sign */
        {"bytes=+1-+2", 100, 1, 1, 2},
        {"bytes=--5", 100, 1, 0, 100},             /* strtoull("-5") is 2^64 - 5: clamped to the size */
        {"bytes=-18446744073709551615", UINT64_MAX, 1, 0, UINT64_MAX},
        {"bytes=18446744073709551614-", UINT64_MAX, 1, UINT64_MAX - 1, 1},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint64_t from = 7, len = 7;
        int rc = oa_parse_range(rows[i].h, rows[i].size, &from, &len);
        cr_assert_eq(rc, rows[i].rc, "row %zu '%s': %d", i, rows[i].h ? rows[i].h : "(null)", rc);
        if (rc == 1) {
            cr_assert_eq(from, rows[i].from, "row %zu from %llu", i, (unsigned long long)from);
            cr_assert_eq(len, rows[i].len, "row %zu len %llu", i, (unsigned long long)len);
        } else {
            cr_assert(from == 7 && len == 7, "row %zu: untouched", i);
        }
    }
}
