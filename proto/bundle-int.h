/* proto/bundle-int.h: what the bundle module's files share (nobody else includes it). */
#ifndef OA_PROTO_BUNDLE_INT_H
#define OA_PROTO_BUNDLE_INT_H

#include <stdbool.h>
#include <stddef.h>

/* The attachment file-name rule of oad (docs/API.md). */
bool oa__bundle_name_ok(const char *s, size_t n);
/* An RFC 3339 date-time. */
bool oa__bundle_time_ok(const char *s);

#endif
