/*
 * tests/integration/audit_note_test.c: the real oad's audit checkpoints,
 * checked by a verifier no one at oa wrote.  The verifier key is taken the
 * way a verifier would get it, out of band (what `oad init` printed, and
 * `oad audit pubkey`); the checkpoint note comes from GET
 * /v1/audit/checkpoint; notecheck (tests/integration/notecheck, built on
 * golang.org/x/mod/sumdb/note and .../tlog from Debian) opens it, and refuses
 * it with any one byte changed.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/harness.h"

#define NOTECHECK "tests/integration/notecheck/notecheck"

static struct oad srv;
static char init_out[2048], tmp[300];

/* Runs a shell command; its exit status, its output (stdout and stderr) in out. */
static int run(const char *cmd, char *out, size_t n)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "%s", cmd);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}

/* notecheck VKEY NOTE [OLDER PROOF] on the given texts; its exit status and output. */
static int notecheck(const char *vkey, const char *note, const char *older, const char *proof, char *out, size_t n)
{
    char a[400], b[400], c[400], cmd[2048];
    snprintf(a, sizeof(a), "%s/note", tmp);
    write_file(a, note);
    if (older == NULL) {
        snprintf(cmd, sizeof(cmd), NOTECHECK " '%s' '%s' 2>&1", vkey, a);
    } else {
        snprintf(b, sizeof(b), "%s/older", tmp);
        snprintf(c, sizeof(c), "%s/proof", tmp);
        write_file(b, older);
        write_file(c, proof);
        snprintf(cmd, sizeof(cmd), NOTECHECK " '%s' '%s' '%s' '%s' 2>&1", vkey, a, b, c);
    }
    return run(cmd, out, n);
}

/* Another character of the same kind: a digit stays a digit, a letter changes case, '+' and '/' swap. */
static char flip(char c)
{
    if (c >= '0' && c <= '9')
        return (char)(c ^ 0x01);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return (char)(c ^ 0x20);
    cr_assert(c == '+' || c == '/', "no flip for '%c'", c);
    return c == '+' ? '/' : '+';
}

/* A JSON field of unpadded base64url bytes, as lowercase hex. */
static void hex_of(json_t *v, char *out, size_t cap)
{
    unsigned char bin[64];
    size_t n = 0;
    const char *s = json_string_value(v);
    cr_assert_not_null(s);
    cr_assert_eq(sodium_base642bin(bin, sizeof(bin), s, strlen(s), NULL, &n, NULL,
                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
    sodium_bin2hex(out, cap, bin, n);
}

/* The latest checkpoint: its note (malloc'd), size and root in hex. */
static char *checkpoint(const char *token, long long *size, char root[65])
{
    struct resp r = http_json(&srv, "GET", "/v1/audit/checkpoint", token, NULL, NULL);
    json_t *cp = ok_json(&r, 200);
    const char *note = json_string_value(json_object_get(cp, "note"));
    cr_assert_not_null(note, "the checkpoint has no note");
    char *copy = strdup(note);
    *size = json_integer_value(json_object_get(cp, "tree_size"));
    hex_of(json_object_get(cp, "root"), root, 65);
    json_decref(cp);
    return copy;
}

/* `oad init` as the harness runs it, but keeping what it prints; then `oad serve`. */
static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    memset(&srv, 0, sizeof(srv));
    const char *t = getenv("TEST_TMPDIR");
    snprintf(tmp, sizeof(tmp), "%s/note-XXXXXX", t ? t : "/tmp");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(srv.dir, sizeof(srv.dir), "%s/data", tmp);
    snprintf(srv.log, sizeof(srv.log), "%s.log", srv.dir);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "server/oad init --data '%s' --set security.argon2_opslimit=1 --set security.argon2_memlimit=8192 2>&1",
             srv.dir);
    cr_assert_eq(run(cmd, init_out, sizeof(init_out)), 0, "%s", init_out);
    oad_serve(&srv, NULL);
}

TestSuite(audit_note, .init = setup);

