/*
 * tests/integration/records_office.h: the office of records_test and
 * aip_test, against the real oad: sysadmin and secadmin logged in, organ 1
 * with department 1, and the people below with their sessions.
 */
#ifndef OA_TESTS_RECORDS_OFFICE_H
#define OA_TESTS_RECORDS_OFFICE_H

#include "tests/integration/harness.h"

struct person {
    const char *name, *roles;
    int clearance;
    char token[128];
    long long id;
};

enum { DRAFTER, SEC, MAYOR, DEPUTY, ARCHIVIST, CLERK, LOW, OFFICE_PEOPLE };

extern struct oad srv;
extern struct person people[OFFICE_PEOPLE];
extern char sys[128], secadm[128];
extern int year_now; /* the local year at start */
extern int key_counter; /* counts fresh Idempotency-Keys and sync op ids */

/* Starts oad with extra settings and sets the office up. */
void start_office(const char *const *extra);
/* start_office(NULL), as a Criterion .init. */
void setup_office(void);
/* A JSON request as `who`. */
struct resp as(int who, const char *method, const char *path, const char *json);
/* An action as `who` with a fresh Idempotency-Key; asserts the status. */
void act(int who, long long id, const char *action, const char *opinion, const char *params, int status);
/* An outgoing document taken through its lifecycle to archived; its date is `date`. */
long long archived_doc(const char *title, const char *body, int level, const char *date, const char *opinion);
/* The error code of an answer, into buf. */
const char *code_of(const struct resp *r, char *buf, size_t cap);
/* Asserts status and error code, and frees r. */
void expect_error(struct resp r, int status, const char *code);
/* Fonds Z109 for organ 1, and a schedule rule: 通知 kept D30. */
void set_fonds(void);
/* Files document id as `who` (extra: more JSON members); the record's JSON. */
json_t *file_doc(int who, long long id, const char *extra);

#endif
