/* tests/server/source_test.c: per-source limits count IPv4 addresses and IPv6 /64s (server/source.h). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "server/source.h"

static void addr_of(const char *ip, unsigned char a[16])
{
    memset(a, 0, 16);
    if (strchr(ip, ':') == NULL) {
        a[10] = a[11] = 0xff;
        cr_assert_eq(inet_pton(AF_INET, ip, a + 12), 1);
    } else {
        cr_assert_eq(inet_pton(AF_INET6, ip, a), 1);
    }
}

static void source(const char *ip, unsigned char key[16], char text[64])
{
    unsigned char a[16];
    addr_of(ip, a);
    oa_source_of(a, key, text, 64);
}

Test(source, ipv6_addresses_of_one_64_are_one_source_and_ipv4_addresses_stay_apart)
{
    unsigned char k1[16], k2[16], k3[16];
    char t1[64], t2[64], t3[64];
    source("2001:db8:1:2::1", k1, t1);
    source("2001:db8:1:2:a8f3:19ff:fe2c:7d01", k2, t2);
    source("2001:db8:1:3::1", k3, t3);
    cr_assert_eq(memcmp(k1, k2, 16), 0, "two addresses of one /64 are two sources");
    cr_assert_str_eq(t1, "2001:db8:1:2::/64");
    cr_assert_str_eq(t2, t1);
    cr_assert_neq(memcmp(k1, k3, 16), 0, "the next /64 is another source");
    source("192.0.2.7", k1, t1);
    source("192.0.2.8", k2, t2);
    cr_assert_str_eq(t1, "192.0.2.7");
    cr_assert_neq(memcmp(k1, k2, 16), 0, "IPv4 addresses are counted one by one");
    source("::1", k1, t1);
    cr_assert_str_eq(t1, "::/64");
}
