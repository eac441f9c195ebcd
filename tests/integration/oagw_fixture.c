/*
 * tests/integration/oagw_fixture.c: what oagw_test.c and oagw_crash_test.c
 * share (oagw_fixture.h): a real oad with an office, oagw's directories,
 * keys and configuration, and the helpers that drive them.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/oagw_fixture.h"

struct oad o;
char dir[300], conf[400], clerk[256], handler[256], mayor[256], oagw_pub[64];

const char *oagw_bin(void)
{
    const char *p = getenv("OAGW_BIN");
    return p ? p : "clients/oagw";
}

const char *gwgen(void)
{
    const char *p = getenv("GWGEN");
    return p ? p : "tests/clients/gwgen.py";
}

void sh(const char *cmd)
{
    char out[4096];
    int rc = run_capture(cmd, out, sizeof out);
    cr_assert_eq(rc, 0, "%s: %d\n%s", cmd, rc, out);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static char portal_pub_saved[64];

void oagw_setup(void)
{
    char sys[256], sec[256], gwtok[256], cmd[1200], out[512];
    oad_start(&o, NULL);
    admin_login(&o, "sysadmin", "Root-Of-Trust-2026", sys, sizeof sys);
    admin_login(&o, "secadmin", "Key-Keeper-2026xy", sec, sizeof sec);
    struct resp r = http_json(&o, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    json_decref(ok_json(&r, 201));
    r = http_json(&o, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    json_decref(ok_json(&r, 201));
    make_person(&o, sys, sec, "gw", "[\"gateway\"]", 0, "Ferry-Side-2026x", gwtok, sizeof gwtok);
    make_person(&o, sys, sec, "clerk", "[\"secretariat\",\"staff\"]", 4, "Office-Pass-C-9x", clerk, sizeof clerk);
    make_person(&o, sys, sec, "handler", "[\"staff\"]", 2, "Desk-Work-2026-q", handler, sizeof handler);
    make_person(&o, sys, sec, "mayor", "[\"leader\"]", 4, "City-Hall-2026-q", mayor, sizeof mayor);
    snprintf(dir, sizeof dir, "%s.gw", o.dir);
    const char *subs[] = {"", "/inbox", "/outbox", "/clamav"};
    for (int i = 0; i < 4; i++) {
        char p[400];
        snprintf(p, sizeof p, "%s%s", dir, subs[i]);
        cr_assert_eq(mkdir(p, 0700), 0, "%s: %s", p, strerror(errno));
    }
    char p[400];
    snprintf(p, sizeof p, "%s/credentials", dir);
    write_text(p, "gw\nFerry-Side-2026x\n", 0600);
    snprintf(p, sizeof p, "%s/clamav/oa-test.hdb", dir);
    /* md5 and size of the EICAR test file */
    write_text(p, "44d88612fea8a8f36de82e1278abb02f:68:Oa.Test.EICAR\n", 0644);
    snprintf(cmd, sizeof cmd, "%s keygen --out %s/portal.key", oagw_bin(), dir);
    cr_assert_eq(run_capture(cmd, out, sizeof out), 0, "%s", out);
    out[strcspn(out, "\n")] = '\0';
    char portal_pub[64];
    snprintf(portal_pub, sizeof portal_pub, "%.60s", out);
    snprintf(cmd, sizeof cmd, "%s keygen --out %s/other.key", oagw_bin(), dir);
    sh(cmd);
    snprintf(cmd, sizeof cmd, "%s keygen --out %s/oagw.key", oagw_bin(), dir);
    cr_assert_eq(run_capture(cmd, out, sizeof out), 0, "%s", out);
    snprintf(oagw_pub, sizeof oagw_pub, "%.60s", out);
    oagw_pub[strcspn(oagw_pub, "\n")] = '\0';
    snprintf(portal_pub_saved, sizeof portal_pub_saved, "%s", portal_pub);
    write_conf();
}

/* oagw's configuration, for oad where it listens now. */
void write_conf(void)
{
    const char *portal_pub = portal_pub_saved;
    char text[2400];
    snprintf(text, sizeof text,
             "[oagw]\nserver = http://%s:%d\ncredentials = %s/credentials\ninbox = %s/inbox\noutbox = %s/outbox\n"
             "state = %s/state\nkey = %s/oagw.key\nsender = oa-intranet\nclamav_db = %s/clamav\n"
             "settle_ms = 0\nrescan_seconds = 1\noutbox_poll_seconds = 1\n"
             "[limits]\nmax_entries = 10\nmax_entry_bytes = 1048576\nmax_total_bytes = 3145728\nmax_ratio = 50\n"
             "[trust]\nportal = %s\n",
             o.host, o.port, dir, dir, dir, dir, dir, dir, portal_pub);
    snprintf(conf, sizeof conf, "%s/gw.conf", dir);
    write_text(conf, text, 0600);
}

