/* app/blob_stream.c: see blob_stream.h. */
#include "app/blob_stream.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "proto/alloc.h"
#include "proto/log.h"
#include "storage/blobs.h"
#include "storage/fault.h"

struct oa_app_blob_out {
    struct oa_blob_writer *w;  /* NULL once finished, or freed by a failed write */
    unsigned char dek[OA_DEK_LEN];
    char path[4096];
    bool finished, kept;
    int err;                   /* errno of the failure, or 0 */
    char cause[256];
};

bool oa_app_blob_space(void)
{
    return !oa_fault_active(OA_FAULT_NO_SPACE) || oa_reserve_take();
}

struct oa_app_blob_out *oa_app_blob_out_open(const struct oa_keys *keys, const char *data_dir,
                                             struct oa_blob_row *b, enum oa_err *err)
{
    struct oa_app_blob_out *o = oa_xcalloc(1, sizeof(*o));
    oa_blob_file_new(b->file);
    oa_dek_new(o->dek);
    char ad[256];
    size_t adlen = oa_blob_ad(b, ad, sizeof(ad));
    errno = 0;
    if (oa_dek_wrap(keys, b->level, o->dek, b->dek, &b->kek_version) != 0 ||
        oa_blob_path(data_dir, b->file, o->path, sizeof(o->path)) != 0 || oa_blob_dir_make(data_dir, b->file) != 0 ||
        oa_blob_writer_open(o->path, (enum oa_blob_suite)b->suite, o->dek, ad, adlen, &o->w, o->cause,
                            sizeof(o->cause)) != 0) {
        if (oa_fault_errno_full(errno)) {
            oa_fault_raise(OA_FAULT_NO_SPACE, "blob store");
            *err = OA_E_NO_SPACE;
        } else {
            oa_log(OA_LOG_ERROR, "blob_create_failed", "doc=%lld", (long long)b->doc_id);
            *err = OA_E_INTERNAL;
        }
        oa_app_blob_out_free(o);
        return NULL;
    }
    oa_blob_writer_external_digest(o->w);
    return o;
}

int oa_app_blob_out_write(struct oa_app_blob_out *o, const void *data, size_t len)
{
    /* While the disk is full the reserve's space is not for blobs (storage/fault.h). */
    if (!oa_app_blob_space()) {
        o->err = ENOSPC;
        snprintf(o->cause, sizeof(o->cause), "the disk is full");
        return -1;
    }
    if (len > 0 && oa_blob_write(o->w, data, len, o->cause, sizeof(o->cause)) != 0) {
        o->err = errno;
        o->w = NULL; /* freed by the failed write */
        return -1;
    }
    return 0;
}

int oa_app_blob_out_finish(struct oa_app_blob_out *o, struct oa_blob_info *info)
{
    struct oa_blob_writer *w = o->w;
    o->w = NULL;
    if (oa_blob_writer_finish(w, info, o->cause, sizeof(o->cause)) != 0) {
        o->err = errno;
        return -1;
    }
    o->finished = true;
    return 0;
}

enum oa_err oa_app_blob_out_failed(struct oa_app_blob_out *o, int64_t doc_id)
{
    if (oa_fault_errno_full(o->err)) {
        /* One line for the fault, not one per refused upload. */
        oa_fault_raise(OA_FAULT_NO_SPACE, "blob store");
        return OA_E_NO_SPACE;
    }
    oa_log(OA_LOG_ERROR, "blob_write_failed", "doc=%lld cause=\"%s\"", (long long)doc_id, o->cause);
    return OA_E_INTERNAL;
}

void oa_app_blob_out_keep(struct oa_app_blob_out *o)
{
    o->kept = true;
}

void oa_app_blob_out_free(struct oa_app_blob_out *o)
{
    if (o == NULL)
        return;
    if (o->w)
        oa_blob_writer_abort(o->w);
    if (o->finished && !o->kept)
        unlink(o->path); /* sealed but never committed */
    sodium_memzero(o->dek, sizeof(o->dek));
    free(o);
}

struct oa_app_blob_in {
    struct oa_blob_row b;
    unsigned char dek[OA_DEK_LEN];
    char path[4096];
    int fd;                    /* the file, opened with the row; the reader takes it */
    uint64_t from, len;
    struct oa_blob_reader *rd;
};

struct oa_app_blob_in *oa_app_blob_in_new(const struct oa_keys *keys, const char *data_dir,
                                          const struct oa_blob_row *b, int fd, uint64_t from, uint64_t len)
{
    struct oa_app_blob_in *in = oa_xcalloc(1, sizeof(*in));
    in->b = *b;
    in->fd = fd;
    in->from = from;
    in->len = len;
    if (oa_dek_unwrap(keys, b->level, b->kek_version, b->dek, in->dek) != 0 ||
        oa_blob_path(data_dir, b->file, in->path, sizeof(in->path)) != 0) {
        oa_app_blob_in_free(in);
        return NULL;
    }
    return in;
}

int oa_app_blob_in_take(struct oa_app_blob_in *in, struct oa_blob_piece **p, char *cause, size_t cap)
{
    if (in->rd == NULL) {
        char ad[256];
        size_t adlen = oa_blob_ad(&in->b, ad, sizeof(ad));
        int rc = in->fd >= 0 ? oa_blob_reader_open_fd(in->fd, in->path, in->dek, ad, adlen, in->from, in->len, NULL,
                                                      &in->rd, cause, cap)
                             : oa_blob_reader_open(in->path, in->dek, ad, adlen, in->from, in->len, NULL, &in->rd,
                                                   cause, cap);
        in->fd = -1;
        if (rc != 0)
            return -1;
    }
    if (*p == NULL)
        *p = oa_blob_piece_new();
    return oa_blob_reader_take(in->rd, *p, cause, cap);
}

bool oa_app_blob_piece_last(const struct oa_blob_piece *p)
{
    return oa_blob_piece_last(p);
}

int oa_app_blob_in_decode(const struct oa_app_blob_in *in, struct oa_blob_piece *p, unsigned char *out,
                          const unsigned char **data, size_t *len, char *cause, size_t cap)
{
    return oa_blob_piece_decode(in->rd, p, out, OA_BLOB_FRAME, data, len, cause, cap);
}

void oa_app_blob_piece_free(struct oa_blob_piece *p)
{
    oa_blob_piece_free(p);
}

void oa_app_blob_in_free(struct oa_app_blob_in *in)
{
    if (in == NULL)
        return;
    if (in->fd >= 0)
        close(in->fd);
    oa_blob_reader_close(in->rd);
    sodium_memzero(in->dek, sizeof(in->dek));
    free(in);
}
