/* model/audit.h: which audit entries a reader asks for (storage/audit.h selects them; app/ and server/ ask). */
#ifndef OA_MODEL_AUDIT_H
#define OA_MODEL_AUDIT_H

#include <stdint.h>

/* Which entries: id > after, from <= at < to (0: open), of actor, doc, event (NULL/0: any); at most limit. */
struct oa_audit_filter {
    int64_t after, from, to, doc, limit;
    const char *actor, *event;
};

#endif
