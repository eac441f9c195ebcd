/* app/health.c: see health.h. */
#include "app/health.h"

#include "storage/fault.h"

_Static_assert(OA_APP_FAULT_KINDS == OA_FAULT__COUNT, "app/health.h counts the kinds of storage/fault.h");

size_t oa_app_faults(struct oa_app_fault *out, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < OA_FAULT__COUNT && n < cap; i++, n++) {
        enum oa_fault f = (enum oa_fault)i;
        out[n].name = oa_fault_name(f);
        out[n].active = oa_fault_active(f);
        out[n].since = out[n].active ? oa_fault_since(f) : 0;
        out[n].advice = oa_fault_advice(f);
    }
    return n;
}
