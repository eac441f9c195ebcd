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

static bool two_digits(const char *p, unsigned max, unsigned *out)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return false;
    *out = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
    return *out <= max;
}

int32_t oa_day_of_instant(const char *s, int utc_offset_minutes)
{
    char date[11];
    unsigned hh, mm, ss, oh = 0, om = 0;
    if (s == NULL || strlen(s) < 20 || strlen(s) > 40)
        return INT32_MIN;
    memcpy(date, s, 10);
    date[10] = '\0';
    int32_t day = oa_day_parse(date);
    if (day == INT32_MIN || (s[10] != 'T' && s[10] != 't') || !two_digits(s + 11, 23, &hh) || s[13] != ':' ||
        !two_digits(s + 14, 59, &mm) || s[16] != ':' || !two_digits(s + 17, 60, &ss))
        return INT32_MIN;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return INT32_MIN;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    int sign = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        sign = 0;
    } else if ((*p == '+' || *p == '-') && two_digits(p + 1, 23, &oh) && p[3] == ':' && two_digits(p + 4, 59, &om) &&
               p[6] == '\0') {
        sign = *p == '+' ? 1 : -1;
    } else {
        return INT32_MIN;
    }
    int64_t secs = (int64_t)hh * 3600 + mm * 60 + (ss > 59 ? 59 : ss) - sign * ((int64_t)oh * 3600 + om * 60) +
                   (int64_t)utc_offset_minutes * 60;
    int64_t shift = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    return (int32_t)(day + shift);
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
