/*
 * proto/aip.c: the package writer and reader (see aip.h, docs/AIP.md).
 *
 * The writer computes each payload file's SHA-256 and SM3 while it writes
 * it, then writes bag-info.txt (Payload-Oxum needs the totals), both
 * manifests and both tag manifests last: a tar is read whole, so the order
 * of its entries does not matter to a bag.  The reader keeps every entry in
 * memory under the limits it is given and refuses anything that is not a
 * plain bag before a verifier looks at it.
 */
#include "proto/aip.h"
#include "proto/aip-int.h"

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/value.h"

static const char *const meta_names[] = {
#define X(e, name) name,
    AIP_META(X)
#undef X
};

const char *aip_meta_name(enum aip_meta m)
{
    return (unsigned)m < AIP_M__COUNT ? meta_names[m] : "";
}

/* ---- digests ---- */

void oa__aip_digest(const EVP_MD *md, const void *data, size_t len, char *hex, size_t hexcap)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    if (!EVP_Digest(data, len, d, &dl, md, NULL))
        oa_oom();
    sodium_bin2hex(hex, hexcap, d, dl);
}

const EVP_MD *oa__aip_sm3(void)
{
    static const EVP_MD *md;
    if (!md)
        md = EVP_get_digestbyname("SM3");
    return md;
}

/* ---- a growable text buffer ---- */

void oa__aip_buf_add(struct aip_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = oa_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void oa__aip_buf_printf(struct aip_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        oa_oom();
    oa__aip_buf_add(b, s, (size_t)n);
    free(s);
}

/* ---- writing ---- */

struct writer {
    struct archive *a;
    const char *base;
    struct aip_buf sha, sm3; /* payload manifests */
    struct aip_buf tsha, tsm3; /* tag manifests */
    uint64_t oxum_bytes, oxum_count;
    char *why;
    size_t whylen;
};

/*
 * Writes one entry base/path; payload entries go to the manifests, tag files
 * to the tag manifests.  sha and sm3: the digests when the caller has them
 * already (NULL: computed here).
 */
static int put_digested(struct writer *w, const char *path, const void *data, size_t len, bool tag, const char *sha,
                        const char *sm3)
{
    char full[1024];
    if ((size_t)snprintf(full, sizeof full, "%s/%s", w->base, path) >= sizeof full) {
        snprintf(w->why, w->whylen, "path too long: %s", path);
        return -1;
    }
    struct archive_entry *e = archive_entry_new();
    archive_entry_copy_pathname(e, full); /* raw UTF-8 bytes, whatever the locale */
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, 0, 0);
    int rc = archive_write_header(w->a, e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK || (len > 0 && archive_write_data(w->a, data, len) != (la_ssize_t)len)) {
        snprintf(w->why, w->whylen, "writing %s: %s", path, archive_error_string(w->a));
        return -1;
    }
    if (tag && strncmp(path, "tagmanifest-", 12) == 0)
        return 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    if (!sha)
        oa__aip_digest(EVP_sha256(), data, len, hex, sizeof hex);
    oa__aip_buf_printf(tag ? &w->tsha : &w->sha, "%s  %s\n", sha ? sha : hex, path);
    if (!sm3)
        oa__aip_digest(oa__aip_sm3(), data, len, hex, sizeof hex);
    oa__aip_buf_printf(tag ? &w->tsm3 : &w->sm3, "%s  %s\n", sm3 ? sm3 : hex, path);
    if (!tag) {
        w->oxum_bytes += len;
        w->oxum_count++;
    }
    return 0;
}

static int put(struct writer *w, const char *path, const void *data, size_t len, bool tag)
{
    return put_digested(w, path, data, len, tag, NULL, NULL);
}

static int put_json(struct writer *w, const char *path, json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        oa_oom();
    int rc = put(w, path, s, strlen(s), false);
    free(s);
    return rc;
}

static bool base_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 100 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' || (s[i] >= '0' && s[i] <= '9') ||
              (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    return true;
}

/*
 * The name a file takes in the bag: its index, "-", and its own name with
 * every byte a path or a manifest line could trip on replaced by "_" (a
 * name that is not UTF-8 becomes "file").  The original stays in metadata.
 */
