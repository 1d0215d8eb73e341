/*
 * fuzz-framing: a libFuzzer harness for one decoder of the framing codec
 * (framing.h), named at compile time as -f names it: -DFUZZ_FRAMING=len16,
 * len32 or slip.  `make fuzz` builds test/fuzz-len16, test/fuzz-len32 and
 * test/fuzz-slip with clang -fsanitize=fuzzer,address,undefined and runs
 * each for a while from its seeds in test/fuzz-corpus/.
 *
 * Each input is read as:
 *
 *	byte 0		max, the largest packet accepted in (a): 0 to
 *			239 as is, 240 to 255 as 15 to 0 below
 *			framing_packet_max()
 *	byte 1		k, in its low 4 bits
 *	bytes 2..2+k	chunk sizes, 0 to 255, used in turn: the stream is
 *			handed to the decoder cut at these points, as reads
 *			of a pipe would cut it (none: in one chunk)
 *	the rest	the payload
 *
 * (a) The payload is a stream.  The codec decodes it in those chunks, each
 *     copied into a buffer of its exact size and the assembly buffer of
 *     exactly max bytes, so that ASan sees any read or write past them.
 *     Every call is checked against what framing.h promises (used <= len,
 *     FRAMING_AGAIN uses all, a packet is 1 to max bytes and lies in the
 *     input or the assembly buffer, ...), and the whole outcome (packets,
 *     drops, keepalives, where the stream ends) against a simple reference
 *     decoder below, written from framing.h and RFC 1055, that sees the
 *     payload whole.  So wherever the cuts fall, the result is the same.
 * (b) The payload is packets: a length byte (255: the next two bytes, big
 *     endian, are the length), then that many bytes, again and again, cut
 *     short at the end.  Each is encoded in place in a buffer of exactly
 *     framing_encoded_max() bytes; decoding the stream they make, in the
 *     same chunks, with the largest of them as max, must give them back.
 *     (Packets of the largest sizes are left to test/codec.bats: making
 *     them here slowed fuzzing down tenfold.)
 *
 * A broken promise prints what and aborts, which libFuzzer reports as a
 * crash and saves the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"

#ifndef FUZZ_FRAMING
#error "build with -DFUZZ_FRAMING=len16, len32 or slip"
#endif

/* -DFUZZ_FRAMING=slip makes TYPE FRAMING_SLIP. */
#define FRAMING_len16	FRAMING_LEN16
#define FRAMING_len32	FRAMING_LEN32
#define FRAMING_slip	FRAMING_SLIP
#define PASTE(a, b)	a##b
#define FRAMING_NAMED(name) PASTE(FRAMING_, name)
#define TYPE		FRAMING_NAMED(FUZZ_FRAMING)

#define SLIP_END	0xc0
#define SLIP_ESC	0xdb
#define SLIP_ESC_END	0xdc
#define SLIP_ESC_ESC	0xdd

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz-framing:%d: broken: %s\n",	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

/* One result of the decoder, and the packet's bytes for FRAMING_PACKET. */
struct event {
	enum framing_result result;
	size_t len;
	size_t off;		/* of the packet's bytes in outcome.bytes */
};

/* Everything a decoding of a stream gives. */
struct outcome {
	struct event *events;
	size_t nevents, cap;
	uint8_t *bytes;
	size_t nbytes, bytes_cap;
	uint64_t keepalives;
	enum framing_partial partial;
	size_t have, want;
};

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	CHECK(p != NULL || n == 0);
	return p;
}

/*
 * Room for an outcome of at most events events and bytes bytes of packets.
 * A decoder that makes more fails a CHECK.
 */
static void
outcome_init(struct outcome *o, size_t events, size_t bytes)
{
	memset(o, 0, sizeof(*o));
	o->cap = events;
	o->events = xmalloc(events * sizeof(*o->events));
	o->bytes_cap = bytes;
	o->bytes = xmalloc(bytes);
}

static void
outcome_free(struct outcome *o)
{
	free(o->events);
	free(o->bytes);
}

