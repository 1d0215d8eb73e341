/*
 * framing.c: the stream codec described in framing.h.  Pure code: it
 * makes no system calls, never prints and never allocates; the caller
 * owns every buffer, and it exports only framing_* names.
 */
#include <string.h>

#include "framing.h"

/* RFC 1055's special bytes. */
#define SLIP_END	0xc0
#define SLIP_ESC	0xdb
#define SLIP_ESC_END	0xdc
#define SLIP_ESC_ESC	0xdd

/*
 * Bytes before each packet, by framing: the big-endian length, or SLIP's
 * leading END.
 */
static const size_t header_lens[] = {
	[FRAMING_LEN16] = 2,
	[FRAMING_LEN32] = 4,
	[FRAMING_SLIP] = 1,
};

static const size_t packet_maxes[] = {
	[FRAMING_LEN16] = 65535,
	[FRAMING_LEN32] = FRAMING_PACKET_MAX,
	[FRAMING_SLIP] = 65535,
};

static const char *const names[] = {
	[FRAMING_LEN16] = "len16",
	[FRAMING_LEN32] = "len32",
	[FRAMING_SLIP] = "slip",
};

int
framing_by_name(const char *name, enum framing_type *type)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0) {
			*type = (enum framing_type)i;
			return 0;
		}
	return -1;
}

const char *
framing_name(enum framing_type type)
{
	return names[type];
}

size_t
framing_header_len(enum framing_type type)
{
	return header_lens[type];
}

size_t
framing_packet_max(enum framing_type type)
{
	return packet_maxes[type];
}

size_t
framing_encoded_max(enum framing_type type, size_t len)
{
	if (type == FRAMING_SLIP)	/* every byte escaped, and two ENDs */
		return len == 0 ? 3 : FRAMING_ENCODED_MOST(len);
	return framing_header_len(type) + len;
}

static void
put_length(enum framing_type type, uint8_t *frame, size_t len)
{
	size_t i;

	for (i = framing_header_len(type); i > 0; i--, len >>= 8)
		frame[i - 1] = (uint8_t)len;
}

static size_t
get_length(enum framing_type type, const uint8_t *header)
{
	size_t i, len = 0;

	for (i = 0; i < framing_header_len(type); i++)
		len = len << 8 | header[i];
	return len;
}

/*
 * SLIP in place: the packet at frame + 1 grows by one byte per END or ESC
 * in it, so it is escaped from its end backwards, where the bytes written
 * never overtake those still to read.
 */
static size_t
encode_slip(uint8_t *frame, size_t len)
{
	const uint8_t *p = frame + 1;
	size_t i, specials = 0, w;

	for (i = 0; i < len; i++)
		specials += p[i] == SLIP_END || p[i] == SLIP_ESC;
	w = 1 + len + specials;
	frame[w] = SLIP_END;
	for (i = len; i-- > 0;) {
		if (p[i] == SLIP_END || p[i] == SLIP_ESC) {
			frame[--w] = p[i] == SLIP_END ? SLIP_ESC_END :
			    SLIP_ESC_ESC;
			frame[--w] = SLIP_ESC;
		} else {
			frame[--w] = p[i];
		}
	}
	frame[0] = SLIP_END;
	return 2 + len + specials;
}

size_t
framing_encode(enum framing_type type, uint8_t *frame, size_t len)
{
	if (type == FRAMING_SLIP && len == 0) {	/* a keepalive */
		memset(frame, SLIP_END, 3);
		return 3;
	}
	if (type == FRAMING_SLIP)
		return encode_slip(frame, len);
	put_length(type, frame, len);
	return framing_header_len(type) + len;
}

size_t
framing_frame_len(enum framing_type type, const uint8_t *frame)
{
	size_t i;

	if (type == FRAMING_SLIP) {	/* up to the END after the packet */
		if (frame[1] == SLIP_END)	/* a keepalive */
			return 3;
		for (i = 1; frame[i] != SLIP_END; i++)
			;
		return i + 1;
	}
	return framing_header_len(type) + get_length(type, frame);
}

void
framing_decoder_init(struct framing_decoder *d, enum framing_type type,
    size_t max, uint8_t *assembly)
{
	memset(d, 0, sizeof(*d));
	d->ready = 1;
	d->type = type;
	d->max = max;
	d->assembly = assembly;
}

void
framing_decoder_reset(struct framing_decoder *d)
{
	uint64_t keepalives = d->keepalives;

	if (!d->ready)		/* in no framing, which a reset must not give */
		return;
	framing_decoder_init(d, d->type, d->max, d->assembly);
	d->keepalives = keepalives;
}

/*
 * Gathers header bytes from in[*pos..len).  Returns 1 once the header is
 * whole and d->want holds the packet length, 0 when the input ran out.
 */
