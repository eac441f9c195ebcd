/*
 * clients/gwscan.h: oagw's checks of a bundle's files beyond the bundle
 * format: the content type sniffed from the bytes (libmagic) against an
 * allow-list, and the virus scanner (libclamav with an offline signature
 * directory).  Refusals use proto/bundle.h's reason codes.
 */
#ifndef OA_CLIENTS_GWSCAN_H
#define OA_CLIENTS_GWSCAN_H

#include <stddef.h>

#include "proto/bundle.h"

struct gwscan;

/*
 * Loads libmagic and, when clamav_db is not NULL, the ClamAV signatures in
 * that directory.  allowed: comma-separated MIME types.  NULL with why
 * filled when either cannot be loaded.  The caller frees with gwscan_close.
 */
struct gwscan *gwscan_open(const char *clamav_db, const char *allowed, char *why, size_t whylen);
void gwscan_close(struct gwscan *s);

/* Checks the file NAME in directory dirfd: OK, CONTENT_TYPE, VIRUS or IO, with why filled. */
enum bundle_reason gwscan_file(struct gwscan *s, int dirfd, const char *name, char *why, size_t whylen);

#endif
