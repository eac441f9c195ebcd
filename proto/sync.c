/* proto/sync.c: see sync.h. */
#include "proto/sync.h"

#include <stdio.h>
#include <string.h>

#include "proto/alloc.h"

static cbor_item_t *must(cbor_item_t *it)
{
    if (it == NULL)
        oa_oom();
    return it;
}

cbor_item_t *oa_sync_map(size_t n)
{
    return must(cbor_new_definite_map(n));
}

void oa_sync_put(cbor_item_t *map, unsigned key, cbor_item_t *value)
{
    struct cbor_pair p = {cbor_move(must(cbor_build_uint8((uint8_t)key))), cbor_move(value)};
    if (!cbor_map_add(map, p))
        oa_oom();
}

void oa_sync_put_text(cbor_item_t *map, unsigned key, const char *s)
{
    oa_sync_put(map, key, must(s ? cbor_build_string(s) : cbor_new_null()));
}

void oa_sync_put_uint(cbor_item_t *map, unsigned key, uint64_t v)
{
    oa_sync_put(map, key, must(cbor_build_uint64(v)));
}

void oa_sync_put_bool(cbor_item_t *map, unsigned key, bool v)
{
    oa_sync_put(map, key, must(cbor_build_bool(v)));
}

cbor_item_t *oa_sync_message(const char *type, size_t n)
{
    cbor_item_t *m = oa_sync_map(n + 2);
    oa_sync_put_uint(m, OA_K_VERSION, OA_SYNC_VERSION);
    oa_sync_put_text(m, OA_K_TYPE, type);
    return m;
}

const cbor_item_t *oa_sync_get(const cbor_item_t *map, unsigned key)
{
    if (map == NULL || !cbor_isa_map(map))
        return NULL;
    size_t n = cbor_map_size(map);
    struct cbor_pair *p = cbor_map_handle(map);
    for (size_t i = 0; i < n; i++)
        if (cbor_isa_uint(p[i].key) && cbor_get_int(p[i].key) == key)
            return p[i].value;
    return NULL;
}

bool oa_sync_uint(const cbor_item_t *map, unsigned key, uint64_t *out)
{
    const cbor_item_t *v = oa_sync_get(map, key);
    if (v == NULL || !cbor_isa_uint(v))
        return false;
    *out = cbor_get_int(v);
    return true;
}

bool oa_sync_bool(const cbor_item_t *map, unsigned key, bool *out)
{
    const cbor_item_t *v = oa_sync_get(map, key);
    /* cbor_is_bool aborts on floats in libcbor 0.8: check the type first */
    if (v == NULL || !cbor_isa_float_ctrl(v) || cbor_float_get_width(v) != CBOR_FLOAT_0 ||
        (cbor_ctrl_value(v) != CBOR_CTRL_TRUE && cbor_ctrl_value(v) != CBOR_CTRL_FALSE))
        return false;
    *out = cbor_ctrl_value(v) == CBOR_CTRL_TRUE;
    return true;
}

bool oa_sync_text(const cbor_item_t *map, unsigned key, char *buf, size_t cap)
{
    const cbor_item_t *v = oa_sync_get(map, key);
    if (v == NULL || !cbor_isa_string(v) || !cbor_string_is_definite(v))
        return false;
    size_t n = cbor_string_length(v);
    if (n >= cap || memchr(cbor_string_handle(v), 0, n) != NULL)
        return false;
    memcpy(buf, cbor_string_handle(v), n);
    buf[n] = '\0';
    return true;
}

const char *oa_sync_check(const cbor_item_t *msg, const char *type, bool *bad_version)
{
    *bad_version = false;
    if (msg == NULL || !cbor_isa_map(msg))
        return "A sync message is a CBOR map.";
    uint64_t v = 0;
    if (!oa_sync_uint(msg, OA_K_VERSION, &v))
        return "The message has no protocol version (key 0).";
    if (v != OA_SYNC_VERSION) {
        *bad_version = true;
        return "This protocol version is not supported (the server speaks version 1); update the client.";
    }
    char t[32];
    if (!oa_sync_text(msg, OA_K_TYPE, t, sizeof(t)) || strcmp(t, type) != 0)
        return "The message is not of the type this route takes (key 1).";
    return NULL;
}
