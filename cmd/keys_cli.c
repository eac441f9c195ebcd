/* cmd/keys_cli.c: see keys_cli.h. */
#include "cmd/keys_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "proto/log.h"
#include "storage/keys.h"
#include "storage/keyseal.h"
#include "storage/keytoken.h"

struct passphrase {
    char text[OA_KEYSEAL_MAX_PASSPHRASE + 2];
    size_t len;
};

/*
 * Reads a passphrase file: its owner's only, one line (a final newline is
 * not part of it).  0, or -1 after saying why.
 */
static int read_file(const char *path, struct passphrase *p)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "oad: cannot open the passphrase file %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        close(fd);
        fprintf(stderr, "oad: the passphrase file %s must be readable by its owner only (chmod 600)\n", path);
        return -1;
    }
    ssize_t n = read(fd, p->text, sizeof(p->text) - 1);
    close(fd);
    if (n < 0) {
        fprintf(stderr, "oad: cannot read the passphrase file %s: %s\n", path, strerror(errno));
        return -1;
    }
    p->len = (size_t)n;
    if (p->len > 0 && p->text[p->len - 1] == '\n')
        p->len--;
    if (p->len > 0 && p->text[p->len - 1] == '\r')
        p->len--;
    if (p->len == 0 || p->len > OA_KEYSEAL_MAX_PASSPHRASE) {
        fprintf(stderr, "oad: the passphrase file %s holds no passphrase (or one over %d bytes)\n", path,
                OA_KEYSEAL_MAX_PASSPHRASE);
        sodium_memzero(p, sizeof(*p));
        return -1;
    }
    return 0;
}

/* Asks at the terminal with echo off.  0, or -1 when there is no terminal or nothing was typed. */
static int read_tty(const char *prompt, struct passphrase *p)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct termios old, quiet;
    bool restore = tcgetattr(fd, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    ssize_t w = write(fd, prompt, strlen(prompt));
    p->len = 0;
    char c;
    while (read(fd, &c, 1) == 1 && c != '\n') {
        if (p->len < sizeof(p->text) - 1)
            p->text[p->len++] = c;
    }
    c = 0;
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    w = write(fd, "\n", 1);
    (void)w;
    close(fd);
    if (p->len == 0 || p->len > OA_KEYSEAL_MAX_PASSPHRASE) {
        sodium_memzero(p, sizeof(*p));
        return -1;
    }
    return 0;
}

/* The current passphrase: the configured file, the systemd credential, or typed.  0 or -1 after saying why. */
static int current_passphrase(const struct oa_config *cfg, struct passphrase *p)
{
    if (cfg->passphrase_file[0] != '\0')
        return read_file(cfg->passphrase_file, p);
    const char *creds = getenv("CREDENTIALS_DIRECTORY");
    if (creds != NULL && creds[0] != '\0') {
        char path[1024];
        snprintf(path, sizeof(path), "%s/oad-passphrase", creds);
        if (access(path, F_OK) == 0)
            return read_file(path, p);
    }
    char prompt[700];
    snprintf(prompt, sizeof(prompt), "Passphrase for the key file %s: ", cfg->key_file);
    if (read_tty(prompt, p) == 0)
        return 0;
    fprintf(stderr, "oad: the key file %s is sealed with a passphrase: type it at a terminal, or give it in a file "
                    "on another disk (--passphrase-file FILE) or as the systemd credential oad-passphrase\n",
            cfg->key_file);
    return -1;
}