static int
take_header(struct framing_decoder *d, const uint8_t *in, size_t len,
    size_t *pos)
{
	size_t hlen = framing_header_len(d->type);

	while (d->header_have < hlen && *pos < len)
		d->header[d->header_have++] = in[(*pos)++];
	if (d->header_have < hlen)
		return 0;
	d->header_have = 0;
	d->want = get_length(d->type, d->header);
	d->have = 0;
	return 1;
}

/*
 * The length-prefixed framings.  A packet that lies whole in the input is
 * handed back where it lies; only one split across reads is copied, once,
 * into the assembly buffer.
 */
static enum framing_result
decode_prefixed(struct framing_decoder *d, const uint8_t *in, size_t len,
    size_t *pos, struct framing_packet *pkt)
{
	size_t n;

	for (;;) {
		if (!d->in_body) {
			if (!take_header(d, in, len, pos))
				return FRAMING_AGAIN;
			if (d->want > d->max) {
				d->stuck = 1;
				pkt->len = d->want;
				return FRAMING_TOO_BIG;
			}
			if (d->want == 0) {
				d->keepalives++;
				continue;
			}
			d->in_body = 1;
		}
		if (d->have == 0 && len - *pos >= d->want) {
			pkt->data = in + *pos;
			*pos += d->want;
			break;
		}
		n = len - *pos;
		if (n > d->want - d->have)
			n = d->want - d->have;
		memcpy(d->assembly + d->have, in + *pos, n);
		d->have += n;
		*pos += n;
		if (d->have < d->want)
			return FRAMING_AGAIN;
		pkt->data = d->assembly;
		break;
	}
	pkt->len = d->want;
	d->in_body = 0;
	d->have = 0;
	return FRAMING_PACKET;
}

/*
 * SLIP: unescapes bytes into the assembly buffer until an END completes a
 * packet.  A bad escape or an over-long packet drops the packet, and the
 * bytes up to the next END with it, so one damaged packet costs no more.
 */
static enum framing_result
decode_slip(struct framing_decoder *d, const uint8_t *in, size_t len,
    size_t *pos, struct framing_packet *pkt)
{
	uint8_t c;

	while (*pos < len) {
		c = in[(*pos)++];
		if (c != SLIP_END)
			d->ends = 0;
		else if (++d->ends == 3) {	/* see framing.h */
			d->ends = 0;
			d->keepalives++;
		}
		if (c == SLIP_END) {
			if (d->escaped) {	/* ESC END: drop, resume here */
				d->escaped = 0;
				pkt->len = d->have;
				d->have = 0;
				return FRAMING_DAMAGED;
			}
			d->discarding = 0;
			if (d->have == 0)	/* a leading END, or noise */
				continue;
			pkt->data = d->assembly;
			pkt->len = d->have;
			d->have = 0;
			return FRAMING_PACKET;
		}
		if (d->discarding)
			continue;
		if (d->escaped) {
			d->escaped = 0;
			if (c != SLIP_ESC_END && c != SLIP_ESC_ESC) {
				pkt->len = d->have;
				d->have = 0;
				d->discarding = 1;
				return FRAMING_DAMAGED;
			}
			c = c == SLIP_ESC_END ? SLIP_END : SLIP_ESC;
		} else if (c == SLIP_ESC) {
			d->escaped = 1;
			continue;
		}
		if (d->have == d->max) {
			pkt->len = d->max + 1;
			d->have = 0;
			d->discarding = 1;
			return FRAMING_OVERLONG;
		}
		d->assembly[d->have++] = c;
	}
	return FRAMING_AGAIN;
}

enum framing_result
framing_decode(struct framing_decoder *d, const uint8_t *in, size_t len,
    size_t *used, struct framing_packet *pkt)
{
	enum framing_result r = FRAMING_TOO_BIG;
	size_t pos = 0;

	if (!d->ready || d->stuck) {	/* never readied: want is 0 */
		pkt->len = d->want;
	} else {
		switch (d->type) {
		case FRAMING_LEN16:
		case FRAMING_LEN32:
			r = decode_prefixed(d, in, len, &pos, pkt);
			break;
		case FRAMING_SLIP:
			r = decode_slip(d, in, len, &pos, pkt);
			break;
		}
	}
	*used = pos;
	return r;
}

enum framing_partial
framing_decoder_partial(const struct framing_decoder *d, size_t *have,
    size_t *want)
{
	if (!d->ready)
		return FRAMING_BETWEEN;
	if (d->type == FRAMING_SLIP) {
		*have = d->have;
		*want = 0;
		return d->have > 0 || d->escaped || d->discarding ?
		    FRAMING_IN_PACKET : FRAMING_BETWEEN;
	}
	if (d->in_body) {
		*have = d->have;
		*want = d->want;
		return FRAMING_IN_PACKET;
	}
	if (d->header_have > 0) {
		*have = d->header_have;
		*want = framing_header_len(d->type);
		return FRAMING_IN_HEADER;
	}
	return FRAMING_BETWEEN;
}
