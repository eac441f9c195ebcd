/* proto/merkle.c: see merkle.h.  The algorithms follow RFC 9162 2.1. */
#include "proto/merkle.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"

void oa_merkle_leaf(const void *data, size_t len, oa_hash out)
{
    crypto_hash_sha256_state st;
    const uint8_t prefix = 0x00;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    crypto_hash_sha256_update(&st, data, len);
    crypto_hash_sha256_final(&st, out);
}

void oa_merkle_node(const oa_hash left, const oa_hash right, oa_hash out)
{
    uint8_t buf[1 + 2 * OA_HASH];
    buf[0] = 0x01;
    memcpy(buf + 1, left, OA_HASH);
    memcpy(buf + 1 + OA_HASH, right, OA_HASH);
    crypto_hash_sha256(out, buf, sizeof(buf));
}

/* The largest power of two smaller than n (n > 1). */
static uint64_t split(uint64_t n)
{
    uint64_t k = 1;
    while (k << 1 < n)
        k <<= 1;
    return k;
}

void oa_merkle_root(const oa_hash *leaves, uint64_t n, oa_hash out)
{
    if (n == 0) {
        crypto_hash_sha256(out, NULL, 0);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[0], OA_HASH);
        return;
    }
    uint64_t k = split(n);
    oa_hash l, r;
    oa_merkle_root(leaves, k, l);
    oa_merkle_root(leaves + k, n - k, r);
    oa_merkle_node(l, r, out);
}

size_t oa_merkle_inclusion(const oa_hash *leaves, uint64_t n, uint64_t m, oa_hash *path)
{
    if (n <= 1 || m >= n)
        return 0;
    uint64_t k = split(n);
    size_t c;
    if (m < k) {
        c = oa_merkle_inclusion(leaves, k, m, path);
        oa_merkle_root(leaves + k, n - k, path[c]);
    } else {
        c = oa_merkle_inclusion(leaves + k, n - k, m - k, path);
        oa_merkle_root(leaves, k, path[c]);
    }
    return c + 1;
}

static size_t subproof(const oa_hash *leaves, uint64_t n, uint64_t m, bool b, oa_hash *path)
{
    if (m == n) {
        if (b)
            return 0;
        oa_merkle_root(leaves, n, path[0]);
        return 1;
    }
    uint64_t k = split(n);
    size_t c;
    if (m <= k) {
        c = subproof(leaves, k, m, b, path);
        oa_merkle_root(leaves + k, n - k, path[c]);
    } else {
        c = subproof(leaves + k, n - k, m - k, false, path);
        oa_merkle_root(leaves, k, path[c]);
    }
    return c + 1;
}

size_t oa_merkle_consistency(const oa_hash *leaves, uint64_t n, uint64_t m, oa_hash *path)
{
    if (m == 0 || m > n)
        return 0;
    return subproof(leaves, n, m, true, path);
}

void oa_merkle_tree_build(struct oa_merkle_tree *t, const oa_hash *leaves, uint64_t n)
{
    memset(t, 0, sizeof(*t));
    t->leaves = leaves;
    t->len[0] = n;
    t->depth = 1;
    while (t->len[t->depth - 1] > 1) {
        int d = t->depth;
        const oa_hash *below = d == 1 ? leaves : t->level[d - 1];
        uint64_t nb = t->len[d - 1], na = (nb + 1) / 2;
        t->level[d] = oa_xmalloc(na * sizeof(oa_hash));
        for (uint64_t i = 0; i + 1 < nb; i += 2)
            oa_merkle_node(below[i], below[i + 1], t->level[d][i / 2]);
        if (nb & 1)
            memcpy(t->level[d][na - 1], below[nb - 1], OA_HASH);
        t->len[d] = na;
        t->depth++;
    }
}

