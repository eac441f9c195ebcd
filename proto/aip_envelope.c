/*
 * proto/aip_envelope.c: a classified package's envelope (see aip.h): the
 * whole tar encrypted to the archive's recipient certificate as CMS
 * AuthEnvelopedData (AES-256-GCM), and opened again with its key.
 */
#include "proto/aip.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"

static void ossl_why(char *why, size_t whylen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[200] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    snprintf(why, whylen, "%s%s%s", what, e ? ": " : "", buf);
    ERR_clear_error();
}

static X509 *read_cert(const char *path)
{
    BIO *b = BIO_new_file(path, "r");
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return x;
}

int aip_envelope_seal(const unsigned char *tar, size_t len, const char *cert_pem, int fd, char *why, size_t whylen)
{
    int rc = -1;
    STACK_OF(X509) *certs = sk_X509_new_null();
    X509 *x = read_cert(cert_pem);
    BIO *in = BIO_new_mem_buf(tar, (int)len);
    BIO *out = BIO_new_fd(fd, BIO_NOCLOSE);
    CMS_ContentInfo *cms = NULL;
    if (len > 0x7fffffff) {
        snprintf(why, whylen, "the package is too large for one envelope");
        goto out;
    }
    if (!x) {
        ossl_why(why, whylen, "reading the recipient certificate");
        goto out;
    }
    if (!certs || !in || !out || !sk_X509_push(certs, x))
        oa_oom();
    x = NULL; /* the stack owns it */
    cms = CMS_encrypt(certs, in, EVP_aes_256_gcm(), CMS_BINARY);
    if (!cms) {
        ossl_why(why, whylen, "encrypting the package");
        goto out;
    }
    if (i2d_CMS_bio(out, cms) != 1 || BIO_flush(out) != 1) {
        ossl_why(why, whylen, "writing the envelope");
        goto out;
    }
    rc = 0;
out:
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    BIO_free(out);
    X509_free(x);
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

int aip_envelope_open(const unsigned char *der, size_t len, const char *key_pem, const char *cert_pem,
                      unsigned char **out, size_t *outlen, char *why, size_t whylen)
{
    int rc = -1;
    BIO *in = BIO_new_mem_buf(der, (int)(len > 0x7fffffff ? 0x7fffffff : len));
    BIO *mem = BIO_new(BIO_s_mem());
    BIO *kb = BIO_new_file(key_pem, "r");
    EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    X509 *x = cert_pem ? read_cert(cert_pem) : NULL;
    CMS_ContentInfo *cms = NULL;
    if (!in || !mem)
        oa_oom();
    if (!key) {
        ossl_why(why, whylen, "reading the recipient's private key");
        goto out;
    }
    cms = d2i_CMS_bio(in, NULL);
    if (!cms) {
        ossl_why(why, whylen, "not a CMS envelope");
        goto out;
    }
    if (CMS_decrypt(cms, key, x, NULL, mem, CMS_BINARY) != 1) {
        ossl_why(why, whylen, "opening the envelope");
        goto out;
    }
    char *p = NULL;
    long n = BIO_get_mem_data(mem, &p);
    *out = oa_xmalloc(n > 0 ? (size_t)n : 1);
    memcpy(*out, p, n > 0 ? (size_t)n : 0);
    *outlen = n > 0 ? (size_t)n : 0;
    rc = 0;
out:
    CMS_ContentInfo_free(cms);
    EVP_PKEY_free(key);
    X509_free(x);
    BIO_free(kb);
    BIO_free(in);
    BIO_free(mem);
    return rc;
}

bool aip_is_envelope(const unsigned char *p, size_t n)
{
    /* A DER SEQUENCE with a long length, then the contentType OID (1.2.840.113549.1.9.16.1.23 or 1.2.840.113549.1.7.3). */
    static const unsigned char oid_prefix[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01};
    static const unsigned char oid_auth[] = {0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10};
    if (n < 16 || p[0] != 0x30 || (p[1] & 0x80) == 0)
        return false;
    size_t off = 2 + (p[1] & 0x7f);
    return off + sizeof oid_auth <= n &&
           (memcmp(p + off, oid_prefix, sizeof oid_prefix) == 0 || memcmp(p + off, oid_auth, sizeof oid_auth) == 0);
}
