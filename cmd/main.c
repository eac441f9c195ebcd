/*
 * cmd/main.c: the oad command line.
 *
 *   oad init  --data DIR          create a data directory
 *   oad serve --data DIR ...      serve the API
 *   oad tls init|server|client|pin  the office's private CA (tls_ca.c)
 *   oad audit verify|pubkey, fsck, keys rotate|seal|unseal|passwd, admin reset-password, report security, encrypt
 *   oad --help | --version
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/alloc.h"
#include "server/auth.h"
#include "server/config.h"
#include "cmd/console.h"
#include "cmd/keys_cli.h"
#include "proto/log.h"
#include "server/server.h"
#include "server/tls.h"
#include "server/version.h"
#include "storage/accounts.h"
#include "storage/audit.h"
#include "storage/blobs.h"
#include "storage/fault.h"
#include "storage/cryptvfs.h"
#include "storage/keys.h"
#include "storage/labelmac.h"
#include "storage/store.h"
#include "workflow/access.h"

static const char usage[] =
    "Usage: oad COMMAND [OPTIONS]\n"
    "\n"
    "oad is the document-routing server of oa: it keeps official documents,\n"
    "their workflow, attachments and audit trail, and serves the oa clients.\n"
    "\n"
    "Commands:\n"
    "  init   --data DIR      Create a data directory: the database, the key file\n"
    "                         (DIR/keys, mode 0600) and one-time passwords for the\n"
    "                         administrators sysadmin, secadmin and auditor, written\n"
    "                         to DIR/initial-credentials (mode 0600).  Prints the\n"
    "                         audit key (as oad audit pubkey does).  With --seal\n"
    "                         the key file is sealed with a passphrase from the\n"
    "                         start (--new-passphrase-file or --passphrase-file,\n"
    "                         else typed twice).\n"
    "  serve  --data DIR      Serve the API.  Refuses (exit 1) a database that\n"
    "                         PRAGMA quick_check finds damaged.  Encrypts a plain\n"
    "                         database first (as oad encrypt does).\n"
    "  tls init|server|client|pin\n"
    "                         The office's private CA for TLS: see 'oad tls'.\n"
    "  encrypt --data DIR     Encrypt a plain database in place (crash-safely; oad\n"
    "                         stopped), adding a database key to the key file.\n"
    "                         Nothing to do when it is encrypted already.\n"
    "  audit verify --data DIR\n"
    "                         Recompute the audit trail offline: every entry's hash,\n"
    "                         every signed checkpoint.  Exit 0 when intact, 1 when\n"
    "                         tampered with (naming the first bad entry).\n"
    "  audit pubkey --data DIR\n"
    "                         Print the verifier key of the signed audit checkpoints\n"
    "                         (a C2SP signed-note key, NAME+ID+KEY), to publish out of\n"
    "                         band: any signed-note verifier checks the checkpoints\n"
    "                         with it.\n"
    "  fsck --data DIR        Check the database (PRAGMA integrity_check and\n"
    "                         foreign_key_check) and every stored file (attachment)\n"
    "                         against its key, its authentication tags and its\n"
    "                         recorded digest; name each damaged one, and note a\n"
    "                         damaged database in DIR/faults.  Exit 0 when all are\n"
    "                         intact, 1 if not.\n"
    "  keys rotate [--level N] --data DIR\n"
    "                         Add a new key-encryption key version (for level N, or\n"
    "                         every level) to the key file.  A running oad is told\n"
    "                         (SIGHUP): it rewraps every data key under the new\n"
    "                         version in the background, without re-encrypting files,\n"
    "                         and retires old versions once nothing uses them.\n"
    "                         With keys.pkcs11_module set, the new versions are\n"
    "                         generated inside the PKCS#11 token (keys.pkcs11_token).\n"
    "  keys seal|unseal|passwd --data DIR\n"
    "                         Seal the key file with a passphrase (Argon2id, then\n"
    "                         XChaCha20-Poly1305), unseal it, or give it a new\n"
    "                         passphrase (from --new-passphrase-file FILE, else typed\n"
    "                         twice).  Every command then needs the passphrase:\n"
    "                         --passphrase-file FILE, else the systemd credential\n"
    "                         $CREDENTIALS_DIRECTORY/oad-passphrase, else typed.\n"
    "  admin reset-password USER --data DIR\n"
    "                         At the server's console: give USER a new one-time\n"
    "                         password (printed), end their sessions, lift a lockout.\n"
    "                         The only way to reset secadmin's, the auditor's or\n"
    "                         sysadmin's password.  An ordinary account sees no\n"
    "                         documents until secadmin confirms its clearance.\n"
    "  report security --month YYYY-MM --data DIR\n"
    "                         The monthly security report: logins and failures,\n"
    "                         lockouts, refused accesses, label changes,\n"
    "                         administrator actions, alarms, disk-full periods,\n"
    "                         database damage found.\n"
    "\n"
    "Options:\n"
    "  --data DIR             The data directory (default: ./data).\n"
    "  --config FILE          An INI configuration file (default: DIR/oad.conf if it\n"
    "                         exists).  Flags override the file.\n"
    "  --keys FILE            The key file (default: DIR/keys).  Keep it, or its\n"
    "                         passphrase, on another disk than DIR.\n"
    "  --passphrase-file FILE The sealed key file's passphrase (one line, mode 0600).\n"
    "  --new-passphrase-file FILE  The new passphrase of init --seal, keys seal, passwd.\n"
    "  --seal                 init: seal the new key file with a passphrase.\n"
    "  --listen HOST:PORT     Where to listen (default: 127.0.0.1:8340; port 0 picks one).\n"
    "  --log-level LEVEL      debug, info, warn or error (default: info).\n"
    "  --set SECTION.KEY=VAL  Any configuration setting, e.g. --set http.max_connections=100.\n"
    "  -h, --help             Show this help.\n"
    "  -V, --version          Show the version.\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error, 3 the passphrase does not\n"
    "open the sealed key file.\n";

struct cli {
    const char *command, *sub, *arg, *month, *level;
    const char *config_file;
    const char *data, *keys, *listen, *log_level;
    const char *passphrase_file, *new_passphrase_file;
    bool seal;
    const char *sets[32];
    int nsets;
};

static int parse_cli(int argc, char **argv, struct cli *cli)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},   {"config", required_argument, NULL, 'c'},
        {"keys", required_argument, NULL, 'k'},   {"listen", required_argument, NULL, 'l'},
        {"log-level", required_argument, NULL, 'L'}, {"set", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {"month", required_argument, NULL, 'm'},
        {"level", required_argument, NULL, 'v'},
        {"passphrase-file", required_argument, NULL, 'P'},
        {"new-passphrase-file", required_argument, NULL, 'N'},
        {"seal", no_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': cli->data = optarg; break;
        case 'c': cli->config_file = optarg; break;
        case 'k': cli->keys = optarg; break;
        case 'l': cli->listen = optarg; break;
        case 'L': cli->log_level = optarg; break;
        case 'm': cli->month = optarg; break;
        case 'v': cli->level = optarg; break;
        case 'P': cli->passphrase_file = optarg; break;
        case 'N': cli->new_passphrase_file = optarg; break;
        case 'S': cli->seal = true; break;
        case 's':
            if (cli->nsets == 32) {
                fprintf(stderr, "oad: too many --set options\n");
                return 2;
            }
            cli->sets[cli->nsets++] = optarg;
            break;
        case 'h': fputs(usage, stdout); exit(0);
        case 'V': printf("oad %s (protocol %d-%d)\n", OA_VERSION, OA_PROTOCOL_MIN, OA_PROTOCOL_MAX); exit(0);
        default: fputs("Try 'oad --help'.\n", stderr); return 2;
        }
    }
    if (optind >= argc) {
        fputs(usage, stderr);
        return 2;
    }
    cli->command = argv[optind];
    int max = strcmp(cli->command, "admin") == 0 ? 3
              : (strcmp(cli->command, "audit") == 0 || strcmp(cli->command, "report") == 0 ||
                 strcmp(cli->command, "keys") == 0) ? 2 : 1;
    if (max >= 2 && optind + 1 < argc)
        cli->sub = argv[optind + 1];
    if (max == 3 && optind + 2 < argc)
        cli->arg = argv[optind + 2];
    if (optind + max < argc) {
        fprintf(stderr, "oad: unexpected argument '%s'; try 'oad --help'\n", argv[optind + max]);
        return 2;
    }
    return 0;
}

/* Defaults, then the file, then the flags. */
static int build_config(const struct cli *cli, struct oa_config *cfg)
{
    char cause[512];
    oa_config_defaults(cfg);
    if (cli->data)
        snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", cli->data);
    char path[600];
    const char *file = cli->config_file;
    if (file == NULL) {
        snprintf(path, sizeof(path), "%s/oad.conf", cfg->data_dir);
        if (access(path, F_OK) == 0)
            file = path;
    }
    if (file != NULL && oa_config_load(cfg, file, cause, sizeof(cause)) != 0) {
        fprintf(stderr, "oad: %s\n", cause);
        return -1;
    }
    if (cli->data)
        snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", cli->data);
    if (cli->keys)
        snprintf(cfg->key_file, sizeof(cfg->key_file), "%s", cli->keys);
    if (cli->passphrase_file)
        snprintf(cfg->passphrase_file, sizeof(cfg->passphrase_file), "%s", cli->passphrase_file);
    if (cli->listen && oa_config_set_listen(cfg, cli->listen) != 0) {
        fprintf(stderr, "oad: --listen wants HOST:PORT, e.g. 127.0.0.1:8340\n");
        return -1;
    }
    if (cli->log_level) {
        int l = oa_log_parse_level(cli->log_level);
        if (l < 0) {
            fprintf(stderr, "oad: --log-level wants debug, info, warn or error\n");
            return -1;
        }
        cfg->log_level = l;
    }
    for (int i = 0; i < cli->nsets; i++) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", cli->sets[i]);
        char *dot = strchr(buf, '.'), *eq = strchr(buf, '=');
        if (dot == NULL || eq == NULL || dot > eq) {
            fprintf(stderr, "oad: --set wants SECTION.KEY=VALUE\n");
            return -1;
        }
        *dot = *eq = '\0';
        if (oa_config_set(cfg, buf, dot + 1, eq + 1, cause, sizeof(cause)) != 0) {
            fprintf(stderr, "oad: %s\n", cause);
            return -1;
        }
    }
    if (cfg->key_file[0] == '\0')
        snprintf(cfg->key_file, sizeof(cfg->key_file), "%s/keys", cfg->data_dir);
    oa_log_set_level((enum oa_log_level)cfg->log_level);
    return 0;
}

