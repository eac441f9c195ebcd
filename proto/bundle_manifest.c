/*
 * proto/bundle_manifest.c: the bundle manifest's schema (proto/bundle.cddl)
 * and its building.  The manifest is JSON, decoded by proto/value (depth and
 * length limits, duplicate keys refused) and read field by field with
 * pv_extract, so an unknown, missing or mistyped field is a schema failure.
 */
#include "proto/bundle.h"
#include "proto/bundle-int.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/alloc.h"
#include "proto/value.h"

static const char *const type_names[] = {"public_request", "correction", "receipt", "reply", "publication"};

const char *bundle_type_name(enum bundle_type t)
{
    return (unsigned)t < 5 ? type_names[t] : "?";
}

bool bundle_type_parse(const char *s, enum bundle_type *t)
{
    for (unsigned i = 0; i < 5; i++)
        if (strcmp(s, type_names[i]) == 0) {
            *t = (enum bundle_type)i;
            return true;
        }
    return false;
}

void bundle_sha256_hex(const void *buf, size_t len, char out[65])
{
    unsigned char h[32];
    crypto_hash_sha256(h, buf, len);
    sodium_bin2hex(out, 65, h, 32);
}

int bundle_sha256_fd(int fd, char out[65], uint64_t *size)
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char buf[65536], h[32];
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        crypto_hash_sha256_update(&st, buf, (size_t)n);
        total += (uint64_t)n;
    }
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, 65, h, 32);
    if (size)
        *size = total;
    return 0;
}

/* The file-name rule of oad's attachments (docs/API.md), so what is accepted here can be uploaded. */
bool oa__bundle_name_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (n == 0 || n > 255 || !pv_utf8_ok(p, n))
        return false;
    if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
            return false;
        if (c == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
            return false; /* C1 */
        if (c == 0xd8 && i + 1 < n && p[i + 1] == 0x9c)
            return false; /* U+061C */
        if (c == 0xe2 && i + 2 < n) {
            unsigned b = p[i + 1], d = p[i + 2];
            if (b == 0x80 && (d == 0x8e || d == 0x8f || (d >= 0xa8 && d <= 0xae)))
                return false;
            if (b == 0x81 && d >= 0xa6 && d <= 0xa9)
                return false;
        }
    }
    return true;
}

/* YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM), fields in range. */
bool oa__bundle_time_ok(const char *s)
{
    int y, mo, d, h, mi, sec, used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 || used != 19)
        return false;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (strcmp(p, "Z") == 0)
        return true;
    int oh, om;
    used = 0;
    if ((*p != '+' && *p != '-') || sscanf(p + 1, "%2d:%2d%n", &oh, &om, &used) != 2 || used != 5 || p[6])
        return false;
    return oh <= 23 && om <= 59;
}

static bool date_ok(const char *s)
{
    int y, m, d, used = 0;
    return sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) == 3 && used == 10 && !s[10] && y >= 1970 && m >= 1 &&
           m <= 12 && d >= 1 && d <= 31;
}

