/* storage/cryptvfs.c: the encrypting VFS shim.  See cryptvfs.h. */
#include "storage/cryptvfs.h"

#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/keys.h"
#include "storage/sqlite_init.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define HEADER_CLEAR 100 /* page 1's database header */
#define WAL_HDR 32
#define WAL_FRAME_HDR 24
#define MAX_PAGE 65536
#define SM4_KEY 16

enum role { ROLE_PLAIN = 0, ROLE_DB = 'D', ROLE_WAL = 'W', ROLE_JOURNAL = 'J' };

/* One open file: our part, then the underlying VFS's file right after it. */
struct cfile {
    sqlite3_file base;
    int role;
    int suite;                            /* enum oa_db_suite */
    EVP_CIPHER_CTX *enc, *dec;            /* AES-256-GCM, keyed at open: each page sets only its nonce */
    gcry_cipher_hd_t sm4;                 /* SM4-GCM (libgcrypt), likewise */
    unsigned char *buf;                   /* a sealed page on its way out */
    unsigned char frame[WAL_FRAME_HDR];   /* the WAL frame header written last */
    sqlite3_int64 frame_off;              /* and where (-1: none) */
    /* The whole WAL frame read last, opened (SQLite's walRewriteChecksums
     * reads a frame, then writes its header again: see rekey_frame). */
    unsigned char *reread;                /* malloc'd on first use: header, then the page in the clear */
    sqlite3_int64 reread_off;             /* where (-1: none) */
    int reread_len;
    sqlite3_int64 pad;                    /* keeps the underlying file 8-aligned */
};

#define ORIG(p) ((sqlite3_file *)(((struct cfile *)(p)) + 1))

static sqlite3_vfs crypt_vfs;
static sqlite3_vfs *root_vfs;
static unsigned char *the_key; /* sodium_malloc'd: locked, guarded */
static enum oa_db_suite the_suite;
static unsigned char *sm4_key;  /* derived from the_key; sodium_malloc'd */
static int registered;

static int is_page(int n)
{
    return n >= 512 && n <= MAX_PAGE && (n & (n - 1)) == 0;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
    p[3] = (unsigned char)v;
}

/*
 * The additional data of a page: a version tag, the role, the position (page
 * number, or a journal offset), the page size and the WAL frame's salts.
 */
static void page_aad(unsigned char aad[28], int suite, int role, sqlite3_int64 pos, int size,
                     const unsigned char *salts)
{
    memcpy(aad, suite == OA_DB_SM4_GCM ? "oa2" : "oa1", 3);
    aad[3] = (unsigned char)role;
    put32(aad + 4, (uint32_t)((uint64_t)pos >> 32));
    put32(aad + 8, (uint32_t)pos);
    put32(aad + 12, (uint32_t)size);
    if (salts)
        memcpy(aad + 16, salts, 8);
    else
        memset(aad + 16, 0, 8);
    memset(aad + 24, 0, 4);
}

/*
 * Page nonces: 96 random bits each (NIST SP 800-38D 8.2.2), drawn from the
 * CSPRNG a pool at a time.  One RAND_bytes per page cost a committing writer
 * twice what the page's AES-GCM did; per pool it is one call in 85 pages.
 * The pool is the thread's own, and a forked child drops the one it
 * inherited, so two processes never hand out the same bytes.
 */
#define NONCE_POOL (85 * NONCE_LEN)
static _Thread_local unsigned char nonce_pool[NONCE_POOL];
static _Thread_local size_t nonce_used = NONCE_POOL;
static pthread_once_t nonce_once = PTHREAD_ONCE_INIT;

static void nonce_pool_drop(void)
{
    nonce_used = NONCE_POOL;
}

static void nonce_atfork(void)
{
    pthread_atfork(NULL, NULL, nonce_pool_drop);
}

static int nonce_next(unsigned char out[NONCE_LEN])
{
    if (nonce_used == NONCE_POOL) {
        pthread_once(&nonce_once, nonce_atfork);
        if (RAND_bytes(nonce_pool, NONCE_POOL) != 1)
            return -1;
        nonce_used = 0;
    }
    memcpy(out, nonce_pool + nonce_used, NONCE_LEN);
    memset(nonce_pool + nonce_used, 0, NONCE_LEN); /* handed out once */
    nonce_used += NONCE_LEN;
    return 0;
}

