/*
 * offload.c: cutting GSO packets into segments and merging segments into
 * GSO packets, as offload.h describes.  Packets are read and written only
 * where the caller says; no system call, no output, no allocation.
 *
 * Header fields are read and written a byte at a time in network order, so
 * that no packet needs to be aligned; only the checksum reads whole words.
 */
#include <stddef.h>
#include <string.h>

#include "offload.h"

#define ETH_HLEN	14
#define VLAN_HLEN	4
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86dd
#define ETH_P_8021Q	0x8100

#define PROTO_TCP	6
#define PROTO_UDP	17

#define IP_DF		0x4000
#define IP_FRAGMENT	0x3fff	/* MF and the fragment offset */
#define IP_LEN_MAX	65535	/* IPv4 total length, IPv6 payload length */
#define IPV6_HLEN	40

#define TCP_HLEN	20
#define TCP_CSUM	16	/* where the checksum lies in the header */
#define UDP_HLEN	8
#define UDP_CSUM	6

#define TCP_FIN		0x01
#define TCP_SYN		0x02
#define TCP_RST		0x04
#define TCP_PSH		0x08
#define TCP_ACK		0x10
#define TCP_URG		0x20
#define TCP_CWR		0x80

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* The virtio-net header is little-endian (TUNSETVNETLE). */
static uint16_t
get16le(const uint8_t *p)
{
	return (uint16_t)(p[1] << 8 | p[0]);
}

static void
put16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static int
host_is_big_endian(void)
{
	const uint16_t one = 1;
	uint8_t first;

	memcpy(&first, &one, 1);
	return first == 0;
}

/* Folds a sum of 16-bit words to 16 bits, carries added back in. */
static uint16_t
fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * The Internet checksum's sum (RFC 1071): the ones' complement sum of the
 * 16-bit words of p[0..len), zero-padded to an even length, plus sum (a
 * pseudo-header's, or 0), folded to 16 bits and read in network order.
 *
 * It runs over every byte that crosses, so it reads 8 bytes at a time into
 * two accumulators, in host order: ones' complement addition commutes with
 * swapping the bytes of every word (RFC 1071, section 2(B)), so one swap
 * of the result makes up for it.  Each 8-byte word adds its two halves, so
 * a 64-bit accumulator cannot overflow before 16 GiB.
 */
static uint16_t
sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	uint64_t a = 0, b = 0, w, x;
	uint8_t tail[8] = { 0 };
	uint16_t s;

	for (; len >= 16; p += 16, len -= 16) {
		memcpy(&w, p, 8);
		memcpy(&x, p + 8, 8);
		a += (w & 0xffffffff) + (w >> 32);
		b += (x & 0xffffffff) + (x >> 32);
	}
	if (len >= 8) {
		memcpy(&w, p, 8);
		a += (w & 0xffffffff) + (w >> 32);
		p += 8;
		len -= 8;
	}
	if (len > 0) {		/* the zeros after it pad an odd byte */
		memcpy(tail, p, len);
		memcpy(&w, tail, 8);
		a += (w & 0xffffffff) + (w >> 32);
	}
	s = fold(a + b);
	if (!host_is_big_endian())
		s = (uint16_t)(s << 8 | s >> 8);
	return fold((uint64_t)s + sum);
}

/*
 * The sum of the pseudo-header (RFC 793, RFC 8200 section 8.1) of the IP
 * header at ip: its addresses, the protocol proto and len, the bytes from
 * the TCP or UDP header to the end.
 */
static uint32_t
pseudo_sum(const uint8_t *ip, int ipv6, uint8_t proto, size_t len)
{
	uint16_t addrs = ipv6 ? sum16(ip + 8, 32, 0) : sum16(ip + 12, 8, 0);

	return (uint32_t)addrs + proto + (uint32_t)len;
}

int
offload_vnet_parse(const uint8_t *raw, size_t len, struct offload_vnet *v)
{
	if (len < OFFLOAD_VNET_LEN)
		return -1;
	v->flags = raw[0];
	v->gso_type = raw[1];
	v->hdr_len = get16le(raw + 2);
	v->gso_size = get16le(raw + 4);
	v->csum_start = get16le(raw + 6);
	v->csum_offset = get16le(raw + 8);
	if (v->flags & ~(OFFLOAD_F_NEEDS_CSUM | OFFLOAD_F_DATA_VALID))
		return -1;
	switch (v->gso_type) {
	case OFFLOAD_GSO_NONE:
	case OFFLOAD_GSO_TCPV4:
	case OFFLOAD_GSO_TCPV4 | OFFLOAD_GSO_ECN:
	case OFFLOAD_GSO_UDP:
	case OFFLOAD_GSO_UDP | OFFLOAD_GSO_ECN:
	case OFFLOAD_GSO_TCPV6:
	case OFFLOAD_GSO_TCPV6 | OFFLOAD_GSO_ECN:
	case OFFLOAD_GSO_UDP_L4:
		return 0;
	}
	return -1;
}