static void
add_event(struct outcome *o, enum framing_result r, const uint8_t *p,
    size_t len)
{
	struct event *e;

	CHECK(o->nevents < o->cap);
	e = &o->events[o->nevents++];
	e->result = r;
	e->len = len;
	e->off = o->nbytes;
	if (r == FRAMING_PACKET) {
		CHECK(len <= o->bytes_cap - o->nbytes);
		memcpy(o->bytes + o->nbytes, p, len);
		o->nbytes += len;
	}
}

static int
outcome_equal(const struct outcome *a, const struct outcome *b)
{
	size_t i;

	if (a->nevents != b->nevents || a->nbytes != b->nbytes ||
	    a->keepalives != b->keepalives || a->partial != b->partial ||
	    a->have != b->have || a->want != b->want)
		return 0;
	for (i = 0; i < a->nevents; i++)
		if (a->events[i].result != b->events[i].result ||
		    a->events[i].len != b->events[i].len)
			return 0;
	return memcmp(a->bytes, b->bytes, a->nbytes) == 0;
}

/*
 * The reference: a length-prefixed stream read whole, from framing.h's
 * picture of it.
 */
static void
ref_prefixed(const uint8_t *in, size_t len, size_t max, struct outcome *o)
{
	size_t hlen = framing_header_len(TYPE), pos = 0, n, i;

	for (;;) {
		if (len - pos < hlen) {
			o->partial = pos == len ? FRAMING_BETWEEN :
			    FRAMING_IN_HEADER;
			o->have = pos == len ? 0 : len - pos;
			o->want = pos == len ? 0 : hlen;
			return;
		}
		for (n = 0, i = 0; i < hlen; i++)
			n = n << 8 | in[pos + i];
		pos += hlen;
		if (n > max) {
			add_event(o, FRAMING_TOO_BIG, NULL, n);
			return;
		}
		if (n == 0) {
			o->keepalives++;
			continue;
		}
		if (len - pos < n) {
			o->partial = FRAMING_IN_PACKET;
			o->have = len - pos;
			o->want = n;
			return;
		}
		add_event(o, FRAMING_PACKET, in + pos, n);
		pos += n;
	}
}

/*
 * The reference for SLIP, from RFC 1055 and framing.h: the stream is cut at
 * each END; each piece is unescaped in order until it ends, holds a bad
 * escape, or grows past max.  The last piece, with no END after it, is
 * where the stream stops.  buf holds one unescaped piece.  Each run of
 * ENDs counts a keepalive for every three ENDs in it.
 */
static void
ref_slip(const uint8_t *in, size_t len, size_t max, struct outcome *o,
    uint8_t *buf)
{
	size_t start = 0, end, i, have, run = 0;
	int dropped;

	for (i = 0; i <= len; i++) {
		if (i < len && in[i] == SLIP_END) {
			run++;
			continue;
		}
		o->keepalives += run / 3;
		run = 0;
	}
	while (start <= len) {
		for (end = start; end < len && in[end] != SLIP_END; end++)
			;
		have = 0;
		dropped = 0;
		for (i = start; i < end && !dropped; i++) {
			uint8_t c = in[i];

			if (c == SLIP_ESC) {
				/* ESC END, or ESC where the stream stops */
				if (i + 1 == end) {
					if (end < len) {
						add_event(o, FRAMING_DAMAGED,
						    NULL, have);
						dropped = 1;
					}
					break;
				}
				c = in[++i];
				if (c != SLIP_ESC_END && c != SLIP_ESC_ESC) {
					add_event(o, FRAMING_DAMAGED, NULL,
					    have);
					dropped = 1;
					break;
				}
				c = c == SLIP_ESC_END ? SLIP_END : SLIP_ESC;
			}
			if (have == max) {
				add_event(o, FRAMING_OVERLONG, NULL, max + 1);
				dropped = 1;
				break;
			}
			buf[have++] = c;
		}
		if (end == len) {	/* no END: the stream stops in here */
			o->partial = start == len ? FRAMING_BETWEEN :
			    FRAMING_IN_PACKET;
			o->have = dropped ? 0 : have;
			o->want = 0;
			return;
		}
		if (!dropped && have > 0)
			add_event(o, FRAMING_PACKET, buf, have);
		start = end + 1;
	}
}

/* The chunk sizes of the input's header, used in turn. */
struct cuts {
	const uint8_t *sizes;
	size_t n, next, sum;
};

