/*
 * tests/fuzz/fuzz_aip.c: libFuzzer target for the archival package reader
 * (proto/aip.c) and the offline verifier behind it (proto/aip_verify.c):
 * the bytes as a package, read under small limits and, when read, verified
 * with the key it carries (so mutations of the payload reach the manifest,
 * metadata, proof and signed-note parsers).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "proto/aip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aip_limits lim = {.max_entries = 256, .max_entry_bytes = 1 << 20, .max_total_bytes = 4 << 20};
    struct aip_pkg p = {0};
    char why[256];
    if (aip_read(data, size, &lim, &p, why, sizeof why) != 0)
        return 0;
    struct aip_report r = {0};
    aip_verify(&p, NULL, &r);
    free(aip_report_json(&r, p.base));
    free(aip_report_text(&r, p.base));
    aip_report_free(&r);
    aip_pkg_free(&p);
    return 0;
}
