/*
 * proto/aip.h: the archival information package (docs/AIP.md), written and
 * read with libarchive, and its offline verification.
 *
 * A package is an uncompressed tar holding one BagIt bag (RFC 8493) under a
 * base directory: bagit.txt, bag-info.txt, manifest-sha256.txt,
 * manifest-sm3.txt, tagmanifest-sha256.txt, tagmanifest-sm3.txt and the
 * payload data/.  The payload holds one directory per record
 * (data/NNNN/: metadata.json with the GB/T 18894-2016 metadata and the
 * process metadata, audit.json with the record's audit entries and their
 * inclusion proofs, files/ with the formal files in their original bytes),
 * the log's signed checkpoint (data/checkpoint.txt, a C2SP signed note), the
 * log's verifier key as oa published it (data/log.vkey) and, for a transfer
 * batch, the transfer list (data/transfer-list.json).
 *
 * Nothing here touches a database: the reader takes bytes from anywhere
 * (untrusted), and the verifier needs only the package and, to trust it
 * without trusting oa, the log's verifier key obtained another way.
 */
#ifndef OA_PROTO_AIP_H
#define OA_PROTO_AIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/merkle.h"

/* The record-level metadata of GB/T 18894-2016 that every record carries, in this order. */
#define AIP_META(X)                  \
    X(ARCHIVAL_CODE, "档号")         \
    X(TITLE, "题名")                 \
    X(DOC_NUMBER, "文件编号")        \
    X(AUTHOR, "责任者")              \
    X(DATE, "日期")                  \
    X(CLASS, "机构或问题")           \
    X(RETENTION, "保管期限")         \
    X(SECRECY, "密级")

enum aip_meta {
#define X(e, name) AIP_M_##e,
    AIP_META(X)
#undef X
        AIP_M__COUNT
};

/* The metadata's name (UTF-8), as the key in metadata.json. */
const char *aip_meta_name(enum aip_meta m);

/* One formal file; data is its original (decrypted) bytes. */
struct aip_file {
    const char *name;       /* 计算机文件名, as the drafter gave it */
    const char *media_type; /* 格式信息, the declared MIME type */
    const char *creator;    /* 文档创建程序 */
    const unsigned char *data;
    size_t len; /* 文件大小 */
};

/* One business step of the process metadata. */
struct aip_step {
    const char *action, *actor, *at, *opinion; /* at: RFC 3339 */
};

/* One audit entry (its deterministic CBOR) with its inclusion proof in the checkpoint's tree. */
struct aip_proof {
    const unsigned char *entry;
    size_t entry_len;
    uint64_t index;
    const oa_hash *path;
    size_t npath;
};

struct aip_record {
    int64_t doc_id;                 /* oa's document id (the audit entries' key 8) */
    const char *meta[AIP_M__COUNT]; /* NULL or "" when absent (the check then fails) */
    const char *piece;              /* 件号 ("0001"), NULL when not filed yet */
    const struct aip_file *files;
    size_t nfiles;
    const struct aip_step *steps;
    size_t nsteps;
    const struct aip_proof *proofs;
    size_t nproofs;
};

struct aip_package_in {
    const char *name;         /* base directory: [A-Za-z0-9._-], 1..100 bytes */
    const char *organization; /* Source-Organization */
    const char *bagging_date; /* YYYY-MM-DD */
    const struct aip_record *records;
    size_t nrecords;
    uint64_t tree_size;         /* the checkpoint's tree size the proofs are for */
    const char *checkpoint;     /* the signed note */
    const char *log_vkey;       /* the verifier key oa publishes */
    const char *transfer_list;  /* JSON of the batch's 移交清单, NULL for a single record */
};

/*
 * Writes the package as a tar to fd.  Returns 0, or -1 with a sentence in
 * why (an invalid name, a write error).
 */
int aip_write(int fd, const struct aip_package_in *in, char *why, size_t whylen);

/* ---- reading ---- */

struct aip_limits {
    uint32_t max_entries;
    uint64_t max_entry_bytes, max_total_bytes;
};
/* 100000 entries, 256 MiB an entry, 1 GiB in all. */
void aip_limits_default(struct aip_limits *l);

struct aip_entry {
    char *path; /* relative to the bag's base directory */
    unsigned char *data;
    size_t len;
};

/* A package as read: every regular entry under the base directory, in archive order. */
struct aip_pkg {
    char *base;
    struct aip_entry *entries;
    size_t n;
};

/*
 * Reads a tar from memory.  Refuses (returns -1, why filled) what is not a
 * plain bag: anything but regular files and directories, names that are
 * absolute, climb with "..", are not UTF-8, lie outside one base directory,
 * or repeat; more than the limits.  On 0 the caller frees *out with
 * aip_pkg_free.
 */
int aip_read(const void *buf, size_t len, const struct aip_limits *lim, struct aip_pkg *out, char *why,
             size_t whylen);
void aip_pkg_free(struct aip_pkg *p);
const struct aip_entry *aip_pkg_find(const struct aip_pkg *p, const char *path);

