/*
 * cmd/console.h: the commands of oad that act on a data directory at the
 * server's console rather than over the API (oad admin ...).  Whoever runs
 * them has the machine and the data directory, which the API never grants:
 * they are the way back in for an administrator who lost their password.
 */
#ifndef OA_CMD_CONSOLE_H
#define OA_CMD_CONSOLE_H

#include <stdbool.h>

#include "server/config.h"
#include "storage/store.h"

/*
 * Reads (write false) or writes the Argon2id parameters that `oad init`
 * calibrated into cfg, from or to the database's meta table.  0 or -1.
 */
int oa_console_argon2(struct oa_store *s, struct oa_config *cfg, bool write);

/*
 * oad admin reset-password USER: gives the account a new one-time password,
 * printed on stdout, ends its sessions, lifts a lockout and records
 * `console.password_reset` in the audit trail.  A non-administrator account
 * is held (no document access) until secadmin confirms its clearance, as
 * after a reset by sysadmin.  Works on a stopped or a running server (a
 * running one honours the change within its session cache's 10 seconds).
 * Returns the process exit status: 0, 1 (failure) or 2 (no such account).
 */
int oa_console_reset_password(struct oa_config *cfg, const char *username);

/*
 * oad report security --month YYYY-MM: prints the month's security report
 * (storage/report.h) for a person.  Returns the exit status: 0, or 2 when
 * the month is not YYYY-MM.
 */
int oa_console_report(struct oa_store *store, const char *month);

#endif
