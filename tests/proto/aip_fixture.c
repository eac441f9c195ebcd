/* tests/proto/aip_fixture.c: see aip_fixture.h. */
#include "tests/proto/aip_fixture.h"

#include <cbor.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/merkle.h"

#define PER 2 /* audit entries per record */

static unsigned char *entry(int64_t id, int64_t doc, size_t *len)
{
    cbor_item_t *m = cbor_new_definite_map(3);
    struct cbor_pair a = {cbor_move(cbor_build_uint8(1)), cbor_move(cbor_build_uint64((uint64_t)id))};
    struct cbor_pair b = {cbor_move(cbor_build_uint8(6)), cbor_move(cbor_build_string("doc.action"))};
    struct cbor_pair c = {cbor_move(cbor_build_uint8(8)), cbor_move(cbor_build_uint64((uint64_t)doc))};
    cbor_map_add(m, a);
    cbor_map_add(m, b);
    cbor_map_add(m, c);
    unsigned char *buf = NULL;
    size_t cap = 0;
    *len = cbor_serialize_alloc(m, &buf, &cap);
    cbor_decref(&m);
    return buf;
}

int aip_fixture_write(int fd, size_t n, size_t file_bytes, const unsigned char seed[32], char *vkey, size_t vcap,
                      aip_fixture_mutate mutate)
{
    unsigned char pk[32], sk[64];
    crypto_sign_seed_keypair(pk, sk, seed);
    const char *origin = "oa.audit/00112233aabbccdd";
    /* The log: one unrelated entry, then each record's entries. */
    uint64_t size = 1 + n * PER;
    unsigned char **ent = oa_xcalloc(size, sizeof(*ent));
    size_t *elen = oa_xcalloc(size, sizeof(*elen));
    oa_hash *leaves = oa_xcalloc(size, sizeof(*leaves));
    for (uint64_t i = 0; i < size; i++) {
        ent[i] = entry((int64_t)i + 1, i == 0 ? 9999 : 100 + (int64_t)((i - 1) / PER), &elen[i]);
        oa_merkle_leaf(ent[i], elen[i], leaves[i]);
    }
    oa_hash root;
    struct oa_merkle_tree tree;
    oa_merkle_tree_build(&tree, leaves, size);
    oa_merkle_tree_root(&tree, root);
    /* The signed note. */
    char b64[128], note[512];
    sodium_bin2base64(b64, sizeof b64, root, OA_HASH, sodium_base64_VARIANT_ORIGINAL);
    int tl = snprintf(note, sizeof note, "%s\n%llu\n%s\ntime 1700000000\n", origin, (unsigned long long)size, b64);
    unsigned char id[32], blob[68], kb[33];
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const unsigned char *)origin, strlen(origin));
    crypto_hash_sha256_update(&h, (const unsigned char *)"\n\x01", 2);
    crypto_hash_sha256_update(&h, pk, 32);
    crypto_hash_sha256_final(&h, id);
    memcpy(blob, id, 4);
    crypto_sign_detached(blob + 4, NULL, (const unsigned char *)note, (size_t)tl, sk);
    sodium_bin2base64(b64, sizeof b64, blob, sizeof blob, sodium_base64_VARIANT_ORIGINAL);
    snprintf(note + tl, sizeof note - (size_t)tl, "\n\xe2\x80\x94 %s %s\n", origin, b64);
    char idhex[9];
    sodium_bin2hex(idhex, sizeof idhex, id, 4);
    kb[0] = 0x01;
    memcpy(kb + 1, pk, 32);
    sodium_bin2base64(b64, sizeof b64, kb, sizeof kb, sodium_base64_VARIANT_ORIGINAL);
    snprintf(vkey, vcap, "%s+%s+%s", origin, idhex, b64);

    /* The records. */
    unsigned char *big = oa_xmalloc(file_bytes + 1);
    for (size_t i = 0; i < file_bytes; i++)
        big[i] = (unsigned char)("%PDF-1.4 sample text "[i % 21]);
    if (file_bytes >= 32)
        memcpy(big + file_bytes - 7, "\n%%EOF\n", 7);
    static const unsigned char small[] = "附件：说明\n";
    struct aip_record *recs = oa_xcalloc(n ? n : 1, sizeof(*recs));
    struct aip_file *files = oa_xcalloc(n * 2 + 1, sizeof(*files));
    static const struct aip_step steps[] = {
        {"起草", "张三", "2026-03-01T09:00:00+08:00", ""},
        {"审核", "李四", "2026-03-01T10:00:00+08:00", "同意"},
        {"签发", "王五", "2026-03-02T09:00:00+08:00", "同意印发"},
    };
    struct aip_proof *proofs = oa_xcalloc(n * PER + 1, sizeof(*proofs));
    oa_hash *paths = oa_xcalloc((n * PER + 1) * OA_PROOF_MAX, sizeof(oa_hash));
    char (*codes)[64] = oa_xcalloc(n + 1, 64);
    char (*pieces)[8] = oa_xcalloc(n + 1, 8);
    char (*numbers)[64] = oa_xcalloc(n + 1, 64);
    for (size_t i = 0; i < n; i++) {
        struct aip_record *r = &recs[i];
        snprintf(codes[i], 64, "Z109-WS·2026-Y-BGS-%04zu", i + 1);
        snprintf(pieces[i], 8, "%04zu", i + 1);
        snprintf(numbers[i], 64, "某府办发〔2026〕%zu号", i + 1);
        r->doc_id = 100 + (int64_t)i;
        r->piece = pieces[i];
        r->meta[AIP_M_ARCHIVAL_CODE] = codes[i];
        r->meta[AIP_M_TITLE] = "关于印发某某办法的通知";
        r->meta[AIP_M_DOC_NUMBER] = numbers[i];
        r->meta[AIP_M_AUTHOR] = "某市人民政府办公室";
        r->meta[AIP_M_DATE] = "20260302";
        r->meta[AIP_M_CLASS] = "BGS";
        r->meta[AIP_M_RETENTION] = "Y";
        r->meta[AIP_M_SECRECY] = "内部";
        files[2 * i] = (struct aip_file){"正文.pdf", "application/pdf", "oa", big, file_bytes};
        files[2 * i + 1] = (struct aip_file){"附件 1/说明.txt", "text/plain", "oa", small, sizeof small - 1};
        r->files = &files[2 * i];
        r->nfiles = 2;
        r->steps = steps;
        r->nsteps = 3;
        r->proofs = &proofs[i * PER];
        r->nproofs = PER;
        for (size_t k = 0; k < PER; k++) {
            uint64_t li = 1 + i * PER + k;
            struct aip_proof *p = &proofs[i * PER + k];
            oa_hash *path = &paths[(i * PER + k) * OA_PROOF_MAX];
            p->entry = ent[li];
            p->entry_len = elen[li];
            p->index = li;
            p->path = path;
            p->npath = oa_merkle_tree_path(&tree, li, path);
        }
        if (mutate)
            mutate(r, i);
    }
    struct aip_package_in in = {
        .name = "aip-test",
        .organization = "某市人民政府办公室",
        .bagging_date = "2026-12-03",
        .records = recs,
        .nrecords = n,
        .tree_size = size,
        .checkpoint = note,
        .log_vkey = vkey,
        .transfer_list = n > 1 ? "{\"batch\":\"T-2026-1\"}" : NULL,
    };
    char why[256];
    int rc = aip_write(fd, &in, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "aip_write: %s\n", why);
    for (uint64_t i = 0; i < size; i++)
        free(ent[i]);
    free(ent);
    free(elen);
    oa_merkle_tree_free(&tree);
    free(leaves);
    free(big);
    free(recs);
    free(files);
    free(proofs);
    free(paths);
    free(codes);
    free(pieces);
    free(numbers);
    return rc;
}
