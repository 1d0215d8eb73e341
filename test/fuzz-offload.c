/*
 * fuzz-offload: a libFuzzer harness for the offload module (offload.h).
 * `make fuzz` builds test/fuzz-offload with clang -fsanitize=fuzzer,
 * address,undefined and runs it for a while from its seeds in
 * test/fuzz-corpus/offload/.
 *
 * Byte 0 of an input says how to read the rest:
 *
 *	bits 0-1	0: a GSO packet built from the input, to split
 *			1: a run of TCP segments or UDP datagrams of one flow
 *			   built from the input, to merge
 *			2: the rest as the device hands it over: a virtio-net
 *			   header and a packet, split or its checksum finished
 *			3: the rest as packets from the stream, to merge: a
 *			   length byte (255: two bytes of length follow, big
 *			   endian), then that many bytes, again and again
 *	bit 2		(0 and 1) TAP mode: packets start with an Ethernet
 *			header; 2 and 3 read the input in both modes, and 1
 *			offers its run to a merge in the other mode too
 *	bit 3		(0 and 1) an 802.1Q tag in the Ethernet header
 *	bit 4		(0 and 1) IPv6
 *	bit 5		(0 and 1) UDP instead of TCP
 *	bits 6-7	(0 and 1) how many bytes of the built packet or run
 *			to spoil: 0, 1, 2 or 3
 *
 * For 0 and 1, the next bytes give the shape (below, build()), 160 bytes
 * the other header fields, and, for 0, the rest the payload.  Spoiling
 * XORs a byte at a place the input gives with a value it gives, after the
 * checksums are written.
 *
 * Checked, against the reference of packet-ref.c and offload.h's promises:
 *
 * (a) Whatever GSO packet the split accepts, each segment is an ordinary
 *     packet, whole and with right checksums, no longer than its headers
 *     and gso_size; its headers are the GSO packet's but for what a split
 *     changes (lengths, the ID counted on, the sequence number, FIN and
 *     PSH on the last only, CWR on the first only, the checksums); and
 *     the payloads, one after another, are the GSO packet's.  A split
 *     that refuses a packet offers no segment.  A packet built unspoilt
 *     is accepted, and if its segments are ones a merge may take,
 *     merging them gives one batch.
 * (b) Whatever run of packets the merge is offered, each write either is
 *     one packet as it went in, after a header of zeros, or is a GSO
 *     packet (its virtio-net header and lengths right, its TCP or UDP
 *     checksum field holding the pseudo-header's sum) whose split gives
 *     back the packets that went in, byte for byte, with its payload
 *     pieces lying in those packets.  Every packet offered is written
 *     once; those of one flow in the order offered; one of no flow after
 *     all offered before it and before all offered after it.  An unspoilt
 *     run with no change made merges into as few batches as the limits
 *     allow; a merge that does not take its kind writes each alone.  A
 *     merge never readied by offload_merge_init() takes each packet
 *     alone, as it went in.
 * (c) Finishing a partial checksum stores what the reference sums, and
 *     changes no other byte; a field outside the packet is refused.
 * (d) A virtio-net header that parses encodes back to the same bytes.
 *
 * The module is driven as tunpipe drives it, in the mode the input says:
 * offload_merge_init(m, ether, kinds), then offload_merge_add(), taking
 * what is due when it refuses, and offload_merge_flush() and
 * offload_merge_take() at the end; offload_split_begin(..., ether), then
 * its segments.
 * Every packet the module reads or writes lies in a buffer of its exact
 * size, so that ASan sees any access past one.  A broken promise prints
 * what and aborts, which libFuzzer reports as a crash, saving the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offload.h"
#include "packet-ref.h"

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz-offload:%d: broken: %s\n",	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

#define FIN	0x01
#define SYN	0x02
#define RST	0x04
#define PSH	0x08
#define ACK	0x10
#define URG	0x20
#define ECE	0x40
#define CWR	0x80

#define SEED_LEN	160
#define HEAD_ROOM	(18 + 60 + 60)	/* headers build() may write */
#define RUN_MAX		70		/* segments in a run: past 64 */
#define BOTH	(OFFLOAD_MERGE_TCP | OFFLOAD_MERGE_UDP)

static void *
xmalloc(size_t n)
{
	void *p = malloc(n > 0 ? n : 1);

	CHECK(p != NULL);
	return p;
}

/* A copy of p[0..n) in a buffer of exactly n bytes. */
static uint8_t *
copy(const uint8_t *p, size_t n)
{
	uint8_t *c = xmalloc(n);

	if (n > 0)
		memcpy(c, p, n);
	return c;
}

