/*
 * tests/fuzz/fuzz_cbor.c: libFuzzer target for the decoding of request bodies
 * (proto/value.c): bytes as CBOR and as JSON, then everything a handler does
 * with a decoded body: re-encode both ways and extract typed fields, and
 * read it as a sync message the way the server's push and the client's feed
 * reader do (proto/sync.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "proto/sync.h"
#include "proto/value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(cbor_item_t *it)
{
    size_t n = 0;
    unsigned char *c = pv_encode_cbor(it, &n);
    if (c != NULL) {
        /* What we encode must decode again. */
        cbor_item_t *again = NULL;
        char why[256];
        if (pv_decode_cbor(c, n, &again, why, sizeof(why)) != OA_E_OK) {
            fprintf(stderr, "re-encoded item does not decode: %s\n", why);
            for (size_t i = 0; i < n; i++)
                fprintf(stderr, "%02x", c[i]);
            fprintf(stderr, "\n");
            abort();
        }
        cbor_decref(&again);
    }
    free(c);
    free(pv_encode_json(it, &n));

    struct oa_arena arena;
    oa_arena_init(&arena, 1 << 20);
    const char *text = NULL;
    int64_t num = 0;
    bool flag = false;
    struct pv_bytes bytes = {0};
    const cbor_item_t *any = NULL;
    struct pv_field f[] = {
        {"username", PV_TEXT, 0, 0, 64, &text, NULL},
        {"protocol", PV_INT, 0, 0, INT32_MAX, &num, NULL},
        {"disabled", PV_BOOL, 0, 0, 0, &flag, NULL},
        {"blob", PV_BYTES, 0, 0, 4096, &bytes, NULL},
        {"roles", PV_ITEM, 0, 0, 0, &any, NULL},
    };
    char why[256];
    pv_extract(it, f, 5, &arena, why, sizeof(why));
    oa_arena_reset(&arena);

    bool badv;
    char t[64];
    uint64_t u;
    oa_sync_check(it, "push", &badv);
    for (unsigned k = 0; k < 8; k++) {
        oa_sync_uint(it, k, &u);
        oa_sync_bool(it, k, &flag);
        oa_sync_text(it, k, t, sizeof(t));
    }
    const cbor_item_t *ops = oa_sync_get(it, OA_P_OPS);
    if (ops && cbor_isa_array(ops))
        for (size_t i = 0; i < cbor_array_size(ops) && i < 64; i++) {
            const cbor_item_t *o = cbor_array_handle(ops)[i];
            oa_sync_text(o, OA_OP_ID, t, sizeof(t));
            oa_sync_uint(o, OA_OP_DOC, &u);
            oa_sync_get(o, OA_OP_FIELDS);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cbor_item_t *it = NULL;
    char why[256];
    if (pv_decode_cbor(data, size, &it, why, sizeof(why)) == OA_E_OK) {
        exercise(it);
        cbor_decref(&it);
    }
    if (pv_decode_json(data, size, &it, why, sizeof(why)) == OA_E_OK) {
        exercise(it);
        cbor_decref(&it);
    }
    return 0;
}
