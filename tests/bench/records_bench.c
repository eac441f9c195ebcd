/*
 * tests/bench/records_bench.c: filing records (#16) on a real SQLite file
 * with synchronous=FULL, as the writer does it: each filing takes its 件号
 * (counter upsert), formats its 档号 and inserts its record, `group` filings
 * per transaction (1: one fsync per filing; 64: the group commit's batch).
 * Next to it, in the same run and on the same file, the ceiling: the same
 * number of transactions each inserting one bare row (the commit's floor).
 *   records_bench DIR [N=10000]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/documents.h"
#include "storage/records.h"
#include "storage/store.h"
#include "workflow/records.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int file_range(struct oa_store *s, int64_t first, int n, int group)
{
    for (int i = 0; i < n; i += group) {
        if (oa_store_exec(s, "BEGIN IMMEDIATE") != 0)
            return -1;
        for (int k = i; k < i + group && k < n; k++) {
            struct oa_record_row r = {0};
            r.doc_id = first + k;
            r.organ_id = 1;
            snprintf(r.fonds, sizeof(r.fonds), "Z109");
            snprintf(r.category, sizeof(r.category), "WS");
            r.year = 2026;
            snprintf(r.retention, sizeof(r.retention), "%s", k % 3 == 0 ? "Y" : k % 3 == 1 ? "D30" : "D10");
            snprintf(r.class_code, sizeof(r.class_code), "%s", k % 2 ? "BGS" : "CZ");
            snprintf(r.title, sizeof(r.title), "关于第%d项工作的通知", k);
            snprintf(r.responsible, sizeof(r.responsible), "某市人民政府");
            snprintf(r.doc_date, sizeof(r.doc_date), "20260301");
            r.pages = 3;
            r.filed_at = 1;
            r.filed_by = 1;
            if (oa_rec_next_item(s, r.fonds, r.category, r.year, r.retention, r.class_code, &r.item_no) != 0 ||
                !oa_archival_no(r.fonds, r.category, r.year, oa_retention_parse(r.retention), r.class_code,
                                r.item_no, r.archival_no, sizeof(r.archival_no)) ||
                oa_rec_insert(s, &r) != 0)
                return -1;
        }
        if (oa_store_exec(s, "COMMIT") != 0)
            return -1;
    }
    return 0;
}

static int bare_range(struct oa_store *s, int n, int group)
{
    for (int i = 0; i < n; i += group) {
        if (oa_store_exec(s, "BEGIN IMMEDIATE") != 0)
            return -1;
        for (int k = i; k < i + group && k < n; k++) {
            sqlite3_stmt *st = oa_store_stmt(s, "INSERT INTO bench_floor(v) VALUES (?)");
            sqlite3_bind_int(st, 1, k);
            if (sqlite3_step(st) != SQLITE_DONE)
                return -1;
            sqlite3_reset(st);
        }
        if (oa_store_exec(s, "COMMIT") != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: records_bench DIR [N]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 10000;
    if (n < 64)
        n = 64;
    char path[512];
    snprintf(path, sizeof(path), "%s/oa.db", argv[1]);
    struct oa_store s;
    char *why = NULL;
    if (oa_store_open(&s, path, true, &why) != 0) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    if (oa_store_exec(&s, "INSERT INTO users(id, username, display_name, roles, pw_hash, created_at, updated_at)"
                          " VALUES (1, 'archivist', 'archivist', 16, 'x', 0, 0);"
                          "INSERT INTO organs(id, code, name, fonds) VALUES (1, '某府', '某市人民政府', 'Z109');"
                          "CREATE TABLE bench_floor(v INTEGER)") != 0)
        return 1;
    /* 2n documents: one range filed one per transaction, one 64 per transaction. */
    oa_store_exec(&s, "BEGIN");
    for (int i = 0; i < 2 * n; i++) {
        struct oa_doc d = {0};
        snprintf(d.kind, sizeof(d.kind), "outgoing");
        d.def_version = 1;
        snprintf(d.state, sizeof(d.state), "archived");
        snprintf(d.title, sizeof(d.title), "关于第%d项工作的通知", i);
        snprintf(d.urgency, sizeof(d.urgency), "ordinary");
        d.organ_id = 1;
        d.body = strdup("正文");
        d.drafter_id = 1;
        if (oa_doc_insert(&s, &d, 1) != 0)
            return 1;
        oa_doc_free(&d);
    }
    oa_store_exec(&s, "COMMIT");
    int groups[2] = {1, 64};
    printf("filing %d records per run, synchronous=FULL, WAL, %s\n", n, argv[1]);
    for (int g = 0; g < 2; g++) {
        double t0 = now_s();
        if (file_range(&s, 1 + (int64_t)g * n, n, groups[g]) != 0) {
            fprintf(stderr, "filing failed: %s\n", oa_store_errmsg(&s));
            return 1;
        }
        double t1 = now_s();
        if (bare_range(&s, n, groups[g]) != 0) {
            fprintf(stderr, "bare insert failed: %s\n", oa_store_errmsg(&s));
            return 1;
        }
        double t2 = now_s();
        double filed = n / (t1 - t0), bare = n / (t2 - t1);
        printf("  %2d per transaction: filing %8.0f records/s   ceiling (one bare row) %8.0f rows/s   = %3.0f%%\n",
               groups[g], filed, bare, 100.0 * filed / bare);
    }
    oa_store_close(&s);
    return 0;
}
