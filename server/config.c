/* server/config.c: defaults, the INI file and flag parsing.  See config.h. */
#include "server/config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "proto/log.h"

void oa_config_defaults(struct oa_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->data_dir, sizeof(c->data_dir), "data");
    snprintf(c->listen_host, sizeof(c->listen_host), "127.0.0.1");
    c->listen_port = 8340;
    c->log_level = OA_LOG_INFO;
    c->max_connections = 4096;
    c->max_connections_per_source = 256;
    c->max_header_bytes = 16 * 1024;
    c->max_body_bytes = 1024 * 1024;
    c->header_timeout_ms = 10000;
    c->body_timeout_ms = 30000;
    c->idle_timeout_ms = 60000;
    c->write_timeout_ms = 30000;
    c->shutdown_timeout_ms = 10000;
    c->argon2_opslimit = 3;
    c->argon2_memlimit = 64u * 1024 * 1024;
    c->session_idle_s = 30 * 60;
    c->session_lifetime_s = 12 * 3600;
    c->lockout_threshold = 5;
    c->account_lockout_threshold = 20;
    c->source_failure_limit = 30;
    c->lockout_s = 15 * 60;
    c->login_delay_ms = 250;
    c->blob_max_bytes = (size_t)4 << 30;
    c->storage_reserve_bytes = (size_t)8 << 20;
    c->storage_encrypt = true;
    c->blob_max_request_bytes = (size_t)4 << 30;
    c->blob_suite = 1;
    c->upload_idle_s = 24 * 3600;
    c->housekeeping_s = 3600;
    c->storage_cache_kib = 65536;
    c->storage_reader_cache_kib = 2000;
    c->idempotency_keep_s = 7 * 86400;
    c->sync_cache_max_level = 1;
    unsigned cores = uv_available_parallelism();
    c->storage_readers = cores < 1 ? 1 : cores > 64 ? 64 : cores;
    /* #17, a sealed key file: libsodium's "moderate" Argon2id, once per start */
    c->seal_opslimit = 3;
    c->seal_memlimit = (size_t)256 << 20;
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (s[0] == '-' || s[0] == '\0')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int oa_config_set_listen(struct oa_config *c, const char *hostport)
{
    const char *colon = strrchr(hostport, ':');
    uint64_t port;
    if (colon == NULL || colon == hostport || (size_t)(colon - hostport) >= sizeof(c->listen_host))
        return -1;
    if (parse_u64(colon + 1, 0, 65535, &port) != 0)
        return -1;
    const char *h = hostport;
    size_t hl = (size_t)(colon - hostport);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    memcpy(c->listen_host, h, hl);
    c->listen_host[hl] = '\0';
    c->listen_port = (int)port;
    return 0;
}

enum kind { K_STR, K_UNSIGNED, K_SIZE, K_U64, K_LEVEL, K_LISTEN, K_SUITE, K_BOOL, K_TOKEN };

struct key {
    const char *section, *name;
    enum kind kind;
    size_t off;
    size_t len; /* K_STR: buffer size */
    uint64_t min, max;
};