static unsigned
be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)be16(p) << 16 | be16(p + 2);
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* What is left of the input, read a byte at a time; zeros past its end. */
struct input {
	const uint8_t *p;
	size_t len;
};

static uint8_t
take8(struct input *in)
{
	if (in->len == 0)
		return 0;
	in->len--;
	return *in->p++;
}

static unsigned
take16(struct input *in)
{
	unsigned hi = take8(in);

	return hi << 8 | take8(in);
}

/* Segments, each in a buffer of its own size; full once one was left out. */
struct list {
	uint8_t *p[RUN_MAX * 2];
	size_t len[RUN_MAX * 2];
	size_t n;
	int full;
};

static void
list_free(struct list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->p[i]);
	l->n = 0;
}

/*
 * The headers a split must give segment i, whose payload starts off bytes
 * into the GSO packet's and which is len bytes long, last or not: the GSO
 * packet's, changed as offload.h says, the checksums taken from seg (the
 * reference checks them).
 */
static void
check_seg_headers(const uint8_t *pkt, const struct ref_layout *l,
    const uint8_t *seg, size_t len, size_t i, size_t off, int last)
{
	uint8_t want[HEAD_ROOM + 60];
	uint8_t *ip = want + l->l3, *th = want + l->l4;

	CHECK(l->payload <= sizeof(want));
	memcpy(want, pkt, l->payload);
	if (l->ipv6) {
		put16(ip + 4, (unsigned)(len - l->l3 - 40));
	} else {
		put16(ip + 2, (unsigned)(len - l->l3));
		put16(ip + 4, (be16(ip + 4) + (unsigned)i) & 0xffff);
		memcpy(ip + 10, seg + l->l3 + 10, 2);
	}
	if (l->proto == 6) {
		put32(th + 4, be32(th + 4) + (uint32_t)off);
		if (!last)
			th[13] &= (uint8_t)~(FIN | PSH);
		if (i > 0)
			th[13] &= (uint8_t)~CWR;
		memcpy(th + 16, seg + l->l4 + 16, 2);
	} else {
		put16(th + 4, (unsigned)(len - l->l4));
		memcpy(th + 6, seg + l->l4 + 6, 2);
	}
	CHECK(memcmp(want, seg, l->payload) == 0);
}

/*
 * (a): splits the GSO packet pkt[0..len); returns -1 if the split refuses
 * it, else checks each segment and keeps it in *out when out is not NULL.
 */
static int
split_checked(const struct offload_vnet *v, const uint8_t *pkt, size_t len,
    int ether, struct list *out)
{
	struct offload_split s;
	struct ref_layout l;
	size_t n, hdr, off, i = 0;
	uint8_t *seg;

	if (offload_split_begin(&s, v, pkt, len, ether) == -1) {
		CHECK(offload_split_next_len(&s) == 0);
		return -1;
	}
	CHECK(ref_layout(pkt, len, ether, &l) == 0);
	CHECK(l.proto == ((v->gso_type & 0x7f) == OFFLOAD_GSO_UDP_L4 ? 17 :
	    6));
	hdr = off = l.payload;
	while ((n = offload_split_next_len(&s)) != 0) {
		CHECK(n >= hdr && n - hdr <= v->gso_size);
		CHECK(n - hdr <= len - off);
		CHECK(i == 0 || n > hdr);
		seg = xmalloc(n);
		CHECK(offload_split_next(&s, seg) == n);
		CHECK(ref_check(seg, n, ether) == NULL);
		CHECK(memcmp(seg + hdr, pkt + off, n - hdr) == 0);
		check_seg_headers(pkt, &l, seg, n, i, off - hdr,
		    off + (n - hdr) == len);
		off += n - hdr;
		i++;
		if (out != NULL && out->n < sizeof(out->p) / sizeof(out->p[0])) {
			out->p[out->n] = seg;
			out->len[out->n++] = n;
		} else {
			if (out != NULL)
				out->full = 1;
			free(seg);
		}
	}
	CHECK(i >= 1 && off == len);
	CHECK(offload_split_next(&s, NULL) == 0);
	return 0;
}

/*
 * The flow of pkt as offload.h defines it, in key (room for 18 + 1 + 1 +
 * 32 + 4 bytes): its Ethernet header (TAP), IP version, protocol,
 * addresses and ports; returns the key's length, or 0 for a packet of no
 * flow.
 */