size_t oa_merkle_tree_path(const struct oa_merkle_tree *t, uint64_t m, oa_hash *path)
{
    if (m >= t->len[0])
        return 0;
    size_t c = 0;
    for (int d = 0; d + 1 < t->depth; d++, m >>= 1) {
        const oa_hash *lv = d == 0 ? t->leaves : t->level[d];
        uint64_t sib = m ^ 1;
        if (sib < t->len[d])
            memcpy(path[c++], lv[sib], OA_HASH);
    }
    return c;
}

void oa_merkle_tree_root(const struct oa_merkle_tree *t, oa_hash out)
{
    if (t->len[0] == 0)
        crypto_hash_sha256(out, NULL, 0);
    else
        memcpy(out, t->depth == 1 ? t->leaves[0] : t->level[t->depth - 1][0], OA_HASH);
}

void oa_merkle_tree_free(struct oa_merkle_tree *t)
{
    for (int d = 1; d < t->depth; d++)
        free(t->level[d]);
    memset(t, 0, sizeof(*t));
}

/* RFC 9162 2.1.3.2. */
bool oa_merkle_verify_inclusion(const oa_hash leaf, uint64_t index, uint64_t size, const oa_hash *path,
                                size_t count, const oa_hash root)
{
    if (index >= size)
        return false;
    uint64_t fn = index, sn = size - 1;
    oa_hash r;
    memcpy(r, leaf, OA_HASH);
    for (size_t i = 0; i < count; i++) {
        if (sn == 0)
            return false;
        if ((fn & 1) || fn == sn) {
            oa_merkle_node(path[i], r, r);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            oa_merkle_node(r, path[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && sodium_memcmp(r, root, OA_HASH) == 0;
}

/* RFC 9162 2.1.4.2. */
bool oa_merkle_verify_consistency(uint64_t size1, uint64_t size2, const oa_hash root1, const oa_hash root2,
                                  const oa_hash *path, size_t count)
{
    if (size1 == 0 || size1 > size2)
        return false;
    if (size1 == size2)
        return count == 0 && sodium_memcmp(root1, root2, OA_HASH) == 0;
    oa_hash first;
    const oa_hash *p = path;
    size_t n = count;
    /* If size1 is a power of two, prepend root1. */
    bool pow2 = (size1 & (size1 - 1)) == 0;
    if (pow2) {
        memcpy(first, root1, OA_HASH);
    } else {
        if (n == 0)
            return false;
        memcpy(first, p[0], OA_HASH);
        p++;
        n--;
    }
    uint64_t fn = size1 - 1, sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    oa_hash fr, sr;
    memcpy(fr, first, OA_HASH);
    memcpy(sr, first, OA_HASH);
    for (size_t i = 0; i < n; i++) {
        if (sn == 0)
            return false;
        if ((fn & 1) || fn == sn) {
            oa_merkle_node(p[i], fr, fr);
            oa_merkle_node(p[i], sr, sr);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            oa_merkle_node(sr, p[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && sodium_memcmp(fr, root1, OA_HASH) == 0 && sodium_memcmp(sr, root2, OA_HASH) == 0;
}

void oa_merkle_acc_init(struct oa_merkle_acc *a)
{
    memset(a, 0, sizeof(*a));
}

void oa_merkle_acc_push(struct oa_merkle_acc *a, const oa_hash leaf)
{
    memcpy(a->node[a->depth], leaf, OA_HASH);
    a->height[a->depth] = 0;
    a->depth++;
    while (a->depth >= 2 && a->height[a->depth - 1] == a->height[a->depth - 2]) {
        oa_merkle_node(a->node[a->depth - 2], a->node[a->depth - 1], a->node[a->depth - 2]);
        a->height[a->depth - 2]++;
        a->depth--;
    }
    a->size++;
}

void oa_merkle_acc_root(const struct oa_merkle_acc *a, oa_hash out)
{
    if (a->depth == 0) {
        crypto_hash_sha256(out, NULL, 0);
        return;
    }
    oa_hash r;
    memcpy(r, a->node[a->depth - 1], OA_HASH);
    for (int i = a->depth - 2; i >= 0; i--)
        oa_merkle_node(a->node[i], r, r);
    memcpy(out, r, OA_HASH);
}
