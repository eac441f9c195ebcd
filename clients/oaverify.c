/*
 * clients/oaverify.c: the offline verifier of an archival package
 * (docs/AIP.md).  It needs no database and no oad: it reads the package,
 * opens its envelope when it is a classified one, and runs the
 * four-property check (proto/aip_check.c): the bag's manifests, the
 * records' metadata against their files, the audit entries' proofs against
 * the signed checkpoint under the log's published key, the formats, and a
 * virus scan when ClamAV signatures are given.
 *
 *   oaverify [--key VKEY | --key-file FILE] [--json] [--formats LIST]
 *            [--clamav-db DIR | --no-scanner] [--decrypt KEY.pem CERT.pem] PACKAGE
 *
 * Exit status: 0 the package passed, 1 it failed (the report says why),
 * 2 it could not be checked (usage, unreadable file, no libmagic).
 */
#include <clamav.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/aip.h"
#include "proto/alloc.h"

static void usage(void)
{
    fprintf(stderr, "usage: oaverify [--key VKEY | --key-file FILE] [--json] [--formats LIST]\n"
                    "                [--clamav-db DIR | --no-scanner] [--decrypt KEY.pem CERT.pem] PACKAGE\n");
}

/* Reads a whole file (at most max bytes) into a malloc'd buffer. */
static unsigned char *slurp(const char *path, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        fprintf(stderr, "oaverify: %s: %s\n", path, fd < 0 ? strerror(errno) : "not a regular file or too large");
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    unsigned char *buf = oa_xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0) {
            fprintf(stderr, "oaverify: %s: %s\n", path, n < 0 ? strerror(errno) : "shorter than it was");
            free(buf);
            close(fd);
            return NULL;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    close(fd);
    *len = got;
    return buf;
}

/* The scanner behind aip_check's callback: libclamav over a memfd holding the file. */
static int scan_clamav(void *arg, const unsigned char *d, size_t n, char *virus, size_t cap)
{
    struct cl_engine *engine = arg;
    int fd = memfd_create("oaverify-scan", MFD_CLOEXEC);
    if (fd < 0 || write(fd, d, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0) {
        snprintf(virus, cap, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    const char *name = NULL;
    unsigned long scanned = 0;
    struct cl_scan_options opt = {0};
    opt.parse = ~0u;
    cl_error_t rc = cl_scandesc(fd, NULL, &name, &scanned, engine, &opt);
    close(fd);
    if (rc == CL_VIRUS) {
        snprintf(virus, cap, "%s", name ? name : "a signature");
        return 1;
    }
    if (rc != CL_CLEAN) {
        snprintf(virus, cap, "%s", cl_strerror(rc));
        return -1;
    }
    return 0;
}

static struct cl_engine *clamav_open(const char *db)
{
    struct cl_engine *e = NULL;
    unsigned sigs = 0;
    cl_error_t rc = cl_init(CL_INIT_DEFAULT);
    if (rc == CL_SUCCESS && !(e = cl_engine_new()))
        rc = CL_EMEM;
    if (rc == CL_SUCCESS)
        rc = cl_load(db, e, &sigs, CL_DB_STDOPT);
    if (rc == CL_SUCCESS && sigs == 0)
        rc = CL_EOPEN;
    if (rc == CL_SUCCESS)
        rc = cl_engine_compile(e);
    if (rc != CL_SUCCESS) {
        fprintf(stderr, "oaverify: ClamAV signatures in %s: %s\n", db, sigs == 0 && rc == CL_EOPEN ? "none" : cl_strerror(rc));
        if (e)
            cl_engine_free(e);
        return NULL;
    }
    return e;
}

int main(int argc, char **argv)
{
    const char *key = NULL, *key_file = NULL, *formats = NULL, *clamdb = NULL, *dkey = NULL, *dcert = NULL;
    const char *path = NULL;
    bool json = false, no_scanner = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--key") == 0 && i + 1 < argc)
            key = argv[++i];
        else if (strcmp(a, "--key-file") == 0 && i + 1 < argc)
            key_file = argv[++i];
        else if (strcmp(a, "--formats") == 0 && i + 1 < argc)
            formats = argv[++i];
        else if (strcmp(a, "--clamav-db") == 0 && i + 1 < argc)
            clamdb = argv[++i];
        else if (strcmp(a, "--decrypt") == 0 && i + 2 < argc) {
            dkey = argv[++i];
            dcert = argv[++i];
        } else if (strcmp(a, "--json") == 0)
            json = true;
        else if (strcmp(a, "--no-scanner") == 0)
            no_scanner = true;
        else if (a[0] != '-' && !path)
            path = a;
        else {
            usage();
            return 2;
        }
    }
    if (!path || (key && key_file)) {
        usage();
        return 2;
    }
    int status = 2;
    unsigned char *buf = NULL, *keybuf = NULL, *opened = NULL;
    struct cl_engine *engine = NULL;
    struct aip_pkg pkg = {0};
    struct aip_report rep = {0};
    size_t len = 0, klen = 0;
    char why[512];
    if (key_file) {
        if (!(keybuf = slurp(key_file, 4096, &klen)))
            goto out;
        keybuf[strcspn((char *)keybuf, "\r\n")] = '\0';
        key = (const char *)keybuf;
    }
    if (clamdb && !(engine = clamav_open(clamdb)))
        goto out;
    if (!(buf = slurp(path, (size_t)2 << 30, &len)))
        goto out;
    if (aip_is_envelope(buf, len)) {
        if (!dkey) {
            fprintf(stderr, "oaverify: %s is an encrypted (classified) package: give --decrypt KEY.pem CERT.pem\n", path);
            goto out;
        }
        if (aip_envelope_open(buf, len, dkey, dcert, &opened, &len, why, sizeof why) != 0) {
            fprintf(stderr, "oaverify: %s: %s\n", path, why);
            goto out;
        }
        free(buf);
        buf = opened;
        opened = NULL;
    }
    struct aip_limits lim;
    aip_limits_default(&lim);
    if (aip_read(buf, len, &lim, &pkg, why, sizeof why) != 0) {
        /* Not a readable bag is a failed check, not an error of ours. */
        aip_report_add(&rep, AIP_USABILITY, "format", path, "%s", why);
    } else {
        struct aip_check_policy pol = {
            .formats = formats,
            .scan = engine ? scan_clamav : NULL,
            .scan_arg = engine,
            .scan_optional = no_scanner,
        };
        if (aip_check(&pkg, key, &pol, &rep, why, sizeof why) != 0) {
            fprintf(stderr, "oaverify: %s\n", why);
            goto out;
        }
    }
    char *text = json ? aip_report_json(&rep, pkg.base ? pkg.base : path) : aip_report_text(&rep, pkg.base ? pkg.base : path);
    fputs(text, stdout);
    if (json)
        fputc('\n', stdout);
    free(text);
    status = aip_report_ok(&rep) ? 0 : 1;
out:
    aip_report_free(&rep);
    aip_pkg_free(&pkg);
    if (engine)
        cl_engine_free(engine);
    free(buf);
    free(opened);
    free(keybuf);
    return status;
}