static void db_path(const struct oa_config *cfg, char *out, size_t n)
{
    snprintf(out, n, "%s/oa.db", cfg->data_dir);
}

/*
 * The verifier key of the audit checkpoints: the key file's audit key under
 * the database's origin.  0, or -1 after saying why on stderr.
 */
static int audit_vkey(const unsigned char pk[32], struct oa_store *store, char *out, size_t cap)
{
    char origin[OA_AUDIT_ORIGIN_MAX];
    if (oa_audit_origin(store, origin, sizeof(origin)) != 0) {
        fprintf(stderr, "oad: the database names no audit origin (an older schema: start oad serve once)\n");
        return -1;
    }
    return oa_audit_vkey(origin, pk, out, cap) > 0 ? 0 : -1;
}

/* The audit key pair's public half, from the key file; 0, or -1 after saying why. */
static int audit_public_key(const struct oa_config *cfg, unsigned char pk[32])
{
    char cause[512];
    struct oa_keys keys;
    unsigned char sk[64];
    if (oa_keys_load(cfg->key_file, &keys, cause, sizeof(cause)) != 0) {
        fprintf(stderr, "oad: %s\n", cause);
        return -1;
    }
    oa_audit_keypair(keys.audit_seed, pk, sk);
    sodium_memzero(sk, sizeof(sk));
    oa_keys_wipe(&keys);
    return 0;
}

