/*
 * server/source.h: who a client is for the limits and throttles that count
 * "per source": its IPv4 address, or its IPv6 /64.  One host on IPv6 owns a
 * whole /64 (SLAAC, privacy addresses) and can change its address at will
 * within it, so counting per IPv6 address would let it walk past every
 * per-source limit; a /64 is what one subscriber or one LAN segment gets.
 */
#ifndef OA_SERVER_SOURCE_H
#define OA_SERVER_SOURCE_H

#include <stddef.h>

/*
 * From a peer address in the 16-byte form (IPv4 as ::ffff:a.b.c.d), the
 * source's key (the IPv4 address, or the /64 with the interface id zeroed)
 * and its text ("192.0.2.7", "2001:db8:1:2::/64"), NUL-terminated in text[n].
 */
void oa_source_of(const unsigned char addr[16], unsigned char key[16], char *text, size_t n);

#endif
