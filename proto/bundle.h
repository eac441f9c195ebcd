/*
 * proto/bundle.h: the exchange bundle (docs/BUNDLE.md, proto/bundle.cddl),
 * read and written with libarchive.
 *
 * A bundle is a tar (ustar or pax, optionally gzip-compressed; zip is not
 * accepted) whose first entry is manifest.json, second manifest.sig, then
 * one entry "files/NAME" per file the manifest lists.  The reader takes an
 * archive from an untrusted side: it checks every entry and every byte
 * before it returns anything, and each refusal has one stable reason code.
 * It has no policy beyond the file descriptor it is given: content-type
 * allow-lists and virus scanning are the caller's (clients/gwscan.c), with
 * the reason codes named here so they stay one list.
 */
#ifndef OA_PROTO_BUNDLE_H
#define OA_PROTO_BUNDLE_H

#include <cbor.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUNDLE_FORMAT 1
#define BUNDLE_MAX_FILES 64 /* oad's OA_GW_MAX_FILES */

/* X(enum, code): the code is stable (quarantine reason files, the audit trail). */
#define BUNDLE_REASONS(X)                                                                                   \
    X(OK, "ok")                                                                                             \
    X(FORMAT, "format")                   /* not a tar/tar.gz libarchive reads cleanly; zip; truncated */   \
    X(LAYOUT, "layout")                   /* manifest.json, manifest.sig, files/… not in that order */      \
    X(PATH_TRAVERSAL, "path_traversal")   /* a name with a ".." component */                               \
    X(ABSOLUTE_PATH, "absolute_path")     /* a name starting with "/" */                                   \
    X(BAD_NAME, "bad_name")               /* not UTF-8, control characters, nested directories, empty */   \
    X(SYMLINK, "symlink")                                                                                   \
    X(HARDLINK, "hardlink")                                                                                 \
    X(DEVICE, "device")                   /* character or block device */                                  \
    X(FIFO, "fifo")                                                                                         \
    X(SPECIAL, "special")                 /* socket, sparse entry, other non-regular file */              \
    X(DUPLICATE, "duplicate")             /* the same name twice */                                        \
    X(TOO_MANY_ENTRIES, "too_many_entries")                                                                \
    X(ENTRY_TOO_LARGE, "entry_too_large")                                                                  \
    X(TOO_LARGE, "too_large")             /* total uncompressed bytes over the limit */                    \
    X(RATIO, "ratio")                     /* uncompressed/compressed over the limit (a bomb) */            \
    X(NESTED_ARCHIVE, "nested_archive")   /* a file that is itself an archive or compressed stream */     \
    X(UNLISTED, "unlisted")               /* a file the manifest does not list */                          \
    X(MISSING, "missing")                 /* listed but not in the archive */                              \
    X(SIZE_MISMATCH, "size_mismatch")                                                                       \
    X(DIGEST, "digest")                   /* SHA-256 differs from the manifest */                          \
    X(NO_SIGNATURE, "no_signature")                                                                         \
    X(BAD_SIGNATURE, "bad_signature")     /* a trusted key, but the signature does not verify */           \
    X(UNTRUSTED_KEY, "untrusted_key")     /* signed by a key not trusted for the manifest's sender */      \
    X(SCHEMA, "schema")                   /* manifest.json fails proto/bundle.cddl */                      \
    X(CONTENT_TYPE, "content_type")       /* sniffed type outside the allow-list (caller) */               \
    X(VIRUS, "virus")                     /* the virus scanner flags a file (caller) */                    \
    X(REPLAYED, "replayed")               /* the sender's seq was used with another bundle (oad) */        \
    X(REFUSED, "refused")                 /* oad refused the content (its code in the detail) */            \
    X(IO, "io")                           /* our side failed (disk): not the bundle's fault */

enum bundle_reason {
#define X(e, code) BUNDLE_R_##e,
    BUNDLE_REASONS(X)
#undef X
        BUNDLE_R__COUNT
};

const char *bundle_reason_code(enum bundle_reason r);

