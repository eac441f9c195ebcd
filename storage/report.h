/*
 * storage/report.h: the monthly security report (the review of logs and
 * alarms every office is expected to do), built from the audit trail.
 */
#ifndef OA_STORAGE_REPORT_H
#define OA_STORAGE_REPORT_H

#include <cbor.h>

#include "storage/store.h"

/*
 * The report for month "YYYY-MM" (local time) as an item the caller owns, or
 * NULL when the month is malformed or the database fails.
 */
cbor_item_t *oa_security_report(struct oa_store *s, const char *month);

#endif
