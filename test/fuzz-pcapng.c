/*
 * fuzz-pcapng: a libFuzzer harness for the capture encoder (pcapng.h).
 * `make fuzz` builds test/fuzz-pcapng with clang
 * -fsanitize=fuzzer,address,undefined and runs it for a while from its
 * seeds in test/fuzz-corpus/pcapng/.
 *
 * Each input is read as a header, then packets, little-endian:
 *
 *	bytes 0-1	the link type
 *	bytes 2-5	the snaplen
 *	byte 6, 7	n and a, the lengths of the device's name and of the
 *			application's
 *	byte 8		the header's room, as a signed difference from
 *			pcapng_header_len()
 *	n bytes, a bytes  the name, the application (a NUL ends either
 *			early, as it would a C string)
 *
 * and then, again and again until the input runs out:
 *
 *	byte 0		bits 0-1: the direction, 0 to 3 (0 and 3 are
 *			refused); bits 2-3: where the packet lies: in a
 *			buffer of its own, already in place at
 *			PCAPNG_EPB_DATA, at the end of the block's buffer,
 *			or at its start; bit 4: an original length follows
 *	byte 1		the block's room, as a signed difference from
 *			pcapng_epb_len()
 *	bytes 2-9	the timestamp
 *	bytes 10-11	caplen, cut short at the end of the input
 *	(5 bytes	the original length, which may be under caplen or
 *			over 2^32 - 1; without them it is caplen; over what
 *			a size_t holds, on a 32-bit architecture, the
 *			largest that it does)
 *	caplen bytes	the packet
 *
 * Every block goes into a buffer of exactly its room, so that ASan sees
 * any byte written past it; the buffer is filled beforehand, so that the
 * harness sees any byte written in the room past the block, or any byte at
 * all when the encoder returns 0.  A block the encoder writes is read back
 * by a reader below, written from the pcapng specification and pcapng.h
 * without the encoder's code, which checks every field; the encoder must
 * write exactly the blocks that fit and that pcapng.h does not refuse.  As
 * tunpipe will, the harness counts the blocks that are not written and
 * hands the count to the next one, for its epb_dropcount.  At the end the
 * whole capture is walked block by block: the header if it was written,
 * then one EPB per packet written, whose drop counts add up with them to
 * every packet tried, and pcapng_block_len() gives each block's length as
 * the reader finds it.
 *
 * A broken promise prints what and aborts, which libFuzzer reports as a
 * crash and saves the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapng.h"

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz-pcapng:%d: broken: %s\n",		\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

/* Bytes each buffer is filled with before the encoder writes in it. */
#define FILL		0x5a

/* The options of one block, as the reader finds them. */
#define MAX_OPTIONS	8

struct option {
	uint16_t code;
	uint16_t len;
	const uint8_t *value;
};

struct block {
	uint32_t type;
	const uint8_t *body;	/* after the type and the first length */
	size_t body_len;	/* up to the last length */
};

/* What the input says, read a field at a time. */
struct input {
	const uint8_t *p;
	size_t left;
};

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	CHECK(p != NULL || n == 0);
	return p;
}

static int
same(const void *a, const void *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

/* The next n bytes of the input as a little-endian number; 0 past its end. */
static uint64_t
take(struct input *in, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n && in->left > 0; i++, in->p++, in->left--)
		v |= (uint64_t)in->p[0] << (8 * i);
	return v;
}

/* A room of want plus a signed difference, at least 0. */
static size_t
room_near(size_t want, uint8_t delta)
{
	int d = (int8_t)delta;

	return d < 0 && (size_t)-d > want ? 0 : want + (size_t)d;
}

/* --- the reader ----------------------------------------------------------- */

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/*
 * The block at p, of at most avail bytes: its type, its length at both
 * ends, a multiple of 4 and at least 12.  Returns the block's length.
 */
static size_t
read_block(const uint8_t *p, size_t avail, struct block *b)
{
	uint32_t len;

	CHECK(avail >= 12);
	b->type = get32(p);
	len = get32(p + 4);
	CHECK(len >= 12 && len % 4 == 0 && len <= avail);
	CHECK(get32(p + len - 4) == len);
	b->body = p + 8;
	b->body_len = len - 12;
	return len;
}

/*
 * The option list at p, which must fill len bytes exactly: code, length,
 * value and zero padding each, then opt_endofopt, last.  Returns the
 * options before opt_endofopt.
 */
