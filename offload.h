/*
 * offload.h: the kernel's segmentation offloads, done by tunpipe itself, so
 * that the device can hand over and take 64 KiB at a time while the stream
 * carries only ordinary packets.
 *
 * A device opened with IFF_VNET_HDR, a 10-byte header (TUNSETVNETHDRSZ), in
 * little-endian order (TUNSETVNETLE) and with the offloads on (TUNSETOFFLOAD:
 * CSUM, TSO4, TSO6, TSO_ECN, USO4, USO6) puts a virtio-net header before
 * every packet it reads, and wants one before every packet written to it:
 *
 *	+---------------------+----------------------------------- ... ---+
 *	| virtio-net header   | packet: TUN mode, the IP header first;      |
 *	| (10 bytes, LE)      | TAP mode, an Ethernet header first (14      |
 *	|                     | bytes, or 18 with one 802.1Q tag)           |
 *	+---------------------+----------------------------------- ... ---+
 *
 * Device to stream: a packet the device reads may be a GSO packet, up to
 * 64 KiB of one TCP connection or of UDP datagrams under one set of headers,
 * to be cut into segments of gso_size bytes of payload each; or an ordinary
 * packet whose TCP or UDP checksum is left partial.  offload_finish_csum()
 * and the offload_split_* functions turn either into ordinary packets that
 * any peer can take.
 *
 * Stream to device: offload_merge_* gathers consecutive TCP segments of one
 * connection, or UDP datagrams of one flow, found in one read of the
 * stream, into one GSO packet, written to the device with writev() from
 * where the payloads lie: the kernel then takes 64 KiB in one write, and
 * hands a UDP socket that did not ask for UDP_GRO its datagrams one by one,
 * as they were sent.  Several flows gather at once.  It merges only what
 * the kernel's own GRO would (net/ipv4/tcp_offload.c: tcp_gro_receive();
 * udp_offload.c: udp_gro_receive_segment(); inet_gro_receive(),
 * ipv6_gro_receive()), and refuses whenever in doubt: a refused packet goes
 * to the device as it came.
 *
 * Split and merge agree: the segments of a merged batch, split again, are
 * the segments that went in, byte for byte (but for the IDs of UDP
 * datagrams that all had the same one, which the split counts on).
 *
 * The module makes no system calls, never prints and never allocates: the
 * caller owns every buffer.  It exports only offload_* names.
 */
#ifndef OFFLOAD_H
#define OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

/* struct virtio_net_hdr, include/uapi/linux/virtio_net.h. */
#define OFFLOAD_VNET_LEN	10

#define OFFLOAD_F_NEEDS_CSUM	1	/* checksum left partial: finish it */
#define OFFLOAD_F_DATA_VALID	2	/* checksum already verified */

#define OFFLOAD_GSO_NONE	0	/* an ordinary packet */
#define OFFLOAD_GSO_TCPV4	1	/* TCP over IPv4, cut at gso_size */
#define OFFLOAD_GSO_UDP		3	/* UFO: IP fragments (legacy) */
#define OFFLOAD_GSO_TCPV6	4	/* TCP over IPv6 */
#define OFFLOAD_GSO_UDP_L4	5	/* USO: UDP datagrams, IPv4 or IPv6 */
#define OFFLOAD_GSO_ECN		0x80	/* with one of the TCP types: CWR set */

/* A virtio-net header, its fields in host order. */
struct offload_vnet {
	uint8_t flags;		/* OFFLOAD_F_* */
	uint8_t gso_type;	/* OFFLOAD_GSO_* */
	uint16_t hdr_len;	/* bytes of headers (from the kernel: a hint) */
	uint16_t gso_size;	/* payload bytes per segment */
	uint16_t csum_start;	/* where the summed bytes start */
	uint16_t csum_offset;	/* where the sum goes, after csum_start */
};

/*
 * offload_vnet_parse(raw, len, v): reads the virtio-net header at the start
 * of raw[0..len) into *v.  Returns 0, or -1 when len is under
 * OFFLOAD_VNET_LEN or the header has a flag or a gso_type the kernel would
 * refuse on a write (include/linux/virtio_net.h: virtio_net_hdr_to_skb()):
 * flags other than NEEDS_CSUM and DATA_VALID, a type other than those
 * above, or ECN with NONE or UDP_L4.  Such a frame does not come from a
 * device, nor from a peer that runs with -O.
 *
 * offload_vnet_encode(v, raw): writes *v as OFFLOAD_VNET_LEN bytes at raw.
 */
