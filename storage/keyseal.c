/* storage/keyseal.c: see keyseal.h. */
#include "storage/keyseal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "oa-keys-sealed 1\n"
#define SALT_LEN crypto_pwhash_SALTBYTES
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define KEY_LEN crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
/* What a header may ask of Argon2id: a damaged or hostile file must not make oad allocate without bound. */
#define OPS_MAX 64
#define MEM_MAX ((size_t)4 << 30)

/* The process's passphrase and the key derived from it for one salt and parameters (guarded memory). */
struct seal_state {
    char pw[OA_KEYSEAL_MAX_PASSPHRASE];
    size_t pwlen;
    bool have_key;
    unsigned char salt[SALT_LEN];
    uint64_t opslimit;
    size_t memlimit;
    unsigned char key[KEY_LEN];
};

static pthread_mutex_t seal_lock = PTHREAD_MUTEX_INITIALIZER;
static struct seal_state *seal;

static struct seal_state *state_get(void)
{
    if (seal == NULL) {
        seal = sodium_malloc(sizeof(*seal));
        if (seal != NULL)
            memset(seal, 0, sizeof(*seal));
    }
    return seal;
}

int oa_keyseal_passphrase(const char *pw, size_t len)
{
    if (len == 0 || len > OA_KEYSEAL_MAX_PASSPHRASE)
        return -1;
    pthread_mutex_lock(&seal_lock);
    struct seal_state *s = state_get();
    if (s != NULL) {
        sodium_memzero(s, sizeof(*s));
        memcpy(s->pw, pw, len);
        s->pwlen = len;
    }
    pthread_mutex_unlock(&seal_lock);
    return s ? 0 : -1;
}

void oa_keyseal_forget(void)
{
    pthread_mutex_lock(&seal_lock);
    if (seal != NULL) {
        sodium_free(seal); /* wipes it */
        seal = NULL;
    }
    pthread_mutex_unlock(&seal_lock);
}

/* Derives s->key for this salt and these parameters, unless it is the one held.  Locked.  0 or -1. */
static int derive(struct seal_state *s, const unsigned char salt[SALT_LEN], uint64_t ops, size_t mem)
{
    if (s->have_key && s->opslimit == ops && s->memlimit == mem && sodium_memcmp(s->salt, salt, SALT_LEN) == 0)
        return 0;
    s->have_key = false;
    if (crypto_pwhash(s->key, KEY_LEN, s->pw, s->pwlen, salt, ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return -1;
    memcpy(s->salt, salt, SALT_LEN);
    s->opslimit = ops;
    s->memlimit = mem;
    s->have_key = true;
    return 0;
}

int oa_keyseal_rekey(uint64_t opslimit, size_t memlimit, char *cause, size_t causelen)
{
    int rc = -1;
    if (opslimit < crypto_pwhash_OPSLIMIT_MIN || opslimit > OPS_MAX || memlimit < crypto_pwhash_MEMLIMIT_MIN ||
        memlimit > MEM_MAX) {
        snprintf(cause, causelen, "Argon2id parameters out of range (opslimit 1-%d, memlimit 8 KiB-4 GiB)", OPS_MAX);
        return -1;
    }
    pthread_mutex_lock(&seal_lock);
    struct seal_state *s = state_get();
    unsigned char salt[SALT_LEN];
    randombytes_buf(salt, sizeof(salt));
    if (s == NULL || s->pwlen == 0)
        snprintf(cause, causelen, "no passphrase to seal the key file with");
    else if (derive(s, salt, opslimit, memlimit) != 0)
        snprintf(cause, causelen, "Argon2id failed (out of memory for memlimit %zu MiB?)", memlimit >> 20);
    else
        rc = 0;
    pthread_mutex_unlock(&seal_lock);
    return rc;
}

bool oa_keyseal_is_sealed(const char *text, size_t len)
{
    return len >= sizeof(MAGIC) - 1 && memcmp(text, MAGIC, sizeof(MAGIC) - 1) == 0;
}

int oa_keyseal_file_sealed(const char *path)
{
    char head[sizeof(MAGIC)];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, head, sizeof(head) - 1);
    close(fd);
    if (n < 0)
        return -1;
    return oa_keyseal_is_sealed(head, (size_t)n) ? 1 : 0;
}

/* "check HEX\n" over text[0..len) into out (64 bytes). */
static void check_line(const char *text, size_t len, char out[64])
{
    unsigned char sum[16];
    char hex[33];
    crypto_generichash(sum, sizeof(sum), (const unsigned char *)text, len, NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
    snprintf(out, 64, "check %s\n", hex);
}

static int hex_exact(const char *hex, size_t hexlen, unsigned char *out, size_t outlen)
{
    size_t n = 0;
    return hexlen == outlen * 2 &&
                   sodium_hex2bin(out, outlen, hex, hexlen, NULL, &n, NULL) == 0 && n == outlen
               ? 0
               : -1;
}

int oa__keyseal_open(const char *text, size_t len, char *plain, size_t cap, size_t *plainlen, char *cause,
                     size_t causelen)
{
    /* The check line first: damage is told apart from a wrong passphrase. */
    const char *check = NULL;
    for (size_t i = len; i-- > 1;)
        if (text[i - 1] == '\n' && len - i >= 6 && memcmp(text + i, "check ", 6) == 0) {
            check = text + i;
            break;
        }
    char want[64];
    if (!oa_keyseal_is_sealed(text, len) || check == NULL) {
        snprintf(cause, causelen, "the sealed key file is damaged (no check line): restore it from its backup");
        return -1;
    }
    check_line(text, (size_t)(check - text), want);
    if ((size_t)(text + len - check) != strlen(want) || sodium_memcmp(check, want, strlen(want)) != 0) {
        snprintf(cause, causelen, "the sealed key file is damaged: its check line does not match (restore it from "
                                  "its backup)");
        return -1;
    }
    /* The header: kdf and nonce lines, exactly. */
    const char *p = text + sizeof(MAGIC) - 1;
    char salthex[2 * SALT_LEN + 2], noncehex[2 * NONCE_LEN + 2];
    uint64_t ops = 0;
    unsigned long long mem = 0;
    int used = 0;
    if (sscanf(p, "kdf argon2id13 %" SCNu64 " %llu %33s\n%n", &ops, &mem, salthex, &used) != 3 || used == 0)
        goto bad;
    p += used;
    used = 0;
    if (sscanf(p, "nonce %49s\n%n", noncehex, &used) != 1 || used == 0)
        goto bad;
    p += used;
    size_t adlen = (size_t)(p - text);
    unsigned char salt[SALT_LEN], nonce[NONCE_LEN];
    if (hex_exact(salthex, strlen(salthex), salt, SALT_LEN) != 0 ||
        hex_exact(noncehex, strlen(noncehex), nonce, NONCE_LEN) != 0 || ops < crypto_pwhash_OPSLIMIT_MIN ||
        ops > OPS_MAX || mem < crypto_pwhash_MEMLIMIT_MIN || mem > MEM_MAX || strncmp(p, "sealed ", 7) != 0)
        goto bad;
    p += 7;
    const char *end = memchr(p, '\n', (size_t)(check - p));
    if (end == NULL || end + 1 != check)
        goto bad;
    size_t b64len = (size_t)(end - p), ctlen = 0;
    unsigned char *ct = malloc(b64len + 1);
    if (ct == NULL) {
        snprintf(cause, causelen, "out of memory");
        return -1;
    }
    if (sodium_base642bin(ct, b64len, p, b64len, NULL, &ctlen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        ctlen < TAG_LEN || ctlen - TAG_LEN >= cap) {
        free(ct);
        goto bad;
    }
    int rc = -1;
    pthread_mutex_lock(&seal_lock);
    struct seal_state *s = state_get();
    unsigned long long n = 0;
    if (s == NULL || s->pwlen == 0) {
        snprintf(cause, causelen, "the key file is sealed with a passphrase: give it (typed at the terminal, "
                                  "--passphrase-file FILE, or the systemd credential oad-passphrase)");
    } else if (derive(s, salt, ops, (size_t)mem) != 0) {
        snprintf(cause, causelen, "Argon2id failed (out of memory for the file's memlimit of %llu MiB?)", mem >> 20);
    } else if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)plain, &n, NULL, ct, ctlen,
                                                          (const unsigned char *)text, adlen, nonce, s->key) != 0) {
        snprintf(cause, causelen, "the passphrase does not open the sealed key file");
        rc = OA_KEYS_WRONG_PASSPHRASE;
    } else {
        plain[n] = '\0';
        *plainlen = (size_t)n;
        rc = 0;
    }
    pthread_mutex_unlock(&seal_lock);
    free(ct);
    return rc;
bad:
    snprintf(cause, causelen, "the sealed key file is damaged: its header is malformed (restore it from its backup)");
    return -1;
}

