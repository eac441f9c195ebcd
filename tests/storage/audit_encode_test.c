/*
 * tests/storage/audit_encode_test.c: an audit entry's bytes (oa_audit_encode,
 * the input of its Merkle leaf) never change: every trail written so far must
 * still verify.  The encoder is checked against the entry built as a libcbor
 * item tree and serialised (how oad wrote entries before #14's direct
 * writer), on rows with and without each optional field, negative and wide
 * numbers, and texts whose length heads take 1, 2 and 3 bytes; and one entry
 * is pinned to its bytes.
 */
#include <cbor.h>
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/audit.h"

static cbor_item_t *num(int64_t v)
{
    uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) : (uint64_t)v;
    cbor_item_t *it = u <= UINT8_MAX    ? cbor_build_uint8((uint8_t)u)
                      : u <= UINT16_MAX ? cbor_build_uint16((uint16_t)u)
                      : u <= UINT32_MAX ? cbor_build_uint32((uint32_t)u)
                                        : cbor_build_uint64(u);
    if (v < 0)
        cbor_mark_negint(it);
    return it;
}

static void put(cbor_item_t *m, int key, cbor_item_t *v)
{
    cr_assert(cbor_map_add(m, (struct cbor_pair){.key = cbor_move(num(key)), .value = cbor_move(v)}));
}

static cbor_item_t *text(bool has, const char *s)
{
    return has ? cbor_build_string(s) : cbor_new_null();
}

static cbor_item_t *opt(bool has, int64_t v)
{
    return has ? num(v) : cbor_new_null();
}

/* The reference: the entry as a libcbor tree, serialised. */
static unsigned char *reference(const struct oa_audit_row *r, size_t *len)
{
    cbor_item_t *m = cbor_new_definite_map(14);
    put(m, 1, num(r->id));
    put(m, 2, num(r->at));
    put(m, 3, opt(r->has_actor_id, r->actor_id));
    put(m, 4, text(r->has_actor, r->actor));
    put(m, 5, text(r->has_on_behalf, r->on_behalf));
    put(m, 6, cbor_build_string(r->event));
    put(m, 7, text(r->has_target, r->target));
    put(m, 8, opt(r->has_doc_id, r->doc_id));
    put(m, 9, opt(r->has_label, r->label));
    put(m, 10, text(r->has_from, r->from_state));
    put(m, 11, text(r->has_to, r->to_state));
    put(m, 12, text(r->has_source, r->source));
    put(m, 13, cbor_build_string(r->outcome));
    put(m, 14, text(r->has_detail, r->detail));
    unsigned char *buf = NULL;
    size_t cap = 0;
    *len = cbor_serialize_alloc(m, &buf, &cap);
    cbor_decref(&m);
    return buf;
}

static void fill(char *dst, size_t cap, size_t n, char c)
{
    n = n < cap - 1 ? n : cap - 1;
    memset(dst, c, n);
    dst[n] = '\0';
}

static void same(const struct oa_audit_row *r, const char *what)
{
    size_t a = 0, b = 0;
    unsigned char *got = oa_audit_encode(r, &a), *want = reference(r, &b);
    cr_assert_eq(a, b, "%s: %zu bytes, the reference %zu", what, a, b);
    cr_assert_eq(memcmp(got, want, a), 0, "%s: the bytes differ from the reference", what);
    free(got);
    free(want);
}

Test(audit_encode, every_shape_of_entry_is_the_item_trees_bytes)
{
    static const int64_t nums[] = {0, 1, 23, 24, 255, 256, 65535, 65536, 4294967295LL, 4294967296LL,
                                   INT64_MAX, -1, -24, -25, -256, -257, -65537, INT64_MIN};
    static const size_t lens[] = {0, 1, 23, 24, 255, 256, 511};
    for (unsigned mask = 0; mask < 1024; mask += 37) {
        for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
            struct oa_audit_row r;
            memset(&r, 0, sizeof(r));
            size_t n = lens[(k + mask) % (sizeof(lens) / sizeof(lens[0]))];
            r.id = nums[k];
            r.at = nums[(k + 3) % (sizeof(nums) / sizeof(nums[0]))];
            r.actor_id = nums[(k + 5) % (sizeof(nums) / sizeof(nums[0]))];
            r.doc_id = nums[(k + 7) % (sizeof(nums) / sizeof(nums[0]))];
            r.label = (int)(k % 6) - 1;
            r.has_actor_id = mask & 1;
            r.has_doc_id = mask & 2;
            r.has_label = mask & 4;
            r.has_actor = mask & 8;
            r.has_on_behalf = mask & 16;
            r.has_target = mask & 32;
            r.has_from = mask & 64;
            r.has_to = mask & 128;
            r.has_source = mask & 256;
            r.has_detail = mask & 512 || k % 2;
            snprintf(r.actor, sizeof(r.actor), "张三");
            fill(r.on_behalf, sizeof(r.on_behalf), n, 'b');
            fill(r.event, sizeof(r.event), n, 'e');
            fill(r.target, sizeof(r.target), n, 't');
            snprintf(r.from_state, sizeof(r.from_state), "draft");
            snprintf(r.to_state, sizeof(r.to_state), "%s", n % 2 ? "" : "countersigning");
            snprintf(r.source, sizeof(r.source), "127.0.0.1");
            snprintf(r.outcome, sizeof(r.outcome), "ok");
            fill(r.detail, sizeof(r.detail), n, 'd');
            char what[64];
            snprintf(what, sizeof(what), "mask %u, number %zu", mask, k);
            same(&r, what);
        }
    }
}

Test(audit_encode, an_entry_is_pinned_to_its_bytes)
{
    struct oa_audit_row r;
    memset(&r, 0, sizeof(r));
    r.id = 42;
    r.at = 1764720000;
    r.has_actor_id = true;
    r.actor_id = 7;
    r.has_actor = true;
    snprintf(r.actor, sizeof(r.actor), "王五");
    snprintf(r.event, sizeof(r.event), "doc.action");
    r.has_doc_id = true;
    r.doc_id = 300;
    r.has_label = true;
    r.label = 2;
    r.has_from = r.has_to = true;
    snprintf(r.from_state, sizeof(r.from_state), "draft");
    snprintf(r.to_state, sizeof(r.to_state), "review");
    snprintf(r.outcome, sizeof(r.outcome), "ok");
    size_t n = 0;
    unsigned char *enc = oa_audit_encode(&r, &n);
    char hex[2 * 256 + 1];
    cr_assert_lt(n, 256);
    sodium_bin2hex(hex, sizeof(hex), enc, n);
    free(enc);
    cr_assert_str_eq(hex,
                     /* map(14); 1: 42; 2: 1764720000; 3: 7; 4: "王五"; 5: null; 6: "doc.action"; 7: null; */
                     "ae01182a021a692f7d8003070466e78e8be4ba9405f6066a646f632e616374696f6e07f6"
                     /* 8: 300; 9: 2; 10: "draft"; 11: "review"; 12: null; 13: "ok"; 14: null */
                     "0819012c09020a6564726166740b667265766965770cf60d626f6b0ef6");
}