/* Seals `size` bytes of page `in` into `out` (another buffer).  0 or -1. */
static int seal(struct cfile *p, sqlite3_int64 pos, const unsigned char *salts, const unsigned char *in, int size,
                unsigned char *out)
{
    int clear = p->role == ROLE_DB && pos == 1 ? HEADER_CLEAR : 0;
    int n = size - OA_CRYPTVFS_RESERVE, len = 0;
    unsigned char aad[28];
    page_aad(aad, p->suite, p->role, pos, size, salts);
    memcpy(out, in, (size_t)clear);
    if (nonce_next(out + n) != 0)
        return -1;
    if (p->suite == OA_DB_SM4_GCM)
        return gcry_cipher_setiv(p->sm4, out + n, NONCE_LEN) == 0 &&
                       gcry_cipher_authenticate(p->sm4, aad, sizeof(aad)) == 0 &&
                       (!clear || gcry_cipher_authenticate(p->sm4, out, (size_t)clear) == 0) &&
                       gcry_cipher_encrypt(p->sm4, out + clear, (size_t)(n - clear), in + clear,
                                           (size_t)(n - clear)) == 0 &&
                       gcry_cipher_gettag(p->sm4, out + n + NONCE_LEN, TAG_LEN) == 0
                   ? 0
                   : -1;
    if (EVP_EncryptInit_ex(p->enc, NULL, NULL, NULL, out + n) != 1 ||
        EVP_EncryptUpdate(p->enc, NULL, &len, aad, sizeof(aad)) != 1 ||
        (clear && EVP_EncryptUpdate(p->enc, NULL, &len, out, clear) != 1) ||
        EVP_EncryptUpdate(p->enc, out + clear, &len, in + clear, n - clear) != 1 ||
        EVP_EncryptFinal_ex(p->enc, out + clear + len, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(p->enc, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + n + NONCE_LEN) != 1)
        return -1;
    return 0;
}

/*
 * Opens the page in buf in place.  SQLITE_OK, or SQLITE_CORRUPT with buf
 * zeroed: a page that does not authenticate is never handed on.
 */
static int unseal(struct cfile *p, sqlite3_int64 pos, const unsigned char *salts, unsigned char *buf, int size)
{
    int clear = p->role == ROLE_DB && pos == 1 ? HEADER_CLEAR : 0;
    int n = size - OA_CRYPTVFS_RESERVE, len = 0;
    unsigned char aad[28], nonce[NONCE_LEN], tag[TAG_LEN];
    page_aad(aad, p->suite, p->role, pos, size, salts);
    memcpy(nonce, buf + n, NONCE_LEN);
    memcpy(tag, buf + n + NONCE_LEN, TAG_LEN);
    if (p->suite == OA_DB_SM4_GCM) {
        /* gcry_cipher_checktag compares in constant time. */
        if (gcry_cipher_setiv(p->sm4, nonce, NONCE_LEN) == 0 &&
            gcry_cipher_authenticate(p->sm4, aad, sizeof(aad)) == 0 &&
            (!clear || gcry_cipher_authenticate(p->sm4, buf, (size_t)clear) == 0) &&
            gcry_cipher_decrypt(p->sm4, buf + clear, (size_t)(n - clear), NULL, 0) == 0 &&
            gcry_cipher_checktag(p->sm4, tag, TAG_LEN) == 0) {
            memset(buf + n, 0, OA_CRYPTVFS_RESERVE);
            return SQLITE_OK;
        }
    } else if (EVP_DecryptInit_ex(p->dec, NULL, NULL, NULL, nonce) == 1 &&
        EVP_DecryptUpdate(p->dec, NULL, &len, aad, sizeof(aad)) == 1 &&
        (!clear || EVP_DecryptUpdate(p->dec, NULL, &len, buf, clear) == 1) &&
        EVP_DecryptUpdate(p->dec, buf + clear, &len, buf + clear, n - clear) == 1 &&
        EVP_CIPHER_CTX_ctrl(p->dec, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
        EVP_DecryptFinal_ex(p->dec, buf + clear + len, &len) > 0) {
        /* SQLite sees zeros in the reserve, as it wrote them: the WAL's
         * checksums, computed over the page as SQLite had it, then match
         * when the frame is read back (crash recovery). */
        memset(buf + n, 0, OA_CRYPTVFS_RESERVE);
        return SQLITE_OK;
    }
    sodium_memzero(buf, (size_t)size);
    return SQLITE_CORRUPT;
}

static int all_zero(const unsigned char *b, int n)
{
    unsigned char acc = 0;
    for (int i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

/* ---- file methods ---- */

static void free_crypto(struct cfile *p)
{
    EVP_CIPHER_CTX_free(p->enc);
    EVP_CIPHER_CTX_free(p->dec);
    gcry_cipher_close(p->sm4); /* NULL is fine */
    free(p->buf);
    if (p->reread != NULL) {
        sodium_memzero(p->reread, MAX_PAGE + WAL_FRAME_HDR);
        free(p->reread);
    }
    p->sm4 = NULL;
    p->enc = p->dec = NULL;
    p->buf = NULL;
    p->reread = NULL;
}

static int c_close(sqlite3_file *f)
{
    int rc = ORIG(f)->pMethods ? ORIG(f)->pMethods->xClose(ORIG(f)) : SQLITE_OK;
    free_crypto((struct cfile *)f);
    return rc;
}

/* Reads the WAL frame header in front of page data at off (the cached one when it is that). */
static int frame_header(struct cfile *p, sqlite3_int64 off, unsigned char hdr[WAL_FRAME_HDR])
{
    if (p->frame_off == off - WAL_FRAME_HDR) {
        memcpy(hdr, p->frame, WAL_FRAME_HDR);
        return SQLITE_OK;
    }
    return ORIG(p)->pMethods->xRead(ORIG(p), hdr, WAL_FRAME_HDR, off - WAL_FRAME_HDR);
}

static sqlite3_int64 frame_pgno(const unsigned char *hdr)
{
    return ((sqlite3_int64)hdr[0] << 24) | (hdr[1] << 16) | (hdr[2] << 8) | hdr[3];
}

/*
 * Whether a WAL frame at off that fails its tag is the log's torn tail: no
 * later frame of the same log (same salts) authenticates.  A kill in the
 * middle of a transaction's write leaves such a frame (its header written,
 * its page not, or a page of an earlier log behind a new header); plain
 * SQLite ignores it through its checksum, and so must we.  A damaged frame
 * with a good one after it is damage, never the end of the log.
 */
static bool torn_tail(struct cfile *p, const unsigned char salts[8], int frame, sqlite3_int64 off)
{
    unsigned char *next = malloc((size_t)frame);
    bool tail = true;
    if (next == NULL)
        return false;
    for (sqlite3_int64 at = off + frame; tail; at += frame) {
        if (ORIG(p)->pMethods->xRead(ORIG(p), next, frame, at) != SQLITE_OK)
            break; /* the end of the file */
        if (memcmp(next + 8, salts, 8) != 0)
            continue; /* a frame of an earlier log: not ours */
        if (unseal(p, frame_pgno(next), next + 8, next + WAL_FRAME_HDR, frame - WAL_FRAME_HDR) == SQLITE_OK)
            tail = false;
    }
    sodium_memzero(next, (size_t)frame);
    free(next);
    return tail;
}

static int c_read(sqlite3_file *f, void *zbuf, int amt, sqlite3_int64 off)
{
    struct cfile *p = (struct cfile *)f;
    unsigned char *b = zbuf;
    int rc = ORIG(f)->pMethods->xRead(ORIG(f), zbuf, amt, off);
    if (p->role == ROLE_PLAIN)
        return rc;
    if (rc == SQLITE_IOERR_SHORT_READ) {
        /* Past the end is zeros and SQLite knows it; part of a page is damage. */
        if (all_zero(b, amt))
            return rc;
        sodium_memzero(b, (size_t)amt);
        return SQLITE_CORRUPT;
    }
    if (rc != SQLITE_OK)
        return rc;
    switch (p->role) {
    case ROLE_DB:
        if (off + amt <= HEADER_CLEAR)
            return SQLITE_OK;
        if (is_page(amt) && off % amt == 0) {
            if (off == 0 && b[20] != OA_CRYPTVFS_RESERVE)
                return SQLITE_NOTADB;
            return unseal(p, off / amt + 1, NULL, b, amt);
        }
        break;
    case ROLE_WAL:
        if (amt <= WAL_HDR)
            return SQLITE_OK;
        if (is_page(amt) && off >= WAL_HDR + WAL_FRAME_HDR && (off - WAL_HDR - WAL_FRAME_HDR) % (amt + WAL_FRAME_HDR) == 0) {
            unsigned char hdr[WAL_FRAME_HDR];
            rc = frame_header(p, off, hdr);
            if (rc != SQLITE_OK)
                return rc;
            return unseal(p, frame_pgno(hdr), hdr + 8, b, amt);
        }
        if (is_page(amt - WAL_FRAME_HDR) && off >= WAL_HDR && (off - WAL_HDR) % amt == 0) {
            /* A whole frame: SQLite's recovery reading the log, or its checksums rewritten at a commit. */
            rc = unseal(p, frame_pgno(b), b + 8, b + WAL_FRAME_HDR, amt - WAL_FRAME_HDR);
            if (rc == SQLITE_CORRUPT && torn_tail(p, b + 8, amt, off))
                return SQLITE_OK; /* header kept, page zeroed: its checksum fails and the log ends here */
            p->reread_off = -1;
            if (rc == SQLITE_OK && (p->reread != NULL || (p->reread = malloc(MAX_PAGE + WAL_FRAME_HDR)) != NULL)) {
                memcpy(p->reread, b, (size_t)amt);
                p->reread_off = off;
                p->reread_len = amt;
            }
            return rc;
        }
        break;
    case ROLE_JOURNAL:
        if (is_page(amt) && off % 8 == 4)
            return unseal(p, off, NULL, b, amt);
        if (amt < 512)
            return SQLITE_OK;
        break;
    }
    /* A read of no shape we know would hand out ciphertext as data. */
    sodium_memzero(b, (size_t)amt);
    return SQLITE_IOERR_READ;
}

/*
 * A WAL frame's header written again over a frame read whole just before:
 * SQLite's walRewriteChecksums at the commit of a transaction that wrote a
 * page over its own earlier frame (a page cache smaller than the
 * transaction spills pages, then writes them again).  The frames written
 * after that overwrite carry zero salts until this rewrite gives them the
 * log's salts and their checksums -- but their pages were sealed under the
 * zero salts, so each must be sealed again under the new ones, or it would
 * never authenticate (the commit read back as a damaged database).  The page
 * is written right after its new header: a crash between the two leaves a
 * frame that fails its tag at the tail of the log's frames (torn_tail), and
 * the transaction, not yet committed, is lost as it should be.  Returns the
 * page sealed anew in p->buf (its size), or 0 when nothing changes.
 */
static int rekey_frame(struct cfile *p, const unsigned char *hdr, sqlite3_int64 off)
{
    if (p->reread_off != off || p->reread == NULL)
        return 0;
    p->reread_off = -1;
    int size = p->reread_len - WAL_FRAME_HDR;
    if (frame_pgno(p->reread) != frame_pgno(hdr) || memcmp(p->reread + 8, hdr + 8, 8) == 0)
        return 0; /* the same salts: only the checksum changes */
    int rc = seal(p, frame_pgno(hdr), hdr + 8, p->reread + WAL_FRAME_HDR, size, p->buf);
    sodium_memzero(p->reread + WAL_FRAME_HDR, (size_t)size);
    return rc == 0 ? size : -1;
}

static int c_write(sqlite3_file *f, const void *z, int amt, sqlite3_int64 off)
{
    struct cfile *p = (struct cfile *)f;
    const unsigned char *b = z;
    sqlite3_file *o = ORIG(f);
    sqlite3_int64 pos = 0;
    const unsigned char *salts = NULL;
    unsigned char hdr[WAL_FRAME_HDR];
    if (p->role == ROLE_PLAIN)
        return o->pMethods->xWrite(o, z, amt, off);
    switch (p->role) {
    case ROLE_DB:
        if (!is_page(amt) || off % amt != 0)
            return SQLITE_IOERR_WRITE;
        /* A database without room for nonce and tag is never written through here. */
        if (off == 0 && b[20] != OA_CRYPTVFS_RESERVE)
            return SQLITE_IOERR_WRITE;
        pos = off / amt + 1;
        break;
    case ROLE_WAL:
        if (amt == WAL_FRAME_HDR && off >= WAL_HDR) {
            int again = rekey_frame(p, b, off);
            if (again < 0)
                return SQLITE_IOERR_WRITE;
            memcpy(p->frame, b, WAL_FRAME_HDR);
            p->frame_off = off;
            int rc = o->pMethods->xWrite(o, z, amt, off);
            if (rc == SQLITE_OK && again > 0)
                rc = o->pMethods->xWrite(o, p->buf, again, off + WAL_FRAME_HDR);
            return rc;
        }
        if (amt <= WAL_HDR)
            return o->pMethods->xWrite(o, z, amt, off);
        if (!is_page(amt) || off < WAL_HDR + WAL_FRAME_HDR ||
            (off - WAL_HDR - WAL_FRAME_HDR) % (amt + WAL_FRAME_HDR) != 0)
            return SQLITE_IOERR_WRITE;
        if (frame_header(p, off, hdr) != SQLITE_OK)
            return SQLITE_IOERR_WRITE;
        if (p->reread_off == off - WAL_FRAME_HDR)
            p->reread_off = -1; /* the page read whole is being replaced */
        pos = frame_pgno(hdr);
        salts = hdr + 8;
        break;
    case ROLE_JOURNAL:
        if (!is_page(amt) || off % 8 != 4) {
            if (amt >= 512 && !all_zero(b + HEADER_CLEAR, amt - HEADER_CLEAR))
                return SQLITE_IOERR_WRITE;
            return o->pMethods->xWrite(o, z, amt, off);
        }
        pos = off;
        break;
    }
    if (seal(p, pos, salts, b, amt, p->buf) != 0)
        return SQLITE_IOERR_WRITE;
    return o->pMethods->xWrite(o, p->buf, amt, off);
}

static int c_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return ORIG(f)->pMethods->xTruncate(ORIG(f), size);
}
static int c_sync(sqlite3_file *f, int flags)
{
    return ORIG(f)->pMethods->xSync(ORIG(f), flags);
}
static int c_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return ORIG(f)->pMethods->xFileSize(ORIG(f), size);
}
static int c_lock(sqlite3_file *f, int lock)
{
    return ORIG(f)->pMethods->xLock(ORIG(f), lock);
}
static int c_unlock(sqlite3_file *f, int lock)
{
    return ORIG(f)->pMethods->xUnlock(ORIG(f), lock);
}
static int c_check_reserved(sqlite3_file *f, int *out)
{
    return ORIG(f)->pMethods->xCheckReservedLock(ORIG(f), out);
}
static int c_file_control(sqlite3_file *f, int op, void *arg)
{
    return ORIG(f)->pMethods->xFileControl(ORIG(f), op, arg);
}
static int c_sector_size(sqlite3_file *f)
{
    return ORIG(f)->pMethods->xSectorSize(ORIG(f));
}
static int c_device(sqlite3_file *f)
{
    return ORIG(f)->pMethods->xDeviceCharacteristics(ORIG(f));
}
static int c_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return ORIG(f)->pMethods->xShmMap(ORIG(f), pg, pgsz, extend, pp);
}
static int c_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return ORIG(f)->pMethods->xShmLock(ORIG(f), offset, n, flags);
}
static void c_shm_barrier(sqlite3_file *f)
{
    ORIG(f)->pMethods->xShmBarrier(ORIG(f));
}
static int c_shm_unmap(sqlite3_file *f, int del)
{
    return ORIG(f)->pMethods->xShmUnmap(ORIG(f), del);
}
/* Mapped pages would be ciphertext: SQLite falls back to xRead when *pp is NULL. */
static int c_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
    struct cfile *p = (struct cfile *)f;
    if (p->role != ROLE_PLAIN) {
        *pp = NULL;
        return SQLITE_OK;
    }
    return ORIG(f)->pMethods->xFetch(ORIG(f), off, amt, pp);
}
static int c_unfetch(sqlite3_file *f, sqlite3_int64 off, void *ptr)
{
    struct cfile *p = (struct cfile *)f;
    if (p->role != ROLE_PLAIN)
        return SQLITE_OK;
    return ORIG(f)->pMethods->xUnfetch(ORIG(f), off, ptr);
}

