/*
 * storage/reserve.c: the space held back for a full disk (see fault.h).
 *
 * The reserve is one file, DIR/reserve, allocated (not merely sized: a sparse
 * file would hold nothing back) while there is room.  Giving it up is an
 * unlink, safe from any thread at any time; taking it back allocates it anew,
 * and is tried only when statvfs says the filesystem has room for it, so a
 * writer that asks before every refused write costs one statvfs while the
 * disk stays full, and a write that comes after space was freed goes through.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "proto/log.h"
#include "storage/fault.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char path[4200];         /* "" until oa_reserve_at */
static uint64_t size;           /* guarded by lock */
static atomic_bool held;
static char dir[4200];          /* the data directory, for statvfs */

/*
 * Whether the filesystem has room for the reserve now, and as much again for
 * the writes that follow (without that margin a disk that is nearly full would
 * take the reserve and give it up on every other write); lock held.
 */
static bool room(void)
{
    struct statvfs v;
    if (statvfs(dir, &v) != 0)
        return true; /* cannot tell: let the allocation say */
    return (uint64_t)v.f_bavail * v.f_frsize > 2 * size;
}

/* Allocates the file; lock held.  True when it holds `size` bytes of disk. */
static bool allocate(void)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    int e = size > 0 ? posix_fallocate(fd, 0, (off_t)size) : 0;
    if (e == 0 && ftruncate(fd, (off_t)size) != 0)
        e = errno;
    if (e != 0) {
        /* A partial allocation would hold back space that is not the reserve. */
        if (ftruncate(fd, 0) != 0 || unlink(path) != 0)
            oa_log(OA_LOG_WARN, "reserve_cleanup_failed", "path=%s", path);
        close(fd);
        errno = e;
        return false;
    }
    close(fd);
    return true;
}

int oa_reserve_at(const char *data_dir, uint64_t bytes)
{
    pthread_mutex_lock(&lock);
    int n = snprintf(path, sizeof(path), "%s/reserve", data_dir);
    snprintf(dir, sizeof(dir), "%s", data_dir);
    size = bytes;
    bool ok = n > 0 && (size_t)n < sizeof(path) && allocate();
    int e = errno;
    atomic_store(&held, ok);
    pthread_mutex_unlock(&lock);
    if (!ok) {
        oa_log(OA_LOG_ERROR, "reserve_failed", "path=%s bytes=%llu error=\"%s\"", path, (unsigned long long)bytes,
               strerror(e));
        if (oa_fault_errno_full(e))
            oa_fault_raise(OA_FAULT_NO_SPACE, "reserve");
        return -1;
    }
    return 0;
}

void oa_reserve_release(void)
{
    if (!atomic_exchange(&held, false))
        return;
    pthread_mutex_lock(&lock);
    bool gone = path[0] != '\0' && (unlink(path) == 0 || errno == ENOENT);
    pthread_mutex_unlock(&lock);
    oa_log(gone ? OA_LOG_WARN : OA_LOG_ERROR, "reserve_released", "bytes=%llu ok=%d", (unsigned long long)size,
           gone);
}

bool oa_reserve_held(void)
{
    return atomic_load(&held);
}

bool oa_reserve_take(void)
{
    if (atomic_load(&held))
        return true;
    pthread_mutex_lock(&lock);
    bool ok = atomic_load(&held) || path[0] == '\0'; /* no reserve kept: nothing to wait for */
    if (!ok && room()) {
        ok = allocate();
        if (ok) {
            atomic_store(&held, true);
            oa_log(OA_LOG_INFO, "reserve_taken", "bytes=%llu", (unsigned long long)size);
        }
    }
    pthread_mutex_unlock(&lock);
    return ok;
}