static void bag_name(size_t k, const char *name, char *out, size_t cap)
{
    char clean[160];
    if (!name || !*name || !pv_utf8_ok((const unsigned char *)name, strlen(name)))
        name = "file";
    pv_utf8_copy(clean, sizeof clean, name);
    for (char *c = clean; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '/' || *c == '\\' || *c == '%')
            *c = '_';
    if (clean[0] == '.')
        clean[0] = '_';
    snprintf(out, cap, "%zu-%s", k, clean);
}

static json_t *str_or_empty(const char *s)
{
    json_t *j = json_string(s ? s : "");
    return j ? j : json_string("");
}

static char *b64(const void *p, size_t n)
{
    size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    char *s = oa_xmalloc(cap);
    sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

static int put_record(struct writer *w, size_t idx, const struct aip_record *r, uint64_t tree_size)
{
    char dir[32], path[512], name[200];
    snprintf(dir, sizeof dir, "data/%04zu", idx);
    json_t *m = json_object();
    json_object_set_new(m, "oa_doc_id", json_integer(r->doc_id));
    if (r->piece)
        json_object_set_new(m, "件号", json_string(r->piece));
    for (int i = 0; i < AIP_M__COUNT; i++)
        json_object_set_new(m, meta_names[i], str_or_empty(r->meta[i]));
    json_t *files = json_array();
    for (size_t k = 0; k < r->nfiles; k++) {
        const struct aip_file *f = &r->files[k];
        bag_name(k + 1, f->name, name, sizeof name);
        snprintf(path, sizeof path, "%s/files/%s", dir, name);
        char sha[2 * EVP_MAX_MD_SIZE + 1], sm3[2 * EVP_MAX_MD_SIZE + 1];
        oa__aip_digest(EVP_sha256(), f->data, f->len, sha, sizeof sha);
        oa__aip_digest(oa__aip_sm3(), f->data, f->len, sm3, sizeof sm3);
        if (put_digested(w, path, f->data, f->len, false, sha, sm3) != 0) {
            json_decref(files);
            json_decref(m);
            return -1;
        }
        json_t *jf = json_object();
        json_object_set_new(jf, "计算机文件名", str_or_empty(f->name));
        json_object_set_new(jf, "路径", json_string(path + strlen(dir) + 1));
        json_object_set_new(jf, "格式信息", str_or_empty(f->media_type));
        json_object_set_new(jf, "文件大小", json_integer((json_int_t)f->len));
        json_object_set_new(jf, "文档创建程序", str_or_empty(f->creator));
        json_object_set_new(jf, "sha256", json_string(sha));
        json_object_set_new(jf, "sm3", json_string(sm3));
        json_array_append_new(files, jf);
    }
    json_object_set_new(m, "文件", files);
    json_t *steps = json_array();
    for (size_t k = 0; k < r->nsteps; k++) {
        json_t *js = json_object();
        json_object_set_new(js, "步骤", str_or_empty(r->steps[k].action));
        json_object_set_new(js, "执行者", str_or_empty(r->steps[k].actor));
        json_object_set_new(js, "时间", str_or_empty(r->steps[k].at));
        json_object_set_new(js, "意见", str_or_empty(r->steps[k].opinion));
        json_array_append_new(steps, js);
    }
    json_object_set_new(m, "过程", steps);
    snprintf(path, sizeof path, "%s/metadata.json", dir);
    if (put_json(w, path, m) != 0)
        return -1;

    json_t *a = json_object();
    json_object_set_new(a, "tree_size", json_integer((json_int_t)tree_size));
    json_t *ents = json_array();
    for (size_t k = 0; k < r->nproofs; k++) {
        const struct aip_proof *p = &r->proofs[k];
        json_t *je = json_object();
        json_object_set_new(je, "index", json_integer((json_int_t)p->index));
        char *s = b64(p->entry, p->entry_len);
        json_object_set_new(je, "entry", json_string(s));
        free(s);
        json_t *jp = json_array();
        for (size_t h = 0; h < p->npath; h++) {
            s = b64(p->path[h], OA_HASH);
            json_array_append_new(jp, json_string(s));
            free(s);
        }
        json_object_set_new(je, "path", jp);
        json_array_append_new(ents, je);
    }
    json_object_set_new(a, "entries", ents);
    snprintf(path, sizeof path, "%s/audit.json", dir);
    return put_json(w, path, a);
}

/* Copies s into out with newlines and other control characters replaced by spaces (a bag-info value). */
static void one_line(const char *s, char *out, size_t cap)
{
    pv_utf8_copy(out, cap, s ? s : "");
    for (char *c = out; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
}

int aip_write(int fd, const struct aip_package_in *in, char *why, size_t whylen)
{
    int rc = -1;
    struct writer w = {.base = in->name, .why = why, .whylen = whylen};
    if (!base_ok(in->name)) {
        snprintf(why, whylen, "the package name must be 1 to 100 of A-Z a-z 0-9 . _ - (not starting with .)");
        return -1;
    }
    if (!oa__aip_sm3()) {
        snprintf(why, whylen, "this OpenSSL has no SM3");
        return -1;
    }
    w.a = archive_write_new();
    if (!w.a)
        oa_oom();
    if (archive_write_set_format_gnutar(w.a) != ARCHIVE_OK || archive_write_add_filter_none(w.a) != ARCHIVE_OK ||
        archive_write_open_fd(w.a, fd) != ARCHIVE_OK) {
        snprintf(why, whylen, "libarchive: %s", archive_error_string(w.a));
        goto out;
    }
    static const char bagit[] = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
    if (put(&w, "bagit.txt", bagit, sizeof bagit - 1, true) != 0)
        goto out;
    for (size_t i = 0; i < in->nrecords; i++)
        if (put_record(&w, i + 1, &in->records[i], in->tree_size) != 0)
            goto out;
    const char *cp = in->checkpoint ? in->checkpoint : "";
    const char *vk = in->log_vkey ? in->log_vkey : "";
    if (put(&w, "data/checkpoint.txt", cp, strlen(cp), false) != 0 ||
        put(&w, "data/log.vkey", vk, strlen(vk), false) != 0)
        goto out;
    if (in->transfer_list && put(&w, "data/transfer-list.json", in->transfer_list, strlen(in->transfer_list), false) != 0)
        goto out;

    char org[256], date[32];
    one_line(in->organization, org, sizeof org);
    one_line(in->bagging_date, date, sizeof date);
    struct aip_buf info = {0};
    oa__aip_buf_printf(&info,
                       "Source-Organization: %s\nBagging-Date: %s\nBag-Software-Agent: oa\n"
                       "External-Identifier: %s\nPayload-Oxum: %llu.%llu\n",
                       org, date, in->name, (unsigned long long)w.oxum_bytes, (unsigned long long)w.oxum_count);
    int bad = put(&w, "bag-info.txt", info.p, info.len, true);
    free(info.p);
    if (bad || put(&w, "manifest-sha256.txt", w.sha.p, w.sha.len, true) != 0 ||
        put(&w, "manifest-sm3.txt", w.sm3.p, w.sm3.len, true) != 0 ||
        put(&w, "tagmanifest-sha256.txt", w.tsha.p, w.tsha.len, true) != 0 ||
        put(&w, "tagmanifest-sm3.txt", w.tsm3.p, w.tsm3.len, true) != 0)
        goto out;
    if (archive_write_close(w.a) != ARCHIVE_OK) {
        snprintf(why, whylen, "libarchive: %s", archive_error_string(w.a));
        goto out;
    }
    rc = 0;
out:
    archive_write_free(w.a);
    free(w.sha.p);
    free(w.sm3.p);
    free(w.tsha.p);
    free(w.tsm3.p);
    return rc;
}

/* ---- reading ---- */

void aip_limits_default(struct aip_limits *l)
{
    l->max_entries = 100000;
    l->max_entry_bytes = 256u << 20;
    l->max_total_bytes = 1ull << 30;
}

void aip_pkg_free(struct aip_pkg *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->entries[i].path);
        free(p->entries[i].data);
    }
    free(p->entries);
    free(p->base);
    memset(p, 0, sizeof(*p));
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct aip_entry *)a)->path, ((const struct aip_entry *)b)->path);
}