/* Every open of oa.db through the key file's db-key (storage/cryptvfs.h); `migrate` encrypts a plain one. */
static int db_key_setup(const struct oa_config *cfg, bool migrate)
{
    char path[600], cause[1200];
    db_path(cfg, path, sizeof(path));
    int rc = oa_cryptvfs_setup(cfg->key_file, path, migrate && cfg->storage_encrypt, (enum oa_db_suite)cfg->blob_suite,
                               cause, sizeof(cause));
    if (rc < 0)
        fprintf(stderr, "oad: %s\n", cause);
    else if (rc == 1 && cfg->storage_encrypt)
        fprintf(stderr, "oad: warning: %s is not encrypted yet: 'oad serve' or 'oad encrypt --data %s' encrypts it\n",
                path, cfg->data_dir);
    return rc < 0 ? -1 : 0;
}

/* ---- init ---- */

static int write_credentials(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    int rc = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -1;
    if (close(fd) != 0)
        rc = -1;
    return rc;
}

static int cmd_init(struct oa_config *cfg, const struct cli *cli)
{
    char path[600], *why = NULL;
    struct oa_store store = {0};
    int rc = 1;

    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "oad: cannot create %s: %s\n", cfg->data_dir, strerror(errno));
        return 1;
    }
    db_path(cfg, path, sizeof(path));
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "oad: %s is already initialised (%s exists)\n", cfg->data_dir, path);
        return 1;
    }
    if (oa_keys_cli_create(cfg, cli->seal, cli->new_passphrase_file) != 0)
        return 1;
    unsigned char audit_pk[32];
    if (audit_public_key(cfg, audit_pk) != 0 || (cfg->storage_encrypt && db_key_setup(cfg, true) != 0))
        return 1;
    if (oa_store_open(&store, path, true, &why) != 0) {
        fprintf(stderr, "oad: %s\n", why);
        free(why);
        return 1;
    }

    static const struct {
        const char *name, *display;
        unsigned role;
    } admins[] = {
        {"sysadmin", "System administrator", OA_ROLE_SYSADMIN},
        {"secadmin", "Security administrator", OA_ROLE_SECADMIN},
        {"auditor", "Security auditor", OA_ROLE_AUDITOR},
    };
    if (!cfg->argon2_explicit) {
        cfg->argon2_opslimit = oa_password_calibrate(cfg->argon2_memlimit, 250);
        printf("oad: Argon2id calibrated: opslimit %llu, memlimit %zu MiB (about 250 ms a hash here)\n",
               (unsigned long long)cfg->argon2_opslimit, cfg->argon2_memlimit >> 20);
    }
    char creds[512] = "", vkey[OA_AUDIT_VKEY_MAX];
    if (audit_vkey(audit_pk, &store, vkey, sizeof(vkey)) != 0)
        goto out;
    if (oa_store_exec(&store, "BEGIN IMMEDIATE") != 0 || oa_console_argon2(&store, cfg, true) != 0)
        goto out;
    for (size_t i = 0; i < 3; i++) {
        char pw[21];
        struct oa_user u = {0};
        oa_password_generate(pw);
        snprintf(u.username, sizeof(u.username), "%s", admins[i].name);
        snprintf(u.display_name, sizeof(u.display_name), "%s", admins[i].display);
        u.roles = admins[i].role;
        u.must_change_pw = true;
        if (oa_password_hash(pw, cfg->argon2_opslimit, cfg->argon2_memlimit, u.pw_hash) != 0 ||
            oa_user_insert(&store, &u) != 1) {
            fprintf(stderr, "oad: cannot create the account %s\n", admins[i].name);
            oa_store_exec(&store, "ROLLBACK");
            goto out;
        }
        size_t off = strlen(creds);
        snprintf(creds + off, sizeof(creds) - off, "%s %s\n", admins[i].name, pw);
        sodium_memzero(pw, sizeof(pw));
        struct oa_audit_event ev = {.event = "user.create", .target = admins[i].name, .label = -1,
                                    .outcome = "ok", .source = "oad init",
                                    .detail = "administrator created with a one-time password"};
        if (oa_audit(&store, &ev) != 0) {
            oa_store_exec(&store, "ROLLBACK");
            goto out;
        }
    }
    struct oa_audit_event ev = {.event = "system.init", .label = -1, .outcome = "ok", .source = "oad init"};
    if (oa_audit(&store, &ev) != 0 || oa_store_exec(&store, "COMMIT") != 0)
        goto out;

    snprintf(path, sizeof(path), "%s/initial-credentials", cfg->data_dir);
    if (write_credentials(path, creds) != 0) {
        fprintf(stderr, "oad: cannot write %s: %s\n", path, strerror(errno));
        goto out;
    }
    printf("oad: initialised %s\n"
           "  database:    %s/oa.db\n"
           "  key file:    %s (mode 0600; back it up apart from the data)\n"
           "  credentials: %s (mode 0600; one-time passwords, changed at first login)\n"
           "  audit key:   %s\n"
           "               (publish it out of band: it verifies the signed audit checkpoints)\n",
           cfg->data_dir, cfg->data_dir, cfg->key_file, path, vkey);
    if (oa_keys_beside_data(cfg->key_file, cfg->data_dir))
        printf("oad: warning: the key file is on the data's filesystem: a copy of that disk opens everything "
               "(keep it on another disk: --keys FILE)\n");
    rc = 0;
