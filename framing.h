/*
 * framing.h: how tunpipe cuts a byte stream into packets and back.
 *
 * A byte stream (a pipe, a TCP connection, ssh) keeps the order of bytes but
 * not the boundaries of the writes that made them: one read may return half a
 * packet, or three and a half.  A framing puts each packet in a frame that the
 * reader can find again whatever the stream does to the boundaries.
 *
 * Stream format of the len16 framing (the default, and the one VDE's vde_plug
 * and OpenVPN's TCP mode use; len32 is the same with a 4-byte length, as
 * QEMU's stream netdev and passt use; SLIP is described further down):
 *
 *	+--------+--------+---- ... ----+
 *	| N high | N low  |  N bytes    |   repeated, nothing in between
 *	+--------+--------+---- ... ----+
 *
 * N is an unsigned 16-bit big-endian length; the N bytes are one IP packet
 * (TUN mode, no packet-information header) or one Ethernet frame without its
 * FCS (TAP mode).  N = 0 is an empty frame: the decoder skips it and counts it
 * as a keepalive.
 *
 * SLIP (RFC 1055) marks the end of each packet with END (0xc0) instead, and
 * escapes END and ESC (0xdb) inside it as ESC ESC_END (0xdb 0xdc) and ESC
 * ESC_ESC (0xdb 0xdd).  The encoder also puts an END before each packet, to
 * end any line noise before it, so two ENDs in a row are the usual gap
 * between packets, and the decoder skips the empty packets between them.
 * A keepalive is three ENDs; the decoder counts one at every third END in a
 * row, which the gaps between packets never reach.  Other SLIP peers skip
 * them as empty packets.  The decoder drops a packet with a bad escape or
 * over the maximum, then goes on at the next END: unlike a length, SLIP
 * finds its way again after corruption.
 *
 * The codec makes no system calls, never prints and never allocates: the
 * caller owns every buffer.  The event loop in tunpipe.c only calls the
 * framing_* functions below, so a framing added here (a 4-byte length, SLIP)
 * needs no change there.
 */
#ifndef FRAMING_H
#define FRAMING_H

#include <stddef.h>
#include <stdint.h>

/*
 * The largest packet the codec handles in any framing: a 64 KiB GSO packet
 * with its virtio-net and Ethernet headers.  Buffers sized by it fit all.
 */
#define FRAMING_PACKET_MAX (64 * 1024 + 128)

enum framing_type {
	FRAMING_LEN16,		/* 2-byte big-endian length, then the packet */
	FRAMING_LEN32,		/* 4-byte big-endian length, then the packet */
	FRAMING_SLIP,		/* RFC 1055: escaped packet between ENDs */
};

/* What one call of framing_decode() found. */
enum framing_result {
	FRAMING_AGAIN,		/* all input used; no whole packet yet */
	FRAMING_PACKET,		/* a whole packet, in the framing_packet */
	FRAMING_TOO_BIG,	/* a frame announces more than the maximum */
	FRAMING_DAMAGED,	/* SLIP: a packet with a bad escape, dropped */
	FRAMING_OVERLONG,	/* SLIP: a packet over the maximum, dropped */
};

struct framing_packet {
	const uint8_t *data;	/* valid until the next framing_decode() */
	size_t len;
};

/*
 * Decoder state.  Treat it as opaque; read only the counter.  A frame that
 * arrives whole inside one input chunk is handed back in place; one that is
 * split across chunks is gathered in the caller's assembly buffer.
 *
 * Only framing_decoder_init() readies a decoder, and says in which framing:
 * one it never readied (left zeroed, say) is in none, not in len16 (the
 * zero type), and decodes nothing (see FRAMING_TOO_BIG below).
 */
struct framing_decoder {
	int ready;		/* framing_decoder_init() was called */
	enum framing_type type;
	size_t max;		/* largest packet accepted */
	uint8_t *assembly;	/* caller's buffer of max bytes */
	uint8_t header[4];
	size_t header_have;	/* header bytes gathered so far */
	size_t want;		/* packet length, once the header is whole */
	size_t have;		/* packet bytes gathered in assembly */
	int in_body;		/* the header is whole, the body is not */
	int stuck;		/* a stream error was seen; stays set */
	int escaped;		/* SLIP: the last byte was ESC */
	int discarding;		/* SLIP: dropping bytes up to the next END */
	unsigned ends;		/* SLIP: ENDs in a row, modulo 3 */
	uint64_t keepalives;	/* empty frames skipped */
};

