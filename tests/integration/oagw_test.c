/*
 * tests/integration/oagw_test.c: the real oagw against the real oad, over
 * real directories: import once, duplicates, out-of-order delivery held and
 * released, the hostile corpus quarantined by a running oagw that keeps
 * running, and kill -9 rounds.  Bundles are made by tests/clients/gwgen.py
 * (Python's tarfile and Ed25519, independent of oagw).
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

#include "tests/integration/harness.h"

static struct oad o;
static char dir[300], conf[400], clerk[256], handler[256], mayor[256], oagw_pub[64];

static const char *oagw_bin(void)
{
    const char *p = getenv("OAGW_BIN");
    return p ? p : "clients/oagw";
}

static const char *gwgen(void)
{
    const char *p = getenv("GWGEN");
    return p ? p : "tests/clients/gwgen.py";
}

static void sh(const char *cmd)
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
static void write_conf(void);

static void setup(void)
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
static void write_conf(void)
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

static void teardown(void)
{
    oad_stop(&o);
}

TestSuite(oagw, .init = setup, .fini = teardown, .timeout = 240);

/* A good public_request bundle with this seq into the inbox (written aside, then renamed). */
static void deliver(const char *name, int seq)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "python3 %s good %s/inbox/%s %s/portal.key %d", gwgen(), dir, name, dir, seq);
    sh(cmd);
}

static char last_run[8192];

static void run_once(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s run --once --config %s", oagw_bin(), conf);
    cr_assert_eq(run_capture(cmd, last_run, sizeof last_run), 0, "%s", last_run);
}

static json_t *status(void)
{
    char p[400];
    snprintf(p, sizeof p, "%s/state/status.json", dir);
    return json_load_file(p, 0, NULL);
}

static long long status_int(const char *key)
{
    json_t *s = status();
    long long v = s ? json_integer_value(json_object_get(s, key)) : -1;
    json_decref(s);
    return v;
}