out:
    sodium_memzero(creds, sizeof(creds));
    oa_store_close(&store);
    return rc;
}

/* ---- serve ---- */

/* The background work stops once the connections are drained. */
static void on_drained(struct oa_server *srv)
{
    oa_housekeeping_stop(srv);
    oa_blobs_stop(srv);
}

static int cmd_serve(struct oa_config *cfg)
{
    char path[600], cause[512], *why = NULL;
    struct oa_store store = {0};
    struct oa_keys keys;

    db_path(cfg, path, sizeof(path));
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "oad: %s is not initialised: run 'oad init --data %s' first\n", cfg->data_dir,
                cfg->data_dir);
        return 1;
    }
    if (oa_keys_load(cfg->key_file, &keys, cause, sizeof(cause)) != 0) {
        fprintf(stderr, "oad: %s\n", cause);
        return 1;
    }
    /* A key file from before check lines gets one, so damage is caught at the next start. */
    if (keys.unchecked && oa_keys_save(cfg->key_file, &keys, cause, sizeof(cause)) != 0)
        fprintf(stderr, "oad: warning: the key file has no check line and could not be given one: %s\n", cause);
    oa_keys_cli_placement(cfg);
    if (db_key_setup(cfg, true) != 0) {
        oa_keys_wipe(&keys);
        return 1;
    }
    oa_store_cache_kib(cfg->storage_cache_kib, cfg->storage_reader_cache_kib);
    if (oa_store_open(&store, path, false, &why) != 0) {
        fprintf(stderr, "oad: %s\n", why);
        free(why);
        oa_keys_wipe(&keys);
        return 1;
    }
    /* A damaged database is not served: a read would fail at random, and a write could spread the damage. */
    char journal[700], report[1500];
    oa_fault_journal_path(cfg->data_dir, journal, sizeof(journal));
    int check = oa_store_check(&store, false, report, sizeof(report));
    if (check != 0) {
        if (check > 0)
            oa_fault_note(journal, "serve", report);
        fprintf(stderr,
                "oad: %s %s (%s).\n"
                "oad: oad does not serve it: stop here, run 'oad fsck --data %s', and restore the database from "
                "backup.\n",
                path, check > 0 ? "is damaged" : "could not be checked", report, cfg->data_dir);
        oa_store_close(&store);
        oa_keys_wipe(&keys);
        return 1;
    }
    /* Labels are checked against their MACs from here on (#17); rows from before migration 15 get theirs once. */
    int sealed = 0;
    if (oa_labelmac_key(keys.audit_seed) != 0 || oa_doc_label_fill(&store, &sealed) != 0) {
        fprintf(stderr, "oad: cannot give the documents' labels their integrity MACs: %s\n", oa_store_errmsg(&store));
        oa_store_close(&store);
        oa_keys_wipe(&keys);
        return 1;
    }
    if (sealed > 0)
        oa_log(OA_LOG_INFO, "label_macs_filled", "documents=%d", sealed);
    int imported = oa_fault_import(&store, journal);
    if (imported < 0)
        fprintf(stderr, "oad: warning: cannot record %s in the audit trail\n", journal);
    else if (imported > 0)
        oa_log(OA_LOG_WARN, "fault_journal_recorded", "findings=%d journal=%s", imported, journal);
    oa_fault_journal_at(journal);
    oa_reserve_at(cfg->data_dir, cfg->storage_reserve_bytes); /* a full disk: starts degraded, and says so */

    if (!cfg->argon2_explicit)
        oa_console_argon2(&store, cfg, false);
    sodium_mlock(&keys, sizeof(keys));
    int swept = 0;
    if (oa_blob_sweep(&store, cfg->data_dir, &swept) != 0)
        fprintf(stderr, "oad: warning: cannot sweep %s/blobs for orphans\n", cfg->data_dir);
    else if (swept > 0)
        oa_log(OA_LOG_INFO, "blob_orphans_removed", "count=%d", swept);

    /* The unknown-user dummy hash, now rather than on the loop at the first
     * such login; and threads enough that sealing, digests and libmagic run
     * beside the two that Argon2id may take (auth.c, PW_RUNNING). */
    oa_password_prepare(cfg->argon2_opslimit, cfg->argon2_memlimit);
    /* Keep 1 MiB at the top of each heap instead of giving it back to the
     * kernel after every large answer: a list page's 23 KB buffers were
     * page-faulted in anew on every request (perf: 10% of a page's cost). */
    mallopt(M_TRIM_THRESHOLD, 1 << 20);
    mallopt(M_TOP_PAD, 256 << 10);
    setenv("UV_THREADPOOL_SIZE", "8", 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct oa_server *srv = oa_xcalloc(1, sizeof(*srv));
    srv->loop = &loop;
    srv->cfg = cfg;
    srv->keys = &keys;
    {
        unsigned char sk[64];
        oa_audit_keypair(keys.audit_seed, srv->audit_pk, sk);
        sodium_memzero(sk, sizeof(sk));
    }
    srv->routes = oa_routes;
    srv->nroutes = oa_nroutes;
    srv->auth_gate = oa_auth_dispatch;
    srv->on_drained = on_drained;
    srv->jobs = oa_jobs_start(&loop, &store, path, cfg->storage_readers, keys.audit_seed);
    if (srv->jobs == NULL || oa_server_start(srv) != 0) {
        if (srv->jobs)
            oa_jobs_stop(srv->jobs);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        oa_store_close(&store);
        oa_keys_wipe(&keys);
        free(srv);
        return 1;
    }
    oa_blobs_start(srv);
    oa_aip_serve(srv); /* the four-property check at filing (#16) */
    oa_housekeeping_start(srv);
    char pidfile[600];
    snprintf(pidfile, sizeof(pidfile), "%s/oad.pid", cfg->data_dir);
    FILE *pf = fopen(pidfile, "w");
    if (pf) {
        fprintf(pf, "%d\n", (int)getpid());
        fclose(pf);
    }
    oa_log_set_buffered(true);
    char cred[600];
    snprintf(cred, sizeof(cred), "%s/initial-credentials", cfg->data_dir);
    oa_log(OA_LOG_INFO, "listening", "addr=%s data=%s version=%s pid=%d", srv->bound, cfg->data_dir,
           OA_VERSION, (int)getpid());
    if (access(cred, F_OK) == 0)
        oa_log(OA_LOG_INFO, "first_login", "credentials=%s", cred);
    oa_log_flush();

    uv_run(&loop, UV_RUN_DEFAULT);

    unlink(pidfile);
    oa_store_close(&store);
    if (srv->keys_owned)
        sodium_free(srv->keys_owned);
    sodium_munlock(&keys, sizeof(keys)); /* wipes them too */
    int closed = uv_loop_close(&loop);
    oa_log_set_buffered(false);
    oa_log(OA_LOG_INFO, "stopped", "loop_closed=%s", closed == 0 ? "yes" : "no");
    free(srv);
    return 0;
}

