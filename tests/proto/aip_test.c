/*
 * tests/proto/aip_test.c: the archival information package round-trips
 * through the offline verifier; a changed file, manifest, proof, signature
 * or record, and a missing element, are each found; the reader refuses what
 * is not a plain bag.
 */
#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proto/aip.h"
#include "tests/proto/aip_fixture.h"

static const unsigned char seed[32] = {1, 2, 3};
static char vkey[256];

/* Writes the fixture through a memfd and reads it back; returns the tar's bytes (malloc'd). */
static unsigned char *make(size_t n, aip_fixture_mutate mutate, size_t *len)
{
    int fd = memfd_create("aip", 0);
    cr_assert(fd >= 0);
    cr_assert_eq(aip_fixture_write(fd, n, 5000, seed, vkey, sizeof vkey, mutate), 0);
    off_t end = lseek(fd, 0, SEEK_END);
    unsigned char *buf = malloc((size_t)end);
    cr_assert_eq(pread(fd, buf, (size_t)end, 0), end);
    close(fd);
    *len = (size_t)end;
    return buf;
}

static void load(size_t n, aip_fixture_mutate mutate, struct aip_pkg *p)
{
    size_t len = 0;
    unsigned char *buf = make(n, mutate, &len);
    char why[256] = "";
    struct aip_limits lim;
    aip_limits_default(&lim);
    cr_assert_eq(aip_read(buf, len, &lim, p, why, sizeof why), 0, "%s", why);
    free(buf);
}

static struct aip_entry *mut(struct aip_pkg *p, const char *path)
{
    const struct aip_entry *e = aip_pkg_find(p, path);
    cr_assert_not_null(e, "%s", path);
    return (struct aip_entry *)e;
}

static void replace(struct aip_pkg *p, const char *path, const char *text)
{
    struct aip_entry *e = mut(p, path);
    free(e->data);
    e->data = (unsigned char *)strdup(text);
    e->len = strlen(text);
}

/* What someone who edits a package does next: recompute both manifests and tag manifests. */
static void reseal(struct aip_pkg *p)
{
    const char *names[2][2] = {{"manifest-sha256.txt", "tagmanifest-sha256.txt"}, {"manifest-sm3.txt", "tagmanifest-sm3.txt"}};
    const EVP_MD *mds[2] = {EVP_sha256(), EVP_get_digestbyname("SM3")};
    for (int pass = 0; pass < 2; pass++)
        for (int m = 0; m < 2; m++) {
            size_t cap = 1 << 20, len = 0;
            char *out = malloc(cap);
            out[0] = 0;
            for (size_t i = 0; i < p->n; i++) {
                const char *path = p->entries[i].path;
                bool payload = strncmp(path, "data/", 5) == 0;
                bool tag = !payload && strncmp(path, "tagmanifest-", 12) != 0;
                if ((pass == 0 && !payload) || (pass == 1 && !tag))
                    continue;
                unsigned char d[EVP_MAX_MD_SIZE];
                unsigned int dl = 0;
                EVP_Digest(p->entries[i].data, p->entries[i].len, d, &dl, mds[m], NULL);
                char hex[2 * EVP_MAX_MD_SIZE + 1];
                sodium_bin2hex(hex, sizeof hex, d, dl);
                len += (size_t)snprintf(out + len, cap - len, "%s  %s\n", hex, path);
            }
            replace(p, names[m][pass], out);
            free(out);
        }
}

static bool has(const struct aip_report *r, enum aip_property prop, const char *code)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->f[i].property == prop && strcmp(r->f[i].code, code) == 0)
            return true;
    return false;
}

static void dump(const struct aip_report *r)
{
    char *t = aip_report_text(r, "test");
    fprintf(stderr, "%s", t);
    free(t);
}