/* The size of the next chunk of a stream with left bytes left. */
static size_t
next_cut(struct cuts *c, size_t left)
{
	size_t n;

	if (c->n == 0 || (c->sum == 0 && c->next >= c->n))
		return left;	/* no cuts, or only empty chunks: done */
	n = c->sizes[c->next++ % c->n];
	return n < left ? n : left;
}

/*
 * The codec on the stream in[0..len), in chunks as cuts says, each in a
 * buffer of its exact size, checking every promise of framing_decode().
 */
static void
codec_decode(const uint8_t *in, size_t len, size_t max, struct cuts cuts,
    struct outcome *o)
{
	struct framing_decoder d;
	struct framing_packet pkt;
	enum framing_result r;
	uint8_t *assembly, *chunk, *p;
	size_t pos = 0, n, left, used;
	int stop = 0;

	assembly = xmalloc(max);
	framing_decoder_init(&d, TYPE, max, assembly);
	cuts.next = 0;
	do {
		n = next_cut(&cuts, len - pos);
		chunk = xmalloc(n);
		if (n > 0)
			memcpy(chunk, in + pos, n);
		pos += n;
		p = chunk;
		left = n;
		do {
			used = (size_t)-1;
			pkt.data = NULL;
			pkt.len = (size_t)-1;
			r = framing_decode(&d, p, left, &used, &pkt);
			CHECK(used <= left);
			switch (r) {
			case FRAMING_AGAIN:
				CHECK(used == left);
				break;
			case FRAMING_PACKET:
				CHECK(used > 0);
				CHECK(pkt.len > 0 && pkt.len <= max);
				/* In this chunk's used bytes, or assembled. */
				CHECK((pkt.data >= chunk &&
				    pkt.data + pkt.len <= p + used) ||
				    (pkt.data >= assembly &&
				    pkt.data + pkt.len <= assembly + max));
				add_event(o, r, pkt.data, pkt.len);
				break;
			case FRAMING_TOO_BIG:
				CHECK(TYPE != FRAMING_SLIP);
				CHECK(pkt.len > max);
				add_event(o, r, NULL, pkt.len);
				stop = 1;
				break;
			case FRAMING_DAMAGED:
				CHECK(TYPE == FRAMING_SLIP);
				CHECK(used > 0 && pkt.len <= max);
				add_event(o, r, NULL, pkt.len);
				break;
			case FRAMING_OVERLONG:
				CHECK(TYPE == FRAMING_SLIP);
				CHECK(used > 0 && pkt.len == max + 1);
				add_event(o, r, NULL, pkt.len);
				break;
			default:
				CHECK(!"an unknown result");
			}
			p += used;
			left -= used;
		} while (r != FRAMING_AGAIN && !stop);
		free(chunk);
	} while (pos < len && !stop);

	if (stop) {	/* TOO_BIG stays, without reading a byte more */
		uint8_t byte = 0;

		r = framing_decode(&d, &byte, 1, &used, &pkt);
		CHECK(r == FRAMING_TOO_BIG && used == 0);
		CHECK(pkt.len == o->events[o->nevents - 1].len);
		o->partial = FRAMING_BETWEEN;	/* as the reference says */
	} else {
		o->partial = framing_decoder_partial(&d, &o->have, &o->want);
	}
	o->keepalives = d.keepalives;

	/* reset forgets the stream but keeps the count of keepalives. */
	framing_decoder_reset(&d);
	CHECK(d.keepalives == o->keepalives);
	CHECK(framing_decoder_partial(&d, &n, &used) == FRAMING_BETWEEN);
	free(assembly);
}

/* (a): the payload as a stream, cut as the input says, vs. the reference */
static void
fuzz_stream(const uint8_t *in, size_t len, size_t max, struct cuts cuts)
{
	struct outcome want, got;
	uint8_t *buf;

	/* Each result takes a byte at least, the last one maybe a header. */
	outcome_init(&want, len + 1, len);
	outcome_init(&got, len + 1, len);
	if (TYPE == FRAMING_SLIP) {
		buf = xmalloc(len + 1);
		ref_slip(in, len, max, &want, buf);
		free(buf);
	} else {
		ref_prefixed(in, len, max, &want);
	}
	if (want.nevents > 0 &&
	    want.events[want.nevents - 1].result == FRAMING_TOO_BIG)
		want.partial = FRAMING_BETWEEN, want.have = want.want = 0;
	codec_decode(in, len, max, cuts, &got);
	if (got.nevents > 0 &&
	    got.events[got.nevents - 1].result == FRAMING_TOO_BIG)
		got.have = got.want = 0;
	CHECK(outcome_equal(&want, &got));
	outcome_free(&want);
	outcome_free(&got);
}

