/*
 * proto/bundle.c: the bundle reader and writer (see bundle.h).
 *
 * The reader never hands an archive to libarchive's disk writer: it reads
 * each entry's header, decides on it, and writes the bytes itself with
 * openat(O_CREAT|O_EXCL|O_NOFOLLOW) into the destination directory under a
 * name that has no directory part.  So no entry can name a place outside
 * that directory, replace a file, or follow a link, whatever the header
 * says; the checks before it turn each such attempt into a reason code.
 */
#include "proto/bundle.h"
#include "proto/bundle-int.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/alloc.h"
#include "proto/value.h"

#define SIG_BYTES (32 + crypto_sign_BYTES) /* the signer's public key, then the signature */
#define RATIO_FROM (1u << 20)

static const char *const reason_codes[] = {
#define X(e, code) code,
    BUNDLE_REASONS(X)
#undef X
};

const char *bundle_reason_code(enum bundle_reason r)
{
    return (unsigned)r < BUNDLE_R__COUNT ? reason_codes[r] : "io";
}

void bundle_limits_default(struct bundle_limits *l)
{
    l->max_entries = 64;
    l->max_entry_bytes = 64u << 20;
    l->max_total_bytes = 256u << 20;
    l->max_ratio = 100;
    l->max_manifest_bytes = 256u << 10;
}

/* Archive and compressed-stream signatures: a file that starts like one is refused as a nested archive. */
static bool looks_like_archive(const unsigned char *p, size_t n)
{
    static const struct {
        unsigned off, len;
        const char *magic;
    } sigs[] = {
        {0, 2, "\x1f\x8b"},         {0, 3, "BZh"},          {0, 6, "\xfd" "7zXZ\x00"},
        {0, 4, "\x28\xb5\x2f\xfd"}, {0, 4, "PK\x03\x04"},   {0, 4, "PK\x05\x06"},
        {0, 6, "7z\xbc\xaf\x27\x1c"}, {0, 4, "Rar!"},       {257, 5, "ustar"},
        {0, 2, "\x1f\x9d"},         {0, 4, "LZIP"},         {0, 4, "\x04\x22\x4d\x18"},
        {0, 7, "!<arch>"},          {0, 6, "070707"},       {0, 6, "070701"},
    };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (n >= sigs[i].off + sigs[i].len && memcmp(p + sigs[i].off, sigs[i].magic, sigs[i].len) == 0)
            return true;
    return false;
}

struct reader {
    struct archive *a;
    const struct bundle_limits *lim;
    uint64_t total;
    char *why;
    size_t whylen;
};

#define REFUSE(code, ...)                                                                                     \
    do {                                                                                                      \
        snprintf(why, whylen, __VA_ARGS__);                                                                   \
        r = BUNDLE_R_##code;                                                                                  \
        goto out;                                                                                             \
    } while (0)

/* Classifies an entry's name and type before any of its bytes are read. */
static enum bundle_reason entry_check(struct archive_entry *e, const char **name, char *why, size_t whylen)
{
    enum bundle_reason r = BUNDLE_R_OK;
    const char *p = archive_entry_pathname(e);
    if (!p || !*p)
        REFUSE(BAD_NAME, "an entry has no name");
    *name = p;
    size_t n = strlen(p);
    if (p[0] == '/')
        REFUSE(ABSOLUTE_PATH, "an entry's name is absolute");
    for (const char *c = p; (c = strstr(c, "..")) != NULL; c += 2)
        if ((c == p || c[-1] == '/') && (c[2] == '\0' || c[2] == '/'))
            REFUSE(PATH_TRAVERSAL, "an entry's name climbs out with \"..\"");
    /* A plain name at the top, "files/NAME", or the directory files/ itself; nothing else. */
    bool flat = oa__bundle_name_ok(p, n);
    bool under_files = n > 6 && memcmp(p, "files/", 6) == 0 && oa__bundle_name_ok(p + 6, n - 6);
    bool dir = strcmp(p, "files/") == 0 || strcmp(p, "files") == 0;
    if (!flat && !under_files && !dir)
        REFUSE(BAD_NAME, pv_utf8_ok((const unsigned char *)p, n) ? "an entry's name is not a plain file name under files/"
                                                                  : "an entry's name is not UTF-8");
    if (archive_entry_hardlink(e))
        REFUSE(HARDLINK, "an entry is a hard link");
    if (archive_entry_symlink(e) || archive_entry_filetype(e) == AE_IFLNK)
        REFUSE(SYMLINK, "an entry is a symbolic link");
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
        break;
    case AE_IFDIR:
        if (strcmp(p, "files/") == 0 || strcmp(p, "files") == 0)
            break;
        REFUSE(LAYOUT, "a directory other than files/");
    case AE_IFCHR:
    case AE_IFBLK:
        REFUSE(DEVICE, "an entry is a device");
    case AE_IFIFO:
        REFUSE(FIFO, "an entry is a FIFO");
    default:
        REFUSE(SPECIAL, "an entry is not a regular file");
    }
    if (archive_entry_sparse_count(e) > 0)
        REFUSE(SPECIAL, "an entry is sparse");
