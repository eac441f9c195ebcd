/*
 * tests/integration/keys_test.c: keys off the data disk (#17), through the
 * real oad: a key file sealed with `oad keys seal` is opened at start from a
 * passphrase file or a systemd credential; without a passphrase, or with a
 * wrong one, oad refuses to start with a clear message and its own exit
 * status, and nothing secret reaches its log; oad serve warns when the key
 * file shares the data's filesystem.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/harness.h"

#define PASSPHRASE "Correct-Horse-Battery-Staple"
#define SEAL_CHEAP "--set keys.seal_opslimit=1 --set keys.seal_memlimit=8192"

static struct oad srv;

static void write_secret(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fprintf(f, "%s\n", text);
    fclose(f);
    chmod(path, 0600);
}

/* A directory beside srv.dir (not inside the data directory). */
static void beside(const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s", srv.dir);
    char *slash = strrchr(out, '/');
    cr_assert_not_null(slash);
    snprintf(slash + 1, n - (size_t)(slash + 1 - out), "%s", name);
}

static void file_head(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t len = fread(out, 1, n - 1, f);
    out[len] = '\0';
    fclose(f);
}

Test(keys, a_sealed_key_file_opens_from_a_passphrase_file_or_credential_only)
{
    char pf[400], bad[400], creds[400], cred[500], cmd[2000], out[4096], head[4096], token[128];
    oad_prepare(&srv);
    oad_init(&srv, NULL);
    beside("passphrase", pf, sizeof(pf));
    beside("wrong", bad, sizeof(bad));
    write_secret(pf, PASSPHRASE);
    write_secret(bad, "Correct-Horse-Battery-Staplf");

    /* Too short a passphrase is refused; then sealed. */
    char shortp[400];
    beside("short", shortp, sizeof(shortp));
    write_secret(shortp, "short");
    snprintf(cmd, sizeof(cmd), "server/oad keys seal --data %s --new-passphrase-file %s " SEAL_CHEAP, srv.dir,
             shortp);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "at least 12 bytes"), "%s", out);
    snprintf(cmd, sizeof(cmd), "server/oad keys seal --data %s --new-passphrase-file %s " SEAL_CHEAP, srv.dir, pf);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    char kpath[400];
    snprintf(kpath, sizeof(kpath), "%s/keys", srv.dir);
    file_head(kpath, head, sizeof(head));
    cr_assert(strncmp(head, "oa-keys-sealed 1\n", 17) == 0, "%s", head);
    cr_assert_null(strstr(head, "kek "), "a KEK line in the sealed file");

    /* No passphrase (and no terminal): refused, saying how to give one. */
    snprintf(cmd, sizeof(cmd), "setsid -w server/oad serve --data %s --listen 127.0.0.1:0", srv.dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "--passphrase-file"), "%s", out);
    /* A wrong one: its own exit status, and neither passphrase in the output. */
    snprintf(cmd, sizeof(cmd), "setsid -w server/oad serve --data %s --listen 127.0.0.1:0 --passphrase-file %s",
             srv.dir, bad);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 3, "%s", out);
    cr_assert(strstr(out, "wrong passphrase"), "%s", out);
    cr_assert_null(strstr(out, "Correct-Horse"), "%s", out);
    /* A passphrase file others may read is refused. */
    chmod(pf, 0644);
    snprintf(cmd, sizeof(cmd), "setsid -w server/oad audit verify --data %s --passphrase-file %s", srv.dir, pf);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "chmod 600"), "%s", out);
    chmod(pf, 0600);

    /* The passphrase file: oad serves, and warns that the key file shares the data's filesystem. */
    char setting[500];
    snprintf(setting, sizeof(setting), "server.passphrase_file=%s", pf);
    const char *with_file[] = {setting, NULL};
    oad_serve(&srv, with_file);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", token, sizeof(token));
    cr_assert(oad_log_contains(&srv, "event=key_file_beside_data"), "%s", oad_log_tail(&srv));
    cr_assert(!oad_log_contains(&srv, "Correct-Horse"), "the passphrase is in the log");
    cr_assert_eq(oad_stop(&srv), 0);

    /* The systemd credential, with no flag: the same. */
    beside("credentials", creds, sizeof(creds));
    cr_assert_eq(mkdir(creds, 0700), 0);
    snprintf(cred, sizeof(cred), "%s/oad-passphrase", creds);
    write_secret(cred, PASSPHRASE);
    setenv("CREDENTIALS_DIRECTORY", creds, 1);
    oad_serve(&srv, NULL);
    unsetenv("CREDENTIALS_DIRECTORY");
    cr_assert_eq(login(&srv, "sysadmin", "Root-Of-Trust-2026", token, sizeof(token)), 201);
    cr_assert(!oad_log_contains(&srv, "Correct-Horse"), "the passphrase is in the log");
    cr_assert_eq(oad_stop(&srv), 0);

    /* The offline commands open it too; unsealed, it is plain again and needs nothing. */
    snprintf(cmd, sizeof(cmd), "setsid -w server/oad audit verify --data %s --passphrase-file %s", srv.dir, pf);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    snprintf(cmd, sizeof(cmd), "setsid -w server/oad keys unseal --data %s --passphrase-file %s", srv.dir, pf);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    snprintf(cmd, sizeof(cmd), "setsid -w server/oad audit verify --data %s", srv.dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
}
