/*
 * tests/proto/value_out_test.c: CBOR written straight into bytes
 * (proto/value_out.c) is the bytes pv_encode_cbor gives for the same items:
 * here an array whose length is written after its items (the list pages',
 * #14), for lengths on both sides of the one-byte head, and a reservation
 * that changes no byte.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/value.h"

/* The oracle: {"documents": [n texts], "next_after": null} as an item tree, encoded. */
static unsigned char *tree_page(size_t n, size_t *len)
{
    cbor_item_t *arr = pv_array(n);
    for (size_t i = 0; i < n; i++) {
        char t[32];
        snprintf(t, sizeof(t), "item %zu", i);
        pv_push(arr, pv_text(t));
    }
    cbor_item_t *m = pv_map(2);
    pv_put(m, "documents", arr);
    pv_put_text(m, "next_after", NULL);
    unsigned char *bytes = pv_encode_cbor(m, len);
    cbor_decref(&m);
    return bytes;
}

Test(value_out, an_array_whose_length_follows_its_items_has_the_trees_bytes)
{
    static const size_t lengths[] = {0, 1, 23, 24, 25, 200, 255};
    for (size_t k = 0; k < sizeof(lengths) / sizeof(lengths[0]); k++) {
        size_t n = lengths[k];
        struct pv_out o = {0};
        pv_out_map(&o, 2);
        pv_out_text(&o, "documents");
        size_t at = pv_out_array_later(&o);
        pv_out_reserve(&o, 100000);
        for (size_t i = 0; i < n; i++) {
            char t[32];
            snprintf(t, sizeof(t), "item %zu", i);
            pv_out_text(&o, t);
        }
        pv_out_array_set(&o, at, n);
        pv_out_text(&o, "next_after");
        pv_out_null(&o);
        size_t len = 0;
        unsigned char *want = tree_page(n, &len);
        cr_assert_not_null(want);
        cr_assert(o.n == len && memcmp(o.p, want, len) == 0, "%zu items: the bytes differ", n);
        free(want);
        free(o.p);
    }
}