out:
    return r;
}

/*
 * Reads the current entry's bytes: into buf when buf (at most cap bytes),
 * else hashed into hex and written to fd when fd >= 0.  *len is the count.
 */
static enum bundle_reason entry_read(struct reader *rd, unsigned char *buf, size_t cap, int fd, char hex[65],
                                     uint64_t *len, uint64_t limit)
{
    char *why = rd->why;
    size_t whylen = rd->whylen;
    enum bundle_reason r = BUNDLE_R_OK;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char head[512];
    size_t headn = 0;
    unsigned char chunk[65536];
    *len = 0;
    for (;;) {
        la_ssize_t n = archive_read_data(rd->a, chunk, sizeof chunk);
        if (n < 0)
            REFUSE(FORMAT, "the archive is damaged: %s", archive_error_string(rd->a));
        if (n == 0)
            break;
        *len += (uint64_t)n;
        rd->total += (uint64_t)n;
        if (*len > limit)
            REFUSE(ENTRY_TOO_LARGE, "an entry holds more than %llu bytes", (unsigned long long)limit);
        if (rd->total > rd->lim->max_total_bytes)
            REFUSE(TOO_LARGE, "the files hold more than %llu bytes in all",
                   (unsigned long long)rd->lim->max_total_bytes);
        if (rd->total > RATIO_FROM) {
            la_int64_t raw = archive_filter_bytes(rd->a, -1);
            if (raw <= 0 || rd->total / (uint64_t)raw > rd->lim->max_ratio)
                REFUSE(RATIO, "the archive expands more than %u times (a compression bomb)", rd->lim->max_ratio);
        }
        if (buf) {
            if (*len > cap)
                REFUSE(ENTRY_TOO_LARGE, "an entry holds more than %zu bytes", cap);
            memcpy(buf + *len - (uint64_t)n, chunk, (size_t)n);
            continue;
        }
        if (headn < sizeof head) {
            size_t k = (size_t)n < sizeof head - headn ? (size_t)n : sizeof head - headn;
            memcpy(head + headn, chunk, k);
            headn += k;
        }
        crypto_hash_sha256_update(&st, chunk, (size_t)n);
        for (size_t off = 0; fd >= 0 && off < (size_t)n;) {
            ssize_t w = write(fd, chunk + off, (size_t)n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                REFUSE(IO, "writing a file: %s", strerror(errno));
            off += (size_t)w;
        }
    }
    if (!buf) {
        if (looks_like_archive(head, headn))
            REFUSE(NESTED_ARCHIVE, "a file is itself an archive or a compressed stream");
        unsigned char h[32];
        crypto_hash_sha256_final(&st, h);
        sodium_bin2hex(hex, 65, h, 32);
    }
out:
    return r;
}

enum bundle_reason bundle_read(int fd, int dest_dirfd, const struct bundle_limits *lim, const struct bundle_key *keys,
                               size_t nkeys, struct bundle *out, char *why, size_t whylen)
{
    struct bundle_limits dl;
    if (!lim) {
        bundle_limits_default(&dl);
        lim = &dl;
    }
    memset(out, 0, sizeof *out);
    enum bundle_reason r = BUNDLE_R_OK;
    unsigned char *manifest = oa_xmalloc(lim->max_manifest_bytes ? lim->max_manifest_bytes : 1);
    unsigned char sig[SIG_BYTES + 1];
    uint64_t mlen = 0, slen = 0;
    bool *seen = NULL;
    const struct bundle_key *key = NULL;
    struct reader rd = {archive_read_new(), lim, 0, why, whylen};
    archive_read_support_filter_gzip(rd.a);
    archive_read_support_format_tar(rd.a);
    if (archive_read_open_fd(rd.a, fd, 65536) != ARCHIVE_OK)
        REFUSE(FORMAT, "not a tar archive: %s", archive_error_string(rd.a));
    struct archive_entry *e;
    uint32_t idx = 0;
    for (;; idx++) {
        int ar = archive_read_next_header(rd.a, &e);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
            REFUSE(FORMAT, "not a tar archive libarchive reads cleanly: %s", archive_error_string(rd.a));
        if (idx + 1 > lim->max_entries)
            REFUSE(TOO_MANY_ENTRIES, "more than %u entries", lim->max_entries);
        const char *name = NULL;
        if ((r = entry_check(e, &name, why, whylen)) != BUNDLE_R_OK)
            goto out;
        if (ar == ARCHIVE_WARN)
            REFUSE(FORMAT, "a damaged header: %s", archive_error_string(rd.a));
        if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
            (uint64_t)archive_entry_size(e) > lim->max_entry_bytes)
            REFUSE(ENTRY_TOO_LARGE, "an entry declares more than %llu bytes",
                   (unsigned long long)lim->max_entry_bytes);
        if (archive_entry_filetype(e) == AE_IFDIR) {
            idx--;
            continue;
        }
        if (idx == 0) {
            if (strcmp(name, "manifest.json") != 0)
                REFUSE(LAYOUT, "the first entry is not manifest.json");
            if ((r = entry_read(&rd, manifest, lim->max_manifest_bytes, -1, NULL, &mlen, lim->max_manifest_bytes)))
                goto out;
            continue;
        }
        if (idx == 1) {
            if (strcmp(name, "manifest.sig") != 0)
                REFUSE(NO_SIGNATURE, "manifest.json is not followed by manifest.sig");
            if ((r = entry_read(&rd, sig, sizeof sig, -1, NULL, &slen, sizeof sig)) == BUNDLE_R_ENTRY_TOO_LARGE ||
                (r == BUNDLE_R_OK && slen != SIG_BYTES))
                REFUSE(BAD_SIGNATURE, "manifest.sig is not %d bytes (public key, signature)", SIG_BYTES);
            if (r)
                goto out;
            for (size_t k = 0; k < nkeys && !key; k++)
                if (sodium_memcmp(keys[k].pk, sig, 32) == 0)
                    key = &keys[k];
            if (!key)
                REFUSE(UNTRUSTED_KEY, "the manifest is signed by a key that is not trusted");
            if (crypto_sign_verify_detached(sig + 32, manifest, mlen, key->pk) != 0)
                REFUSE(BAD_SIGNATURE, "the manifest's signature does not verify");
            if ((r = bundle_manifest_parse(manifest, mlen, out, why, whylen)) != BUNDLE_R_OK)
                goto out;
            if (strcmp(out->sender, key->sender) != 0)
                REFUSE(UNTRUSTED_KEY, "the key is trusted for \"%s\", not for the manifest's sender", key->sender);
            seen = oa_xcalloc(out->nfiles + 1, sizeof *seen);
            continue;
        }
        if (strcmp(name, "manifest.json") == 0 || strcmp(name, "manifest.sig") == 0)
            REFUSE(DUPLICATE, "%s appears twice", name);
        if (strncmp(name, "files/", 6) != 0)
            REFUSE(UNLISTED, "an entry outside files/");
        const char *fname = name + 6;
        size_t i = 0;
        while (i < out->nfiles && strcmp(out->files[i].name, fname) != 0)
            i++;
        if (i == out->nfiles)
            REFUSE(UNLISTED, "a file the manifest does not list");
        if (seen[i])
            REFUSE(DUPLICATE, "a file appears twice");
        seen[i] = true;
        if (archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) != out->files[i].size)
            REFUSE(SIZE_MISMATCH, "files[%zu] is not the size the manifest says", i);
        int ofd = -1;
        if (dest_dirfd >= 0) {
            ofd = openat(dest_dirfd, fname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (ofd < 0)
                REFUSE(IO, "creating files[%zu]: %s", i, strerror(errno));
        }
        char hex[65];
        uint64_t len = 0;
        r = entry_read(&rd, NULL, 0, ofd, hex, &len, lim->max_entry_bytes);
        if (ofd >= 0 && close(ofd) != 0 && r == BUNDLE_R_OK)
            REFUSE(IO, "writing files[%zu]: %s", i, strerror(errno));
        if (r)
            goto out;
        if (len != out->files[i].size)
            REFUSE(SIZE_MISMATCH, "files[%zu] is not the size the manifest says", i);
        if (strcmp(hex, out->files[i].sha256) != 0)
            REFUSE(DIGEST, "files[%zu]'s SHA-256 is not the manifest's", i);
    }
    if (idx == 0)
        REFUSE(LAYOUT, "the archive holds no manifest.json");
    if (idx == 1)
        REFUSE(NO_SIGNATURE, "the archive holds no manifest.sig");
    for (size_t i = 0; i < out->nfiles; i++)
        if (!seen[i])
            REFUSE(MISSING, "files[%zu] is listed but not in the archive", i);
    bundle_sha256_hex(manifest, mlen, out->id);
    out->manifest = manifest;
    out->manifest_len = mlen;
    manifest = NULL;
out:
    archive_read_free(rd.a);
    free(manifest);
    free(seen);
    if (r != BUNDLE_R_OK)
        bundle_free(out);
    return r;
}

