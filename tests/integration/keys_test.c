/*
 * tests/integration/keys_test.c: keys off the data disk (#17), through the
 * real oad: a key file sealed with `oad keys seal` is opened at start from a
 * passphrase file or a systemd credential; without a passphrase, or with a
 * wrong one, oad refuses to start with a clear message and its own exit
 * status, and nothing secret reaches its log; oad serve warns when the key
 * file shares the data's filesystem.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
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

/* A SoftHSM2 token initialised in the test's directory; its settings for oad in `set` (NULL-terminated). */
static void softhsm_token(char set[3][600], const char **extra)
{
    char base[400], conf[500], tokens[500], pin[500], cmd[1600];
    beside("hsm", base, sizeof(base));
    snprintf(tokens, sizeof(tokens), "%s/tokens", base);
    snprintf(conf, sizeof(conf), "%s/softhsm2.conf", base);
    snprintf(pin, sizeof(pin), "%s/pin", base);
    snprintf(cmd, sizeof(cmd),
             "mkdir -p %s && printf 'directories.tokendir = %s\\nobjectstore.backend = file\\nlog.level = ERROR\\n' > %s"
             " && SOFTHSM2_CONF=%s softhsm2-util --init-token --free --label oa-office --pin 246810 --so-pin 13579",
             tokens, tokens, conf, conf);
    char out[2000];
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    setenv("SOFTHSM2_CONF", conf, 1);
    write_secret(pin, "246810");
    snprintf(set[0], 600, "keys.pkcs11_module=/usr/lib/softhsm/libsofthsm2.so");
    snprintf(set[1], 600, "keys.pkcs11_token=oa-office");
    snprintf(set[2], 600, "keys.pkcs11_pin_file=%s", pin);
    for (int i = 0; i < 3; i++)
        extra[i] = set[i];
    extra[3] = NULL;
}

static long long upload_file(const char *token, long long doc, const char *content)
{
    char path[128], headers[300];
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments?name=note.txt", doc);
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\nAccept: application/json\r\n", token);
    struct resp r = http_do(&srv, "POST", path, "application/octet-stream", content, strlen(content), headers);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static void expect_file(const char *token, long long doc, long long att, const char *content)
{
    char path[128], headers[300];
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments/%lld", doc, att);
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", token);
    struct resp r = http_do(&srv, "GET", path, NULL, NULL, 0, headers);
    cr_assert_eq(r.status, 200, "%d %s\n%s", r.status, r.body, oad_log_tail(&srv));
    cr_assert_eq(r.body_len, strlen(content));
    cr_assert(memcmp(r.body, content, r.body_len) == 0);
    resp_free(&r);
}

Test(keys, keks_in_a_softhsm2_token_survive_a_kill_and_restart)
{
    char set[3][600], sys[128], secadm[128], writer[128], cmd[2000], out[4096], head[4096];
    const char *extra[4];
    oad_prepare(&srv);
    softhsm_token(set, extra);
    oad_init(&srv, extra);
    char kpath[400];
    snprintf(kpath, sizeof(kpath), "%s/keys", srv.dir);
    file_head(kpath, head, sizeof(head));
    cr_assert(strstr(head, "kek-token 2 1\n"), "%s", head);
    cr_assert_null(strstr(head, "kek 2 1 "), "a KEK in the file: %s", head);
    cr_assert(strstr(head, "db-key-token 1 ") && !strstr(head, "db-key 1 "), "the database key in plain: %s", head);
    oad_serve(&srv, extra);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", secadm, sizeof(secadm));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    resp_free(&r);
    make_person(&srv, sys, secadm, "writer", "[\"staff\"]", 3, "Fresh-Secret-3-Qx", writer, sizeof(writer));
    r = http_json(&srv, "POST", "/v1/documents", writer,
                  "{\"kind\":\"outgoing\",\"title\":\"令牌测试\",\"level\":2,\"body\":\"正文\"}", NULL);
    json_t *j = ok_json(&r, 201);
    long long doc = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    long long att = upload_file(writer, doc, "秘密附件：由令牌中的密钥包裹");
    expect_file(writer, doc, att, "秘密附件：由令牌中的密钥包裹");

    /* kill -9, restart with the token: the file still reads. */
    kill(srv.pid, SIGKILL);
    oad_wait(&srv, 5000);
    srv.pid = 0;
    oad_serve(&srv, extra);
    cr_assert_eq(login(&srv, "writer", "Fresh-Secret-3-Qx", writer, sizeof(writer)), 201);
    expect_file(writer, doc, att, "秘密附件：由令牌中的密钥包裹");
    /* A rotation makes the new version in the token; the running oad rewraps to it; still reads. */
    snprintf(cmd, sizeof(cmd), "server/oad keys rotate --level 2 --data %s --set '%s' --set '%s' --set '%s'", srv.dir,
             set[0], set[1], set[2]);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    file_head(kpath, head, sizeof(head));
    cr_assert(strstr(head, "kek-token 2 2\n"), "%s", head);
    for (int i = 0; i < 200 && !oad_log_contains(&srv, "event=keys_reloaded"); i++)
        usleep(20000);
    expect_file(writer, doc, att, "秘密附件：由令牌中的密钥包裹");
    cr_assert_eq(oad_stop(&srv), 0);

    /* Without the token's settings oad says what is missing; with a wrong PIN, that. */
    snprintf(cmd, sizeof(cmd), "setsid -w server/oad serve --data %s --listen 127.0.0.1:0", srv.dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "keys.pkcs11_module"), "%s", out);
    char badpin[400];
    beside("badpin", badpin, sizeof(badpin));
    write_secret(badpin, "000000");
    snprintf(cmd, sizeof(cmd),
             "setsid -w server/oad serve --data %s --listen 127.0.0.1:0 --set '%s' --set '%s' "
             "--set keys.pkcs11_pin_file=%s",
             srv.dir, set[0], set[1], badpin);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "wrong PIN"), "%s", out);
    cr_assert_null(strstr(out, "000000"), "%s", out);
    unsetenv("SOFTHSM2_CONF");
}