/*
 * The length of the next packet of (b) at in[*pos..len), whose bytes then
 * start at in[*pos]: a length byte, or 255 and two bytes of length, cut
 * short at the end of the input.
 */
static size_t
next_packet(const uint8_t *in, size_t len, size_t *pos)
{
	size_t n;

	n = in[(*pos)++];
	if (n == 255 && len - *pos >= 2) {
		n = (size_t)in[*pos] << 8 | in[*pos + 1];
		*pos += 2;
	}
	if (n > len - *pos)
		n = len - *pos;
	return n;
}

/* (b): packets from the payload, encoded, then decoded: the same packets. */
static void
fuzz_round_trip(const uint8_t *in, size_t len, struct cuts cuts)
{
	size_t hlen = framing_header_len(TYPE);
	size_t pos, n, room, flen, slen = 0, stream_cap = 0, max = 0;
	size_t nempty = 0, i, k;
	uint8_t *stream = NULL, *frame, *grown;
	const uint8_t *packet;
	struct outcome want, got;

	outcome_init(&want, len, len);
	for (pos = 0; pos < len; pos += n) {
		n = next_packet(in, len, &pos);
		packet = in + pos;

		room = framing_encoded_max(TYPE, n);
		CHECK(room >= hlen + n);
		frame = xmalloc(room);
		memcpy(frame + hlen, packet, n);
		flen = framing_encode(TYPE, frame, n);
		CHECK(flen <= room && flen >= hlen + n);
		CHECK(framing_frame_len(TYPE, frame) == flen);
		if (TYPE == FRAMING_SLIP && n == 0) {	/* a keepalive */
			CHECK(flen == 3 && frame[0] == SLIP_END &&
			    frame[1] == SLIP_END && frame[2] == SLIP_END);
		} else if (TYPE == FRAMING_SLIP) {	/* ENDs only around it */
			CHECK(frame[0] == SLIP_END && frame[flen - 1] ==
			    SLIP_END);
			for (k = 1; k < flen - 1; k++)
				CHECK(frame[k] != SLIP_END);
		} else {
			CHECK(flen == hlen + n);
			CHECK(memcmp(frame + hlen, packet, n) == 0);
		}

		if (flen > stream_cap - slen) {
			stream_cap = 2 * stream_cap + flen;
			grown = realloc(stream, stream_cap);
			CHECK(grown != NULL);
			stream = grown;
		}
		memcpy(stream + slen, frame, flen);
		slen += flen;
		free(frame);

		if (n > 0)
			add_event(&want, FRAMING_PACKET, packet, n);
		else
			nempty++;
		if (n > max)
			max = n;
	}
	want.keepalives = nempty;
	want.partial = FRAMING_BETWEEN;

	outcome_init(&got, want.nevents + 1, want.nbytes + 1);
	codec_decode(stream != NULL ? stream : (const uint8_t *)"", slen, max,
	    cuts, &got);
	CHECK(outcome_equal(&want, &got));
	for (i = 0; i < got.nevents; i++)
		CHECK(got.events[i].result == FRAMING_PACKET);
	outcome_free(&want);
	outcome_free(&got);
	free(stream);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pmax = framing_packet_max(TYPE), max, k;
	struct cuts cuts = { 0 };

	if (size < 2)
		return 0;
	max = data[0] < 0xf0 ? data[0] : pmax - (0xff - data[0]);
	k = data[1] & 0xf;
	if (k > size - 2)
		k = size - 2;
	cuts.sizes = data + 2;
	cuts.n = k;
	for (size_t i = 0; i < k; i++)
		cuts.sum += cuts.sizes[i];
	fuzz_stream(data + 2 + k, size - 2 - k, max, cuts);
	fuzz_round_trip(data + 2 + k, size - 2 - k, cuts);
	return 0;
}
