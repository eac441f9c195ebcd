/*
 * tests/storage/store_test.c: the store, the migrations, the change
 * sequence, the audit hook and the group-commit writer, on real SQLite files.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/errors.h"
#include "storage/accounts.h"
#include "storage/fault.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "storage/writer.h"

static char dir[256], path[300];

static void setup(void)
{
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/store-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/oa.db", dir);
}

TestSuite(store, .init = setup);
TestSuite(keys, .init = setup);

Test(store, migrates_a_new_database_and_reopens_it)
{
    struct oa_store s;
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    sqlite3_stmt *st = oa_store_stmt(&s, "PRAGMA journal_mode");
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    st = oa_store_stmt(&s, "PRAGMA user_version");
    sqlite3_step(st);
    cr_assert_eq(sqlite3_column_int(st, 0), oa_schema_version());
    oa_store_close(&s);
    cr_assert_eq(oa_store_open(&s, path, false, &why), 0);
    oa_store_close(&s);
}

Test(store, refuses_a_schema_newer_than_itself)
{
    struct oa_store s;
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0);
    oa_store_exec(&s, "PRAGMA user_version = 999");
    oa_store_close(&s);
    cr_assert_eq(oa_store_open(&s, path, false, &why), -1);
    cr_assert(strstr(why, "newer"), "%s", why);
    free(why);
}

Test(store, refuses_to_create_unless_asked)
{
    struct oa_store s;
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, false, &why), -1);
    free(why);
}

Test(store, change_sequence_is_strictly_increasing)
{
    struct oa_store s;
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0);
    int64_t last = oa_change_head(&s);
    cr_assert_eq(last, 0);
    for (int i = 0; i < 100; i++) {
        int64_t seq = oa_change_record(&s, "document", i, "edit");
        cr_assert_gt(seq, last);
        last = seq;
    }
    cr_assert_eq(oa_change_head(&s), last);
    oa_store_close(&s);
}

/* The feed sends an entity at its latest change only, so only that row is
 * kept: the table grows with the entities, not with every change. */
Test(store, the_changes_table_keeps_each_entitys_latest_change_only)
{
    struct oa_store s;
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0);
    int64_t last = 0;
    for (int round = 0; round < 50; round++)
        for (int64_t doc = 1; doc <= 4; doc++)
            last = oa_change_record(&s, doc == 4 ? "user" : "document", doc, "edit");
    sqlite3_stmt *q = oa_store_stmt(&s, "SELECT count(*), max(seq) FROM changes");
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(q, 0), 4, "%d rows for 4 entities after 200 changes", sqlite3_column_int(q, 0));
    cr_assert_eq(sqlite3_column_int64(q, 1), last);
    sqlite3_reset(q);
    cr_assert_eq(oa_change_head(&s), last, "the head is still the last change");
    oa_store_close(&s);
}

Test(store, the_audit_trail_refuses_update_and_delete)
{
    struct oa_store s;
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0);
    struct oa_audit_event ev = {.event = "test", .label = -1, .outcome = "ok", .detail = "one"};
    cr_assert_eq(oa_audit(&s, &ev), 0);
    cr_assert_neq(sqlite3_exec(s.db, "UPDATE audit_log SET detail = 'two'", NULL, NULL, NULL), SQLITE_OK);
    cr_assert_neq(sqlite3_exec(s.db, "DELETE FROM audit_log", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *st = oa_store_stmt(&s, "SELECT detail FROM audit_log");
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "one");
    oa_store_close(&s);
}

Test(store, users_and_sessions)
{
    struct oa_store s;
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0);
    struct oa_user u = {0};
    snprintf(u.username, sizeof(u.username), "li.si");
    snprintf(u.display_name, sizeof(u.display_name), "李四");
    snprintf(u.pw_hash, sizeof(u.pw_hash), "$argon2id$fake");
    u.roles = 1;
    cr_assert_eq(oa_user_insert(&s, &u), 1);
    cr_assert_eq(oa_user_insert(&s, &u), 0, "duplicate username accepted");
    struct oa_user got;
    cr_assert_eq(oa_user_by_name(&s, "li.si", &got), 1);
    cr_assert_str_eq(got.display_name, "李四");
    got.clearance = 3;
    cr_assert_eq(oa_user_update(&s, &got), 0);
    cr_assert_eq(oa_user_by_id(&s, got.id, &got), 1);
    cr_assert_eq(got.clearance, 3);
    cr_assert_eq(got.version, 2);
    unsigned char h1[32] = {1}, h2[32] = {2};
    int64_t s1 = oa_session_insert(&s, h1, got.id, oa_now() + 60, "127.0.0.1");
    int64_t s2 = oa_session_insert(&s, h2, got.id, oa_now() + 60, "127.0.0.1");
    cr_assert(s1 > 0 && s2 > 0);
    struct oa_session ses;
    cr_assert_eq(oa_session_by_hash(&s, h2, &ses), 1);
    cr_assert_eq(ses.id, s2);
    cr_assert_eq(oa_session_delete_user(&s, got.id, s2), 1);
    cr_assert_eq(oa_session_by_hash(&s, h1, &ses), 0);
    cr_assert_eq(oa_session_by_hash(&s, h2, &ses), 1);
    oa_store_close(&s);
}

