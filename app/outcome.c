/*
 * app/outcome.c: how a use case ends (see outcome.h).
 */
#include "app/outcome.h"

enum oa_app_end oa_app_refuse(struct oa_app_outcome *o, enum oa_err e, const char *message)
{
    o->end = OA_APP_REFUSED;
    o->err = e;
    o->message = message;
    return o->end;
}

enum oa_app_end oa_app_undo(struct oa_app_outcome *o, enum oa_err e, const char *message)
{
    o->end = OA_APP_UNDONE;
    o->err = e;
    o->message = message;
    return o->end;
}

int oa_app_job_rc(const struct oa_app_outcome *o)
{
    return o->end == OA_APP_UNDONE ? (int)o->err : 0;
}
