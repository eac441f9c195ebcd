/* model/clock.h: the one clock every layer reads. */
#ifndef OA_MODEL_CLOCK_H
#define OA_MODEL_CLOCK_H

#include <stdint.h>

/* Seconds since the epoch, from the wall clock. */
int64_t oa_now(void);

#endif
