/*
 * server/params.h: internal to server/: what a request names outside its
 * body (params.c): the one parser of ids, whole numbers and query strings.
 *
 * A number is decimal digits with an optional leading '-', nothing before or
 * after, and within the stated range.  Path ids that are not ids answer 404
 * (they name no resource); query parameters that are not numbers in range
 * answer 400 bad_request, naming the parameter and the range.
 */
#ifndef OA_SERVER_PARAMS_H
#define OA_SERVER_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct oa_req;

/*
 * The pure core of the query-string parser, which the two below call (and
 * tests/fuzz/fuzz_params.c drives): in query ("a=1&b=2", without the '?';
 * NULL is an empty one), the first parameter called `name`, still encoded:
 * returns where its value starts and its length in *vlen, or NULL when it
 * is absent (a parameter without '=' is absent).  Points into query.
 */
const char *oa_query_find(const char *query, const char *name, size_t *vlen);
/*
 * Percent-decodes the vl bytes at v into out, which has room for vl + 1:
 * "%hh" is that byte, '+' a space, a '%' not followed by two hex digits stays
 * as it is.  NUL-terminates and returns the decoded length (at most vl; a
 * %00 makes strlen() shorter).
 */
size_t oa_query_decode(const char *v, size_t vl, char *out);

/* A query parameter, percent-decoded into the request's arena; NULL when absent. */
const char *oa_query_param(struct oa_req *r, const char *name);
/* The same with its decoded length in *len: a %00 in it makes strlen() shorter. */
const char *oa_query_param_n(struct oa_req *r, const char *name, size_t *len);

/* A whole decimal number from lo to hi, the whole of s; false otherwise (and *out untouched). */
bool oa_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out);
/* An unsigned decimal number (a header such as Upload-Offset), the whole of s. */
bool oa_parse_u64(const char *s, uint64_t *out);
/* An id: a whole number from 1 to INT64_MAX. */
bool oa_parse_id(const char *s, int64_t *out);

/*
 * The path's {} segment number i as an id; when it is not one, answers 404
 * with `message` (NULL: the default sentence) and returns false.
 */
bool oa_path_id(struct oa_req *r, int i, const char *message, int64_t *out);

/*
 * An integer query parameter: dflt when absent; a whole number from lo to
 * hi; otherwise answers 400 bad_request naming the parameter and the range,
 * and returns false (the handler then just returns).
 */
bool oa_query_int(struct oa_req *r, const char *name, int64_t lo, int64_t hi, int64_t dflt, int64_t *out);
/*
 * A page size or similar: dflt when absent; any whole number, clamped to
 * lo..hi (the documented behaviour of limit=); 400 as oa_query_int when it
 * is not a whole number.
 */
bool oa_query_clamped(struct oa_req *r, const char *name, int64_t lo, int64_t hi, int64_t dflt, int64_t *out);

/*
 * A Range header (RFC 9110 14.1.2, a single range) against a resource of
 * `size` bytes: "bytes=a-b", "bytes=a-" or "bytes=-n" (the last n bytes).
 * Returns 1 with the range in *from and *len (len >= 1, from + len <= size,
 * b and n clamped to the size), 0 when the header is absent, malformed,
 * names several ranges or has b < a (send the whole: the header is ignored),
 * -1 when it cannot be satisfied (a >= size, n = 0, or an empty resource: 416).
 * The numbers are read with strtoull.
 */
int oa_parse_range(const char *h, uint64_t size, uint64_t *from, uint64_t *len);

#endif
