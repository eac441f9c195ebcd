/*
 * proto/etag.h: the If-Match check (RFC 9110 13.1.1), for server/ (which
 * reads the header) and app/ (whose use cases compare it with the version
 * they read, in the same transaction as the change).
 */
#ifndef OA_PROTO_ETAG_H
#define OA_PROTO_ETAG_H

#include "proto/errors.h"

/*
 * Whether the If-Match value `if_match` (NULL when the request had none)
 * lets a change of the entity whose entity tag is `etag` through: OA_E_OK
 * ("*" or one of the listed tags), OA_E_PRECONDITION_REQUIRED (no header)
 * or OA_E_PRECONDITION_FAILED.
 */
enum oa_err oa_etag_if_match(const char *if_match, const char *etag);

#endif
