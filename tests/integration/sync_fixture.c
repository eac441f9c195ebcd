/* tests/integration/sync_fixture.c: see sync_fixture.h. */
#include "tests/integration/sync_fixture.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

void sync_office_start(struct oad *srv, const char *tag, char base[64], char tmp[256], char sys_t[128],
                       char sec_t[128])
{
    oad_start(srv, NULL);
    snprintf(base, 64, "http://127.0.0.1:%d", srv->port);
    const char *t = getenv("TEST_TMPDIR");
    snprintf(tmp, 256, "%s/%s-XXXXXX", t ? t : "/tmp", tag);
    cr_assert_not_null(mkdtemp(tmp));
    admin_login(srv, "sysadmin", "Root-Of-Trust-2026", sys_t, 128);
    admin_login(srv, "secadmin", "Label-Keeper-2026", sec_t, 128);
    struct resp r = http_json(srv, "POST", "/v1/organs", sys_t, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    resp_free(&r);
    r = http_json(srv, "POST", "/v1/departments", sys_t, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    resp_free(&r);
}

long long sync_new_doc(const struct oad *srv, const char *token, const char *title, int level, const char *scope)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"kind\":\"outgoing\",\"title\":\"%s\",\"level\":%d,\"body\":\"正文 %s\"%s%s}",
             title, level, title, scope ? ",\"scope\":" : "", scope ? scope : "");
    struct resp r = http_json(srv, "POST", "/v1/documents", token, body, NULL);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

int sync_run_oa(const char *tmp, const char *base, const char *home, const char *password, const char *server,
                const char *args, char *out, size_t n)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "HOME=%s/%s XDG_CONFIG_HOME= XDG_DATA_HOME= OA_PASSWORD=%s clients/oa --server %s %s 2>&1", tmp, home,
             password, server ? server : base, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct resp sync_feed_get(const struct oad *srv, const char *token, long long since, int limit)
{
    char path[128], h[300];
    snprintf(path, sizeof(path), "/v1/sync/changes?v=1&since=%lld&limit=%d", since, limit);
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nAccept: application/cbor\r\n", token);
    return http_do(srv, "GET", path, NULL, NULL, 0, h);
}
