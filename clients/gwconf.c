/*
 * clients/gwconf.c: oagw's settings: compiled-in defaults, then an INI file
 * (parsed by inih, as oad's are).  Sections:
 *   [oagw]   server, tls_ca, tls_pin, tls_cert, tls_key, credentials, inbox, outbox, state, key, sender,
 *            clamav_db, no_virus_scan, allowed_types, rescan_seconds,
 *            outbox_poll_seconds, settle_ms
 *   [limits] max_entries, max_entry_bytes, max_total_bytes, max_ratio,
 *            max_manifest_bytes
 *   [trust]  SENDER = base64 Ed25519 public key (one line per key)
 * An unknown section or key is an error, not ignored.
 */
#include <errno.h>
#include <ini.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clients/gw-int.h"
#include "proto/alloc.h"

struct ctx {
    struct gwconf *c;
    char *why;
    size_t whylen;
};

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
    struct ctx *x = user;
    struct gwconf *c = x->c;
    uint64_t v = 0;
    if (strcmp(section, "oagw") == 0) {
        struct {
            const char *key;
            char *dst;
            size_t cap;
        } texts[] = {
            {"server", c->server, sizeof c->server},       {"credentials", c->credentials, sizeof c->credentials},
            {"inbox", c->inbox, sizeof c->inbox},          {"outbox", c->outbox, sizeof c->outbox},
            {"state", c->state, sizeof c->state},          {"key", c->key, sizeof c->key},
            {"sender", c->sender, sizeof c->sender},       {"clamav_db", c->clamav_db, sizeof c->clamav_db},
            {"allowed_types", c->allowed_types, sizeof c->allowed_types},
            /* #17: how oad is verified (clients/net.h net_tls) */
            {"tls_ca", c->tls_ca, sizeof c->tls_ca},       {"tls_pin", c->tls_pin, sizeof c->tls_pin},
            {"tls_cert", c->tls_cert, sizeof c->tls_cert}, {"tls_key", c->tls_key, sizeof c->tls_key},
        };
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
            if (strcmp(name, texts[i].key) == 0) {
                if (strlen(value) >= texts[i].cap)
                    goto bad;
                snprintf(texts[i].dst, texts[i].cap, "%s", value);
                return 1;
            }
        if (strcmp(name, "no_virus_scan") == 0) {
            if (strcmp(value, "true") && strcmp(value, "false"))
                goto bad;
            c->no_virus_scan = strcmp(value, "true") == 0;
            return 1;
        }
        if (strcmp(name, "rescan_seconds") == 0 && parse_u64(value, 1, 86400, &v)) {
            c->rescan_seconds = (int)v;
            return 1;
        }
        if (strcmp(name, "settle_ms") == 0 && parse_u64(value, 0, 600000, &v)) {
            c->settle_ms = (int)v;
            return 1;
        }
        if (strcmp(name, "outbox_poll_seconds") == 0 && parse_u64(value, 1, 86400, &v)) {
            c->outbox_seconds = (int)v;
            return 1;
        }
        goto bad;
    }
    if (strcmp(section, "limits") == 0) {
        struct bundle_limits *l = &c->lim;
        if (strcmp(name, "max_entries") == 0 && parse_u64(value, 3, 100000, &v))
            l->max_entries = (uint32_t)v;
        else if (strcmp(name, "max_entry_bytes") == 0 && parse_u64(value, 1, UINT64_MAX >> 2, &v))
            l->max_entry_bytes = v;
        else if (strcmp(name, "max_total_bytes") == 0 && parse_u64(value, 1, UINT64_MAX >> 2, &v))
            l->max_total_bytes = v;
        else if (strcmp(name, "max_ratio") == 0 && parse_u64(value, 1, 1000000, &v))
            l->max_ratio = (uint32_t)v;
        else if (strcmp(name, "max_manifest_bytes") == 0 && parse_u64(value, 256, 16u << 20, &v))
            l->max_manifest_bytes = (uint32_t)v;
        else
            goto bad;
        return 1;
    }
    if (strcmp(section, "trust") == 0) {
        struct bundle_key k = {0};
        size_t pklen = 0;
        if (strlen(name) >= sizeof k.sender ||
            sodium_base642bin(k.pk, sizeof k.pk, value, strlen(value), NULL, &pklen, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            pklen != 32)
            goto bad;
        snprintf(k.sender, sizeof k.sender, "%s", name);
        c->keys = oa_xrealloc(c->keys, (c->nkeys + 1) * sizeof *c->keys);
        c->keys[c->nkeys++] = k;
        return 1;
    }
bad:
    snprintf(x->why, x->whylen, "[%s] %s: unknown, or a value out of range", section, name);
    return 0;
}

int oa__gw_conf_load(struct gwconf *c, const char *path, char *why, size_t whylen)
{
    memset(c, 0, sizeof *c);
    snprintf(c->server, sizeof c->server, "http://127.0.0.1:8340");
    snprintf(c->allowed_types, sizeof c->allowed_types, "application/pdf,image/jpeg,image/png,text/plain");
    c->rescan_seconds = 30;
    c->outbox_seconds = 10;
    c->settle_ms = 2000;
    bundle_limits_default(&c->lim);
    if (!path)
        return 0;
    struct ctx x = {c, why, whylen};
    why[0] = '\0';
    int rc = ini_parse(path, on_ini, &x);
    if (rc < 0) {
        snprintf(why, whylen, "%s: cannot be read", path);
        return -1;
    }
    if (rc > 0) {
        char line[64];
        snprintf(line, sizeof line, " (line %d)", rc);
        if (!why[0])
            snprintf(why, whylen, "%s: a syntax error", path);
        strncat(why, line, whylen - strlen(why) - 1);
        return -1;
    }
    net_tls(c->tls_ca, c->tls_pin, c->tls_cert, c->tls_key);
    if (!net_url_allowed(c->server, why, whylen))
        return -1;
    return 0;
}

void oa__gw_conf_free(struct gwconf *c)
{
    free(c->keys);
    c->keys = NULL;
    c->nkeys = 0;
}

int oa__gw_key_load(const char *path, unsigned char sk[64], char *why, size_t whylen)
{
    FILE *f = fopen(path, "r");
    char text[200] = {0};
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    if (st.st_mode & 077) {
        fclose(f);
        snprintf(why, whylen, "%s: readable by others (chmod 600 it)", path);
        return -1;
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    size_t len = 0;
    int rc = sodium_base642bin(sk, 64, text, n, NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(text, sizeof text);
    if (rc != 0 || len != 64) {
        snprintf(why, whylen, "%s: not a key written by oagw keygen", path);
        return -1;
    }
    return 0;
}
