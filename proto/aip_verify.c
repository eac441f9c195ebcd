/*
 * proto/aip_verify.c: the offline verification of a package (see aip.h):
 * the bag, the records' metadata against their files, the signed checkpoint
 * and the audit entries' inclusion proofs; the report and its two forms.
 */
#include "proto/aip.h"
#include "proto/aip-int.h"

#include <cbor.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/value.h"

/* ---- the report ---- */

static const char *const prop_names[] = {"authenticity", "completeness", "usability", "security"};
static const char *const prop_titles[] = {"真实性", "完整性", "可用性", "安全性"};

const char *aip_property_name(enum aip_property p)
{
    return (unsigned)p < 4 ? prop_names[p] : "";
}

const char *aip_property_title(enum aip_property p)
{
    return (unsigned)p < 4 ? prop_titles[p] : "";
}

/* At most this many findings are kept; the count goes on (a bad package would otherwise flood the report). */
#define FINDINGS_MAX 1000

void aip_report_add(struct aip_report *r, enum aip_property p, const char *code, const char *where,
                    const char *fmt, ...)
{
    if (r->n == r->cap) {
        if (r->cap >= FINDINGS_MAX) {
            r->n = r->cap; /* keep the first ones */
            return;
        }
        r->cap = r->cap ? r->cap * 2 : 16;
        r->f = oa_xrealloc(r->f, r->cap * sizeof(*r->f));
    }
    struct aip_finding *f = &r->f[r->n++];
    memset(f, 0, sizeof(*f));
    f->property = p;
    snprintf(f->code, sizeof f->code, "%s", code);
    snprintf(f->where, sizeof f->where, "%s", where ? where : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
}

void aip_report_free(struct aip_report *r)
{
    free(r->f);
    memset(r, 0, sizeof(*r));
}

bool aip_report_ok(const struct aip_report *r)
{
    return r->n == 0;
}

char *aip_report_json(const struct aip_report *r, const char *package)
{
    json_t *j = json_object();
    json_object_set_new(j, "package", json_string(package ? package : ""));
    json_object_set_new(j, "passed", json_boolean(aip_report_ok(r)));
    json_object_set_new(j, "key_trusted", json_boolean(r->key_trusted));
    json_object_set_new(j, "records", json_integer((json_int_t)r->records));
    json_object_set_new(j, "files", json_integer((json_int_t)r->files));
    json_object_set_new(j, "audit_entries", json_integer((json_int_t)r->entries));
    json_t *props = json_object();
    for (int p = 0; p < 4; p++) {
        bool ok = true;
        for (size_t i = 0; i < r->n; i++)
            ok = ok && r->f[i].property != (enum aip_property)p;
        json_object_set_new(props, prop_names[p], json_boolean(ok));
    }
    json_object_set_new(j, "properties", props);
    json_t *fs = json_array();
    for (size_t i = 0; i < r->n; i++) {
        json_t *f = json_object();
        json_object_set_new(f, "property", json_string(prop_names[r->f[i].property]));
        json_object_set_new(f, "code", json_string(r->f[i].code));
        json_object_set_new(f, "where", json_string(r->f[i].where));
        json_object_set_new(f, "message", json_string(r->f[i].message));
        json_array_append_new(fs, f);
    }
    json_object_set_new(j, "findings", fs);
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        oa_oom();
    return s;
}

char *aip_report_text(const struct aip_report *r, const char *package)
{
    struct aip_buf b = {0};
    oa__aip_buf_printf(&b, "四性检测 (DA/T 70-2018) of %s: %s\n", package ? package : "the package",
                       aip_report_ok(r) ? "PASSED" : "FAILED");
    oa__aip_buf_printf(&b, "%zu records, %zu files, %zu audit entries checked\n", r->records, r->files, r->entries);
    for (int p = 0; p < 4; p++) {
        size_t k = 0;
        for (size_t i = 0; i < r->n; i++)
            k += r->f[i].property == (enum aip_property)p;
        oa__aip_buf_printf(&b, "  %s %-12s %s\n", prop_titles[p], prop_names[p], k ? "FAILED" : "ok");
        for (size_t i = 0; i < r->n; i++)
            if (r->f[i].property == (enum aip_property)p)
                oa__aip_buf_printf(&b, "    - [%s] %s: %s\n", r->f[i].code, r->f[i].where, r->f[i].message);
    }
    if (!r->key_trusted)
        oa__aip_buf_printf(&b, "note: the checkpoint was checked with the key the package carries; give the "
                               "log's published key to check it without trusting oa\n");
    return b.p;
}

/* ---- signed notes ---- */

static bool key_name_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == '+')
            return false;
    return true;
}