/* ---- the writer ---- */

struct counter_job {
    struct oa_db_job job;
    int fail;
    int64_t seq;
    int *done_count;
};

static int counter_run(struct oa_store *s, struct oa_db_job *job)
{
    struct counter_job *c = (struct counter_job *)job;
    c->seq = oa_change_record(s, "test", (int64_t)(uintptr_t)c, "tick"); /* one entity per job */
    return c->fail ? OA_E_CONFLICT : 0;
}

static void counter_done(struct oa_db_job *job)
{
    struct counter_job *c = (struct counter_job *)job;
    (*c->done_count)++;
}

Test(store, the_writer_groups_commits_and_rolls_back_only_the_failing_job)
{
    struct oa_store s;
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct oa_writer *w = oa_writer_start(&loop, &s, NULL);
    cr_assert_not_null(w);
    enum { N = 1000 };
    static struct counter_job jobs[N];
    int done = 0;
    for (int i = 0; i < N; i++) {
        jobs[i].job.run = counter_run;
        jobs[i].job.done = counter_done;
        jobs[i].fail = (i % 10) == 3;
        jobs[i].done_count = &done;
        oa_writer_submit(w, &jobs[i].job);
    }
    while (done < N)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert_eq(oa_writer_pending(w), 0);
    const struct oa_writer_stats *st = oa_writer_stats(w);
    cr_assert_eq(atomic_load(&st->jobs), N);
    cr_assert_lt(atomic_load(&st->commits), N, "no grouping happened");
    oa_writer_stop(w);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
    for (int i = 0; i < N; i++)
        cr_assert_eq(jobs[i].job.rc, jobs[i].fail ? OA_E_CONFLICT : 0);
    /* Only the successful jobs' changes exist. */
    sqlite3_stmt *q = oa_store_stmt(&s, "SELECT count(*) FROM changes");
    sqlite3_step(q);
    cr_assert_eq(sqlite3_column_int(q, 0), N - N / 10);
    oa_store_close(&s);
}

/*
 * A full database (max_page_count stands in for a full disk): the job that
 * does not fit fails with no_space, jobs that only read still answer, a job
 * answers success only if its change was committed, and the writer commits
 * again once there is room.
 */
struct mixed_job {
    struct oa_db_job job;
    int kind; /* 0 read, 1 small write, 2 large write, 3 bookkeeping write */
    int64_t seen;
    int *done_count;
};

static int mixed_run(struct oa_store *s, struct oa_db_job *job)
{
    struct mixed_job *m = (struct mixed_job *)job;
    if (m->kind == 0) {
        /* Counts through the table itself, not an index of it. */
        sqlite3_stmt *q = oa_store_stmt(s, "SELECT count(*) FROM changes NOT INDEXED WHERE kind IS NOT NULL");
        if (q == NULL || sqlite3_step(q) != SQLITE_ROW)
            return OA_E_STORAGE;
        m->seen = sqlite3_column_int64(q, 0);
        return 0;
    }
    if (m->kind == 2)
        return oa_store_exec(s, "INSERT INTO meta(key, value) VALUES ('big', zeroblob(4000000))") == 0 ? 0
                                                                                                    : OA_E_STORAGE;
    if (m->kind == 3) {
        (void)oa_store_exec(s, "INSERT OR REPLACE INTO meta(key, value) VALUES ('touched', 1)");
        return 0;
    }
    static int64_t entity;
    return oa_change_record(s, "test", ++entity, "tick") > 0 ? 0 : OA_E_STORAGE;
}

static void mixed_done(struct oa_db_job *job)
{
    (*((struct mixed_job *)job)->done_count)++;
}