static size_t
flow_key(const uint8_t *pkt, size_t len, int ether, uint8_t *key)
{
	size_t l3 = 0, l4, n;
	uint16_t type = 0;
	const uint8_t *ip;
	uint8_t proto;
	int ipv6;

	if (ether) {
		if (len < 14)
			return 0;
		l3 = 14;
		type = (uint16_t)be16(pkt + 12);
		if (type == 0x8100) {
			if (len < 18)
				return 0;
			l3 = 18;
			type = (uint16_t)be16(pkt + 16);
		}
		if (type != 0x0800 && type != 0x86dd)
			return 0;
	}
	ip = pkt + l3;
	if (!offload_is_ip(ip, len - l3))
		return 0;
	ipv6 = ip[0] >> 4 == 6;
	if (ether && ipv6 != (type == 0x86dd))
		return 0;
	l4 = l3 + (ipv6 ? 40 : (size_t)(ip[0] & 15) * 4);
	proto = ipv6 ? ip[6] : ip[9];
	if ((proto != 6 && proto != 17) || l4 + 4 > len ||
	    (!ipv6 && (be16(ip + 6) & 0x3fff) != 0))
		return 0;
	memcpy(key, pkt, l3);
	n = l3;
	key[n++] = (uint8_t)ipv6;
	key[n++] = proto;
	memcpy(key + n, ipv6 ? ip + 8 : ip + 12, ipv6 ? 32 : 8);
	n += ipv6 ? 32 : 8;
	memcpy(key + n, pkt + l4, 4);
	return n + 4;
}

/*
 * Whether seg, packet i of w split again, is the packet that went in: byte
 * for byte; or, for UDP datagrams over IPv4 with DF that all had the first
 * one's ID, but for the ID, which the split counts on, and so the header
 * checksum.
 */
static int
same_as_split(const struct offload_write *w, size_t i, const uint8_t *seg,
    const struct ref_layout *l)
{
	const uint8_t *p = w->packets[i].data, *first = w->packets[0].data;
	size_t n = w->packets[i].len, id = l->l3 + 4, sum = l->l3 + 10;

	if (memcmp(seg, p, n) == 0)
		return 1;
	if (w->kind != OFFLOAD_MERGE_UDP || l->ipv6 ||
	    be16(p + id) != be16(first + id) || !(be16(p + id + 2) & 0x4000) ||
	    be16(w->packets[1].data + id) != be16(first + id))
		return 0;
	return be16(seg + id) == ((be16(first + id) + i) & 0xffff) &&
	    memcmp(seg, p, id) == 0 && memcmp(seg + id + 2, p + id + 2,
	    sum - id - 2) == 0 && memcmp(seg + sum + 2, p + sum + 2,
	    n - sum - 2) == 0;
}

/* The order the packets of one merge's run were written in, as checked. */
struct order {
	size_t n;		/* packets offered */
	size_t written;		/* written so far */
	size_t at[RUN_MAX * 2];	/* when packet i was written */
	int done[RUN_MAX * 2];
};

/*
 * (b) for one write: checks it against the packets offered (pkts[0..n)),
 * and notes when each went.
 */
