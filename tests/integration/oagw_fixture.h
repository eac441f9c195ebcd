/*
 * tests/integration/oagw_fixture.h: the fixture of the oagw tests
 * (oagw_test.c, oagw_crash_test.c): a real oad with an office (clerk:
 * secretariat, handler: staff, mayor: leader, gw: the gateway), oagw's
 * inbox, outbox, state and ClamAV directories under `dir`, its keys
 * (portal.key signs what comes in, oagw.key what goes out) and its
 * configuration `conf`.  Bundles come from tests/clients/gwgen.py.
 */
#ifndef OA_TESTS_OAGW_FIXTURE_H
#define OA_TESTS_OAGW_FIXTURE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "tests/integration/harness.h"

extern struct oad o;
extern char dir[300], conf[400], clerk[256], handler[256], mayor[256], oagw_pub[64];
/* The output of the last run_once. */
extern char last_run[8192];

/* The suite's init and fini. */
void oagw_setup(void);
void oagw_teardown(void);
/* Writes oagw's configuration again, for oad where it listens now (after oad_serve). */
void write_conf(void);

const char *oagw_bin(void);
const char *gwgen(void);
/* Runs a shell command that must succeed. */
void sh(const char *cmd);
/* A good public_request bundle with this seq into the inbox (written aside, then renamed). */
void deliver(const char *name, int seq);
/* `oagw run --once`, which must succeed. */
void run_once(void);
/* state/status.json (caller frees), and one of its integers (-1 when absent). */
json_t *status(void);
long long status_int(const char *key);
/* Files in dir/sub ending in suffix (not hidden); with suffix NULL, all but the .reason files. */
int count_files(const char *sub, const char *suffix);
/* Imported public requests the secretariat sees. */
int requests(void);
/* `oagw run` in the background, its output appended to dir/oagw.log. */
pid_t start_daemon(void);
bool alive(pid_t pid);
/* Polls cond every 50 ms for up to ms; its last answer. */
bool wait_for(bool (*cond)(void), int ms);
/* A lifecycle action that must succeed. */
void act(const char *token, long long id, const char *action, const char *opinion, const char *params);
/* The id of the first request in the secretariat's list. */
long long the_request(void);
/* Opens outbox/FILE as the portal would (trusting oagw's key only) into `to`; its manifest (caller frees). */
json_t *unpack(const char *file, const char *to);
/* The last lines of oagw's log (a static buffer), for failure messages. */
const char *oagw_log_tail(void);

#endif
