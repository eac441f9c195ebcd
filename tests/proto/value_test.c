/* tests/proto/value_test.c: the body codec of proto/value.c. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "proto/value.h"

static enum oa_err dec(const void *b, size_t n)
{
    cbor_item_t *it = NULL;
    char why[256];
    enum oa_err e = pv_decode_cbor(b, n, &it, why, sizeof(why));
    if (it)
        cbor_decref(&it);
    return e;
}

Test(value, decodes_well_formed_cbor)
{
    /* {"a": [1, -2, h'00ff'], "b": true} */
    const unsigned char b[] = {0xa2, 0x61, 'a', 0x83, 0x01, 0x21, 0x42, 0x00, 0xff, 0x61, 'b', 0xf5};
    cr_assert_eq(dec(b, sizeof(b)), OA_E_OK);
    /* indefinite-length array and text */
    const unsigned char c[] = {0x9f, 0x7f, 0x61, 'x', 0x61, 'y', 0xff, 0xff};
    cr_assert_eq(dec(c, sizeof(c)), OA_E_OK);
}

Test(value, refuses_truncated_trailing_and_empty)
{
    const unsigned char t[] = {0xa2, 0x61, 'a', 0x01};
    cr_assert_eq(dec(t, sizeof(t)), OA_E_BAD_BODY);
    const unsigned char tr[] = {0x01, 0x02};
    cr_assert_eq(dec(tr, sizeof(tr)), OA_E_BAD_BODY);
    cr_assert_eq(dec("", 0), OA_E_BAD_BODY);
    const unsigned char brk[] = {0xff};
    cr_assert_eq(dec(brk, 1), OA_E_BAD_BODY);
    const unsigned char open_indef[] = {0x9f, 0x01};
    cr_assert_eq(dec(open_indef, sizeof(open_indef)), OA_E_BAD_BODY);
}