static void
check_write(const struct offload_write *w, uint8_t **pkts, const size_t *lens,
    int ether, struct order *o)
{
	struct offload_vnet v;
	struct ref_layout l;
	struct list segs = { .n = 0, .full = 0 };
	size_t k = w->npieces, count = w->npackets, len = 0, i, j;
	uint8_t *pkt;

	CHECK(count >= 1 && k == count + 1 && k <= OFFLOAD_PIECES_MAX);
	for (i = 0; i < count; i++) {	/* each one offered, once */
		for (j = 0; j < o->n && pkts[j] != w->packets[i].data; j++)
			continue;
		CHECK(j < o->n && !o->done[j] && w->packets[i].len == lens[j]);
		o->done[j] = 1;
		o->at[j] = o->written++;
	}
	CHECK(w->pieces[0].data == w->head);
	CHECK(w->pieces[0].len >= OFFLOAD_VNET_LEN &&
	    w->pieces[0].len <= OFFLOAD_VNET_LEN + OFFLOAD_HEAD_MAX);
	CHECK(offload_vnet_parse(w->head, w->pieces[0].len, &v) == 0);
	if (v.gso_type == OFFLOAD_GSO_NONE) {
		static const uint8_t zeros[OFFLOAD_VNET_LEN];

		CHECK(count == 1 && w->kind == 0);
		CHECK(w->pieces[0].len == OFFLOAD_VNET_LEN &&
		    memcmp(w->head, zeros, OFFLOAD_VNET_LEN) == 0);
		CHECK(w->pieces[1].data == w->packets[0].data &&
		    w->pieces[1].len == w->packets[0].len);
		return;
	}
	CHECK(count >= 2);
	for (i = 1; i < k; i++) {	/* each payload where it lay */
		const uint8_t *p = w->packets[i - 1].data;

		CHECK(w->pieces[i].data >= p && w->pieces[i].data +
		    w->pieces[i].len == p + w->packets[i - 1].len);
		len += w->pieces[i].len;
	}
	len += w->pieces[0].len - OFFLOAD_VNET_LEN;
	pkt = xmalloc(len);
	for (i = 0, len = 0; i < k; i++) {
		size_t skip = i == 0 ? OFFLOAD_VNET_LEN : 0;

		memcpy(pkt + len, w->pieces[i].data + skip,
		    w->pieces[i].len - skip);
		len += w->pieces[i].len - skip;
	}

	/* The GSO packet as the kernel wants it. */
	CHECK(ref_layout(pkt, len, ether, &l) == 0);
	CHECK(l.proto == 6 || l.proto == 17);
	CHECK(v.flags == OFFLOAD_F_NEEDS_CSUM && v.hdr_len == l.payload &&
	    v.csum_start == l.l4);
	if (l.proto == 17) {
		CHECK(w->kind == OFFLOAD_MERGE_UDP);
		CHECK(v.gso_type == OFFLOAD_GSO_UDP_L4 && v.csum_offset == 6);
		CHECK(be16(pkt + l.l4 + 4) == len - l.l4);
	} else {
		CHECK(w->kind == OFFLOAD_MERGE_TCP);
		CHECK(v.gso_type == (l.ipv6 ? OFFLOAD_GSO_TCPV6 :
		    OFFLOAD_GSO_TCPV4) && v.csum_offset == 16);
	}
	CHECK(v.gso_size == w->packets[0].len - l.payload);
	if (l.ipv6) {
		CHECK(be16(pkt + l.l3 + 4) + 40 + l.l3 == len);
	} else {
		CHECK(be16(pkt + l.l3 + 2) + l.l3 == len);
		CHECK(ref_sum(pkt + l.l3, l.l4 - l.l3, 0) == 0xffff);
	}
	CHECK(be16(pkt + l.l4 + v.csum_offset) ==
	    ref_pseudo(pkt, &l, len - l.l4));

	/* Split again, the same packets. */
	CHECK(split_checked(&v, pkt, len, ether, &segs) == 0);
	CHECK(segs.n == count);
	for (i = 0; i < count; i++)
		CHECK(segs.len[i] == w->packets[i].len &&
		    same_as_split(w, i, segs.p[i], &l));
	list_free(&segs);
	free(pkt);
}

/* Takes and checks every write the merge has to be taken. */
static size_t
take_checked(struct offload_merge *m, uint8_t **pkts, const size_t *lens,
    int ether, struct order *o)
{
	struct offload_write w;
	size_t writes = 0;

	while (offload_merge_take(m, &w) > 0) {
		check_write(&w, pkts, lens, ether, o);
		writes++;
	}
	return writes;
}

/*
 * (b), order: every packet written once; those of one flow in the order
 * offered; one of no flow after everything offered before it and before
 * everything offered after it.
 */
static void
check_order(const struct order *o, uint8_t **pkts, const size_t *lens,
    int ether)
{
	uint8_t ki[64], kj[64];
	size_t i, j, ni, nj;

	for (i = 0; i < o->n; i++) {
		CHECK(o->done[i]);
		ni = flow_key(pkts[i], lens[i], ether, ki);
		for (j = i + 1; j < o->n; j++) {
			nj = flow_key(pkts[j], lens[j], ether, kj);
			if (ni == 0 || nj == 0 ||
			    (ni == nj && memcmp(ki, kj, ni) == 0))
				CHECK(o->at[i] < o->at[j]);
		}
	}
}

/*
 * (b): offers pkts[0..n) to a merge of kinds as tunpipe would, and checks
 * every write and their order.  Returns how many writes came out.
 */
