/*
 * proto/aip_check.c: the four-property check of a package (see aip.h):
 * usability and security of each file, and the running numbers of a batch,
 * on top of aip_verify.  libmagic reads its database once per call.
 */
#include "proto/aip.h"

#include <jansson.h>
#include <magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/value.h"

/* Whether type is one of the comma-separated list. */
static bool listed(const char *list, const char *type)
{
    size_t n = strlen(type);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && *p == ' ') {
            p++;
            len--;
        }
        if (len == n && strncasecmp(p, type, n) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

/* Whether the sniffed type is what was declared (OFD is a ZIP container; XML may sniff as text/xml). */
static bool sniff_matches(const char *declared, const char *sniffed)
{
    if (strcasecmp(declared, sniffed) == 0)
        return true;
    if (strcasecmp(declared, "application/ofd") == 0)
        return strcmp(sniffed, "application/zip") == 0;
    if (strcasecmp(declared, "application/xml") == 0 || strcasecmp(declared, "text/xml") == 0)
        return strcmp(sniffed, "text/xml") == 0 || strcmp(sniffed, "application/xml") == 0;
    return false;
}

static const void *find_bytes(const unsigned char *h, size_t hn, const char *needle)
{
    return memmem(h, hn, needle, strlen(needle));
}

static void check_file(magic_t mg, const struct aip_check_policy *pol, const char *formats, const char *where,
                       const char *declared, const unsigned char *d, size_t n, struct aip_report *r)
{
    if (!listed(formats, declared))
        aip_report_add(r, AIP_USABILITY, "format", where, "%s is not on the list of archival formats", declared);
    const char *sniffed = magic_buffer(mg, d, n);
    if (!sniffed)
        sniffed = "unknown";
    if (!sniff_matches(declared, sniffed))
        aip_report_add(r, AIP_USABILITY, "sniff", where, "declared %s but the bytes are %s", declared, sniffed);
    /* Opens: the structure a reader needs first. */
    if (strcasecmp(declared, "application/pdf") == 0) {
        size_t tail = n < 1024 ? n : 1024;
        if (n < 8 || memcmp(d, "%PDF-", 5) != 0 || !find_bytes(d + n - tail, tail, "%%EOF"))
            aip_report_add(r, AIP_USABILITY, "opens", where, "not a whole PDF (no %%PDF- header or no %%%%EOF)");
        if (find_bytes(d, n, "/Encrypt"))
            aip_report_add(r, AIP_SECURITY, "encrypted", where, "the PDF is encrypted (DA/T 70: no encryption inside)");
    } else if (strncasecmp(declared, "text/", 5) == 0 && !pv_utf8_ok(d, n)) {
        aip_report_add(r, AIP_USABILITY, "opens", where, "the text is not UTF-8");
    }
    if (strcmp(sniffed, "application/pgp-encrypted") == 0 || strcmp(sniffed, "application/pkcs7-mime") == 0 ||
        strcmp(sniffed, "application/encrypted") == 0)
        aip_report_add(r, AIP_SECURITY, "encrypted", where, "the file is an encrypted message (%s)", sniffed);
    if (pol && pol->scan) {
        char virus[128] = "";
        int v = pol->scan(pol->scan_arg, d, n, virus, sizeof virus);
        if (v == 1)
            aip_report_add(r, AIP_SECURITY, "virus", where, "the scanner found %s", virus);
        else if (v != 0)
            aip_report_add(r, AIP_SECURITY, "scan", where, "could not be scanned: %s", virus);
    }
}

/* A running number: its sequence key (a class or a number's prefix and year) and value. */
struct seq {
    char key[160];
    long n;
    char where[96];
};

static int seq_cmp(const void *a, const void *b)
{
    const struct seq *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Reports the gaps and repeats in each key's sequence. */
static void gaps(struct seq *s, size_t n, const char *code, const char *what, struct aip_report *r)
{
    if (n)
        qsort(s, n, sizeof(*s), seq_cmp);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(s[i].key, s[i - 1].key) != 0)
            continue;
        if (s[i].n == s[i - 1].n)
            aip_report_add(r, AIP_COMPLETENESS, code, s[i].where, "%s %ld appears twice in %s", what, s[i].n,
                           s[i].key);
        else if (s[i].n != s[i - 1].n + 1)
            aip_report_add(r, AIP_COMPLETENESS, code, s[i].key, "%s %ld to %ld are missing", what, s[i - 1].n + 1,
                           s[i].n - 1);
    }
}

