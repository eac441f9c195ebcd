/*
 * tests/integration/blob_fixture.h: what blobs_test and blob_names_test
 * share (blob_fixture.c): a real oad with an office, a writer of clearance
 * 机密 and a reader of 内部, one document of level 1, and raw uploads and
 * downloads.
 */
#ifndef OA_TESTS_BLOB_FIXTURE_H
#define OA_TESTS_BLOB_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "tests/integration/harness.h"

extern struct oad srv;
extern char sys[128], secadm[128], writer[128], low[128];
extern long long doc_id; /* the document the tests attach to */

/* A person with roles and clearance, logged in with a password of their own; the session in token. */
void make_user(const char *name, const char *roles, int clearance, char *token);
/* A document of `level` drafted by the writer; its id. */
long long new_doc(int level);
/* The suites' .init and .fini. */
void blobs_setup(void);
void blobs_teardown(void);
/* Deterministic bytes: compressible text when `text`, else pseudo-random. */
void fill(unsigned char *p, size_t n, bool text, unsigned seed);
/* Sends a request with a raw body written in pieces; returns the response. */
struct resp send_raw(const char *method, const char *path, const char *token, const unsigned char *body,
                     size_t len, const char *extra);
/* Attaches body to doc as `name` (one-shot upload, 201); the attachment's id. */
long long upload(long long doc, const char *name, const unsigned char *body, size_t len);
/* GET of an attachment, with a query (rev=) and extra headers (Range) when not NULL. */
struct resp download(const char *token, long long doc, long long att, const char *query, const char *headers);

#endif