static size_t
merge_checked(uint8_t **pkts, const size_t *lens, size_t n, int ether,
    int kinds)
{
	struct offload_merge m;
	struct order o;
	size_t i, writes = 0;

	memset(&o, 0, sizeof(o));
	o.n = n;
	offload_merge_init(&m, ether, kinds);
	CHECK(offload_merge_empty(&m));
	for (i = 0; i < n; i++) {
		if (offload_merge_add(&m, pkts[i], lens[i]) == 1)
			continue;
		CHECK(!offload_merge_empty(&m) && i > 0);
		writes += take_checked(&m, pkts, lens, ether, &o);
		CHECK(offload_merge_add(&m, pkts[i], lens[i]) == 1);
	}
	offload_merge_flush(&m);
	writes += take_checked(&m, pkts, lens, ether, &o);
	CHECK(offload_merge_empty(&m));
	check_order(&o, pkts, lens, ether);
	return writes;
}

/*
 * (b), a merge never readied: offers pkts[0..n) to a zeroed merge, which
 * must take each alone, as a batch of one that takes no other.
 */
static void
unready_merge_checked(uint8_t **pkts, const size_t *lens, size_t n)
{
	static const uint8_t zeros[OFFLOAD_VNET_LEN];
	struct offload_merge m;
	struct offload_write w;
	size_t i;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < n; i++) {
		CHECK(offload_merge_add(&m, pkts[i], lens[i]) == 1);
		if (i + 1 < n)
			CHECK(offload_merge_add(&m, pkts[i + 1],
			    lens[i + 1]) == 0);
		else
			offload_merge_flush(&m);
		CHECK(offload_merge_take(&m, &w) == 2);
		CHECK(w.pieces[0].len == OFFLOAD_VNET_LEN &&
		    memcmp(w.pieces[0].data, zeros, OFFLOAD_VNET_LEN) == 0);
		CHECK(w.pieces[1].data == pkts[i] && w.pieces[1].len == lens[i]);
	}
	CHECK(offload_merge_empty(&m));
}

/*
 * The shape of packets built from the input: the headers' kind and their
 * variable parts; seed holds every other header byte.
 */
struct shape {
	int ether, vlan, ipv6, udp;
	size_t ipopts;		/* IPv4 option words, 0-10 */
	size_t tcpopts;		/* TCP option words, 0-10 */
	uint8_t flags;		/* TCP */
	uint16_t frag;		/* IPv4 flags and fragment offset */
	uint8_t seed[SEED_LEN];
};

/*
 * Writes at out the headers of a packet of the shape sh carrying payload
 * bytes, with sequence number seq and IPv4 ID id; returns their length and
 * sets *l.  Seed bytes: 0-13 Ethernet and tag, 14-19 IP, 20-51 addresses,
 * 52-91 IPv4 options, 92-106 TCP or UDP, 110-149 TCP options.
 */
static size_t
build(const struct shape *sh, uint8_t *out, size_t payload, uint32_t seq,
    unsigned id, struct ref_layout *l)
{
	const uint8_t *sd = sh->seed;
	size_t iphl, thl = sh->udp ? 8 : 20 + 4 * sh->tcpopts;
	uint8_t *ip, *th;

	l->l3 = 0;
	if (sh->ether) {
		memcpy(out, sd, 12);
		l->l3 = 12;
		if (sh->vlan) {
			put16(out + 12, 0x8100);
			put16(out + 14, be16(sd + 12));
			l->l3 += 4;
		}
		put16(out + l->l3, sh->ipv6 ? 0x86dd : 0x0800);
		l->l3 += 2;
	}
	ip = out + l->l3;
	l->ipv6 = sh->ipv6;
	l->proto = sh->udp ? 17 : 6;
	if (sh->ipv6) {
		iphl = 40;
		ip[0] = 0x60 | (sd[14] & 0x0f);
		memcpy(ip + 1, sd + 15, 3);
		put16(ip + 4, (unsigned)(thl + payload));
		ip[6] = (uint8_t)l->proto;
		ip[7] = sd[18];
		memcpy(ip + 8, sd + 20, 32);
	} else {
		iphl = 20 + 4 * sh->ipopts;
		ip[0] = (uint8_t)(0x40 | iphl / 4);
		ip[1] = sd[14];
		put16(ip + 2, (unsigned)(iphl + thl + payload));
		put16(ip + 4, id & 0xffff);
		put16(ip + 6, sh->frag);
		ip[8] = sd[15];
		ip[9] = (uint8_t)l->proto;
		memcpy(ip + 10, sd + 16, 2);
		memcpy(ip + 12, sd + 20, 8);
		memcpy(ip + 20, sd + 52, 4 * sh->ipopts);
	}
	l->l4 = l->l3 + iphl;
	th = out + l->l4;
	memcpy(th, sd + 92, 4);		/* ports */
	if (sh->udp) {
		put16(th + 4, (unsigned)(thl + payload));
		memcpy(th + 6, sd + 96, 2);
	} else {
		put32(th + 4, seq);
		memcpy(th + 8, sd + 96, 4);	/* ACK */
		th[12] = (uint8_t)((thl / 4) << 4 | (sd[100] & 0x0f));
		th[13] = sh->flags;
		memcpy(th + 14, sd + 101, 6);	/* window, sum, urgent */
		memcpy(th + 20, sd + 110, 4 * sh->tcpopts);
	}
	l->payload = l->l4 + thl;
	return l->payload;
}

