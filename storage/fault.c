/* storage/fault.c: see fault.h. */
#include "storage/fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "proto/log.h"
#include "storage/store.h"

static const char *const names[OA_FAULT__COUNT] = {"no_space"};
static const char *const advice[OA_FAULT__COUNT] = {
    "The data directory's disk is full: writes are refused (507 no_space) and reads go on. Free space there; "
    "oad recovers by itself with the next write that fits.",
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool raised[OA_FAULT__COUNT];
static int64_t since[OA_FAULT__COUNT];    /* guarded by lock */
static uint64_t raises[OA_FAULT__COUNT];  /* guarded by lock */

const char *oa_fault_name(enum oa_fault f)
{
    return f < OA_FAULT__COUNT ? names[f] : "?";
}

bool oa_fault_errno_full(int e)
{
    return e == ENOSPC || e == EDQUOT;
}

enum oa_err oa_fault_sqlite(sqlite3 *db, enum oa_err otherwise)
{
    int code = sqlite3_extended_errcode(db);
    if ((code & 0xff) == SQLITE_FULL ||
        ((code & 0xff) == SQLITE_IOERR && oa_fault_errno_full(sqlite3_system_errno(db)))) {
        oa_fault_raise(OA_FAULT_NO_SPACE, "database");
        return OA_E_NO_SPACE;
    }
    return otherwise;
}

void oa_fault_raise(enum oa_fault f, const char *where)
{
    if (f >= OA_FAULT__COUNT)
        return;
    pthread_mutex_lock(&lock);
    bool first = !atomic_load(&raised[f]);
    if (first) {
        since[f] = oa_now();
        raises[f] = 0;
        atomic_store(&raised[f], true);
    }
    raises[f]++;
    pthread_mutex_unlock(&lock);
    if (first)
        oa_log(OA_LOG_ERROR, "fault_raised", "fault=%s where=%s", names[f], where);
}

bool oa_fault_active(enum oa_fault f)
{
    return f < OA_FAULT__COUNT && atomic_load(&raised[f]);
}

int64_t oa_fault_since(enum oa_fault f)
{
    if (!oa_fault_active(f))
        return 0;
    pthread_mutex_lock(&lock);
    int64_t t = atomic_load(&raised[f]) ? since[f] : 0;
    pthread_mutex_unlock(&lock);
    return t;
}

const char *oa_fault_advice(enum oa_fault f)
{
    return f < OA_FAULT__COUNT ? advice[f] : "?";
}

bool oa_fault_clear(enum oa_fault f, int64_t *when, uint64_t *count)
{
    if (f >= OA_FAULT__COUNT || !atomic_load(&raised[f]))
        return false;
    pthread_mutex_lock(&lock);
    bool was = atomic_exchange(&raised[f], false);
    *when = since[f];
    *count = raises[f];
    pthread_mutex_unlock(&lock);
    if (was)
        oa_log(OA_LOG_INFO, "fault_cleared", "fault=%s since=%lld refused=%llu", names[f], (long long)*when,
               (unsigned long long)*count);
    return was;
}