const struct aip_entry *aip_pkg_find(const struct aip_pkg *p, const char *path)
{
    struct aip_entry key = {.path = (char *)path};
    return bsearch(&key, p->entries, p->n, sizeof(*p->entries), entry_cmp);
}

/* A relative path of plain components: no empty, "." or ".." component, UTF-8, no control bytes. */
static bool rel_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || p[0] == '/' || !pv_utf8_ok((const unsigned char *)p, n))
        return false;
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
            return false;
    const char *s = p;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        if (!e)
            break;
        s = e + 1;
        if (!*s)
            break; /* a trailing slash (a directory) */
    }
    return true;
}

#define FAIL(...)                                   \
    do {                                            \
        snprintf(why, whylen, __VA_ARGS__);         \
        goto out;                                   \
    } while (0)

int aip_read(const void *buf, size_t len, const struct aip_limits *lim, struct aip_pkg *out, char *why,
             size_t whylen)
{
    int rc = -1;
    struct aip_pkg p = {0};
    size_t cap = 0;
    uint64_t total = 0;
    struct archive *a = archive_read_new();
    if (!a)
        oa_oom();
    archive_read_support_format_tar(a);
    archive_read_support_filter_none(a);
    if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK)
        FAIL("not a tar: %s", archive_error_string(a));
    for (;;) {
        struct archive_entry *e = NULL;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK)
            FAIL("not a readable tar: %s", archive_error_string(a));
        /* The raw bytes (a package's names are UTF-8 whatever the locale); rel_ok checks they are. */
        const char *name = archive_entry_pathname(e);
        if (!name || !rel_ok(name))
            FAIL("an entry's name is empty, absolute, climbs with \"..\", or is not plain UTF-8");
        if (archive_entry_hardlink(e) || archive_entry_symlink(e))
            FAIL("%s is a link", name);
        mode_t type = archive_entry_filetype(e);
        if (type != AE_IFREG && type != AE_IFDIR)
            FAIL("%s is not a regular file or directory", name);
        if (archive_entry_sparse_count(e) > 0)
            FAIL("%s is sparse", name);
        const char *slash = strchr(name, '/');
        size_t blen = slash ? (size_t)(slash - name) : strlen(name);
        if (!p.base) {
            p.base = oa_xmalloc(blen + 1);
            memcpy(p.base, name, blen);
            p.base[blen] = '\0';
        } else if (blen != strlen(p.base) || memcmp(name, p.base, blen) != 0) {
            FAIL("%s lies outside the bag's base directory %s", name, p.base);
        }
        if (type == AE_IFDIR)
            continue;
        if (!slash || !slash[1])
            FAIL("%s is a file beside the bag's base directory", name);
        if (p.n >= lim->max_entries)
            FAIL("more than %u entries", lim->max_entries);
        if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0 ||
            (uint64_t)archive_entry_size(e) > lim->max_entry_bytes)
            FAIL("%s is larger than %llu bytes", name, (unsigned long long)lim->max_entry_bytes);
        size_t size = (size_t)archive_entry_size(e);
        total += size;
        if (total > lim->max_total_bytes)
            FAIL("more than %llu bytes in all", (unsigned long long)lim->max_total_bytes);
        if (p.n == cap) {
            cap = cap ? cap * 2 : 32;
            p.entries = oa_xrealloc(p.entries, cap * sizeof(*p.entries));
        }
        struct aip_entry *en = &p.entries[p.n++];
        en->path = oa_xstrdup(slash + 1);
        en->len = size;
        en->data = oa_xmalloc(size + 1);
        size_t got = 0;
        while (got < size) {
            la_ssize_t n = archive_read_data(a, en->data + got, size - got);
            if (n <= 0)
                FAIL("%s is truncated", name);
            got += (size_t)n;
        }
        en->data[size] = '\0'; /* text files can be read as strings */
    }
    if (!p.base)
        FAIL("the archive is empty");
    if (p.n)
        qsort(p.entries, p.n, sizeof(*p.entries), entry_cmp);
    for (size_t i = 1; i < p.n; i++)
        if (strcmp(p.entries[i - 1].path, p.entries[i].path) == 0)
            FAIL("%s appears twice", p.entries[i].path);
    *out = p;
    memset(&p, 0, sizeof p);
    rc = 0;
out:
    archive_read_free(a);
    aip_pkg_free(&p);
    return rc;
}