/* Reads the shape's common part: byte 0's bits, then seed bytes. */
static void
read_shape(struct shape *sh, uint8_t mode, struct input *in)
{
	size_t i;

	memset(sh, 0, sizeof(*sh));
	sh->ether = (mode & 0x04) != 0;
	sh->vlan = sh->ether && (mode & 0x08) != 0;
	sh->ipv6 = (mode & 0x10) != 0;
	for (i = 0; i < SEED_LEN; i++)
		sh->seed[i] = take8(in);
}

/* Spoils n bytes of p[0..len) at places and by values the input gives. */
static void
spoil(uint8_t *p, size_t len, size_t n, struct input *in)
{
	size_t at;

	for (; n > 0 && len > 0; n--) {
		at = take16(in) % len;
		p[at] ^= (uint8_t)(take8(in) | 1);
	}
}

/*
 * Whether UDP datagrams, or TCP segments carrying these flags, in an IPv4
 * header with these flags and offset, may be merged at all.
 */
static int
mergeable(const struct shape *sh)
{
	return (sh->udp || ((sh->flags & ACK) &&
	    !(sh->flags & (SYN | FIN | RST | URG | CWR)))) &&
	    (sh->ipv6 || (sh->ipopts == 0 && (sh->frag & ~0x4000) == 0));
}

/* 0: a GSO packet built from the input, split. */
static void
fuzz_split(uint8_t mode, struct input *in)
{
	struct shape sh;
	struct ref_layout l;
	struct offload_vnet v;
	struct list segs = { .n = 0, .full = 0 };
	size_t hdr, payload, spoilt = mode >> 6, i;
	uint8_t *frame, *pkt;
	unsigned gso;

	read_shape(&sh, mode, in);
	sh.udp = (mode & 0x20) != 0;
	gso = 1 + take16(in) % 2000;
	sh.ipopts = take8(in) % 11;
	if (sh.ipv6)
		sh.ipopts = 0;
	sh.tcpopts = take8(in) % 11;
	sh.flags = take8(in);
	sh.frag = (uint16_t)(take16(in) & 0xc000);	/* DF, reserved */
	payload = in->len;
	frame = xmalloc(OFFLOAD_VNET_LEN + HEAD_ROOM + payload);
	hdr = build(&sh, frame + OFFLOAD_VNET_LEN, payload,
	    be32(sh.seed + 152), be16(sh.seed + 156), &l);
	if (hdr + payload - l.l3 > 65535 || (sh.ipv6 &&
	    hdr + payload - l.l3 - 40 > 65535)) {
		free(frame);
		return;
	}
	memcpy(frame + OFFLOAD_VNET_LEN + hdr, in->p, payload);
	v.flags = sh.seed[158] & 1 ? OFFLOAD_F_NEEDS_CSUM :
	    sh.seed[158] & 2 ? OFFLOAD_F_DATA_VALID : 0;
	v.gso_type = sh.udp ? OFFLOAD_GSO_UDP_L4 : sh.ipv6 ?
	    OFFLOAD_GSO_TCPV6 : OFFLOAD_GSO_TCPV4;
	if (!sh.udp && (sh.seed[158] & 4))
		v.gso_type |= OFFLOAD_GSO_ECN;
	v.hdr_len = (uint16_t)be16(sh.seed + 150);	/* a hint, unread */
	v.gso_size = (uint16_t)gso;
	v.csum_start = (uint16_t)l.l4;
	v.csum_offset = sh.udp ? 6 : 16;
	offload_vnet_encode(&v, frame);
	spoil(frame, OFFLOAD_VNET_LEN + hdr + payload, spoilt, in);

	pkt = copy(frame + OFFLOAD_VNET_LEN, hdr + payload);
	if (offload_vnet_parse(frame, OFFLOAD_VNET_LEN, &v) == 0 &&
	    split_checked(&v, pkt, hdr + payload, sh.ether, &segs) == 0) {
		if (spoilt == 0 && mergeable(&sh) && payload > 0 &&
		    segs.n <= OFFLOAD_MERGE_MAX)
			CHECK(merge_checked(segs.p, segs.len, segs.n,
			    sh.ether, BOTH) == 1);
		else if (!segs.full)
			merge_checked(segs.p, segs.len, segs.n, sh.ether,
			    BOTH);
	} else {
		CHECK(spoilt > 0);
	}
	for (i = 0; i < segs.n; i++)
		free(segs.p[i]);
	free(pkt);
	free(frame);
}

