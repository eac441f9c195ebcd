/*
 * proto/value.c: bounded decoding of CBOR and JSON bodies into libcbor items,
 * encoding of items into CBOR and JSON, and field extraction.  See value.h.
 */
#include "proto/value.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/log.h"

static void say(char *why, size_t whylen, const char *fmt, ...)
{
    if (why == NULL || whylen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

static cbor_item_t *must(cbor_item_t *item)
{
    if (item == NULL) {
        oa_log(OA_LOG_ERROR, "out_of_memory", "where=libcbor");
        abort();
    }
    return item;
}

/*
 * libcbor 0.8's cbor_is_bool() and cbor_is_null() assert (and so abort) when
 * given a float: these check the width first.
 */
static bool is_ctrl(const cbor_item_t *it, uint8_t v)
{
    return cbor_isa_float_ctrl(it) && cbor_float_get_width(it) == CBOR_FLOAT_0 && cbor_ctrl_value(it) == v;
}

static bool is_bool(const cbor_item_t *it)
{
    return is_ctrl(it, CBOR_CTRL_TRUE) || is_ctrl(it, CBOR_CTRL_FALSE);
}

/* ---- CBOR: a validating pass with the streaming decoder, then cbor_load ---- */

/*
 * The validator walks the item stream once and keeps, per open container, how
 * many items it still expects (-1: indefinite, closed by a break).  A container
 * whose declared size exceeds the bytes that remain is refused before libcbor
 * could allocate for it.
 */
struct vstate {
    size_t remaining;               /* bytes after the current item's head */
    int depth;
    int64_t left[PV_MAX_DEPTH + 1];
    const char *error;
};

static void v_settle(struct vstate *st)
{
    while (st->depth > 0 && st->left[st->depth] == 0)
        st->depth--;
}

static void v_consume(struct vstate *st)
{
    if (st->depth > 0 && st->left[st->depth] > 0)
        st->left[st->depth]--;
}

static void v_item(struct vstate *st)
{
    v_consume(st);
    v_settle(st);
}

static void v_open(struct vstate *st, int64_t count)
{
    v_consume(st);
    if (count == 0) {
        v_settle(st);
        return;
    }
    if (st->depth >= PV_MAX_DEPTH) {
        if (st->error == NULL)
            st->error = "values are nested too deeply";
        return;
    }
    st->left[++st->depth] = count;
}

static void v_open_sized(struct vstate *st, size_t n, size_t per)
{
    if (n > st->remaining / per) {
        if (st->error == NULL)
            st->error = "a declared length is larger than the data that follows";
        return;
    }
    v_open(st, (int64_t)(n * per));
}

static void cb_u8(void *c, uint8_t v) { (void)v; v_item(c); }
static void cb_u16(void *c, uint16_t v) { (void)v; v_item(c); }
static void cb_u32(void *c, uint32_t v) { (void)v; v_item(c); }
static void cb_u64(void *c, uint64_t v) { (void)v; v_item(c); }
static void cb_str(void *c, cbor_data d, size_t n) { (void)d; (void)n; v_item(c); }
static void cb_simple(void *c) { v_item(c); }
static void cb_f4(void *c, float v) { (void)v; v_item(c); }
static void cb_f8(void *c, double v) { (void)v; v_item(c); }
static void cb_bool(void *c, bool v) { (void)v; v_item(c); }
static void cb_indef(void *c) { v_open(c, -1); }
static void cb_array(void *c, size_t n) { v_open_sized(c, n, 1); }
static void cb_map(void *c, size_t n) { v_open_sized(c, n, 2); }
/*
 * The oa protocol uses no CBOR tags, and libcbor 0.8 re-encodes some tags in a
 * form its own decoder refuses: a tag anywhere in a body is an error.
 */
static void cb_tag(void *c, uint64_t v)
{
    struct vstate *st = c;
    (void)v;
    if (st->error == NULL)
        st->error = "CBOR tags are not used by the oa protocol";
}

static void cb_break(void *c)
{
    struct vstate *st = c;
    if (st->depth == 0 || st->left[st->depth] != -1) {
        if (st->error == NULL)
            st->error = "a break code stands outside an indefinite-length item";
        return;
    }
    st->left[st->depth] = 0;
    v_settle(st);
}

static const struct cbor_callbacks validator = {
    .uint8 = cb_u8, .uint16 = cb_u16, .uint32 = cb_u32, .uint64 = cb_u64,
    .negint8 = cb_u8, .negint16 = cb_u16, .negint32 = cb_u32, .negint64 = cb_u64,
    .byte_string = cb_str, .byte_string_start = cb_indef,
    .string = cb_str, .string_start = cb_indef,
    .array_start = cb_array, .indef_array_start = cb_indef,
    .map_start = cb_map, .indef_map_start = cb_indef,
    .tag = cb_tag,
    .float2 = cb_f4, .float4 = cb_f4, .float8 = cb_f8,
    .undefined = cb_simple, .null = cb_simple, .boolean = cb_bool,
    .indef_break = cb_break,
};

enum oa_err pv_decode_cbor(const void *buf, size_t len, cbor_item_t **out, char *why, size_t whylen)
{
    const unsigned char *p = buf;
    struct vstate st = {0};
    size_t off = 0;
    bool started = false;

    *out = NULL;
    if (len == 0) {
        say(why, whylen, "the CBOR body is empty");
        return OA_E_BAD_BODY;
    }
    while (off < len) {
        if (started && st.depth == 0) {
            say(why, whylen, "there are bytes after the CBOR item, at offset %zu", off);
            return OA_E_BAD_BODY;
        }
        started = true;
        /* The callback sees `remaining` as the bytes after this item's head;
         * we only know the head's size after the call, so use a bound that is
         * at least as strict: bytes after the head's first byte. */
        st.remaining = len - off - 1;
        struct cbor_decoder_result r = cbor_stream_decode(p + off, len - off, &validator, &st);
        if (r.status == CBOR_DECODER_NEDATA) {
            say(why, whylen, "the CBOR body is truncated at offset %zu", off);
            return OA_E_BAD_BODY;
        }
        if (r.status != CBOR_DECODER_FINISHED || r.read == 0) {
            say(why, whylen, "the CBOR body is malformed at offset %zu", off);
            return OA_E_BAD_BODY;
        }
        if (st.error != NULL) {
            say(why, whylen, "%s (offset %zu)", st.error, off);
            return OA_E_BAD_BODY;
        }
        off += r.read;
    }
    if (st.depth != 0) {
        say(why, whylen, "the CBOR body ends inside an unfinished array, map or string");
        return OA_E_BAD_BODY;
    }

    struct cbor_load_result res;
    cbor_item_t *item = cbor_load(p, len, &res);
    if (item == NULL || res.error.code != CBOR_ERR_NONE) {
        if (item != NULL)
            cbor_decref(&item);
        say(why, whylen, "the CBOR body is malformed at offset %zu", res.error.position);
        return OA_E_BAD_BODY;
    }
    if (res.read != len) {
        cbor_decref(&item);
        say(why, whylen, "there are bytes after the CBOR item");
        return OA_E_BAD_BODY;
    }
    *out = item;
    return OA_E_OK;
}

/* ---- JSON <-> items ---- */

static cbor_item_t *from_json(json_t *j, int depth, const char **error)
{
    if (depth > PV_MAX_DEPTH) {
        *error = "values are nested too deeply";
        return NULL;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        cbor_item_t *m = pv_map(json_object_size(j));
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            cbor_item_t *cv = from_json(v, depth + 1, error);
            if (cv == NULL) {
                cbor_decref(&m);
                return NULL;
            }
            pv_put(m, k, cv);
        }
        return m;
    }
    case JSON_ARRAY: {
        cbor_item_t *a = pv_array(json_array_size(j));
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            cbor_item_t *cv = from_json(v, depth + 1, error);
            if (cv == NULL) {
                cbor_decref(&a);
                return NULL;
            }
            pv_push(a, cv);
        }
        return a;
    }
    case JSON_STRING:
        return pv_textn(json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return pv_int(json_integer_value(j));
    case JSON_REAL:
        return must(cbor_build_float8(json_real_value(j)));
    case JSON_TRUE:
        return must(cbor_build_bool(true));
    case JSON_FALSE:
        return must(cbor_build_bool(false));
    case JSON_NULL:
        return must(cbor_new_null());
    }
    *error = "unknown JSON value";
    return NULL;
}