/* Decodes standard padded base64 of exactly want bytes; false otherwise. */
static bool unb64(const char *s, size_t n, unsigned char *out, size_t want)
{
    size_t got = 0;
    if (sodium_base642bin(out, want, s, n, NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    return got == want;
}

bool aip_note_verify(const char *note, const char *vkey, uint64_t *size, oa_hash root, char *why, size_t whylen)
{
    /* The verifier key. */
    const char *p1 = strchr(vkey, '+');
    const char *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
    unsigned char key[33], id[4];
    size_t vlen = strlen(vkey);
    while (vlen && (vkey[vlen - 1] == '\n' || vkey[vlen - 1] == '\r' || vkey[vlen - 1] == ' '))
        vlen--;
    if (!p2 || p2 - p1 != 9 || !key_name_ok(vkey, (size_t)(p1 - vkey)) ||
        sodium_hex2bin(id, 4, p1 + 1, 8, NULL, NULL, NULL) != 0 ||
        !unb64(p2 + 1, vlen - (size_t)(p2 + 1 - vkey), key, 33) || key[0] != 0x01) {
        snprintf(why, whylen, "the verifier key is not <name>+<8 hex digits>+<base64 Ed25519 key>");
        return false;
    }
    size_t nlen = (size_t)(p1 - vkey);
    char name[256];
    if (nlen >= sizeof name) {
        snprintf(why, whylen, "the verifier key's name is too long");
        return false;
    }
    memcpy(name, vkey, nlen);
    name[nlen] = '\0';
    unsigned char want_id[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state h;
    static const unsigned char sep[2] = {0x0a, 0x01};
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const unsigned char *)name, nlen);
    crypto_hash_sha256_update(&h, sep, 2);
    crypto_hash_sha256_update(&h, key + 1, 32);
    crypto_hash_sha256_final(&h, want_id);
    if (memcmp(want_id, id, 4) != 0) {
        snprintf(why, whylen, "the verifier key's ID does not match its name and key");
        return false;
    }
    /* The note: its text up to the blank line, then signature lines. */
    const char *blank = strstr(note, "\n\n");
    if (!blank) {
        snprintf(why, whylen, "the checkpoint is not a signed note (no blank line before signatures)");
        return false;
    }
    size_t tlen = (size_t)(blank - note) + 1;
    /* The checkpoint body: origin, size, root. */
    const char *l1 = memchr(note, '\n', tlen);
    const char *l2 = l1 ? memchr(l1 + 1, '\n', tlen - (size_t)(l1 + 1 - note)) : NULL;
    const char *l3 = l2 ? memchr(l2 + 1, '\n', tlen - (size_t)(l2 + 1 - note)) : NULL;
    if (!l3) {
        snprintf(why, whylen, "the checkpoint lacks its origin, size or root line");
        return false;
    }
    if ((size_t)(l1 - note) != nlen || memcmp(note, name, nlen) != 0) {
        snprintf(why, whylen, "the checkpoint's origin is not the key's name %s", name);
        return false;
    }
    char num[24];
    size_t sl = (size_t)(l2 - l1 - 1);
    if (sl == 0 || sl >= sizeof num || (sl > 1 && l1[1] == '0')) {
        snprintf(why, whylen, "the checkpoint's tree size is not a decimal number");
        return false;
    }
    memcpy(num, l1 + 1, sl);
    num[sl] = '\0';
    char *end = NULL;
    unsigned long long sz = strtoull(num, &end, 10);
    if (*end || num[0] < '0' || num[0] > '9') {
        snprintf(why, whylen, "the checkpoint's tree size is not a decimal number");
        return false;
    }
    if (!unb64(l2 + 1, (size_t)(l3 - l2 - 1), root, OA_HASH)) {
        snprintf(why, whylen, "the checkpoint's root is not base64 of 32 bytes");
        return false;
    }
    /* Signature lines: "— name base64\n". */
    static const char dash[] = "\xe2\x80\x94 ";
    const char *s = blank + 2;
    while (*s) {
        const char *e = strchr(s, '\n');
        if (!e)
            break;
        if (strncmp(s, dash, 4) == 0) {
            const char *nm = s + 4;
            const char *sp = memchr(nm, ' ', (size_t)(e - nm));
            unsigned char blob[4 + crypto_sign_BYTES];
            if (sp && (size_t)(sp - nm) == nlen && memcmp(nm, name, nlen) == 0 &&
                unb64(sp + 1, (size_t)(e - sp - 1), blob, sizeof blob) && memcmp(blob, id, 4) == 0) {
                if (crypto_sign_verify_detached(blob + 4, (const unsigned char *)note, tlen, key + 1) == 0) {
                    *size = sz;
                    return true;
                }
                snprintf(why, whylen, "the checkpoint's signature by %s does not verify", name);
                return false;
            }
        }
        s = e + 1;
    }
    snprintf(why, whylen, "the checkpoint carries no signature by %s", name);
    return false;
}

/* ---- the bag ---- */

/* Each entry's SHA-256 and SM3, computed at most once per verification (the manifests and the metadata both need them). */
struct digests {
    const struct aip_pkg *p;
    char (*hex)[2][2 * EVP_MAX_MD_SIZE + 1];
    bool (*have)[2];
};

static const char *entry_digest(struct digests *dc, const struct aip_entry *e, bool sm3)
{
    size_t i = (size_t)(e - dc->p->entries);
    if (!dc->have[i][sm3]) {
        oa__aip_digest(sm3 ? oa__aip_sm3() : EVP_sha256(), e->data, e->len, dc->hex[i][sm3], sizeof dc->hex[i][sm3]);
        dc->have[i][sm3] = true;
    }
    return dc->hex[i][sm3];
}

struct manifest_line {
    char digest[2 * EVP_MAX_MD_SIZE + 1];
    const char *path; /* into a copy of the manifest */
};

/*
 * Checks one manifest file: every line's file exists and has that digest;
 * when payload, every data/ entry is listed.  Returns whether it was found.
 */
static bool check_manifest(struct digests *dc, const char *mname, bool sm3, bool payload, struct aip_report *r)
{
    const struct aip_pkg *p = dc->p;
    const struct aip_entry *m = aip_pkg_find(p, mname);
    if (!m) {
        aip_report_add(r, AIP_COMPLETENESS, "manifest", mname, "the bag has no %s", mname);
        return false;
    }
    bool *seen = oa_xcalloc(p->n ? p->n : 1, sizeof(bool));
    char *text = oa_xmalloc(m->len + 1);
    memcpy(text, m->data, m->len);
    text[m->len] = '\0';
    size_t lineno = 0;
    for (char *line = text, *next = NULL; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r')
            line[--ll] = '\0';
        if (!ll)
            continue;
        char *sp = strpbrk(line, " \t");
        if (!sp) {
            aip_report_add(r, AIP_AUTHENTICITY, "manifest", mname, "line %zu is not \"digest path\"", lineno);
            continue;
        }
        *sp = '\0';
        char *path = sp + 1;
        while (*path == ' ' || *path == '\t')
            path++;
        const struct aip_entry *e = aip_pkg_find(p, path);
        if (!e) {
            aip_report_add(r, AIP_COMPLETENESS, "missing", path, "%s lists a file the bag does not hold", mname);
            continue;
        }
        seen[e - p->entries] = true;
        if (strcasecmp(entry_digest(dc, e, sm3), line) != 0)
            aip_report_add(r, AIP_AUTHENTICITY, "digest", path, "its %s digest differs from %s",
                           sm3 ? "SM3" : "SHA-256", mname);
    }
    for (size_t i = 0; payload && i < p->n; i++)
        if (!seen[i] && strncmp(p->entries[i].path, "data/", 5) == 0)
            aip_report_add(r, AIP_AUTHENTICITY, "unlisted", p->entries[i].path, "%s does not list it", mname);
    free(seen);
    free(text);
    return true;
}

/* Every tag file the tag manifest must cover. */
static void check_tag_coverage(const struct aip_pkg *p, const char *tname, struct aip_report *r)
{
    static const char *const must[] = {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sm3.txt"};
    const struct aip_entry *t = aip_pkg_find(p, tname);
    if (!t)
        return;
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, "  %s\n", must[i]);
        if (!strstr((const char *)t->data, pat))
            aip_report_add(r, AIP_AUTHENTICITY, "tagmanifest", tname, "it does not cover %s", must[i]);
    }
}

