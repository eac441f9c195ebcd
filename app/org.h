/*
 * app/org.h: organs (机关) and their departments, the use cases.  Who may
 * change the structure is workflow/access.c's decision (OA_ACT_ORG_MANAGE:
 * sysadmin); the SQL is storage's.  Each returns 0 when it ran (o says
 * whether it was done or refused; a refusal keeps its audit entry) or an
 * enum oa_err when storage failed; *out is the answer's map when done.
 */
#ifndef OA_APP_ORG_H
#define OA_APP_ORG_H

#include <stdint.h>

#include "app/audit.h"
#include "app/outcome.h"
#include "proto/value.h"
#include "workflow/access.h"

/* {"organs": [{id, code, name, departments: [{id, code, name}]}]} */
int oa_app_org_list(struct oa_store *s, cbor_item_t **out);
/* A new organ (organ_id 0) or a department of organ_id, with a code unique in its scope. */
int oa_app_org_create(struct oa_store *s, const struct oa_app_actor *by, const struct oa_subject *who,
                      int64_t organ_id, const char *code, const char *name, struct oa_app_outcome *o,
                      cbor_item_t **out);

#endif
