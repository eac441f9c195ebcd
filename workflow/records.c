/* workflow/records.c: filing, retention and disposal rules.  See records.h. */
#include "workflow/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const retention_codes[] = {"Y", "D30", "D10"};
static const int retention_years[] = {0, 30, 10};

const char *oa_retention_code(enum oa_retention r)
{
    if (r < OA_RET_Y || r > OA_RET_D10)
        return NULL;
    return retention_codes[r];
}

enum oa_retention oa_retention_parse(const char *s)
{
    for (int i = 0; s != NULL && i < 3; i++)
        if (strcmp(s, retention_codes[i]) == 0)
            return (enum oa_retention)i;
    return OA_RET_NONE;
}

int oa_retention_years(enum oa_retention r)
{
    return r < OA_RET_Y || r > OA_RET_D10 ? 0 : retention_years[r];
}

static bool upper_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool code_of(const char *s, size_t min, size_t max, bool letters_only)
{
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (letters_only ? !(s[i] >= 'A' && s[i] <= 'Z') : !upper_alnum(s[i]))
            return false;
    return true;
}

bool oa_fonds_valid(const char *fonds)
{
    return code_of(fonds, 4, 4, false);
}

bool oa_class_code_valid(const char *code)
{
    return code != NULL && (code[0] == '\0' || code_of(code, 1, 16, false));
}

bool oa_archival_no(const char *fonds, const char *category, int year, enum oa_retention retention,
                    const char *class_code, int item, char *out, size_t cap)
{
    if (cap == 0)
        return false;
    out[0] = '\0';
    if (!oa_fonds_valid(fonds) || !code_of(category, 1, 4, true) || year < 1000 || year > 9999 ||
        oa_retention_code(retention) == NULL || !oa_class_code_valid(class_code) || item < 1 || item > 9999)
        return false;
    /* Same-level codes are joined by "·" (U+00B7), levels by "-" (DA/T 22-2015 7.2). */
    int n = class_code[0] ? snprintf(out, cap, "%s-%s\xC2\xB7%d-%s-%s-%04d", fonds, category, year,
                                     oa_retention_code(retention), class_code, item)
                          : snprintf(out, cap, "%s-%s\xC2\xB7%d-%s-%04d", fonds, category, year,
                                     oa_retention_code(retention), item);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return false;
    }
    return true;
}

enum oa_retention oa_retention_schedule_pick(const struct oa_retention_rule *rules, size_t n, const char *doc_type,
                                             const char *issuer)
{
    /* Specificity: 3 type and issuer, 2 type alone, 1 issuer alone, 0 neither. */
    int best = -1;
    enum oa_retention r = OA_RET_NONE;
    for (size_t i = 0; i < n; i++) {
        bool any_type = strcmp(rules[i].doc_type, "*") == 0, any_issuer = strcmp(rules[i].issuer, "*") == 0;
        if (!any_type && (doc_type == NULL || strcmp(rules[i].doc_type, doc_type) != 0))
            continue;
        if (!any_issuer && (issuer == NULL || strcmp(rules[i].issuer, issuer) != 0))
            continue;
        int spec = (any_type ? 0 : 2) + (any_issuer ? 0 : 1);
        if (spec > best) {
            best = spec;
            r = rules[i].retention;
        }
    }
    return r;
}

bool oa_record_due(enum oa_retention retention, int year, int this_year)
{
    int years = oa_retention_years(retention);
    if (years == 0)
        return false;
    return this_year > year + years;
}

enum oa_dispose_check oa_record_disposable(const char *state, enum oa_retention retention, int year, bool held,
                                           int this_year)
{
    if (state == NULL || strcmp(state, "filed") != 0)
        return OA_DISPOSE_NOT_FILED;
    if (retention == OA_RET_Y)
        return OA_DISPOSE_PERMANENT;
    if (!oa_record_due(retention, year, this_year))
        return OA_DISPOSE_NOT_DUE;
    if (held)
        return OA_DISPOSE_HELD;
    return OA_DISPOSE_OK;
}

const char *oa_dispose_reason(enum oa_dispose_check c)
{
    switch (c) {
    case OA_DISPOSE_OK: return NULL;
    case OA_DISPOSE_NOT_FILED: return "Only a filed record (not transferred, not disposed of) can be disposed of.";
    case OA_DISPOSE_PERMANENT: return "A permanent (Y) record is never disposed of.";
    case OA_DISPOSE_NOT_DUE: return "The record's retention period has not ended.";
    case OA_DISPOSE_HELD: return "The record is under legal hold (冻结): lift the hold first.";
    }
    return "refused";
}

/* Parses "YYYY-MM-DD" or "YYYYMMDD" into y, m, d; false when it is neither. */
static bool parse_date(const char *s, int *y, int *m, int *d)
{
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    char buf[9];
    if (n == 10 && s[4] == '-' && s[7] == '-') {
        memcpy(buf, s, 4);
        memcpy(buf + 4, s + 5, 2);
        memcpy(buf + 6, s + 8, 2);
    } else if (n == 8) {
        memcpy(buf, s, 8);
    } else {
        return false;
    }
    buf[8] = '\0';
    for (int i = 0; i < 8; i++)
        if (buf[i] < '0' || buf[i] > '9')
            return false;
    *y = (buf[0] - '0') * 1000 + (buf[1] - '0') * 100 + (buf[2] - '0') * 10 + (buf[3] - '0');
    *m = (buf[4] - '0') * 10 + (buf[5] - '0');
    *d = (buf[6] - '0') * 10 + (buf[7] - '0');
    return *m >= 1 && *m <= 12 && *d >= 1 && *d <= 31;
}

/* The period in months: "10年" (years), "6个月" or "6月" (months); empty: the level's maximum; -1 when unreadable. */
static int period_months(int level, const char *period)
{
    static const int max_years[] = {0, 0, 10, 20, 30};
    if (period == NULL || period[0] == '\0')
        return max_years[level] * 12;
    char *end = NULL;
    long v = strtol(period, &end, 10);
    if (end == period || v <= 0 || v > 100)
        return -1;
    if (strcmp(end, "年") == 0)
        return (int)v * 12;
    if (strcmp(end, "个月") == 0 || strcmp(end, "月") == 0)
        return (int)v;
    return -1;
}

bool oa_secrecy_ended(int level, const char *secrecy_period, const char *declass_date, const char *doc_date,
                      const char *today)
{
    int ty, tm, td;
    if (level < 2 || level > 4 || !parse_date(today, &ty, &tm, &td))
        return false;
    int y, m, d;
    if (declass_date != NULL && declass_date[0] != '\0') {
        if (!parse_date(declass_date, &y, &m, &d))
            return false;
    } else {
        int months = period_months(level, secrecy_period);
        if (months < 0 || !parse_date(doc_date, &y, &m, &d))
            return false;
        int total = y * 12 + (m - 1) + months;
        y = total / 12;
        m = total % 12 + 1;
    }
    return ty * 10000 + tm * 100 + td >= y * 10000 + m * 100 + d;
}
