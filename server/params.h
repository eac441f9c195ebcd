/*
 * server/params.h: internal to server/: what a request names outside its
 * body (params.c).
 */
#ifndef OA_SERVER_PARAMS_H
#define OA_SERVER_PARAMS_H

#include <stddef.h>

struct oa_req;

/* A query parameter, percent-decoded into the request's arena; NULL when absent. */
const char *oa_query_param(struct oa_req *r, const char *name);
/* The same with its decoded length in *len: a %00 in it makes strlen() shorter. */
const char *oa_query_param_n(struct oa_req *r, const char *name, size_t *len);

#endif
