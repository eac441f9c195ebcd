/*
 * proto/value_out.c: writing CBOR straight into a buffer, without an item
 * tree (pv_out_* in value.h): the same bytes pv_encode_cbor gives for the
 * same pv_* items, for the answers too large to build as a tree first.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/value.h"

static unsigned char *out_room(struct pv_out *o, size_t n)
{
    if (o->cap - o->n < n) {
        size_t cap = o->cap ? o->cap : 1024;
        while (cap - o->n < n)
            cap *= 2;
        o->p = oa_xrealloc(o->p, cap);
        o->cap = cap;
    }
    unsigned char *at = o->p + o->n;
    o->n += n;
    return at;
}

/* A head: major type mt and argument u, in the shortest form (as libcbor writes lengths). */
static void out_head(struct pv_out *o, unsigned mt, uint64_t u)
{
    unsigned char b = (unsigned char)(mt << 5);
    if (u < 24) {
        *out_room(o, 1) = (unsigned char)(b | u);
    } else if (u <= UINT8_MAX) {
        unsigned char *p = out_room(o, 2);
        p[0] = b | 24;
        p[1] = (unsigned char)u;
    } else if (u <= UINT16_MAX) {
        unsigned char *p = out_room(o, 3);
        p[0] = b | 25;
        p[1] = (unsigned char)(u >> 8);
        p[2] = (unsigned char)u;
    } else if (u <= UINT32_MAX) {
        unsigned char *p = out_room(o, 5);
        p[0] = b | 26;
        for (int i = 0; i < 4; i++)
            p[1 + i] = (unsigned char)(u >> (24 - 8 * i));
    } else {
        unsigned char *p = out_room(o, 9);
        p[0] = b | 27;
        for (int i = 0; i < 8; i++)
            p[1 + i] = (unsigned char)(u >> (56 - 8 * i));
    }
}

void pv_out_map(struct pv_out *o, size_t n)
{
    out_head(o, 5, n);
}

void pv_out_array(struct pv_out *o, size_t n)
{
    out_head(o, 4, n);
}

void pv_out_int(struct pv_out *o, int64_t v)
{
    /* pv_int's widths: uint8 (one byte below 24), uint16, uint32, uint64. */
    out_head(o, v < 0 ? 1 : 0, v < 0 ? (uint64_t)(-(v + 1)) : (uint64_t)v);
}

void pv_out_text(struct pv_out *o, const char *s)
{
    if (s == NULL) {
        pv_out_null(o);
        return;
    }
    size_t n = strlen(s);
    out_head(o, 3, n);
    memcpy(out_room(o, n), s, n);
}

void pv_out_bool(struct pv_out *o, bool v)
{
    *out_room(o, 1) = v ? 0xf5 : 0xf4;
}

void pv_out_null(struct pv_out *o)
{
    *out_room(o, 1) = 0xf6;
}

void pv_out_raw(struct pv_out *o, const void *p, size_t n)
{
    if (n > 0)
        memcpy(out_room(o, n), p, n);
}


void pv_out_reserve(struct pv_out *o, size_t n)
{
    size_t at = o->n;
    out_room(o, n);
    o->n = at;
}

size_t pv_out_array_later(struct pv_out *o)
{
    size_t at = o->n;
    out_room(o, 2); /* the longest head of a length below 256 */
    return at;
}

void pv_out_array_set(struct pv_out *o, size_t at, size_t n)
{
    if (n > UINT8_MAX || at + 2 > o->n)
        abort(); /* the room _later kept holds no longer head */
    if (n < 24) {
        o->p[at] = (unsigned char)(0x80 | n);
        memmove(o->p + at + 1, o->p + at + 2, o->n - at - 2);
        o->n--;
    } else {
        o->p[at] = 0x98;
        o->p[at + 1] = (unsigned char)n;
    }
}