static void run_jobs(uv_loop_t *loop, struct oa_writer *w, struct mixed_job *jobs, int n, const int *kinds)
{
    int done = 0;
    for (int i = 0; i < n; i++) {
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].kind = kinds[i];
        jobs[i].job.run = mixed_run;
        jobs[i].job.done = mixed_done;
        jobs[i].job.flags = kinds[i] == 3 ? OA_JOB_BOOKKEEPING : 0;
        jobs[i].done_count = &done;
        oa_writer_submit(w, &jobs[i].job);
    }
    while (done < n)
        uv_run(loop, UV_RUN_ONCE);
}

static int64_t count_changes(struct oa_store *s)
{
    sqlite3_stmt *q = oa_store_stmt(s, "SELECT count(*) FROM changes");
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return n;
}

Test(store, a_full_database_refuses_writes_and_still_answers_reads)
{
    struct oa_store s;
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0);
    cr_assert_eq(oa_store_exec(&s, "PRAGMA max_page_count = 200"), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct oa_writer *w = oa_writer_start(&loop, &s, NULL);
    cr_assert_not_null(w);

    /* One group: read, bookkeeping, write, a write that does not fit, read. */
    struct mixed_job jobs[5];
    run_jobs(&loop, w, jobs, 5, (const int[]){0, 3, 1, 2, 0});
    cr_assert_eq(jobs[0].job.rc, 0, "a read before the failure: %d", jobs[0].job.rc);
    cr_assert_eq(jobs[1].job.rc, 0, "bookkeeping answers: %d", jobs[1].job.rc);
    cr_assert_eq(jobs[3].job.rc, OA_E_NO_SPACE, "the large write: %d", jobs[3].job.rc);
    cr_assert_eq(jobs[4].job.rc, 0, "a read after the failure: %d", jobs[4].job.rc);
    cr_assert(oa_fault_active(OA_FAULT_NO_SPACE));
    int64_t committed = count_changes(&s);
    cr_assert(jobs[2].job.rc == 0 || jobs[2].job.rc == OA_E_NO_SPACE, "%d", jobs[2].job.rc);
    cr_assert_eq(committed, jobs[2].job.rc == 0 ? 1 : 0, "an answered write is committed, a refused one is not");
    cr_assert_eq(jobs[4].seen, committed, "the read after saw only what was committed");

    /* While full: a write that does not fit fails alone; the others commit, and clear the fault. */
    run_jobs(&loop, w, jobs, 4, (const int[]){2, 0, 1, 0});
    cr_assert_eq(jobs[0].job.rc, OA_E_NO_SPACE);
    cr_assert_eq(jobs[1].job.rc, 0);
    cr_assert_eq(jobs[2].job.rc, 0);
    cr_assert_eq(jobs[3].job.rc, 0);
    cr_assert_eq(jobs[3].seen, committed + 1);
    cr_assert_not(oa_fault_active(OA_FAULT_NO_SPACE));

    oa_writer_stop(w);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
    cr_assert_eq(count_changes(&s), committed + 1);
    oa_store_close(&s);
}

/* Overwrites page `page` (1-based) of the database file at path with a repeated byte. */
static void smash_page(const char *file, int64_t page, int page_size)
{
    FILE *f = fopen(file, "r+b");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, (long)((page - 1) * page_size), SEEK_SET), 0);
    for (int i = 0; i < page_size; i++)
        fputc(0x55, f);
    fclose(f);
}

/*
 * A database with one damaged page of a table (a real file, closed, one page
 * overwritten): the checks call it damaged, and a job that reads the damage
 * fails with storage_corrupt -- permanent, not "try again" -- and raises the
 * fault.
 */