static int count_files(const char *sub, const char *suffix)
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
static int requests(void)
{
    struct resp r = http_json(&o, "GET", "/v1/documents?view=all&kind=request&limit=200", clerk, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    int n = (int)json_array_size(json_object_get(j, "documents"));
    json_decref(j);
    return n;
}

Test(oagw, imports_once_and_answers_duplicates)
{
    deliver("r1.tar", 1);
    char cmd[900];
    snprintf(cmd, sizeof cmd, "cp %s/inbox/r1.tar %s/again.tar", dir, dir);
    sh(cmd);
    run_once();
    cr_assert_eq(status_int("imported"), 1);
    cr_assert_eq(requests(), 1);
    cr_assert_eq(count_files("inbox", NULL), 0);
    cr_assert_eq(count_files("state/work", NULL), 0);
    /* the ferry delivers it again under another name: imported once */
    snprintf(cmd, sizeof cmd, "mv %s/again.tar %s/inbox/r1-resent.tar", dir, dir);
    sh(cmd);
    run_once();
    cr_assert_eq(status_int("duplicates"), 1);
    cr_assert_eq(requests(), 1);
    cr_assert_eq(count_files("state/quarantine", NULL), 0);
}

Test(oagw, holds_out_of_sequence_and_reports_the_gap)
{
    deliver("r1.tar", 1);
    run_once();
    deliver("r3.tar", 3);
    run_once();
    cr_assert_eq(requests(), 1);
    cr_assert_eq(count_files("state/hold", NULL), 1);
    json_t *s = status();
    json_t *gap = json_array_get(json_object_get(s, "gaps"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(gap, "sender")), "portal");
    cr_assert_eq(json_integer_value(json_object_get(gap, "seq")), 3);
    cr_assert_eq(json_integer_value(json_object_get(gap, "expected")), 2);
    cr_assert_eq(json_integer_value(json_object_get(s, "held")), 1);
    json_decref(s);
    deliver("r2.tar", 2);
    run_once();
    cr_assert_eq(requests(), 3);
    cr_assert_eq(count_files("state/hold", NULL), 0);
    cr_assert_eq(json_array_size(json_object_get((s = status()), "gaps")), 0);
    json_decref(s);
}

static pid_t start_daemon(void)
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

static bool alive(pid_t pid)
{
    return waitpid(pid, NULL, WNOHANG) == 0;
}

static bool wait_for(bool (*cond)(void), int ms)
{
    for (int t = 0; t < ms; t += 50) {
        if (cond())
            return true;
        usleep(50 * 1000);
    }
    return cond();
}

static int expected_n;
static char expected_names[128][64];

/* Every hostile bundle is in quarantine/ with its reason file. */
static bool all_quarantined(void)
{
    for (int i = 0; i < expected_n; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/state/quarantine/%s.reason", dir, expected_names[i]);
        if (access(p, F_OK) != 0)
            return false;
        p[strlen(p) - 7] = '\0';
        if (access(p, F_OK) != 0)
            return false;
    }
    return true;
}

Test(oagw, quarantines_every_hostile_bundle_and_keeps_running)
{
    pid_t pid = start_daemon();
    char cmd[2400], path[400];
    /* each written aside under a dot name and renamed into the inbox, as a ferry does */
    snprintf(cmd, sizeof cmd, "python3 %s hostile %s/inbox %s/portal.key %s/other.key", gwgen(), dir, dir, dir);
    sh(cmd);
    snprintf(path, sizeof path, "%s/expected.txt", dir);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    char name[256], reason[64];
    expected_n = 0;
    while (expected_n < 128 && fscanf(f, "%255s %63s", name, reason) == 2)
        snprintf(expected_names[expected_n++], sizeof expected_names[0], "%.63s", name);
    cr_assert_geq(expected_n, 30);
    cr_assert(wait_for(all_quarantined, 60000), "quarantined %d of %d; log: %s/oagw.log",
              count_files("state/quarantine", ".reason"), expected_n, dir);
    cr_assert(alive(pid), "oagw died");
    rewind(f);
    while (fscanf(f, "%255s %63s", name, reason) == 2) {
        char rp[700], line[128] = "";
        snprintf(rp, sizeof rp, "%s/state/quarantine/%s.reason", dir, name);
        FILE *rf = fopen(rp, "r");
        cr_assert(rf, "no reason file for %s", name);
        cr_assert(fgets(line, sizeof line, rf));
        fclose(rf);
        line[strcspn(line, "\n")] = '\0';
        cr_expect_str_eq(line, reason, "%s: want %s, got %s", name, reason, line);
        snprintf(rp, sizeof rp, "%s/state/quarantine/%s", dir, name);
        cr_expect_eq(access(rp, F_OK), 0, "%s is not in quarantine", name);
    }
    fclose(f);
    cr_assert_eq(requests(), 0, "a hostile bundle was imported");
    cr_assert_eq(count_files("inbox", NULL), 0);
    cr_assert_eq(count_files("state/work", NULL), 0);
    /* still serving: a good bundle after the corpus is imported */
    deliver("good.tar", 1);
    for (int t = 0; t < 200 && requests() == 0; t++)
        usleep(50 * 1000);
    cr_assert_eq(requests(), 1);
    cr_assert(alive(pid));
    kill(pid, SIGTERM);
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
    /* the audit trail holds one entry per quarantined bundle */
    cr_assert(oad_log_contains(&o, "/v1/gateway/quarantine"), "%s", oad_log_tail(&o));
}

static int kill_target;
static bool all_imported(void)
{
    return requests() == kill_target;
}

Test(oagw, kill_9_loses_nothing_and_imports_nothing_twice)
{
    srand((unsigned)time(NULL));
    kill_target = 10;
    for (int round = 1; round <= kill_target; round++) {
        pid_t pid = start_daemon();
        char name[32];
        snprintf(name, sizeof name, "k%02d.tar", round);
        deliver(name, round);
        if (round % 3 == 0) /* and the ferry sends an earlier one again */
            deliver("resent.tar", round - 1);
        usleep((useconds_t)(rand() % 400) * 1000);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    pid_t pid = start_daemon();
    cr_assert(wait_for(all_imported, 60000), "%d of %d imported", requests(), kill_target);
    usleep(1500 * 1000); /* a rescan more: nothing else arrives */
    cr_assert_eq(requests(), kill_target);
    cr_assert_eq(count_files("inbox", NULL), 0);
    cr_assert_eq(count_files("state/work", NULL), 0);
    cr_assert_eq(count_files("state/hold", NULL), 0);
    cr_assert_eq(count_files("state/quarantine", NULL), 0, "a good bundle was quarantined after a crash");
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static int key_counter;

/* A lifecycle action that must succeed. */
static void act(const char *token, long long id, const char *action, const char *opinion, const char *params)
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

static long long the_request(void)
{
    struct resp r = http_json(&o, "GET", "/v1/documents?view=all&kind=request&limit=10", clerk, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    long long id = json_integer_value(json_object_get(json_array_get(json_object_get(j, "documents"), 0), "id"));
    json_decref(j);
    return id;
}

/* Opens an outgoing bundle as the portal would: trusting oagw's key only. Its manifest (JSON) into m. */
static json_t *unpack(const char *file, const char *to)
{
    char cmd[1600], out[16384];
    snprintf(cmd, sizeof cmd, "%s unpack --trust oa-intranet=%s --to %s %s/outbox/%s 2>&1", oagw_bin(), oagw_pub, to,
             dir, file);
    cr_assert_eq(run_capture(cmd, out, sizeof out), 0, "%s", out);
    json_t *m = json_loads(out, 0, NULL);
    cr_assert(m, "%s", out);
    return m;
}

Test(oagw, a_request_in_gets_its_receipt_and_its_reply_out_as_signed_bundles)
{
    deliver("r1.tar", 1);
    run_once();
    long long doc = the_request();
    cr_assert(doc > 0);
    act(clerk, doc, "register", NULL, NULL);
    run_once();
    /* the receipt: one bundle, signed by oagw, naming the request by its bundle id */
    cr_assert_eq(count_files("outbox", NULL), 1, "%s", last_run);
    char to[400], path[600];
    snprintf(to, sizeof to, "%s/receipt", dir);
    json_t *m = unpack("oa-oa-intranet-0000000001.tar", to);
    cr_assert_str_eq(json_string_value(json_object_get(m, "type")), "receipt");
    cr_assert_eq(json_integer_value(json_object_get(m, "seq")), 1);
    json_t *c = json_object_get(m, "content");
    cr_assert(json_is_true(json_object_get(c, "accepted")));
    cr_assert_eq(strlen(json_string_value(json_object_get(c, "request_ref"))), 64);
    cr_assert_eq(strlen(json_string_value(json_object_get(c, "due"))), 10);
    json_decref(m);
    /* a second pass writes nothing again: oad has it as sent */
    run_once();
    cr_assert_eq(count_files("outbox", NULL), 1);
    /* the reply, with its file */
    act(clerk, doc, "assign", NULL, "{\"assignee\":\"handler\"}");
    act(handler, doc, "start", NULL, NULL);
    struct resp r = http_json(&o, "POST", "/v1/documents", handler,
                              "{\"kind\":\"outgoing\",\"title\":\"答复书\",\"body\":\"答复：予以公开\",\"level\":0}", NULL);
    json_t *j = ok_json(&r, 201);
    long long reply = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    char hdr[300];
    snprintf(path, sizeof path, "/v1/documents/%lld/attachments?name=budget.txt", reply);
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", handler);
    r = http_do(&o, "POST", path, "application/octet-stream", "预算执行情况表", 21, hdr);
    cr_assert_eq(r.status, 201, "%s", r.body);
    resp_free(&r);
    act(clerk, doc, "secrecy_review", "经审查，不涉及国家秘密", NULL);
    char params[128];
    snprintf(params, sizeof params, "{\"reply_document_id\":%lld,\"form\":\"public\"}", reply);
    act(handler, doc, "reply", NULL, params);
    run_once();
    cr_assert_eq(count_files("outbox", NULL), 2);
    snprintf(to, sizeof to, "%s/reply", dir);
    m = unpack("oa-oa-intranet-0000000002.tar", to);
    cr_assert_str_eq(json_string_value(json_object_get(m, "type")), "reply");
    c = json_object_get(m, "content");
    cr_assert_str_eq(json_string_value(json_object_get(c, "form")), "public");
    json_t *f = json_array_get(json_object_get(m, "files"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(f, "name")), "budget.txt");
    json_decref(m);
    /* the file, extracted after its digest was checked, is the reply's attachment byte for byte */
    snprintf(path, sizeof path, "%s/budget.txt", to);
    FILE *bf = fopen(path, "rb");
    cr_assert(bf);
    char got[64] = {0};
    size_t n = fread(got, 1, sizeof got, bf);
    fclose(bf);
    cr_assert_eq(n, 21);
    cr_assert_eq(memcmp(got, "预算执行情况表", 21), 0);
    cr_assert_eq(count_files("outbox", ".tmp"), 0);
}

/* A correction (补正) bundle of request bundle `ref` with this seq into the inbox, confirmed now. */
static void deliver_correction(const char *name, int seq, const char *ref)
{
    char cmd[1400], confirmed[40];
    time_t t = time(NULL) + 8 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(confirmed, sizeof confirmed, "%Y-%m-%dT%H:%M:%S+08:00", &tm);
    snprintf(cmd, sizeof cmd, "python3 %s correction %s/inbox/%s %s/portal.key %d %s %s", gwgen(), dir, name, dir, seq,
             ref, confirmed);
    sh(cmd);
}

static json_t *doc_of(long long id)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/documents/%lld", id);
    struct resp r = http_json(&o, "GET", path, clerk, NULL, NULL);
    return ok_json(&r, 200);
}

static void first_line(const char *path, char *line, size_t n)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s: %s", path, strerror(errno));
    line[0] = '\0';
    cr_assert(fgets(line, (int)n, f));
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
}

Test(oagw, a_correction_restarts_the_clock_and_one_not_awaited_is_quarantined_and_audited)
{
    deliver("r1.tar", 1);
    run_once();
    long long doc = the_request();
    act(clerk, doc, "register", NULL, NULL);
    act(clerk, doc, "request_correction", "请补正：说明所需信息的时间范围", NULL);
    json_t *d = doc_of(doc);
    json_t *q = json_object_get(d, "request");
    char ref[65];
    snprintf(ref, sizeof ref, "%s", json_string_value(json_object_get(q, "bundle_id")));
    cr_assert_str_eq(json_string_value(json_object_get(q, "clock")), "stopped");
    cr_assert_str_eq(json_string_value(json_object_get(d, "state")), "correcting");
    json_decref(d);
    /* awaited: taken, the clock runs again from the correction's confirmation day */
    deliver_correction("c1.tar", 2, ref);
    run_once();
    cr_assert(strstr(last_run, "seq=2 outcome=imported"), "%s", last_run);
    d = doc_of(doc);
    q = json_object_get(d, "request");
    cr_assert_str_eq(json_string_value(json_object_get(d, "state")), "registered");
    cr_assert_str_eq(json_string_value(json_object_get(q, "clock")), "running");
    char today[11];
    time_t t = time(NULL) + 8 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    cr_assert_str_eq(json_string_value(json_object_get(q, "corrected")), today);
    char due[16];
    snprintf(due, sizeof due, "%s", json_string_value(json_object_get(d, "request_due")));
    cr_assert_eq(strlen(due), 10);
    json_int_t updated = json_integer_value(json_object_get(d, "updated_at"));
    cr_assert(updated > 0);
    json_decref(d);
    sleep(1); /* a change after this would show in updated_at (seconds) */
    /* not awaited any more, and an unknown request: refused by oad, quarantined with the code, nothing changes */
    deliver_correction("c2.tar", 3, ref);
    deliver_correction("c3.tar", 4, "00000000000000000000000000000000000000000000000000000000000000ff");
    run_once();
    char p[600], line[128];
    const char *names[] = {"c2.tar", "c3.tar"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/state/quarantine/%s.reason", dir, names[i]);
        first_line(p, line, sizeof line);
        cr_assert_str_eq(line, "correction_refused", "%s: %s", names[i], line);
        p[strlen(p) - 7] = '\0';
        cr_assert_eq(access(p, F_OK), 0, "%s is not in quarantine", names[i]);
    }
    d = doc_of(doc);
    cr_assert_str_eq(json_string_value(json_object_get(d, "state")), "registered");
    cr_assert_str_eq(json_string_value(json_object_get(d, "request_due")), due);
    cr_assert_eq(json_integer_value(json_object_get(d, "updated_at")), updated, "the request changed");
    json_decref(d);
    /* their seqs are spent: the sender's next bundle is not held behind them */
    deliver("r5.tar", 5);
    run_once();
    cr_assert_eq(requests(), 2);
    cr_assert_eq(count_files("state/hold", NULL), 0);
    cr_assert_eq(json_array_size(json_object_get((q = status()), "gaps")), 0);
    json_decref(q);
    /* the refusals are in the audit trail: oad's import refusal and oagw's quarantine */
    char aud[256];
    admin_login(&o, "auditor", "Audit-Trail-2026", aud, sizeof aud);
    struct resp r = http_json(&o, "GET", "/v1/audit/entries?event=gateway.import&limit=1000", aud, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "correction_refused") && strstr(r.body, "not awaiting a correction") &&
                  strstr(r.body, "names no public request"),
              "%s", r.body);
    resp_free(&r);
    r = http_json(&o, "GET", "/v1/audit/entries?event=gateway.quarantine&limit=1000", aud, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "c2.tar") && strstr(r.body, "c3.tar"), "%s", r.body);
    resp_free(&r);
}

