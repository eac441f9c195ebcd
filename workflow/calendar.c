/* workflow/calendar.c: see calendar.h. */
#include "workflow/calendar.h"

#include <stdio.h>
#include <string.h>

/* Howard Hinnant's days_from_civil / civil_from_days. */
static int32_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int32_t)doe - 719468;
}

static void civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int yy = (int)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

int32_t oa_day_parse(const char *s)
{
    int y;
    unsigned m, d;
    char tail;
    if (s == NULL || strlen(s) != 10 || sscanf(s, "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3)
        return INT32_MIN;
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
        return INT32_MIN;
    int32_t day = days_from_civil(y, m, d);
    int yy;
    unsigned mm, dd;
    civil_from_days(day, &yy, &mm, &dd);
    if (yy != y || mm != m || dd != d) /* 2026-02-30 */
        return INT32_MIN;
    return day;
}

void oa_day_format(int32_t day, char out[11])
{
    int y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(out, 11, "%04d-%02u-%02u", y, m, d);
}

bool oa_is_workday(int32_t day, const struct oa_day_exception *ex, size_t nex)
{
    size_t lo = 0, hi = nex;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ex[mid].day == day)
            return ex[mid].workday;
        if (ex[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    int weekday = (int)((day % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
    return weekday != 0 && weekday != 6;
}

int32_t oa_workdays_add(int32_t start, int n, const struct oa_day_exception *ex, size_t nex)
{
    int32_t day = start;
    while (n > 0) {
        day++;
        if (oa_is_workday(day, ex, nex))
            n--;
    }
    return day;
}
