/*
 * clients/oagw.c: oagw, the exchange gateway beside the ferry.
 *
 *   oagw run --config FILE [--once]   watch the inbox, import; export the outbox
 *   oagw check --config FILE BUNDLE…  validate as `run` would, import nothing
 *   oagw pack …  /  oagw unpack …     build / open a bundle (tests, the portal)
 *   oagw keygen --out FILE            an Ed25519 key pair
 *
 * `run` is one libuv loop: an fs event on the inbox (debounced) and a rescan
 * timer start an inbound pass; another timer starts an outbound pass.  The
 * passes call oad synchronously: oagw has nothing else to serve meanwhile.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "clients/gw-int.h"
#include "proto/alloc.h"
#include "proto/log.h"
#include "proto/value.h"

enum { EX_OK = 0, EX_REFUSED = 1, EX_USAGE = 2 };

static const char usage[] =
    "usage: oagw COMMAND [OPTIONS]\n"
    "\n"
    "  run --config FILE [--once]\n"
    "      Watch the inbox and import each bundle into oad (validated whole first; refused ones go to\n"
    "      STATE/quarantine with NAME.reason); write receipt, reply and publication bundles into the\n"
    "      outbox.  --once: one inbound and one outbound pass, then exit.\n"
    "  check --config FILE BUNDLE...\n"
    "      Validate bundles as `run` would (format, signature, digests, content types, virus scan);\n"
    "      prints \"ok ID\" or \"refused CODE: WHY\" per bundle; exit 1 when any is refused.\n"
    "  pack --key KEYFILE --type TYPE --sender ID --seq N [--created RFC3339] [--content JSON-FILE]\n"
    "       --out BUNDLE [DIR]\n"
    "      Build a bundle of the regular files in DIR (public_request, correction, receipt, reply,\n"
    "      publication; the content's fields are in docs/BUNDLE.md).\n"
    "  unpack --trust SENDER=BASE64KEY [--trust …] [--to DIR] BUNDLE\n"
    "      Verify any bundle (signature, digests, schema), print its manifest, extract its files to DIR.\n"
    "  keygen --out KEYFILE\n"
    "      Write a new Ed25519 secret key (mode 0600); print the public key for the other side's [trust].\n"
    "\n"
    "The configuration file is INI; see README.md \"Running oagw beside the ferry\".\n"
    "Exit codes: 0 done, 1 refused or failed, 2 usage.\n";

static int die_usage(const char *msg)
{
    fprintf(stderr, "oagw: %s\n%s", msg, usage);
    return EX_USAGE;
}

static int cmd_keygen(int argc, char **argv)
{
    const char *out = NULL;
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'}, {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "o:", opts, NULL)) != -1;)
        if (c == 'o')
            out = optarg;
        else
            return die_usage("keygen: unknown option");
    if (!out)
        return die_usage("keygen needs --out");
    unsigned char pk[32], sk[64];
    char b64[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
    crypto_sign_keypair(pk, sk);
    sodium_bin2base64(b64, sizeof b64, sk, 64, sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(sk, sizeof sk);
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    size_t n = strlen(b64);
    b64[n++] = '\n';
    if (fd < 0 || write(fd, b64, n) != (ssize_t)n || fsync(fd) != 0 || close(fd) != 0) {
        fprintf(stderr, "oagw: %s: %s\n", out, strerror(errno));
        return EX_REFUSED;
    }
    sodium_memzero(b64, sizeof b64);
    sodium_bin2base64(b64, sizeof b64, pk, 32, sodium_base64_VARIANT_ORIGINAL);
    printf("%s\n", b64);
    return EX_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct bundle_src *)a)->name, ((const struct bundle_src *)b)->name);
}

static int cmd_pack(int argc, char **argv)
{
    const char *key = NULL, *type = NULL, *sender = NULL, *created = NULL, *content = NULL, *out = NULL;
    long long seq = 0;
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},     {"type", required_argument, NULL, 't'},
        {"sender", required_argument, NULL, 's'},  {"seq", required_argument, NULL, 'n'},
        {"created", required_argument, NULL, 'c'}, {"content", required_argument, NULL, 'j'},
        {"out", required_argument, NULL, 'o'},     {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 'k': key = optarg; break;
        case 't': type = optarg; break;
        case 's': sender = optarg; break;
        case 'n': seq = strtoll(optarg, NULL, 10); break;
        case 'c': created = optarg; break;
        case 'j': content = optarg; break;
        case 'o': out = optarg; break;
        default: return die_usage("pack: unknown option");
        }
    }
    enum bundle_type t;
    if (!key || !type || !sender || seq < 1 || !out || !bundle_type_parse(type, &t))
        return die_usage("pack needs --key, --type (a known one), --sender, --seq (>= 1) and --out");
    const char *dir = optind < argc ? argv[optind] : NULL;
    char why[1024] = "", now[40];
    unsigned char sk[64];
    if (oa__gw_key_load(key, sk, why, sizeof why) != 0) {
        fprintf(stderr, "oagw: %s\n", why);
        return EX_REFUSED;
    }
    if (!created) {
        oa__gw_now_rfc3339(now);
        created = now;
    }
    cbor_item_t *citem = NULL;
    char *text = NULL;
    size_t tlen = 0;
    FILE *cf = content ? fopen(content, "r") : NULL;
    if (content && (!cf || getdelim(&text, &tlen, '\0', cf) < 0)) {
        fprintf(stderr, "oagw: %s: %s\n", content, strerror(errno));
        return EX_REFUSED;
    }
    if (cf)
        fclose(cf);
    if (pv_decode_json(text ? text : "{}", text ? strlen(text) : 2, &citem, why, sizeof why) != OA_E_OK) {
        fprintf(stderr, "oagw: --content: %s\n", why);
        return EX_REFUSED;
    }
    free(text);
    struct bundle_src *src = NULL;
    size_t n = 0;
    struct dirent **names = NULL;
    int nn = dir ? scandir(dir, &names, NULL, alphasort) : 0;
    for (int i = 0; i < nn; i++) {
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, names[i]->d_name);
        if (names[i]->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            src = oa_xrealloc(src, (n + 1) * sizeof *src);
            src[n++] = (struct bundle_src){oa_xstrdup(names[i]->d_name), oa_xstrdup(p)};
        }
        free(names[i]);
    }
    free(names);
    if (n)
        qsort(src, n, sizeof *src, by_name);
    int rc = EX_REFUSED;
    size_t mlen = 0;
    unsigned char *m = bundle_manifest_build(t, sender, seq, created, citem, src, n, &mlen, why, sizeof why);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    int fd = m ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    if (m && fd < 0)
        snprintf(why, sizeof why, "%.900s: %s", tmp, strerror(errno));
    if (fd >= 0 && bundle_write(fd, m, mlen, sk, src, n, why, sizeof why) == 0 && fsync(fd) == 0 &&
        close(fd) == 0 && rename(tmp, out) == 0) {
        char id[65];
        bundle_sha256_hex(m, mlen, id);
        printf("%s\n", id);
        rc = EX_OK;
    } else {
        if (fd >= 0)
            unlink(tmp);
        fprintf(stderr, "oagw: pack: %s\n", why);
    }
    sodium_memzero(sk, sizeof sk);
    for (size_t i = 0; i < n; i++) {
        free((char *)src[i].name);
        free((char *)src[i].path);
    }
    free(src);
    free(m);
    cbor_decref(&citem);
    return rc;
}

static int cmd_unpack(int argc, char **argv)
{
    struct bundle_key *keys = NULL;
    size_t nkeys = 0;
    const char *to = NULL;
    static const struct option opts[] = {
        {"trust", required_argument, NULL, 't'}, {"to", required_argument, NULL, 'd'}, {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 'd') {
            to = optarg;
            continue;
        }
        const char *eq = c == 't' ? strchr(optarg, '=') : NULL;
        struct bundle_key k = {0};
        size_t len = 0;
        if (!eq || (size_t)(eq - optarg) >= sizeof k.sender ||
            sodium_base642bin(k.pk, 32, eq + 1, strlen(eq + 1), NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) ||
            len != 32)
            return die_usage("unpack: --trust SENDER=BASE64KEY");
        memcpy(k.sender, optarg, (size_t)(eq - optarg));
        keys = oa_xrealloc(keys, (nkeys + 1) * sizeof *keys);
        keys[nkeys++] = k;
    }
    if (optind + 1 != argc)
        return die_usage("unpack takes one bundle");
    int fd = open(argv[optind], O_RDONLY | O_CLOEXEC), dfd = -1;
    if (to && (mkdir(to, 0700) != 0 || (dfd = open(to, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)) {
        fprintf(stderr, "oagw: %s: %s (it must not exist yet)\n", to, strerror(errno));
        return EX_REFUSED;
    }
    struct bundle b;
    char why[1024] = "";
    enum bundle_reason r = fd < 0 ? BUNDLE_R_IO : bundle_read(fd, dfd, NULL, keys, nkeys, &b, why, sizeof why);
    free(keys);
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (r != BUNDLE_R_OK) {
        printf("refused %s: %s\n", bundle_reason_code(r), fd < 0 ? strerror(errno) : why);
        return EX_REFUSED;
    }
    printf("%.*s\n", (int)b.manifest_len, (const char *)b.manifest);
    bundle_free(&b);
    return EX_OK;
}

static int gw_open(struct gw *g, const char *config, bool need_key)
{
    char why[1024] = "";
    if (!config) {
        fprintf(stderr, "oagw: --config FILE is required\n");
        return EX_USAGE;
    }
    if (oa__gw_conf_load(&g->conf, config, why, sizeof why) != 0) {
        fprintf(stderr, "oagw: %s\n", why);
        return EX_USAGE;
    }
    if (!g->conf.clamav_db[0] && !g->conf.no_virus_scan) {
        fprintf(stderr, "oagw: %s: set clamav_db (or no_virus_scan = true, which is not for production)\n", config);
        return EX_USAGE;
    }
    if (!(g->scan = gwscan_open(g->conf.clamav_db[0] ? g->conf.clamav_db : NULL, g->conf.allowed_types, why,
                                sizeof why))) {
        fprintf(stderr, "oagw: %s\n", why);
        return EX_REFUSED;
    }
    if (need_key) {
        if (!g->conf.state[0] || !g->conf.inbox[0] || !g->conf.outbox[0] || !g->conf.key[0] || !g->conf.sender[0] ||
            !g->conf.credentials[0]) {
            fprintf(stderr, "oagw: %s: state, inbox, outbox, key, sender and credentials are required\n", config);
            return EX_USAGE;
        }
        if (oa__gw_key_load(g->conf.key, g->sk, why, sizeof why) != 0 || oa__gw_state_init(g, why, sizeof why)) {
            fprintf(stderr, "oagw: %s\n", why);
            return EX_REFUSED;
        }
    }
    return EX_OK;
}

static void gw_close(struct gw *g)
{
    gwscan_close(g->scan);
    oa__gw_conf_free(&g->conf);
    sodium_memzero(g->sk, sizeof g->sk);
}

static int cmd_check(int argc, char **argv)
{
    const char *config = NULL;
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'}, {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;)
        if (c == 'c')
            config = optarg;
        else
            return die_usage("check: unknown option");
    struct gw g = {0};
    int rc = gw_open(&g, config, false);
    if (rc != EX_OK)
        return rc;
    char tmpl[] = "/tmp/oagw-check-XXXXXX";
    if (!mkdtemp(tmpl)) {
        perror("oagw: mkdtemp");
        gw_close(&g);
        return EX_REFUSED;
    }
    for (int i = optind; i < argc; i++) {
        char dir[sizeof tmpl + 8], why[1024] = "";
        snprintf(dir, sizeof dir, "%s/x.d", tmpl);
        struct bundle b;
        enum bundle_reason r = oa__gw_validate(&g, argv[i], dir, &b, why, sizeof why);
        if (r == BUNDLE_R_OK) {
            printf("ok %s\n", b.id);
            bundle_free(&b);
        } else {
            printf("refused %s: %s\n", bundle_reason_code(r), why);
            rc = EX_REFUSED;
        }
        oa__gw_rmtree(dir);
    }
    rmdir(tmpl);
    gw_close(&g);
    return rc;
}

/* ---- run ---- */