#define F(field) offsetof(struct oa_config, field)
static const struct key keys[] = {
    {"server", "data", K_STR, F(data_dir), sizeof(((struct oa_config *)0)->data_dir), 0, 0},
    {"server", "keys", K_STR, F(key_file), sizeof(((struct oa_config *)0)->key_file), 0, 0},
    {"server", "listen", K_LISTEN, 0, 0, 0, 0},
    {"server", "log_level", K_LEVEL, F(log_level), 0, 0, 0},
    {"http", "max_connections", K_UNSIGNED, F(max_connections), 0, 1, 1000000},
    {"http", "max_connections_per_source", K_UNSIGNED, F(max_connections_per_source), 0, 1, 1000000},
    {"http", "max_header_bytes", K_SIZE, F(max_header_bytes), 0, 1024, 1 << 20},
    {"http", "max_body_bytes", K_SIZE, F(max_body_bytes), 0, 1024, (uint64_t)1 << 34},
    {"http", "header_timeout_ms", K_UNSIGNED, F(header_timeout_ms), 0, 10, 3600000},
    {"http", "body_timeout_ms", K_UNSIGNED, F(body_timeout_ms), 0, 10, 3600000},
    {"http", "idle_timeout_ms", K_UNSIGNED, F(idle_timeout_ms), 0, 10, 3600000},
    {"http", "write_timeout_ms", K_UNSIGNED, F(write_timeout_ms), 0, 10, 3600000},
    {"http", "shutdown_timeout_ms", K_UNSIGNED, F(shutdown_timeout_ms), 0, 0, 3600000},
    {"security", "argon2_opslimit", K_U64, F(argon2_opslimit), 0, 1, 64},
    {"security", "argon2_memlimit", K_SIZE, F(argon2_memlimit), 0, 8192, (uint64_t)4 << 30},
    {"security", "session_idle_seconds", K_UNSIGNED, F(session_idle_s), 0, 1, 7 * 86400},
    {"security", "session_lifetime_seconds", K_UNSIGNED, F(session_lifetime_s), 0, 1, 30 * 86400},
    {"security", "idempotency_keep_seconds", K_UNSIGNED, F(idempotency_keep_s), 0, 1, 366 * 86400},
    {"security", "lockout_threshold", K_UNSIGNED, F(lockout_threshold), 0, 1, 1000},
    {"security", "account_lockout_threshold", K_UNSIGNED, F(account_lockout_threshold), 0, 1, 100000},
    {"security", "source_failure_limit", K_UNSIGNED, F(source_failure_limit), 0, 1, 100000},
    {"security", "lockout_seconds", K_UNSIGNED, F(lockout_s), 0, 1, 30 * 86400},
    {"security", "login_failure_delay_ms", K_UNSIGNED, F(login_delay_ms), 0, 0, 10000},
    {"blob", "max_bytes", K_SIZE, F(blob_max_bytes), 0, 1, (uint64_t)1 << 42},
    {"blob", "max_request_bytes", K_SIZE, F(blob_max_request_bytes), 0, 1, (uint64_t)1 << 42},
    {"blob", "suite", K_SUITE, F(blob_suite), 0, 0, 0},
    {"blob", "upload_idle_seconds", K_UNSIGNED, F(upload_idle_s), 0, 1, 30 * 86400},
    {"storage", "readers", K_UNSIGNED, F(storage_readers), 0, 1, 64},
    {"storage", "reserve_bytes", K_SIZE, F(storage_reserve_bytes), 0, 0, (uint64_t)1 << 34},
    {"storage", "housekeeping_seconds", K_UNSIGNED, F(housekeeping_s), 0, 1, 86400},
    {"storage", "encrypt", K_BOOL, F(storage_encrypt), 0, 0, 0},
    {"sync", "cache_max_level", K_UNSIGNED, F(sync_cache_max_level), 0, 0, 4},
    {"metrics", "scrape_token", K_TOKEN, F(metrics_scrape_token), sizeof(((struct oa_config *)0)->metrics_scrape_token),
     16, 128},
    {"metrics", "allow_remote", K_BOOL, F(metrics_allow_remote), 0, 0, 0},
    {"records", "recipient_cert", K_STR, F(records_recipient_cert),
     sizeof(((struct oa_config *)0)->records_recipient_cert), 0, 0},
    /* #17: TLS */
    {"tls", "cert", K_STR, F(tls_cert), sizeof(((struct oa_config *)0)->tls_cert), 0, 0},
    {"tls", "key", K_STR, F(tls_key), sizeof(((struct oa_config *)0)->tls_key), 0, 0},
    {"tls", "client_ca", K_STR, F(tls_client_ca), sizeof(((struct oa_config *)0)->tls_client_ca), 0, 0},
    {"tls", "client_account", K_BOOL, F(tls_client_account), 0, 0, 0},
    {"tls", "allow_plain_remote", K_BOOL, F(tls_allow_plain_remote), 0, 0, 0},
    /* #17, keys off the data disk */
    {"server", "passphrase_file", K_STR, F(passphrase_file), sizeof(((struct oa_config *)0)->passphrase_file), 0, 0},
    {"keys", "seal_opslimit", K_U64, F(seal_opslimit), 0, 1, 64},
    {"keys", "seal_memlimit", K_SIZE, F(seal_memlimit), 0, 8192, (uint64_t)4 << 30},
    {"keys", "pkcs11_module", K_STR, F(pkcs11_module), sizeof(((struct oa_config *)0)->pkcs11_module), 0, 0},
    {"keys", "pkcs11_token", K_STR, F(pkcs11_token), sizeof(((struct oa_config *)0)->pkcs11_token), 0, 0},
    {"keys", "pkcs11_pin_file", K_STR, F(pkcs11_pin_file), sizeof(((struct oa_config *)0)->pkcs11_pin_file), 0, 0},
    /* soak: the page caches, bounded so that the soak test's memory levels off */
    {"storage", "cache_kib", K_UNSIGNED, F(storage_cache_kib), 0, 64, 16u << 20},
    {"storage", "reader_cache_kib", K_UNSIGNED, F(storage_reader_cache_kib), 0, 64, 16u << 20},
};
#undef F