enum oa_err pv_decode_json(const void *buf, size_t len, cbor_item_t **out, char *why, size_t whylen)
{
    json_error_t jerr;
    *out = NULL;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        say(why, whylen, "the JSON body is invalid at line %d column %d: %s", jerr.line, jerr.column,
            jerr.text);
        return OA_E_BAD_BODY;
    }
    const char *error = NULL;
    cbor_item_t *item = from_json(j, 1, &error);
    json_decref(j);
    if (item == NULL) {
        say(why, whylen, "%s", error ? error : "the JSON body could not be converted");
        return OA_E_BAD_BODY;
    }
    *out = item;
    return OA_E_OK;
}

/* Concatenates a definite or indefinite string's bytes into a malloc'd buffer. */
static unsigned char *flatten(const cbor_item_t *s, size_t *len)
{
    bool text = cbor_isa_string(s);
    bool definite = text ? cbor_string_is_definite(s) : cbor_bytestring_is_definite(s);
    if (definite) {
        size_t n = text ? cbor_string_length(s) : cbor_bytestring_length(s);
        unsigned char *b = oa_xmalloc(n + 1);
        if (n)
            memcpy(b, text ? cbor_string_handle(s) : cbor_bytestring_handle(s), n);
        b[n] = 0;
        *len = n;
        return b;
    }
    size_t count = text ? cbor_string_chunk_count(s) : cbor_bytestring_chunk_count(s);
    cbor_item_t **chunks = text ? cbor_string_chunks_handle(s) : cbor_bytestring_chunks_handle(s);
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += text ? cbor_string_length(chunks[i]) : cbor_bytestring_length(chunks[i]);
    unsigned char *b = oa_xmalloc(total + 1);
    size_t off = 0;
    for (size_t i = 0; i < count; i++) {
        size_t n = text ? cbor_string_length(chunks[i]) : cbor_bytestring_length(chunks[i]);
        if (n)
            memcpy(b + off, text ? cbor_string_handle(chunks[i]) : cbor_bytestring_handle(chunks[i]), n);
        off += n;
    }
    b[total] = 0;
    *len = total;
    return b;
}

