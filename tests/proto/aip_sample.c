/*
 * tests/proto/aip_sample.c: writes the test fixture's package to a file, for
 * the fuzz corpus, the verifier's tests and docs/AIP.md's example:
 *   aip_sample OUT.tar [RECORDS [FILE_BYTES]]
 * and prints the log's verifier key on stdout.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/proto/aip_fixture.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: aip_sample OUT.tar [RECORDS [FILE_BYTES]]\n");
        return 2;
    }
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 1;
    size_t bytes = argc > 3 ? strtoul(argv[3], NULL, 10) : 64;
    static const unsigned char seed[32] = {1, 2, 3};
    char vkey[256];
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || aip_fixture_write(fd, n, bytes, seed, vkey, sizeof vkey, NULL) != 0 || close(fd) != 0) {
        perror(argv[1]);
        return 1;
    }
    printf("%s\n", vkey);
    return 0;
}