/* Opens the database of an initialised data directory for the offline commands. */
static int open_existing(const struct oa_config *cfg, struct oa_store *store)
{
    char path[600], *why = NULL;
    db_path(cfg, path, sizeof(path));
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "oad: %s is not initialised\n", cfg->data_dir);
        return -1;
    }
    if (oa_store_open_readonly(store, path, &why) != 0) {
        fprintf(stderr, "oad: %s\n", why);
        free(why);
        return -1;
    }
    return 0;
}

static int cmd_audit_pubkey(const struct oa_config *cfg)
{
    unsigned char pk[32];
    struct oa_store store;
    char vkey[OA_AUDIT_VKEY_MAX];
    if (audit_public_key(cfg, pk) != 0 || open_existing(cfg, &store) != 0)
        return 2;
    int rc = audit_vkey(pk, &store, vkey, sizeof(vkey));
    oa_store_close(&store);
    if (rc != 0)
        return 2;
    printf("%s\n", vkey);
    return 0;
}

static int cmd_audit_verify(const struct oa_config *cfg)
{
    char report[512];
    struct oa_store store;
    unsigned char pk[32];
    if (audit_public_key(cfg, pk) != 0 || open_existing(cfg, &store) != 0)
        return 2;
    uint64_t entries = 0, checkpoints = 0;
    uint64_t t0 = uv_hrtime();
    int rc = oa_audit_verify(&store, pk, report, sizeof(report), &entries, &checkpoints);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    oa_store_close(&store);
    if (rc < 0) {
        fprintf(stderr, "oad: the audit trail could not be read\n");
        return 2;
    }
    printf("%s: %s (%.2f s)\n", rc == 0 ? "intact" : "TAMPERED", report, secs);
    return rc == 0 ? 0 : 1;
}

