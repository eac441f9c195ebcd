/*
 * model/blob.h: a blob (an encrypted file of the blob store,
 * storage/BLOB-FORMAT.md) and an attachment, as storage/ records them
 * (storage/blobs.h) and app/ and server/ hold them while they stream.
 */
#ifndef OA_MODEL_BLOB_H
#define OA_MODEL_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum oa_blob_suite {
    OA_BLOB_AES256GCM = 1, /* default */
    OA_BLOB_SM4_SM3 = 2,   /* SM4-CTR + HMAC-SM3, for the national algorithms */
};

#define OA_BLOB_SEGMENT 65536
#define OA_BLOB_FRAME (1024 * 1024) /* plaintext bytes per compressed frame, at most */
#define OA_DEK_LEN 32
#define OA_DEK_WRAPPED 60

/* What a finished blob is; recorded in the database beside it. */
struct oa_blob_info {
    uint64_t size;        /* plaintext bytes */
    uint64_t stored;      /* bytes on disk */
    bool compressed;
    unsigned char digest[32]; /* SHA-256 (suite 1) or SM3 (suite 2) of the plaintext */
};

#define OA_BLOB_FILE_LEN 32  /* hex characters of a blob file's random name */
#define OA_ATTACHMENT_NAME_MAX 255

struct oa_blob_row {
    int64_t id, doc_id, attachment_id;
    int rev;
    char file[OA_BLOB_FILE_LEN + 1];
    int suite, level, kek_version;
    bool shredded;                      /* the wrapped DEK is gone: unrecoverable */
    unsigned char dek[OA_DEK_WRAPPED];  /* wrapped */
    struct oa_blob_info info;
    char content_type[128];
    int64_t created_at, created_by;
    bool staged;                        /* sealed before it had a document (a gateway upload): its
                                           associated data names doc 0, rev 0 until re-sealed */
};

struct oa_attachment {
    int64_t id, doc_id;
    char name[OA_ATTACHMENT_NAME_MAX + 1];
    char role[16];                      /* "attachment", or "body": the formal body file */
    int rev;
    int64_t updated_at;
    struct oa_blob_row blob;            /* the current revision's */
};

/*
 * The blob files a disposal leaves dead.  A disposal shreds its files'
 * keys inside its transaction, and only after that transaction committed are
 * the files removed (a crash in between leaves them to oa_blob_sweep, which
 * takes a file whose only row is shredded for an orphan).
 */
struct oa_blob_files {
    char (*name)[OA_BLOB_FILE_LEN + 1]; /* malloc'd; oa_blob_files_free */
    size_t n, cap;
};

#endif