static json_t *to_json(const cbor_item_t *it, int depth)
{
    if (depth > PV_MAX_DEPTH)
        return NULL;
    switch (cbor_typeof(it)) {
    case CBOR_TYPE_UINT:
        return json_integer((json_int_t)cbor_get_int(it));
    case CBOR_TYPE_NEGINT:
        return json_integer(-1 - (json_int_t)cbor_get_int(it));
    case CBOR_TYPE_BYTESTRING: {
        size_t n;
        unsigned char *b = flatten(it, &n);
        size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        char *s = oa_xmalloc(cap);
        sodium_bin2base64(s, cap, b, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        json_t *j = json_string(s);
        free(s);
        free(b);
        return j;
    }
    case CBOR_TYPE_STRING: {
        size_t n;
        unsigned char *b = flatten(it, &n);
        json_t *j = json_stringn((const char *)b, n);
        free(b);
        return j;
    }
    case CBOR_TYPE_ARRAY: {
        json_t *a = json_array();
        cbor_item_t **h = cbor_array_handle(it);
        for (size_t i = 0; i < cbor_array_size(it); i++) {
            json_t *v = to_json(h[i], depth + 1);
            if (v == NULL || json_array_append_new(a, v) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case CBOR_TYPE_MAP: {
        json_t *o = json_object();
        struct cbor_pair *h = cbor_map_handle(it);
        for (size_t i = 0; i < cbor_map_size(it); i++) {
            char keybuf[32];
            unsigned char *k = NULL;
            const char *key = keybuf;
            if (cbor_isa_string(h[i].key)) {
                size_t n;
                k = flatten(h[i].key, &n);
                key = (const char *)k;
            } else if (cbor_isa_uint(h[i].key)) {
                snprintf(keybuf, sizeof(keybuf), "%llu", (unsigned long long)cbor_get_int(h[i].key));
            } else if (cbor_isa_negint(h[i].key)) {
                snprintf(keybuf, sizeof(keybuf), "-%llu", (unsigned long long)cbor_get_int(h[i].key) + 1);
            } else {
                json_decref(o);
                return NULL;
            }
            json_t *v = to_json(h[i].value, depth + 1);
            int rc = v ? json_object_set_new(o, key, v) : -1;
            free(k);
            if (rc != 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    case CBOR_TYPE_TAG: {
        cbor_item_t *inner = cbor_tag_item(it);
        json_t *j = to_json(inner, depth + 1);
        cbor_decref(&inner);
        return j;
    }
    case CBOR_TYPE_FLOAT_CTRL:
        if (is_bool(it))
            return json_boolean(is_ctrl(it, CBOR_CTRL_TRUE));
        if (cbor_float_ctrl_is_ctrl(it))
            return json_null();
        {
            double d = cbor_float_get_float(it);
            return isfinite(d) ? json_real(d) : json_null();
        }
    }
    return NULL;
}

unsigned char *pv_encode_cbor(const cbor_item_t *item, size_t *len)
{
    /* libcbor's cbor_serialize_alloc starts at 32 bytes and serializes the
     * whole item again after each doubling: a 23 KB list page was encoded
     * about twice over.  Start where most answers fit. */
    size_t cap = 4096;
    unsigned char *buf = oa_xmalloc(cap);
    size_t n;
    while ((n = cbor_serialize(item, buf, cap)) == 0) {
        if (cap >= ((size_t)1 << 31)) {
            free(buf);
            return NULL;
        }
        cap *= 4;
        buf = oa_xrealloc(buf, cap);
    }
    *len = n;
    return buf;
}

char *pv_encode_json(const cbor_item_t *item, size_t *len)
{
    json_t *j = to_json(item, 1);
    if (j == NULL)
        return NULL;
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (s != NULL)
        *len = strlen(s);
    return s;
}

/* ---- Building ---- */

cbor_item_t *pv_map(size_t n)
{
    return must(cbor_new_definite_map(n));
}

cbor_item_t *pv_array(size_t n)
{
    return must(cbor_new_definite_array(n));
}

cbor_item_t *pv_int(int64_t v)
{
    uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) : (uint64_t)v;
    cbor_item_t *it;
    if (u <= UINT8_MAX)
        it = must(cbor_build_uint8((uint8_t)u));
    else if (u <= UINT16_MAX)
        it = must(cbor_build_uint16((uint16_t)u));
    else if (u <= UINT32_MAX)
        it = must(cbor_build_uint32((uint32_t)u));
    else
        it = must(cbor_build_uint64(u));
    if (v < 0)
        cbor_mark_negint(it);
    return it;
}

cbor_item_t *pv_text(const char *s)
{
    return must(cbor_build_stringn(s, strlen(s)));
}

cbor_item_t *pv_textn(const char *s, size_t n)
{
    return must(cbor_build_stringn(s, n));
}

void pv_put(cbor_item_t *map, const char *key, cbor_item_t *value)
{
    struct cbor_pair pair = {.key = cbor_move(pv_text(key)), .value = cbor_move(value)};
    if (!cbor_map_add(map, pair)) {
        oa_log(OA_LOG_ERROR, "bug", "where=pv_put key=%s", key);
        abort();
    }
}

void pv_put_text(cbor_item_t *map, const char *key, const char *s)
{
    pv_put(map, key, s ? pv_text(s) : must(cbor_new_null()));
}

void pv_put_int(cbor_item_t *map, const char *key, int64_t v)
{
    pv_put(map, key, pv_int(v));
}

void pv_put_bool(cbor_item_t *map, const char *key, bool v)
{
    pv_put(map, key, must(cbor_build_bool(v)));
}

cbor_item_t *pv_array_from(cbor_item_t *const *items, size_t n)
{
    cbor_item_t *a = pv_array(n);
    for (size_t i = 0; i < n; i++)
        pv_push(a, items[i]);
    return a;
}

void pv_push(cbor_item_t *array, cbor_item_t *value)
{
    if (!cbor_array_push(array, cbor_move(value))) {
        oa_log(OA_LOG_ERROR, "bug", "where=pv_push");
        abort();
    }
}

/* ---- Reading ---- */

/* The length of the longest prefix of s[0..n) that does not end inside a
 * character: a last character cut short is dropped whole. */
static size_t utf8_boundary(const unsigned char *s, size_t n)
{
    size_t i = n, back = 0; /* back: continuation bytes at the end */
    while (i > 0 && back < 3 && (s[i - 1] & 0xC0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0)
        return 0;
    unsigned char lead = s[i - 1];
    size_t want = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3
                : (lead & 0xF8) == 0xF0 ? 4 : 0;
    if (want == 1)
        return i; /* ASCII, then stray continuation bytes: drop those */
    return back + 1 == want ? n : i - 1;
}

char *pv_utf8_copy(char *dst, size_t cap, const char *src)
{
    if (cap == 0)
        return dst;
    size_t n = src ? strlen(src) : 0;
    if (n > cap - 1)
        n = utf8_boundary((const unsigned char *)src, cap - 1);
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return dst;
}

char *pv_utf8_trim(char *s)
{
    size_t n = strlen(s);
    s[utf8_boundary((const unsigned char *)s, n)] = '\0';
    return s;
}

bool pv_utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        uint32_t cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

static bool key_is(const cbor_item_t *k, const char *name)
{
    if (!cbor_isa_string(k) || !cbor_string_is_definite(k))
        return false;
    size_t n = strlen(name);
    return cbor_string_length(k) == n && memcmp(cbor_string_handle(k), name, n) == 0;
}

const cbor_item_t *pv_get(const cbor_item_t *map, const char *key)
{
    if (map == NULL || !cbor_isa_map(map))
        return NULL;
    struct cbor_pair *h = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++)
        if (key_is(h[i].key, key))
            return h[i].value;
    return NULL;
}

static const char *type_name(enum pv_type t)
{
    switch (t) {
    case PV_TEXT: return "a text string";
    case PV_INT: return "an integer";
    case PV_BOOL: return "true or false";
    case PV_BYTES: return "a byte string";
    case PV_ITEM: return "a value";
    }
    return "a value";
}

static enum oa_err read_field(const struct pv_field *f, const cbor_item_t *v, struct oa_arena *arena,
                              char *why, size_t whylen)
{
    switch (f->type) {
    case PV_TEXT:
    case PV_BYTES: {
        bool text_item = cbor_isa_string(v);
        if (!text_item && !(f->type == PV_BYTES && cbor_isa_bytestring(v)))
            goto wrong_type;
        size_t n;
        unsigned char *b = flatten(v, &n);
        enum oa_err rc = OA_E_OK;
        unsigned char *raw = b;
        size_t rawlen = n;
        unsigned char *decoded = NULL;
        if (f->type == PV_BYTES && text_item) {
            /* JSON carries bytes as base64url text. */
            decoded = oa_xmalloc(n + 1);
            size_t dn = 0;
            if (sodium_base642bin(decoded, n + 1, (const char *)b, n, NULL, &dn, NULL,
                                  sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
                say(why, whylen, "field '%s' must be base64url text without padding", f->name);
                rc = OA_E_BAD_FIELD;
                goto str_out;
            }
            raw = decoded;
            rawlen = dn;
        }
        if ((int64_t)rawlen < f->min || (f->max > 0 && (int64_t)rawlen > f->max)) {
            say(why, whylen, "field '%s' must be %lld to %lld bytes long", f->name, (long long)f->min,
                (long long)f->max);
            rc = OA_E_BAD_FIELD;
            goto str_out;
        }
        if (f->type == PV_TEXT && !pv_utf8_ok(raw, rawlen)) {
            say(why, whylen, "field '%s' must be UTF-8 text without NUL characters", f->name);
            rc = OA_E_BAD_FIELD;
            goto str_out;
        }
        char *copy = oa_arena_strndup(arena, raw, rawlen);
        if (copy == NULL) {
            say(why, whylen, "the request's fields are too large");
            rc = OA_E_BAD_FIELD;
            goto str_out;
        }
        if (f->type == PV_TEXT) {
            *(const char **)f->out = copy;
        } else {
            struct pv_bytes *out = f->out;
            out->data = (const unsigned char *)copy;
            out->len = rawlen;
        }
    str_out:
        free(decoded);
        free(b);
        return rc;
    }
    case PV_INT: {
        int64_t val;
        if (cbor_isa_uint(v)) {
            uint64_t u = cbor_get_int(v);
            if (u > INT64_MAX)
                goto out_of_range;
            val = (int64_t)u;
        } else if (cbor_isa_negint(v)) {
            uint64_t u = cbor_get_int(v);
            if (u > INT64_MAX)
                goto out_of_range;
            val = -1 - (int64_t)u;
        } else {
            goto wrong_type;
        }
        if (val < f->min || val > f->max)
            goto out_of_range;
        *(int64_t *)f->out = val;
        return OA_E_OK;
    out_of_range:
        say(why, whylen, "field '%s' must be between %lld and %lld", f->name, (long long)f->min,
            (long long)f->max);
        return OA_E_BAD_FIELD;
    }
    case PV_BOOL:
        if (!is_bool(v))
            goto wrong_type;
        *(bool *)f->out = is_ctrl(v, CBOR_CTRL_TRUE);
        return OA_E_OK;
    case PV_ITEM:
        *(const cbor_item_t **)f->out = v;
        return OA_E_OK;
    }
wrong_type:
    say(why, whylen, "field '%s' must be %s", f->name, type_name(f->type));
    return OA_E_BAD_FIELD;
}

enum oa_err pv_extract(const cbor_item_t *map, const struct pv_field *fields, size_t n,
                       struct oa_arena *arena, char *why, size_t whylen)
{
    if (map == NULL || !cbor_isa_map(map)) {
        say(why, whylen, "the body must be a map (a JSON object)");
        return OA_E_BAD_FIELD;
    }
    struct cbor_pair *h = cbor_map_handle(map);
    size_t size = cbor_map_size(map);
    /* Every key must be one of the fields: an unknown one is a mistake the
     * caller should hear about, never a no-op that looks like success. */
    for (size_t k = 0; k < size; k++) {
        size_t i = 0;
        while (i < n && !key_is(h[k].key, fields[i].name))
            i++;
        if (i < n)
            continue;
        if (!cbor_isa_string(h[k].key) || !cbor_string_is_definite(h[k].key)) {
            say(why, whylen, "every field name must be text");
        } else {
            /* Echo at most 64 bytes of the name, cut at a character boundary. */
            char name[65], raw[65];
            size_t len = cbor_string_length(h[k].key);
            memcpy(raw, cbor_string_handle(h[k].key), len > 64 ? 64 : len);
            raw[len > 64 ? 64 : len] = '\0';
            pv_utf8_copy(name, sizeof(name), raw);
            pv_utf8_trim(name);
            if (strlen(name) != strlen(raw) && len <= 64) /* a NUL inside, or cut where it need not be */
                name[0] = '\0';
            if (!pv_utf8_ok((const unsigned char *)name, strlen(name)))
                say(why, whylen, "a field name is not valid UTF-8");
            else
                say(why, whylen, "field '%s' is not known here", name);
        }
        return OA_E_BAD_FIELD;
    }
    for (size_t i = 0; i < n; i++) {
        const struct pv_field *f = &fields[i];
        const cbor_item_t *found = NULL;
        for (size_t k = 0; k < size; k++) {
            if (!key_is(h[k].key, f->name))
                continue;
            if (found != NULL) {
                say(why, whylen, "field '%s' is given twice", f->name);
                return OA_E_BAD_FIELD;
            }
            found = h[k].value;
        }
        if (f->present != NULL)
            *f->present = found != NULL;
        if (found != NULL && (f->flags & PV_REFUSED)) {
            say(why, whylen, "field '%s' is not yours to set here", f->name);
            return OA_E_FORBIDDEN;
        }
        if (found == NULL) {
            if (f->flags & PV_REQUIRED) {
                say(why, whylen, "field '%s' is required", f->name);
                return OA_E_BAD_FIELD;
            }
            continue;
        }
        enum oa_err rc = read_field(f, found, arena, why, whylen);
        if (rc != OA_E_OK)
            return rc;
    }
    return OA_E_OK;
}