/* ---- findings: the four properties (DA/T 70-2018) ---- */

enum aip_property { AIP_AUTHENTICITY, AIP_COMPLETENESS, AIP_USABILITY, AIP_SECURITY };
const char *aip_property_name(enum aip_property p);  /* "authenticity", ... */
const char *aip_property_title(enum aip_property p); /* "真实性", ... */

struct aip_finding {
    enum aip_property property;
    char code[32];   /* stable: "digest", "manifest", "proof", ... */
    char where[192]; /* a path in the bag, or a record's 档号 */
    char message[256];
};

struct aip_report {
    struct aip_finding *f;
    size_t n, cap;
    size_t records, files, entries; /* what was checked */
    bool key_trusted;               /* the checkpoint verified under a key given from outside */
};

void aip_report_add(struct aip_report *r, enum aip_property p, const char *code, const char *where,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void aip_report_free(struct aip_report *r);
/* Passed: no finding at all. */
bool aip_report_ok(const struct aip_report *r);
/* The report as JSON (malloc'd, the caller frees) and as text for a person (malloc'd). */
char *aip_report_json(const struct aip_report *r, const char *package);
char *aip_report_text(const struct aip_report *r, const char *package);

/*
 * Checks a package as read without any database: the bag (bagit.txt, both
 * manifests and tag manifests, Payload-Oxum, nothing unlisted), each
 * record's metadata against its files (size, digests), the signed
 * checkpoint under trusted_vkey (NULL: under the key the package carries,
 * and report->key_trusted stays false), every audit entry's inclusion in
 * that checkpoint's tree, and that each entry belongs to its record.
 * Authenticity and the completeness of the bag; findings go to report.
 */
void aip_verify(const struct aip_pkg *p, const char *trusted_vkey, struct aip_report *report);

/* ---- signed notes (c2sp.org/signed-note, tlog-checkpoint), verified with libsodium ---- */

/*
 * Verifies a checkpoint note under a verifier key "<name>+<hex id>+<base64(0x01||pk)>":
 * one signature line by that key must verify over the note's text and the
 * key name must be the origin.  On true *size and root are the tree's.
 */
bool aip_note_verify(const char *note, const char *vkey, uint64_t *size, oa_hash root, char *why, size_t whylen);

/* ---- the envelope of a classified package (CMS, RFC 5652/5083, OpenSSL) ---- */

/*
 * Encrypts a whole package (tar bytes) to the recipient certificate in
 * PEM file cert_pem: a CMS AuthEnvelopedData with AES-256-GCM, DER, written
 * to fd.  The package inside stays a plain bag (DA/T 70: no encryption
 * inside); the archive removes the envelope before ingest.  0 or -1 (why).
 */
int aip_envelope_seal(const unsigned char *tar, size_t len, const char *cert_pem, int fd, char *why, size_t whylen);
/*
 * Opens an envelope with the recipient's private key and certificate (PEM
 * files).  On 0 *out (malloc'd, the caller frees) holds the tar; -1 (why).
 */
int aip_envelope_open(const unsigned char *der, size_t len, const char *key_pem, const char *cert_pem,
                      unsigned char **out, size_t *outlen, char *why, size_t whylen);
/* Whether the bytes look like a DER CMS message rather than a tar. */
bool aip_is_envelope(const unsigned char *p, size_t n);

/* ---- the four-property check (proto/aip_check.c, with libmagic) ---- */

/* Formats allowed when the policy names none (DA/T 70's long-term formats that oa handles). */
#define AIP_FORMATS_DEFAULT \
    "application/pdf,application/ofd,text/plain,text/xml,application/xml,image/jpeg,image/png,image/tiff"

struct aip_check_policy {
    const char *formats; /* comma-separated MIME types; NULL: AIP_FORMATS_DEFAULT */
    /*
     * The virus scan of one file: 0 clean, 1 infected (the signature's name
     * in virus), -1 could not scan (why in virus).  NULL: no scanner is
     * configured, which the report says (a security finding unless
     * scan_optional).
     */
    int (*scan)(void *arg, const unsigned char *data, size_t len, char *virus, size_t cap);
    void *scan_arg;
    bool scan_optional;
};

/*
 * The four properties (四性检测, DA/T 70-2018) of a package as read:
 * aip_verify (authenticity, the bag's completeness) and then, for every
 * record's files, usability (the declared format is allowed, the bytes sniff
 * as that format with libmagic, and open: a PDF has its header and %%EOF, a
 * text is UTF-8), security (the scan; no encrypted file inside: a PDF with
 * /Encrypt, an OpenPGP or CMS message) and, across a batch, completeness of
 * the running numbers (件号 within each class, and the sequence of each
 * document-number prefix and year, without gaps).  Returns 0, or -1 when
 * libmagic cannot be loaded (why filled).
 */
int aip_check(const struct aip_pkg *p, const char *trusted_vkey, const struct aip_check_policy *pol,
              struct aip_report *report, char *why, size_t whylen);

#endif