static void check_bag(struct digests *dc, struct aip_report *r)
{
    const struct aip_pkg *p = dc->p;
    const struct aip_entry *b = aip_pkg_find(p, "bagit.txt");
    if (!b || strncmp((const char *)b->data, "BagIt-Version: ", 15) != 0 ||
        !strstr((const char *)b->data, "\nTag-File-Character-Encoding: UTF-8"))
        aip_report_add(r, AIP_COMPLETENESS, "bagit", "bagit.txt", "missing, or not a BagIt declaration in UTF-8");
    check_manifest(dc, "manifest-sha256.txt", false, true, r);
    if (oa__aip_sm3())
        check_manifest(dc, "manifest-sm3.txt", true, true, r);
    check_manifest(dc, "tagmanifest-sha256.txt", false, false, r);
    if (oa__aip_sm3())
        check_manifest(dc, "tagmanifest-sm3.txt", true, false, r);
    check_tag_coverage(p, "tagmanifest-sha256.txt", r);
    check_tag_coverage(p, "tagmanifest-sm3.txt", r);
    /* Payload-Oxum: the payload's octets and files. */
    unsigned long long bytes = 0, count = 0, want_b = 0, want_c = 0;
    for (size_t i = 0; i < p->n; i++)
        if (strncmp(p->entries[i].path, "data/", 5) == 0) {
            bytes += p->entries[i].len;
            count++;
        }
    const struct aip_entry *info = aip_pkg_find(p, "bag-info.txt");
    const char *ox = info ? strstr((const char *)info->data, "Payload-Oxum: ") : NULL;
    if (!ox || sscanf(ox + 14, "%llu.%llu", &want_b, &want_c) != 2)
        aip_report_add(r, AIP_COMPLETENESS, "bag_info", "bag-info.txt", "no Payload-Oxum");
    else if (want_b != bytes || want_c != count)
        aip_report_add(r, AIP_COMPLETENESS, "oxum", "bag-info.txt",
                       "Payload-Oxum says %llu bytes in %llu files; the payload has %llu in %llu", want_b, want_c,
                       bytes, count);
}

