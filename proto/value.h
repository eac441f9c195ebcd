/*
 * proto/value.h: the one conversion module between bytes on the wire and the
 * values handlers work with.
 *
 * Inside oa every request and response body is a libcbor item.  A body arrives
 * as CBOR (RFC 8949) or as JSON with the same schema; both are decoded here,
 * with the same limits, into a cbor_item_t.  Responses are built as items and
 * encoded here into CBOR or JSON.  JSON is parsed and printed by jansson; CBOR
 * byte strings appear in JSON as unpadded base64url text.
 *
 * Limits that hold for every decoded body, whatever its encoding:
 *   - nesting depth at most PV_MAX_DEPTH;
 *   - no declared array/map/string length larger than the bytes that follow,
 *     so a hostile length can never cause a large allocation;
 *   - exactly one top-level item, nothing after it;
 *   - no CBOR tags (the protocol defines none);
 *   - JSON objects with duplicate keys are refused.
 */
#ifndef OA_PROTO_VALUE_H
#define OA_PROTO_VALUE_H

#include <cbor.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/alloc.h"
#include "proto/errors.h"

#define PV_MAX_DEPTH 32

/*
 * Decode a body.  On success returns OA_E_OK and *out holds a new item (the
 * caller owns one reference).  On failure returns OA_E_BAD_BODY and writes a
 * sentence naming the problem into why.
 */
enum oa_err pv_decode_cbor(const void *buf, size_t len, cbor_item_t **out, char *why, size_t whylen);
enum oa_err pv_decode_json(const void *buf, size_t len, cbor_item_t **out, char *why, size_t whylen);

/*
 * Encode an item.  Returns a malloc'd buffer the caller frees, and its length
 * in *len, or NULL when the item cannot be represented (JSON: invalid UTF-8).
 * CBOR output uses definite lengths and the shortest integer forms.
 */
unsigned char *pv_encode_cbor(const cbor_item_t *item, size_t *len);
char *pv_encode_json(const cbor_item_t *item, size_t *len);

/* ---- reading fields out of a decoded map ---- */

enum pv_type {
    PV_TEXT,   /* out: const char ** (NUL-terminated, in the arena) */
    PV_INT,    /* out: int64_t *, within [min, max] */
    PV_BOOL,   /* out: bool * */
    PV_BYTES,  /* out: struct pv_bytes * (in the arena); JSON sends base64url text */
    PV_ITEM,   /* out: const cbor_item_t ** (borrowed from the map) */
};

struct pv_bytes {
    const unsigned char *data;
    size_t len;
};

#define PV_REQUIRED 1u
/* A field this route knows but the caller may not set here (another
 * administrator's, or another route's): its presence is OA_E_FORBIDDEN. */
#define PV_REFUSED 2u

struct pv_field {
    const char *name;
    enum pv_type type;
    unsigned flags;
    int64_t min, max; /* PV_TEXT/PV_BYTES: length bounds in bytes; PV_INT: value bounds */
    void *out;
    bool *present;    /* optional: set to whether the field was there */
};

/*
 * Read the named fields of `map` into their outputs.  A key that is not in
 * `fields` (or not a text string), a key given twice, a missing required
 * field, a wrong type, a length or value out of bounds, text that is not
 * UTF-8 or contains NUL: each returns OA_E_BAD_FIELD with a sentence in why
 * naming the field, so nothing the caller sent is ever silently ignored.  A
 * PV_REFUSED field that is present returns OA_E_FORBIDDEN.
 */
enum oa_err pv_extract(const cbor_item_t *map, const struct pv_field *fields, size_t n,
                       struct oa_arena *arena, char *why, size_t whylen);

/* ---- building responses ---- */

/* New definite map with room for exactly `n` pairs (the caller owns it). */
cbor_item_t *pv_map(size_t n);
/* New definite array with room for exactly `n` items (the caller owns it). */
cbor_item_t *pv_array(size_t n);
/* The shortest integer item for v. */
cbor_item_t *pv_int(int64_t v);
cbor_item_t *pv_text(const char *s);
cbor_item_t *pv_textn(const char *s, size_t n);

/* Add to a map built by pv_map; the map takes ownership of `value`. */
void pv_put(cbor_item_t *map, const char *key, cbor_item_t *value);
void pv_put_text(cbor_item_t *map, const char *key, const char *s); /* NULL s puts null */
void pv_put_int(cbor_item_t *map, const char *key, int64_t v);
void pv_put_bool(cbor_item_t *map, const char *key, bool v);
/* A new array of the n items, which it takes ownership of (the caller owns the array). */
cbor_item_t *pv_array_from(cbor_item_t *const *items, size_t n);
/* Append to an array built by pv_array; the array takes ownership. */
void pv_push(cbor_item_t *array, cbor_item_t *value);

/*
 * Writing CBOR straight into a buffer, without an item tree: for the large
 * answers (list pages), where building, encoding and freeing the tree cost
 * more than the query.  The bytes are exactly those pv_encode_cbor gives for
 * the same pv_* items (shortest integers and heads).  The buffer grows as
 * needed (oa_xrealloc); the caller owns out->p and frees it.
 */
struct pv_out {
    unsigned char *p;
    size_t n, cap;
};
void pv_out_map(struct pv_out *o, size_t n);
void pv_out_array(struct pv_out *o, size_t n);
void pv_out_int(struct pv_out *o, int64_t v);
void pv_out_text(struct pv_out *o, const char *s); /* NULL writes null */
void pv_out_bool(struct pv_out *o, bool v);
void pv_out_null(struct pv_out *o);
/* Appends bytes already encoded (another pv_out's). */
void pv_out_raw(struct pv_out *o, const void *p, size_t n);
/* Makes room for n more bytes at once (fewer reallocations for an answer of known size). */
void pv_out_reserve(struct pv_out *o, size_t n);
/*
 * An array whose length is known only after its items (at most 255): _later
 * keeps room for the head and returns where; _set writes the head there once
 * the items follow, moving them when the head is shorter than the room.
 */
size_t pv_out_array_later(struct pv_out *o);
void pv_out_array_set(struct pv_out *o, size_t at, size_t n);

/* Looks up a text key in a map; returns a borrowed item or NULL. */
const cbor_item_t *pv_get(const cbor_item_t *map, const char *key);

/* True when the n bytes at s are valid UTF-8 with no NUL. */
bool pv_utf8_ok(const unsigned char *s, size_t n);

/*
 * The one UTF-8-safe truncation: every fixed buffer that holds text from
 * outside goes through these, so a cut never splits a character (which the
 * JSON encoder, rightly, refuses).
 *
 * pv_utf8_copy copies src (NULL reads as "") into dst, at most cap - 1
 * bytes, cut at a character boundary, always NUL-terminated; returns dst.
 * pv_utf8_trim drops an incomplete character left at the end of s (after a
 * snprintf that cut it); returns s.
 */
char *pv_utf8_copy(char *dst, size_t cap, const char *src);
char *pv_utf8_trim(char *s);

#endif
