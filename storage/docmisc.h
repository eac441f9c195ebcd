/*
 * storage/docmisc.h: the SQL of what documents need around them
 * (app/docmisc.c decides): delegations (代理), the working-day calendar
 * and chases (催办).
 */
#ifndef OA_STORAGE_DOCMISC_H
#define OA_STORAGE_DOCMISC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

/* A new delegation from -> to for the days given (YYYY-MM-DD); its id, or -1. */
int64_t oa_delegation_insert(struct oa_store *s, int64_t from, int64_t to, const char *starts_on, const char *ends_on);
/* Ends delegation id given by from: 1 ended, 0 none active of from's with that id, -1 error. */
int oa_delegation_revoke(struct oa_store *s, int64_t id, int64_t from);

struct oa_delegation_row {
    int64_t id;
    const char *from, *to, *starts_on, *ends_on; /* usernames, days */
    bool revoked;
};
/* Calls fn for each delegation user gave or holds, in id order (at most 1,000); 0 or -1. */
int oa_delegation_each(struct oa_store *s, int64_t user, void (*fn)(void *arg, const struct oa_delegation_row *row),
                       void *arg);

/* Calls fn for each calendar exception (day number, workday, note), in day order (at most 10,000); 0 or -1. */
int oa_calendar_each(struct oa_store *s, void (*fn)(void *arg, int32_t day, bool workday, const char *note), void *arg);
/* Sets a day's exception (workday or holiday, with a note); 0 or -1. */
int oa_calendar_set(struct oa_store *s, int32_t day, bool workday, const char *note);
/* Clears a day's exception; 0 or -1. */
int oa_calendar_clear(struct oa_store *s, int32_t day);

#define OA_CHASES_MAX 200
struct oa_chase_row {
    int64_t id, doc, at;
    char title[256], by[72], note[512];
};
/* The newest chases addressed to user, newest first, into rows[OA_CHASES_MAX]; their number, or -1. */
int oa_chases_for(struct oa_store *s, int64_t user, struct oa_chase_row *rows);

#endif