static size_t
read_options(const uint8_t *p, size_t len, struct option *opts)
{
	size_t n = 0, pos = 0, padded, i;
	uint16_t code, olen;

	for (;;) {
		CHECK(len - pos >= 4);
		code = get16(p + pos);
		olen = get16(p + pos + 2);
		pos += 4;
		if (code == 0) {
			CHECK(olen == 0 && pos == len);
			return n;
		}
		padded = ((size_t)olen + 3) & ~(size_t)3;
		CHECK(len - pos >= padded);
		for (i = olen; i < padded; i++)
			CHECK(p[pos + i] == 0);
		CHECK(n < MAX_OPTIONS);
		opts[n].code = code;
		opts[n].len = olen;
		opts[n].value = p + pos;
		n++;
		pos += padded;
	}
}

/* Checks that an option holds the string s, or is absent when s is empty. */
static void
check_string(const struct option *opts, size_t n, uint16_t code,
    const char *s)
{
	size_t i, found = 0;

	for (i = 0; i < n; i++) {
		if (opts[i].code != code)
			continue;
		found++;
		CHECK(opts[i].len == strlen(s));
		CHECK(same(opts[i].value, s, opts[i].len));
	}
	CHECK(found == (*s != '\0'));
}

/* The SHB at p: 1.0, little-endian, no section length, the application. */
static size_t
check_shb(const uint8_t *p, size_t avail, const char *application)
{
	struct option opts[MAX_OPTIONS];
	struct block b;
	size_t len, n = 0;

	len = read_block(p, avail, &b);
	CHECK(b.type == 0x0a0d0d0a);
	CHECK(b.body_len >= 16);
	CHECK(get32(b.body) == 0x1a2b3c4d);
	CHECK(get16(b.body + 4) == 1 && get16(b.body + 6) == 0);
	CHECK(get64(b.body + 8) == UINT64_MAX);
	if (b.body_len > 16)
		n = read_options(b.body + 16, b.body_len - 16, opts);
	CHECK(n == (*application != '\0'));
	check_string(opts, n, 4, application);	/* shb_userappl */
	return len;
}

/* The IDB at p: the link type and snaplen, the name, nanoseconds. */
static size_t
check_idb(const uint8_t *p, size_t avail, uint16_t linktype,
    uint32_t snaplen, const char *ifname)
{
	struct option opts[MAX_OPTIONS];
	struct block b;
	size_t len, n, i, tsresol = 0;

	len = read_block(p, avail, &b);
	CHECK(b.type == 1);
	CHECK(b.body_len >= 8);
	CHECK(get16(b.body) == linktype && get16(b.body + 2) == 0);
	CHECK(get32(b.body + 4) == snaplen);
	n = read_options(b.body + 8, b.body_len - 8, opts);
	check_string(opts, n, 2, ifname);	/* if_name */
	for (i = 0; i < n; i++) {
		if (opts[i].code == 9) {	/* if_tsresol */
			CHECK(opts[i].len == 1 && opts[i].value[0] == 9);
			tsresol++;
		} else {
			CHECK(opts[i].code == 2);
		}
	}
	CHECK(tsresol == 1);
	return len;
}

/*
 * The EPB at p: interface 0, the time, both lengths, the packet, its
 * direction and the drop count.  Returns its length, and its drop count
 * in *dropped.
 */
static size_t
check_epb(const uint8_t *p, size_t avail, const struct pcapng_packet *pkt,
    const uint8_t *packet, uint64_t *dropped)
{
	struct option opts[MAX_OPTIONS];
	struct block b;
	size_t len, n, i, caplen, padded, flags = 0;

	len = read_block(p, avail, &b);
	CHECK(b.type == 6);
	CHECK(b.body_len >= 20);
	CHECK(get32(b.body) == 0);
	CHECK(((uint64_t)get32(b.body + 4) << 32 | get32(b.body + 8)) ==
	    pkt->time);
	caplen = get32(b.body + 12);
	CHECK(caplen == pkt->caplen && get32(b.body + 16) == pkt->len);
	padded = (caplen + 3) & ~(size_t)3;
	CHECK(b.body_len - 20 >= padded);
	CHECK(same(b.body + 20, packet, caplen));
	for (i = caplen; i < padded; i++)
		CHECK(b.body[20 + i] == 0);
	n = read_options(b.body + 20 + padded, b.body_len - 20 - padded,
	    opts);
	*dropped = 0;
	for (i = 0; i < n; i++) {
		if (opts[i].code == 2) {	/* epb_flags */
			CHECK(opts[i].len == 4);
			CHECK(get32(opts[i].value) == pkt->direction);
			flags++;
		} else {
			CHECK(opts[i].code == 4);	/* epb_dropcount */
			CHECK(opts[i].len == 8 && *dropped == 0);
			*dropped = get64(opts[i].value);
			CHECK(*dropped > 0);
		}
	}
	CHECK(flags == 1);
	return len;
}

