/*
 * workflow/records.h: the rules of filing (归档, DA/T 22-2015) and of
 * retention and disposal (鉴定与处置), pure: the archival number (档号),
 * retention periods and the retention schedule's choice, when a record is
 * due for appraisal, whether it may be disposed of, and whether its
 * secrecy period has ended.  No I/O; storage/records.c keeps the rows and
 * app/records.c applies these rules.
 */
#ifndef OA_WORKFLOW_RECORDS_H
#define OA_WORKFLOW_RECORDS_H

#include <stdbool.h>
#include <stddef.h>

/* The most records one transfer batch (移交) holds. */
#define OA_TRANSFER_MAX 10000

/* 保管期限: permanent, 30 years, 10 years. */
enum oa_retention {
    OA_RET_NONE = -1,
    OA_RET_Y = 0,   /* 永久 */
    OA_RET_D30 = 1, /* 定期30年 */
    OA_RET_D10 = 2, /* 定期10年 */
};

/* "Y", "D30", "D10"; NULL when out of range. */
const char *oa_retention_code(enum oa_retention r);
/* The retention named by s ("Y", "D30", "D10"), or OA_RET_NONE. */
enum oa_retention oa_retention_parse(const char *s);
/* Years kept: 0 for permanent. */
int oa_retention_years(enum oa_retention r);

/* The category code (门类代码) of official documents (文书). */
#define OA_RECORD_CATEGORY "WS"

/*
 * A fonds code (全宗号): 4 characters, an upper-case letter or digit each
 * (e.g. "Z109").  A class code (机构(问题)代码): 1-16 upper-case letters or
 * digits, or empty (the segment is then left out).
 */
bool oa_fonds_valid(const char *fonds);
bool oa_class_code_valid(const char *code);

/*
 * Writes the archival number 全宗号-门类代码·年度-保管期限-机构(问题)代码-件号
 * (e.g. "Z109-WS·2026-Y-BGS-0001"; without the class segment when `class_code`
 * is empty) into out.  Returns false, with out set to "", when a part is
 * invalid (fonds, category of 1-4 upper-case letters, year 1000-9999,
 * retention, class code, item 1-9999) or the number does not fit in cap.
 */
bool oa_archival_no(const char *fonds, const char *category, int year, enum oa_retention retention,
                    const char *class_code, int item, char *out, size_t cap);

/*
 * One row of an organ's retention schedule (保管期限表): documents of type
 * doc_type (通知, 请示, ...) from issuer (an organ or department code); "*"
 * stands for any.
 */
struct oa_retention_rule {
    const char *doc_type;
    const char *issuer;
    enum oa_retention retention;
};

/*
 * The schedule's retention for (doc_type, issuer): the most specific rule
 * wins (type and issuer, then type with any issuer, then any type from the
 * issuer, then "*"/"*"); OA_RET_NONE when no rule matches.
 */
enum oa_retention oa_retention_schedule_pick(const struct oa_retention_rule *rules, size_t n, const char *doc_type,
                                             const char *issuer);

/*
 * Whether a record of `year` (its 年度) kept for `retention` is past its
 * retention in `this_year`: the period runs from 1 January of the year after
 * its 年度, so a D10 record of 2016 is due from 2027.  A permanent record is
 * never due.
 */
bool oa_record_due(enum oa_retention retention, int year, int this_year);

/* Why a record may not be disposed of; OA_DISPOSE_OK when it may. */
enum oa_dispose_check {
    OA_DISPOSE_OK = 0,
    OA_DISPOSE_NOT_FILED, /* transferred or disposed already */
    OA_DISPOSE_PERMANENT, /* 永久: never */
    OA_DISPOSE_NOT_DUE,   /* its retention has not ended */
    OA_DISPOSE_HELD,      /* under legal hold (冻结) */
};
/* The checks in that order, for a record in `state` ("filed", ...). */
enum oa_dispose_check oa_record_disposable(const char *state, enum oa_retention retention, int year, bool held,
                                           int this_year);
/* A sentence for the person; NULL for OA_DISPOSE_OK. */
const char *oa_dispose_reason(enum oa_dispose_check c);

/*
 * Whether a classified document's secrecy period has ended by `today`
 * (YYYY-MM-DD): its declassification date (YYYY-MM-DD) when set, else the
 * period ("10年", "6个月"; empty means the level's maximum: 秘密 10 years,
 * 机密 20, 绝密 30) counted from its date (YYYY-MM-DD or YYYYMMDD).  Levels
 * below 秘密 have no secrecy period (false), and so has a document without
 * a date.
 */
bool oa_secrecy_ended(int level, const char *secrecy_period, const char *declass_date, const char *doc_date,
                      const char *today);

#endif