static int cmd_report(const struct oa_config *cfg, const char *month)
{
    struct oa_store store;
    if (month == NULL) {
        fprintf(stderr, "oad: report security needs --month YYYY-MM\n");
        return 2;
    }
    if (open_existing(cfg, &store) != 0)
        return 2;
    int rc = oa_console_report(&store, month);
    oa_store_close(&store);
    return rc;
}

/* ---- fsck ---- */

struct fsck {
    const struct oa_config *cfg;
    const struct oa_keys *keys;
    uint64_t checked, damaged, shredded, bytes;
};

static int fsck_sink(void *arg, const void *data, size_t len)
{
    (void)data;
    *(uint64_t *)arg += len;
    return 0;
}

static int fsck_one(void *arg, const struct oa_blob_row *b)
{
    struct fsck *f = arg;
    char path[4096], ad[256], cause[512];
    unsigned char dek[OA_DEK_LEN];
    if (b->shredded) {
        f->shredded++;
        return 0;
    }
    f->checked++;
    const char *why = NULL;
    uint64_t got = 0;
    if (oa_blob_path(f->cfg->data_dir, b->file, path, sizeof(path)) != 0) {
        why = "path too long";
    } else if (oa_dek_unwrap(f->keys, b->level, b->kek_version, b->dek, dek) != 0) {
        why = "its data key does not unwrap (key version missing from the key file, or the row was altered)";
    } else {
        size_t adlen = oa_blob_ad(b, ad, sizeof(ad));
        if (oa_blob_read(path, dek, ad, adlen, 0, UINT64_MAX, b->info.digest, fsck_sink, &got, cause,
                         sizeof(cause)) != 0)
            why = cause;
        else if (got != b->info.size)
            why = "its size differs from the recorded size";
        sodium_memzero(dek, sizeof(dek));
    }
    f->bytes += got;
    if (why) {
        f->damaged++;
        printf("DAMAGED blob %lld (document %lld, attachment %lld rev %d, file %s): %s\n", (long long)b->id,
               (long long)b->doc_id, (long long)b->attachment_id, b->rev, b->file, why);
    }
    return 0;
}

