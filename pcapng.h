/*
 * pcapng.h: how tunpipe writes the packets that cross as a pcapng capture,
 * the format Wireshark, tshark and tcpdump read (draft-ietf-opsawg-pcapng,
 * "PCAP Next Generation (pcapng) Capture File Format").
 *
 * A capture is the header, written once, then one block per packet:
 *
 *	+-----+-----+-----+-----+---- ... ----+
 *	| SHB | IDB | EPB | EPB |  one a packet
 *	+-----+-----+-----+-----+---- ... ----+
 *
 * Every block starts with its type and its total length, and ends with the
 * same length again; its body is padded with zero bytes to a multiple of 4.
 *
 *   SHB, the Section Header Block (type 0x0a0d0d0a): the byte-order magic
 *	0x1a2b3c4d, version 1.0, a section length of -1 (not given), and an
 *	shb_userappl option naming the program that wrote the capture.
 *   IDB, the Interface Description Block (type 1): the link type, so what
 *	each packet starts with (LINKTYPE_RAW, 101: an IPv4 or IPv6 header,
 *	for a TUN device; LINKTYPE_ETHERNET, 1: an Ethernet header, for a TAP
 *	device), the snapshot length, and the options if_name (the device's
 *	name) and if_tsresol = 9: timestamps count nanoseconds.
 *   EPB, an Enhanced Packet Block (type 6) per packet: interface 0, the
 *	timestamp as its high then its low 32 bits, the captured and the
 *	original length, the captured bytes, and the options epb_flags (the
 *	direction) and, after packets that the capture lost, epb_dropcount.
 *
 * Each list of options ends with opt_endofopt (a code and a length of 0).
 * Every number is written little-endian, on any host: the byte-order magic
 * tells readers so (on x86 and arm64 it is also the host's order, which
 * the format suggests), and the bytes of a capture are the same everywhere.
 *
 * Like the framing codec, this makes no system calls, never prints and
 * never allocates: the caller owns every buffer, and writes the bytes out.
 * A function that returns 0 has written nothing.
 */
#ifndef PCAPNG_H
#define PCAPNG_H

#include <stddef.h>
#include <stdint.h>

/* Link types for pcapng_header(), from tcpdump.org's registry. */
#define PCAPNG_LINKTYPE_ETHERNET 1	/* TAP: Ethernet frames, no FCS */
#define PCAPNG_LINKTYPE_RAW	101	/* TUN: IPv4 and IPv6 packets */

/* The longest string an option holds: option lengths are 16 bits. */
#define PCAPNG_STRING_MAX	65535

/*
 * The longest packet an EPB holds, far over any packet tunpipe handles,
 * so that a block's length always fits the format's 32 bits.
 */
#define PCAPNG_CAPLEN_MAX	(1024 * 1024 * 1024)

/* Where an EPB's packet bytes start, for callers that put them there. */
#define PCAPNG_EPB_DATA		28

/*
 * The direction of a packet, as epb_flags records it, seen from the
 * device: inbound packets are those tunpipe writes into it.
 */
enum pcapng_direction {
	PCAPNG_INBOUND = 1,	/* from the stream to the device */
	PCAPNG_OUTBOUND = 2,	/* from the device to the stream */
};

/* One packet for pcapng_epb(). */
struct pcapng_packet {
	uint64_t time;		/* nanoseconds since 1970-01-01 00:00 UTC */
	enum pcapng_direction direction;
	const uint8_t *data;	/* the bytes captured: caplen of them */
	size_t caplen;		/* at most len: the caller may cut there */
	size_t len;		/* the packet's whole length */
	uint64_t dropped;	/* packets the capture lost since the last
				   one written, or 0 */
};

/*
 * pcapng_header_len(ifname, application): the bytes that pcapng_header()
 * writes with these strings, or 0 when one is longer than
 * PCAPNG_STRING_MAX and cannot be written.
 */
size_t	pcapng_header_len(const char *ifname, const char *application);

/*
 * pcapng_header(buf, room, linktype, snaplen, ifname, application): writes
 * the start of a capture, an SHB and an IDB, into buf[0..room).
 * linktype is PCAPNG_LINKTYPE_RAW or PCAPNG_LINKTYPE_ETHERNET; snaplen is
 * the most bytes kept of each packet (0: no limit), which the caller then
 * keeps to; ifname goes in if_name and application (say "tunpipe 0.1.0")
 * in shb_userappl, each left out when NULL or empty.  Strings are UTF-8
 * and are written without their NUL.
 *
 * Returns the bytes written, or 0 when they would not fit in room or a
 * string is longer than PCAPNG_STRING_MAX.
 */
size_t	pcapng_header(uint8_t *buf, size_t room, uint16_t linktype,
	    uint32_t snaplen, const char *ifname, const char *application);

/*
 * pcapng_epb_len(caplen, dropped): the bytes of the EPB of a packet of
 * which caplen bytes are kept, with an epb_dropcount when dropped is not 0:
 * 44 bytes, caplen rounded up to a multiple of 4, and 12 for the drop
 * count.  0 when caplen is over PCAPNG_CAPLEN_MAX.  To size a buffer that
 * holds any one block: pcapng_epb_len(snaplen, 1).
 */
size_t	pcapng_epb_len(size_t caplen, uint64_t dropped);

/*
 * pcapng_epb(buf, room, pkt): writes the EPB of *pkt into buf[0..room),
 * for interface 0, the IDB of pcapng_header().  pkt->data may lie anywhere,
 * buf included: it is moved in before anything else is written, and not
 * at all when it already lies at buf + PCAPNG_EPB_DATA, so a caller may
 * read a packet there and save a copy.  A record that does not fit is the
 * caller's to drop and count, and to pass on as the next one's dropped.
 *
 * Returns the block's length, pcapng_epb_len(pkt->caplen, pkt->dropped);
 * or 0 when it would not fit in room, or when *pkt cannot be written:
 * caplen over len or over PCAPNG_CAPLEN_MAX, len over 2^32 - 1, or a
 * direction that is neither inbound nor outbound.
 */
size_t	pcapng_epb(uint8_t *buf, size_t room, const struct pcapng_packet *);

/*
 * pcapng_block_len(block): the length of the block that starts at block,
 * as its header says (bytes 4-7): for an EPB, what pcapng_epb() returned;
 * pcapng_header() writes two blocks, the SHB and then the IDB, whose
 * lengths add up to what it returned.  A caller that keeps blocks one
 * after another in a buffer so finds where each ends without keeping
 * their lengths.  block must hold at least 8 bytes; the length is read,
 * not checked.
 */
size_t	pcapng_block_len(const uint8_t *block);

#endif