/*
 * framing_header_len(type): the bytes a frame adds before its packet.
 * framing_packet_max(type): the largest packet the framing can carry: 65535
 * for len16 and SLIP, FRAMING_PACKET_MAX for len32.
 * framing_encoded_max(type, len): the most bytes a packet of len bytes can
 * take once encoded; reserve this much before reading a packet to encode.
 * FRAMING_ENCODED_MOST(len): the most in any framing (SLIP's, every byte
 * escaped, between two ENDs), as a constant, to size buffers with.
 */
#define FRAMING_ENCODED_MOST(len)	(2 + 2 * (len))
/*
 * framing_by_name(name, type): sets *type to the framing called name
 * ("len16", "len32" or "slip"); returns 0, or -1 for an unknown name.
 */
int	framing_by_name(const char *name, enum framing_type *);
/* framing_name(type): the name of the framing, as framing_by_name() takes. */
const char *framing_name(enum framing_type);

size_t	framing_header_len(enum framing_type);
size_t	framing_packet_max(enum framing_type);
size_t	framing_encoded_max(enum framing_type, size_t len);

/*
 * framing_encode(type, frame, len): encodes in place the packet of len bytes
 * found at frame + framing_header_len(type), where frame has room for
 * framing_encoded_max(type, len) bytes.  Returns the frame's length, which
 * starts at frame.  A len of 0 makes an empty frame (a keepalive: in SLIP,
 * three ENDs).  len must not exceed framing_packet_max(type).
 */
size_t	framing_encode(enum framing_type, uint8_t *frame, size_t len);

/*
 * framing_frame_len(type, frame): the length of the whole frame that
 * framing_encode() wrote at frame.  It lets a writer that stopped inside a
 * frame find where the next one starts.
 */
size_t	framing_frame_len(enum framing_type, const uint8_t *frame);

/*
 * framing_decoder_init(d, type, max, assembly): readies d for a new stream
 * whose packets are at most max bytes (at most framing_packet_max(type)); assembly
 * must hold max bytes and outlive d.
 */
void	framing_decoder_init(struct framing_decoder *, enum framing_type,
	    size_t max, uint8_t *assembly);

/*
 * framing_decoder_reset(d): readies d for a new stream of the same kind,
 * forgetting a frame cut short and a stream error, but keeping the count
 * of keepalives.  A decoder never readied stays so.
 */
void	framing_decoder_reset(struct framing_decoder *);

/*
 * framing_decode(d, in, len, used, pkt): reads input from in[0..len) until
 * it completes a packet or runs out, and sets *used to the bytes it took.
 * Call it again with the rest of the input until it returns FRAMING_AGAIN.
 * pkt->data may point into in[0..*used), or into the assembly buffer.
 *
 * FRAMING_PACKET: *pkt holds a whole packet.
 * FRAMING_AGAIN: every byte was used; feed more input when it arrives.
 * FRAMING_TOO_BIG: a frame announces pkt->len bytes, over the maximum; the
 *     stream cannot be trusted past this point (the peer most likely uses
 *     another framing or mode), and every later call returns the same.
 *     A decoder that framing_decoder_init() never readied returns it from
 *     the first call, with pkt->len 0 and *used 0.
 * FRAMING_DAMAGED (SLIP only): a packet held an ESC followed by neither
 *     ESC_END nor ESC_ESC; it was dropped after pkt->len good bytes, and
 *     decoding goes on at the next END.
 * FRAMING_OVERLONG (SLIP only): a packet grew past the maximum; it was
 *     dropped, and decoding goes on at the next END.  pkt->len is max + 1.
 */
enum framing_result framing_decode(struct framing_decoder *, const uint8_t *in,
	    size_t len, size_t *used, struct framing_packet *);

/* Where a stream that stops now would stop. */
enum framing_partial {
	FRAMING_BETWEEN,	/* between frames: nothing is cut short */
	FRAMING_IN_HEADER,	/* inside a frame's header */
	FRAMING_IN_PACKET,	/* inside a frame's packet */
};

/*
 * framing_decoder_partial(d, have, want): where the stream so far ends.
 * Inside a frame, sets *have to the bytes of the header or packet that
 * arrived and *want to the bytes it has in all, or to 0 when the framing
 * does not say (SLIP).  A decoder never readied is between frames.
 */
enum framing_partial framing_decoder_partial(const struct framing_decoder *,
	    size_t *have, size_t *want);

#endif