static int cmd_fsck(const struct oa_config *cfg)
{
    char cause[512];
    struct oa_keys keys;
    struct oa_store store;
    if (oa_keys_load(cfg->key_file, &keys, cause, sizeof(cause)) != 0) {
        fprintf(stderr, "oad: %s\n", cause);
        return 2;
    }
    if (open_existing(cfg, &store) != 0) {
        oa_keys_wipe(&keys);
        return 2;
    }
    struct fsck f = {cfg, &keys, 0, 0, 0, 0};
    uint64_t t0 = uv_hrtime();
    /* The database first: its pages, indexes and references. */
    char report[4000], db[600];
    db_path(cfg, db, sizeof(db));
    int db_rc = oa_store_check(&store, true, report, sizeof(report));
    if (db_rc > 0) {
        printf("DAMAGED database %s: %s\n", db, report);
        char journal[700];
        oa_fault_journal_path(cfg->data_dir, journal, sizeof(journal));
        if (oa_fault_note(journal, "fsck", report) != 0)
            fprintf(stderr, "oad: cannot note the damage in %s\n", journal);
    } else if (db_rc < 0) {
        fprintf(stderr, "oad: the database could not be checked: %s\n", report);
    } else {
        printf("intact: database %s (integrity_check, foreign_key_check)\n", db);
    }
    int rc = oa_blob_each(&store, fsck_one, &f);
    oa_store_close(&store);
    oa_keys_wipe(&keys);
    if (rc != 0 || db_rc < 0) {
        if (rc != 0)
            fprintf(stderr, "oad: the blob table could not be read\n");
        if (db_rc > 0) {
            printf("DAMAGED: restore the database from backup\n");
            return 1;
        }
        return 2;
    }
    printf("%s: %llu blobs checked (%llu bytes), %llu damaged, %llu shredded (%.2f s)\n",
           f.damaged || db_rc ? "DAMAGED" : "intact", (unsigned long long)f.checked, (unsigned long long)f.bytes,
           (unsigned long long)f.damaged, (unsigned long long)f.shredded, (double)(uv_hrtime() - t0) / 1e9);
    if (db_rc)
        printf("The database is damaged: stop oad and restore it from backup.\n");
    return f.damaged || db_rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct cli cli = {0};
    umask(077); /* the database, WAL and key files are for oad's user only */
    if (argc >= 2 && strcmp(argv[1], "tls") == 0)
        return oa_tls_command(argc - 1, argv + 1); /* the office's CA (server/tls_ca.c) */
    int rc = parse_cli(argc, argv, &cli);
    if (rc != 0)
        return rc;
    if (sodium_init() < 0) {
        fprintf(stderr, "oad: libsodium failed to initialise\n");
        return 1;
    }
    struct oa_config cfg;
    bool audit = strcmp(cli.command, "audit") == 0 && cli.sub && strcmp(cli.sub, "verify") == 0;
    bool pubkey = strcmp(cli.command, "audit") == 0 && cli.sub && strcmp(cli.sub, "pubkey") == 0;
    bool report = strcmp(cli.command, "report") == 0 && cli.sub && strcmp(cli.sub, "security") == 0;
    bool keys = strcmp(cli.command, "keys") == 0 && cli.sub;
    bool fsck = strcmp(cli.command, "fsck") == 0;
    bool reset_pw = strcmp(cli.command, "admin") == 0 && cli.sub && strcmp(cli.sub, "reset-password") == 0;
    bool encrypt = strcmp(cli.command, "encrypt") == 0;
    if (strcmp(cli.command, "init") != 0 && strcmp(cli.command, "serve") != 0 && !audit && !pubkey && !report &&
        !keys && !fsck && !reset_pw && !encrypt) {
        fprintf(stderr, "oad: unknown command '%s%s%s'; try 'oad --help'\n", cli.command, cli.sub ? " " : "",
                cli.sub ? cli.sub : "");
        return 2;
    }
    if (build_config(&cli, &cfg) != 0)
        return 2;
    /* The key file's token and passphrase, once, before anything reads the file (#17). */
    if (oa_keys_cli_token_open(&cfg) != 0)
        return 1;
    rc = oa_keys_cli_unlock(&cfg);
    if (rc != 0 || oa_keys_cli_token_check(&cfg) != 0)
        return rc != 0 ? rc : 1;
    /* Every command that reads the database reads it through its key. */
    if ((audit || pubkey || report || fsck || reset_pw || encrypt) && db_key_setup(&cfg, encrypt) != 0)
        return encrypt ? 1 : 2;
    if (encrypt)
        return printf("oad: %s/oa.db is encrypted (key: the db-key line of %s)\n", cfg.data_dir, cfg.key_file) < 0;
    if (audit)
        return cmd_audit_verify(&cfg);
    if (pubkey)
        return cmd_audit_pubkey(&cfg);
    if (report)
        return cmd_report(&cfg, cli.month);
    if (fsck)
        return cmd_fsck(&cfg);
    if (keys)
        return oa_keys_cli(&cfg, cli.sub, cli.new_passphrase_file, cli.level);
    if (reset_pw) {
        if (cli.arg == NULL) {
            fprintf(stderr, "oad: admin reset-password needs the account's name\n");
            return 2;
        }
        return oa_console_reset_password(&cfg, cli.arg);
    }
    if (strcmp(cli.command, "init") == 0)
        return cmd_init(&cfg, &cli);
    return cmd_serve(&cfg);
}