static const sqlite3_io_methods crypt_methods = {
    3,           c_close,      c_read,        c_write,      c_truncate,        c_sync,
    c_file_size, c_lock,       c_unlock,      c_check_reserved, c_file_control, c_sector_size,
    c_device,    c_shm_map,    c_shm_lock,    c_shm_barrier, c_shm_unmap,      c_fetch,
    c_unfetch,
};

/* ---- the VFS ---- */

/* A file's contexts, keyed for the installed suite.  0 or -1. */
static int open_crypto(struct cfile *p)
{
    p->suite = the_suite;
    p->enc = EVP_CIPHER_CTX_new();
    p->dec = EVP_CIPHER_CTX_new();
    p->buf = malloc(MAX_PAGE);
    if (p->enc == NULL || p->dec == NULL || p->buf == NULL)
        return -1;
    if (p->suite != OA_DB_SM4_GCM)
        return EVP_EncryptInit_ex(p->enc, EVP_aes_256_gcm(), NULL, the_key, NULL) == 1 &&
                       EVP_DecryptInit_ex(p->dec, EVP_aes_256_gcm(), NULL, the_key, NULL) == 1
                   ? 0
                   : -1;
    return gcry_cipher_open(&p->sm4, GCRY_CIPHER_SM4, GCRY_CIPHER_MODE_GCM, 0) == 0 &&
                   gcry_cipher_setkey(p->sm4, sm4_key, SM4_KEY) == 0
               ? 0
               : -1;
}

