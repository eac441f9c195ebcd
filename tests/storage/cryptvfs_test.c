/*
 * tests/storage/cryptvfs_test.c: the encrypting VFS on real files -- nothing
 * readable under the directory, a flipped byte in a database or WAL page is
 * an error and never data, a wrong key is refused, the migration of a plain
 * database is crash-safe and idempotent; in both page suites (AES-256-GCM and
 * SM4-GCM).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/cryptvfs.h"
#include "storage/keys.h"
#include "storage/store.h"

#define MARKER "MARKER-7f3a-secret-title"

static char dir[256], path[300], keyfile[300];

static void setup(void)
{
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/cvfs-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/oa.db", dir);
    snprintf(keyfile, sizeof(keyfile), "%s/keys", dir);
    cr_assert_eq(sodium_init() >= 0, 1);
}

TestSuite(cryptvfs, .init = setup);

/* Whether any file directly under d holds s. */
static bool dir_holds(const char *d, const char *s)
{
    DIR *dh = opendir(d);
    struct dirent *e;
    bool found = false;
    cr_assert_not_null(dh);
    while (!found && (e = readdir(dh)) != NULL) {
        char p[600];
        snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        FILE *f = fopen(p, "rb");
        cr_assert_not_null(f);
        char *buf = malloc((size_t)st.st_size + 1);
        size_t n = fread(buf, 1, (size_t)st.st_size, f);
        fclose(f);
        found = memmem(buf, n, s, strlen(s)) != NULL;
        free(buf);
    }
    closedir(dh);
    return found;
}

static void install_key(unsigned char seed, enum oa_db_suite suite)
{
    unsigned char key[32];
    memset(key, seed, sizeof(key));
    cr_assert_eq(oa_cryptvfs_install(key, suite), 0);
}

/* A table and a trigram index holding the marker, committed in `rows` transactions. */
static void fill(struct oa_store *s, int rows)
{
    cr_assert_eq(oa_store_exec(s, "CREATE TABLE IF NOT EXISTS t(title TEXT, body TEXT);"
                                  "CREATE VIRTUAL TABLE IF NOT EXISTS f USING fts5(title, body, tokenize='trigram')"),
                 0);
    for (int i = 0; i < rows; i++) {
        char sql[400];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO t VALUES ('%s %d', '%s body %d'); INSERT INTO f VALUES ('%s %d', '%s body %d')",
                 MARKER, i, MARKER, i, MARKER, i, MARKER, i);
        cr_assert_eq(oa_store_exec(s, sql), 0);
    }
}

static int count_matches(struct oa_store *s)
{
    sqlite3_stmt *st = oa_store_stmt(s, "SELECT count(*) FROM f WHERE f MATCH '\"7f3a-secret\"'");
    cr_assert_not_null(st);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    return sqlite3_column_int(st, 0);
}

static void nothing_readable(enum oa_db_suite suite)
{
    struct oa_store s;
    char *why = NULL;
    install_key(1, suite);
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    fill(&s, 200);
    cr_assert_eq(count_matches(&s), 200);
    char wal[320];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    cr_assert_eq(access(wal, F_OK), 0, "the WAL is in use");
    cr_assert(!dir_holds(dir, MARKER), "the marker is readable while the database is open");
    cr_assert(!dir_holds(dir, "CREATE TABLE"), "the schema is readable while the database is open");
    oa_store_close(&s);
    cr_assert(!dir_holds(dir, MARKER), "the marker is readable in the closed database");
    cr_assert_eq(oa_cryptvfs_probe(path), 1);
    cr_assert_eq(oa_store_open(&s, path, false, &why), 0, "%s", why);
    cr_assert_eq(count_matches(&s), 200);
    char report[200];
    cr_assert_eq(oa_store_check(&s, true, report, sizeof(report)), 0, "%s", report);
    oa_store_close(&s);
}

Test(cryptvfs, nothing_readable_open_or_closed_and_fts_works)
{
    nothing_readable(OA_DB_AES256GCM);
}

Test(cryptvfs, sm4_pages_nothing_readable_open_or_closed_and_fts_works)
{
    nothing_readable(OA_DB_SM4_GCM);
}

