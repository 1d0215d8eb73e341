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
 * connection, found in one read of the stream, into one GSO packet, written
 * to the device with writev() from where the payloads lie: the kernel then
 * takes 64 KiB in one write.  It merges only what the kernel's own GRO
 * would (net/ipv4/tcp_offload.c: tcp_gro_receive(); inet_gro_receive(),
 * ipv6_gro_receive()), and refuses whenever in doubt: a refused packet goes
 * to the device as it came.
 *
 * Split and merge agree: the segments of a merged batch, split again, are
 * the segments that went in, byte for byte.
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
 * Coalescing: at most OFFLOAD_MERGE_MAX segments go in one GSO packet, and
 * offload_merge_take() gives at most OFFLOAD_PIECES_MAX pieces.
 * OFFLOAD_HEAD_MAX is the most header bytes a merged packet has: an
 * Ethernet header with a tag, IPv6, and TCP with 40 bytes of options.
 */
#define OFFLOAD_MERGE_MAX	64
#define OFFLOAD_PIECES_MAX	(OFFLOAD_MERGE_MAX + 1)
#define OFFLOAD_HEAD_MAX	(18 + 40 + 60)

/* One piece of a writev(): the bytes at data[0..len). */
struct offload_piece {
	const uint8_t *data;
	size_t len;
};

/*
 * A batch of segments on its way to one GSO packet.  Treat it as opaque.
 * Only offload_merge_init() readies it, and says in which mode: a merge it
 * never readied (one left zeroed, say) is in neither, and merges nothing,
 * each packet offered to it a batch of one that goes as it came.
 */
struct offload_merge {
	int ready;		/* offload_merge_init() was called */
	int ether;		/* TAP mode: packets start with Ethernet */
	size_t count;		/* packets in the batch */
	int closed;		/* the batch takes no more packets */
	int mergeable;		/* its first packet may take others */
	const uint8_t *first;	/* the batch's first packet, the caller's */
	size_t first_len;
	size_t l3, l4, hdr;	/* the first's IP, TCP and payload offsets */
	size_t mss;		/* the first's payload length: gso_size */
	size_t payload;		/* payload bytes in the batch */
	uint32_t next_seq;	/* the sequence number that may follow */
	int last_psh;		/* the last packet has PSH */
	struct offload_piece payloads[OFFLOAD_MERGE_MAX];
	uint8_t out[OFFLOAD_VNET_LEN + OFFLOAD_HEAD_MAX];
};

/*
 * offload_merge_init(m, ether): readies an empty batch; ether is nonzero in
 * TAP mode, where a packet is an Ethernet frame and only the IP packet
 * after its header (and one 802.1Q tag) is read: a frame of another type
 * is never merged, whatever its bytes would say read as IP, and frames
 * merge only behind the same Ethernet header, byte for byte, tag included.
 *
 * offload_merge_add(m, pkt, len): offers the next packet decoded from the
 * stream, pkt[0..len).  Returns 1 when it joined the batch (possibly as its
 * first packet); pkt must then stay where it is, unchanged, until the batch
 * is taken.  Returns 0 when it cannot join: the caller takes the batch, then
 * offers pkt again, which an empty batch always takes.  A packet that can
 * never be merged (not TCP; IP options or extension headers, a fragment;
 * a flag other than ACK, PSH and ECE; no payload; a wrong checksum; ...)
 * makes a batch of one that takes no other.
 *
 * A segment joins a batch when it follows the previous one in the same
 * connection with nothing changed but what a split changes: the same
 * Ethernet header (TAP); IPv4 with no options, not a fragment, the same ToS,
 * TTL and DF, the next ID; or IPv6 with no extension header, the same
 * traffic class, flow label and hop limit; TCP with the next sequence
 * number, the same ACK, flags (ACK set; no SYN, FIN, RST, URG nor CWR),
 * window, urgent pointer and option bytes; a payload no larger than the
 * first's, the one before it as large as the first's and without PSH;
 * the whole within 65535 bytes of IP length and OFFLOAD_MERGE_MAX segments;
 * and checksums (IPv4 header, TCP) that a split would write, so that a
 * corrupted segment is never hidden inside a packet whose checksum the
 * kernel will not check.
 *
 * offload_merge_take(m, pieces): empties the batch and sets pieces (room
 * for OFFLOAD_PIECES_MAX) to what to write to the device, in order;
 * returns how many, 0 for an empty batch.  pieces[0] starts with the
 * virtio-net header and lies in m: it stays valid until the next take or
 * init.  The other pieces lie in the caller's packets.  A batch of one
 * packet gives a header of zeros and the packet, unchanged.  A batch of
 * several gives one piece of a header (NEEDS_CSUM, gso_type TCPV4 or TCPV6,
 * hdr_len the headers' length, gso_size the first's payload length,
 * csum_start at the TCP header, csum_offset 16) and of the first packet's
 * headers, made to describe the whole (IPv4 total length and header
 * checksum, or IPv6 payload length; PSH from the last packet; the TCP
 * checksum field holding the pseudo-header's sum for the whole, as the
 * kernel wants it for a partial checksum), then each packet's payload.
 *
 * offload_merge_empty(m): whether the batch holds no packet.
 */
void	offload_merge_init(struct offload_merge *, int ether);
int	offload_merge_add(struct offload_merge *, const uint8_t *pkt,
	    size_t len);
size_t	offload_merge_take(struct offload_merge *,
	    struct offload_piece *pieces);
int	offload_merge_empty(const struct offload_merge *);

#endif