/*
 * The batches a merge should make of an unchanged run: as many segments
 * as fit under 64 segments and 65535 bytes of IP length, a short segment
 * ending a batch.
 */
static size_t
expected_batches(const size_t *payloads, size_t n, size_t iphdrs)
{
	size_t i = 0, batches = 0, count, total, mss;

	while (i < n) {
		batches++;
		mss = total = payloads[i++];
		count = 1;
		while (i < n && count < OFFLOAD_MERGE_MAX &&
		    payloads[i - 1] == mss && payloads[i] <= mss &&
		    iphdrs + total + payloads[i] <= 65535) {
			total += payloads[i++];
			count++;
		}
	}
	return batches;
}

/*
 * 1: a run of TCP segments of one connection, or of UDP datagrams of one
 * flow, built from the input: n of mss bytes of payload, the last shorter; some changed as the
 * input says, where it says (changes[j]), before or after their checksums
 * are written.
 */
static void
fuzz_merge(uint8_t mode, struct input *in)
{
	struct shape sh;
	struct ref_layout l;
	uint8_t *pkts[RUN_MAX], buf[HEAD_ROOM + 1502];
	size_t lens[RUN_MAX], payloads[RUN_MAX], n, mss, i, k, hdr, changed = 0;
	uint8_t change, what;
	uint32_t seq;
	int fixed;

	read_shape(&sh, mode, in);
	sh.udp = (mode & 0x20) != 0;
	sh.tcpopts = take8(in) % 11;
	sh.flags = (uint8_t)(ACK | (take8(in) & ECE));
	sh.frag = (uint16_t)(take8(in) & 1 ? 0x4000 : 0);
	fixed = sh.udp && (take8(in) & 1);	/* every ID the first's */
	n = 1 + take8(in) % RUN_MAX;
	mss = 1 + take16(in) % 1500;
	seq = be32(sh.seed + 152);
	for (i = 0; i < n; i++) {
		payloads[i] = i + 1 < n ? mss : 1 + take16(in) % mss;
		change = take8(in);
		what = change < 24 ? take8(in) : 0xff;
		if (what != 0xff && what % 8 == 3)	/* larger than mss */
			payloads[i] = mss + 1;
		if (what != 0xff && what % 8 == 7)	/* shorter */
			payloads[i] = payloads[i] / 2;
		sh.flags = (uint8_t)(sh.flags & ~PSH);
		if (i + 1 == n && (change & 0x80))
			sh.flags |= PSH;
		hdr = build(&sh, buf, payloads[i], seq,
		    be16(sh.seed + 156) + (fixed ? 0 : (unsigned)i), &l);
		for (k = 0; k < payloads[i]; k++)
			buf[hdr + k] = (uint8_t)(seq + k);
		if (what != 0xff) {
			changed++;
			switch (what % 8) {
			case 0:	/* a bit of the headers */
				buf[take8(in) % hdr] ^= (uint8_t)(1 <<
				    take8(in) % 8);
				break;
			case 1:	/* the sequence number */
				put32(buf + l.l4 + 4, seq + 1);
				break;
			case 2:	/* the ID */
				put16(buf + l.l3 + 4, be16(buf + l.l3 + 4) ^
				    (sh.ipv6 ? 0 : 2));
				break;
			case 4:	/* a flag */
				buf[l.l4 + 13] |= (uint8_t)(1 << take8(in) %
				    8);
				break;
			}
		}
		/* A bit flipped may leave no TCP header to sum. */
		if (ref_fix(buf, hdr + payloads[i], sh.ether, 0) == -1)
			CHECK(what % 8 == 0);
		if (what != 0xff && what % 8 == 5)	/* a checksum */
			buf[(take8(in) & 1 ? l.l4 + 16 : l.l3 + 10) +
			    (take8(in) & 1)] ^= 1;
		lens[i] = hdr + payloads[i];
		pkts[i] = copy(buf, lens[i]);
		seq += (uint32_t)payloads[i];
	}
	for (i = 0; i < (size_t)(mode >> 6); i++) {
		k = take8(in) % n;
		spoil(pkts[k], lens[k], 1, in);
	}
	if (mode >> 6 == 0 && changed == 0)	/* a fixed ID needs DF */
		CHECK(merge_checked(pkts, lens, n, sh.ether, BOTH) ==
		    (fixed && !sh.ipv6 && !(sh.frag & 0x4000) ? n :
		    expected_batches(payloads, n, l.payload - l.l3 -
		    (sh.ipv6 ? 40 : 0))));
	else
		merge_checked(pkts, lens, n, sh.ether, BOTH);
	/*
	 * The same bytes read in the other mode, by a merge that does not
	 * take their kind, and by no mode at all.
	 */
	merge_checked(pkts, lens, n, !sh.ether, BOTH);
	CHECK(merge_checked(pkts, lens, n, sh.ether, sh.udp ?
	    OFFLOAD_MERGE_TCP : OFFLOAD_MERGE_UDP) == n);
	unready_merge_checked(pkts, lens, n);
	for (i = 0; i < n; i++)
		free(pkts[i]);
}