/* ---- writing ---- */

static int add_bytes(struct archive *a, const char *name, const void *p, size_t n)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname_utf8(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)n);
    int rc = archive_write_header(a, e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK || (n && archive_write_data(a, p, n) != (la_ssize_t)n))
        return -1;
    return 0;
}

static int add_file(struct archive *a, const struct bundle_src *f, char *why, size_t whylen)
{
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(why, whylen, "%s: %s", f->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char path[300];
    snprintf(path, sizeof path, "files/%s", f->name);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname_utf8(e, path);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, st.st_size);
    int rc = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
    archive_entry_free(e);
    unsigned char buf[65536];
    off_t done = 0;
    while (rc == 0 && done < st.st_size) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || archive_write_data(a, buf, (size_t)n) != n)
            rc = -1;
        done += n > 0 ? n : 0;
    }
    close(fd);
    if (rc)
        snprintf(why, whylen, "%s: %s", f->path, archive_error_string(a) ? archive_error_string(a) : "changed");
    return rc;
}

int bundle_write(int fd, const unsigned char *manifest, size_t len, const unsigned char sk[64],
                 const struct bundle_src *files, size_t nfiles, char *why, size_t whylen)
{
    unsigned char sig[SIG_BYTES];
    crypto_sign_ed25519_sk_to_pk(sig, sk);
    crypto_sign_detached(sig + 32, NULL, manifest, len, sk);
    struct archive *a = archive_write_new();
    int rc = -1;
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK || archive_write_add_filter_none(a) != ARCHIVE_OK ||
        archive_write_open_fd(a, fd) != ARCHIVE_OK)
        goto out;
    if (add_bytes(a, "manifest.json", manifest, len) || add_bytes(a, "manifest.sig", sig, sizeof sig))
        goto out;
    for (size_t i = 0; i < nfiles; i++)
        if (add_file(a, &files[i], why, whylen))
            goto out_named;
    if (archive_write_close(a) != ARCHIVE_OK)
        goto out;
    rc = 0;
    goto out_named;
out:
    snprintf(why, whylen, "writing the bundle: %s", archive_error_string(a) ? archive_error_string(a) : "failed");
out_named:
    archive_write_free(a);
    return rc;
}
