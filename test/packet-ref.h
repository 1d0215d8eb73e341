/*
 * packet-ref.h: a reference for the tests of offload.c, written to be
 * obviously right rather than fast: checksums summed a byte at a time,
 * headers found field by field.  test/offload-driver and test/fuzz-offload
 * check what offload.c does against it; nothing in it comes from offload.c.
 */
#ifndef PACKET_REF_H
#define PACKET_REF_H

#include <stddef.h>
#include <stdint.h>

/* Where the headers of a TCP or UDP packet start. */
struct ref_layout {
	size_t l3;		/* IP header */
	size_t l4;		/* TCP or UDP header */
	size_t payload;		/* payload */
	int ipv6;
	int proto;		/* 6 or 17 */
};

/*
 * ref_sum(p, len, sum): sum plus the 16-bit words of p[0..len), each made
 * of a byte at an even offset (high) and the next (low, 0 past the end),
 * with the carries folded back in (RFC 1071).
 */
uint16_t ref_sum(const uint8_t *p, size_t len, uint32_t sum);

/*
 * ref_layout(p, len, ether, l): finds the headers of p[0..len), after an
 * Ethernet header (14 bytes, 18 with an 802.1Q tag) if ether is set, for
 * IPv4 or IPv6 (no extension header) carrying TCP or UDP.  Returns 0, or
 * -1 when a header is missing or cut short.  Lengths in the headers are
 * not checked.
 */
int	ref_layout(const uint8_t *p, size_t len, int ether,
	    struct ref_layout *);

/*
 * ref_pseudo(p, l, l4len): the sum of the pseudo-header of p's IP header
 * for l4len bytes of TCP or UDP.
 */
uint32_t ref_pseudo(const uint8_t *p, const struct ref_layout *,
	    size_t l4len);

/*
 * ref_fix(p, len, ether, partial): writes the IPv4 header checksum and the
 * TCP or UDP checksum of p in place; with partial, the TCP or UDP checksum
 * field gets the pseudo-header's sum, as in a GSO packet, instead.  Returns
 * 0, or -1 if ref_layout() finds no TCP or UDP header.
 */
int	ref_fix(uint8_t *p, size_t len, int ether, int partial);

/*
 * ref_check(p, len, ether): NULL when p is a whole TCP or UDP packet whose
 * lengths (IP, UDP) agree with len and whose checksums are right (a UDP
 * checksum not 0); otherwise what is wrong, in a few words.
 */
const char *ref_check(const uint8_t *p, size_t len, int ether);

#endif
