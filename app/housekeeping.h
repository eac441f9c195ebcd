/*
 * app/housekeeping.h: what a server that runs for months must forget.
 * Sessions that ended (expired, or idle past the idle limit) and stored
 * action answers older than their keeping time (Idempotency-Key) would
 * otherwise accumulate in oa.db for ever.  The SQL is storage/'s; the
 * server runs this on a timer (server/housekeeping.c), as a bookkeeping
 * job of the writer.
 */
#ifndef OA_APP_HOUSEKEEPING_H
#define OA_APP_HOUSEKEEPING_H

#include <stdint.h>

struct oa_store;


struct oa_housekeeping {
    int64_t session_idle_s;   /* security.session_idle_seconds */
    int64_t idempotency_keep_s; /* security.idempotency_keep_seconds */
};

struct oa_housekeeping_done {
    int64_t sessions;        /* ended sessions deleted */
    int64_t answers;         /* stored action answers forgotten */
    int more;                /* answers were left for the next run (a run forgets a bounded number) */
};

/* One run at `now` (Unix seconds); 0 or -1 (storage failed). */
int oa_housekeeping_run(struct oa_store *s, const struct oa_housekeeping *h, int64_t now,
                        struct oa_housekeeping_done *done);

#endif
