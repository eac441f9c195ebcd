/*
 * app/outcome.h: how a use case ends, and so what becomes of the
 * transaction it runs in (outcome.c).  Said once, explicitly, instead of
 * by convention: a refusal that was audited keeps its audit entry (the
 * transaction commits); a refusal or failure after the use case wrote
 * something undoes everything it wrote (the transaction rolls back).
 */
#ifndef OA_APP_OUTCOME_H
#define OA_APP_OUTCOME_H

#include "proto/errors.h"

enum oa_app_end {
    OA_APP_DONE = 0, /* done: commit */
    OA_APP_REFUSED,  /* refused; nothing written but the refusal's audit entry: commit, so that entry stays */
    OA_APP_UNDONE,   /* refused or failed after writing: roll back all the use case wrote */
};

struct oa_app_outcome {
    enum oa_app_end end;
    enum oa_err err;     /* OA_E_OK when done */
    const char *message; /* a sentence for the person (static), or NULL for the code's own */
};

/* Records a refusal that keeps its audit entry; returns OA_APP_REFUSED. */
enum oa_app_end oa_app_refuse(struct oa_app_outcome *o, enum oa_err e, const char *message);
/* Records a refusal or failure that undoes what was written; returns OA_APP_UNDONE. */
enum oa_app_end oa_app_undo(struct oa_app_outcome *o, enum oa_err e, const char *message);
/*
 * What a writer job returns for this outcome (storage/writer.h): 0 to
 * commit (done, or refused with the audit entry kept), the error to roll
 * back.
 */
int oa_app_job_rc(const struct oa_app_outcome *o);

#endif