Test(store, a_damaged_page_is_storage_corrupt_and_the_checks_find_it)
{
    struct oa_store s;
    char *why = NULL, report[2000];
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0);
    cr_assert_eq(oa_store_exec(&s, "BEGIN"), 0);
    for (int i = 0; i < 3000; i++)
        cr_assert(oa_change_record(&s, "filler", i, "a change with some words in it") > 0);
    cr_assert_eq(oa_store_exec(&s, "COMMIT"), 0);
    cr_assert_eq(oa_store_check(&s, true, report, sizeof(report)), 0, "%s", report);
    sqlite3_stmt *q = oa_store_stmt(&s, "SELECT rootpage FROM sqlite_schema WHERE name = 'changes'");
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    int64_t root = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    q = oa_store_stmt(&s, "PRAGMA page_size");
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    int page_size = sqlite3_column_int(q, 0);
    sqlite3_reset(q);
    oa_store_close(&s);
    smash_page(path, root, page_size);

    cr_assert_eq(oa_store_open(&s, path, false, &why), 0, "%s", why);
    cr_assert_eq(oa_store_check(&s, false, report, sizeof(report)), 1, "quick_check: %s", report);
    cr_assert_eq(oa_store_check(&s, true, report, sizeof(report)), 1, "integrity_check: %s", report);
    cr_assert_not(oa_fault_active(OA_FAULT_CORRUPT));

    uv_loop_t loop;
    uv_loop_init(&loop);
    struct oa_writer *w = oa_writer_start(&loop, &s, NULL);
    struct mixed_job jobs[2];
    run_jobs(&loop, w, jobs, 2, (const int[]){0, 1});
    cr_assert_eq(jobs[0].job.rc, OA_E_STORAGE_CORRUPT, "a read of the damage: %d", jobs[0].job.rc);
    cr_assert_eq(jobs[1].job.rc, OA_E_STORAGE_CORRUPT, "a write into the damage: %d", jobs[1].job.rc);
    cr_assert(oa_fault_active(OA_FAULT_CORRUPT));
    cr_assert_eq(oa_err_status(OA_E_STORAGE_CORRUPT), 500);
    cr_assert(strstr(oa_err_message(OA_E_STORAGE_CORRUPT), "restore the database from backup") != NULL);
    cr_assert(strstr(oa_err_message(OA_E_STORAGE_CORRUPT), "try again") == NULL ||
              strstr(oa_err_message(OA_E_STORAGE_CORRUPT), "will not pass by trying again") != NULL);
    oa_writer_stop(w);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
    oa_store_close(&s);
}

Test(keys, created_private_and_loaded)
{
    char kpath[400];
    snprintf(kpath, sizeof(kpath), "%s/keys", dir);
    char cause[256];
    cr_assert_eq(oa_keys_create(kpath, cause, sizeof(cause)), 0, "%s", cause);
    struct stat st;
    cr_assert_eq(stat(kpath, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(oa_keys_create(kpath, cause, sizeof(cause)), -1, "overwrote a key file");
    struct oa_keys k;
    cr_assert_eq(oa_keys_load(kpath, &k, cause, sizeof(cause)), 0, "%s", cause);
    for (int l = 0; l < OA_KEY_LEVELS; l++)
        cr_assert_eq(k.kek_version[l], 1);
    cr_assert(memcmp(k.kek[0][1], k.kek[1][1], OA_KEY_LEN) != 0, "levels share a key");
    /* A key file others can read is refused, and the message holds no key. */
    chmod(kpath, 0644);
    cr_assert_eq(oa_keys_load(kpath, &k, cause, sizeof(cause)), -1);
    cr_assert(strstr(cause, "chmod 600"), "%s", cause);
    chmod(kpath, 0600);
    FILE *f = fopen(kpath, "a");
    fputs("kek 9 1 zz\n", f);
    fclose(f);
    cr_assert_eq(oa_keys_load(kpath, &k, cause, sizeof(cause)), -1);
    cr_assert(strstr(cause, "damaged"), "a line after the check line: %s", cause);
    /* A file from before check lines: a malformed line is named. */
    f = fopen(kpath, "w");
    fputs("oa-keys 1\nkek 0 1 zz\n", f);
    fclose(f);
    cr_assert_eq(oa_keys_load(kpath, &k, cause, sizeof(cause)), -1);
    cr_assert(strstr(cause, "line 2"), "%s", cause);
}

/* #13 item 1: more distinct statements than the cache has slots are served
 * (the least recently used idle one is finalized), and a statement that is
 * being stepped is never the one evicted. */
Test(store, the_statement_cache_evicts_but_never_a_statement_in_use)
{
    struct oa_store s;
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    enum { N = 3 * OA_STMT_CACHE };
    static char sql[N][64]; /* distinct addresses: the cache is keyed by them */
    for (int i = 0; i < N; i++)
        snprintf(sql[i], sizeof(sql[i]), "SELECT %d UNION ALL SELECT %d", i, i + 1);

    /* Hold one statement at its first row while every other is asked for. */
    sqlite3_stmt *held = oa_store_stmt(&s, sql[0]);
    cr_assert_not_null(held);
    cr_assert_eq(sqlite3_step(held), SQLITE_ROW);
    for (int round = 0; round < 2; round++)
        for (int i = 1; i < N; i++) {
            sqlite3_stmt *st = oa_store_stmt(&s, sql[i]);
            cr_assert_not_null(st, "statement %d", i);
            cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
            cr_assert_eq(sqlite3_column_int(st, 0), i);
            sqlite3_reset(st);
        }
    cr_assert_gt(s.evictions, 0);
    /* The held statement is still the same object, at its second row next. */
    cr_assert_eq(sqlite3_step(held), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(held, 0), 1);
    sqlite3_reset(held);
    oa_store_close(&s);
}