struct bundle_limits {
    uint32_t max_entries;     /* archive entries, manifest and signature included */
    uint64_t max_entry_bytes; /* one file */
    uint64_t max_total_bytes; /* all files, uncompressed */
    uint32_t max_ratio;       /* uncompressed / compressed bytes, checked beyond 1 MiB */
    uint32_t max_manifest_bytes;
};

/* 64 entries, 64 MiB a file, 256 MiB in all, ratio 100, 256 KiB manifest. */
void bundle_limits_default(struct bundle_limits *l);

struct bundle_key {
    char sender[64];        /* the sending system this key may sign for */
    unsigned char pk[32];   /* Ed25519 public key */
};

struct bundle_file {
    char name[256];
    char sha256[65];
    uint64_t size;
};

enum bundle_type { BUNDLE_PUBLIC_REQUEST, BUNDLE_CORRECTION, BUNDLE_RECEIPT, BUNDLE_REPLY, BUNDLE_PUBLICATION };

/* A bundle that passed every check. */
struct bundle {
    char id[65];                /* hex SHA-256 of the manifest bytes */
    enum bundle_type type;
    char sender[64];
    int64_t seq;
    char created[40];
    cbor_item_t *content;       /* the type's content map (owned) */
    size_t nfiles;
    struct bundle_file *files;  /* malloc'd */
    unsigned char *manifest;    /* the manifest's bytes (malloc'd) */
    size_t manifest_len;
};

void bundle_free(struct bundle *b);
const char *bundle_type_name(enum bundle_type t);
bool bundle_type_parse(const char *s, enum bundle_type *t);

/*
 * Reads a bundle from fd (read to its end).  When dest_dirfd >= 0 each file
 * is written there under its name (created exclusively, mode 0600; the
 * directory should be new and empty); the caller removes what was written
 * when the answer is not OK.  keys: the trusted keys.  On OK *out is filled
 * (the caller calls bundle_free); on any other answer *out is empty and why
 * holds a sentence for a person.
 */
enum bundle_reason bundle_read(int fd, int dest_dirfd, const struct bundle_limits *lim, const struct bundle_key *keys,
                               size_t nkeys, struct bundle *out, char *why, size_t whylen);

/*
 * Checks manifest bytes against the schema (docs/BUNDLE.md) and fills the
 * manifest fields of out (not id, manifest).  Used by bundle_read and by
 * the writer's caller before signing.
 */
enum bundle_reason bundle_manifest_parse(const unsigned char *m, size_t len, struct bundle *out, char *why,
                                         size_t whylen);

/* A file to put in a bundle: its name in the bundle and where it is now. */
struct bundle_src {
    const char *name;
    const char *path;
};

/*
 * Builds manifest bytes (JSON) for a bundle of the given type, sender, seq
 * and created time, with content (borrowed) and the files, hashing each.
 * Returns a malloc'd buffer (the caller frees) and its length, or NULL with
 * why filled (unreadable file, content not valid for the type).
 */
unsigned char *bundle_manifest_build(enum bundle_type type, const char *sender, int64_t seq, const char *created,
                                     const cbor_item_t *content, const struct bundle_src *files, size_t nfiles,
                                     size_t *len, char *why, size_t whylen);

/*
 * Writes a bundle to fd (pax tar): the manifest, its signature by sk (the
 * 64-byte libsodium Ed25519 secret key), the files.  The files must be the
 * ones the manifest lists, unchanged.  Returns 0, or -1 with why filled.
 */
int bundle_write(int fd, const unsigned char *manifest, size_t len, const unsigned char sk[64],
                 const struct bundle_src *files, size_t nfiles, char *why, size_t whylen);

/* Hex SHA-256 of the bytes. */
void bundle_sha256_hex(const void *buf, size_t len, char out[65]);
/* Hex SHA-256 of a file's bytes (from its start); 0, or -1 when it cannot be read. */
int bundle_sha256_fd(int fd, char out[65], uint64_t *size);

#endif