int oa__keyseal_close(const char *plain, size_t len, char *out, size_t cap, size_t *outlen, char *cause,
                      size_t causelen)
{
    int rc = -1;
    unsigned char *ct = malloc(len + TAG_LEN);
    if (ct == NULL) {
        snprintf(cause, causelen, "out of memory");
        return -1;
    }
    pthread_mutex_lock(&seal_lock);
    struct seal_state *s = state_get();
    if (s == NULL || !s->have_key) {
        snprintf(cause, causelen, "no passphrase key to seal the key file with");
        goto out;
    }
    unsigned char nonce[NONCE_LEN];
    char salthex[2 * SALT_LEN + 1], noncehex[2 * NONCE_LEN + 1];
    randombytes_buf(nonce, sizeof(nonce));
    sodium_bin2hex(salthex, sizeof(salthex), s->salt, SALT_LEN);
    sodium_bin2hex(noncehex, sizeof(noncehex), nonce, NONCE_LEN);
    int adlen = snprintf(out, cap, MAGIC "kdf argon2id13 %" PRIu64 " %zu %s\nnonce %s\n", s->opslimit, s->memlimit,
                         salthex, noncehex);
    unsigned long long ctlen = 0;
    size_t b64 = sodium_base64_ENCODED_LEN(len + TAG_LEN, sodium_base64_VARIANT_ORIGINAL);
    if (adlen < 0 || (size_t)adlen + 7 + b64 + 1 + 64 > cap) {
        snprintf(cause, causelen, "the key file is too large to seal");
        goto out;
    }
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ctlen, (const unsigned char *)plain, len,
                                               (const unsigned char *)out, (size_t)adlen, NULL, nonce, s->key);
    size_t off = (size_t)adlen;
    memcpy(out + off, "sealed ", 7);
    off += 7;
    sodium_bin2base64(out + off, cap - off, ct, (size_t)ctlen, sodium_base64_VARIANT_ORIGINAL);
    off += strlen(out + off);
    out[off++] = '\n';
    char check[64];
    check_line(out, off, check);
    snprintf(out + off, cap - off, "%s", check);
    *outlen = off + strlen(check);
    rc = 0;
out:
    pthread_mutex_unlock(&seal_lock);
    free(ct);
    return rc;
}
