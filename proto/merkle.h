/*
 * proto/merkle.h: Merkle trees as in RFC 9162 (Certificate Transparency
 * 2.0) section 2.1: SHA-256, leaves hashed with a 0x00 prefix, interior
 * nodes with 0x01; the tree hash, inclusion proofs and consistency proofs,
 * and their verification.
 */
#ifndef OA_PROTO_MERKLE_H
#define OA_PROTO_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OA_HASH 32
#define OA_PROOF_MAX 64

typedef uint8_t oa_hash[OA_HASH];

void oa_merkle_leaf(const void *data, size_t len, oa_hash out);
void oa_merkle_node(const oa_hash left, const oa_hash right, oa_hash out);

/* MTH(D[n]) over leaf hashes. */
void oa_merkle_root(const oa_hash *leaves, uint64_t n, oa_hash out);

/* PATH(m, D[n]); returns the number of hashes written to path. */
size_t oa_merkle_inclusion(const oa_hash *leaves, uint64_t n, uint64_t m, oa_hash *path);
/* PROOF(m, D[n]) for 0 < m <= n; returns the number of hashes written. */
size_t oa_merkle_consistency(const oa_hash *leaves, uint64_t n, uint64_t m, oa_hash *path);

bool oa_merkle_verify_inclusion(const oa_hash leaf, uint64_t index, uint64_t size, const oa_hash *path,
                                size_t count, const oa_hash root);
bool oa_merkle_verify_consistency(uint64_t size1, uint64_t size2, const oa_hash root1, const oa_hash root2,
                                  const oa_hash *path, size_t count);

/*
 * The whole tree kept level by level (an unpaired last node is carried up
 * unchanged, which gives RFC 9162's hashes), so that many inclusion proofs
 * in one tree cost O(log n) each after one O(n) build: a batch's package
 * proves thousands of entries.  build copies nothing of leaves but reads
 * them; levels above 0 are malloc'd and freed by oa_merkle_tree_free.
 */
struct oa_merkle_tree {
    const oa_hash *leaves;
    oa_hash *level[64]; /* level[0] unused: the leaves */
    uint64_t len[64];
    int depth; /* number of levels, leaves included */
};
void oa_merkle_tree_build(struct oa_merkle_tree *t, const oa_hash *leaves, uint64_t n);
/* PATH(m, D[n]) as oa_merkle_inclusion gives it; returns the number of hashes written. */
size_t oa_merkle_tree_path(const struct oa_merkle_tree *t, uint64_t m, oa_hash *path);
void oa_merkle_tree_root(const struct oa_merkle_tree *t, oa_hash out);
void oa_merkle_tree_free(struct oa_merkle_tree *t);

/* The tree grown one leaf at a time in O(log n) memory (a compact range). */
struct oa_merkle_acc {
    oa_hash node[64];
    uint8_t height[64];
    int depth;
    uint64_t size;
};

void oa_merkle_acc_init(struct oa_merkle_acc *a);
void oa_merkle_acc_push(struct oa_merkle_acc *a, const oa_hash leaf);
void oa_merkle_acc_root(const struct oa_merkle_acc *a, oa_hash out);

#endif
