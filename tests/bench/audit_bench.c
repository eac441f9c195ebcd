/*
 * tests/bench/audit_bench.c: what the audit trail costs and how fast it is
 * checked.
 *   1. Durable writes per second through the group-commit writer, with 64
 *      outstanding jobs, each a change record alone (unaudited) or a change
 *      record plus its audit entry (audited): the overhead ratio.
 *   2. The time of a full offline verification (what `oad audit verify`
 *      runs) over ENTRIES entries (default 1,000,000) under signed checkpoints.
 *   Usage: audit_bench DIR [ENTRIES] [SECONDS]
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/audit.h"
#include "storage/store.h"
#include "storage/writer.h"

struct job {
    struct oa_db_job job;
};

static struct oa_writer *writer;
static uint64_t deadline, done_count;
static int audited;

static int job_run(struct oa_store *s, struct oa_db_job *j)
{
    if (oa_change_record(s, "document", 1, "state") < 0)
        return 1;
    if (!audited)
        return 0;
    struct oa_audit_event ev = {.actor_id = 1, .actor = "bench", .event = "document.submit", .doc_id = 1,
                                .label = 1, .from_state = "draft", .to_state = "review", .source = "127.0.0.1:1",
                                .outcome = "ok"};
    return oa_audit(s, &ev);
}

static void job_done(struct oa_db_job *j)
{
    done_count++;
    if (uv_hrtime() < deadline)
        oa_writer_submit(writer, j);
}

static double run_writer(struct oa_store *store, uv_loop_t *loop, const unsigned char *seed, double seconds)
{
    writer = oa_writer_start(loop, store, seed);
    static struct job jobs[64];
    done_count = 0;
    uint64_t t0 = uv_hrtime();
    deadline = t0 + (uint64_t)(seconds * 1e9);
    for (int i = 0; i < 64; i++) {
        jobs[i].job.run = job_run;
        jobs[i].job.done = job_done;
        oa_writer_submit(writer, &jobs[i].job);
    }
    while (oa_writer_pending(writer) > 0)
        uv_run(loop, UV_RUN_ONCE);
    double rate = (double)done_count / ((double)(uv_hrtime() - t0) / 1e9);
    oa_writer_stop(writer);
    uv_run(loop, UV_RUN_DEFAULT);
    return rate;
}

int main(int argc, char **argv)
{
    if (argc < 2 || sodium_init() < 0) {
        fprintf(stderr, "usage: audit_bench DIR [ENTRIES] [SECONDS]\n");
        return 2;
    }
    long entries = argc > 2 ? atol(argv[2]) : 1000000;
    double seconds = argc > 3 ? atof(argv[3]) : 4;
    unsigned char seed[32];
    randombytes_buf(seed, sizeof(seed));
    char path[600], *why = NULL;
    struct oa_store store;
    uv_loop_t loop;
    uv_loop_init(&loop);

    for (int mode = 0; mode < 2; mode++) {
        snprintf(path, sizeof(path), "%s/overhead-%d.db", argv[1], mode);
        unlink(path);
        if (oa_store_open(&store, path, true, &why) != 0) {
            fprintf(stderr, "%s\n", why);
            return 1;
        }
        audited = mode;
        double rate = run_writer(&store, &loop, mode ? seed : NULL, seconds);
        static double plain;
        if (mode == 0) {
            plain = rate;
            printf("unaudited durable writes: %.0f/s\n", rate);
        } else {
            printf("audited durable writes:   %.0f/s  (audited/unaudited = %.2f)\n", rate, rate / plain);
        }
        oa_store_close(&store);
        unlink(path);
    }

    /* A million entries, then one full verification. */
    snprintf(path, sizeof(path), "%s/verify.db", argv[1]);
    unlink(path);
    if (oa_store_open(&store, path, true, &why) != 0)
        return 1;
    uint64_t t0 = uv_hrtime();
    struct oa_audit_log log;
    memset(&log, 0, sizeof(log));
    oa_audit_keypair(seed, log.pk, log.sk);
    log.signing = true;
    oa_merkle_acc_init(&log.acc);
    for (long done = 0; done < entries;) {
        oa_store_exec(&store, "BEGIN");
        for (long k = 0; k < 50000 && done < entries; k++, done++) {
            struct oa_audit_event ev = {.actor_id = 2, .actor = "zhang.san", .event = "document.approve",
                                        .doc_id = done % 5000 + 1, .label = (int)(done % 5), .from_state = "review",
                                        .to_state = "signoff", .source = "10.0.0.8:51234", .outcome = "ok",
                                        .detail = "同意"};
            oa_audit(&store, &ev);
        }
        oa_store_exec(&store, "COMMIT");
        oa_store_reset_all(&store);
        /* One signed checkpoint per 50,000 entries, as a busy server would leave many. */
        oa_audit_log_catch_up(&store, &log);
        oa_audit_log_checkpoint(&store, &log, (uint64_t)done);
    }
    double fill = (double)(uv_hrtime() - t0) / 1e9;
    char report[512];
    uint64_t n = 0, ncp = 0;
    t0 = uv_hrtime();
    int rc = oa_audit_verify(&store, log.pk, report, sizeof(report), &n, &ncp);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    printf("wrote %ld entries in %.1f s; oad audit verify: %.2f s (%s: %s)\n", entries, fill, secs,
           rc == 0 ? "intact" : "TAMPERED", report);
    oa_store_close(&store);
    unlink(path);
    uv_loop_close(&loop);
    return rc == 0 ? 0 : 1;
}