/* ---- kill -9 while oagw writes bundles into the outbox ---- */

/* A new outgoing document of the handler's, labelled 公开, with one attachment of `size` bytes; its id. */
static long long public_doc_with_file(const char *title, size_t size)
{
    char body[512], path[160], hdr[300];
    snprintf(body, sizeof body, "{\"kind\":\"outgoing\",\"title\":\"%s\",\"body\":\"%s\",\"level\":0}", title, title);
    struct resp r = http_json(&o, "POST", "/v1/documents", handler, body, NULL);
    json_t *j = ok_json(&r, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    char *data = malloc(size);
    cr_assert(data);
    for (size_t i = 0; i < size; i++)
        data[i] = (char)('a' + (i * 7 + (size_t)id) % 26); /* text: the content type allow-list takes it */
    snprintf(path, sizeof path, "/v1/documents/%lld/attachments?name=table-%lld.txt", id, id);
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", handler);
    r = http_do(&o, "POST", path, "application/octet-stream", data, size, hdr);
    cr_assert_eq(r.status, 201, "%s", r.body);
    resp_free(&r);
    free(data);
    return id;
}

static long long request_ids[32];

/* The ids of the imported requests, oldest first; how many. */
static int request_list(void)
{
    struct resp r = http_json(&o, "GET", "/v1/documents?view=all&kind=request&limit=200", clerk, NULL, NULL);
    json_t *j = ok_json(&r, 200), *docs = json_object_get(j, "documents");
    int n = 0;
    for (size_t i = 0; i < json_array_size(docs) && n < 32; i++)
        request_ids[n++] = json_integer_value(json_object_get(json_array_get(docs, i), "id"));
    json_decref(j);
    return n;
}

/* Visible (non-hidden) files of the outbox already verified, by name. */
static char verified[64][128];
static int nverified;

/*
 * Every visible file of the outbox must be a whole bundle that verifies (signature, digests, schema):
 * the ferry may take it at any moment.  New ones are unpacked; their manifests appended to `all`.
 */
static void outbox_all_whole(json_t *all)
{
    char p[400];
    snprintf(p, sizeof p, "%s/outbox", dir);
    DIR *d = opendir(p);
    cr_assert(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* a temporary name: the ferry takes no hidden file */
        bool seen = false;
        for (int i = 0; i < nverified && !seen; i++)
            seen = strcmp(verified[i], de->d_name) == 0;
        if (seen)
            continue;
        size_t l = strlen(de->d_name);
        cr_assert(l > 4 && strcmp(de->d_name + l - 4, ".tar") == 0, "not a bundle's name in the outbox: %s",
                  de->d_name);
        char to[400];
        snprintf(to, sizeof to, "%s/v%02d", dir, nverified);
        json_t *m = unpack(de->d_name, to); /* fails the test unless it verifies */
        json_array_append_new(all, m);
        cr_assert_lt(nverified, 64);
        snprintf(verified[nverified++], sizeof verified[0], "%s", de->d_name);
    }
    closedir(d);
}

/* The last lines of oagw's log (a static buffer), for failure messages. */
static const char *oagw_log_tail(void)
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

/* oagw's temporary files in the outbox (hidden: .oagw-ID.tmp). */
static int hidden_tmp(void)
{
    char p[400];
    snprintf(p, sizeof p, "%s/outbox", dir);
    DIR *d = opendir(p);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        n += strncmp(de->d_name, ".oagw-", 6) == 0;
    if (d)
        closedir(d);
    return n;
}

static int outbox_target;
static bool outbox_full(void)
{
    return count_files("outbox", ".tar") >= outbox_target;
}

Test(oagw, kill_9_while_writing_the_outbox_leaves_no_half_bundle_and_each_item_once)
{
    /* 12 requests in: 12 receipts; 4 replies and 2 publications with a 1 MiB file each. */
    enum { NREQ = 12, NREPLY = 4, NPUB = 2, BIG = 1024 * 1024 };
    for (int i = 1; i <= NREQ; i++) {
        char name[32];
        snprintf(name, sizeof name, "r%02d.tar", i);
        deliver(name, i);
    }
    run_once();
    cr_assert_eq(request_list(), NREQ, "%s", last_run);
    cr_assert_eq(count_files("outbox", NULL), 0, "nothing to write yet");
    /* the items are made while oagw is down */
    for (int i = 0; i < NREQ; i++)
        act(clerk, request_ids[i], "register", NULL, NULL);
    for (int i = 0; i < NREPLY; i++) {
        long long doc = request_ids[i];
        act(clerk, doc, "assign", NULL, "{\"assignee\":\"handler\"}");
        act(handler, doc, "start", NULL, NULL);
        act(clerk, doc, "secrecy_review", "经审查，不涉及国家秘密", NULL);
        long long reply = public_doc_with_file("答复书", BIG);
        char params[128];
        snprintf(params, sizeof params, "{\"reply_document_id\":%lld,\"form\":\"public\"}", reply);
        act(handler, doc, "reply", NULL, params);
    }
    for (int i = 0; i < NPUB; i++) {
        long long pub = public_doc_with_file("关于公开重点工作的通知", BIG);
        act(handler, pub, "submit", NULL, NULL);
        act(clerk, pub, "approve", NULL, NULL);
        act(mayor, pub, "sign", NULL, NULL);
        act(clerk, pub, "register", NULL, "{\"prefix\":\"府办发\"}");
        act(clerk, pub, "issue", NULL, NULL);
        char path[112];
        const char *steps[][3] = {{"publication", "handler", "{\"opinion\":\"建议主动公开\"}"},
                                  {"publication/secrecy_review", "clerk", "{\"opinion\":\"不涉及国家秘密\"}"},
                                  {"publication/review", "mayor", "{\"approve\":true,\"opinion\":\"同意公开\"}"}};
        for (int k = 0; k < 3; k++) {
            snprintf(path, sizeof path, "/v1/documents/%lld/%s", pub, steps[k][0]);
            const char *tok = k == 0 ? handler : k == 1 ? clerk : mayor;
            struct resp r = http_json(&o, "POST", path, tok, steps[k][2], NULL);
            cr_assert_eq(r.status, 200, "%s: %s", steps[k][0], r.body);
            resp_free(&r);
        }
    }
    outbox_target = NREQ + NREPLY + NPUB;
    /* kill -9 while a bundle is being written; after each, whatever is visible is whole */
    json_t *all = json_array();
    nverified = 0;
    srand((unsigned)time(NULL));
    int killed_mid = 0, rounds = 0;
    for (int round = 0; round < 40 && !outbox_full(); round++) {
        /* let 0-2 more bundles out, then kill it 0-3 ms after it starts writing the next one */
        int before = count_files("outbox", ".tar"), let = rand() % 3;
        pid_t pid = start_daemon();
        for (int ms = 0; ms < 5000 && !outbox_full(); ms++) {
            if (count_files("outbox", ".tar") - before >= let && hidden_tmp() > 0) {
                usleep((useconds_t)(rand() % 3000));
                break;
            }
            usleep(1000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        killed_mid += hidden_tmp() > 0;
        outbox_all_whole(all);
        rounds++;
    }
    pid_t pid = start_daemon();
    cr_assert(wait_for(outbox_full, 60000), "%d of %d bundles written; oagw's log ends:\n%s",
              count_files("outbox", ".tar"), outbox_target, oagw_log_tail());
    usleep(1500 * 1000); /* another pass or two: nothing more is written */
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    outbox_all_whole(all);
    fprintf(stderr, "kill -9 rounds: %d, %d of them while a bundle was half written\n", rounds, killed_mid);
    cr_assert_gt(rounds, 3, "oagw wrote everything before the kills: nothing was tested");
    /* exactly once: one bundle per item, seqs 1..N, no item twice */
    cr_assert_eq(count_files("outbox", ".tar"), outbox_target);
    cr_assert_eq((int)json_array_size(all), outbox_target);
    int by_type[3] = {0, 0, 0};
    bool seq_seen[64] = {false};
    char refs[64][140];
    size_t i;
    json_t *m;
    json_array_foreach(all, i, m) {
        const char *type = json_string_value(json_object_get(m, "type"));
        long long sq = json_integer_value(json_object_get(m, "seq"));
        cr_assert(sq >= 1 && sq <= outbox_target && !seq_seen[sq], "seq %lld twice or out of range", sq);
        seq_seen[sq] = true;
        json_t *c = json_object_get(m, "content");
        const char *ref = json_string_value(json_object_get(c, "request_ref"));
        const char *title = json_string_value(json_object_get(c, "number"));
        snprintf(refs[i], sizeof refs[i], "%s:%s", type, ref ? ref : title ? title : "?");
        for (size_t k = 0; k < i; k++)
            cr_assert_str_neq(refs[k], refs[i], "an item left twice: %s", refs[i]);
        by_type[strcmp(type, "receipt") == 0 ? 0 : strcmp(type, "reply") == 0 ? 1 : 2]++;
    }
    cr_assert_eq(by_type[0], NREQ);
    cr_assert_eq(by_type[1], NREPLY);
    cr_assert_eq(by_type[2], NPUB);
    json_decref(all);
    cr_assert_eq(count_files("state/out", ".d"), 0);
    cr_assert_eq(hidden_tmp(), 0, "a temporary file was left in the outbox");
    /* and oad has every item as sent, once */
    char aud[256];
    admin_login(&o, "auditor", "Audit-Trail-2026", aud, sizeof aud);
    struct resp r = http_json(&o, "GET", "/v1/audit/entries?event=gateway.sent&limit=1000", aud, NULL, NULL);
    json_t *j = ok_json(&r, 200);
    cr_assert_eq((int)json_array_size(json_object_get(j, "entries")), outbox_target, "%s",
                 json_dumps(j, JSON_COMPACT));
    json_decref(j);
}

/* ---- kill -9 of oad while oagw imports ---- */

Test(oagw, kill_9_of_oad_while_importing_loses_nothing_and_imports_nothing_twice)
{
    enum { ROUNDS = 8, PER_ROUND = 3 };
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    int delivered = 0;
    for (int round = 0; round < ROUNDS; round++) {
        if (round > 0) {
            oad_serve(&o, NULL); /* on another port: oagw's configuration follows it */
            write_conf();
        }
        pid_t gw = start_daemon();
        for (int i = 0; i < PER_ROUND; i++) {
            char name[32];
            snprintf(name, sizeof name, "d%02d.tar", ++delivered);
            deliver(name, delivered);
        }
        /* kill oad 0-40 ms after oagw took a bundle into its work area: amid uploads and imports */
        for (int ms = 0; ms < 5000 && count_files("state/work", ".in") == 0; ms++)
            usleep(1000);
        usleep((useconds_t)(rand() % 40000));
        kill(o.pid, SIGKILL);
        cr_assert_eq(oad_wait(&o, 5000), 128 + SIGKILL, "oad did not die of SIGKILL");
        usleep((useconds_t)(rand() % 200) * 1000); /* oagw meets a dead oad for a while */
        kill(gw, SIGKILL);
        waitpid(gw, NULL, 0);
    }
    oad_serve(&o, NULL);
    write_conf();
    pid_t gw = start_daemon();
    kill_target = delivered;
    cr_assert(wait_for(all_imported, 60000), "%d of %d imported; oagw's log ends:\n%s", requests(), kill_target,
              oagw_log_tail());
    usleep(1500 * 1000);
    cr_assert_eq(requests(), delivered, "a bundle was imported twice");
    char cmd[1400], out[256];
    snprintf(cmd, sizeof cmd, "grep -c 'outcome=imported' %s/oagw.log; grep -c 'outcome=duplicate' %s/oagw.log; "
             "grep -c 'level=warn' %s/oagw.log", dir, dir, dir);
    run_capture(cmd, out, sizeof out);
    for (char *c = out; *c; c++)
        if (*c == '\n')
            *c = ' ';
    fprintf(stderr, "oad killed %d times; oagw's log: imported, duplicate answers, warnings: %s\n", ROUNDS, out);
    cr_assert_eq(count_files("inbox", NULL), 0);
    cr_assert_eq(count_files("state/work", NULL), 0);
    cr_assert_eq(count_files("state/hold", NULL), 0);
    cr_assert_eq(count_files("state/quarantine", NULL), 0, "a good bundle was quarantined after oad's crash");
    kill(gw, SIGTERM);
    waitpid(gw, NULL, 0);
}