int	offload_vnet_parse(const uint8_t *raw, size_t len,
	    struct offload_vnet *);
void	offload_vnet_encode(const struct offload_vnet *, uint8_t *raw);

/*
 * offload_is_ip(p, len): whether p[0..len) holds an IPv4 packet (IHL at
 * least 5, total length len) or an IPv6 packet (40 + payload length = len).
 * Anything else the kernel would refuse or, worse, take as a mangled packet.
 */
int	offload_is_ip(const uint8_t *p, size_t len);

/*
 * offload_finish_csum(pkt, len, v): for an ordinary packet (gso_type NONE)
 * whose header says NEEDS_CSUM, completes in place the checksum the kernel
 * left partial: the ones' complement sum of pkt[csum_start..len), which
 * takes in the pseudo-header's sum that the kernel left in the checksum
 * field, is folded, complemented and stored in that field, at csum_start +
 * csum_offset (a result of 0 stored as 0xffff, as the kernel does: a UDP
 * checksum of 0 would mean none).  In TAP mode the offsets count from the
 * Ethernet header, as pkt does.  Without NEEDS_CSUM there is nothing to do.
 * Returns 0, or -1 for a GSO packet (see the split) or a checksum field that
 * does not lie inside pkt[0..len).
 */
int	offload_finish_csum(uint8_t *pkt, size_t len,
	    const struct offload_vnet *);

/*
 * Cutting one GSO packet into segments.  Treat it as opaque.  Only an
 * offload_split_begin() that succeeds readies it: before one, or after one
 * that fails, a split gives no segment (zeroed, it has none to give).
 */
struct offload_split {
	const uint8_t *pkt;	/* the GSO packet, the caller's */
	size_t len;
	size_t l3;		/* where the IP header starts */
	size_t l4;		/* where the TCP or UDP header starts */
	size_t hdr;		/* bytes of headers, l4 and TCP's or UDP's */
	size_t mss;		/* payload bytes per segment: gso_size */
	size_t pos;		/* where the next segment's payload starts */
	size_t index;		/* segments written */
	uint32_t addr_sum;	/* the pseudo-header's sum, without length */
	int tcp;
	int ipv6;
};

/*
 * offload_split_begin(s, v, pkt, len, ether): readies s to cut the GSO
 * packet pkt[0..len), read from the device after the header *v (gso_type
 * TCPV4, TCPV6 or UDP_L4, with or without ECN), into segments.  ether is
 * nonzero in TAP mode.  pkt must stay as it is until the last segment is
 * written.  v's hdr_len is not used: the kernel puts there how much of the
 * packet it held in one piece, which may be more than the headers.
 * Returns 0, or -1 when the packet cannot be cut: its headers do not parse
 * (the IP length disagrees with len, an IPv4 fragment, IPv6 extension
 * headers, a TCP header length under 20 bytes, a truncated header), they
 * disagree with v (another protocol or IP version, csum_start not at the
 * TCP or UDP header, csum_offset not at its checksum field), gso_size is 0
 * or gso_type is NONE or UFO.  The caller then drops the packet.
 *
 * offload_split_next_len(s): the bytes of the next segment, at most the
 * headers + gso_size; 0 when every segment has been written.
 *
 * offload_split_next(s, out): writes the next segment at out, which has
 * room for offload_split_next_len() bytes, and returns its length, or 0
 * when every segment has been written.  Each segment is an ordinary packet:
 * the headers of pkt, then the next gso_size bytes of its payload (fewer in
 * the last), with the IPv4 total length, ID (the first's + the segment's
 * index) and header checksum, or the IPv6 payload length, set for it; TCP:
 * the sequence number advanced by the payload before it, FIN and PSH only
 * on the last segment, CWR only on the first; UDP: the length set; and the
 * TCP or UDP checksum computed in full, pseudo-header included (UDP: 0
 * sent as 0xffff).  A GSO packet whose payload fits in one segment gives
 * one segment; one with no payload gives its headers alone.  The caller
 * may stop between segments, when its output buffer is full, and go on
 * later.
 */
