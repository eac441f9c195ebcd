/*
 * tests/bench/commit_bench.c: durable writes through the group-commit writer.
 *
 * Each job is a small realistic mutation (one change-sequence row and one
 * audit row).  With 1, 16 and 64 jobs kept outstanding it prints durable jobs
 * per second, commits per second, the average group size and the p50/p99
 * latency from submit to done, next to the ceiling of one fsync per commit on
 * the same disk (a loop of write + fdatasync).
 *   Usage: commit_bench [DIR] [SECONDS]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/store.h"
#include "storage/writer.h"

struct job {
    struct oa_db_job job;
    uint64_t t0;
};

static struct oa_writer *writer;
static uint64_t deadline, done_count, *lat;
static size_t nlat, caplat;

static int job_run(struct oa_store *s, struct oa_db_job *j)
{
    if (oa_change_record(s, "bench", 1, "write") < 0)
        return 1;
    struct oa_audit_event ev = {.event = "bench.write", .label = -1, .outcome = "ok"};
    return oa_audit(s, &ev);
}

static void job_done(struct oa_db_job *j)
{
    struct job *b = (struct job *)j;
    uint64_t now = uv_hrtime();
    if (nlat < caplat)
        lat[nlat++] = now - b->t0;
    done_count++;
    if (now < deadline) {
        b->t0 = now;
        oa_writer_submit(writer, &b->job);
    }
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double fsync_rate(const char *dir, double seconds)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/fsync-probe", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    uint64_t t0 = uv_hrtime(), n = 0;
    while (uv_hrtime() - t0 < (uint64_t)(seconds * 1e9)) {
        if (pwrite(fd, "x", 1, (off_t)(n % 4096)) != 1 || fdatasync(fd) != 0)
            break;
        n++;
    }
    close(fd);
    unlink(path);
    return (double)n / ((double)(uv_hrtime() - t0) / 1e9);
}

int main(int argc, char **argv)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", argc > 1 ? argv[1] : "/tmp/oa-commit-bench-XXXXXX");
    if (argc <= 1 && mkdtemp(dir) == NULL)
        return 1;
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    char path[600], *why = NULL;
    snprintf(path, sizeof(path), "%s/bench.db", dir);
    unlink(path);
    struct oa_store store;
    if (oa_store_open(&store, path, true, &why) != 0) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    double ceiling = fsync_rate(dir, seconds);
    printf("ceiling: one fdatasync per commit on this disk: %.0f commits/s\n\n", ceiling);
    printf("%-8s %12s %12s %10s %10s %10s %12s\n", "clients", "durable/s", "commits/s", "group", "p50 ms",
           "p99 ms", "vs ceiling");

    uv_loop_t loop;
    uv_loop_init(&loop);
    writer = oa_writer_start(&loop, &store, NULL);
    caplat = 10 * 1000 * 1000;
    lat = malloc(caplat * sizeof(*lat));
    int conc[] = {1, 16, 64};
    for (int k = 0; k < 3; k++) {
        int c = conc[k];
        struct job *jobs = calloc((size_t)c, sizeof(*jobs));
        const struct oa_writer_stats *st = oa_writer_stats(writer);
        uint64_t commits0 = atomic_load(&st->commits);
        done_count = 0;
        nlat = 0;
        uint64_t t0 = uv_hrtime();
        deadline = t0 + (uint64_t)(seconds * 1e9);
        for (int i = 0; i < c; i++) {
            jobs[i].job.run = job_run;
            jobs[i].job.done = job_done;
            jobs[i].t0 = t0;
            oa_writer_submit(writer, &jobs[i].job);
        }
        while (oa_writer_pending(writer) > 0)
            uv_run(&loop, UV_RUN_ONCE);
        double el = (double)(uv_hrtime() - t0) / 1e9;
        uint64_t commits = atomic_load(&st->commits) - commits0;
        qsort(lat, nlat, sizeof(*lat), cmp);
        double rate = (double)done_count / el;
        printf("%-8d %12.0f %12.0f %10.1f %10.2f %10.2f %11.1fx\n", c, rate, (double)commits / el,
               (double)done_count / (double)commits, (double)lat[nlat / 2] / 1e6,
               (double)lat[nlat * 99 / 100] / 1e6, rate / ceiling);
        free(jobs);
    }
    oa_writer_stop(writer);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    oa_store_close(&store);
    free(lat);
    unlink(path);
    return 0;
}
