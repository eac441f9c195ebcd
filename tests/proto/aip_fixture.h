/*
 * tests/proto/aip_fixture.h: a sample package for the tests, the fuzz
 * corpus and the benchmark: n records of two files each, with process
 * metadata, and an audit log of their entries (plus others') under a
 * checkpoint signed with a key made from seed.
 */
#ifndef OA_TESTS_AIP_FIXTURE_H
#define OA_TESTS_AIP_FIXTURE_H

#include <stddef.h>

#include "proto/aip.h"

/* Called for each record before writing, to break it on purpose. */
typedef void (*aip_fixture_mutate)(struct aip_record *r, size_t i);

/*
 * Writes the package (name "aip-test") to fd; vkey receives the log's
 * verifier key.  file_bytes: the size of each record's first file.
 * Returns 0 or -1.
 */
int aip_fixture_write(int fd, size_t nrecords, size_t file_bytes, const unsigned char seed[32], char *vkey,
                      size_t vcap, aip_fixture_mutate mutate);

#endif
