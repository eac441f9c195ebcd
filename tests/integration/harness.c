/* tests/integration/harness.c: see harness.h. */
#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <sodium.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "storage/cryptvfs.h"
#include "storage/keys.h"

static const char *oad_path(void)
{
    const char *p = getenv("OAD_BIN");
    return p ? p : "server/oad";
}

#ifdef OA_TEST_TLS
/*
 * Built with OA_TEST_TLS (the *_tls_test targets), every oad serves TLS
 * with a certificate from `oad tls init` beside its data directory, and every
 * connection the harness makes is TLS, verified against that CA.
 */
static char tls_args[2][700];
static void tls_prepare(const struct oad *o)
{
    char parent[300], cmd[900], out[2048];
    snprintf(parent, sizeof(parent), "%.*s", (int)(strlen(o->dir) - strlen("/data")), o->dir);
    snprintf(tls_args[0], sizeof(tls_args[0]), "tls.cert=%s/tls/server.pem", parent);
    snprintf(tls_args[1], sizeof(tls_args[1]), "tls.key=%s/tls/server.key", parent);
    snprintf(cmd, sizeof(cmd), "%s/tls/ca.pem", parent);
    if (access(cmd, F_OK) != 0) {
        snprintf(cmd, sizeof(cmd), "%s tls init --dir %s/tls --name 127.0.0.1,%s", oad_path(), parent, o->host);
        cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    }
    snprintf(cmd, sizeof(cmd), "%s/tls/ca.pem", parent);
    http_use_tls(cmd, NULL, NULL);
}
#endif

static void build_args(char **argv, int *argc, const struct oad *o, const char *cmd, const char *const *extra)
{
    static char data[300];
    snprintf(data, sizeof(data), "%s", o->dir);
    argv[(*argc)++] = (char *)oad_path();
    argv[(*argc)++] = (char *)cmd;
    argv[(*argc)++] = "--data";
    argv[(*argc)++] = data;
    argv[(*argc)++] = "--set";
    argv[(*argc)++] = "security.argon2_opslimit=1";
    argv[(*argc)++] = "--set";
    argv[(*argc)++] = "security.argon2_memlimit=8192";
    argv[(*argc)++] = "--set";
    argv[(*argc)++] = "security.login_failure_delay_ms=20";
    for (int i = 0; extra && extra[i]; i++) {
        argv[(*argc)++] = "--set";
        argv[(*argc)++] = (char *)extra[i];
    }
#ifdef OA_TEST_TLS
    tls_prepare(o);
    for (int i = 0; i < 2; i++) {
        argv[(*argc)++] = "--set";
        argv[(*argc)++] = tls_args[i];
    }
#endif
}

void oad_prepare(struct oad *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->host, sizeof(o->host), "127.0.0.1");
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(o->dir, sizeof(o->dir), "%s/oad-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(o->dir));
    strcat(o->dir, "/data");
    snprintf(o->log, sizeof(o->log), "%s.log", o->dir);
}

void oad_start_at(struct oad *o, const char *host, const char *const *extra)
{
    oad_prepare(o);
    snprintf(o->host, sizeof(o->host), "%s", host);
    oad_init(o, extra);
    oad_serve(o, extra);
}

void oad_start(struct oad *o, const char *const *extra)
{
    oad_start_at(o, "127.0.0.1", extra);
}

void oad_init(struct oad *o, const char *const *extra)
{
    char *argv[64];
    int argc = 0;
    build_args(argv, &argc, o, "init", extra);
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "oad init failed");
    oad_use_db_key(o);
}

void oad_use_db_key(const struct oad *o)
{
    char path[400], cause[400];
    struct oa_keys k;
    snprintf(path, sizeof(path), "%s/keys", o->dir);
    cr_assert_geq(sodium_init(), 0);
    if (oa_keys_load(path, &k, cause, sizeof(cause)) == 0 && k.has_db_key) {
        cr_assert_eq(oa_cryptvfs_install(k.db_key, (enum oa_db_suite)k.db_suite), 0);
        cr_assert_eq(oa_cryptvfs_as_default(), 0);
    }
    oa_keys_wipe(&k);
}