/* Flips one byte of the file at off. */
static void flip(const char *p, long off)
{
    int fd = open(p, O_RDWR);
    cr_assert_geq(fd, 0);
    unsigned char c;
    cr_assert_eq(pread(fd, &c, 1, off), 1);
    c ^= 0x01;
    cr_assert_eq(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void flipped_bytes_are_corrupt(enum oa_db_suite suite)
{
    struct oa_store s;
    char *why = NULL;
    install_key(2, suite);
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    fill(&s, 50);
    /* No free pages: every page is one that a full check reads (VACUUM, through the VFS). */
    cr_assert_eq(oa_store_exec(&s, "VACUUM"), 0);
    oa_store_close(&s);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    long pages = (long)st.st_size / 4096;
    cr_assert_gt(pages, 5);
    /* Every page: page 1 past its header, and in turn the content, the nonce and the tag of the others. */
    for (long pg = 1; pg <= pages; pg++) {
        long off = (pg - 1) * 4096 + (pg == 1 ? 200 : pg % 3 == 0 ? 4096 - 20 : pg % 3 == 1 ? 4096 - 3 : 777);
        flip(path, off);
        char report[300];
        int rc = oa_store_open(&s, path, false, &why);
        if (rc == 0) {
            cr_assert_eq(oa_store_check(&s, true, report, sizeof(report)), 1, "page %ld: %s", pg, report);
            oa_store_close(&s);
        } else {
            cr_assert(strstr(why, "malformed") != NULL, "page %ld: %s", pg, why);
            free(why);
        }
        flip(path, off);
    }
    cr_assert_eq(oa_store_open(&s, path, false, &why), 0, "%s", why);
    cr_assert_eq(count_matches(&s), 50);
    oa_store_close(&s);
}

Test(cryptvfs, a_flipped_byte_in_any_database_page_is_corrupt)
{
    flipped_bytes_are_corrupt(OA_DB_AES256GCM);
}

Test(cryptvfs, sm4_pages_a_flipped_byte_in_any_database_page_is_corrupt)
{
    flipped_bytes_are_corrupt(OA_DB_SM4_GCM);
}

Test(cryptvfs, one_suite_does_not_open_the_other)
{
    struct oa_store s;
    char *why = NULL;
    install_key(3, OA_DB_SM4_GCM);
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    fill(&s, 5);
    oa_store_close(&s);
    install_key(3, OA_DB_AES256GCM); /* the same key, the other suite */
    if (oa_store_open(&s, path, false, &why) == 0) {
        char report[200];
        cr_assert_neq(oa_store_check(&s, false, report, sizeof(report)), 0, "AES read SM4 pages: %s", report);
        oa_store_close(&s);
    } else {
        free(why);
    }
    install_key(3, OA_DB_SM4_GCM);
    cr_assert_eq(oa_store_open(&s, path, false, &why), 0, "%s", why);
    cr_assert_eq(count_matches(&s), 5);
    oa_store_close(&s);
}

/* Whether the key file records the SM4 suite. */
static bool keys_say_sm4(void)
{
    struct oa_keys k;
    char cause[300];
    cr_assert_eq(oa_keys_load(keyfile, &k, cause, sizeof(cause)), 0, "%s", cause);
    bool sm4 = k.db_suite == OA_DB_SM4_GCM;
    oa_keys_wipe(&k);
    return sm4;
}

Test(cryptvfs, a_new_database_takes_the_configured_suite_and_keeps_it)
{
    struct oa_store s;
    char *why = NULL, cause[400];
    cr_assert_eq(oa_keys_create(keyfile, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert(!keys_say_sm4(), "a new key file's database key starts as AES-256-GCM");
    /* Without migrate nothing is written. */
    cr_assert_eq(oa_cryptvfs_setup(keyfile, path, false, OA_DB_SM4_GCM, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert(!keys_say_sm4());
    /* oad init: no database yet, so the key takes the configured suite. */
    cr_assert_eq(oa_cryptvfs_setup(keyfile, path, true, OA_DB_SM4_GCM, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert(keys_say_sm4(), "the key file does not record sm4-sm3");
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    fill(&s, 20);
    oa_store_close(&s);
    cr_assert(!dir_holds(dir, MARKER));
    /* The configuration says AES now: the database keeps the suite its pages are in. */
    cr_assert_eq(oa_cryptvfs_setup(keyfile, path, true, OA_DB_AES256GCM, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert(keys_say_sm4());
    cr_assert_eq(oa_store_open(&s, path, false, &why), 0, "%s", why);
    cr_assert_eq(count_matches(&s), 20);
    oa_store_close(&s);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[1000];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
    cr_assert_eq(system(cmd), 0);
}

Test(cryptvfs, a_flipped_byte_in_a_wal_frame_is_corrupt)
{
    struct oa_store s, c;
    char *why = NULL, copy[320], from[330], to[330];
    install_key(3, OA_DB_AES256GCM);
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    fill(&s, 30);
    /* What a crash would leave: the database and its WAL as they are now. */
    snprintf(copy, sizeof(copy), "%s/copy.db", dir);
    copy_file(path, copy);
    snprintf(from, sizeof(from), "%s-wal", path);
    snprintf(to, sizeof(to), "%s-wal", copy);
    copy_file(from, to);
    oa_store_close(&s);
    struct stat st;
    cr_assert_eq(stat(to, &st), 0);
    long frames = ((long)st.st_size - 32) / (4096 + 24);
    cr_assert_gt(frames, 2);
    /* Recovered as it is, the copy has every committed row (kill -9 loses nothing acknowledged). */
    char pristine[320], pw[330];
    snprintf(pristine, sizeof(pristine), "%s/pristine.db", dir);
    snprintf(pw, sizeof(pw), "%s-wal", pristine);
    copy_file(copy, pristine);
    copy_file(to, pw);
    cr_assert_eq(oa_store_open(&c, pristine, false, &why), 0, "%s", why);
    cr_assert_eq(count_matches(&c), 30);
    oa_store_close(&c);
    /* The second frame's page data: the copy opens only if it is not believed. */
    flip(to, 32 + 1 * (4096 + 24) + 24 + 1000);
    int rc = oa_store_open(&c, copy, false, &why);
    if (rc == 0) {
        char report[300];
        int chk = oa_store_check(&c, true, report, sizeof(report));
        cr_assert_eq(chk, 1, "a damaged WAL frame read as data: %s", report);
        oa_store_close(&c);
    } else {
        cr_assert(strstr(why, "malformed") != NULL, "%s", why);
        free(why);
    }
}

/*
 * A kill in the middle of a transaction's write can leave a last frame whose
 * page is not the one its header announces.  Plain SQLite ignores it (its
 * checksum fails) and recovers every commit before it; encrypted, the frame
 * fails its tag, and must be taken as the log's end too, not as damage.
 */
Test(cryptvfs, a_torn_last_wal_frame_ends_the_log_and_the_commits_before_it_recover)
{
    struct oa_store s, c;
    char *why = NULL, copy[320], from[330], to[330];
    install_key(5, OA_DB_AES256GCM);
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    fill(&s, 30);
    snprintf(copy, sizeof(copy), "%s/torn.db", dir);
    copy_file(path, copy);
    snprintf(from, sizeof(from), "%s-wal", path);
    snprintf(to, sizeof(to), "%s-wal", copy);
    copy_file(from, to);
    oa_store_close(&s);
    struct stat st;
    cr_assert_eq(stat(to, &st), 0);
    long frames = ((long)st.st_size - 32) / (4096 + 24);
    cr_assert_gt(frames, 2);
    /* The last frame's page, as a torn write leaves it. */
    flip(to, 32 + (frames - 1) * (4096 + 24) + 24 + 1000);
    cr_assert_eq(oa_store_open(&c, copy, false, &why), 0, "a torn last frame keeps the database shut: %s", why);
    char report[300];
    cr_assert_eq(oa_store_check(&c, true, report, sizeof(report)), 0, "%s", report);
    int n = count_matches(&c);
    cr_assert(n == 29 || n == 30, "%d of the 30 commits recovered (only the torn one may go)", n);
    oa_store_close(&c);
}

Test(cryptvfs, a_wrong_key_is_a_clear_error)
{
    struct oa_store s;
    char *why = NULL, cause[400];
    cr_assert_eq(oa_keys_create(keyfile, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert_eq(oa_cryptvfs_setup(keyfile, path, true, OA_DB_AES256GCM, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    fill(&s, 5);
    oa_store_close(&s);
    oa_cryptvfs_uninstall();
    char other[320];
    snprintf(other, sizeof(other), "%s/other-keys", dir);
    cr_assert_eq(oa_keys_create(other, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert_eq(oa_cryptvfs_setup(other, path, true, OA_DB_AES256GCM, cause, sizeof(cause)), -1);
    cr_assert(strstr(cause, "does not open") != NULL, "%s", cause);
    cr_assert_null(oa_cryptvfs_active());
    /* Without the key the file is no database SQLite can read. */
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_neq(sqlite3_exec(db, "SELECT count(*) FROM t", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(oa_cryptvfs_setup(keyfile, path, false, OA_DB_AES256GCM, cause, sizeof(cause)), 0, "%s", cause);
}

Test(cryptvfs, migrates_a_plain_database_once)
{
    struct oa_store s;
    char *why = NULL, cause[400];
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    fill(&s, 100);
    oa_store_close(&s);
    cr_assert(dir_holds(dir, MARKER), "the test's plain database holds the marker");
    /* A key file from before database keys. */
    struct oa_keys k;
    cr_assert_eq(oa_keys_create(keyfile, cause, sizeof(cause)), 0);
    cr_assert_eq(oa_keys_load(keyfile, &k, cause, sizeof(cause)), 0);
    k.has_db_key = false;
    cr_assert_eq(oa_keys_save(keyfile, &k, cause, sizeof(cause)), 0);
    /* Without migrate, a plain database stays plain and opens plainly. */
    cr_assert_eq(oa_cryptvfs_setup(keyfile, path, false, OA_DB_AES256GCM, cause, sizeof(cause)), 1, "%s", cause);
    cr_assert_null(oa_cryptvfs_active());
    /* A stale copy from an interrupted attempt is no obstacle. */
    char stale[320];
    snprintf(stale, sizeof(stale), "%s.enc", path);
    FILE *f = fopen(stale, "w");
    fputs("half a copy", f);
    fclose(f);
    cr_assert_eq(oa_cryptvfs_setup(keyfile, path, true, OA_DB_AES256GCM, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert_eq(oa_cryptvfs_probe(path), 1);
    cr_assert_eq(access(stale, F_OK), -1);
    cr_assert(!dir_holds(dir, MARKER), "the marker is readable after the migration");
    cr_assert_eq(oa_keys_load(keyfile, &k, cause, sizeof(cause)), 0);
    cr_assert(k.has_db_key);
    cr_assert_eq(oa_store_open(&s, path, false, &why), 0, "%s", why);
    cr_assert_eq(count_matches(&s), 100);
    fill(&s, 1);
    oa_store_close(&s);
    /* Again: nothing to do, same key, same data. */
    struct stat before, after;
    cr_assert_eq(stat(path, &before), 0);
    cr_assert_eq(oa_cryptvfs_setup(keyfile, path, true, OA_DB_AES256GCM, cause, sizeof(cause)), 0, "%s", cause);
    cr_assert_eq(stat(path, &after), 0);
    cr_assert_eq(before.st_ino, after.st_ino);
    cr_assert_eq(oa_store_open(&s, path, false, &why), 0, "%s", why);
    cr_assert_eq(count_matches(&s), 101);
    oa_store_close(&s);
    oa_keys_wipe(&k);
}

Test(cryptvfs, a_rollback_journal_is_encrypted_too)
{
    sqlite3 *db = NULL;
    install_key(4, OA_DB_AES256GCM);
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, OA_CRYPTVFS_NAME), SQLITE_OK);
    int reserve = OA_CRYPTVFS_RESERVE;
    cr_assert_eq(sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA journal_mode=PERSIST; PRAGMA temp_store=MEMORY; CREATE TABLE t(x);"
                                  "INSERT INTO t VALUES ('" MARKER "')", NULL, NULL, NULL), SQLITE_OK);
    /* Changing the page with the marker journals it (PERSIST keeps the journal). */
    cr_assert_eq(sqlite3_exec(db, "BEGIN; UPDATE t SET x = 'other'; COMMIT", NULL, NULL, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "BEGIN; UPDATE t SET x = 'third'; ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    char journal[320];
    snprintf(journal, sizeof(journal), "%s-journal", path);
    cr_assert_eq(access(journal, F_OK), 0);
    cr_assert(!dir_holds(dir, MARKER));
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT x FROM t", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "other");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

Test(cryptvfs, a_page_moved_to_another_position_is_corrupt)
{
    struct oa_store s;
    char *why = NULL;
    install_key(5, OA_DB_AES256GCM);
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    fill(&s, 50);
    cr_assert_eq(oa_store_exec(&s, "VACUUM"), 0);
    oa_store_close(&s);
    /* Page 3's sealed bytes, intact, written over page 4: its tag is right, its place is not. */
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    unsigned char page[4096];
    cr_assert_eq(pread(fd, page, sizeof(page), 2 * 4096), 4096);
    cr_assert_eq(pwrite(fd, page, sizeof(page), 3 * 4096), 4096);
    close(fd);
    char report[300];
    int rc = oa_store_open(&s, path, false, &why);
    if (rc == 0) {
        cr_assert_eq(oa_store_check(&s, true, report, sizeof(report)), 1, "%s", report);
        oa_store_close(&s);
    } else {
        free(why);
    }
}

/* SQLite's global allocation statistics cost a process-wide mutex on every
 * malloc and free, which the reader threads and the writer contend for.  They
 * must be off although the VFS (registered first) initialises SQLite before
 * any store opens: sqlite3_memory_used() stays 0 only when they are off. */
Test(cryptvfs, sqlite_keeps_no_global_allocation_statistics_behind_the_vfs)
{
    struct oa_store s;
    char *why = NULL;
    install_key(4, OA_DB_AES256GCM);
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
    fill(&s, 20);
    cr_assert_eq(count_matches(&s), 20);
    cr_assert_eq(sqlite3_memory_used(), 0, "SQLite counts its allocations (%lld bytes): a global mutex per malloc",
                 (long long)sqlite3_memory_used());
    oa_store_close(&s);
}

/*
 * The nonces of every page in the database at p and in its WAL, appended to
 * v (n of them so far): read while the database is open, so that the WAL's
 * frames are all there.
 */
static void page_nonces(const char *p, unsigned char (**v)[12], size_t *n)
{
    char wal[340];
    snprintf(wal, sizeof(wal), "%s-wal", p);
    const char *files[2] = {p, wal};
    long first[2] = {0, 32}, stride[2] = {4096, 24 + 4096}, skip[2] = {0, 24};
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(files[k], "rb");
        cr_assert_not_null(f, "%s", files[k]);
        unsigned char page[4096];
        for (long at = first[k];; at += stride[k]) {
            if (fseek(f, at + skip[k], SEEK_SET) != 0 || fread(page, 1, sizeof(page), f) != sizeof(page))
                break;
            *v = realloc(*v, (*n + 1) * sizeof(**v));
            memcpy((*v)[(*n)++], page + sizeof(page) - OA_CRYPTVFS_RESERVE, 12);
        }
        fclose(f);
    }
}

static int nonce_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 12);
}

/*
 * A parent writes `before` rows, forks a child that writes a database of
 * its own, and writes more: no two pages of the two share a nonce.
 */
static void fork_case(int before)
{
    struct oa_store s;
    char *why = NULL, mine_db[320], other[320], theirs[320];
    snprintf(mine_db, sizeof(mine_db), "%s/parent-%d.db", dir, before);
    snprintf(other, sizeof(other), "%s/child-%d.db", dir, before);
    snprintf(theirs, sizeof(theirs), "%s/child-nonces-%d", dir, before);
    cr_assert_eq(oa_store_open(&s, mine_db, true, &why), 0, "%s", why);
    fill(&s, before);
    fflush(NULL);
    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) { /* a database of its own, its pages' nonces to a file */
        struct oa_store c;
        if (oa_store_open(&c, other, true, &why) != 0)
            _exit(1);
        fill(&c, 2);
        unsigned char(*cv)[12] = NULL;
        size_t cn = 0;
        page_nonces(other, &cv, &cn);
        FILE *f = fopen(theirs, "wb");
        _exit(f != NULL && fwrite(cv, 12, cn, f) == cn && fclose(f) == 0 ? 0 : 1);
    }
    fill(&s, 2);
    int status;
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unsigned char(*v)[12] = NULL;
    size_t n = 0;
    page_nonces(mine_db, &v, &n);
    oa_store_close(&s);
    size_t mine = n;
    FILE *f = fopen(theirs, "rb");
    cr_assert_not_null(f);
    unsigned char one[12];
    while (fread(one, 1, 12, f) == 12) {
        v = realloc(v, (n + 1) * sizeof(*v));
        memcpy(v[n++], one, 12);
    }
    fclose(f);
    cr_assert_gt(mine, 4);
    cr_assert_gt(n - mine, 4);
    qsort(v, n, sizeof(*v), nonce_cmp);
    for (size_t i = 1; i < n; i++)
        cr_assert_neq(memcmp(v[i - 1], v[i], 12), 0,
                      "two pages share a nonce (%zu pages: %zu here, %zu in the child; %d rows before the fork)", n,
                      mine, n - mine, before);
    free(v);
}

/*
 * GCM never sees one nonce twice under a key: not among the pages of one
 * database, and not between a process and a child forked from it, which
 * inherits the parent's memory (whatever nonces were drawn ahead included).
 * Twice, with different writes before the fork: whatever the draws ahead
 * then hold, one of the two forks happens while the parent has some.
 */
Test(cryptvfs, no_two_pages_share_a_nonce_nor_does_a_forked_child)
{
    install_key(4, OA_DB_AES256GCM);
    fork_case(1);
    fork_case(2);
}