int	offload_split_begin(struct offload_split *,
	    const struct offload_vnet *, const uint8_t *pkt, size_t len,
	    int ether);
size_t	offload_split_next_len(const struct offload_split *);
size_t	offload_split_next(struct offload_split *, uint8_t *out);

/*
 * Coalescing: at most OFFLOAD_MERGE_MAX segments go in one GSO packet (the
 * kernel's UDP_MAX_SEGMENTS, and its GRO's count), at most OFFLOAD_FLOWS
 * flows gather at once, and a write has at most OFFLOAD_PIECES_MAX pieces.
 * OFFLOAD_HEAD_MAX is the most header bytes a merged packet has: an
 * Ethernet header with a tag, IPv6, and TCP with 40 bytes of options.
 */
#define OFFLOAD_MERGE_MAX	64
#define OFFLOAD_FLOWS		8
#define OFFLOAD_PIECES_MAX	(OFFLOAD_MERGE_MAX + 1)
#define OFFLOAD_HEAD_MAX	(18 + 40 + 60)

/* What a merge may join: offload_merge_init()'s kinds. */
#define OFFLOAD_MERGE_TCP	1	/* TCP segments: TSO4 and TSO6 */
#define OFFLOAD_MERGE_UDP	2	/* UDP datagrams: USO4 and USO6 */

/* One piece of a writev(): the bytes at data[0..len). */
struct offload_piece {
	const uint8_t *data;
	size_t len;
};

/* One flow's run of packets, in a merge.  Treat it as opaque. */
struct offload_batch {
	size_t count;		/* packets; 0: the slot is free */
	uint64_t age;		/* when it opened: the oldest goes first */
	int keyed;		/* TCP or UDP, its ports read: a flow */
	int mergeable;		/* its first packet may take others */
	int closed;		/* it takes no more packets */
	int due;		/* to be taken before anything else is added */
	int udp;
	int fixed_id;		/* UDP over IPv4: every ID the first's */
	size_t l3, l4, hdr;	/* the first's IP, TCP or UDP, payload offsets */
	size_t mss;		/* the first's payload length: gso_size */
	size_t payload;		/* payload bytes in the batch */
	uint32_t next_seq;	/* TCP: the sequence number that may follow */
	int last_psh;		/* TCP: the last packet has PSH */
	struct offload_piece packets[OFFLOAD_MERGE_MAX];	/* as they came */
};

/*
 * The packets of the stream on their way to the device, gathered by flow.
 * Treat it as opaque.  Only offload_merge_init() readies it, and says in
 * which mode and what it joins: a merge it never readied (one left zeroed,
 * say) is in neither mode and merges nothing, each packet offered to it a
 * batch of one that goes as it came, before anything offered after it.
 */
struct offload_merge {
	int ready;		/* offload_merge_init() was called */
	int ether;		/* TAP mode: packets start with Ethernet */
	int kinds;		/* OFFLOAD_MERGE_*: what may be joined */
	uint64_t clock;		/* batches opened so far */
	struct offload_batch batch[OFFLOAD_FLOWS];
};

/*
 * What offload_merge_take() gives: one write to the device, and what went
 * into it.
 */
struct offload_write {
	struct offload_piece pieces[OFFLOAD_PIECES_MAX];	/* to writev() */
	size_t npieces;
	struct offload_piece packets[OFFLOAD_MERGE_MAX];	/* as they came */
	size_t npackets;
	size_t bytes;		/* the packets' bytes, as they came */
	int kind;		/* OFFLOAD_MERGE_TCP or _UDP merged; 0: one packet */
	uint8_t head[OFFLOAD_VNET_LEN + OFFLOAD_HEAD_MAX];
};