/* 2, GSO_NONE: (c), on a packet in a buffer of its size. */
static void
fuzz_finish(const struct offload_vnet *v, const uint8_t *p, size_t len)
{
	uint8_t *pkt = copy(p, len);
	size_t at = (size_t)v->csum_start + v->csum_offset;
	unsigned want;

	if (offload_finish_csum(pkt, len, v) == -1) {
		CHECK((v->flags & OFFLOAD_F_NEEDS_CSUM) && at + 2 > len);
	} else if (!(v->flags & OFFLOAD_F_NEEDS_CSUM)) {
		CHECK(len == 0 || memcmp(pkt, p, len) == 0);
	} else {
		CHECK(at + 2 <= len);
		want = (uint16_t)~ref_sum(p + v->csum_start,
		    len - v->csum_start, 0);
		CHECK(be16(pkt + at) == (want != 0 ? want : 0xffff));
		CHECK(memcmp(pkt, p, at) == 0 &&
		    memcmp(pkt + at + 2, p + at + 2, len - at - 2) == 0);
	}
	free(pkt);
}

/* 2: a frame as the device hands it over, in both modes. */
static void
fuzz_frame(struct input *in)
{
	struct offload_vnet v;
	uint8_t raw[OFFLOAD_VNET_LEN], *pkt;

	if (offload_vnet_parse(in->p, in->len, &v) == -1)
		return;
	offload_vnet_encode(&v, raw);
	CHECK(memcmp(raw, in->p, OFFLOAD_VNET_LEN) == 0);
	if (v.gso_type == OFFLOAD_GSO_NONE) {
		fuzz_finish(&v, in->p + OFFLOAD_VNET_LEN,
		    in->len - OFFLOAD_VNET_LEN);
		return;
	}
	pkt = copy(in->p + OFFLOAD_VNET_LEN, in->len - OFFLOAD_VNET_LEN);
	CHECK(offload_finish_csum(pkt, in->len - OFFLOAD_VNET_LEN, &v) == -1);
	split_checked(&v, pkt, in->len - OFFLOAD_VNET_LEN, 0, NULL);
	split_checked(&v, pkt, in->len - OFFLOAD_VNET_LEN, 1, NULL);
	free(pkt);
}

/* 3: packets from the stream, as they are, in both modes and in none. */
static void
fuzz_packets(struct input *in)
{
	uint8_t *pkts[RUN_MAX * 2] = { NULL };
	size_t lens[RUN_MAX * 2] = { 0 }, n = 0, i, len;

	while (in->len > 0 && n < RUN_MAX * 2) {
		len = take8(in);
		if (len == 255 && in->len >= 2)
			len = take16(in);
		if (len > in->len)
			len = in->len;
		pkts[n] = copy(in->p, len);
		lens[n++] = len;
		in->p += len;
		in->len -= len;
	}
	merge_checked(pkts, lens, n, 0, BOTH);
	merge_checked(pkts, lens, n, 1, BOTH);
	merge_checked(pkts, lens, n, 0, OFFLOAD_MERGE_TCP);
	unready_merge_checked(pkts, lens, n);
	for (i = 0; i < n; i++)
		free(pkts[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data + 1, size > 0 ? size - 1 : 0 };

	if (size == 0)
		return 0;
	switch (data[0] & 3) {
	case 0:
		fuzz_split(data[0], &in);
		break;
	case 1:
		fuzz_merge(data[0], &in);
		break;
	case 2:
		fuzz_frame(&in);
		break;
	case 3:
		fuzz_packets(&in);
		break;
	}
	return 0;
}
