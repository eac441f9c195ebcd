/*
 * tests/storage/merkle_test.c: RFC 9162 trees, proofs and verification,
 * checked against an independent verifier written here from the RFC's text
 * (it shares no code with storage/merkle.c).
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "storage/merkle.h"

/* ---- the independent verifier ---- */

static void h_node(const uint8_t *l, const uint8_t *r, uint8_t *out)
{
    crypto_hash_sha256_state st;
    uint8_t one = 1;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &one, 1);
    crypto_hash_sha256_update(&st, l, 32);
    crypto_hash_sha256_update(&st, r, 32);
    crypto_hash_sha256_final(&st, out);
}

/* Recomputes the root from a leaf and its audit path (RFC 9162 2.1.3.2). */
static bool indep_inclusion(const uint8_t *leaf, uint64_t idx, uint64_t size, oa_hash *path, size_t n,
                            const uint8_t *root)
{
    if (idx >= size)
        return false;
    uint64_t f = idx, l = size - 1;
    uint8_t cur[32];
    memcpy(cur, leaf, 32);
    for (size_t i = 0; i < n; i++) {
        if (l == 0)
            return false;
        if (f % 2 == 1 || f == l) {
            h_node(path[i], cur, cur);
            while (f % 2 == 0 && f != 0) {
                f /= 2;
                l /= 2;
            }
        } else {
            h_node(cur, path[i], cur);
        }
        f /= 2;
        l /= 2;
    }
    return l == 0 && memcmp(cur, root, 32) == 0;
}

/* RFC 9162 2.1.4.2. */
static bool indep_consistency(uint64_t a, uint64_t b, const uint8_t *ra, const uint8_t *rb, oa_hash *path, size_t n)
{
    oa_hash p[OA_PROOF_MAX + 1];
    size_t m = 0;
    if (n == 0)
        return a == b && memcmp(ra, rb, 32) == 0;
    if ((a & (a - 1)) == 0)
        memcpy(p[m++], ra, 32);
    for (size_t i = 0; i < n; i++)
        memcpy(p[m++], path[i], 32);
    uint64_t f = a - 1, s = b - 1;
    while (f % 2 == 1) {
        f /= 2;
        s /= 2;
    }
    uint8_t fr[32], sr[32];
    memcpy(fr, p[0], 32);
    memcpy(sr, p[0], 32);
    for (size_t i = 1; i < m; i++) {
        if (s == 0)
            return false;
        if (f % 2 == 1 || f == s) {
            h_node(p[i], fr, fr);
            h_node(p[i], sr, sr);
            while (f % 2 == 0 && f != 0) {
                f /= 2;
                s /= 2;
            }
        } else {
            h_node(sr, p[i], sr);
        }
        f /= 2;
        s /= 2;
    }
    return s == 0 && memcmp(fr, ra, 32) == 0 && memcmp(sr, rb, 32) == 0;
}

/* ---- tests ---- */

static oa_hash leaves[70];

static void make_leaves(void)
{
    cr_assert(sodium_init() >= 0);
    for (int i = 0; i < 70; i++) {
        char d[16];
        snprintf(d, sizeof(d), "entry %d", i);
        oa_merkle_leaf(d, strlen(d), leaves[i]);
    }
}

TestSuite(merkle, .init = make_leaves);

Test(merkle, empty_and_single_trees)
{
    oa_hash r, empty;
    oa_merkle_root(leaves, 0, r);
    crypto_hash_sha256(empty, NULL, 0);
    cr_assert(memcmp(r, empty, 32) == 0);
    oa_merkle_root(leaves, 1, r);
    cr_assert(memcmp(r, leaves[0], 32) == 0);
    /* Two leaves: H(0x01 || l0 || l1). */
    oa_hash want;
    h_node(leaves[0], leaves[1], want);
    oa_merkle_root(leaves, 2, r);
    cr_assert(memcmp(r, want, 32) == 0);
    /* The leaf hash carries the 0x00 prefix. */
    uint8_t buf[8] = {0, 'e', 'n', 't', 'r', 'y', ' ', '0'};
    crypto_hash_sha256(want, buf, sizeof(buf));
    cr_assert(memcmp(leaves[0], want, 32) == 0);
}

