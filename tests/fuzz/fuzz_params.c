/*
 * tests/fuzz/fuzz_params.c: libFuzzer target for what a request names outside
 * its body (server/params.c): the query-string core (oa_query_find and
 * oa_query_decode, through oa_query_param_n as the handlers call it), the
 * whole-number parsers and the Range header parser.  The input is one string
 * (up to its first NUL); each parser is checked against its contract, not
 * just for crashes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/http.h"
#include "server/params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                                    \
    do {                                                                                                            \
        if (!(c)) {                                                                                                 \
            fprintf(stderr, "fuzz_params: %s fails (line %d)\n", #c, __LINE__);                                   \
            __builtin_trap();                                                                                       \
        }                                                                                                           \
    } while (0)

#define ARENA (256 * 1024) /* server/listen.c's per-request arena */

static void check_query(const char *q, size_t qlen)
{
    static const char *names[] = {"limit", "q", "rev", "after", "a", ""};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        const char *name = names[k];
        size_t nl = strlen(name), vl = 0;
        const char *v = oa_query_find(q, name, &vl);
        struct oa_req r;
        memset(&r, 0, sizeof(r));
        oa_arena_init(&r.arena, ARENA); /* as a connection's request has it */
        r.query = q;
        size_t dl = 0;
        const char *d = oa_query_param_n(&r, name, &dl);
        CHECK((v == NULL) == (d == NULL) || (d == NULL && vl >= ARENA)); /* past the arena's cap: absent */
        if (v != NULL) {
            /* The value stands right after "name=" at the start of a parameter, within one parameter. */
            CHECK(v >= q + nl + 1 && v + vl <= q + qlen);
            CHECK(v[-1] == '=' && memcmp(v - 1 - nl, name, nl) == 0);
            CHECK(v - 1 - nl == q || v[-2 - (ptrdiff_t)nl] == '&');
            CHECK(memchr(v, '&', vl) == NULL && (v[vl] == '&' || v[vl] == '\0'));
            /* Decoding never grows, terminates, and leaves plain text as it is. */
            char *out = malloc(vl + 1);
            size_t n = oa_query_decode(v, vl, out);
            CHECK(n <= vl && out[n] == '\0');
            CHECK(d == NULL || (n == dl && memcmp(out, d, n) == 0 && d[n] == '\0'));
            if (memchr(v, '%', vl) == NULL && memchr(v, '+', vl) == NULL)
                CHECK(n == vl && memcmp(out, v, vl) == 0);
            free(out);
        }
        oa_arena_reset(&r.arena);
    }
}

static void check_numbers(const char *s)
{
    static const int64_t bounds[][2] = {{INT64_MIN, INT64_MAX}, {1, INT64_MAX}, {0, 100}, {-5, 5}, {1, INT32_MAX}};
    for (size_t k = 0; k < sizeof(bounds) / sizeof(bounds[0]); k++) {
        int64_t lo = bounds[k][0], hi = bounds[k][1], v = 0;
        if (!oa_parse_int(s, lo, hi, &v))
            continue;
        CHECK(v >= lo && v <= hi);
        /* Only "-?[0-9]+", read as strtoll reads it; the printed number parses back to itself. */
        CHECK(s[strspn(s + (*s == '-'), "0123456789") + (*s == '-')] == '\0');
        errno = 0;
        CHECK(strtoll(s, NULL, 10) == v && errno == 0);
        char t[32];
        int64_t w = 0;
        snprintf(t, sizeof(t), "%" PRId64, v);
        CHECK(oa_parse_int(t, lo, hi, &w) && w == v);
    }
    int64_t id = 0;
    if (oa_parse_id(s, &id))
        CHECK(id >= 1);
    uint64_t u = 0;
    if (oa_parse_u64(s, &u)) {
        CHECK(s[0] != '\0' && s[strspn(s, "0123456789")] == '\0');
        errno = 0;
        CHECK(strtoull(s, NULL, 10) == u && errno == 0);
        char t[32];
        uint64_t w = 0;
        snprintf(t, sizeof(t), "%" PRIu64, u);
        CHECK(oa_parse_u64(t, &w) && w == u);
    }
}

static void check_range(const char *h)
{
    static const uint64_t sizes[] = {0, 1, 100, 65536, 1u << 20, (uint64_t)1 << 40, UINT64_MAX};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint64_t size = sizes[k], from = 7, len = 7;
        int rc = oa_parse_range(h, size, &from, &len);
        CHECK(rc >= -1 && rc <= 1);
        if (rc != 0)
            CHECK(strncmp(h, "bytes=", 6) == 0 && strchr(h, ',') == NULL);
        if (rc == 1)
            CHECK(len >= 1 && from < size && len <= size - from);
        else
            CHECK(from == 7 && len == 7);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A string as llhttp hands it over: up to the first NUL, and exactly as long (ASan sees any overread). */
    size_t n = strnlen((const char *)data, size);
    char *s = malloc(n + 1);
    memcpy(s, data, n);
    s[n] = '\0';
    check_query(s, n);
    check_numbers(s);
    check_range(s);
    free(s);
    return 0;
}