struct runner {
    struct gw g;
    uv_loop_t *loop;
    uv_fs_event_t watch;
    uv_timer_t rescan, outbox, soon;
    uv_signal_t sigterm, sigint;
};

static void soon_on_timer(uv_timer_t *t);

static void run_inbound(struct runner *rn)
{
    rn->g.young = false;
    oa__gw_inbound_pass(&rn->g);
    if (rn->g.young) /* look again when the young file has settled */
        uv_timer_start(&rn->soon, soon_on_timer, (uint64_t)rn->g.conf.settle_ms + 50, 0);
}

static void soon_on_timer(uv_timer_t *t)
{
    run_inbound(t->data);
}

static void watch_on_event(uv_fs_event_t *w, const char *name, int events, int status)
{
    struct runner *rn = w->data;
    if (!uv_is_active((uv_handle_t *)&rn->soon))
        uv_timer_start(&rn->soon, soon_on_timer, 100, 0); /* a burst of events is one pass */
}

static void rescan_on_timer(uv_timer_t *t)
{
    run_inbound(t->data);
}

static void outbox_on_timer(uv_timer_t *t)
{
    struct runner *rn = t->data;
    oa__gw_outbound_pass(&rn->g);
    oa__gw_write_status(&rn->g);
}

static void signal_on_stop(uv_signal_t *s, int signum)
{
    struct runner *rn = s->data;
    oa_log(OA_LOG_INFO, "stopping", "signal=%d", signum);
    uv_stop(rn->loop);
}