/* --- the encoder, fed ----------------------------------------------------- */

/* The capture so far: every block written, in order. */
struct capture {
	uint8_t *bytes;
	size_t len, cap;
};

static void
append(struct capture *c, const uint8_t *p, size_t len)
{
	uint8_t *grown;

	if (len > c->cap - c->len) {
		c->cap = 2 * c->cap + len;
		grown = realloc(c->bytes, c->cap);
		CHECK(grown != NULL);
		c->bytes = grown;
	}
	memcpy(c->bytes + c->len, p, len);
	c->len += len;
}

/* A string of the input of at most n bytes, up to a NUL. */
static char *
take_string(struct input *in, size_t n)
{
	char *s;

	if (n > in->left)
		n = in->left;
	s = xmalloc(n + 1);
	memcpy(s, in->p, n);
	s[n] = '\0';
	in->p += n;
	in->left -= n;
	return s;
}

/*
 * The header into a room near its length.  Returns 1 when it was written,
 * into the capture.
 */
static int
fuzz_header(struct capture *c, uint16_t linktype, uint32_t snaplen,
    const char *ifname, const char *application, uint8_t delta)
{
	size_t want, room, len, shb;
	uint8_t *buf, *before;

	want = pcapng_header_len(ifname, application);
	CHECK(want > 0 && want % 4 == 0);
	room = room_near(want, delta);
	buf = xmalloc(room);
	before = xmalloc(room);
	memset(buf, FILL, room);
	memcpy(before, buf, room);
	len = pcapng_header(buf, room, linktype, snaplen, ifname,
	    application);
	CHECK(len == (want <= room ? want : 0));
	CHECK(same(buf + len, before + len, room - len));
	if (len > 0) {
		shb = check_shb(buf, len, application);
		CHECK(check_idb(buf + shb, len - shb, linktype, snaplen,
		    ifname) == len - shb);
		append(c, buf, len);
	}
	free(buf);
	free(before);
	return len > 0;
}

/*
 * One packet from the input into a room near its block's length.
 * Returns 1 when it was written, into the capture; 0 when it was dropped,
 * or when the input ran out before it.
 */
static int
fuzz_packet(struct capture *c, struct input *in, uint64_t dropped,
    int *done)
{
	struct pcapng_packet pkt;
	uint8_t how, delta, *buf, *before, *own = NULL, *packet, *at;
	size_t want, room, len, where;
	uint64_t orig, got_dropped;
	int valid;

	if (in->left < 12) {
		*done = 1;
		return 0;
	}
	how = (uint8_t)take(in, 1);
	delta = (uint8_t)take(in, 1);
	pkt.time = take(in, 8);
	pkt.direction = (enum pcapng_direction)(how & 3);
	pkt.caplen = (size_t)take(in, 2);
	orig = how & 0x10 ? take(in, 5) : 0;
	if (pkt.caplen > in->left)
		pkt.caplen = in->left;
	if (!(how & 0x10))
		orig = pkt.caplen;
	/* As no caller can give a length that its size_t cannot hold. */
	if (orig > SIZE_MAX)
		orig = SIZE_MAX;
	pkt.len = (size_t)orig;
	pkt.dropped = dropped;
	packet = xmalloc(pkt.caplen);
	memcpy(packet, in->p, pkt.caplen);
	in->p += pkt.caplen;
	in->left -= pkt.caplen;

	want = pcapng_epb_len(pkt.caplen, dropped);
	CHECK(want == 44 + ((pkt.caplen + 3) & ~(size_t)3) +
	    (dropped > 0 ? 12 : 0));
	valid = pkt.caplen <= orig && orig <= UINT32_MAX &&
	    (pkt.direction == PCAPNG_INBOUND ||
	    pkt.direction == PCAPNG_OUTBOUND);
	room = room_near(want, delta);
	buf = xmalloc(room);
	before = xmalloc(room);
	memset(buf, FILL, room);

	/* Where the packet lies: on its own, in place, or elsewhere in buf. */
	where = (how >> 2) & 3;
	if (where == 1 && PCAPNG_EPB_DATA + pkt.caplen <= room)
		at = buf + PCAPNG_EPB_DATA;
	else if (where == 2 && pkt.caplen <= room)
		at = buf + room - pkt.caplen;
	else if (where == 3 && pkt.caplen <= room)
		at = buf;
	else
		at = own = xmalloc(pkt.caplen);
	if (pkt.caplen > 0)
		memcpy(at, packet, pkt.caplen);
	pkt.data = at;
	memcpy(before, buf, room);

	len = pcapng_epb(buf, room, &pkt);
	CHECK(len == (valid && want <= room ? want : 0));
	CHECK(same(buf + len, before + len, room - len));
	if (len > 0) {
		CHECK(check_epb(buf, len, &pkt, packet, &got_dropped) == len);
		CHECK(got_dropped == dropped);
		append(c, buf, len);
	}
	free(own);
	free(buf);
	free(before);
	free(packet);
	return len > 0;
}