Test(aip, round_trip_verifies_with_the_published_key)
{
    struct aip_pkg p = {0};
    load(3, NULL, &p);
    cr_assert_str_eq(p.base, "aip-test");
    cr_assert_not_null(aip_pkg_find(&p, "data/0001/files/1-正文.pdf"));
    cr_assert_not_null(aip_pkg_find(&p, "data/0002/files/2-附件 1_说明.txt"));
    cr_assert_not_null(aip_pkg_find(&p, "data/transfer-list.json"));
    struct aip_report r = {0};
    aip_verify(&p, vkey, &r);
    if (!aip_report_ok(&r))
        dump(&r);
    cr_assert(aip_report_ok(&r));
    cr_assert(r.key_trusted);
    cr_assert_eq(r.records, 3);
    cr_assert_eq(r.files, 6);
    cr_assert_eq(r.entries, 6);
    char *j = aip_report_json(&r, "aip-test");
    cr_assert_not_null(strstr(j, "\"passed\": true"));
    free(j);
    aip_report_free(&r);
    /* Without a key from outside it still verifies, but says the key was the package's own. */
    aip_verify(&p, NULL, &r);
    cr_assert(aip_report_ok(&r));
    cr_assert_not(r.key_trusted);
    aip_report_free(&r);
    aip_pkg_free(&p);
}

Test(aip, a_changed_file_is_found)
{
    struct aip_pkg p = {0};
    load(1, NULL, &p);
    mut(&p, "data/0001/files/1-正文.pdf")->data[100] ^= 1;
    struct aip_report r = {0};
    aip_verify(&p, vkey, &r);
    cr_assert(has(&r, AIP_AUTHENTICITY, "digest"));
    cr_assert(has(&r, AIP_AUTHENTICITY, "content")); /* the metadata's digests too */
    aip_report_free(&r);
    aip_pkg_free(&p);
}

Test(aip, a_changed_manifest_is_found)
{
    struct aip_pkg p = {0};
    load(1, NULL, &p);
    struct aip_entry *m = mut(&p, "manifest-sm3.txt");
    m->data[0] = m->data[0] == '0' ? '1' : '0';
    struct aip_report r = {0};
    aip_verify(&p, vkey, &r);
    cr_assert(has(&r, AIP_AUTHENTICITY, "digest"));
    int where = 0;
    for (size_t i = 0; i < r.n; i++)
        where += strcmp(r.f[i].where, "manifest-sm3.txt") == 0; /* the tag manifests disagree */
    cr_assert_geq(where, 2);
    aip_report_free(&r);
    aip_pkg_free(&p);
}

Test(aip, a_changed_proof_is_found_even_with_manifests_recomputed)
{
    struct aip_pkg p = {0};
    load(2, NULL, &p);
    struct aip_entry *a = mut(&p, "data/0002/audit.json");
    char *s = strstr((char *)a->data, "\"path\": [");
    cr_assert_not_null(s);
    s = strchr(s, '"' ) + 9;
    s = strchr(s, '"') + 1; /* the first hash's first character */
    *s = *s == 'A' ? 'B' : 'A';
    reseal(&p);
    struct aip_report r = {0};
    aip_verify(&p, vkey, &r);
    cr_assert(has(&r, AIP_AUTHENTICITY, "proof"));
    cr_assert_not(has(&r, AIP_AUTHENTICITY, "digest"));
    aip_report_free(&r);
    aip_pkg_free(&p);
}

Test(aip, an_entry_of_another_document_is_found)
{
    struct aip_pkg p = {0};
    load(2, NULL, &p);
    struct aip_entry *a1 = mut(&p, "data/0001/audit.json"), *a2 = mut(&p, "data/0002/audit.json");
    struct aip_entry t = *a1;
    a1->data = a2->data;
    a1->len = a2->len;
    a2->data = t.data;
    a2->len = t.len;
    reseal(&p);
    struct aip_report r = {0};
    aip_verify(&p, vkey, &r);
    cr_assert(has(&r, AIP_AUTHENTICITY, "proof_foreign"));
    aip_report_free(&r);
    aip_pkg_free(&p);
}

