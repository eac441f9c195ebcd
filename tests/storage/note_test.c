/*
 * tests/storage/note_test.c: audit checkpoints as C2SP signed notes
 * (c2sp.org/signed-note, c2sp.org/tlog-checkpoint).  The expected bytes come
 * from golang.org/x/mod/sumdb/note, the reference implementation, not from
 * storage/audit.c; and the offline verifier accepts both the notes and the
 * checkpoints signed before them, and refuses either when altered.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/audit.h"
#include "storage/store.h"

/* The signing key of x/mod's note tests: "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALV...". */
static unsigned char seed[32], pk[32], sk[64];

static void keys(void)
{
    cr_assert(sodium_init() >= 0);
    cr_assert_eq(sodium_hex2bin(seed, sizeof(seed), "810a1402d5146c8d84f2443330f54080ebf98ee17d9c74f6252fc5d5c7283173",
                                64, NULL, NULL, NULL), 0);
    oa_audit_keypair(seed, pk, sk);
}

TestSuite(note, .init = keys);

Test(note, key_id_vkey_and_signature_match_the_reference_implementation)
{
    /* x/mod/sumdb/note TestNewVerifier and TestSign. */
    char vkey[OA_AUDIT_VKEY_MAX];
    cr_assert_gt(oa_audit_vkey("PeterNeumann", pk, vkey, sizeof(vkey)), 0);
    cr_assert_str_eq(vkey, "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
    unsigned char blob[68];
    oa_audit_key_id("PeterNeumann", pk, blob);
    const char *text = "If you think cryptography is the answer to your problem,\n"
                       "then you don't know what your problem is.\n";
    crypto_sign_detached(blob + 4, NULL, (const unsigned char *)text, strlen(text), sk);
    char b64[sodium_base64_ENCODED_LEN(68, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob), sodium_base64_VARIANT_ORIGINAL);
    cr_assert_str_eq(b64, "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=");
    /* A buffer too small is refused, not cut. */
    cr_assert_eq(oa_audit_vkey("PeterNeumann", pk, vkey, 20), 0);
}

Test(note, a_checkpoint_note_is_byte_for_byte_what_the_reference_signs)
{
    /* note.Sign(&note.Note{Text: text}, signer) with the same seed, under this name. */
    static const char want[] =
        "oa.audit/0123456789abcdef\n5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\ntime 1796216717\n"
        "\n"
        "\xe2\x80\x94 oa.audit/0123456789abcdef "
        "e8z89G3kcOQwon76xzRqWy8qoVl/Pv3D1fBoOYre/jniMiToG7a8/v3Fcl+CSs1j7MPsR8haUM1b6Xbg5uXiA0AmPAU=\n";
    const char *origin = "oa.audit/0123456789abcdef";
    oa_hash root;
    for (int i = 0; i < OA_HASH; i++)
        root[i] = (unsigned char)i;
    char text[OA_AUDIT_NOTE_MAX], note[OA_AUDIT_NOTE_MAX];
    size_t len = oa_audit_note_text(origin, 5, root, 1796216717, text, sizeof(text));
    cr_assert_gt(len, 0);
    unsigned char sig[64];
    crypto_sign_detached(sig, NULL, (const unsigned char *)text, len, sk);
    size_t n = oa_audit_note(origin, 5, root, 1796216717, pk, sig, note, sizeof(note));
    cr_assert_eq(n, strlen(want));
    cr_assert_str_eq(note, want);
    char vkey[OA_AUDIT_VKEY_MAX];
    oa_audit_vkey(origin, pk, vkey, sizeof(vkey));
    cr_assert_str_eq(vkey, "oa.audit/0123456789abcdef+7bccfcf4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
    cr_assert_eq(oa_audit_note(origin, 5, root, 1796216717, pk, sig, note, n), 0, "a buffer too small");
}

/* ---- the offline verifier over notes and older checkpoints ---- */

static struct oa_store s;

static void add_entries(int n)
{
    cr_assert_eq(oa_store_exec(&s, "BEGIN"), 0);
    for (int i = 0; i < n; i++) {
        struct oa_audit_event ev = {.event = "login.fail", .target = "nobody", .label = -1, .outcome = "refused"};
        cr_assert_eq(oa_audit(&s, &ev), 0);
    }
    cr_assert_eq(oa_store_exec(&s, "COMMIT"), 0);
}

static int verify(char *report, size_t cap)
{
    uint64_t entries = 0, checkpoints = 0;
    return oa_audit_verify(&s, pk, report, cap, &entries, &checkpoints);
}

static void open_db(void)
{
    keys();
    char dir[256], path[300], *why = NULL;
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/note-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/oa.db", dir);
    cr_assert_eq(oa_store_open(&s, path, true, &why), 0, "%s", why);
}

static void close_db(void)
{
    oa_store_close(&s);
}

TestSuite(verify, .init = open_db, .fini = close_db);

Test(verify, a_checkpoint_from_before_notes_and_a_note_both_verify_and_neither_may_change)
{
    char origin[OA_AUDIT_ORIGIN_MAX], report[512];
    cr_assert_eq(oa_audit_origin(&s, origin, sizeof(origin)), 0);
    cr_assert_eq(strlen(origin), strlen("oa.audit/") + 16, "%s", origin);
    cr_assert(strncmp(origin, "oa.audit/", 9) == 0, "%s", origin);

    /* A checkpoint as oad signed them before migration 10: the v1 message, no origin. */
    add_entries(3);
    struct oa_audit_log log;
    memset(&log, 0, sizeof(log));
    memcpy(log.pk, pk, 32);
    memcpy(log.sk, sk, 64);
    log.signing = true;
    cr_assert_eq(oa_audit_log_load(&s, &log), 0);
    oa_hash root;
    oa_merkle_acc_root(&log.acc, root);
    char msg[256];
    unsigned char sig[64];
    size_t len = oa_audit_checkpoint_message(3, root, 1700000000, msg, sizeof(msg));
    crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len, sk);
    sqlite3_stmt *st = oa_store_stmt(&s, "INSERT INTO audit_checkpoints(tree_size, root, at, signature) VALUES (3, ?, ?, ?)");
    sqlite3_bind_blob(st, 1, root, OA_HASH, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, 1700000000);
    sqlite3_bind_blob(st, 3, sig, 64, SQLITE_TRANSIENT);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);

    /* Then the writer's way: a note under this log's origin. */
    add_entries(2);
    cr_assert_eq(oa_audit_log_load(&s, &log), 0);
    cr_assert_eq(log.checkpoint_size, 3);
    cr_assert_eq(oa_audit_log_checkpoint(&s, &log, 1), 0);
    cr_assert_str_eq(log.origin, origin);
    st = oa_store_stmt(&s, "SELECT origin FROM audit_checkpoints WHERE tree_size = 5");
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), origin);
    sqlite3_reset(st);

    cr_assert_eq(verify(report, sizeof(report)), 0, "%s", report);
    cr_assert(strstr(report, "5 entries and 2 signed checkpoints"), "%s", report);

    /* The note's signed time, then its origin, then the old checkpoint's time. */
    oa_store_exec(&s, "DROP TRIGGER audit_checkpoints_no_update");
    oa_store_exec(&s, "UPDATE audit_checkpoints SET at = at + 1 WHERE tree_size = 5");
    cr_assert_eq(verify(report, sizeof(report)), 1, "%s", report);
    cr_assert(strstr(report, "tree size 5 has a bad signature"), "%s", report);
    oa_store_exec(&s, "UPDATE audit_checkpoints SET at = at - 1, origin = 'oa.audit/elsewhere' WHERE tree_size = 5");
    cr_assert_eq(verify(report, sizeof(report)), 1, "%s", report);
    oa_store_exec(&s, "UPDATE audit_checkpoints SET origin = NULL WHERE tree_size = 5");
    cr_assert_eq(verify(report, sizeof(report)), 1, "a note is no v1 checkpoint: %s", report);
    st = oa_store_stmt(&s, "UPDATE audit_checkpoints SET origin = ? WHERE tree_size = 5");
    sqlite3_bind_text(st, 1, origin, -1, SQLITE_TRANSIENT);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
    cr_assert_eq(verify(report, sizeof(report)), 0, "restored: %s", report);
    oa_store_exec(&s, "UPDATE audit_checkpoints SET at = 1700000001 WHERE tree_size = 3");
    cr_assert_eq(verify(report, sizeof(report)), 1, "%s", report);
    cr_assert(strstr(report, "tree size 3 has a bad signature"), "%s", report);
}

Test(verify, a_note_signed_for_another_origin_by_the_same_key_is_not_this_logs)
{
    /* The same key file serving two data directories: each has its own origin. */
    char report[512];
    add_entries(2);
    struct oa_audit_log log;
    memset(&log, 0, sizeof(log));
    memcpy(log.pk, pk, 32);
    memcpy(log.sk, sk, 64);
    log.signing = true;
    snprintf(log.origin, sizeof(log.origin), "oa.audit/0123456789abcdef");
    cr_assert_eq(oa_audit_log_load(&s, &log), 0);
    cr_assert_eq(oa_audit_log_checkpoint(&s, &log, 1), 0);
    cr_assert_eq(verify(report, sizeof(report)), 1, "%s", report);
    cr_assert(strstr(report, "another log"), "%s", report);
}