/* A new passphrase: from a file, or typed twice.  At least OA_KEYSEAL_MIN_PASSPHRASE bytes.  0 or -1. */
static int new_passphrase(const struct oa_config *cfg, const char *file, struct passphrase *p)
{
    if (file != NULL) {
        if (read_file(file, p) != 0)
            return -1;
    } else {
        struct passphrase again;
        char prompt[700];
        snprintf(prompt, sizeof(prompt), "New passphrase for the key file %s: ", cfg->key_file);
        if (read_tty(prompt, p) != 0) {
            fprintf(stderr, "oad: no terminal to type the new passphrase at: give it in a file "
                            "(--new-passphrase-file FILE)\n");
            return -1;
        }
        int same = read_tty("The same again: ", &again) == 0 && again.len == p->len &&
                   sodium_memcmp(again.text, p->text, p->len) == 0;
        sodium_memzero(&again, sizeof(again));
        if (!same) {
            sodium_memzero(p, sizeof(*p));
            fprintf(stderr, "oad: the two passphrases differ; nothing changed\n");
            return -1;
        }
    }
    if (p->len < OA_KEYSEAL_MIN_PASSPHRASE) {
        sodium_memzero(p, sizeof(*p));
        fprintf(stderr, "oad: a key file's passphrase must be at least %d bytes long\n", OA_KEYSEAL_MIN_PASSPHRASE);
        return -1;
    }
    if (file != NULL && oa_keys_beside_data(file, cfg->data_dir))
        fprintf(stderr, "oad: warning: the passphrase file %s is on the data's filesystem: keep it on another disk\n",
                file);
    return 0;
}

/* Takes p as the process's passphrase and wipes p.  0 or -1. */
static int use(struct passphrase *p)
{
    int rc = oa_keyseal_passphrase(p->text, p->len);
    sodium_memzero(p, sizeof(*p));
    return rc;
}

int oa_keys_cli_unlock(const struct oa_config *cfg)
{
    if (oa_keyseal_file_sealed(cfg->key_file) != 1)
        return 0;
    struct passphrase p;
    if (current_passphrase(cfg, &p) != 0 || use(&p) != 0)
        return 1;
    struct oa_keys *k = sodium_malloc(sizeof(*k));
    char cause[700];
    if (k == NULL) {
        fprintf(stderr, "oad: out of memory\n");
        return 1;
    }
    int rc = oa_keys_load(cfg->key_file, k, cause, sizeof(cause));
    sodium_free(k);
    if (rc == OA_KEYS_WRONG_PASSPHRASE) {
        fprintf(stderr, "oad: wrong passphrase: it does not open the sealed key file %s\n", cfg->key_file);
        return OA_EXIT_WRONG_PASSPHRASE;
    }
    if (rc != 0) {
        fprintf(stderr, "oad: %s\n", cause);
        return 1;
    }
    return 0;
}

int oa_keys_cli_token_open(const struct oa_config *cfg)
{
    char cause[700];
    if (cfg->pkcs11_module[0] == '\0')
        return 0;
    if (cfg->pkcs11_token[0] == '\0') {
        fprintf(stderr, "oad: keys.pkcs11_module is set: keys.pkcs11_token names the token (its label)\n");
        return 1;
    }
    struct passphrase pin;
    const char *creds = getenv("CREDENTIALS_DIRECTORY");
    char cred[1024] = "";
    if (cfg->pkcs11_pin_file[0] == '\0' && creds != NULL && creds[0] != '\0')
        snprintf(cred, sizeof(cred), "%s/oad-pkcs11-pin", creds);
    const char *pinfile = cfg->pkcs11_pin_file[0] ? cfg->pkcs11_pin_file : cred;
    if (pinfile[0] == '\0') {
        fprintf(stderr, "oad: the token's PIN: keys.pkcs11_pin_file FILE, or the systemd credential oad-pkcs11-pin\n");
        return 1;
    }
    if (read_file(pinfile, &pin) != 0)
        return 1;
    int orc = oa_keytoken_open(cfg->pkcs11_module, cfg->pkcs11_token, pin.text, pin.len, cause, sizeof(cause));
    sodium_memzero(&pin, sizeof(pin));
    if (orc != 0) {
        fprintf(stderr, "oad: %s\n", cause);
        return 1;
    }
    return 0;
}

