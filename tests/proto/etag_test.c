/* tests/proto/etag_test.c: the If-Match check (proto/etag.c), which server/ and app/ share. */
#include <criterion/criterion.h>

#include "proto/etag.h"

Test(etag, no_header_is_required)
{
    cr_assert_eq(oa_etag_if_match(NULL, "\"d1-2\""), OA_E_PRECONDITION_REQUIRED);
}

Test(etag, star_and_exact_tags_match)
{
    cr_assert_eq(oa_etag_if_match("*", "\"d1-2\""), OA_E_OK);
    cr_assert_eq(oa_etag_if_match("\"d1-2\"", "\"d1-2\""), OA_E_OK);
    cr_assert_eq(oa_etag_if_match(" \"d1-1\" ,\t\"d1-2\"\t", "\"d1-2\""), OA_E_OK);
}

Test(etag, other_versions_and_prefixes_fail)
{
    cr_assert_eq(oa_etag_if_match("\"d1-1\"", "\"d1-2\""), OA_E_PRECONDITION_FAILED);
    cr_assert_eq(oa_etag_if_match("\"d1-2", "\"d1-2\""), OA_E_PRECONDITION_FAILED);
    cr_assert_eq(oa_etag_if_match("\"d1-22\"", "\"d1-2\""), OA_E_PRECONDITION_FAILED);
    cr_assert_eq(oa_etag_if_match("", "\"d1-2\""), OA_E_PRECONDITION_FAILED);
    cr_assert_eq(oa_etag_if_match(",,", "\"d1-2\""), OA_E_PRECONDITION_FAILED);
}
