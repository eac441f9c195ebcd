/*
 * server/tls_ca.c: an office's private CA, kept by `oad tls`: the CA
 * itself, the server certificate oad presents and the client certificates
 * for mutual TLS, made with OpenSSL's API (P-256 keys, SHA-256 signatures,
 * keys written mode 0600); and certificate pins for the clients.
 *
 *   oad tls init   --dir DIR --name HOST[,HOST...] [--days N]
 *   oad tls server --dir DIR --name HOST[,HOST...] [--days N]   (renew; then SIGHUP)
 *   oad tls client --dir DIR --name ACCOUNT [--days N]
 *   oad tls pin    FILE
 */
#include "server/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void say_ssl(char *cause, size_t n, const char *what)
{
    char why[256] = "no detail";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, why, sizeof(why));
    ERR_clear_error();
    snprintf(cause, n, "%s: %s", what, why);
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (e == NULL)
        return -1;
    int ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok == 1 ? 0 : -1;
}

/* "a.example,10.0.0.5" -> "DNS:a.example,IP:10.0.0.5"; -1 when too long or empty. */
static int san_of(const char *names, char *out, size_t n)
{
    size_t used = 0;
    char buf[512];
    if (snprintf(buf, sizeof(buf), "%s", names) >= (int)sizeof(buf))
        return -1;
    out[0] = '\0';
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        unsigned char a[16];
        bool ip = inet_pton(AF_INET, t, a) == 1 || inet_pton(AF_INET6, t, a) == 1;
        int w = snprintf(out + used, n - used, "%s%s:%s", used ? "," : "", ip ? "IP" : "DNS", t);
        if (w < 0 || (size_t)w >= n - used)
            return -1;
        used += (size_t)w;
    }
    return used ? 0 : -1;
}

static int write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (fchmod(fd, k ? 0600 : 0644) != 0) {
        close(fd);
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return -1;
    }
    int ok = k ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, x);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        ok = 0;
    if (fclose(f) != 0)
        ok = 0;
    return ok == 1 ? 0 : -1;
}

