/*
 * tests/fuzz/fuzz_bundle.c: libFuzzer target for the exchange bundle reader
 * (proto/bundle.c) with libarchive under it: the bytes as a whole bundle
 * (tar or tar.gz, trusting the key the committed corpus is signed with,
 * libsodium's seed 01 01 … 01 for sender "portal", so mutations of the files
 * part get past the signature), and the bytes as a manifest alone, so the
 * schema checks are reached without a signature.
 */
#include <locale.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proto/bundle.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bundle_key key = {.sender = "portal"};
static int memfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    setlocale(LC_CTYPE, "C.UTF-8");
    if (sodium_init() < 0)
        return -1;
    unsigned char seed[32], sk[64];
    memset(seed, 1, sizeof seed);
    crypto_sign_seed_keypair(key.pk, sk, seed);
    memfd = memfd_create("bundle", 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bundle_limits lim;
    bundle_limits_default(&lim);
    lim.max_total_bytes = 4u << 20;
    if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size || lseek(memfd, 0, SEEK_SET) != 0)
        return 0;
    struct bundle b;
    char why[512];
    enum bundle_reason r = bundle_read(memfd, -1, &lim, &key, 1, &b, why, sizeof why);
    if (r == BUNDLE_R_OK) {
        if (strlen(b.id) != 64 || b.seq < 1)
            __builtin_trap();
        bundle_free(&b);
    } else if (r >= BUNDLE_R__COUNT || !why[0]) {
        __builtin_trap(); /* every refusal names its reason */
    }
    memset(&b, 0, sizeof b);
    if (bundle_manifest_parse(data, size, &b, why, sizeof why) == BUNDLE_R_OK)
        bundle_free(&b);
    return 0;
}