Test(merkle, the_compact_range_matches_the_recursive_root)
{
    struct oa_merkle_acc acc;
    oa_merkle_acc_init(&acc);
    for (uint64_t n = 1; n <= 70; n++) {
        oa_merkle_acc_push(&acc, leaves[n - 1]);
        oa_hash a, b;
        oa_merkle_acc_root(&acc, a);
        oa_merkle_root(leaves, n, b);
        cr_assert(memcmp(a, b, 32) == 0, "size %llu", (unsigned long long)n);
    }
}

Test(merkle, every_inclusion_proof_verifies_both_ways_and_a_wrong_one_fails)
{
    for (uint64_t n = 1; n <= 40; n++) {
        oa_hash root;
        oa_merkle_root(leaves, n, root);
        for (uint64_t m = 0; m < n; m++) {
            oa_hash path[OA_PROOF_MAX];
            size_t c = oa_merkle_inclusion(leaves, n, m, path);
            cr_assert(oa_merkle_verify_inclusion(leaves[m], m, n, path, c, root), "n=%llu m=%llu",
                      (unsigned long long)n, (unsigned long long)m);
            cr_assert(indep_inclusion(leaves[m], m, n, path, c, root), "independent n=%llu m=%llu",
                      (unsigned long long)n, (unsigned long long)m);
            cr_assert(!oa_merkle_verify_inclusion(leaves[(m + 1) % 70], m, n, path, c, root) || n == 1);
            if (c > 0) {
                path[0][0] ^= 1;
                cr_assert(!indep_inclusion(leaves[m], m, n, path, c, root));
            }
        }
    }
}

Test(merkle, every_consistency_proof_verifies_both_ways_and_a_rewrite_fails)
{
    for (uint64_t n = 1; n <= 40; n++) {
        oa_hash rn;
        oa_merkle_root(leaves, n, rn);
        for (uint64_t m = 1; m <= n; m++) {
            oa_hash rm, path[OA_PROOF_MAX];
            oa_merkle_root(leaves, m, rm);
            size_t c = oa_merkle_consistency(leaves, n, m, path);
            cr_assert(oa_merkle_verify_consistency(m, n, rm, rn, path, c), "m=%llu n=%llu",
                      (unsigned long long)m, (unsigned long long)n);
            cr_assert(indep_consistency(m, n, rm, rn, path, c), "independent m=%llu n=%llu",
                      (unsigned long long)m, (unsigned long long)n);
            if (m < n) {
                /* A log that rewrote its history cannot prove consistency. */
                oa_hash forged;
                memcpy(forged, rm, 32);
                forged[5] ^= 0x40;
                cr_assert(!oa_merkle_verify_consistency(m, n, forged, rn, path, c));
                cr_assert(!indep_consistency(m, n, forged, rn, path, c));
            }
        }
    }
}

Test(merkle, the_level_tree_gives_the_same_root_and_paths_as_the_recursion)
{
    for (uint64_t n = 0; n <= 70; n++) {
        struct oa_merkle_tree t;
        oa_merkle_tree_build(&t, leaves, n);
        oa_hash a, b;
        oa_merkle_root(leaves, n, a);
        oa_merkle_tree_root(&t, b);
        cr_assert_eq(memcmp(a, b, OA_HASH), 0, "root n=%llu", (unsigned long long)n);
        for (uint64_t m = 0; m < n; m++) {
            oa_hash p1[OA_PROOF_MAX], p2[OA_PROOF_MAX];
            size_t c1 = oa_merkle_inclusion(leaves, n, m, p1);
            size_t c2 = oa_merkle_tree_path(&t, m, p2);
            cr_assert_eq(c1, c2, "n=%llu m=%llu", (unsigned long long)n, (unsigned long long)m);
            cr_assert_eq(memcmp(p1, p2, c1 * OA_HASH), 0, "n=%llu m=%llu", (unsigned long long)n,
                         (unsigned long long)m);
        }
        cr_assert_eq(oa_merkle_tree_path(&t, n, NULL), 0);
        oa_merkle_tree_free(&t);
    }
}