void oagw_teardown(void)
{
    oad_stop(&o);
}


/* A good public_request bundle with this seq into the inbox (written aside, then renamed). */
void deliver(const char *name, int seq)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "python3 %s good %s/inbox/%s %s/portal.key %d", gwgen(), dir, name, dir, seq);
    sh(cmd);
}

char last_run[8192];

void run_once(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s run --once --config %s", oagw_bin(), conf);
    cr_assert_eq(run_capture(cmd, last_run, sizeof last_run), 0, "%s", last_run);
}

json_t *status(void)
{
    char p[400];
    snprintf(p, sizeof p, "%s/state/status.json", dir);
    return json_load_file(p, 0, NULL);
}

long long status_int(const char *key)
{
    json_t *s = status();
    long long v = s ? json_integer_value(json_object_get(s, key)) : -1;
    json_decref(s);
    return v;
}

int count_files(const char *sub, const char *suffix)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    DIR *d = opendir(p);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name), sl = suffix ? strlen(suffix) : 0;
        if (de->d_name[0] == '.')
            continue;
        bool has = l > sl && sl && strcmp(de->d_name + l - sl, suffix) == 0;
        n += suffix ? has : !(l > 7 && strcmp(de->d_name + l - 7, ".reason") == 0);
    }
    if (d)
        closedir(d);
    return n;
}

/* Imported public requests the secretariat sees. */
int requests(void)
{
    struct resp r = http_json(&o, "GET", "/v1/documents?view=all&kind=request&limit=200", clerk, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    int n = (int)json_array_size(json_object_get(j, "documents"));
    json_decref(j);
    return n;
}

pid_t start_daemon(void)
{
    char log[400];
    snprintf(log, sizeof log, "%s/oagw.log", dir);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(oagw_bin(), "oagw", "run", "--config", conf, (char *)NULL);
        _exit(127);
    }
    return pid;
}

bool alive(pid_t pid)
{
    return waitpid(pid, NULL, WNOHANG) == 0;
}

bool wait_for(bool (*cond)(void), int ms)
{
    for (int t = 0; t < ms; t += 50) {
        if (cond())
            return true;
        usleep(50 * 1000);
    }
    return cond();
}

static int key_counter;

/* A lifecycle action that must succeed. */
void act(const char *token, long long id, const char *action, const char *opinion, const char *params)
{
    char path[96], hdr[128];
    json_t *b = json_pack("{s:s}", "action", action);
    if (opinion)
        json_object_set_new(b, "opinion", json_string(opinion));
    if (params)
        json_object_set_new(b, "params", json_loads(params, 0, NULL));
    char *body = json_dumps(b, 0);
    json_decref(b);
    snprintf(path, sizeof path, "/v1/documents/%lld/actions", id);
    snprintf(hdr, sizeof hdr, "Idempotency-Key: oagw-%d-%ld\r\n", ++key_counter, (long)getpid());
    struct resp r = http_json(&o, "POST", path, token, body, hdr);
    free(body);
    cr_assert_eq(r.status, 200, "%s on %lld: %d %s", action, id, r.status, r.body);
    resp_free(&r);
}

long long the_request(void)
{
    struct resp r = http_json(&o, "GET", "/v1/documents?view=all&kind=request&limit=10", clerk, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    long long id = json_integer_value(json_object_get(json_array_get(json_object_get(j, "documents"), 0), "id"));
    json_decref(j);
    return id;
}

/* Opens an outgoing bundle as the portal would: trusting oagw's key only. Its manifest (JSON) into m. */
json_t *unpack(const char *file, const char *to)
{
    char cmd[1600], out[16384];
    snprintf(cmd, sizeof cmd, "%s unpack --trust oa-intranet=%s --to %s %s/outbox/%s 2>&1", oagw_bin(), oagw_pub, to,
             dir, file);
    cr_assert_eq(run_capture(cmd, out, sizeof out), 0, "%s", out);
    json_t *m = json_loads(out, 0, NULL);
    cr_assert(m, "%s", out);
    return m;
}

/* The last lines of oagw's log (a static buffer), for failure messages. */
const char *oagw_log_tail(void)
{
    static char buf[4000];
    char p[400];
    snprintf(p, sizeof p, "%s/oagw.log", dir);
    buf[0] = '\0';
    FILE *f = fopen(p, "r");
    if (!f)
        return buf;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > 3900 ? size - 3900 : 0, SEEK_SET);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}
