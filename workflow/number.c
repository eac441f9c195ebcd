/* workflow/number.c: the document number format (see number.h).  Pure. */
#include "workflow/number.h"

#include <stdio.h>

bool oa_number_format(const char *prefix, int year, int64_t seq, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s〔%d〕%lld号", prefix, year, (long long)seq);
    return n >= 0 && (size_t)n < outlen;
}