static void on_close_walk(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static int cmd_run(int argc, char **argv)
{
    const char *config = NULL;
    bool once = false;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"once", no_argument, NULL, '1'}, {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;)
        if (c == 'c')
            config = optarg;
        else if (c == '1')
            once = true;
        else
            return die_usage("run: unknown option");
    static struct runner rn;
    int rc = gw_open(&rn.g, config, true);
    if (rc != EX_OK)
        return rc;
    oa_log(OA_LOG_INFO, "started", "inbox=%s outbox=%s keys=%zu", rn.g.conf.inbox, rn.g.conf.outbox,
           rn.g.conf.nkeys);
    if (once) {
        oa__gw_inbound_pass(&rn.g);
        oa__gw_outbound_pass(&rn.g);
        oa__gw_write_status(&rn.g);
        gw_close(&rn.g);
        return EX_OK;
    }
    rn.loop = uv_default_loop();
    uv_timer_init(rn.loop, &rn.soon);
    uv_timer_init(rn.loop, &rn.rescan);
    uv_timer_init(rn.loop, &rn.outbox);
    rn.soon.data = rn.rescan.data = rn.outbox.data = rn.watch.data = &rn;
    if (uv_fs_event_init(rn.loop, &rn.watch) != 0 || uv_fs_event_start(&rn.watch, watch_on_event, rn.g.conf.inbox, 0)) {
        fprintf(stderr, "oagw: cannot watch %s\n", rn.g.conf.inbox);
        return EX_REFUSED;
    }
    uv_timer_start(&rn.rescan, rescan_on_timer, 0, (uint64_t)rn.g.conf.rescan_seconds * 1000);
    uv_timer_start(&rn.outbox, outbox_on_timer, 0, (uint64_t)rn.g.conf.outbox_seconds * 1000);
    uv_signal_init(rn.loop, &rn.sigterm);
    uv_signal_init(rn.loop, &rn.sigint);
    rn.sigterm.data = rn.sigint.data = &rn;
    uv_signal_start(&rn.sigterm, signal_on_stop, SIGTERM);
    uv_signal_start(&rn.sigint, signal_on_stop, SIGINT);
    uv_run(rn.loop, UV_RUN_DEFAULT);
    uv_walk(rn.loop, on_close_walk, NULL);
    uv_run(rn.loop, UV_RUN_DEFAULT);
    uv_loop_close(rn.loop);
    gw_close(&rn.g);
    oa_log_flush();
    return EX_OK;
}

int main(int argc, char **argv)
{
    /* Names in bundles are UTF-8; libarchive converts through the locale's character set. */
    setlocale(LC_CTYPE, "C.UTF-8");
    signal(SIGPIPE, SIG_IGN);
    if (sodium_init() < 0)
        return EX_REFUSED;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EX_USAGE : EX_OK;
    }
    /* `oagw COMMAND --help` is help too, whatever else follows (the options are not parsed then). */
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return EX_OK;
        }
    const char *cmd = argv[1];
    argc--;
    argv++;
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc, argv);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc, argv);
    if (strcmp(cmd, "pack") == 0)
        return cmd_pack(argc, argv);
    if (strcmp(cmd, "unpack") == 0)
        return cmd_unpack(argc, argv);
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(argc, argv);
    return die_usage("unknown command");
}
