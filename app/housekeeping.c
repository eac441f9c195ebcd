/* app/housekeeping.c: see housekeeping.h. */
#include "app/housekeeping.h"

#include <string.h>

#include "storage/accounts.h"
#include "storage/documents.h"

/* Answers forgotten by one run at most, so that a run never holds the writer long. */
#define ANSWERS_PER_RUN 5000

/*
 * The authentication path keeps a session's last use in memory and writes it
 * to the row every 15 seconds at most (server/auth.c), so a row may lag the
 * real last use by that much: a session is deleted for idleness only a
 * minute after the idle limit, by which time auth has refused it anyway.
 */
#define IDLE_MARGIN_S 60

int oa_housekeeping_run(struct oa_store *s, const struct oa_housekeeping *h, int64_t now,
                        struct oa_housekeeping_done *done)
{
    memset(done, 0, sizeof(*done));
    if (oa_session_prune(s, now, now - h->session_idle_s - IDLE_MARGIN_S, &done->sessions) != 0)
        return -1;
    if (oa_idem_prune(s, now - h->idempotency_keep_s, ANSWERS_PER_RUN, &done->answers) != 0)
        return -1;
    done->more = done->answers == ANSWERS_PER_RUN;
    return 0;
}
