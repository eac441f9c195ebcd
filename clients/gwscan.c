/* clients/gwscan.c: see gwscan.h. */
#include "clients/gwscan.h"

#include <clamav.h>
#include <errno.h>
#include <fcntl.h>
#include <magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/alloc.h"

#define MAX_TYPES 64

struct gwscan {
    magic_t magic;
    struct cl_engine *engine; /* NULL: no virus scan */
    size_t ntypes;
    char types[MAX_TYPES][128];
};

struct gwscan *gwscan_open(const char *clamav_db, const char *allowed, char *why, size_t whylen)
{
    struct gwscan *s = oa_xcalloc(1, sizeof *s);
    for (const char *p = allowed ? allowed : ""; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t n = strcspn(p, ", ");
        if (n && s->ntypes < MAX_TYPES && n < sizeof s->types[0])
            memcpy(s->types[s->ntypes++], p, n);
        p += n;
    }
    s->magic = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
    if (!s->magic || magic_load(s->magic, NULL) != 0) {
        snprintf(why, whylen, "libmagic: %s", s->magic ? magic_error(s->magic) : "cannot start");
        goto fail;
    }
    if (clamav_db) {
        cl_error_t rc = cl_init(CL_INIT_DEFAULT);
        unsigned sigs = 0;
        if (rc == CL_SUCCESS && !(s->engine = cl_engine_new()))
            rc = CL_EMEM;
        if (rc == CL_SUCCESS)
            rc = cl_load(clamav_db, s->engine, &sigs, CL_DB_STDOPT);
        if (rc == CL_SUCCESS && sigs == 0)
            rc = CL_EOPEN;
        if (rc == CL_SUCCESS)
            rc = cl_engine_compile(s->engine);
        if (rc != CL_SUCCESS) {
            snprintf(why, whylen, "ClamAV signatures in %s: %s", clamav_db,
                     sigs == 0 && rc == CL_EOPEN ? "no signatures" : cl_strerror(rc));
            goto fail;
        }
    }
    return s;
fail:
    gwscan_close(s);
    return NULL;
}

void gwscan_close(struct gwscan *s)
{
    if (!s)
        return;
    if (s->magic)
        magic_close(s->magic);
    if (s->engine)
        cl_engine_free(s->engine);
    free(s);
}

enum bundle_reason gwscan_file(struct gwscan *s, int dirfd, const char *name, char *why, size_t whylen)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "opening a file to scan: %s", strerror(errno));
        return BUNDLE_R_IO;
    }
    enum bundle_reason r = BUNDLE_R_OK;
    const char *type = magic_descriptor(s->magic, fd);
    if (!type) {
        snprintf(why, whylen, "libmagic: %s", magic_error(s->magic));
        r = BUNDLE_R_IO;
        goto out;
    }
    size_t i = 0;
    while (i < s->ntypes && strcmp(s->types[i], type) != 0)
        i++;
    if (i == s->ntypes) {
        snprintf(why, whylen, "a file's content is %s, which is not allowed", type);
        r = BUNDLE_R_CONTENT_TYPE;
        goto out;
    }
    if (s->engine) {
        const char *virname = NULL;
        unsigned long scanned = 0;
        struct cl_scan_options opt = {0};
        opt.parse = ~0u;
        lseek(fd, 0, SEEK_SET);
        cl_error_t rc = cl_scandesc(fd, NULL, &virname, &scanned, s->engine, &opt);
        if (rc == CL_VIRUS) {
            snprintf(why, whylen, "the virus scanner found %s", virname ? virname : "a signature");
            r = BUNDLE_R_VIRUS;
        } else if (rc != CL_CLEAN) {
            /* Fail closed: what cannot be scanned is not let in. */
            snprintf(why, whylen, "the virus scanner could not scan a file: %s", cl_strerror(rc));
            r = BUNDLE_R_VIRUS;
        }
    }
out:
    close(fd);
    return r;
}