/* "某府办发〔2026〕12号" -> key "某府办发〔2026〕", 12; false when not in that form. */
static bool doc_number(const char *s, char *key, size_t cap, long *n)
{
    const char *close = strstr(s, "\xe3\x80\x95"); /* 〕 */
    if (!close || !strstr(s, "\xe3\x80\x94"))     /* 〔 */
        return false;
    const char *d = close + 3;
    char *end = NULL;
    if (*d < '1' || *d > '9')
        return false;
    *n = strtol(d, &end, 10);
    if (strcmp(end, "\xe5\x8f\xb7") != 0) /* 号 */
        return false;
    size_t kl = (size_t)(d - s);
    if (kl >= cap)
        return false;
    memcpy(key, s, kl);
    key[kl] = '\0';
    return true;
}

static void check_numbers(const struct aip_pkg *p, struct aip_report *r)
{
    size_t cap = 0, np = 0, nd = 0;
    for (size_t i = 0; i < p->n; i++)
        cap += strstr(p->entries[i].path, "/metadata.json") != NULL;
    if (cap < 2)
        return;
    struct seq *pieces = oa_xcalloc(cap, sizeof(*pieces)), *nums = oa_xcalloc(cap, sizeof(*nums));
    for (size_t i = 0; i < p->n; i++) {
        const struct aip_entry *e = &p->entries[i];
        const char *slash = strncmp(e->path, "data/", 5) == 0 ? strchr(e->path + 5, '/') : NULL;
        if (!slash || strcmp(slash, "/metadata.json") != 0)
            continue;
        json_t *m = json_loadb((const char *)e->data, e->len, 0, NULL);
        const char *code = json_string_value(json_object_get(m, "档号"));
        const char *piece = json_string_value(json_object_get(m, "件号"));
        const char *num = json_string_value(json_object_get(m, "文件编号"));
        const char *dash = code ? strrchr(code, '-') : NULL;
        char *end = NULL;
        long pn = piece ? strtol(piece, &end, 10) : 0;
        if (dash && piece && end && !*end && (size_t)(dash - code) < sizeof pieces[0].key) {
            struct seq *s = &pieces[np++];
            memcpy(s->key, code, (size_t)(dash - code));
            s->n = pn;
            snprintf(s->where, sizeof s->where, "%s", code);
        }
        if (num && doc_number(num, nums[nd].key, sizeof nums[nd].key, &nums[nd].n)) {
            snprintf(nums[nd].where, sizeof nums[nd].where, "%s", code ? code : num);
            nd++;
        }
        json_decref(m);
    }
    gaps(pieces, np, "piece_gap", "件号", r);
    gaps(nums, nd, "number_gap", "document numbers", r);
    free(pieces);
    free(nums);
}

int aip_check(const struct aip_pkg *p, const char *trusted_vkey, const struct aip_check_policy *pol,
              struct aip_report *r, char *why, size_t whylen)
{
    magic_t mg = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
    if (!mg || magic_load(mg, NULL) != 0) {
        snprintf(why, whylen, "libmagic: %s", mg ? magic_error(mg) : "cannot start");
        if (mg)
            magic_close(mg);
        return -1;
    }
    aip_verify(p, trusted_vkey, r);
    const char *formats = pol && pol->formats ? pol->formats : AIP_FORMATS_DEFAULT;
    if (!pol || !pol->scan) {
        if (!pol || !pol->scan_optional)
            aip_report_add(r, AIP_SECURITY, "no_scanner", "", "no virus scanner is configured");
    }
    for (size_t i = 0; i < p->n; i++) {
        const struct aip_entry *e = &p->entries[i];
        const char *slash = strncmp(e->path, "data/", 5) == 0 ? strchr(e->path + 5, '/') : NULL;
        if (!slash || strcmp(slash, "/metadata.json") != 0)
            continue;
        json_t *m = json_loadb((const char *)e->data, e->len, 0, NULL);
        size_t k;
        json_t *f;
        json_array_foreach(json_object_get(m, "文件"), k, f) {
            const char *rel = json_string_value(json_object_get(f, "路径"));
            const char *type = json_string_value(json_object_get(f, "格式信息"));
            char path[512];
            snprintf(path, sizeof path, "%.*s/%s", (int)(slash - e->path), e->path, rel ? rel : "");
            const struct aip_entry *fe = rel && strncmp(rel, "files/", 6) == 0 ? aip_pkg_find(p, path) : NULL;
            if (fe) /* a missing file is aip_verify's finding */
                check_file(mg, pol, formats, path, type ? type : "", fe->data, fe->len, r);
        }
        json_decref(m);
    }
    check_numbers(p, r);
    magic_close(mg);
    return 0;
}