void
offload_vnet_encode(const struct offload_vnet *v, uint8_t *raw)
{
	raw[0] = v->flags;
	raw[1] = v->gso_type;
	put16le(raw + 2, v->hdr_len);
	put16le(raw + 4, v->gso_size);
	put16le(raw + 6, v->csum_start);
	put16le(raw + 8, v->csum_offset);
}

int
offload_is_ip(const uint8_t *p, size_t len)
{
	if (len >= 20 && p[0] >> 4 == 4)
		return (p[0] & 0x0f) >= 5 && (size_t)get16(p + 2) == len;
	if (len >= IPV6_HLEN && p[0] >> 4 == 6)
		return IPV6_HLEN + (size_t)get16(p + 4) == len;
	return 0;
}

int
offload_finish_csum(uint8_t *pkt, size_t len, const struct offload_vnet *v)
{
	size_t at = (size_t)v->csum_start + v->csum_offset;
	uint16_t sum;

	if (v->gso_type != OFFLOAD_GSO_NONE)
		return -1;
	if (!(v->flags & OFFLOAD_F_NEEDS_CSUM))
		return 0;
	if (at > len || len - at < 2)
		return -1;
	sum = (uint16_t)~sum16(pkt + v->csum_start, len - v->csum_start, 0);
	put16(pkt + at, sum != 0 ? sum : 0xffff);
	return 0;
}

/* Where a packet's headers start, as parse_ip() finds them. */
struct layout {
	size_t l3;		/* the IP header */
	size_t l4;		/* what follows it: TCP, UDP or other */
	int ipv6;
	uint8_t proto;		/* IPv4's protocol, IPv6's next header */
};

/*
 * Finds the IP header, after an Ethernet header in TAP mode (and one
 * 802.1Q tag), and checks that it agrees with the ethertype and that its
 * length is what is left of the packet: a GSO packet from the device, or
 * a segment to merge, has no padding after it.  Returns 0, or -1 for
 * anything else.
 */
static int
parse_ip(const uint8_t *pkt, size_t len, int ether, struct layout *l)
{
	const uint8_t *ip;
	uint16_t type = 0;

	l->l3 = 0;
	if (ether) {
		if (len < ETH_HLEN)
			return -1;
		l->l3 = ETH_HLEN;
		type = get16(pkt + 12);
		if (type == ETH_P_8021Q) {
			if (len < ETH_HLEN + VLAN_HLEN)
				return -1;
			l->l3 += VLAN_HLEN;
			type = get16(pkt + 16);
		}
		if (type != ETH_P_IP && type != ETH_P_IPV6)
			return -1;
	}
	ip = pkt + l->l3;
	if (!offload_is_ip(ip, len - l->l3))
		return -1;
	l->ipv6 = ip[0] >> 4 == 6;
	if (ether && l->ipv6 != (type == ETH_P_IPV6))
		return -1;
	if (l->ipv6) {
		l->l4 = l->l3 + IPV6_HLEN;
		l->proto = ip[6];
	} else {
		l->l4 = l->l3 + (size_t)(ip[0] & 0x0f) * 4;
		l->proto = ip[9];
		if (l->l4 > len)
			return -1;
	}
	return 0;
}

static int
is_fragment(const uint8_t *ip)
{
	return (get16(ip + 6) & IP_FRAGMENT) != 0;
}

/*
 * Where the payload starts after the TCP or UDP header at pkt + l->l4:
 * sets *hdr and returns 0, or returns -1 for a header cut short or, TCP,
 * a data offset under 5 words.
 */