Test(aip, a_checkpoint_under_another_key_or_edited_is_found)
{
    struct aip_pkg p = {0};
    load(1, NULL, &p);
    /* The published key of another log. */
    char other[256];
    unsigned char s2[32] = {9};
    int fd = memfd_create("x", 0);
    aip_fixture_write(fd, 1, 10, s2, other, sizeof other, NULL);
    close(fd);
    struct aip_report r = {0};
    aip_verify(&p, other, &r);
    cr_assert(has(&r, AIP_AUTHENTICITY, "checkpoint"));
    cr_assert_not(r.key_trusted);
    aip_report_free(&r);
    /* A checkpoint whose size was edited, with the manifests recomputed. */
    struct aip_entry *c = mut(&p, "data/checkpoint.txt");
    char *nl = strchr((char *)c->data, '\n');
    nl[1] = nl[1] == '9' ? '8' : nl[1] + 1;
    reseal(&p);
    aip_verify(&p, vkey, &r);
    cr_assert(has(&r, AIP_AUTHENTICITY, "checkpoint"));
    aip_report_free(&r);
    aip_pkg_free(&p);
}

static void drop_title(struct aip_record *r, size_t i)
{
    if (i == 0)
        r->meta[AIP_M_TITLE] = NULL;
}

Test(aip, a_record_missing_a_required_element_fails)
{
    struct aip_pkg p = {0};
    load(2, drop_title, &p);
    struct aip_report r = {0};
    aip_verify(&p, vkey, &r);
    cr_assert(has(&r, AIP_COMPLETENESS, "metadata"));
    cr_assert_str_eq(r.f[0].where, "Z109-WS·2026-Y-BGS-0001");
    char *t = aip_report_text(&r, "x");
    cr_assert_not_null(strstr(t, "题名 is missing"));
    cr_assert_not_null(strstr(t, "FAILED"));
    free(t);
    aip_report_free(&r);
    aip_pkg_free(&p);
}

Test(aip, a_removed_file_is_found)
{
    struct aip_pkg p = {0};
    load(1, NULL, &p);
    struct aip_entry *e = mut(&p, "data/0001/files/2-附件 1_说明.txt");
    free(e->path);
    e->path = strdup("zz-removed"); /* still sorted last, no longer under data/ */
    struct aip_report r = {0};
    aip_verify(&p, vkey, &r);
    cr_assert(has(&r, AIP_COMPLETENESS, "missing"));
    cr_assert(has(&r, AIP_COMPLETENESS, "content"));
    aip_report_free(&r);
    aip_pkg_free(&p);
}

/* A tar with the given entries (name, type, link target). */
static unsigned char *tar_of(const char *const *names, const mode_t *types, size_t n, size_t *len)
{
    size_t cap = 1 << 16;
    unsigned char *buf = malloc(cap);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_memory(a, buf, cap, len);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, names[i]);
        archive_entry_set_filetype(e, types[i]);
        archive_entry_set_perm(e, 0644);
        if (types[i] == AE_IFLNK)
            archive_entry_set_symlink(e, "/etc/passwd");
        archive_entry_set_size(e, types[i] == AE_IFREG ? 2 : 0);
        archive_write_header(a, e);
        if (types[i] == AE_IFREG)
            archive_write_data(a, "hi", 2);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return buf;
}