/* The drop count of the EPB b, 0 without one. */
static uint64_t
epb_dropcount(const struct block *b)
{
	struct option opts[MAX_OPTIONS];
	size_t n, i, padded;

	CHECK(b->body_len >= 20);
	padded = ((size_t)get32(b->body + 12) + 3) & ~(size_t)3;
	CHECK(b->body_len - 20 >= padded);
	n = read_options(b->body + 20 + padded, b->body_len - 20 - padded,
	    opts);
	for (i = 0; i < n; i++)
		if (opts[i].code == 4)
			return get64(opts[i].value);
	return 0;
}

/*
 * The capture walked whole: the header if written, then EPBs only, whose
 * number and drop counts add up to the packets tried but the last ones
 * dropped.
 */
static void
walk(const struct capture *c, int header, size_t written, size_t tried,
    uint64_t trailing)
{
	struct block b;
	size_t pos = 0, epbs = 0, n;
	uint64_t dropped = 0;

	if (header) {
		pos += read_block(c->bytes, c->len, &b);
		CHECK(b.type == 0x0a0d0d0a && pcapng_block_len(c->bytes) == pos);
		n = read_block(c->bytes + pos, c->len - pos, &b);
		CHECK(b.type == 1 && pcapng_block_len(c->bytes + pos) == n);
		pos += n;
	}
	while (pos < c->len) {
		n = read_block(c->bytes + pos, c->len - pos, &b);
		CHECK(b.type == 6);
		CHECK(pcapng_block_len(c->bytes + pos) == n);
		dropped += epb_dropcount(&b);
		epbs++;
		pos += n;
	}
	CHECK(pos == c->len);
	CHECK(epbs == written);
	CHECK(written + dropped + trailing == tried);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct capture c = { NULL, 0, 0 };
	uint16_t linktype;
	uint32_t snaplen;
	size_t nlen, alen, written = 0, tried = 0;
	uint64_t dropped = 0;
	uint8_t delta;
	char *ifname, *application;
	int header, done = 0;

	if (size < 9)
		return 0;
	linktype = (uint16_t)take(&in, 2);
	snaplen = (uint32_t)take(&in, 4);
	nlen = (size_t)take(&in, 1);
	alen = (size_t)take(&in, 1);
	delta = (uint8_t)take(&in, 1);
	ifname = take_string(&in, nlen);
	application = take_string(&in, alen);

	CHECK(pcapng_epb_len(PCAPNG_CAPLEN_MAX + (size_t)1, 0) == 0);
	header = fuzz_header(&c, linktype, snaplen, ifname, application,
	    delta);
	for (;;) {
		if (fuzz_packet(&c, &in, dropped, &done)) {
			written++;
			dropped = 0;
		} else if (!done) {
			dropped++;
		}
		if (done)
			break;
		tried++;
	}
	walk(&c, header, written, tried, dropped);
	free(c.bytes);
	free(ifname);
	free(application);
	return 0;
}