void oad_serve(struct oad *o, const char *const *extra)
{
    char *argv[64];
    int argc = 0;
    struct stat st;
    long from = stat(o->log, &st) == 0 ? (long)st.st_size : 0;
    o->port = 0;
    if (o->host[0] == '\0')
        snprintf(o->host, sizeof(o->host), "127.0.0.1");
    build_args(argv, &argc, o, "serve", extra);
    char listen[80], marker[120];
    snprintf(listen, sizeof(listen), "%s:0", o->host);
    snprintf(marker, sizeof(marker), "event=listening addr=%s:", o->host);
    argv[argc++] = "--listen";
    argv[argc++] = listen;
    argv[argc] = NULL;
    o->pid = fork();
    if (o->pid == 0) {
        int fd = open(o->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    /* Up to 30 s: a start after kill -9 recovers the WAL and checks the database, slowly under ASan on a
     * busy machine; a start that fails says so at once. */
    int died = 0;
    for (int i = 0; i < 3000 && o->port == 0 && !died; i++) {
        FILE *f = fopen(o->log, "r");
        char line[1024];
        if (f)
            fseek(f, from, SEEK_SET);
        while (f && fgets(line, sizeof(line), f)) {
            char *p = strstr(line, marker), *end = NULL;
            long v = p ? strtol(p + strlen(marker), &end, 10) : 0;
            if (p && end != p + strlen(marker) && v > 0 && v <= 65535)
                o->port = (int)v;
        }
        if (f)
            fclose(f);
        int status;
        if (o->port == 0 && waitpid(o->pid, &status, WNOHANG) == o->pid)
            died = 1;
        else if (o->port == 0)
            usleep(10000);
    }
    cr_assert(!died, "oad exited before it listened:\n%s", oad_log_tail(o));
    cr_assert(o->port > 0, "oad did not start listening within 30 s:\n%s", oad_log_tail(o));
}

int oad_wait(struct oad *o, int timeout_ms)
{
    int st = 0;
    for (int i = 0; i < timeout_ms / 10; i++) {
        if (waitpid(o->pid, &st, WNOHANG) == o->pid) {
            o->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        usleep(10000);
    }
    return -1;
}

int oad_stop(struct oad *o)
{
    if (o->pid <= 0)
        return -1;
    kill(o->pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 1500; i++) {
        pid_t p = waitpid(o->pid, &st, WNOHANG);
        if (p == o->pid) {
            o->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        usleep(10000);
    }
    kill(o->pid, SIGKILL);
    waitpid(o->pid, &st, 0);
    o->pid = 0;
    return -1;
}

void oad_initial_password(const struct oad *o, const char *user, char *out, size_t n)
{
    char path[400], name[64], pw[128];
    snprintf(path, sizeof(path), "%s/initial-credentials", o->dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    out[0] = '\0';
    while (fscanf(f, "%63s %127s", name, pw) == 2)
        if (strcmp(name, user) == 0)
            snprintf(out, n, "%s", pw);
    fclose(f);
    cr_assert(out[0] != '\0', "no initial password for %s", user);
}

bool oad_log_contains(const struct oad *o, const char *text)
{
    FILE *f = fopen(o->log, "r");
    if (f == NULL)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

bool oad_log_wait(const struct oad *o, const char *text, int secs)
{
    for (int i = 0; i < secs * 20; i++) {
        if (oad_log_contains(o, text))
            return true;
        usleep(50000);
    }
    return oad_log_contains(o, text);
}

/* secadmin's session and authenticator, for the X-OA-OTP step-up (see harness.h). */
static char stepup_token[160], stepup_secret[64];

struct resp http_do(const struct oad *o, const char *method, const char *path, const char *ctype,
                    const void *body, size_t len, const char *headers)
{
    int fd = http_connect(o);
    char head[8192];
    int n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: test\r\n%s", method, path, headers ? headers : "");
    /* secadmin's requests carry a current code, as its client would ask the person for one. */
    if (stepup_token[0] && headers && strstr(headers, stepup_token) && !strstr(headers, "X-OA-OTP:")) {
        char code[7];
        totp_at(stepup_secret, time(NULL), code);
        n += snprintf(head + n, sizeof(head) - (size_t)n, "X-OA-OTP: %s\r\n", code);
    }
    if (ctype)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, len);
    n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
    cr_assert(http_send(fd, head, (size_t)n));
    if (ctype && len)
        cr_assert(http_send(fd, body, len));
    struct resp r;
    cr_assert(http_read(fd, &r, 10000), "no response to %s %s", method, path);
    http_close(fd);
    return r;
}

struct resp http_json(const struct oad *o, const char *method, const char *path, const char *token,
                      const char *json, const char *headers)
{
    char h[4096];
    snprintf(h, sizeof(h), "Accept: application/json\r\n%s%s%s%s", token ? "Authorization: Bearer " : "",
             token ? token : "", token ? "\r\n" : "", headers ? headers : "");
    return http_do(o, method, path, json ? "application/json" : NULL, json, json ? strlen(json) : 0, h);
}

json_t *resp_json(const struct resp *r)
{
    return json_loadb(r->body, r->body_len, 0, NULL);
}

int login(const struct oad *o, const char *user, const char *password, char *token, size_t n)
{
    json_t *req = json_pack("{s:s, s:s}", "username", user, "password", password);
    char *s = json_dumps(req, 0);
    struct resp r = http_json(o, "POST", "/v1/sessions", NULL, s, NULL);
    free(s);
    json_decref(req);
    int status = r.status;
    if (status == 201) {
        json_t *j = resp_json(&r);
        snprintf(token, n, "%s", json_string_value(json_object_get(j, "token")));
        json_decref(j);
    }
    resp_free(&r);
    return status;
}


void totp_at(const char *secret32, time_t t, char out[7])
{
    unsigned char key[64];
    size_t n = 0;
    uint32_t buf = 0;
    int bits = 0;
    for (const char *p = secret32; *p && n < sizeof(key); p++) {
        int v = *p >= 'A' && *p <= 'Z' ? *p - 'A' : *p - '2' + 26;
        buf = (buf << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            key[n++] = (unsigned char)(buf >> (bits - 8));
            bits -= 8;
        }
    }
    unsigned char msg[8], mac[20];
    uint64_t step = (uint64_t)t / 30;
    for (int i = 7; i >= 0; i--, step >>= 8)
        msg[i] = (unsigned char)step;
    unsigned int ml = 0;
    HMAC(EVP_sha1(), key, (int)n, msg, 8, mac, &ml);
    int off = mac[19] & 15;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    snprintf(out, 7, "%06u", bin % 1000000);
}

const char *secadmin_totp_secret(void)
{
    return stepup_secret;
}

/* Enrols the authenticator secadmin needs before any clearance or label change. */
static void enrol_secadmin(const struct oad *o, const char *token)
{
    struct resp r = http_json(o, "POST", "/v1/users/me/totp", token, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    snprintf(stepup_secret, sizeof(stepup_secret), "%s", json_string_value(json_object_get(j, "secret")));
    json_decref(j);
    char code[7], body[64];
    totp_at(stepup_secret, time(NULL), code);
    snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
    r = http_json(o, "POST", "/v1/users/me/totp/confirm", token, body, NULL);
    cr_assert_eq(r.status, 204, "secadmin's authenticator: %d %s", r.status, r.body);
    resp_free(&r);
    snprintf(stepup_token, sizeof(stepup_token), "%s", token);
}

void admin_login(const struct oad *o, const char *user, const char *newpw, char *token, size_t n)
{
    char otp[64];
    oad_initial_password(o, user, otp, sizeof(otp));
    cr_assert_eq(login(o, user, otp, token, n), 201);
    char body[512];
    snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"%s\"}", otp, newpw);
    struct resp r = http_json(o, "POST", "/v1/users/me/password", token, body, NULL);
    cr_assert_eq(r.status, 204, "password change: %d %s", r.status, r.body);
    resp_free(&r);
    if (strcmp(user, "secadmin") == 0)
        enrol_secadmin(o, token);
}

int run_capture(const char *cmd, char *out, size_t n)
{
    char full[2048];
    snprintf(full, sizeof(full), "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    cr_assert_not_null(p, "cannot run %s", cmd);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *oad_log_tail(const struct oad *o)
{
    static char buf[3000];
    buf[0] = '\0';
    FILE *f = fopen(o->log, "r");
    if (f == NULL)
        return buf;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > 2900 ? size - 2900 : 0, SEEK_SET);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

json_t *ok_json(struct resp *r, int status)
{
    cr_assert_eq(r->status, status, "status %d (want %d): %s", r->status, status, r->body);
    json_t *j = resp_json(r);
    cr_assert_not_null(j, "%s", r->body);
    resp_free(r);
    return j;
}

long long make_person(const struct oad *o, const char *sys, const char *secadm, const char *name, const char *roles,
                      int clearance, const char *password, char *token, size_t n)
{
    char body[512], otp[64], path[96];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"display_name\":\"%s\",\"roles\":%s,\"department_id\":1}",
             name, name, roles);
    struct resp r = http_json(o, "POST", "/v1/users", sys, body, NULL);
    json_t *j = ok_json(&r, 201);
    snprintf(otp, sizeof(otp), "%s", json_string_value(json_object_get(j, "one_time_password")));
    long long id = json_integer_value(json_object_get(json_object_get(j, "user"), "id"));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/users/%lld/clearance", id);
    snprintf(body, sizeof(body), "{\"clearance\":%d}", clearance);
    r = http_json(o, "PUT", path, secadm, body, "If-Match: *\r\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    cr_assert_eq(login(o, name, otp, token, n), 201);
    snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"%s\"}", otp, password);
    r = http_json(o, "POST", "/v1/users/me/password", token, body, NULL);
    cr_assert_eq(r.status, 204, "%d %s", r.status, r.body);
    resp_free(&r);
    return id;
}

/* Whether any regular file under d (recursively) holds s; its path into where. */
bool tree_holds(const char *d, const char *s, char *where, size_t cap)
{
    DIR *dh = opendir(d);
    if (dh == NULL)
        return false;
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(dh)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[1024];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
        if (lstat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            found = tree_holds(p, s, where, cap);
            continue;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        FILE *f = fopen(p, "rb");
        if (f == NULL)
            continue;
        char *buf = malloc((size_t)st.st_size + 1);
        size_t n = fread(buf, 1, (size_t)st.st_size, f);
        fclose(f);
        found = memmem(buf, n, s, strlen(s)) != NULL;
        if (found)
            snprintf(where, cap, "%s", p);
        free(buf);
    }
    closedir(dh);
    return found;
}