Test(aip, the_reader_refuses_what_is_not_a_plain_bag)
{
    struct {
        const char *names[2];
        mode_t types[2];
        size_t n;
    } bad[] = {
        {{"b/../../x", NULL}, {AE_IFREG}, 1},
        {{"/b/x", NULL}, {AE_IFREG}, 1},
        {{"b/x", "b/x"}, {AE_IFREG, AE_IFREG}, 2},
        {{"b/x", "c/y"}, {AE_IFREG, AE_IFREG}, 2},
        {{"b/x", NULL}, {AE_IFLNK}, 1},
        {{"b/x", NULL}, {AE_IFIFO}, 1},
        {{"x", NULL}, {AE_IFREG}, 1},
    };
    struct aip_limits lim;
    aip_limits_default(&lim);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = 0;
        unsigned char *t = tar_of(bad[i].names, bad[i].types, bad[i].n, &len);
        struct aip_pkg p = {0};
        char why[256] = "";
        cr_assert_eq(aip_read(t, len, &lim, &p, why, sizeof why), -1, "case %zu was read", i);
        cr_assert_neq(why[0], 0);
        free(t);
    }
    const char *ok[] = {"b/", "b/x"};
    mode_t okt[] = {AE_IFDIR, AE_IFREG};
    size_t len = 0;
    unsigned char *t = tar_of(ok, okt, 2, &len);
    struct aip_pkg p = {0};
    char why[256] = "";
    cr_assert_eq(aip_read(t, len, &lim, &p, why, sizeof why), 0, "%s", why);
    cr_assert_eq(p.n, 1);
    aip_pkg_free(&p);
    lim.max_entry_bytes = 1;
    cr_assert_eq(aip_read(t, len, &lim, &p, why, sizeof why), -1);
    free(t);
    cr_assert_eq(aip_read("not a tar at all", 16, &lim, &p, why, sizeof why), -1);
}

/* ---- the four-property check ---- */

static int scan_eicar(void *arg, const unsigned char *d, size_t n, char *virus, size_t cap)
{
    if (memmem(d, n, "EICAR", 5)) {
        snprintf(virus, cap, "Eicar-Test-Signature");
        return 1;
    }
    return 0;
}

static struct aip_report check(size_t n, aip_fixture_mutate mutate, bool scanner)
{
    struct aip_pkg p = {0};
    load(n, mutate, &p);
    struct aip_check_policy pol = {.scan = scanner ? scan_eicar : NULL};
    struct aip_report r = {0};
    char why[256];
    cr_assert_eq(aip_check(&p, vkey, &pol, &r, why, sizeof why), 0, "%s", why);
    aip_pkg_free(&p);
    return r;
}

Test(aip_check, a_sound_batch_passes_all_four)
{
    struct aip_report r = check(3, NULL, true);
    if (!aip_report_ok(&r))
        dump(&r);
    cr_assert(aip_report_ok(&r));
    aip_report_free(&r);
    r = check(1, NULL, false); /* no scanner configured is a finding */
    cr_assert(has(&r, AIP_SECURITY, "no_scanner"));
    cr_assert_eq(r.n, 1);
    aip_report_free(&r);
}

static const unsigned char eicar[] = "%PDF-1.4 EICAR test\n%%EOF\n";
static const unsigned char encrypted[] = "%PDF-1.4\n1 0 obj <</Encrypt 2 0 R>> endobj\n%%EOF\n";
static const unsigned char cut[] = "%PDF-1.4\n1 0 obj <<>> endobj\n";
static struct aip_file odd[5] = {
    {"a.pdf", "application/pdf", "oa", eicar, sizeof eicar - 1},
    {"b.pdf", "application/pdf", "oa", encrypted, sizeof encrypted - 1},
    {"c.pdf", "application/pdf", "oa", cut, sizeof cut - 1},
    {"d.doc", "application/msword", "oa", eicar, sizeof eicar - 1},
    {"e.png", "image/png", "oa", eicar, sizeof eicar - 1},
};

static void odd_files(struct aip_record *r, size_t i)
{
    r->files = odd;
    r->nfiles = 5;
}