int oa_config_set(struct oa_config *c, const char *section, const char *key, const char *value,
                  char *cause, size_t causelen)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const struct key *k = &keys[i];
        if (strcmp(k->section, section) != 0 || strcmp(k->name, key) != 0)
            continue;
        char *field = (char *)c + k->off;
        uint64_t v = 0;
        if (strncmp(key, "argon2_", 7) == 0)
            c->argon2_explicit = true;
        switch (k->kind) {
        case K_STR:
            if (strlen(value) >= k->len)
                goto bad;
            memcpy(field, value, strlen(value) + 1);
            return 0;
        case K_TOKEN: {
            /* min to max visible ASCII characters: it travels as "Authorization: Bearer <token>" */
            size_t n = strlen(value);
            if (n < k->min || n > k->max || n >= k->len)
                goto bad;
            for (size_t j = 0; j < n; j++)
                if (value[j] < 0x21 || value[j] > 0x7e)
                    goto bad;
            memcpy(field, value, n + 1);
            return 0;
        }
        case K_BOOL:
            if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0)
                *(bool *)field = true;
            else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0)
                *(bool *)field = false;
            else
                goto bad;
            return 0;
        case K_LISTEN:
            if (oa_config_set_listen(c, value) != 0)
                goto bad;
            return 0;
        case K_SUITE:
            if (strcmp(value, "aes-256-gcm") == 0)
                *(int *)field = 1;
            else if (strcmp(value, "sm4-sm3") == 0)
                *(int *)field = 2;
            else
                goto bad;
            return 0;
        case K_LEVEL: {
            int l = oa_log_parse_level(value);
            if (l < 0)
                goto bad;
            *(int *)field = l;
            return 0;
        }
        case K_UNSIGNED:
            if (parse_u64(value, k->min, k->max, &v) != 0)
                goto bad;
            *(unsigned *)field = (unsigned)v;
            return 0;
        case K_SIZE:
            if (parse_u64(value, k->min, k->max, &v) != 0)
                goto bad;
            *(size_t *)field = (size_t)v;
            return 0;
        case K_U64:
            if (parse_u64(value, k->min, k->max, &v) != 0)
                goto bad;
            *(uint64_t *)field = v;
            return 0;
        }
    bad:
        if (k->kind == K_UNSIGNED || k->kind == K_SIZE || k->kind == K_U64)
            snprintf(cause, causelen, "[%s] %s must be a whole number from %llu to %llu", section, key,
                     (unsigned long long)k->min, (unsigned long long)k->max);
        else
            snprintf(cause, causelen, "[%s] %s has a bad value%s", section, key,
                     k->kind == K_SUITE   ? " (aes-256-gcm or sm4-sm3)"
                     : k->kind == K_BOOL  ? " (true or false)"
                     : k->kind == K_TOKEN ? " (16 to 128 visible ASCII characters, no spaces)"
                                          : "");
        return -1;
    }
    snprintf(cause, causelen, "unknown setting [%s] %s", section, key);
    return -1;
}

struct load_ctx {
    struct oa_config *c;
    char *cause;
    size_t causelen;
    int failed;
};

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
    struct load_ctx *ctx = user;
    if (ctx->failed)
        return 0;
    if (oa_config_set(ctx->c, section, name, value, ctx->cause, ctx->causelen) != 0) {
        ctx->failed = 1;
        return 0;
    }
    return 1;
}

int oa_config_load(struct oa_config *c, const char *path, char *cause, size_t causelen)
{
    char inner[256] = "";
    struct load_ctx ctx = {c, inner, sizeof(inner), 0};
    int rc = ini_parse(path, on_ini, &ctx);
    if (rc == -1) {
        snprintf(cause, causelen, "cannot open the configuration file %s", path);
        return -1;
    }
    if (rc != 0) {
        snprintf(cause, causelen, "%s line %d: %s", path, rc, inner[0] ? inner : "syntax error");
        return -1;
    }
    return 0;
}
