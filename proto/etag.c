/* proto/etag.c: see etag.h. */
#include "proto/etag.h"

#include <string.h>

enum oa_err oa_etag_if_match(const char *if_match, const char *etag)
{
    if (if_match == NULL)
        return OA_E_PRECONDITION_REQUIRED;
    const char *p = if_match;
    size_t el = strlen(etag);
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return OA_E_OK;
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == el && memcmp(p, etag, n) == 0)
            return OA_E_OK;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return OA_E_PRECONDITION_FAILED;
}