int oa_keys_cli_token_check(const struct oa_config *cfg)
{
    char cause[700];
    int rc = 1;
    if (access(cfg->key_file, F_OK) != 0)
        return 0;
    struct oa_keys *k = sodium_malloc(sizeof(*k));
    if (k == NULL) {
        fprintf(stderr, "oad: out of memory\n");
        return 1;
    }
    if (oa_keys_load(cfg->key_file, k, cause, sizeof(cause)) != 0) {
        fprintf(stderr, "oad: %s\n", cause);
        goto out;
    }
    if (!oa_keytoken_is_open() && oa_keys_use_token(k)) {
        fprintf(stderr, "oad: the key file %s keeps key-encryption keys in a PKCS#11 token: set keys.pkcs11_module "
                        "and keys.pkcs11_token (and its PIN in keys.pkcs11_pin_file)\n",
                cfg->key_file);
        goto out;
    }
    for (int l = 0; l < OA_KEY_LEVELS; l++)
        for (int v = 1; v < OA_KEY_VERSIONS; v++)
            if (k->kek_present[l][v] && k->kek_token[l][v] && !oa_keytoken_has(l, v)) {
                fprintf(stderr, "oad: the token '%s' does not hold the key-encryption key of level %d version %d "
                                "(oa-kek-%d-%d) that the key file %s names: another token?\n",
                        cfg->pkcs11_token, l, v, l, v, cfg->key_file);
                goto out;
            }
    rc = 0;
out:
    sodium_free(k);
    return rc;
}

void oa_keys_cli_placement(const struct oa_config *cfg)
{
    if (oa_keys_beside_data(cfg->key_file, cfg->data_dir))
        oa_log(OA_LOG_WARN, "key_file_beside_data",
               "keys=%s data=%s advice=\"a copy of that disk opens everything: keep the key file on another disk "
               "(--keys FILE) or seal it (oad keys seal)\" sealed=%s",
               cfg->key_file, cfg->data_dir, oa_keyseal_file_sealed(cfg->key_file) == 1 ? "yes" : "no");
    if (cfg->passphrase_file[0] != '\0' && oa_keys_beside_data(cfg->passphrase_file, cfg->data_dir))
        oa_log(OA_LOG_WARN, "passphrase_file_beside_data", "file=%s data=%s advice=\"keep it on another disk\"",
               cfg->passphrase_file, cfg->data_dir);
}

int oa_keys_cli_create(const struct oa_config *cfg, bool seal, const char *new_file)
{
    char cause[700];
    if (access(cfg->key_file, F_OK) == 0) {
        if (seal && oa_keyseal_file_sealed(cfg->key_file) != 1) {
            fprintf(stderr, "oad: the key file %s exists and is not sealed: seal it with 'oad keys seal'\n",
                    cfg->key_file);
            return 1;
        }
        return 0;
    }
    if (!seal) {
        if (oa_keys_create(cfg->key_file, cause, sizeof(cause)) == 0)
            return 0;
        fprintf(stderr, "oad: %s\n", cause);
        return 1;
    }
    struct passphrase p;
    const char *file = new_file ? new_file : cfg->passphrase_file[0] ? cfg->passphrase_file : NULL;
    if (new_passphrase(cfg, file, &p) != 0 || use(&p) != 0)
        return 1;
    if (oa_keyseal_rekey(cfg->seal_opslimit, cfg->seal_memlimit, cause, sizeof(cause)) != 0 ||
        oa_keys_create_sealed(cfg->key_file, cause, sizeof(cause)) != 0) {
        fprintf(stderr, "oad: %s\n", cause);
        return 1;
    }
    return 0;
}

