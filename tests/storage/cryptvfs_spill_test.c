/*
 * tests/storage/cryptvfs_spill_test.c: the encrypting VFS when a
 * transaction outgrows the page cache.  SQLite then spills dirty pages to
 * the WAL before the commit (uncommitted frames), reads them back, writes
 * the same page again over its own frame and rewrites the frames'
 * checksums at the commit; a savepoint rolled back forgets frames that the
 * next writes reuse.  Found by the soak test with storage.cache_kib = 64:
 * the writer's first group commit answered storage_corrupt.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/cryptvfs.h"
#include "storage/store.h"

static char dir[256], path[300];

static void setup(void)
{
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/cvfs-spill-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/oa.db", dir);
    cr_assert_eq(sodium_init() >= 0, 1);
    oa_store_cache_kib(64, 64); /* 16 pages: every transaction below spills */
}

TestSuite(cryptvfs_spill, .init = setup);

static void exec_ok(struct oa_store *s, const char *sql)
{
    cr_assert_eq(oa_store_exec(s, sql), 0, "%s: %s", sql, sqlite3_errmsg(s->db));
}

static long long scalar(struct oa_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(s->db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s: %s", sql, sqlite3_errmsg(s->db));
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Each test runs in a process of its own (Criterion forks): one suite each. */
static void spill(enum oa_db_suite suite)
{
    unsigned char key[32];
    memset(key, 7, sizeof(key));
    cr_assert_eq(oa_cryptvfs_install(key, suite), 0);
    struct oa_store s;
    char *why = NULL;
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    exec_ok(&s, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    for (int round = 0; round < 5; round++) {
        exec_ok(&s, "BEGIN IMMEDIATE");
        /* Enough pages to spill several times, each page written again after it spilled. */
        exec_ok(&s, "INSERT INTO t(v) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) SELECT randomblob(1500) FROM n");
        exec_ok(&s, "UPDATE t SET v = randomblob(1500) WHERE id % 3 = 0");
        /* A job that is undone, as the writer's savepoints are, then one kept. */
        exec_ok(&s, "SAVEPOINT job");
        exec_ok(&s, "INSERT INTO t(v) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) SELECT randomblob(1500) FROM n");
        exec_ok(&s, "ROLLBACK TO job");
        exec_ok(&s, "RELEASE job");
        exec_ok(&s, "SAVEPOINT job");
        exec_ok(&s, "UPDATE t SET v = randomblob(1400) WHERE id % 5 = 0");
        exec_ok(&s, "RELEASE job");
        exec_ok(&s, "COMMIT");
        cr_assert_eq(scalar(&s, "SELECT count(*) FROM t"), 300 * (round + 1));
        cr_assert_eq(scalar(&s, "SELECT sum(length(v)) > 0 FROM t"), 1);
    }
    char report[300];
    cr_assert_eq(oa_store_check(&s, true, report, sizeof(report)), 0, "%s", report);
    oa_store_close(&s);
    /* And again from the files. */
    cr_assert_eq(oa_store_open(&s, path, false, &why), 0, "%s", why);
    cr_assert_eq(scalar(&s, "SELECT count(*) FROM t"), 1500);
    cr_assert_eq(oa_store_check(&s, true, report, sizeof(report)), 0, "%s", report);
    oa_store_close(&s);
}

Test(cryptvfs_spill, a_transaction_larger_than_the_page_cache_commits_and_reads_back_aes_256_gcm)
{
    spill(OA_DB_AES256GCM);
}

Test(cryptvfs_spill, a_transaction_larger_than_the_page_cache_commits_and_reads_back_sm4_gcm)
{
    spill(OA_DB_SM4_GCM);
}
