/* server/source.c: see source.h. */
#include "server/source.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

void oa_source_of(const unsigned char addr[16], unsigned char key[16], char *text, size_t n)
{
    static const unsigned char v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
    char ip[INET6_ADDRSTRLEN] = "";
    memcpy(key, addr, 16);
    if (memcmp(addr, v4_mapped, 12) == 0) {
        inet_ntop(AF_INET, addr + 12, ip, sizeof(ip));
        snprintf(text, n, "%s", ip);
        return;
    }
    memset(key + 8, 0, 8);
    inet_ntop(AF_INET6, key, ip, sizeof(ip));
    snprintf(text, n, "%s/64", ip);
}
