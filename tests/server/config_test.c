/* tests/server/config_test.c: defaults, the INI file and flag-style settings. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *tmpfile_path(void)
{
    static char p[256];
    const char *t = getenv("TEST_TMPDIR");
    snprintf(p, sizeof(p), "%s/oad.conf", t ? t : "/tmp");
    return p;
}

Test(config, file_overrides_defaults)
{
    struct oa_config c;
    char cause[256];
    oa_config_defaults(&c);
    cr_assert_eq(c.listen_port, 8340);
    cr_assert_str_eq(c.listen_host, "127.0.0.1");
    cr_assert(!c.argon2_explicit);
    write_file(tmpfile_path(), "; comment\n[server]\nlisten = [::1]:9000\nlog_level = warn\n"
                               "[http]\nmax_connections = 77\n[security]\nargon2_opslimit = 4\n");
    cr_assert_eq(oa_config_load(&c, tmpfile_path(), cause, sizeof(cause)), 0, "%s", cause);
    cr_assert_str_eq(c.listen_host, "::1");
    cr_assert_eq(c.listen_port, 9000);
    cr_assert_eq(c.max_connections, 77);
    cr_assert_eq(c.argon2_opslimit, 4);
    cr_assert(c.argon2_explicit);
}

Test(config, bad_files_name_the_line_and_the_setting)
{
    struct oa_config c;
    char cause[256];
    oa_config_defaults(&c);
    write_file(tmpfile_path(), "[http]\nmax_connections = 10\nmax_connections = lots\n");
    cr_assert_eq(oa_config_load(&c, tmpfile_path(), cause, sizeof(cause)), -1);
    cr_assert(strstr(cause, "line 3") && strstr(cause, "max_connections"), "%s", cause);
    write_file(tmpfile_path(), "[http]\nmax_conections = 10\n");
    cr_assert_eq(oa_config_load(&c, tmpfile_path(), cause, sizeof(cause)), -1);
    cr_assert(strstr(cause, "unknown setting"), "%s", cause);
    cr_assert_eq(oa_config_load(&c, "/nonexistent/oad.conf", cause, sizeof(cause)), -1);
    cr_assert(strstr(cause, "cannot open"), "%s", cause);
}

Test(config, values_are_range_checked)
{
    struct oa_config c;
    char cause[256];
    oa_config_defaults(&c);
    cr_assert_eq(oa_config_set(&c, "http", "max_connections", "0", cause, sizeof(cause)), -1);
    cr_assert_eq(oa_config_set(&c, "http", "max_connections", "-5", cause, sizeof(cause)), -1);
    cr_assert_eq(oa_config_set(&c, "http", "max_connections", "12x", cause, sizeof(cause)), -1);
    cr_assert_eq(oa_config_set(&c, "http", "max_header_bytes", "99999999999", cause, sizeof(cause)), -1);
    cr_assert_eq(oa_config_set(&c, "server", "log_level", "loud", cause, sizeof(cause)), -1);
    cr_assert_eq(oa_config_set_listen(&c, "nohost"), -1);
    cr_assert_eq(oa_config_set_listen(&c, "1.2.3.4:70000"), -1);
    cr_assert_eq(oa_config_set_listen(&c, "0.0.0.0:0"), 0);
    cr_assert_eq(c.listen_port, 0);
}

/* #13 item 5: README's example configuration loads exactly as written. */
Test(config, the_readme_example_loads_as_written)
{
    FILE *f = fopen("README.md", "r");
    cr_assert_not_null(f, "README.md is not in the test's runfiles");
    FILE *out = fopen(tmpfile_path(), "w");
    cr_assert_not_null(out);
    char line[512];
    bool in_example = false, seen = false;
    size_t lines = 0;
    while (fgets(line, sizeof(line), f)) {
        if (!in_example) {
            /* The block starts at the first indented "[section]" line after "Example:". */
            if (strstr(line, "Example:") != NULL)
                seen = true;
            else if (seen && strncmp(line, "    [", 5) == 0)
                in_example = true;
            if (!in_example)
                continue;
        }
        if (strncmp(line, "    ", 4) != 0 && line[0] != '\n')
            break;
        fputs(line[0] == '\n' ? line : line + 4, out);
        lines++;
    }
    fclose(f);
    fclose(out);
    cr_assert_gt(lines, 10, "no example configuration found in README.md");
    struct oa_config c;
    char cause[256] = "";
    oa_config_defaults(&c);
    cr_assert_eq(oa_config_load(&c, tmpfile_path(), cause, sizeof(cause)), 0, "README's example: %s", cause);
}

Test(config, connections_per_source)
{
    struct oa_config c;
    char cause[256];
    oa_config_defaults(&c);
    cr_assert_eq(c.max_connections_per_source, 256);
    cr_assert_eq(oa_config_set(&c, "http", "max_connections_per_source", "0", cause, sizeof(cause)), -1);
    cr_assert_eq(oa_config_set(&c, "http", "max_connections_per_source", "8", cause, sizeof(cause)), 0);
    cr_assert_eq(c.max_connections_per_source, 8);
}

Test(config, the_metrics_settings_are_checked_and_the_token_never_echoed)
{
    struct oa_config c;
    char cause[256];
    oa_config_defaults(&c);
    cr_assert_str_eq(c.metrics_scrape_token, "");
    cr_assert(!c.metrics_allow_remote);
    const char *bad[] = {"short-token", "has a space in it, sixteen+", "t\xc3\xa9l\xc3\xa9phone-token-123456"};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(oa_config_set(&c, "metrics", "scrape_token", bad[i], cause, sizeof(cause)), -1);
        cr_assert(strstr(cause, "scrape_token") && !strstr(cause, bad[i]), "%s", cause);
    }
    char longest[130];
    memset(longest, 'k', 129);
    longest[129] = '\0';
    cr_assert_eq(oa_config_set(&c, "metrics", "scrape_token", longest, cause, sizeof(cause)), -1);
    longest[128] = '\0';
    cr_assert_eq(oa_config_set(&c, "metrics", "scrape_token", longest, cause, sizeof(cause)), 0);
    cr_assert_str_eq(c.metrics_scrape_token, longest);
    cr_assert_eq(oa_config_set(&c, "metrics", "allow_remote", "maybe", cause, sizeof(cause)), -1);
    cr_assert_eq(oa_config_set(&c, "metrics", "allow_remote", "true", cause, sizeof(cause)), 0);
    cr_assert(c.metrics_allow_remote);
}