/* The authenticator secrets are wrapped under the top level's KEK: a rotation of that level rewraps them
 * before it retires the old version, so secadmin still passes a step-up afterwards. */
Test(keys, an_authenticator_survives_a_rotation_of_the_top_level_key)
{
    char sys[128], secadm[128], clerk[128], cmd[1000], out[4096], head[4096], kpath[400];
    oad_start(&srv, NULL);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", secadm, sizeof(secadm));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    resp_free(&r);
    long long id = make_person(&srv, sys, secadm, "clerk", "[\"staff\"]", 1, "Fresh-Secret-1-Qx", clerk, sizeof(clerk));
    snprintf(kpath, sizeof(kpath), "%s/keys", srv.dir);
    file_head(kpath, head, sizeof(head));
    cr_assert(strstr(head, "kek 4 1 "), "%s", head);
    snprintf(cmd, sizeof(cmd), "server/oad keys rotate --level 4 --data %s", srv.dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    /* The running oad rewraps and retires version 1 of level 4 once nothing uses it. */
    bool retired = false;
    for (int i = 0; i < 500 && !retired; i++) {
        usleep(20000);
        file_head(kpath, head, sizeof(head));
        retired = strstr(head, "kek 4 1 ") == NULL;
    }
    cr_assert(retired, "level 4 version 1 was never retired: %s", oad_log_tail(&srv));
    cr_assert_eq(oad_stop(&srv), 0);
    oad_serve(&srv, NULL);
    /* A login with a code of a step not used yet (the step-ups above used this one): the secret unwraps. */
    char body[300], code[7];
    sleep((unsigned)(31 - time(NULL) % 30));
    totp_at(secadmin_totp_secret(), time(NULL), code);
    snprintf(body, sizeof(body), "{\"username\":\"secadmin\",\"password\":\"Label-Keeper-2026\",\"totp\":\"%s\"}", code);
    r = http_json(&srv, "POST", "/v1/sessions", NULL, body, NULL);
    cr_assert_eq(r.status, 201, "secadmin's authenticator no longer opens after the rotation: %d %s", r.status,
                 r.body);
    resp_free(&r);
    (void)id;
    cr_assert_eq(oad_stop(&srv), 0);
}
