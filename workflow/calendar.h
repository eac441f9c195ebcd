/*
 * workflow/calendar.h: working days (pure).
 *
 * Monday to Friday are working days and weekends are not, except where the
 * secretariat's calendar says otherwise: a holiday on a weekday (节假日), or a
 * make-up working day on a weekend (调休).  Days are counted as days since
 * 1970-01-01.
 */
#ifndef OA_WORKFLOW_CALENDAR_H
#define OA_WORKFLOW_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct oa_day_exception {
    int32_t day;   /* days since 1970-01-01 */
    bool workday;  /* true: a make-up working day; false: a holiday */
};

/* Days since the epoch for a "YYYY-MM-DD" date, or INT32_MIN when malformed. */
int32_t oa_day_parse(const char *s);
/*
 * The calendar day, at a fixed offset from UTC (Asia/Shanghai: +480
 * minutes), of an RFC 3339 instant ("2026-11-02T23:30:00+08:00",
 * "2026-11-02T15:30:00.5Z"); INT32_MIN when the text is not one.
 */
#define OA_SHANGHAI_OFFSET_MIN 480
int32_t oa_day_of_instant(const char *rfc3339, int utc_offset_minutes);
/* Writes "YYYY-MM-DD" (11 bytes with the NUL). */
void oa_day_format(int32_t day, char out[11]);

/* Whether `day` is a working day, given exceptions sorted by day. */
bool oa_is_workday(int32_t day, const struct oa_day_exception *ex, size_t nex);

/*
 * The n-th working day after `start` (start itself does not count).  The
 * exceptions must be sorted by day.  n >= 0; n == 0 returns start.
 */
int32_t oa_workdays_add(int32_t start, int n, const struct oa_day_exception *ex, size_t nex);

#endif
