/*
 * tests/integration/oagw_crash_test.c: kill -9 of the real oagw and of the
 * real oad at the moments that matter, over real directories: while oagw
 * takes and imports bundles, while it writes receipt, reply and publication
 * bundles into the outbox, and oad while oagw imports.  Nothing is lost,
 * nothing imported or written twice, no half bundle is ever visible.
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
        if (strcmp(type, "receipt") != 0) {
            /* a reply's or publication's file whole: its size (the digest was checked by unpack) */
            json_t *f = json_array_get(json_object_get(m, "files"), 0);
            cr_assert_eq(json_integer_value(json_object_get(f, "size")), BIG, "%s", refs[i]);
        }
        if (strcmp(type, "publication") == 0) {
            cr_assert_str_eq(json_string_value(json_object_get(c, "title")), "关于公开重点工作的通知");
            cr_assert(strstr(json_string_value(json_object_get(c, "number")), "府办发"));
            cr_assert_eq(strlen(json_string_value(json_object_get(c, "issued"))), 10);
        }
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
