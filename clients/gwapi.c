/*
 * clients/gwapi.c: oagw's side of the gateway contract (docs/API.md
 * "Gateway"): a session as the gateway account, JSON requests, uploads.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clients/gw-int.h"
#include "proto/log.h"

/* The credentials file: the user name on the first line, the password on the second; mode 0600. */
static int gw_login(struct gw *g, struct net_resp *r)
{
    char buf[1024] = {0}, *user = buf, *pass = NULL;
    struct stat st;
    int fd = open(g->conf.credentials, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || (st.st_mode & 077)) {
        oa_log(OA_LOG_ERROR, "credentials", "path=%s problem=%s", g->conf.credentials,
               fd < 0 ? strerror(errno) : "readable by others (chmod 600 it)");
        if (fd >= 0)
            close(fd);
        return 1;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && (pass = strchr(buf, '\n')) != NULL) {
        *pass++ = '\0';
        pass[strcspn(pass, "\r\n")] = '\0';
    }
    if (!pass || !*user || !*pass) {
        oa_log(OA_LOG_ERROR, "credentials", "path=%s problem=%s", g->conf.credentials,
               "want the user name and the password on two lines");
        sodium_memzero(buf, sizeof buf);
        return 1;
    }
    json_t *j = json_pack("{s:s, s:s}", "username", user, "password", pass);
    char *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    sodium_memzero(buf, sizeof buf);
    int rc = net_request(g->conf.server, NULL, "POST", "/v1/sessions", "application/json", "application/json", body,
                         strlen(body), NULL, r);
    sodium_memzero(body, strlen(body));
    free(body);
    if (rc != 0)
        return -1;
    json_t *ans = r->status == 201 || r->status == 200 ? json_loads(r->body, 0, NULL) : NULL;
    const char *tok = ans ? json_string_value(json_object_get(ans, "token")) : NULL;
    if (!tok || strlen(tok) >= sizeof g->token) {
        oa_log(OA_LOG_ERROR, "login_failed", "status=%ld", r->status);
        json_decref(ans);
        return 1;
    }
    snprintf(g->token, sizeof g->token, "%s", tok);
    json_decref(ans);
    net_resp_free(r);
    oa_log(OA_LOG_INFO, "logged_in", "server=%s", g->conf.server);
    return 0;
}

int oa__gw_call(struct gw *g, const char *method, const char *path, const char *json, struct net_resp *r)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        memset(r, 0, sizeof *r);
        if (!g->token[0]) {
            int lr = gw_login(g, r);
            if (lr != 0)
                return lr < 0 ? -1 : 0;
        }
        if (net_request(g->conf.server, g->token, method, path, "application/json", json ? "application/json" : NULL,
                        json, json ? strlen(json) : 0, NULL, r) != 0) {
            g->server_down = true;
            return -1;
        }
        g->server_down = false;
        if (r->status != 401)
            return 0;
        g->token[0] = '\0';
        net_resp_free(r);
    }
    return 0;
}

int oa__gw_upload(struct gw *g, int dirfd, const struct bundle_file *f, char *id, size_t idlen, struct net_resp *r)
{
    json_t *j = json_pack("{s:s, s:I}", "name", f->name, "length", (json_int_t)f->size);
    char *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    int rc = oa__gw_call(g, "POST", "/v1/uploads", body, r);
    free(body);
    if (rc < 0)
        return -1;
    if (r->status != 201)
        return 1;
    json_t *ans = json_loads(r->body, 0, NULL);
    const char *u = ans ? json_string_value(json_object_get(ans, "upload")) : NULL;
    if (!u || strlen(u) >= idlen || strspn(u, "0123456789abcdefABCDEF-_") != strlen(u)) {
        json_decref(ans);
        return 1;
    }
    snprintf(id, idlen, "%s", u);
    json_decref(ans);
    net_resp_free(r);
    int fd = openat(dirfd, f->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    FILE *fp = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!fp) {
        if (fd >= 0)
            close(fd);
        snprintf(r->error, sizeof r->error, "%s", strerror(errno));
        return -1;
    }
    char path[128];
    snprintf(path, sizeof path, "/v1/uploads/%s", id);
    const char *hdrs[] = {"Upload-Offset: 0", NULL};
    rc = net_upload_file(g->conf.server, g->token, "PATCH", path, fp, 0, f->size, hdrs, r);
    fclose(fp);
    if (rc != 0) {
        g->server_down = true;
        return -1;
    }
    return r->status >= 200 && r->status < 300 ? 0 : 1;
}
