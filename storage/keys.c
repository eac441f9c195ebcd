/* storage/keys.c: see keys.h. */
#include "storage/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void line_key(char *out, size_t cap, const char *prefix, const unsigned char key[OA_KEY_LEN])
{
    char hex[OA_KEY_LEN * 2 + 1];
    sodium_bin2hex(hex, sizeof(hex), key, OA_KEY_LEN);
    snprintf(out, cap, "%s %s\n", prefix, hex);
    sodium_memzero(hex, sizeof(hex));
}

int oa_keys_create(const char *path, char *cause, size_t causelen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(cause, causelen, "cannot create the key file %s: %s", path, strerror(errno));
        return -1;
    }
    char text[2048];
    size_t off = (size_t)snprintf(text, sizeof(text), "oa-keys 1\n");
    unsigned char key[OA_KEY_LEN];
    for (int level = 0; level < OA_KEY_LEVELS; level++) {
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "kek %d 1", level);
        randombytes_buf(key, sizeof(key));
        line_key(text + off, sizeof(text) - off, prefix, key);
        off += strlen(text + off);
    }
    randombytes_buf(key, sizeof(key));
    line_key(text + off, sizeof(text) - off, "audit-sign 1", key);
    off += strlen(text + off);
    sodium_memzero(key, sizeof(key));
    int rc = write_all(fd, text, off) == 0 && fsync(fd) == 0 ? 0 : -1;
    sodium_memzero(text, sizeof(text));
    if (close(fd) != 0)
        rc = -1;
    if (rc != 0)
        snprintf(cause, causelen, "cannot write the key file %s: %s", path, strerror(errno));
    return rc;
}

static int parse_hex_key(const char *hex, unsigned char out[OA_KEY_LEN])
{
    size_t n = 0;
    if (strlen(hex) != OA_KEY_LEN * 2)
        return -1;
    return sodium_hex2bin(out, OA_KEY_LEN, hex, OA_KEY_LEN * 2, NULL, &n, NULL) == 0 && n == OA_KEY_LEN ? 0 : -1;
}

int oa_keys_load(const char *path, struct oa_keys *k, char *cause, size_t causelen)
{
    memset(k, 0, sizeof(*k));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(cause, causelen, "cannot open the key file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        close(fd);
        snprintf(cause, causelen, "the key file %s must be readable by its owner only (chmod 600)", path);
        return -1;
    }
    char text[4096];
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0) {
        snprintf(cause, causelen, "cannot read the key file %s", path);
        return -1;
    }
    text[n] = '\0';
    int line_no = 0, rc = -1;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char word[16], hex[80];
        int a = 0, b = 0;
        if (line_no == 1) {
            if (strcmp(line, "oa-keys 1") != 0)
                goto bad;
            continue;
        }
        if (sscanf(line, "kek %d %d %79s", &a, &b, hex) == 3) {
            if (a < 0 || a >= OA_KEY_LEVELS || b < 1 || b >= OA_KEY_VERSIONS ||
                parse_hex_key(hex, k->kek[a][b]) != 0)
                goto bad;
            k->kek_present[a][b] = 1;
            if (b > k->kek_version[a])
                k->kek_version[a] = b;
        } else if (sscanf(line, "audit-sign %d %79s", &a, hex) == 2 && a == 1) {
            if (parse_hex_key(hex, k->audit_seed) != 0)
                goto bad;
        } else if (sscanf(line, "%15s", word) == 1 && word[0] == '#') {
            continue;
        } else {
            goto bad;
        }
        sodium_memzero(hex, sizeof(hex));
    }
    for (int level = 0; level < OA_KEY_LEVELS; level++)
        if (k->kek_version[level] == 0) {
            snprintf(cause, causelen, "the key file %s has no key for level %d", path, level);
            goto out;
        }
    rc = 0;
    goto out;
bad:
    snprintf(cause, causelen, "the key file %s is malformed at line %d", path, line_no);
out:
    sodium_memzero(text, sizeof(text));
    if (rc != 0)
        oa_keys_wipe(k);
    return rc;
}

void oa_keys_wipe(struct oa_keys *k)
{
    sodium_memzero(k, sizeof(*k));
}