static int
find_payload(const uint8_t *pkt, size_t len, const struct layout *l,
    size_t *hdr)
{
	size_t thlen;

	if (l->proto == PROTO_UDP) {
		thlen = UDP_HLEN;
	} else {
		if (len - l->l4 < TCP_HLEN)
			return -1;
		thlen = (size_t)(pkt[l->l4 + 12] >> 4) * 4;
		if (thlen < TCP_HLEN)
			return -1;
	}
	if (len - l->l4 < thlen)
		return -1;
	*hdr = l->l4 + thlen;
	return 0;
}

int
offload_split_begin(struct offload_split *s, const struct offload_vnet *v,
    const uint8_t *pkt, size_t len, int ether)
{
	uint8_t type = v->gso_type & (uint8_t)~OFFLOAD_GSO_ECN;
	struct layout l;
	size_t hdr;

	memset(s, 0, sizeof(*s));	/* so that a refused packet gives none */
	if (v->gso_size == 0 || parse_ip(pkt, len, ether, &l) == -1)
		return -1;
	switch (type) {
	case OFFLOAD_GSO_TCPV4:
	case OFFLOAD_GSO_TCPV6:
		/* IPv6 extension headers end up here: no TCP after 40 bytes */
		if (l.proto != PROTO_TCP || l.ipv6 != (type == OFFLOAD_GSO_TCPV6))
			return -1;
		break;
	case OFFLOAD_GSO_UDP_L4:
		if (l.proto != PROTO_UDP)
			return -1;
		break;
	default:
		return -1;
	}
	if (!l.ipv6 && is_fragment(pkt + l.l3))
		return -1;
	if (find_payload(pkt, len, &l, &hdr) == -1)
		return -1;
	if ((v->flags & OFFLOAD_F_NEEDS_CSUM) && (v->csum_start != l.l4 ||
	    v->csum_offset != (l.proto == PROTO_TCP ? TCP_CSUM : UDP_CSUM)))
		return -1;
	s->tcp = l.proto == PROTO_TCP;
	s->hdr = hdr;
	s->pkt = pkt;
	s->len = len;
	s->l3 = l.l3;
	s->l4 = l.l4;
	s->ipv6 = l.ipv6;
	s->mss = v->gso_size;
	s->pos = hdr;
	s->index = 0;
	s->addr_sum = pseudo_sum(pkt + l.l3, l.ipv6, 0, 0);
	return 0;
}

size_t
offload_split_next_len(const struct offload_split *s)
{
	size_t left = s->len - s->pos;

	if (left == 0 && s->index > 0)
		return 0;
	return s->hdr + (left < s->mss ? left : s->mss);
}

/*
 * The IP header of a segment of len bytes at out: its length; IPv4 also
 * its ID, one up per segment as the kernel's inet_gso_segment() counts
 * them, and its header checksum.
 */
static void
set_ip_header(const struct offload_split *s, uint8_t *out, size_t len)
{
	uint8_t *ip = out + s->l3;
	const uint8_t *orig = s->pkt + s->l3;

	if (s->ipv6) {
		put16(ip + 4, len - s->l3 - IPV6_HLEN);
		return;
	}
	put16(ip + 2, len - s->l3);
	put16(ip + 4, (uint16_t)(get16(orig + 4) + s->index));
	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~sum16(ip, s->l4 - s->l3, 0));
}

/*
 * The TCP or UDP header of a segment of len bytes at out, and its checksum
 * over the segment.  TCP: the sequence number of its first payload byte;
 * FIN and PSH belong to the end of the data, so only the last segment
 * keeps them; CWR answers one congestion signal, so only the first keeps
 * it (tcp_gso_segment()).
 */