static bool hex64_ok(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

#define T(n, f, fl, mx, out) {n, PV_TEXT, fl, f, mx, out, NULL}
#define FAIL(...)                                                                                             \
    do {                                                                                                      \
        snprintf(why, whylen, __VA_ARGS__);                                                                   \
        return false;                                                                                         \
    } while (0)

/* The content map of each type (docs/BUNDLE.md). */
static bool content_ok(enum bundle_type t, const cbor_item_t *c, struct oa_arena *ar, char *why, size_t whylen)
{
    if (!cbor_isa_map(c))
        FAIL("content is not an object");
    const char *a = NULL, *b = NULL, *d = NULL, *e = NULL, *f = NULL, *g = NULL;
    const cbor_item_t *app = NULL;
    bool acc = false, has_num = false, has_reg = false, has_due = false, has_reason = false;
    enum oa_err rc;
    switch (t) {
    case BUNDLE_PUBLIC_REQUEST: {
        struct pv_field fs[] = {
            {"applicant", PV_ITEM, PV_REQUIRED, 0, 0, &app, NULL}, T("subject", 1, PV_REQUIRED, 16384, &a),
            T("reply_form", 1, PV_REQUIRED, 31, &b),               T("submitted", 20, PV_REQUIRED, 40, &d),
            T("confirmed", 20, PV_REQUIRED, 40, &e),
        };
        if ((rc = pv_extract(c, fs, 5, ar, why, whylen)))
            return false;
        static const char *const forms[] = {"paper", "electronic", "email", "fax", "in_person", NULL};
        if (!one_of(b, forms))
            FAIL("reply_form \"%s\" is not one of paper, electronic, email, fax, in_person", b);
        if (!oa__bundle_time_ok(d) || !oa__bundle_time_ok(e))
            FAIL("submitted and confirmed must be RFC 3339 times");
        if (!cbor_isa_map(app))
            FAIL("applicant is not an object");
        const char *n1 = NULL, *n2 = NULL, *n3 = NULL, *n4 = NULL, *n5 = NULL;
        struct pv_field as[] = {
            T("name", 1, PV_REQUIRED, 255, &n1),    T("id_type", 1, PV_REQUIRED, 31, &n2),
            T("id_number", 1, PV_REQUIRED, 63, &n3), T("contact", 1, PV_REQUIRED, 255, &n4),
            T("organisation", 0, 0, 255, &n5),
        };
        return pv_extract(app, as, 5, ar, why, whylen) == OA_E_OK;
    }
    case BUNDLE_CORRECTION: {
        struct pv_field fs[] = {T("request_ref", 64, PV_REQUIRED, 64, &a), T("text", 0, PV_REQUIRED, 16384, &b),
                                T("confirmed", 20, PV_REQUIRED, 40, &d)};
        if (pv_extract(c, fs, 3, ar, why, whylen))
            return false;
        if (!hex64_ok(a))
            FAIL("request_ref must be 64 lower-case hex digits");
        if (!oa__bundle_time_ok(d))
            FAIL("confirmed must be an RFC 3339 time");
        return true;
    }
    case BUNDLE_RECEIPT: {
        struct pv_field fs[] = {
            T("request_ref", 64, PV_REQUIRED, 64, &a), {"accepted", PV_BOOL, PV_REQUIRED, 0, 0, &acc, NULL},
            {"number", PV_TEXT, 0, 1, 200, &b, &has_num},       {"registered", PV_TEXT, 0, 10, 10, &d, &has_reg},
            {"due", PV_TEXT, 0, 10, 10, &e, &has_due},           {"reason", PV_TEXT, 0, 0, 20000, &f, &has_reason},
        };
        if (pv_extract(c, fs, 6, ar, why, whylen))
            return false;
        if (!hex64_ok(a))
            FAIL("request_ref must be 64 lower-case hex digits");
        if (acc && !(has_num && has_reg && has_due && date_ok(d) && date_ok(e)))
            FAIL("an accepted receipt needs number, registered and due (YYYY-MM-DD)");
        if (!acc && !has_reason)
            FAIL("a refusal (回退) needs a reason");
        return true;
    }
    case BUNDLE_REPLY: {
        struct pv_field fs[] = {
            T("request_ref", 64, PV_REQUIRED, 64, &a), T("form", 1, PV_REQUIRED, 32, &b),
            T("reason", 1, 0, 20000, &d),              T("responsible_organ", 1, 0, 200, &e),
            T("text", 0, PV_REQUIRED, 200000, &f),
        };
        if (pv_extract(c, fs, 5, ar, why, whylen))
            return false;
        static const char *const forms[] = {"public",    "partial",  "not_disclosed", "not_exist",
                                            "not_ours",  "repeated", "other_law",     NULL};
        if (!hex64_ok(a))
            FAIL("request_ref must be 64 lower-case hex digits");
        if (!one_of(b, forms))
            FAIL("form \"%s\" is not one of the forms of 第36条", b);
        return true;
    }
    case BUNDLE_PUBLICATION: {
        struct pv_field fs[] = {T("title", 1, PV_REQUIRED, 1000, &a), T("number", 0, PV_REQUIRED, 200, &b),
                                T("issued", 10, PV_REQUIRED, 10, &g)};
        if (pv_extract(c, fs, 3, ar, why, whylen))
            return false;
        if (!date_ok(g))
            FAIL("issued must be YYYY-MM-DD");
        return true;
    }
    }
    FAIL("unknown type");
}

enum bundle_reason bundle_manifest_parse(const unsigned char *m, size_t len, struct bundle *out, char *why,
                                         size_t whylen)
{
    cbor_item_t *root = NULL;
    struct oa_arena ar;
    oa_arena_init(&ar, 1u << 20);
    enum bundle_reason r = BUNDLE_R_SCHEMA;
    if (pv_decode_json(m, len, &root, why, whylen) != OA_E_OK)
        goto out;
    if (!cbor_isa_map(root)) {
        snprintf(why, whylen, "the manifest is not a JSON object");
        goto out;
    }
    int64_t format = 0, seq = 0;
    const char *type = NULL, *sender = NULL, *created = NULL;
    const cbor_item_t *files = NULL, *content = NULL;
    struct pv_field fs[] = {
        {"format", PV_INT, PV_REQUIRED, 1, 1000, &format, NULL},
        T("type", 1, PV_REQUIRED, 32, &type),
        T("sender", 1, PV_REQUIRED, 63, &sender),
        {"seq", PV_INT, PV_REQUIRED, 1, (int64_t)1 << 53, &seq, NULL},
        T("created", 20, PV_REQUIRED, 39, &created),
        {"files", PV_ITEM, PV_REQUIRED, 0, 0, &files, NULL},
        {"content", PV_ITEM, PV_REQUIRED, 0, 0, &content, NULL},
    };
    if (pv_extract(root, fs, sizeof fs / sizeof fs[0], &ar, why, whylen) != OA_E_OK)
        goto out;
    if (format != BUNDLE_FORMAT) {
        snprintf(why, whylen, "format %lld is not one this reader knows (%d)", (long long)format, BUNDLE_FORMAT);
        goto out;
    }
    if (!bundle_type_parse(type, &out->type)) {
        snprintf(why, whylen, "type \"%s\" is unknown", type);
        goto out;
    }
    for (const char *p = sender; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_' || *p == '.')) {
            snprintf(why, whylen, "sender may hold only letters, digits, '-', '_' and '.'");
            goto out;
        }
    if (!oa__bundle_time_ok(created)) {
        snprintf(why, whylen, "created must be an RFC 3339 time");
        goto out;
    }
    if (!cbor_isa_array(files) || cbor_array_size(files) > BUNDLE_MAX_FILES) {
        snprintf(why, whylen, "files must be an array of at most %d items", BUNDLE_MAX_FILES);
        goto out;
    }
    if (!content_ok(out->type, content, &ar, why, whylen))
        goto out;
    size_t n = cbor_array_size(files);
    out->files = n ? oa_xcalloc(n, sizeof *out->files) : NULL;
    out->nfiles = 0;
    for (size_t i = 0; i < n; i++) {
        cbor_item_t *f = cbor_array_handle(files)[i];
        const char *name = NULL, *sha = NULL;
        int64_t size = 0;
        struct pv_field ff[] = {T("name", 1, PV_REQUIRED, 255, &name), T("sha256", 64, PV_REQUIRED, 64, &sha),
                                {"size", PV_INT, PV_REQUIRED, 0, INT64_MAX, &size, NULL}};
        if (!cbor_isa_map(f) || pv_extract(f, ff, 3, &ar, why, whylen) != OA_E_OK) {
            if (!cbor_isa_map(f))
                snprintf(why, whylen, "files[%zu] is not an object", i);
            goto out_files;
        }
        if (!oa__bundle_name_ok(name, strlen(name)) || !hex64_ok(sha)) {
            snprintf(why, whylen, "files[%zu]: a name oad would refuse, or sha256 not 64 lower-case hex", i);
            goto out_files;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(out->files[j].name, name) == 0) {
                snprintf(why, whylen, "files[%zu]: the name is listed twice", i);
                goto out_files;
            }
        struct bundle_file *bf = &out->files[out->nfiles++];
        snprintf(bf->name, sizeof bf->name, "%s", name);
        memcpy(bf->sha256, sha, 65);
        bf->size = (uint64_t)size;
    }
    snprintf(out->sender, sizeof out->sender, "%s", sender);
    snprintf(out->created, sizeof out->created, "%s", created);
    out->seq = seq;
    out->content = cbor_incref((cbor_item_t *)content);
    r = BUNDLE_R_OK;
    goto out;
out_files:
    free(out->files);
    out->files = NULL;
    out->nfiles = 0;
out:
    if (root)
        cbor_decref(&root);
    oa_arena_reset(&ar);
    return r;
}

unsigned char *bundle_manifest_build(enum bundle_type type, const char *sender, int64_t seq, const char *created,
                                     const cbor_item_t *content, const struct bundle_src *files, size_t nfiles,
                                     size_t *len, char *why, size_t whylen)
{
    cbor_item_t *m = pv_map(7), *arr = pv_array(nfiles);
    pv_put_int(m, "format", BUNDLE_FORMAT);
    pv_put_text(m, "type", bundle_type_name(type));
    pv_put_text(m, "sender", sender);
    pv_put_int(m, "seq", seq);
    pv_put_text(m, "created", created);
    for (size_t i = 0; i < nfiles; i++) {
        char hex[65];
        uint64_t size = 0;
        int fd = open(files[i].path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || bundle_sha256_fd(fd, hex, &size) < 0) {
            snprintf(why, whylen, "%s: %s", files[i].path, strerror(errno));
            if (fd >= 0)
                close(fd);
            cbor_decref(&arr);
            cbor_decref(&m);
            return NULL;
        }
        close(fd);
        cbor_item_t *f = pv_map(3);
        pv_put_text(f, "name", files[i].name);
        pv_put_text(f, "sha256", hex);
        pv_put_int(f, "size", (int64_t)size);
        pv_push(arr, f);
    }
    pv_put(m, "files", arr);
    pv_put(m, "content", cbor_incref((cbor_item_t *)content));
    char *json = pv_encode_json(m, len);
    cbor_decref(&m);
    if (!json) {
        snprintf(why, whylen, "the manifest cannot be encoded (text not UTF-8)");
        return NULL;
    }
    /* What we sign must pass our own reader's schema. */
    struct bundle check = {0};
    if (bundle_manifest_parse((unsigned char *)json, *len, &check, why, whylen) != BUNDLE_R_OK) {
        free(json);
        return NULL;
    }
    bundle_free(&check);
    return (unsigned char *)json;
}

void bundle_free(struct bundle *b)
{
    if (b->content)
        cbor_decref(&b->content);
    free(b->files);
    free(b->manifest);
    memset(b, 0, sizeof *b);
}
