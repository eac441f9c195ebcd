/* tests/server/totp_test.c: RFC 6238 vectors, verification rules, secret wrapping. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "app/totp.h"

static const unsigned char rfc_secret[] = "12345678901234567890";

Test(totp, rfc6238_sha1_vectors)
{
    /* RFC 6238 appendix B, SHA-1, truncated to 6 digits. */
    struct { uint64_t t; uint32_t code; } v[] = {
        {59, 287082}, {1111111109, 81804}, {1111111111, 50471}, {1234567890, 5924}, {2000000000, 279037},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        cr_assert_eq(oa_totp_code(rfc_secret, 20, v[i].t / 30), v[i].code, "t=%llu", (unsigned long long)v[i].t);
}

Test(totp, verify_accepts_one_step_either_side_and_never_a_replay)
{
    int64_t now = 1234567890, step = 0;
    char code[7];
    snprintf(code, sizeof(code), "%06u", oa_totp_code(rfc_secret, 20, (uint64_t)(now / 30 + 1)));
    cr_assert(oa_totp_verify(rfc_secret, 20, code, now, 0, &step));
    cr_assert_eq(step, now / 30 + 1);
    cr_assert(!oa_totp_verify(rfc_secret, 20, code, now, step, &step), "replay accepted");
    snprintf(code, sizeof(code), "%06u", oa_totp_code(rfc_secret, 20, (uint64_t)(now / 30 + 2)));
    cr_assert(!oa_totp_verify(rfc_secret, 20, code, now, 0, &step), "two steps ahead accepted");
    cr_assert(!oa_totp_verify(rfc_secret, 20, "12345", now, 0, &step));
    cr_assert(!oa_totp_verify(rfc_secret, 20, "12a456", now, 0, &step));
}

Test(totp, base32_matches_rfc4648)
{
    char out[64];
    oa_base32((const unsigned char *)"foobar", 6, out, sizeof(out));
    cr_assert_str_eq(out, "MZXW6YTBOI");
    oa_base32((const unsigned char *)"f", 1, out, sizeof(out));
    cr_assert_str_eq(out, "MY");
}

Test(totp, wrapped_secrets_open_only_with_their_key)
{
    cr_assert(sodium_init() >= 0);
    struct oa_keys k;
    memset(&k, 0, sizeof(k));
    k.kek_version[OA_KEY_LEVELS - 1] = 1;
    k.kek_present[OA_KEY_LEVELS - 1][1] = 1;
    randombytes_buf(k.kek[OA_KEY_LEVELS - 1][1], OA_KEY_LEN);
    unsigned char secret[OA_TOTP_SECRET], back[OA_TOTP_SECRET], wrapped[96];
    size_t n = 0;
    randombytes_buf(secret, sizeof(secret));
    cr_assert_eq(oa_totp_wrap(&k, secret, wrapped, sizeof(wrapped), &n), 0);
    cr_assert(memmem(wrapped, n, secret, sizeof(secret)) == NULL, "secret stored in clear");
    cr_assert_eq(oa_totp_unwrap(&k, wrapped, n, back), 0);
    cr_assert(memcmp(secret, back, sizeof(secret)) == 0);
    wrapped[n - 1] ^= 1;
    cr_assert_eq(oa_totp_unwrap(&k, wrapped, n, back), -1, "tampered secret accepted");
    wrapped[n - 1] ^= 1;
    randombytes_buf(k.kek[OA_KEY_LEVELS - 1][1], OA_KEY_LEN);
    cr_assert_eq(oa_totp_unwrap(&k, wrapped, n, back), -1, "opened with another key");
}