static void
set_l4_header(const struct offload_split *s, uint8_t *out, size_t len)
{
	uint8_t *th = out + s->l4;
	size_t at = s->tcp ? TCP_CSUM : UDP_CSUM;
	uint16_t sum;

	if (s->tcp) {
		put32(th + 4, get32(s->pkt + s->l4 + 4) +
		    (uint32_t)(s->pos - s->hdr));
		if (s->pos + (len - s->hdr) < s->len)
			th[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (s->index > 0)
			th[13] &= (uint8_t)~TCP_CWR;
	} else {
		put16(th + 4, len - s->l4);
	}
	put16(th + at, 0);
	sum = (uint16_t)~sum16(th, len - s->l4, s->addr_sum +
	    (s->tcp ? PROTO_TCP : PROTO_UDP) + (uint32_t)(len - s->l4));
	if (sum == 0 && !s->tcp)	/* 0 would say "no checksum" */
		sum = 0xffff;
	put16(th + at, sum);
}

size_t
offload_split_next(struct offload_split *s, uint8_t *out)
{
	size_t len = offload_split_next_len(s);

	if (len == 0)
		return 0;
	memcpy(out, s->pkt, s->hdr);
	memcpy(out + s->hdr, s->pkt + s->pos, len - s->hdr);
	set_ip_header(s, out, len);
	set_l4_header(s, out, len);
	s->pos += len - s->hdr;
	s->index++;
	return len;
}

void
offload_merge_init(struct offload_merge *m, int ether, int kinds)
{
	memset(m, 0, sizeof(*m));
	m->ready = 1;
	m->ether = ether;
	m->kinds = kinds;
}

void
offload_merge_stop(struct offload_merge *m, int kinds)
{
	m->kinds &= ~kinds;
}

int
offload_merge_empty(const struct offload_merge *m)
{
	size_t i;

	for (i = 0; i < OFFLOAD_FLOWS; i++)
		if (m->batch[i].count > 0)
			return 0;
	return 1;
}

void
offload_merge_flush(struct offload_merge *m)
{
	size_t i;

	for (i = 0; i < OFFLOAD_FLOWS; i++)
		m->batch[i].due = 1;
}

/* A packet as the merge sees it: its flow, and whether it may join. */
struct segment {
	struct layout l;
	int keyed;		/* TCP or UDP with its ports: of a flow */
	int candidate;		/* may be merged, were its checksum right */
	size_t hdr;		/* where the payload starts */
	uint32_t seq;		/* TCP */
	uint8_t flags;
};

/*
 * A sum that a split would have written: right, and not 0xffff, the other
 * way of writing zero, which a split never writes for a TCP checksum or an
 * IPv4 header checksum, whose sums cannot be zero.  Refusing it costs one
 * packet in 65536 a merge, and keeps merging and splitting exact inverses.
 */
static int
sum_as_split_writes(uint16_t sum, const uint8_t *field)
{
	return sum == 0xffff && get16(field) != 0xffff;
}

/*
 * Whether the IP header of a packet that may merge is one a split writes:
 * IPv4 without options, not a fragment nor with the reserved flag
 * (inet_gro_receive() flushes on any flag but DF), with a right header
 * checksum; or IPv6 without extension headers (parse_ip() found TCP or UDP
 * right after it).
 */
static int
ip_mergeable(const uint8_t *pkt, const struct layout *l)
{
	const uint8_t *ip = pkt + l->l3;

	return l->ipv6 || (l->l4 - l->l3 == 20 &&
	    (get16(ip + 6) & ~IP_DF) == 0 &&
	    sum_as_split_writes(sum16(ip, 20, 0), ip + 10));
}

/*
 * TCP that may be merged, were its checksum right: a payload, ACK set, and
 * none of the flags that make the kernel's GRO flush (SYN, FIN, RST, URG),
 * nor CWR: older kernels merge a CWR segment only as the first and newer
 * ones (AccECN) in other ways, so it always travels alone.
 */
static int
tcp_mergeable(const uint8_t *pkt, size_t len, struct segment *sg)
{
	if (find_payload(pkt, len, &sg->l, &sg->hdr) == -1 || sg->hdr == len)
		return 0;
	sg->seq = get32(pkt + sg->l.l4 + 4);
	sg->flags = pkt[sg->l.l4 + 13];
	return (sg->flags & TCP_ACK) && !(sg->flags & (TCP_SYN | TCP_FIN |
	    TCP_RST | TCP_URG | TCP_CWR));
}

/*
 * UDP that may be merged, were its checksum right: a payload, a length
 * that is the packet's (udp_gro_receive_segment() takes no padding), and a
 * checksum, which a split always writes.
 */
static int
udp_mergeable(const uint8_t *pkt, size_t len, struct segment *sg)
{
	const uint8_t *uh = pkt + sg->l.l4;

	if (len - sg->l.l4 <= UDP_HLEN)
		return 0;
	sg->hdr = sg->l.l4 + UDP_HLEN;
	return get16(uh + 4) == len - sg->l.l4 && get16(uh + UDP_CSUM) != 0;
}

/*
 * Reads what the merge needs of pkt into *sg: its flow, if it has one (TCP
 * or UDP, not a fragment, its ports inside the packet), and whether it is
 * a candidate, of a kind m joins.
 */
static void
inspect(const struct offload_merge *m, const uint8_t *pkt, size_t len,
    struct segment *sg)
{
	uint8_t proto;

	sg->keyed = sg->candidate = 0;
	if (!m->ready || parse_ip(pkt, len, m->ether, &sg->l) == -1)
		return;
	proto = sg->l.proto;
	if ((proto != PROTO_TCP && proto != PROTO_UDP) ||
	    (!sg->l.ipv6 && is_fragment(pkt + sg->l.l3)) ||
	    len - sg->l.l4 < 4)
		return;
	sg->keyed = 1;
	if (!ip_mergeable(pkt, &sg->l))
		return;
	if (proto == PROTO_TCP)
		sg->candidate = (m->kinds & OFFLOAD_MERGE_TCP) &&
		    tcp_mergeable(pkt, len, sg);
	else
		sg->candidate = (m->kinds & OFFLOAD_MERGE_UDP) &&
		    udp_mergeable(pkt, len, sg);
}

/*
 * Whether the TCP or UDP checksum of a candidate is right, the dearest
 * check of all, and so the last: a segment merged unchecked would reach
 * the kernel in a packet whose checksum it does not verify.  A UDP sum of
 * zero is written 0xffff by a split (RFC 768), and 0 is no checksum.
 */
static int
l4_sum_ok(const uint8_t *pkt, size_t len, const struct segment *sg)
{
	size_t l4len = len - sg->l.l4;
	uint32_t pseudo = pseudo_sum(pkt + sg->l.l3, sg->l.ipv6, sg->l.proto,
	    l4len);
	uint16_t sum = sum16(pkt + sg->l.l4, l4len, pseudo);

	if (sg->l.proto == PROTO_UDP)
		return sum == 0xffff;
	return sum_as_split_writes(sum, pkt + sg->l.l4 + TCP_CSUM);
}

/*
 * Whether two byte ranges [off, off + n) of packets a and b are equal: the
 * header fields that a split copies to every segment.
 */
static int
same(const uint8_t *a, const uint8_t *b, size_t off, size_t n)
{
	return memcmp(a + off, b + off, n) == 0;
}

/*
 * Whether pkt belongs to batch b's flow: the same Ethernet header (TAP),
 * IP version, protocol, addresses and ports.
 */
static int
same_flow(const struct offload_batch *b, const uint8_t *pkt,
    const struct segment *sg)
{
	const uint8_t *first = b->packets[0].data;
	const uint8_t *a = first + b->l3, *ip = pkt + b->l3;

	if (!b->keyed || sg->l.l3 != b->l3 || !same(first, pkt, 0, b->l3) ||
	    a[0] >> 4 != ip[0] >> 4)
		return 0;
	if (sg->l.ipv6 ? !same(a, ip, 6, 1) || !same(a, ip, 8, 32) :
	    !same(a, ip, 9, 1) || !same(a, ip, 12, 8))
		return 0;
	return same(first + b->l4, pkt + sg->l.l4, 0, 4);
}

/*
 * Whether the IPv4 ID of pkt may follow b's: counting on from the first's,
 * as a split writes them; or, UDP with DF, the first's again, as a socket
 * that is not connected sends them (ip_select_ident_segs(): an ID means
 * nothing in a datagram that is never fragmented, RFC 6864).  The
 * second packet says which, for the batch.
 */
static int
next_id(const struct offload_batch *b, const uint8_t *ip)
{
	uint16_t first = get16(b->packets[0].data + b->l3 + 4);
	uint16_t id = get16(ip + 4);
	int fixed = b->udp && (get16(ip + 6) & IP_DF) && id == first;

	if (b->count == 1)
		return fixed || id == (uint16_t)(first + 1);
	return b->fixed_id ? fixed : id == (uint16_t)(first + b->count);
}

/*
 * Whether the IP header of pkt, of b's flow, is the first's but for what a
 * split changes: IPv6, all but the payload length; IPv4, all but the
 * length, the checksum and the ID (see next_id()).
 */
static int
same_ip(const struct offload_batch *b, const uint8_t *pkt)
{
	const uint8_t *a = b->packets[0].data + b->l3, *ip = pkt + b->l3;

	if (ip[0] >> 4 == 6)
		return same(a, ip, 0, 4) && same(a, ip, 6, 34);
	return same(a, ip, 0, 2) && same(a, ip, 6, 4) && same(a, ip, 12, 8) &&
	    next_id(b, ip);
}

/*
 * Whether the TCP header of pkt is the first's but for the sequence
 * number, which must follow on, PSH and the checksum.
 */
static int
same_tcp(const struct offload_batch *b, const uint8_t *pkt,
    const struct segment *sg)
{
	const uint8_t *a = b->packets[0].data + b->l4, *th = pkt + b->l4;

	return same(a, th, 0, 4) && same(a, th, 8, 5) && same(a, th, 14, 2) &&
	    same(a, th, 18, b->hdr - b->l4 - 18) &&
	    ((a[13] ^ th[13]) & ~TCP_PSH) == 0 && sg->seq == b->next_seq;
}

/*
 * Whether the candidate sg at pkt, of b's flow, may follow b's last packet
 * (see offload.h): its headers are the first's, but for what a split
 * changes.
 */
static int
joins(const struct offload_batch *b, const uint8_t *pkt, size_t len,
    const struct segment *sg)
{
	size_t payload = len - sg->hdr, iplen;

	if (b->closed || !b->mergeable || sg->l.l4 != b->l4 ||
	    sg->hdr != b->hdr || (sg->l.proto == PROTO_UDP) != b->udp ||
	    payload > b->mss || !same_ip(b, pkt))
		return 0;
	if (!b->udp && !same_tcp(b, pkt, sg))
		return 0;
	iplen = b->hdr - b->l3 - (sg->l.ipv6 ? IPV6_HLEN : 0);
	return iplen + b->payload + payload <= IP_LEN_MAX;
}

/*
 * Adds pkt to b.  A segment shorter than the first, or, TCP, with PSH,
 * ends it: the kernel's GRO flushes after either.
 */
static void
append(struct offload_batch *b, const uint8_t *pkt, size_t len,
    const struct segment *sg)
{
	size_t payload = len - sg->hdr;

	if (b->count == 1 && !sg->l.ipv6)
		b->fixed_id = get16(pkt + b->l3 + 4) ==
		    get16(b->packets[0].data + b->l3 + 4);
	b->packets[b->count].data = pkt;
	b->packets[b->count].len = len;
	b->count++;
	b->payload += payload;
	b->next_seq += (uint32_t)payload;
	b->last_psh = !b->udp && (sg->flags & TCP_PSH) != 0;
	b->closed = b->last_psh || payload < b->mss ||
	    b->count == OFFLOAD_MERGE_MAX;
}

/*
 * Opens batch b with pkt, the next batch in age: one that may take others
 * when sg is a candidate whose checksum is right, else a batch of one.
 */
static void
open_batch(struct offload_merge *m, struct offload_batch *b,
    const uint8_t *pkt, size_t len, const struct segment *sg)
{
	memset(b, 0, offsetof(struct offload_batch, packets));
	b->age = m->clock++;
	b->keyed = sg->keyed;
	b->l3 = sg->l.l3;
	b->l4 = sg->l.l4;
	if (!sg->candidate || !l4_sum_ok(pkt, len, sg)) {
		b->packets[0].data = pkt;
		b->packets[0].len = len;
		b->count = 1;
		b->closed = 1;
		return;
	}
	b->mergeable = 1;
	b->udp = sg->l.proto == PROTO_UDP;
	b->hdr = sg->hdr;
	b->mss = len - sg->hdr;
	b->next_seq = sg->seq;
	append(b, pkt, len, sg);
}

/*
 * The batch of pkt's flow, or NULL; *free_slot is set to a free batch, or
 * NULL, and *oldest to the oldest held.  A batch of no flow is a barrier:
 * it is returned for any packet.
 */
static struct offload_batch *
find_batch(struct offload_merge *m, const uint8_t *pkt,
    const struct segment *sg, struct offload_batch **free_slot,
    struct offload_batch **oldest)
{
	struct offload_batch *b, *found = NULL;
	size_t i;

	*free_slot = *oldest = NULL;
	for (i = 0; i < OFFLOAD_FLOWS; i++) {
		b = &m->batch[i];
		if (b->count == 0) {
			if (*free_slot == NULL)
				*free_slot = b;
			continue;
		}
		if (*oldest == NULL || b->age < (*oldest)->age)
			*oldest = b;
		if (!b->keyed || same_flow(b, pkt, sg))
			found = b;
	}
	return found;
}

int
offload_merge_add(struct offload_merge *m, const uint8_t *pkt, size_t len)
{
	struct offload_batch *b, *free_slot, *oldest;
	struct segment sg;

	inspect(m, pkt, len, &sg);
	if (!sg.keyed) {	/* everything before it goes first */
		if (!offload_merge_empty(m)) {
			offload_merge_flush(m);
			return 0;
		}
		open_batch(m, &m->batch[0], pkt, len, &sg);
		return 1;
	}
	b = find_batch(m, pkt, &sg, &free_slot, &oldest);
	if (b != NULL) {
		if (b->keyed && sg.candidate && joins(b, pkt, len, &sg) &&
		    l4_sum_ok(pkt, len, &sg)) {
			append(b, pkt, len, &sg);
			return 1;
		}
		b->due = 1;
		return 0;
	}
	if (free_slot == NULL) {
		oldest->due = 1;
		return 0;
	}
	open_batch(m, free_slot, pkt, len, &sg);
	return 1;
}

/*
 * The virtio-net header and the head of a merged batch, in w->head: the
 * first packet's headers, made to describe the whole.  The TCP or UDP
 * checksum field gets the pseudo-header's sum, not complemented, as for
 * any partial checksum: the kernel adds the rest.
 */
static void
write_head(const struct offload_batch *b, struct offload_write *w)
{
	uint8_t *head = w->head + OFFLOAD_VNET_LEN;
	uint8_t *ip = head + b->l3, *th = head + b->l4;
	size_t l4len = b->hdr - b->l4 + b->payload;
	int ipv6 = b->packets[0].data[b->l3] >> 4 == 6;
	uint8_t proto = b->udp ? PROTO_UDP : PROTO_TCP;
	struct offload_vnet v = {
		.flags = OFFLOAD_F_NEEDS_CSUM,
		.gso_type = b->udp ? OFFLOAD_GSO_UDP_L4 :
		    ipv6 ? OFFLOAD_GSO_TCPV6 : OFFLOAD_GSO_TCPV4,
		.hdr_len = (uint16_t)b->hdr,
		.gso_size = (uint16_t)b->mss,
		.csum_start = (uint16_t)b->l4,
		.csum_offset = b->udp ? UDP_CSUM : TCP_CSUM,
	};

	memcpy(head, b->packets[0].data, b->hdr);
	if (ipv6) {
		put16(ip + 4, l4len);
	} else {
		put16(ip + 2, b->l4 - b->l3 + l4len);
		put16(ip + 10, 0);
		put16(ip + 10, (uint16_t)~sum16(ip, b->l4 - b->l3, 0));
	}
	if (b->udp)
		put16(th + 4, l4len);
	else if (b->last_psh)
		th[13] |= TCP_PSH;
	put16(th + (b->udp ? UDP_CSUM : TCP_CSUM),
	    fold(pseudo_sum(ip, ipv6, proto, l4len)));
	offload_vnet_encode(&v, w->head);
}

/* The oldest batch to be taken, or NULL. */
static struct offload_batch *
oldest_due(struct offload_merge *m)
{
	struct offload_batch *b, *best = NULL;
	size_t i;

	for (i = 0; i < OFFLOAD_FLOWS; i++) {
		b = &m->batch[i];
		if (b->count > 0 && b->due && (best == NULL || b->age < best->age))
			best = b;
	}
	return best;
}

size_t
offload_merge_take(struct offload_merge *m, struct offload_write *w)
{
	struct offload_batch *b = oldest_due(m);
	size_t i;

	if (b == NULL)
		return 0;
	w->npackets = b->count;
	w->bytes = 0;
	for (i = 0; i < b->count; i++) {
		w->packets[i] = b->packets[i];
		w->bytes += b->packets[i].len;
	}
	w->pieces[0].data = w->head;
	if (b->count == 1) {
		memset(w->head, 0, OFFLOAD_VNET_LEN);
		w->pieces[0].len = OFFLOAD_VNET_LEN;
		w->pieces[1] = b->packets[0];
		w->kind = 0;
	} else {
		write_head(b, w);
		w->pieces[0].len = OFFLOAD_VNET_LEN + b->hdr;
		for (i = 0; i < b->count; i++) {
			w->pieces[i + 1].data = b->packets[i].data + b->hdr;
			w->pieces[i + 1].len = b->packets[i].len - b->hdr;
		}
		w->kind = b->udp ? OFFLOAD_MERGE_UDP : OFFLOAD_MERGE_TCP;
	}
	w->npieces = b->count + 1;
	b->count = 0;
	return w->npieces;
}
