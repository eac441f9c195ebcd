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

#endif