/* ---- the records ---- */

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Key 8 of an audit entry (its document), or -1 when the entry has none or is not a map. */
static int64_t entry_doc(const unsigned char *e, size_t n)
{
    /* pv_decode_cbor checks every declared length against the bytes that follow (no cbor_load on outside bytes). */
    cbor_item_t *m = NULL;
    char why[128];
    int64_t doc = -1;
    if (pv_decode_cbor(e, n, &m, why, sizeof why) != OA_E_OK)
        return -1;
    if (m && cbor_isa_map(m)) {
        struct cbor_pair *pairs = cbor_map_handle(m);
        for (size_t i = 0; i < cbor_map_size(m); i++)
            if (cbor_isa_uint(pairs[i].key) && cbor_get_int(pairs[i].key) == 8 && cbor_isa_uint(pairs[i].value))
                doc = (int64_t)cbor_get_int(pairs[i].value);
    }
    if (m)
        cbor_decref(&m);
    return doc;
}

static void check_proofs(const struct aip_pkg *p, const char *dir, const char *where, int64_t doc, bool have_cp,
                         uint64_t size, const oa_hash root, struct aip_report *r)
{
    char path[512];
    snprintf(path, sizeof path, "%s/audit.json", dir);
    const struct aip_entry *a = aip_pkg_find(p, path);
    json_t *j = a ? json_loadb((const char *)a->data, a->len, 0, NULL) : NULL;
    json_t *ents = json_object_get(j, "entries");
    if (!j || !json_is_array(ents) || json_array_size(ents) == 0) {
        aip_report_add(r, AIP_COMPLETENESS, "audit", where, "%s is missing or holds no audit entry", path);
        goto out;
    }
    if (have_cp && (uint64_t)json_integer_value(json_object_get(j, "tree_size")) != size)
        aip_report_add(r, AIP_AUTHENTICITY, "proof", where, "the proofs are for another tree size than the checkpoint's");
    size_t i;
    json_t *je;
    json_array_foreach(ents, i, je) {
        r->entries++;
        const char *eb = jstr(je, "entry");
        size_t cap = strlen(eb) + 1, elen = 0;
        unsigned char *entry = oa_xmalloc(cap);
        json_t *jp = json_object_get(je, "path");
        json_int_t index = json_integer_value(json_object_get(je, "index"));
        size_t np = json_array_size(jp);
        if (sodium_base642bin(entry, cap, eb, strlen(eb), NULL, &elen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
            np > OA_PROOF_MAX || index < 0) {
            aip_report_add(r, AIP_AUTHENTICITY, "proof", where, "audit entry %zu is not well formed", i + 1);
            free(entry);
            continue;
        }
        oa_hash leaf, hashes[OA_PROOF_MAX];
        bool ok = true;
        for (size_t h = 0; h < np && ok; h++) {
            const char *s = json_string_value(json_array_get(jp, h));
            ok = s && unb64(s, strlen(s), hashes[h], OA_HASH);
        }
        oa_merkle_leaf(entry, elen, leaf);
        if (!ok || (have_cp && !oa_merkle_verify_inclusion(leaf, (uint64_t)index, size, hashes, np, root)))
            aip_report_add(r, AIP_AUTHENTICITY, "proof", where,
                           "audit entry %zu (leaf %lld) is not in the signed checkpoint's tree", i + 1,
                           (long long)index);
        else if (entry_doc(entry, elen) != doc)
            aip_report_add(r, AIP_AUTHENTICITY, "proof_foreign", where,
                           "audit entry %zu (leaf %lld) is about another document", i + 1, (long long)index);
        free(entry);
    }
out:
    json_decref(j);
}

/* The index of the first entry whose path is not below prefix in sort order (entries are sorted). */
static size_t lower_bound(const struct aip_pkg *p, const char *prefix)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(p->entries[mid].path, prefix) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void check_record(struct digests *dc, const char *dir, bool have_cp, uint64_t size, const oa_hash root,
                         struct aip_report *r)
{
    const struct aip_pkg *p = dc->p;
    char path[512];
    snprintf(path, sizeof path, "%s/metadata.json", dir);
    const struct aip_entry *me = aip_pkg_find(p, path);
    json_error_t err;
    json_t *m = json_loadb((const char *)me->data, me->len, 0, &err);
    r->records++;
    if (!json_is_object(m)) {
        aip_report_add(r, AIP_USABILITY, "metadata", path, "not readable JSON: %s", err.text);
        json_decref(m);
        return;
    }
    char where[192];
    snprintf(where, sizeof where, "%s", *jstr(m, "档号") ? jstr(m, "档号") : dir);
    for (int i = 0; i < AIP_M__COUNT; i++)
        if (!*jstr(m, aip_meta_name((enum aip_meta)i)))
            aip_report_add(r, AIP_COMPLETENESS, "metadata", where, "%s is missing", aip_meta_name((enum aip_meta)i));
    json_t *files = json_object_get(m, "文件");
    if (!json_is_array(files) || json_array_size(files) == 0)
        aip_report_add(r, AIP_COMPLETENESS, "content", where, "the record has no file");
    size_t i;
    json_t *f;
    size_t nlisted = 0;
    json_array_foreach(files, i, f) {
        r->files++;
        static const char *const fmeta[] = {"计算机文件名", "格式信息", "文档创建程序"};
        for (size_t k = 0; k < 3; k++)
            if (!*jstr(f, fmeta[k]))
                aip_report_add(r, AIP_COMPLETENESS, "metadata", where, "file %zu: %s is missing", i + 1, fmeta[k]);
        const char *rel = jstr(f, "路径");
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        const struct aip_entry *e = strncmp(rel, "files/", 6) == 0 ? aip_pkg_find(p, path) : NULL;
        if (!e) {
            aip_report_add(r, AIP_COMPLETENESS, "content", where, "file %zu (%s) is not in the package", i + 1, rel);
            continue;
        }
        nlisted++;
        json_t *sz = json_object_get(f, "文件大小");
        if (!json_is_integer(sz) || (uint64_t)json_integer_value(sz) != e->len)
            aip_report_add(r, AIP_AUTHENTICITY, "content", path, "文件大小 differs from the file's size");
        if (strcmp(entry_digest(dc, e, false), jstr(f, "sha256")) != 0)
            aip_report_add(r, AIP_AUTHENTICITY, "content", path, "the metadata's SHA-256 differs from the file's");
        if (oa__aip_sm3()) {
            if (strcmp(entry_digest(dc, e, true), jstr(f, "sm3")) != 0)
                aip_report_add(r, AIP_AUTHENTICITY, "content", path, "the metadata's SM3 differs from the file's");
        }
    }
    /* A file under files/ that the metadata does not describe. */
    snprintf(path, sizeof path, "%s/files/", dir);
    size_t plen = strlen(path), present = 0;
    for (size_t k = lower_bound(p, path); k < p->n && strncmp(p->entries[k].path, path, plen) == 0; k++)
        present++;
    if (present > nlisted)
        aip_report_add(r, AIP_COMPLETENESS, "unlisted", where, "%zu files in %s that the metadata does not describe",
                       present - nlisted, path);
    json_t *steps = json_object_get(m, "过程");
    if (!json_is_array(steps) || json_array_size(steps) == 0)
        aip_report_add(r, AIP_COMPLETENESS, "process", where, "no process metadata (过程)");
    json_t *st;
    json_array_foreach(steps, i, st) {
        if (!*jstr(st, "步骤") || !*jstr(st, "执行者") || !*jstr(st, "时间"))
            aip_report_add(r, AIP_COMPLETENESS, "process", where, "step %zu lacks its action, actor or time", i + 1);
    }
    json_t *doc = json_object_get(m, "oa_doc_id");
    check_proofs(p, dir, where, json_is_integer(doc) ? (int64_t)json_integer_value(doc) : -2, have_cp, size, root, r);
    json_decref(m);
}

void aip_verify(const struct aip_pkg *p, const char *trusted_vkey, struct aip_report *r)
{
    struct digests dc = {.p = p, .hex = oa_xcalloc(p->n ? p->n : 1, sizeof(*dc.hex)),
                         .have = oa_xcalloc(p->n ? p->n : 1, sizeof(*dc.have))};
    check_bag(&dc, r);
    /* The checkpoint. */
    const struct aip_entry *cp = aip_pkg_find(p, "data/checkpoint.txt");
    const struct aip_entry *vk = aip_pkg_find(p, "data/log.vkey");
    const char *key = trusted_vkey ? trusted_vkey : vk ? (const char *)vk->data : NULL;
    uint64_t size = 0;
    oa_hash root = {0};
    bool have_cp = false;
    char why[256];
    if (!cp || !key)
        aip_report_add(r, AIP_COMPLETENESS, "checkpoint", "data/checkpoint.txt", "the package has no checkpoint or key");
    else if (!(have_cp = aip_note_verify((const char *)cp->data, key, &size, root, why, sizeof why)))
        aip_report_add(r, AIP_AUTHENTICITY, "checkpoint", "data/checkpoint.txt", "%s", why);
    r->key_trusted = have_cp && trusted_vkey;
    /* The records: every data/<dir>/metadata.json. */
    for (size_t i = 0; i < p->n; i++) {
        const char *path = p->entries[i].path;
        if (strncmp(path, "data/", 5) != 0)
            continue;
        const char *slash = strchr(path + 5, '/');
        if (!slash || strcmp(slash, "/metadata.json") != 0)
            continue;
        char dir[256];
        size_t dl = (size_t)(slash - path);
        if (dl >= sizeof dir)
            continue;
        memcpy(dir, path, dl);
        dir[dl] = '\0';
        check_record(&dc, dir, have_cp, size, root, r);
    }
    free(dc.hex);
    free(dc.have);
    if (r->records == 0)
        aip_report_add(r, AIP_COMPLETENESS, "content", "data/", "the package holds no record");
}