/*
 * offload_merge_init(m, ether, kinds): readies an empty merge; ether is
 * nonzero in TAP mode, where a packet is an Ethernet frame and only the IP
 * packet after its header (and one 802.1Q tag) is read: a frame of another
 * type is never merged, whatever its bytes would say read as IP, and frames
 * merge only behind the same Ethernet header, byte for byte, tag included.
 * kinds says what may be joined: OFFLOAD_MERGE_TCP, OFFLOAD_MERGE_UDP, both,
 * or 0 (nothing, each packet alone): only what the device was granted.
 *
 * offload_merge_stop(m, kinds): joins no more packets of kinds from now on
 * (a device that refused a merged write); the batches held stay as they are.
 *
 * offload_merge_add(m, pkt, len): offers the next packet decoded from the
 * stream, pkt[0..len).  Returns 1 when the merge took it (it joined a
 * batch, or opened one); pkt must then stay where it is, unchanged, until
 * its batch is taken.  Returns 0 when something must be taken first: the
 * caller takes batches with offload_merge_take() until it gives none, then
 * offers pkt again, which the merge then takes.
 *
 * A flow is the TCP or UDP packets with the same IP version, addresses,
 * ports and (TAP) Ethernet header.  A packet of a flow that has a batch
 * joins it, or, when it cannot, has that batch taken first and opens the
 * next; a packet of another flow opens a batch of its own, the oldest batch
 * taken first when OFFLOAD_FLOWS are open.  So the order of the packets of
 * each flow is kept, and the runs of several flows interleaved in one read
 * each merge.  A packet of no flow (not TCP or UDP, a fragment, IPv6
 * extension headers, not IP) has everything taken before it, and is taken
 * before anything after it: its order is kept with every packet.
 *
 * A packet that can never be merged (a kind not allowed; IP options or a
 * fragment; TCP: a flag other than ACK, PSH and ECE, or no payload; UDP:
 * no payload, or no checksum; a wrong checksum; ...) makes a batch of one
 * that takes no other.  A segment joins a batch when it follows the last
 * one in the flow with nothing changed but what a split changes: IPv4
 * with no options, not a fragment, the same ToS, TTL and DF, the next ID
 * (UDP with DF: or the same ID in every datagram, as a socket that is not
 * connected sends them, which the kernel's split then counts on);
 * or IPv6 with no extension header, the same traffic class, flow label and
 * hop limit; TCP with the next sequence number, the same ACK, flags (ACK
 * set; no SYN, FIN, RST, URG nor CWR), window, urgent pointer and option
 * bytes; UDP with a UDP length that is the packet's; a payload no larger
 * than the first's, the one before it as large as the first's (and, TCP,
 * without PSH); the whole within 65535 bytes of IP length and
 * OFFLOAD_MERGE_MAX segments; and checksums (IPv4 header, TCP or UDP)
 * that a split would write, so that a corrupted segment is never hidden
 * inside a packet whose checksum the kernel will not check (UDP over IPv4
 * with no checksum, 0, is not merged: its split would have one).
 *
 * offload_merge_flush(m): marks every batch to be taken, as at the end of
 * a read of the stream, before the buffer the packets lie in is reused.
 *
 * offload_merge_take(m, w): takes the oldest batch marked to be taken into
 * *w, and returns w->npieces, the pieces to write to the device in order;
 * 0 when no batch is to be taken.  w->pieces[0] starts with the virtio-net
 * header and lies in w->head; the other pieces lie in the caller's
 * packets, and w->packets are the packets that went in, as they came (to
 * write one by one should the device refuse the whole).  A batch of one
 * packet gives a header of zeros and the packet, unchanged.  A batch of
 * several gives one piece of a header (NEEDS_CSUM; gso_type TCPV4, TCPV6
 * or UDP_L4; hdr_len the headers' length, gso_size the first's payload
 * length, csum_start at the TCP or UDP header, csum_offset 16 or 6) and of
 * the first packet's headers, made to describe the whole (IPv4 total
 * length and header checksum, or IPv6 payload length; TCP: PSH from the
 * last packet; UDP: the length of the whole; the TCP or UDP checksum field
 * holding the pseudo-header's sum for the whole, as the kernel wants it
 * for a partial checksum), then each packet's payload.
 *
 * offload_merge_empty(m): whether the merge holds no packet.
 */
void	offload_merge_init(struct offload_merge *, int ether, int kinds);
void	offload_merge_stop(struct offload_merge *, int kinds);
int	offload_merge_add(struct offload_merge *, const uint8_t *pkt,
	    size_t len);
void	offload_merge_flush(struct offload_merge *);
size_t	offload_merge_take(struct offload_merge *, struct offload_write *);
int	offload_merge_empty(const struct offload_merge *);

#endif
