/*
 * server/params.c: what a request names outside its body: query parameters
 * (percent-decoded into the request's arena).  Shared by every handler, so
 * that no handler file calls into another for it.
 */
#include "server/params.h"

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

const char *oa_query_param_n(struct oa_req *r, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    const char *p = r->query;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t plen = amp ? (size_t)(amp - p) : strlen(p);
        if (plen > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            /* percent-decode; a '%' not followed by two hex digits stays as it is */
            const char *v = p + nl + 1;
            size_t vl = plen - nl - 1;
            char *out = oa_arena_alloc(&r->arena, vl + 1);
            if (out == NULL)
                return NULL;
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
            *len = o;
            return out;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

const char *oa_query_param(struct oa_req *r, const char *name)
{
    size_t len;
    return oa_query_param_n(r, name, &len);
}
