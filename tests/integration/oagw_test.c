/*
 * tests/integration/oagw_test.c: the real oagw against the real oad, over
 * real directories: import once, duplicates, out-of-order delivery held and
 * released, the hostile corpus quarantined by a running oagw that keeps
 * running, a receipt and a reply out as signed bundles, corrections (补正)
 * taken and refused.  Bundles are made by tests/clients/gwgen.py (Python's
 * tarfile and Ed25519, independent of oagw); kill -9 rounds are
 * oagw_crash_test.c.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/oagw_fixture.h"

TestSuite(oagw, .init = oagw_setup, .fini = oagw_teardown);

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
    /* still serving: a good bundle after the corpus is imported (the first signed one refused for its
       files, a virus or a file type, spent seq 1) */
    deliver("good.tar", 2);
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

/* A bundle signed by the portal, in sequence, with the EICAR test file. */
static void deliver_virus(const char *name, int seq)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "python3 %s virus %s/inbox/%s %s/portal.key %d", gwgen(), dir, name, dir, seq);
    sh(cmd);
}

Test(oagw, a_signed_bundle_refused_for_its_files_spends_its_seq_and_holds_nobody_up)
{
    deliver("a1.tar", 1);
    run_once();
    /* seq 2 carries a virus: quarantined, and seq 3 behind it is not held */
    deliver("a3.tar", 3);
    deliver_virus("b2.tar", 2);
    run_once();
    cr_assert_eq(requests(), 2, "%s", last_run);
    char p[600], line[128] = "";
    snprintf(p, sizeof p, "%s/state/quarantine/b2.tar.reason", dir);
    FILE *f = fopen(p, "r");
    cr_assert(f, "%s", last_run);
    cr_assert(fgets(line, sizeof line, f));
    fclose(f);
    cr_assert_str_eq(line, "virus\n");
    cr_assert_eq(count_files("state/hold", NULL), 0);
    /* seq 5 with a virus before seq 4 came: it waits, unspent, and is quarantined once 4 is in */
    deliver_virus("c5.tar", 5);
    run_once();
    cr_assert_eq(count_files("state/quarantine", NULL), 1, "%s", last_run);
    cr_assert_eq(count_files("state/work", ".in"), 1, "it waits in work/ for seq 4");
    deliver("d4.tar", 4);
    deliver("e6.tar", 6);
    run_once();
    cr_assert_eq(requests(), 4, "%s", last_run);
    cr_assert_eq(count_files("state/quarantine", NULL), 2, "%s", last_run);
    cr_assert_eq(count_files("state/work", NULL), 0);
    cr_assert_eq(count_files("state/hold", NULL), 0);
    /* the ferry sends the virus again: quarantined again, nothing imported, nothing held */
    snprintf(p, sizeof p, "cp %s/state/quarantine/b2.tar %s/inbox/b2-again.tar", dir, dir);
    sh(p);
    deliver("f7.tar", 7);
    run_once();
    cr_assert_eq(requests(), 5, "%s", last_run);
    cr_assert_eq(count_files("state/quarantine", NULL), 3);
    /* each in the audit trail, naming the bundle and its seq */
    char aud[256];
    admin_login(&o, "auditor", "Audit-Trail-2026", aud, sizeof aud);
    struct resp r = http_json(&o, "GET", "/v1/audit/entries?event=gateway.quarantine&limit=1000", aud, NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "seq 2)") && strstr(r.body, "seq 5)"), "%s", r.body);
    resp_free(&r);
}
