/*
 * tests/integration/audit_test.c: the audit trail through the real oad: only
 * the auditor reads it; checkpoints are signed notes; inclusion and consistency
 * proofs and export bundles verify with an independent verifier; tampering
 * with the database by hand makes `oad audit verify` fail and say where.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/harness.h"

static struct oad srv;
static char sys[128], sec[128], aud[128];

/* base64url (unpadded) text to bytes; returns the length. */
static size_t b64(json_t *v, unsigned char *out, size_t cap)
{
    const char *s = json_string_value(v);
    cr_assert_not_null(s);
    size_t n = 0;
    cr_assert_eq(sodium_base642bin(out, cap, s, strlen(s), NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
    return n;
}

/* ---- an independent RFC 9162 verifier (shares no code with the server) ---- */

static void node(const unsigned char *l, const unsigned char *r, unsigned char *out)
{
    unsigned char buf[65];
    buf[0] = 1;
    memcpy(buf + 1, l, 32);
    memcpy(buf + 33, r, 32);
    crypto_hash_sha256(out, buf, 65);
}

static bool verify_path(const unsigned char *leaf, uint64_t idx, uint64_t size, json_t *path, const unsigned char *root)
{
    uint64_t f = idx, l = size - 1;
    unsigned char cur[32], p[32];
    memcpy(cur, leaf, 32);
    size_t i;
    json_t *v;
    json_array_foreach(path, i, v) {
        if (l == 0 || b64(v, p, sizeof(p)) != 32)
            return false;
        if (f % 2 == 1 || f == l) {
            node(p, cur, cur);
            while (f % 2 == 0 && f != 0) {
                f /= 2;
                l /= 2;
            }
        } else {
            node(cur, p, cur);
        }
        f /= 2;
        l /= 2;
    }
    return l == 0 && memcmp(cur, root, 32) == 0;
}

static bool verify_consistency(uint64_t a, uint64_t b, const unsigned char *ra, const unsigned char *rb, json_t *path)
{
    unsigned char p[80][32];
    size_t m = 0, i;
    json_t *v;
    if ((a & (a - 1)) == 0)
        memcpy(p[m++], ra, 32);
    json_array_foreach(path, i, v)
        if (b64(v, p[m++], 32) != 32)
            return false;
    uint64_t f = a - 1, s = b - 1;
    while (f % 2 == 1) {
        f /= 2;
        s /= 2;
    }
    unsigned char fr[32], sr[32];
    memcpy(fr, p[0], 32);
    memcpy(sr, p[0], 32);
    for (size_t k = 1; k < m; k++) {
        if (s == 0)
            return false;
        if (f % 2 == 1 || f == s) {
            node(p[k], fr, fr);
            node(p[k], sr, sr);
            while (f % 2 == 0 && f != 0) {
                f /= 2;
                s /= 2;
            }
        } else {
            node(sr, p[k], sr);
        }
        f /= 2;
        s /= 2;
    }
    return s == 0 && memcmp(fr, ra, 32) == 0 && memcmp(sr, rb, 32) == 0;
}

/*
 * Checks a checkpoint's `note`, a C2SP signed note (tlog-checkpoint), from
 * the documented format alone: the text is the origin, the tree size, the
 * root in padded standard base64 and "time <at>"; the one signature line is
 * an em dash, the origin as key name and base64(key ID || Ed25519 signature),
 * key ID = SHA-256(name || 0x0a || 0x01 || public key)[:4].
 */
static void verify_checkpoint(json_t *cp, unsigned char *root, uint64_t *size)
{
    unsigned char sig[64], pk[32];
    cr_assert_eq(b64(json_object_get(cp, "signature"), sig, sizeof(sig)), 64);
    cr_assert_eq(b64(json_object_get(cp, "public_key"), pk, sizeof(pk)), 32);
    cr_assert_eq(b64(json_object_get(cp, "root"), root, 32), 32);
    *size = (uint64_t)json_integer_value(json_object_get(cp, "tree_size"));
    const char *note = json_string_value(json_object_get(cp, "note"));
    cr_assert_not_null(note, "the checkpoint has no note");

    /* The text: up to and including the line feed before the blank line. */
    const char *split = strstr(note, "\n\n");
    cr_assert_not_null(split, "%s", note);
    size_t text_len = (size_t)(split - note) + 1;
    char origin[128], rootb64[64];
    unsigned long long n = 0;
    long long at = 0;
    cr_assert_eq(sscanf(note, "%127[^\n]\n%llu\n%63[^\n]\ntime %lld\n", origin, &n, rootb64, &at), 4, "%s", note);
    cr_assert_eq(n, *size, "%s", note);
    cr_assert_eq(at, json_integer_value(json_object_get(cp, "at")), "%s", note);
    unsigned char r[32];
    size_t rl = 0;
    cr_assert_eq(sodium_base642bin(r, sizeof(r), rootb64, strlen(rootb64), NULL, &rl, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
    cr_assert(rl == 32 && memcmp(r, root, 32) == 0, "%s", note);
    char want_text[400];
    snprintf(want_text, sizeof(want_text), "%s\n%llu\n%s\ntime %lld\n", origin, n, rootb64, at);
    cr_assert(strlen(want_text) == text_len && memcmp(want_text, note, text_len) == 0, "%s", note);

    /* The signature line. */
    char prefix[160];
    snprintf(prefix, sizeof(prefix), "\xe2\x80\x94 %s ", origin);
    const char *line = split + 2;
    cr_assert(strncmp(line, prefix, strlen(prefix)) == 0, "%s", note);
    const char *sb = line + strlen(prefix), *end = strchr(sb, '\n');
    cr_assert(end && end[1] == '\0', "one signature line: %s", note);
    unsigned char blob[68], id[32];
    size_t bl = 0;
    cr_assert_eq(sodium_base642bin(blob, sizeof(blob), sb, (size_t)(end - sb), NULL, &bl, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
    cr_assert_eq(bl, 68);
    unsigned char idin[200];
    size_t ol = strlen(origin);
    memcpy(idin, origin, ol);
    idin[ol] = 0x0a;
    idin[ol + 1] = 0x01;
    memcpy(idin + ol + 2, pk, 32);
    crypto_hash_sha256(id, idin, ol + 34);
    cr_assert(memcmp(blob, id, 4) == 0, "key ID");
    cr_assert(memcmp(blob + 4, sig, 64) == 0, "the note carries another signature than `signature`");
    cr_assert_eq(crypto_sign_verify_detached(sig, (const unsigned char *)note, text_len, pk), 0, "bad checkpoint signature");
}

static int run_verify(char *out, size_t n)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "server/oad audit verify --data %s 2>&1", srv.dir);
    FILE *p = popen(cmd, "r");
    size_t len = fread(out, 1, n - 1, p);
    out[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void tamper(const char *sql)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/oa.db", srv.dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &err), SQLITE_OK, "%s", err ? err : "");
    sqlite3_close(db);
}

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    oad_start(&srv, NULL);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", sec, sizeof(sec));
    admin_login(&srv, "auditor", "Log-Reader-2026xy", aud, sizeof(aud));
    /* Some activity, and a wait for the writer's checkpoint (at most a second). */
    char tok[128];
    login(&srv, "sysadmin", "wrong-password", tok, sizeof(tok));
    usleep(1500 * 1000);
}

TestSuite(audit, .init = setup);

Test(audit, only_the_auditor_reads_the_trail_and_refusals_are_recorded)
{
    const char *tokens[] = {sys, sec};
    for (int i = 0; i < 2; i++) {
        struct resp r = http_json(&srv, "GET", "/v1/audit/entries", tokens[i], NULL, NULL);
        cr_assert_eq(r.status, 403, "%s", r.body);
        resp_free(&r);
    }
    struct resp r = http_json(&srv, "GET", "/v1/audit/entries?event=audit.read&limit=50", aud, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    json_t *entries = json_object_get(j, "entries");
    int refused = 0;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
        if (strcmp(json_string_value(json_object_get(e, "outcome")), "refused") == 0)
            refused++;
    cr_assert_eq(refused, 2, "the refused reads were not recorded");
    json_decref(j);
    /* Filters: by actor and by event. */
    r = http_json(&srv, "GET", "/v1/audit/entries?event=login.fail", aud, NULL, NULL);
    j = ok_json(&r, 200);
    cr_assert(json_array_size(json_object_get(j, "entries")) >= 1);
    json_decref(j);
    r = http_json(&srv, "GET", "/v1/audit/report?month=2026-13", aud, NULL, NULL);
    cr_assert_eq(r.status, 400);
    resp_free(&r);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(audit, checkpoints_are_signed_and_proofs_verify_independently)
{
    struct resp r = http_json(&srv, "GET", "/v1/audit/checkpoint", aud, NULL, NULL);
    json_t *cp = ok_json(&r, 200);
    unsigned char root[32];
    uint64_t size;
    verify_checkpoint(cp, root, &size);
    cr_assert(size >= 10, "tree size %llu", (unsigned long long)size);
    json_decref(cp);

    /* Every entry's inclusion in the signed tree. */
    for (uint64_t idx = 0; idx < size; idx++) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/audit/proof/inclusion?index=%llu&size=%llu", (unsigned long long)idx,
                 (unsigned long long)size);
        r = http_json(&srv, "GET", path, aud, NULL, NULL);
        json_t *p = ok_json(&r, 200);
        unsigned char leaf[32];
        cr_assert_eq(b64(json_object_get(p, "leaf"), leaf, sizeof(leaf)), 32);
        cr_assert(verify_path(leaf, idx, size, json_object_get(p, "path"), root), "entry %llu", (unsigned long long)idx);
        json_decref(p);
    }

    /* More activity, a later checkpoint, and consistency between the two. */
    char tok[128];
    login(&srv, "nobody", "x", tok, sizeof(tok));
    login(&srv, "nobody", "y", tok, sizeof(tok));
    usleep(1500 * 1000);
    r = http_json(&srv, "GET", "/v1/audit/checkpoint", aud, NULL, NULL);
    cp = ok_json(&r, 200);
    unsigned char root2[32];
    uint64_t size2;
    verify_checkpoint(cp, root2, &size2);
    json_decref(cp);
    cr_assert_gt(size2, size);
    char path[128];
    snprintf(path, sizeof(path), "/v1/audit/proof/consistency?from=%llu&to=%llu", (unsigned long long)size,
             (unsigned long long)size2);
    r = http_json(&srv, "GET", path, aud, NULL, NULL);
    json_t *p = ok_json(&r, 200);
    cr_assert(verify_consistency(size, size2, root, root2, json_object_get(p, "path")));
    json_decref(p);

    /* An export bundle verifies on its own: entries hash to leaves proven in the signed root. */
    snprintf(path, sizeof(path), "/v1/audit/export?from=1&to=%llu", (unsigned long long)size2);
    r = http_json(&srv, "GET", path, aud, NULL, NULL);
    json_t *bundle = ok_json(&r, 200);
    unsigned char broot[32];
    uint64_t bsize;
    verify_checkpoint(json_object_get(bundle, "checkpoint"), broot, &bsize);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(bundle, "entries"), i, e) {
        unsigned char entry[4096], leaf[32];
        size_t n = b64(json_object_get(e, "entry"), entry + 1, sizeof(entry) - 1);
        entry[0] = 0x00;
        crypto_hash_sha256(leaf, entry, n + 1);
        cr_assert(verify_path(leaf, (uint64_t)json_integer_value(json_object_get(e, "leaf_index")), bsize,
                              json_object_get(e, "path"), broot), "bundle entry %zu", i);
    }
    cr_assert_eq(json_array_size(json_object_get(bundle, "entries")), size2);
    json_decref(bundle);
    cr_assert_eq(oad_stop(&srv), 0);
}

Test(audit, hand_tampering_is_found_and_located)
{
    cr_assert_eq(oad_stop(&srv), 0);
    char out[1024];
    cr_assert_eq(run_verify(out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "intact"), "%s", out);

    /* Edit an entry. */
    tamper("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail = 'nothing to see' WHERE id = 5;");
    cr_assert_eq(run_verify(out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "entry 5"), "%s", out);
    /* Edit it back, but also forge its stored hash to match a new edit: the signed root still catches it. */
    tamper("UPDATE audit_log SET detail = (SELECT detail FROM audit_log WHERE id = 6), leaf = (SELECT leaf FROM"
           " audit_log WHERE id = 6), event = (SELECT event FROM audit_log WHERE id = 6) WHERE id = 5;");
    cr_assert_eq(run_verify(out, sizeof(out)), 1, "%s", out);
}

Test(audit, deletion_reordering_and_truncation_are_found)
{
    cr_assert_eq(oad_stop(&srv), 0);
    char out[1024];
    /* Swap two entries' contents. */
    tamper("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
           "UPDATE audit_log SET id = -1 WHERE id = 3; UPDATE audit_log SET id = 3 WHERE id = 4;"
           "UPDATE audit_log SET id = 4 WHERE id = -1;");
    cr_assert_eq(run_verify(out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "entry 3") || strstr(out, "entries 1 to"), "%s", out);
    tamper("UPDATE audit_log SET id = -1 WHERE id = 3; UPDATE audit_log SET id = 3 WHERE id = 4;"
           "UPDATE audit_log SET id = 4 WHERE id = -1;");
    cr_assert_eq(run_verify(out, sizeof(out)), 0, "swapping back should restore: %s", out);
    /* Delete one in the middle. */
    tamper("DELETE FROM audit_log WHERE id = 2;");
    cr_assert_eq(run_verify(out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "entry 2 is missing"), "%s", out);
}

Test(audit, a_truncated_tail_is_a_rollback)
{
    cr_assert_eq(oad_stop(&srv), 0);
    char out[1024];
    tamper("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id > 4;");
    cr_assert_eq(run_verify(out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "rolled back"), "%s", out);
}