/* oad keys seal, unseal, passwd: load (unlocked already), change how it is sealed, save. */
static int reseal(const struct oa_config *cfg, const char *sub, const char *new_file)
{
    char cause[700];
    int sealed = oa_keyseal_file_sealed(cfg->key_file), rc = 1;
    bool seal = strcmp(sub, "seal") == 0, passwd = strcmp(sub, "passwd") == 0;
    if (sealed < 0) {
        fprintf(stderr, "oad: cannot read the key file %s: %s\n", cfg->key_file, strerror(errno));
        return 1;
    }
    if ((seal && sealed) || (!seal && !sealed)) {
        fprintf(stderr, "oad: the key file %s is %s sealed%s\n", cfg->key_file, sealed ? "already" : "not",
                passwd ? ": seal it first (oad keys seal)" : "");
        return 1;
    }
    struct oa_keys *k = sodium_malloc(sizeof(*k));
    if (k == NULL || oa_keys_load(cfg->key_file, k, cause, sizeof(cause)) != 0) {
        fprintf(stderr, "oad: %s\n", k ? cause : "out of memory");
        goto out;
    }
    if (seal || passwd) {
        struct passphrase p;
        const char *file = new_file ? new_file : seal && cfg->passphrase_file[0] ? cfg->passphrase_file : NULL;
        if (new_passphrase(cfg, file, &p) != 0 || use(&p) != 0)
            goto out;
        if (oa_keyseal_rekey(cfg->seal_opslimit, cfg->seal_memlimit, cause, sizeof(cause)) != 0) {
            fprintf(stderr, "oad: %s\n", cause);
            goto out;
        }
    }
    k->sealed = seal || passwd;
    if (oa_keys_save(cfg->key_file, k, cause, sizeof(cause)) != 0) {
        fprintf(stderr, "oad: %s\n", cause);
        goto out;
    }
    printf("oad: the key file %s is %s\n", cfg->key_file,
           seal ? "sealed: oad asks for its passphrase at start (or reads --passphrase-file FILE)"
           : passwd ? "sealed with the new passphrase: restart oad with it"
                    : "no longer sealed: anyone who can read it has every key");
    rc = 0;
out:
    if (k)
        sodium_free(k);
    return rc;
}

static int rotate(const struct oa_config *cfg, const char *level_arg)
{
    char cause[512];
    int level = -1;
    if (level_arg) {
        char *end = NULL;
        long v = strtol(level_arg, &end, 10);
        if (end == level_arg || *end != '\0' || v < 0 || v >= OA_KEY_LEVELS) {
            fprintf(stderr, "oad: --level wants 0 (公开) to 4 (绝密)\n");
            return 2;
        }
        level = (int)v;
    }
    struct oa_keys *k = sodium_malloc(sizeof(*k));
    if (k == NULL || oa_keys_load(cfg->key_file, k, cause, sizeof(cause)) != 0 ||
        oa_keys_rotate(k, level, cause, sizeof(cause)) != 0 || oa_keys_save(cfg->key_file, k, cause, sizeof(cause)) != 0) {
        fprintf(stderr, "oad: %s\n", k ? cause : "out of memory");
        if (k)
            sodium_free(k);
        return 1;
    }
    printf("new key versions:");
    for (int l = 0; l < OA_KEY_LEVELS; l++)
        if (level < 0 || l == level)
            printf(" level %d -> %d", l, k->kek_version[l]);
    printf("\n");
    sodium_free(k);
    char pidfile[600];
    snprintf(pidfile, sizeof(pidfile), "%s/oad.pid", cfg->data_dir);
    FILE *pf = fopen(pidfile, "r");
    int pid = 0;
    if (pf) {
        if (fscanf(pf, "%d", &pid) != 1)
            pid = 0;
        fclose(pf);
    }
    if (pid > 0 && kill(pid, SIGHUP) == 0)
        printf("oad (pid %d) is rewrapping data keys in the background.\n", pid);
    else
        printf("oad is not running: it rewraps data keys when it next starts.\n");
    return 0;
}

int oa_keys_cli(const struct oa_config *cfg, const char *sub, const char *new_file, const char *level)
{
    if (strcmp(sub, "rotate") == 0)
        return rotate(cfg, level);
    if (strcmp(sub, "seal") == 0 || strcmp(sub, "unseal") == 0 || strcmp(sub, "passwd") == 0)
        return reseal(cfg, sub, new_file);
    fprintf(stderr, "oad: unknown command 'keys %s'; try 'oad --help'\n", sub);
    return 2;
}
