/* storage/keys.c: see keys.h. */
#include "storage/keys.h"
#include "storage/cryptvfs.h"
#include "storage/keyseal.h"
#include "storage/keytoken.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 5 levels x 15 versions x 83 bytes, and the rest */
#define KEYS_TEXT_MAX 8192
/* A sealed file: its text in base64, and the header */
#define KEYS_FILE_MAX 12288

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

/*
 * The last line of a key file, "check HEX": the first 16 bytes of BLAKE2b
 * over every byte before it.  A flipped digit in a key still parses as a
 * key; the check line is what makes it a refusal at start instead of a
 * failure the first time that key is needed.
 */
static void check_line(const char *text, size_t len, char out[64])
{
    unsigned char sum[16];
    char hex[33];
    crypto_generichash(sum, sizeof(sum), (const unsigned char *)text, len, NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
    snprintf(out, 64, "check %s\n", hex);
}

/*
 * A secret's line, "NAME 1 HEX64", or with a PKCS#11 token open "NAME-token 1
 * HEX120": the secret wrapped by the token (storage/keytoken.h), so that the
 * key file alone opens neither the database nor the audit key (#17).
 * 0, or -1 when the token fails.
 */
static int line_secret(char *out, size_t cap, const char *name, const unsigned char key[OA_KEY_LEN])
{
    char prefix[32];
    if (!oa_keytoken_is_open()) {
        snprintf(prefix, sizeof(prefix), "%s 1", name);
        line_key(out, cap, prefix, key);
        return 0;
    }
    unsigned char wrapped[60];
    char hex[121];
    if (oa_keytoken_wrap_secret(name, key, wrapped) != 0)
        return -1;
    sodium_bin2hex(hex, sizeof(hex), wrapped, sizeof(wrapped));
    snprintf(out, cap, "%s-token 1 %s\n", name, hex);
    return 0;
}

/* The file's text for k; the caller wipes it.  Its length, or 0 when the token fails. */
static size_t format_keys(const struct oa_keys *k, char *text, size_t cap)
{
    size_t off = (size_t)snprintf(text, cap, "oa-keys 1\n");
    for (int level = 0; level < OA_KEY_LEVELS; level++)
        for (int v = 1; v < OA_KEY_VERSIONS; v++) {
            if (!k->kek_present[level][v])
                continue;
            if (k->kek_token[level][v]) {
                off += (size_t)snprintf(text + off, cap - off, "kek-token %d %d\n", level, v);
                continue;
            }
            char prefix[32];
            snprintf(prefix, sizeof(prefix), "kek %d %d", level, v);
            line_key(text + off, cap - off, prefix, k->kek[level][v]);
            off += strlen(text + off);
        }
    if (line_secret(text + off, cap - off, "audit-sign", k->audit_seed) != 0)
        return 0;
    off += strlen(text + off);
    if (k->has_db_key) {
        if (line_secret(text + off, cap - off, "db-key", k->db_key) != 0)
            return 0;
        off += strlen(text + off);
        if (k->db_suite == OA_DB_SM4_GCM)
            off += (size_t)snprintf(text + off, cap - off, "db-suite sm4-gcm\n");
    }
    char check[64];
    check_line(text, off, check);
    snprintf(text + off, cap - off, "%s", check);
    return off + strlen(text + off);
}

int oa_keys_save(const char *path, const struct oa_keys *k, char *cause, size_t causelen)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp)) {
        snprintf(cause, causelen, "the key file path is too long");
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(cause, causelen, "cannot write the key file %s: %s", tmp, strerror(errno));
        return -1;
    }
    char text[KEYS_TEXT_MAX], sealed[KEYS_FILE_MAX];
    size_t len = format_keys(k, text, sizeof(text)), slen = 0;
    if (len == 0) {
        snprintf(cause, causelen, "the PKCS#11 token could not wrap the key file's secrets");
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (k->sealed && oa__keyseal_close(text, len, sealed, sizeof(sealed), &slen, cause, causelen) != 0) {
        sodium_memzero(text, sizeof(text));
        close(fd);
        unlink(tmp);
        return -1;
    }
    int rc = fchmod(fd, 0600) == 0 &&
                     write_all(fd, k->sealed ? sealed : text, k->sealed ? slen : len) == 0 && fsync(fd) == 0
                 ? 0
                 : -1;
    sodium_memzero(text, sizeof(text));
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc == 0) {
        /* The rename is durable once the directory is. */
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *(slash == dir ? slash + 1 : slash) = '\0';
        int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0)
            rc = -1;
        if (dfd >= 0)
            close(dfd);
    }
    if (rc != 0) {
        snprintf(cause, causelen, "cannot write the key file %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

static int create(const char *path, bool sealed, char *cause, size_t causelen)
{
    if (access(path, F_OK) == 0) {
        snprintf(cause, causelen, "cannot create the key file %s: it exists", path);
        return -1;
    }
    struct oa_keys k;
    memset(&k, 0, sizeof(k));
    for (int level = 0; level < OA_KEY_LEVELS; level++) {
        /* With a PKCS#11 token open, the KEKs are born in it (#17). */
        if (oa_keytoken_is_open()) {
            if (oa_keytoken_generate(level, 1, cause, causelen) != 0)
                return -1;
            k.kek_token[level][1] = 1;
        } else {
            randombytes_buf(k.kek[level][1], OA_KEY_LEN);
        }
        k.kek_present[level][1] = 1;
        k.kek_version[level] = 1;
    }
    randombytes_buf(k.audit_seed, OA_KEY_LEN);
    randombytes_buf(k.db_key, OA_KEY_LEN);
    k.has_db_key = true;
    k.db_suite = OA_DB_AES256GCM; /* oa_cryptvfs_setup gives it the configured one before it encrypts anything */
    k.sealed = sealed;
    int rc = oa_keys_save(path, &k, cause, causelen);
    oa_keys_wipe(&k);
    return rc;
}

int oa_keys_create(const char *path, char *cause, size_t causelen)
{
    return create(path, false, cause, causelen);
}

int oa_keys_create_sealed(const char *path, char *cause, size_t causelen)
{
    return create(path, true, cause, causelen);
}

int oa_keys_rotate(struct oa_keys *k, int level, char *cause, size_t causelen)
{
    for (int l = 0; l < OA_KEY_LEVELS; l++) {
        if (level >= 0 && l != level)
            continue;
        int v = k->kek_version[l] + 1;
        if (v >= OA_KEY_VERSIONS) {
            snprintf(cause, causelen, "level %d already has %d key versions: retire old ones first", l,
                     OA_KEY_VERSIONS - 1);
            return -1;
        }
        if (oa_keytoken_is_open()) {
            if (oa_keytoken_generate(l, v, cause, causelen) != 0)
                return -1;
            sodium_memzero(k->kek[l][v], OA_KEY_LEN);
            k->kek_token[l][v] = 1;
        } else {
            randombytes_buf(k->kek[l][v], OA_KEY_LEN);
            k->kek_token[l][v] = 0;
        }
        k->kek_present[l][v] = 1;
        k->kek_version[l] = v;
    }
    return 0;
}

bool oa_keys_retire(struct oa_keys *k, int level, int version)
{
    if (level < 0 || level >= OA_KEY_LEVELS || version < 1 || version >= OA_KEY_VERSIONS ||
        version == k->kek_version[level] || !k->kek_present[level][version])
        return false;
    sodium_memzero(k->kek[level][version], OA_KEY_LEN);
    k->kek_present[level][version] = 0;
    k->kek_token[level][version] = 0; /* the token's object stays: the operator deletes it */
    return true;
}

static int parse_hex_key(const char *hex, unsigned char out[OA_KEY_LEN])
{
    size_t n = 0;
    if (strlen(hex) != OA_KEY_LEN * 2)
        return -1;
    return sodium_hex2bin(out, OA_KEY_LEN, hex, OA_KEY_LEN * 2, NULL, &n, NULL) == 0 && n == OA_KEY_LEN ? 0 : -1;
}

/* A "NAME-token 1 HEX120" line's secret, unwrapped by the token.  0, or -1 with a cause. */
static int unwrap_line(const char *hex, const char *name, unsigned char out[OA_KEY_LEN], const char *path,
                       char *cause, size_t causelen)
{
    unsigned char wrapped[60];
    size_t n = 0;
    if (!oa_keytoken_is_open()) {
        snprintf(cause, causelen, "the key file %s keeps its %s in a PKCS#11 token: set keys.pkcs11_module and "
                                  "keys.pkcs11_token (and its PIN in keys.pkcs11_pin_file)", path, name);
        return -1;
    }
    if (strlen(hex) != 120 || sodium_hex2bin(wrapped, sizeof(wrapped), hex, 120, NULL, &n, NULL) != 0 ||
        n != sizeof(wrapped) || oa_keytoken_unwrap_secret(name, wrapped, out) != 0) {
        snprintf(cause, causelen, "the PKCS#11 token does not unwrap the %s of the key file %s: another token?",
                 name, path);
        return -1;
    }
    return 0;
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
    char text[KEYS_TEXT_MAX], file[KEYS_FILE_MAX];
    ssize_t n = read(fd, file, sizeof(file) - 1);
    close(fd);
    if (n <= 0) {
        snprintf(cause, causelen, "cannot read the key file %s", path);
        return -1;
    }
    file[n] = '\0';
    int line_no = 0, rc = -1;
    if (oa_keyseal_is_sealed(file, (size_t)n)) {
        size_t plainlen = 0;
        char why[400];
        int src = oa__keyseal_open(file, (size_t)n, text, sizeof(text), &plainlen, why, sizeof(why));
        sodium_memzero(file, sizeof(file));
        if (src != 0) {
            snprintf(cause, causelen, "%s: %s", path, why);
            rc = src;
            goto out;
        }
        k->sealed = true;
    } else if ((size_t)n >= sizeof(text)) {
        snprintf(cause, causelen, "the key file %s is too large", path);
        return -1;
    } else {
        memcpy(text, file, (size_t)n + 1);
        sodium_memzero(file, sizeof(file));
    }
    bool checked = false, has_audit = false;
    /* The check line covers everything before it; anything after it is damage. */
    char *check = strstr(text, "\ncheck ");
    if (check != NULL) {
        char want[64];
        check_line(text, (size_t)(check + 1 - text), want);
        if (strlen(check + 1) != strlen(want) || sodium_memcmp(check + 1, want, strlen(want)) != 0) {
            snprintf(cause, causelen, "the key file %s is damaged: its check line does not match its keys "
                                      "(restore it from its backup)", path);
            goto out;
        }
        checked = true;
    }
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char word[16], hex[130];
        int a = 0, b = 0;
        if (line_no == 1) {
            if (strcmp(line, "oa-keys 1") != 0)
                goto bad;
            continue;
        }
        if (strncmp(line, "kek-token ", 10) == 0) {
            char extra;
            if (sscanf(line, "kek-token %d %d %c", &a, &b, &extra) != 2 || a < 0 || a >= OA_KEY_LEVELS || b < 1 ||
                b >= OA_KEY_VERSIONS)
                goto bad;
            k->kek_present[a][b] = 1;
            k->kek_token[a][b] = 1;
            if (b > k->kek_version[a])
                k->kek_version[a] = b;
        } else if (sscanf(line, "kek %d %d %79s", &a, &b, hex) == 3) {
            if (a < 0 || a >= OA_KEY_LEVELS || b < 1 || b >= OA_KEY_VERSIONS ||
                parse_hex_key(hex, k->kek[a][b]) != 0)
                goto bad;
            k->kek_present[a][b] = 1;
            if (b > k->kek_version[a])
                k->kek_version[a] = b;
        } else if (sscanf(line, "audit-sign-token %d %129s", &a, hex) == 2 && a == 1) {
            if (unwrap_line(hex, "audit-sign", k->audit_seed, path, cause, causelen) != 0)
                goto out;
            has_audit = true;
        } else if (sscanf(line, "db-key-token %d %129s", &a, hex) == 2 && a == 1) {
            if (unwrap_line(hex, "db-key", k->db_key, path, cause, causelen) != 0)
                goto out;
            k->has_db_key = true;
        } else if (sscanf(line, "audit-sign %d %79s", &a, hex) == 2 && a == 1) {
            if (parse_hex_key(hex, k->audit_seed) != 0)
                goto bad;
            has_audit = true;
        } else if (sscanf(line, "db-key %d %79s", &a, hex) == 2 && a == 1) {
            if (parse_hex_key(hex, k->db_key) != 0)
                goto bad;
            k->has_db_key = true;
        } else if (strcmp(line, "db-suite sm4-gcm") == 0) {
            k->db_suite = OA_DB_SM4_GCM;
        } else if (checked && strncmp(line, "check ", 6) == 0) {
            continue;
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
    if (!has_audit) {
        snprintf(cause, causelen, "the key file %s has no audit signing key", path);
        goto out;
    }
    if (k->db_suite == 0)
        k->db_suite = OA_DB_AES256GCM; /* no db-suite line */
    k->unchecked = !checked;
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

bool oa_keys_beside_data(const char *key_file, const char *data_dir)
{
    struct stat k, d;
    return stat(key_file, &k) == 0 && stat(data_dir, &d) == 0 && k.st_dev == d.st_dev;
}

bool oa_keys_use_token(const struct oa_keys *k)
{
    for (int l = 0; l < OA_KEY_LEVELS; l++)
        for (int v = 1; v < OA_KEY_VERSIONS; v++)
            if (k->kek_present[l][v] && k->kek_token[l][v])
                return true;
    return false;
}

void oa_keys_wipe(struct oa_keys *k)
{
    sodium_memzero(k, sizeof(*k));
}
