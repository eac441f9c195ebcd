/* tests/integration/cli_test.c: the oad command line, run as a new user would. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int run(const char *args, char *out, size_t n)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "server/oad %s 2>&1", args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(cli, help_and_version)
{
    char out[8192];
    cr_assert_eq(run("--help", out, sizeof(out)), 0);
    cr_assert(strstr(out, "Usage: oad COMMAND") && strstr(out, "serve") && strstr(out, "init"));
    cr_assert_eq(run("--version", out, sizeof(out)), 0);
    cr_assert(strncmp(out, "oad ", 4) == 0, "%s", out);
    cr_assert_eq(run("frobnicate", out, sizeof(out)), 2);
    cr_assert(strstr(out, "unknown command"));
    cr_assert_eq(run("serve --listen nonsense", out, sizeof(out)), 2);
}

Test(cli, init_creates_private_files_once_and_serve_needs_init)
{
    char dir[512], args[1024], out[4096], path[600];
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/cli-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(args, sizeof(args), "serve --data %s/none", dir);
    cr_assert_eq(run(args, out, sizeof(out)), 1);
    cr_assert(strstr(out, "oad init"), "%s", out);

    snprintf(args, sizeof(args), "init --data %s/d --set security.argon2_opslimit=1 --set security.argon2_memlimit=8192", dir);
    cr_assert_eq(run(args, out, sizeof(out)), 0, "%s", out);
    const char *files[] = {"keys", "initial-credentials", "oa.db"};
    for (int i = 0; i < 3; i++) {
        struct stat st;
        snprintf(path, sizeof(path), "%s/d/%s", dir, files[i]);
        cr_assert_eq(stat(path, &st), 0, "%s missing", path);
        cr_assert_eq(st.st_mode & 077, 0, "%s is readable by others: %o", path, st.st_mode & 0777);
    }
    snprintf(path, sizeof(path), "%s/d/initial-credentials", dir);
    FILE *f = fopen(path, "r");
    char user[64], pw[64];
    int n = 0;
    while (fscanf(f, "%63s %63s", user, pw) == 2) {
        cr_assert(strlen(pw) >= 20);
        n++;
    }
    fclose(f);
    cr_assert_eq(n, 3);
    cr_assert_eq(run(args, out, sizeof(out)), 1, "a second init succeeded");
    cr_assert(strstr(out, "already initialised"));
}

/* #18 item 5: one damaged key in the key file stops oad at start with a clear
 * message, instead of failing the first time that key is needed. */
Test(cli, a_damaged_key_file_is_refused_at_start)
{
    char dir[256], out[4096], args[512], path[400];
    const char *t = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/keys-XXXXXX", t ? t : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(args, sizeof(args), "init --data %s/d --set security.argon2_opslimit=1 --set security.argon2_memlimit=8192", dir);
    cr_assert_eq(run(args, out, sizeof(out)), 0, "%s", out);
    /* Flip one hex digit of the level-2 key: it still parses as a key. */
    snprintf(path, sizeof(path), "%s/d/keys", dir);
    FILE *f = fopen(path, "r+");
    cr_assert_not_null(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = 0;
    char *line = strstr(text, "kek 2 1 ");
    cr_assert_not_null(line, "%s", text);
    char *digit = line + strlen("kek 2 1 ") + 5;
    *digit = *digit == '0' ? '1' : '0';
    rewind(f);
    fwrite(text, 1, n, f);
    fclose(f);
    snprintf(args, sizeof(args), "serve --data %s/d --listen 127.0.0.1:0", dir);
    cr_assert_eq(run(args, out, sizeof(out)), 1, "oad served with a damaged key file: %s", out);
    cr_assert(strstr(out, "key file") && strstr(out, "damaged"), "%s", out);
}