Test(audit_note, an_independent_verifier_checks_checkpoints_with_the_published_key)
{
    /* The key, out of band: what init printed, and what `oad audit pubkey` prints. */
    char vkey[256] = "", out[4096], cmd[1024];
    const char *k = strstr(init_out, "audit key:");
    cr_assert_not_null(k, "oad init printed no audit key:\n%s", init_out);
    cr_assert_eq(sscanf(k, "audit key: %255s", vkey), 1);
    snprintf(cmd, sizeof(cmd), "server/oad audit pubkey --data '%s'", srv.dir);
    cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
    out[strcspn(out, "\n")] = '\0';
    cr_assert_str_eq(out, vkey);
    cr_assert(strncmp(vkey, "oa.audit/", 9) == 0, "%s", vkey);

    /* Audited activity, then a checkpoint within a second. */
    char aud[128], tok[128];
    admin_login(&srv, "auditor", "Log-Reader-2026xy", aud, sizeof(aud));
    login(&srv, "sysadmin", "wrong-password", tok, sizeof(tok));
    usleep(1500 * 1000);
    long long size1;
    char root1[65];
    char *note1 = checkpoint(aud, &size1, root1);
    cr_assert_geq(size1, 5, "%lld", size1);

    int rc = notecheck(vkey, note1, NULL, NULL, out, sizeof(out));
    cr_assert_eq(rc, 0, "the independent verifier refused the checkpoint:\n%s\n%s", out, note1);
    char want[256];
    snprintf(want, sizeof(want), "origin %.*s\nsize %lld\nroot %s\n", (int)strcspn(vkey, "+"), vkey, size1, root1);
    cr_assert_str_eq(out, want);

    /* One byte changed anywhere that matters is refused: the tree size, the
     * root, the signed time, the signature, the key name. */
    char *bad = strdup(note1);
    const char *text_end = strstr(note1, "\n\n");
    size_t size_at = strlen(vkey) - strlen(strchr(vkey, '+')) + 1; /* the first digit of the size */
    size_t root_at = strchr(note1 + size_at, '\n') - note1 + 5;
    size_t time_at = text_end - note1 - 1;                     /* the time's last digit */
    size_t sig_at = strlen(note1) - 30;                        /* inside the signature */
    size_t name_at = text_end - note1 + 2 + 4;                 /* the key name, after the em dash and space */
    size_t at[] = {size_at, root_at, time_at, sig_at, name_at};
    const char *what[] = {"tree size", "root", "time", "signature", "key name"};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        strcpy(bad, note1);
        bad[at[i]] = flip(bad[at[i]]);
        rc = notecheck(vkey, bad, NULL, NULL, out, sizeof(out));
        cr_assert_eq(rc, 1, "a changed %s was accepted:\n%s", what[i], bad);
        /* x/mod's words: a known key whose signature fails, or no known key at all. */
        cr_assert(strstr(out, "REFUSED"), "%s", out);
        cr_assert(strstr(out, i < 4 ? "invalid signature" : "no verifiable signatures"), "%s: %s", what[i], out);
    }
    /* The same public key under another name is another key: a well-formed
     * vkey for "oa.audit/someone-else" does not open the note. */
    const char *kb64 = strchr(strchr(vkey, '+') + 1, '+') + 1;
    unsigned char key[33], idin[64], id[32];
    size_t kl = 0;
    cr_assert_eq(sodium_base642bin(key, sizeof(key), kb64, strlen(kb64), NULL, &kl, NULL,
                                   sodium_base64_VARIANT_ORIGINAL), 0);
    cr_assert(kl == 33 && key[0] == 0x01, "%s", vkey);
    const char *name = "oa.audit/someone-else";
    memcpy(idin, name, strlen(name));
    idin[strlen(name)] = '\n';
    memcpy(idin + strlen(name) + 1, key, 33);
    crypto_hash_sha256(id, idin, strlen(name) + 34);
    char other[300];
    snprintf(other, sizeof(other), "%s+%02x%02x%02x%02x+%s", name, id[0], id[1], id[2], id[3], kb64);
    rc = notecheck(other, note1, NULL, NULL, out, sizeof(out));
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "no verifiable signatures"), "%s", out);

    /* More activity, a later checkpoint, and the verifier's own RFC 6962
     * check that the first tree is a prefix of the second. */
    login(&srv, "nobody", "x", tok, sizeof(tok));
    login(&srv, "nobody", "y", tok, sizeof(tok));
    usleep(1500 * 1000);
    long long size2;
    char root2[65];
    char *note2 = checkpoint(aud, &size2, root2);
    cr_assert_gt(size2, size1);
    char path[128];
    snprintf(path, sizeof(path), "/v1/audit/proof/consistency?from=%lld&to=%lld", size1, size2);
    struct resp r = http_json(&srv, "GET", path, aud, NULL, NULL);
    json_t *p = ok_json(&r, 200);
    char proof[80 * 66] = "";
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(p, "path"), i, h) {
        char hx[65];
        hex_of(h, hx, sizeof(hx));
        strcat(proof, hx);
        strcat(proof, "\n");
    }
    json_decref(p);
    cr_assert_gt(strlen(proof), 0);
    rc = notecheck(vkey, note2, note1, proof, out, sizeof(out));
    cr_assert_eq(rc, 0, "%s\n%s\n%s", out, note2, proof);
    snprintf(want, sizeof(want), "consistent with %lld\n", size1);
    cr_assert(strstr(out, want), "%s", out);
    proof[3] = proof[3] == '0' ? '1' : '0'; /* another hex digit (hex is read in either case) */
    rc = notecheck(vkey, note2, note1, proof, out, sizeof(out));
    cr_assert_eq(rc, 1, "a changed consistency proof was accepted: %s", out);

    free(bad);
    free(note1);
    free(note2);
    cr_assert_eq(oad_stop(&srv), 0);
    /* And oad's own offline check agrees. */
    snprintf(cmd, sizeof(cmd), "server/oad audit verify --data '%s' 2>&1", srv.dir);
    cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
}
