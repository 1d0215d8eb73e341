/*
 * packet-ref.c: the reference described in packet-ref.h.
 */
#include "packet-ref.h"

static unsigned
be16(const uint8_t *p)
{
	return (unsigned)p[0] * 256 + p[1];
}

uint16_t
ref_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	while (sum > 0xffff)	/* a carry out of the top goes to the bottom */
		sum = (sum & 0xffff) + (sum >> 16);
	for (i = 0; i < len; i++) {
		if (i % 2 == 0)
			sum += (uint32_t)p[i] * 256;
		else
			sum += p[i];
		if (sum > 0xffff)
			sum = sum - 0x10000 + 1;
	}
	return (uint16_t)sum;
}

int
ref_layout(const uint8_t *p, size_t len, int ether, struct ref_layout *l)
{
	size_t thlen;

	l->l3 = 0;
	if (ether) {
		if (len < 14)
			return -1;
		l->l3 = 14;
		if (be16(p + 12) == 0x8100)
			l->l3 = 18;
	}
	if (len < l->l3 + 1)
		return -1;
	if (p[l->l3] >> 4 == 4) {
		l->ipv6 = 0;
		if (len < l->l3 + 20)
			return -1;
		l->l4 = l->l3 + (size_t)(p[l->l3] & 15) * 4;
		l->proto = p[l->l3 + 9];
	} else if (p[l->l3] >> 4 == 6) {
		l->ipv6 = 1;
		l->l4 = l->l3 + 40;
		l->proto = len > l->l3 + 6 ? p[l->l3 + 6] : 0;
	} else {
		return -1;
	}
	if (l->proto == 6) {
		if (len < l->l4 + 20)
			return -1;
		thlen = (size_t)(p[l->l4 + 12] >> 4) * 4;
	} else if (l->proto == 17) {
		thlen = 8;
	} else {
		return -1;
	}
	if (thlen < 8 || len < l->l4 + thlen)
		return -1;
	l->payload = l->l4 + thlen;
	return 0;
}

uint32_t
ref_pseudo(const uint8_t *p, const struct ref_layout *l, size_t l4len)
{
	const uint8_t *ip = p + l->l3;
	uint16_t addrs;

	if (l->ipv6)
		addrs = ref_sum(ip + 8, 32, 0);
	else
		addrs = ref_sum(ip + 12, 8, 0);
	return ref_sum((const uint8_t *)"", 0,
	    (uint32_t)addrs + (uint32_t)l->proto + (uint32_t)l4len);
}

/* Where the TCP or UDP checksum lies. */
static size_t
csum_at(const struct ref_layout *l)
{
	return l->l4 + (l->proto == 6 ? 16 : 6);
}

int
ref_fix(uint8_t *p, size_t len, int ether, int partial)
{
	struct ref_layout l;
	size_t at;
	uint16_t sum;

	if (ref_layout(p, len, ether, &l) == -1)
		return -1;
	if (!l.ipv6) {
		p[l.l3 + 10] = p[l.l3 + 11] = 0;
		sum = (uint16_t)~ref_sum(p + l.l3, l.l4 - l.l3, 0);
		p[l.l3 + 10] = (uint8_t)(sum >> 8);
		p[l.l3 + 11] = (uint8_t)sum;
	}
	at = csum_at(&l);
	p[at] = p[at + 1] = 0;
	if (partial) {
		sum = ref_sum(p, 0, ref_pseudo(p, &l, len - l.l4));
	} else {
		sum = (uint16_t)~ref_sum(p + l.l4, len - l.l4,
		    ref_pseudo(p, &l, len - l.l4));
		if (sum == 0 && l.proto == 17)
			sum = 0xffff;
	}
	p[at] = (uint8_t)(sum >> 8);
	p[at + 1] = (uint8_t)sum;
	return 0;
}

const char *
ref_check(const uint8_t *p, size_t len, int ether)
{
	struct ref_layout l;
	const uint8_t *ip;

	if (ref_layout(p, len, ether, &l) == -1)
		return "no TCP or UDP header";
	ip = p + l.l3;
	if (l.ipv6) {
		if (be16(ip + 4) + 40 + l.l3 != len)
			return "wrong IPv6 payload length";
	} else {
		if (be16(ip + 2) + l.l3 != len)
			return "wrong IPv4 total length";
		if (ref_sum(ip, l.l4 - l.l3, 0) != 0xffff)
			return "wrong IPv4 header checksum";
	}
	if (l.proto == 17) {
		if (be16(p + l.l4 + 4) + l.l4 != len)
			return "wrong UDP length";
		if (be16(p + l.l4 + 6) == 0)
			return "no UDP checksum";
	}
	if (ref_sum(p + l.l4, len - l.l4, ref_pseudo(p, &l, len - l.l4)) !=
	    0xffff)
		return l.proto == 6 ? "wrong TCP checksum" :
		    "wrong UDP checksum";
	return NULL;
}
