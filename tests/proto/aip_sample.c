/*
 * tests/proto/aip_sample.c: writes the test fixture's package to a file, for
 * the fuzz corpus, the verifier's tests and docs/AIP.md's example:
 *   aip_sample OUT.tar [RECORDS [FILE_BYTES [RECIPIENT_CERT.pem]]]
 * and prints the log's verifier key on stdout.  With a certificate the
 * package is written in its envelope (a classified one).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
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
    int tmp = argc > 4 ? memfd_create("aip", 0) : fd;
    if (fd < 0 || tmp < 0 || aip_fixture_write(tmp, n, bytes, seed, vkey, sizeof vkey, NULL) != 0) {
        perror(argv[1]);
        return 1;
    }
    if (argc > 4) {
        off_t len = lseek(tmp, 0, SEEK_END);
        unsigned char *buf = malloc((size_t)len);
        char why[256] = "cannot read the package back";
        if (!buf || pread(tmp, buf, (size_t)len, 0) != len ||
            aip_envelope_seal(buf, (size_t)len, argv[4], fd, why, sizeof why) != 0) {
            fprintf(stderr, "aip_sample: sealing: %s\n", why);
            return 1;
        }
        free(buf);
        close(tmp);
    }
    if (close(fd) != 0) {
        perror(argv[1]);
        return 1;
    }
    printf("%s\n", vkey);
    return 0;
}
