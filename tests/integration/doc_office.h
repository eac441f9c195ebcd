/*
 * tests/integration/doc_office.h: the office documents_test and
 * doc_labels_test run in: a real oad with a city government's organ, five
 * departments and thirteen people (their roles, clearances and sessions),
 * and the helpers both files act through (doc_office.c).
 */
#ifndef OA_TESTS_DOC_OFFICE_H
#define OA_TESTS_DOC_OFFICE_H

#include <stdbool.h>

#include "tests/integration/harness.h"

extern struct oad srv;

struct person {
    const char *name, *roles;
    int dept;      /* index into depts, -1 for none */
    int clearance;
    char token[128];
    long long id;
};

extern const char *const depts[];
extern struct person people[];
enum { DRAFTER, SEC, MAYOR, DEPUTY, FIN, EDU, HEALTH, EDU_STAFF, HEALTH_STAFF, ARCHIVIST, LOW, EDU_CLERK, HEALTH_CLERK };

extern char sys[128], secadm[128];

/* The office, set up fresh for each test (the suites' .init). */
void setup_office(void);
/* A document of `kind` drafted by people[who] at `level`; its id. */
long long create_doc(int who, const char *kind, const char *title, int level);
/* people[who] takes `action` (on behalf of `on_behalf` when not NULL), with a fresh idempotency key. */
struct resp act_as(int who, const char *on_behalf, long long id, const char *action, const char *opinion,
                   const char *params);
struct resp act(int who, long long id, const char *action, const char *opinion, const char *params);
const char *state_of(json_t *j);
/* The action succeeds and leaves the document in `state`. */
void expect_state(int who, long long id, const char *action, const char *opinion, const char *params,
                  const char *state);
/* The action is refused with status and code, and changes nothing. */
void expect_refusal(int who, long long id, const char *action, const char *opinion, const char *params, int status,
                    const char *code);
/* The document as people[who] reads it (NULL unless status is 200). */
json_t *get_doc(int who, long long id, int status);
/* Whether the list /v1/documents?query shows document id to people[who]. */
bool list_has(int who, const char *query, long long id);
/* A count from oa.db, read with SQLite directly. */
int db_count(const char *sql);

#endif
