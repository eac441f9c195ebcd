/* model/clock.c: see clock.h. */
#include "model/clock.h"

#include <time.h>

int64_t oa_now(void)
{
    return (int64_t)time(NULL);
}
