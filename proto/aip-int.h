/* proto/aip-int.h: what the package writer, reader and verifier share (proto/aip*.c only). */
#ifndef OA_PROTO_AIP_INT_H
#define OA_PROTO_AIP_INT_H

#include <openssl/evp.h>
#include <stdarg.h>
#include <stddef.h>

/* A growable NUL-terminated text buffer (malloc'd p; the owner frees it). */
struct aip_buf {
    char *p;
    size_t len, cap;
};
void oa__aip_buf_add(struct aip_buf *b, const char *s, size_t n);
void oa__aip_buf_printf(struct aip_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The lower-case hex digest of data under md into hex (at least 2 * EVP_MAX_MD_SIZE + 1). */
void oa__aip_digest(const EVP_MD *md, const void *data, size_t len, char *hex, size_t hexcap);
/* OpenSSL's SM3, or NULL when the library has none. */
const EVP_MD *oa__aip_sm3(void);

#endif
