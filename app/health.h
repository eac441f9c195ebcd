/*
 * app/health.h: what degrades the server, for /healthz and /metrics: the
 * storage faults (storage/fault.h: a full disk, a damaged database).
 */
#ifndef OA_APP_HEALTH_H
#define OA_APP_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One kind of fault and its state now. */
struct oa_app_fault {
    const char *name;   /* stable ("no_space") */
    bool active;
    int64_t since;      /* when it was raised (active only) */
    const char *advice; /* what the operator does about it */
};

/* The kinds of fault there are. */
#define OA_APP_FAULT_KINDS 2

/*
 * Every kind of fault, active or not, in a fixed order, at most cap into
 * out; returns how many.
 */
size_t oa_app_faults(struct oa_app_fault *out, size_t cap);

#endif
