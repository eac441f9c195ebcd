/*
 * server/params.c: what a request names outside its body: path ids, query
 * parameters (percent-decoded into the request's arena), whole numbers and
 * the Range header.  The one parser of them, shared by every handler; the
 * parsers themselves are pure (tests/fuzz/fuzz_params.c drives them).
 */
#include "server/params.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/http.h"

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

const char *oa_query_find(const char *query, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = query;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t plen = amp ? (size_t)(amp - p) : strlen(p);
        if (plen > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            *vlen = plen - nl - 1;
            return p + nl + 1;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

size_t oa_query_decode(const char *v, size_t vl, char *out)
{
    /* a '%' not followed by two hex digits stays as it is */
    size_t o = 0;
    for (size_t i = 0; i < vl; i++) {
        int hi, lo;
        if (v[i] == '%' && i + 2 < vl && (hi = hex_digit(v[i + 1])) >= 0 && (lo = hex_digit(v[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
            continue;
        }
        out[o++] = v[i] == '+' ? ' ' : v[i];
    }
    out[o] = '\0';
    return o;
}

const char *oa_query_param_n(struct oa_req *r, const char *name, size_t *len)
{
    size_t vl = 0;
    const char *v = oa_query_find(r->query, name, &vl);
    if (v == NULL)
        return NULL;
    char *out = oa_arena_alloc(&r->arena, vl + 1);
    if (out == NULL)
        return NULL;
    *len = oa_query_decode(v, vl, out);
    return out;
}

const char *oa_query_param(struct oa_req *r, const char *name)
{
    size_t len;
    return oa_query_param_n(r, name, &len);
}

bool oa_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (s == NULL)
        return false;
    bool neg = *s == '-';
    const char *p = neg ? s + 1 : s;
    if (*p == '\0')
        return false;
    uint64_t mag = 0;
    uint64_t cap = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (mag > (cap - d) / 10)
            return false;
        mag = mag * 10 + d;
    }
    int64_t v = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

bool oa_parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s == '\0')
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool oa_parse_id(const char *s, int64_t *out)
{
    return oa_parse_int(s, 1, INT64_MAX, out);
}

bool oa_path_id(struct oa_req *r, int i, const char *message, int64_t *out)
{
    if (i >= 0 && i < OA_ROUTE_PARAMS && oa_parse_id(r->params[i], out))
        return true;
    oa_reply_error(r, OA_E_NOT_FOUND, message);
    return false;
}

static bool query_number(struct oa_req *r, const char *name, int64_t lo, int64_t hi, int64_t dflt, bool clamp,
                         int64_t *out)
{
    const char *v = oa_query_param(r, name);
    if (v == NULL) {
        *out = dflt;
        return true;
    }
    int64_t x = 0;
    if (clamp && oa_parse_int(v, INT64_MIN, INT64_MAX, &x)) {
        *out = x < lo ? lo : x > hi ? hi : x;
        return true;
    }
    if (!clamp && oa_parse_int(v, lo, hi, out))
        return true;
    char msg[160];
    snprintf(msg, sizeof(msg), "Query parameter '%s' must be a whole number from %lld to %lld.", name, (long long)lo,
             (long long)hi);
    oa_reply_error(r, OA_E_BAD_REQUEST, oa_arena_strndup(&r->arena, msg, strlen(msg)));
    return false;
}

bool oa_query_int(struct oa_req *r, const char *name, int64_t lo, int64_t hi, int64_t dflt, int64_t *out)
{
    return query_number(r, name, lo, hi, dflt, false, out);
}

bool oa_query_clamped(struct oa_req *r, const char *name, int64_t lo, int64_t hi, int64_t dflt, int64_t *out)
{
    return query_number(r, name, lo, hi, dflt, true, out);
}

int oa_parse_range(const char *h, uint64_t size, uint64_t *from, uint64_t *len)
{
    if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    const char *p = h + 6;
    char *end = NULL;
    if (*p == '-') {
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (end == p + 1 || *end != '\0')
            return 0;
        if (n == 0 || size == 0)
            return -1;
        if (n > size)
            n = size;
        *from = size - n;
        *len = n;
        return 1;
    }
    unsigned long long a = strtoull(p, &end, 10);
    if (end == p || *end != '-')
        return 0;
    p = end + 1;
    unsigned long long b = size ? size - 1 : 0;
    if (*p != '\0') {
        b = strtoull(p, &end, 10);
        if (end == p || *end != '\0' || b < a)
            return 0;
    }
    if (a >= size)
        return -1;
    if (b >= size)
        b = size - 1;
    *from = a;
    *len = b - a + 1;
    return 1;
}