Test(aip_check, usability_and_security_of_each_file)
{
    struct aip_report r = check(1, odd_files, true);
    cr_assert(has(&r, AIP_SECURITY, "virus"));
    cr_assert(has(&r, AIP_SECURITY, "encrypted"));
    cr_assert(has(&r, AIP_USABILITY, "opens"));
    cr_assert(has(&r, AIP_USABILITY, "format"));
    cr_assert(has(&r, AIP_USABILITY, "sniff"));
    cr_assert_not(has(&r, AIP_AUTHENTICITY, "digest"));
    aip_report_free(&r);
}

static void gap(struct aip_record *r, size_t i)
{
    if (i == 2) {
        r->piece = "0005";
        r->meta[AIP_M_ARCHIVAL_CODE] = "Z109-WS·2026-Y-BGS-0005";
        r->meta[AIP_M_DOC_NUMBER] = "某府办发〔2026〕7号";
    }
}

Test(aip_check, running_numbers_without_gaps)
{
    struct aip_report r = check(3, gap, true);
    cr_assert(has(&r, AIP_COMPLETENESS, "piece_gap"));
    cr_assert(has(&r, AIP_COMPLETENESS, "number_gap"));
    char *t = aip_report_text(&r, "batch");
    cr_assert_not_null(strstr(t, "件号 3 to 4 are missing"), "%s", t);
    free(t);
    aip_report_free(&r);
}

/* ---- the envelope ---- */

/* A recipient: an EC P-256 key and a self-signed certificate, as PEM files in dir. */
static void recipient(const char *dir, char *key_path, char *cert_path)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    cr_assert_not_null(k);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"archive", -1, -1, 0);
    X509_set_issuer_name(x, nm);
    X509_set_pubkey(x, k);
    cr_assert(X509_sign(x, k, EVP_sha256()) > 0);
    sprintf(key_path, "%s/key.pem", dir);
    sprintf(cert_path, "%s/cert.pem", dir);
    FILE *f = fopen(key_path, "w");
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    f = fopen(cert_path, "w");
    PEM_write_X509(f, x);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(k);
}

Test(aip_envelope, a_classified_package_round_trips_through_its_envelope)
{
    char dir[] = "/tmp/aip-envXXXXXX", key[64], cert[64], why[256] = "";
    cr_assert_not_null(mkdtemp(dir));
    recipient(dir, key, cert);
    size_t len = 0;
    unsigned char *tar = make(1, NULL, &len);
    int fd = memfd_create("env", 0);
    cr_assert_eq(aip_envelope_seal(tar, len, cert, fd, why, sizeof why), 0, "%s", why);
    off_t n = lseek(fd, 0, SEEK_END);
    unsigned char *der = malloc((size_t)n);
    cr_assert_eq(pread(fd, der, (size_t)n, 0), n);
    close(fd);
    cr_assert(aip_is_envelope(der, (size_t)n));
    cr_assert_not(aip_is_envelope(tar, len));
    cr_assert_null(memmem(der, (size_t)n, "manifest-sha256", 15)); /* nothing of the bag shows */
    unsigned char *back = NULL;
    size_t blen = 0;
    cr_assert_eq(aip_envelope_open(der, (size_t)n, key, cert, &back, &blen, why, sizeof why), 0, "%s", why);
    cr_assert_eq(blen, len);
    cr_assert_eq(memcmp(back, tar, len), 0);
    free(back);
    /* Another recipient's key does not open it; a changed byte does not open. */
    char dir2[] = "/tmp/aip-envXXXXXX", key2[64], cert2[64];
    cr_assert_not_null(mkdtemp(dir2));
    recipient(dir2, key2, cert2);
    cr_assert_eq(aip_envelope_open(der, (size_t)n, key2, cert2, &back, &blen, why, sizeof why), -1);
    der[n - 40] ^= 1;
    cr_assert_eq(aip_envelope_open(der, (size_t)n, key, cert, &back, &blen, why, sizeof why), -1);
    free(der);
    free(tar);
    unlink(key);
    unlink(cert);
    unlink(key2);
    unlink(cert2);
    rmdir(dir);
    rmdir(dir2);
}