/*
 * The SM4 suite's key from the database key (HKDF-SM3, its own label), and
 * libgcrypt made ready once: OpenSSL 3.0 has no SM4-GCM, and its SM4 is
 * several times slower than libgcrypt's (AES-NI/AVX2).  0 or -1.
 */
static int derive_sm4_key(void)
{
    static const char info[] = "oa-db pages sm4-gcm";
    if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
        if (gcry_check_version(GCRYPT_VERSION) == NULL)
            return -1;
        /* Keys live in sodium's locked memory; libgcrypt's own pool is not needed. */
        gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
        gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    }
    if (sm4_key == NULL && (sm4_key = sodium_malloc(SM4_KEY)) == NULL)
        return -1;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SM3", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, the_key, OA_KEY_LEN),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, sizeof(info) - 1),
        OSSL_PARAM_construct_end(),
    };
    int rc = kctx && EVP_KDF_derive(kctx, sm4_key, SM4_KEY, params) == 1 ? 0 : -1;
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rc;
}

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    struct cfile *p = (struct cfile *)f;
    memset(p, 0, sizeof(*p));
    ORIG(f)->pMethods = NULL;
    p->frame_off = -1;
    p->reread_off = -1;
    /* Temporary files would hold plaintext: every connection keeps them in memory. */
    if (flags & (SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TRANSIENT_DB | SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_SUBJOURNAL))
        return SQLITE_CANTOPEN;
    if (flags & SQLITE_OPEN_MAIN_DB)
        p->role = ROLE_DB;
    else if (flags & SQLITE_OPEN_WAL)
        p->role = ROLE_WAL;
    else if (flags & SQLITE_OPEN_MAIN_JOURNAL)
        p->role = ROLE_JOURNAL;
    if (p->role != ROLE_PLAIN) {
        if (the_key == NULL)
            return SQLITE_CANTOPEN;
        if (open_crypto(p) != 0) {
            free_crypto(p);
            return SQLITE_NOMEM;
        }
    }
    int rc = root_vfs->xOpen(root_vfs, name, ORIG(f), flags, out_flags);
    if (rc != SQLITE_OK) {
        free_crypto(p);
        return rc;
    }
    f->pMethods = &crypt_methods;
    return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
    (void)v;
    return root_vfs->xDelete(root_vfs, name, sync_dir);
}
static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return root_vfs->xAccess(root_vfs, name, flags, out);
}
static int v_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return root_vfs->xFullPathname(root_vfs, name, n, out);
}
static void *v_dlopen(sqlite3_vfs *v, const char *path)
{
    (void)v;
    return root_vfs->xDlOpen(root_vfs, path);
}
static void v_dlerror(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    root_vfs->xDlError(root_vfs, n, msg);
}
static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return root_vfs->xDlSym(root_vfs, h, sym);
}
static void v_dlclose(sqlite3_vfs *v, void *h)
{
    (void)v;
    root_vfs->xDlClose(root_vfs, h);
}
static int v_randomness(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return root_vfs->xRandomness(root_vfs, n, out);
}
static int v_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return root_vfs->xSleep(root_vfs, us);
}
static int v_current_time(sqlite3_vfs *v, double *t)
{
    (void)v;
    return root_vfs->xCurrentTime(root_vfs, t);
}
static int v_last_error(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    return root_vfs->xGetLastError(root_vfs, n, msg);
}
static int v_current_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
    (void)v;
    return root_vfs->xCurrentTimeInt64(root_vfs, t);
}