Test(value, refuses_declared_lengths_larger_than_the_input)
{
    const unsigned char arr[] = {0x9b, 0, 0, 0, 1, 0, 0, 0, 0, 0x01};
    const unsigned char map[] = {0xb9, 0xff, 0xff, 0x01, 0x01};
    const unsigned char str[] = {0x7a, 0x7f, 0xff, 0xff, 0xff, 'a'};
    const unsigned char bytes[] = {0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    cr_assert_eq(dec(arr, sizeof(arr)), OA_E_BAD_BODY);
    cr_assert_eq(dec(map, sizeof(map)), OA_E_BAD_BODY);
    cr_assert_eq(dec(str, sizeof(str)), OA_E_BAD_BODY);
    cr_assert_eq(dec(bytes, sizeof(bytes)), OA_E_BAD_BODY);
}

Test(value, limits_nesting_of_arrays_maps_and_tags)
{
    unsigned char b[PV_MAX_DEPTH + 2];
    memset(b, 0x81, sizeof(b));
    b[sizeof(b) - 1] = 0x00;
    /* PV_MAX_DEPTH + 1 arrays deep: refused */
    cr_assert_eq(dec(b, sizeof(b)), OA_E_BAD_BODY);
    /* exactly PV_MAX_DEPTH: accepted */
    cr_assert_eq(dec(b + 1, sizeof(b) - 1), OA_E_OK);
    /* Tags are not part of the protocol at all. */
    const unsigned char tag[] = {0xd8, 0x14, 0x00};
    cr_assert_eq(dec(tag, sizeof(tag)), OA_E_BAD_BODY);
    unsigned char tags[100];
    memset(tags, 0xc1, sizeof(tags));
    tags[sizeof(tags) - 1] = 0x00;
    cr_assert_eq(dec(tags, sizeof(tags)), OA_E_BAD_BODY);
    /* siblings do not add depth */
    unsigned char wide[1 + 200];
    wide[0] = 0x98;
    wide[1] = 199;
    memset(wide + 2, 0x80, 199);
    cr_assert_eq(dec(wide, sizeof(wide)), OA_E_OK);
}

Test(value, json_round_trips_through_cbor)
{
    const char *js = "{\"name\":\"公文\",\"n\":-42,\"big\":9007199254740993,\"ok\":false,\"none\":null,"
                     "\"list\":[1,2.5,\"x\"]}";
    cbor_item_t *it = NULL;
    cr_assert_eq(pv_decode_json(js, strlen(js), &it, NULL, 0), OA_E_OK);
    size_t n;
    unsigned char *cb = pv_encode_cbor(it, &n);
    cbor_decref(&it);
    cr_assert_eq(pv_decode_cbor(cb, n, &it, NULL, 0), OA_E_OK);
    free(cb);
    char *back = pv_encode_json(it, &n);
    cbor_decref(&it);
    json_t *a = json_loads(js, 0, NULL), *b = json_loads(back, 0, NULL);
    cr_assert(json_equal(a, b), "%s", back);
    free(back);
    json_decref(a);
    json_decref(b);
}

Test(value, json_refuses_duplicates_depth_and_garbage)
{
    cbor_item_t *it = NULL;
    char why[256];
    const char *dup = "{\"a\":1,\"a\":2}";
    cr_assert_eq(pv_decode_json(dup, strlen(dup), &it, why, sizeof(why)), OA_E_BAD_BODY);
    cr_assert(strstr(why, "duplicate"), "%s", why);
    char deep[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]");
    cr_assert_eq(pv_decode_json(deep, strlen(deep), &it, why, sizeof(why)), OA_E_BAD_BODY);
    cr_assert_eq(pv_decode_json("{", 1, &it, why, sizeof(why)), OA_E_BAD_BODY);
    cr_assert_eq(pv_decode_json("\"a\\u0000b\"", 10, &it, why, sizeof(why)), OA_E_BAD_BODY);
    cr_assert_null(it);
}

Test(value, encodes_shortest_integers_and_bytes_as_base64url)
{
    cbor_item_t *m = pv_map(3);
    pv_put_int(m, "a", 23);
    pv_put_int(m, "b", -1000);
    pv_put(m, "c", cbor_build_bytestring((const unsigned char *)"\xff\xfe", 2));
    size_t n;
    unsigned char *cb = pv_encode_cbor(m, &n);
    /* a3 61 61 17 | 61 62 39 03 e7 | 61 63 42 ff fe */
    const unsigned char want[] = {0xa3, 0x61, 'a', 0x17, 0x61, 'b', 0x39, 0x03, 0xe7, 0x61, 'c', 0x42, 0xff, 0xfe};
    cr_assert_eq(n, sizeof(want));
    cr_assert(memcmp(cb, want, n) == 0);
    free(cb);
    char *js = pv_encode_json(m, &n);
    cr_assert_str_eq(js, "{\"a\":23,\"b\":-1000,\"c\":\"__4\"}");
    free(js);
    cbor_decref(&m);
}

Test(value, extract_checks_presence_types_bounds_and_duplicates)
{
    struct oa_arena arena;
    oa_arena_init(&arena, 1 << 16);
    char why[256];
    const char *name = NULL;
    int64_t n = 0;
    bool flag = false, has_flag = true;
    struct pv_field f[] = {
        {"name", PV_TEXT, PV_REQUIRED, 1, 8, &name, NULL},
        {"n", PV_INT, PV_REQUIRED, 0, 10, &n, NULL},
        {"flag", PV_BOOL, 0, 0, 0, &flag, &has_flag},
    };
    cbor_item_t *it = NULL;
    const char *ok = "{\"name\":\"abc\",\"n\":3}";
    pv_decode_json(ok, strlen(ok), &it, NULL, 0);
    cr_assert_eq(pv_extract(it, f, 3, &arena, why, sizeof(why)), OA_E_OK, "%s", why);
    cr_assert_str_eq(name, "abc");
    cr_assert_eq(n, 3);
    cr_assert(!has_flag);
    cbor_decref(&it);

    const char *bad[] = {
        "{\"n\":3}", "{\"name\":\"abc\",\"n\":11}", "{\"name\":\"toolongname\",\"n\":1}",
        "{\"name\":1,\"n\":1}", "{\"name\":\"a\",\"n\":\"1\"}", "{\"name\":\"a\",\"n\":1,\"flag\":1}", "[]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pv_decode_json(bad[i], strlen(bad[i]), &it, NULL, 0);
        cr_assert_eq(pv_extract(it, f, 3, &arena, why, sizeof(why)), OA_E_BAD_FIELD, "case %zu", i);
        cbor_decref(&it);
    }
    /* A CBOR map may repeat a key (JSON cannot reach here with one): refused. */
    const unsigned char dup[] = {0xa2, 0x61, 'n', 0x01, 0x61, 'n', 0x02};
    pv_decode_cbor(dup, sizeof(dup), &it, NULL, 0);
    cr_assert_eq(pv_extract(it, f + 1, 1, &arena, why, sizeof(why)), OA_E_BAD_FIELD);
    cr_assert(strstr(why, "twice"));
    cbor_decref(&it);
    /* Invalid UTF-8 in CBOR text is refused. */
    const unsigned char badtext[] = {0xa1, 0x64, 'n', 'a', 'm', 'e', 0x62, 0xc3, 0x28};
    if (pv_decode_cbor(badtext, sizeof(badtext), &it, NULL, 0) == OA_E_OK) {
        cr_assert_eq(pv_extract(it, f, 1, &arena, why, sizeof(why)), OA_E_BAD_FIELD);
        cbor_decref(&it);
    }
    /* Text with a NUL passes libcbor but not the field reader. */
    const unsigned char nul[] = {0xa1, 0x64, 'n', 'a', 'm', 'e', 0x63, 'a', 0x00, 'b'};
    cr_assert_eq(pv_decode_cbor(nul, sizeof(nul), &it, NULL, 0), OA_E_OK);
    cr_assert_eq(pv_extract(it, f, 1, &arena, why, sizeof(why)), OA_E_BAD_FIELD);
    cr_assert(strstr(why, "UTF-8"), "%s", why);
    cbor_decref(&it);
    oa_arena_reset(&arena);
}

Test(value, utf8_validation)
{
    cr_assert(pv_utf8_ok((const unsigned char *)"公文 ok", strlen("公文 ok")));
    cr_assert(!pv_utf8_ok((const unsigned char *)"\xc0\xaf", 2));     /* overlong */
    cr_assert(!pv_utf8_ok((const unsigned char *)"\xed\xa0\x80", 3)); /* surrogate */
    cr_assert(!pv_utf8_ok((const unsigned char *)"a\0b", 3));
    cr_assert(!pv_utf8_ok((const unsigned char *)"\xe4\xb8", 2));     /* truncated */
}

Test(arena, enforces_its_maximum)
{
    struct oa_arena a;
    oa_arena_init(&a, 10000);
    cr_assert_not_null(oa_arena_alloc(&a, 5000));
    cr_assert_not_null(oa_arena_alloc(&a, 4000));
    cr_assert_null(oa_arena_alloc(&a, 2000));
    oa_arena_reset(&a);
    cr_assert_not_null(oa_arena_alloc(&a, 9000));
    oa_arena_reset(&a);
}

/* #13 item 5: one UTF-8-safe truncation; a cut never splits a character. */
Test(value, utf8_copy_and_trim_never_split_a_character)
{
    const char *cjk = "公文流转系统"; /* six 3-byte characters */
    for (size_t cap = 1; cap <= strlen(cjk) + 2; cap++) {
        char buf[32];
        pv_utf8_copy(buf, cap, cjk);
        cr_assert(pv_utf8_ok((const unsigned char *)buf, strlen(buf)), "cap %zu", cap);
        cr_assert_eq(strlen(buf), cap - 1 >= strlen(cjk) ? strlen(cjk) : (cap - 1) / 3 * 3, "cap %zu", cap);
        cr_assert_eq(strncmp(buf, cjk, strlen(buf)), 0);
    }
    char cut[16];
    snprintf(cut, sizeof(cut), "ab%s", "公文流转系统"); /* 15 bytes kept: "ab" + 4 chars + 1 byte */
    cr_assert(!pv_utf8_ok((const unsigned char *)cut, strlen(cut)));
    pv_utf8_trim(cut);
    cr_assert_str_eq(cut, "ab公文流转");
    char four[8] = "x\xF0\x9F\x98"; /* a 4-byte character cut after 3 */
    cr_assert_str_eq(pv_utf8_trim(four), "x");
    char whole[8] = "x\xF0\x9F\x98\x80";
    cr_assert_str_eq(pv_utf8_trim(whole), "x\xF0\x9F\x98\x80");
    char null_src[4];
    cr_assert_str_eq(pv_utf8_copy(null_src, sizeof(null_src), NULL), "");
}

/* #13 item 4: a field the route does not know is refused, never ignored. */
Test(value, extract_refuses_unknown_and_refused_fields)
{
    struct oa_arena arena;
    oa_arena_init(&arena, 1 << 16);
    cbor_item_t *m = NULL;
    cr_assert_eq(pv_decode_json("{\"title\":\"t\",\"clearance\":4}", 27, &m, NULL, 0), OA_E_OK);
    const char *title = NULL;
    char why[128];
    struct pv_field only_title[] = {{"title", PV_TEXT, 0, 0, 100, &title, NULL}};
    cr_assert_eq(pv_extract(m, only_title, 1, &arena, why, sizeof(why)), OA_E_BAD_FIELD);
    cr_assert(strstr(why, "'clearance'"), "%s", why);
    int64_t c = 0;
    struct pv_field refused[] = {{"title", PV_TEXT, 0, 0, 100, &title, NULL},
                                 {"clearance", PV_INT, PV_REFUSED, 0, 4, &c, NULL}};
    cr_assert_eq(pv_extract(m, refused, 2, &arena, why, sizeof(why)), OA_E_FORBIDDEN);
    cr_assert(strstr(why, "'clearance'"), "%s", why);
    cbor_decref(&m);
    oa_arena_reset(&arena);
}

/* A long unknown CJK field name is echoed cut at a character, so the error still encodes as JSON. */
Test(value, an_unknown_long_cjk_field_name_is_echoed_whole_characters_only)
{
    struct oa_arena arena;
    oa_arena_init(&arena, 1 << 16);
    const char *js = "{\"一二三四五六七八九十一二三四五六七八九十一二\":1}"; /* 22 characters, 66 bytes */
    cbor_item_t *m = NULL;
    cr_assert_eq(pv_decode_json(js, strlen(js), &m, NULL, 0), OA_E_OK);
    const char *title = NULL;
    char why[256];
    struct pv_field f[] = {{"title", PV_TEXT, 0, 0, 100, &title, NULL}};
    cr_assert_eq(pv_extract(m, f, 1, &arena, why, sizeof(why)), OA_E_BAD_FIELD);
    cr_assert(pv_utf8_ok((const unsigned char *)why, strlen(why)), "%s", why);
    cr_assert(strstr(why, "一二三"), "%s", why);
    cbor_decref(&m);
    oa_arena_reset(&arena);
}