int oa_tls_issue(enum oa_cert_kind kind, const char *ca_cert_pem, const char *ca_key_pem, const char *names,
                 long not_before_s, long not_after_s, const char *cert_out, const char *key_out, char *cause,
                 size_t n)
{
    int rc = -1;
    X509 *x = NULL, *ca = NULL;
    EVP_PKEY *key = NULL, *ca_key = NULL;
    BIGNUM *serial = NULL;
    char cn[256], san[1024];

    if (snprintf(cn, sizeof(cn), "%s", names) >= (int)sizeof(cn) || cn[0] == '\0') {
        snprintf(cause, n, "the name is empty or too long");
        goto out;
    }
    cn[strcspn(cn, ",")] = '\0';
    if (kind == OA_CERT_SERVER && san_of(names, san, sizeof(san)) != 0) {
        snprintf(cause, n, "--name wants host names or IP addresses separated by commas");
        goto out;
    }
    if (kind != OA_CERT_CA) {
        ca = read_cert(ca_cert_pem);
        ca_key = read_key(ca_key_pem);
        if (ca == NULL || ca_key == NULL) {
            snprintf(cause, n, "cannot read the CA (%s, %s): run 'oad tls init' first", ca_cert_pem, ca_key_pem);
            goto out;
        }
    }
    key = EVP_EC_gen("P-256");
    x = X509_new();
    serial = BN_new();
    if (key == NULL || x == NULL || serial == NULL || !BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
        X509_set_version(x, 2) != 1 || BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) == NULL ||
        X509_gmtime_adj(X509_getm_notBefore(x), not_before_s) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), not_after_s) == NULL || X509_set_pubkey(x, key) != 1) {
        say_ssl(cause, n, "cannot make the certificate");
        goto out;
    }
    X509_NAME *subj = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1 ||
        X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : subj) != 1) {
        say_ssl(cause, n, "cannot name the certificate");
        goto out;
    }
    X509 *issuer = ca ? ca : x;
    int bad = add_ext(x, issuer, NID_subject_key_identifier, "hash");
    if (kind == OA_CERT_CA) {
        bad |= add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
        bad |= add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        bad |= add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
        bad |= add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
        bad |= add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
        bad |= add_ext(x, issuer, NID_ext_key_usage, kind == OA_CERT_SERVER ? "serverAuth" : "clientAuth");
        if (kind == OA_CERT_SERVER)
            bad |= add_ext(x, issuer, NID_subject_alt_name, san);
    }
    if (bad || X509_sign(x, ca_key ? ca_key : key, EVP_sha256()) <= 0) {
        say_ssl(cause, n, "cannot sign the certificate");
        goto out;
    }
    if (write_pem(key_out, NULL, key) != 0 || write_pem(cert_out, x, NULL) != 0) {
        snprintf(cause, n, "cannot write %s or %s: %s", key_out, cert_out, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    BN_free(serial);
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return rc;
}

int oa_tls_pin(const char *cert_pem, char *out, size_t n)
{
    X509 *x = read_cert(cert_pem);
    if (x == NULL)
        return -1;
    unsigned char *der = NULL, md[32];
    int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    X509_free(x);
    if (len <= 0)
        return -1;
    unsigned mdlen = 0;
    int ok = EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    char b64[64];
    if (ok != 1 || EVP_EncodeBlock((unsigned char *)b64, md, 32) != 44)
        return -1;
    return snprintf(out, n, "sha256//%s", b64) < (int)n ? 0 : -1;
}

static const char tls_usage[] =
    "Usage: oad tls init   --dir DIR --name HOST[,HOST...] [--days N]\n"
    "       oad tls server --dir DIR --name HOST[,HOST...] [--days N]\n"
    "       oad tls client --dir DIR --name ACCOUNT [--days N]\n"
    "       oad tls pin    CERT.pem\n"
    "\n"
    "init makes a private CA for the office (DIR/ca.pem, DIR/ca.key) and the\n"
    "server certificate oad presents (DIR/server.pem, DIR/server.key) for the\n"
    "host names and IP addresses the clients use.  server issues a new server\n"
    "certificate (send oad SIGHUP to serve it).  client issues a client\n"
    "certificate for mutual TLS whose subject CN is the account's name\n"
    "(DIR/client-ACCOUNT.pem and .key).  pin prints a certificate's pin for\n"
    "the clients (oa --pin, oagw pin).  Keys are written mode 0600; keep ca.key\n"
    "off the server when you can.\n";

int oa_tls_command(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "", *dir = NULL, *name = NULL;
    long days = 0;
    if (strcmp(sub, "pin") == 0 && argc == 3) {
        char pin[80];
        if (oa_tls_pin(argv[2], pin, sizeof(pin)) != 0) {
            fprintf(stderr, "oad: cannot read a certificate from %s\n", argv[2]);
            return 1;
        }
        printf("%s\n", pin);
        return 0;
    }
    for (int i = 2; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v && strcmp(argv[i], "--dir") == 0)
            dir = v;
        else if (v && strcmp(argv[i], "--name") == 0)
            name = v;
        else if (v && strcmp(argv[i], "--days") == 0) {
            char *end = NULL;
            days = strtol(v, &end, 10);
            if (end == v || *end != '\0' || days < 1 || days > 36500) {
                fprintf(stderr, "oad: --days wants a whole number from 1 to 36500\n");
                return 2;
            }
        } else {
            fputs(tls_usage, stderr);
            return 2;
        }
    }
    bool init = strcmp(sub, "init") == 0, server = strcmp(sub, "server") == 0, client = strcmp(sub, "client") == 0;
    if ((!init && !server && !client) || dir == NULL || name == NULL) {
        fputs(tls_usage, stderr);
        return 2;
    }
    if (client && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(name)) {
        fprintf(stderr, "oad: an account name has letters, digits, '.', '_' and '-' only\n");
        return 2;
    }
    char ca[600], cakey[600], cert[700], key[700], cause[1400];
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cakey, sizeof(cakey), "%s/ca.key", dir);
    if (init) {
        if (access(cakey, F_OK) == 0) {
            fprintf(stderr, "oad: %s exists: this office has a CA already (oad tls server renews the certificate)\n",
                    cakey);
            return 1;
        }
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "oad: cannot make %s: %s\n", dir, strerror(errno));
            return 1;
        }
        if (oa_tls_issue(OA_CERT_CA, NULL, NULL, "oa office CA", -3600, 3650L * 86400, ca, cakey, cause,
                         sizeof(cause)) != 0) {
            fprintf(stderr, "oad: %s\n", cause);
            return 1;
        }
    }
    long life = (days ? days : client ? 365 : 825) * 86400L;
    if (client) {
        snprintf(cert, sizeof(cert), "%s/client-%s.pem", dir, name);
        snprintf(key, sizeof(key), "%s/client-%s.key", dir, name);
    } else {
        snprintf(cert, sizeof(cert), "%s/server.pem", dir);
        snprintf(key, sizeof(key), "%s/server.key", dir);
    }
    if (oa_tls_issue(client ? OA_CERT_CLIENT : OA_CERT_SERVER, ca, cakey, name, -3600, life, cert, key, cause,
                     sizeof(cause)) != 0) {
        fprintf(stderr, "oad: %s\n", cause);
        return 1;
    }
    char pin[80] = "";
    oa_tls_pin(cert, pin, sizeof(pin));
    if (client) {
        printf("client certificate for %s: %s (key %s)\n", name, cert, key);
        printf("  oa --cert %s --key %s ...\n", cert, key);
        return 0;
    }
    printf("CA:          %s%s\nserver cert: %s (key %s)\npin:         %s\n", ca, init ? " (key ca.key)" : "", cert,
           key, pin);
    printf("\nIn oad.conf:\n  [tls]\n  cert = %s\n  key = %s\n  ; client_ca = %s   (mutual TLS)\n", cert, key, ca);
    printf("\nClients: oa --ca %s (or --pin %s); oagw: ca = %s\n", ca, pin, ca);
    return 0;
}