int oa_cryptvfs_install(const unsigned char key[32], enum oa_db_suite suite)
{
    if (suite != OA_DB_AES256GCM && suite != OA_DB_SM4_GCM)
        return -1;
    if (the_key == NULL) {
        the_key = sodium_malloc(OA_KEY_LEN);
        if (the_key == NULL)
            return -1;
    }
    memcpy(the_key, key, OA_KEY_LEN);
    the_suite = suite;
    if (suite == OA_DB_SM4_GCM && derive_sm4_key() != 0) {
        oa_cryptvfs_uninstall();
        return -1;
    }
    if (registered)
        return 0;
    oa_sqlite_init(); /* before sqlite3_vfs_find initialises SQLite */
    root_vfs = sqlite3_vfs_find(NULL);
    if (root_vfs == NULL)
        return -1;
    crypt_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(struct cfile) + root_vfs->szOsFile,
        .mxPathname = root_vfs->mxPathname,
        .zName = OA_CRYPTVFS_NAME,
        .xOpen = v_open,
        .xDelete = v_delete,
        .xAccess = v_access,
        .xFullPathname = v_full_pathname,
        .xDlOpen = v_dlopen,
        .xDlError = v_dlerror,
        .xDlSym = v_dlsym,
        .xDlClose = v_dlclose,
        .xRandomness = v_randomness,
        .xSleep = v_sleep,
        .xCurrentTime = v_current_time,
        .xGetLastError = v_last_error,
        .xCurrentTimeInt64 = v_current_time64,
    };
    if (sqlite3_vfs_register(&crypt_vfs, 0) != SQLITE_OK)
        return -1;
    registered = 1;
    return 0;
}

int oa_cryptvfs_as_default(void)
{
    return registered && sqlite3_vfs_register(&crypt_vfs, 1) == SQLITE_OK ? 0 : -1;
}

void oa_cryptvfs_uninstall(void)
{
    if (the_key != NULL) {
        sodium_free(the_key); /* wipes */
        the_key = NULL;
    }
    if (sm4_key != NULL) {
        sodium_free(sm4_key);
        sm4_key = NULL;
    }
}

const char *oa_cryptvfs_active(void)
{
    return registered && the_key != NULL ? OA_CRYPTVFS_NAME : NULL;
}

