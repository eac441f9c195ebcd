/* storage/merkle.h: the Merkle tree code moved to proto/ (pure, shared with the offline package verifier). */
#ifndef OA_STORAGE_MERKLE_H
#define OA_STORAGE_MERKLE_H
#include "proto/merkle.h"
#endif
