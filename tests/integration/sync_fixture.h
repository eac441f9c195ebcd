/*
 * tests/integration/sync_fixture.h: what sync_test and sync_access_test
 * share: the office both start (oad, its base URL, a directory for the oa
 * clients' homes, the two administrators' sessions, one organ with its
 * 府办), documents drafted over HTTP, the real oa run with a home of its
 * own, and one feed page fetched.
 */
#ifndef OA_TESTS_SYNC_FIXTURE_H
#define OA_TESTS_SYNC_FIXTURE_H

#include <stddef.h>

#include "tests/integration/harness.h"

/* Starts srv and the office; tag names the clients' directory (under TEST_TMPDIR). */
void sync_office_start(struct oad *srv, const char *tag, char base[64], char tmp[256], char sys_t[128],
                       char sec_t[128]);

/* token drafts an outgoing document of level (scope: a JSON array, or NULL); its id. */
long long sync_new_doc(const struct oad *srv, const char *token, const char *title, int level, const char *scope);

/* Runs the real oa with HOME tmp/home (its own session and copy) against server (NULL: base); its exit status. */
int sync_run_oa(const char *tmp, const char *base, const char *home, const char *password, const char *server,
                const char *args, char *out, size_t n);

/* GET /v1/sync/changes?v=1&since=since&limit=limit as token (CBOR). */
struct resp sync_feed_get(const struct oad *srv, const char *token, long long since, int limit);

#endif
