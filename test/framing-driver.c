/*
 * framing-driver: runs the framing codec (framing.h) from the command line,
 * so that test/codec.bats can feed it byte streams cut at any point and
 * compare what comes out with what it worked out by hand.  Not installed.
 *
 *	framing-driver encode [-f framing]
 *	framing-driver decode [-f framing] [-m max] [-c size | -s offset,...]
 *	framing-driver decode -Z [-c size | -s offset,...]
 *
 * -f names the framing as tunpipe's -f does: len16 (the default), len32 or
 * slip.
 *
 * encode reads one packet per line of hex on standard input (an empty line
 * is an empty packet: a keepalive, in SLIP three ENDs) and writes the
 * stream to standard output.  Each packet is encoded in place in a buffer of
 * exactly framing_encoded_max() bytes, so that a sanitizer sees an overrun.
 *
 * decode reads the whole stream on standard input and hands it to the
 * decoder in chunks, as reads of a pipe would: in one chunk by default, in
 * chunks of size bytes with -c (-c 1 feeds it byte by byte), or cut at the
 * given offsets from the start of the stream with -s (-s 3,7 feeds bytes
 * [0,3), [3,7) and [7,end); offsets must not go down, and equal offsets or
 * an offset of 0 or of the stream's length make empty chunks).  Each chunk
 * and the assembly buffer are allocated to their exact size, again for the
 * sanitizers.  -m sets the largest packet accepted (default 1500, at most
 * framing_packet_max(): 65535 for len16 and slip, 65664 for len32).  -Z
 * leaves the decoder as a zeroed struct, never readied by
 * framing_decoder_init(), in no framing.  It
 * prints each packet as a line of lowercase hex, and a line for each packet
 * that SLIP dropped:
 *
 *	dropped: damaged after N bytes	(bad escape after N good bytes)
 *	dropped: overlong		(a packet over the max)
 *
 * after which the decoder skips the rest of the packet, up to the next END,
 * and goes on; then one status line:
 *
 *	end: whole, keepalives K	(slip: one for every third END in a row)
 *	end: cut in header, H of W bytes
 *	end: cut in packet, H of W bytes
 *	end: cut in packet, H bytes	(slip, whose framing has no length)
 *	error: too big, N bytes over max M
 *	error: a decoder never readied	(-Z, at the first chunk)
 *
 * A SLIP stream is cut in a packet when it ends after packet bytes, after an
 * ESC, or while skipping a dropped packet (then H is 0).
 *
 * Exit status: 0 when the stream decoded (whole or cut short, with or
 * without dropped packets), 1 for a frame over the maximum or bad input, 2
 * for a bad command line, 3 when the codec broke a promise framing.h makes.
 */
#define _POSIX_C_SOURCE 200809L	/* getline() */

#include <err.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "framing.h"
#include "driver.h"

#define DEFAULT_MAX	1500	/* an Ethernet MTU, tunpipe's usual limit */

#define EXIT_TOO_BIG	1
#define EXIT_USAGE	2
#define EXIT_CODEC	3

static char hexline[2 * FRAMING_PACKET_MAX + 1];

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: framing-driver encode [-f framing]\n"
	    "       framing-driver decode [-f framing] [-m max] "
	    "[-c size | -s offset,...]\n"
	    "       framing-driver decode -Z [-c size | -s offset,...]\n");
	exit(EXIT_USAGE);
}

/* A whole argument that is one number, for -m and -c. */
static size_t
parse_arg(const char *arg, size_t min, size_t max, const char *what)
{
	const char *s = arg;
	size_t n;

	n = (size_t)driver_number(&s, max, what, EXIT_USAGE);
	if (*s != '\0')
		errx(EXIT_USAGE, "%s: not a number: %s", what, arg);
	if (n < min)
		errx(EXIT_USAGE, "%s: less than %zu: %s", what, min, arg);
	return n;
}

/* -f: the framing's name as tunpipe's -f takes it. */
static enum framing_type
parse_framing(const char *arg)
{
	enum framing_type type;

	if (framing_by_name(arg, &type) == -1)
		errx(EXIT_USAGE, "-f: len16, len32 or slip, not %s", arg);
	return type;
}

/*
 * Prints a packet as one line of lowercase hex, built whole and written
 * once so that a 64 KiB packet costs one fwrite().
 */
static void
print_hex(const uint8_t *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		hexline[2 * i] = digits[p[i] >> 4];
		hexline[2 * i + 1] = digits[p[i] & 0xf];
	}
	hexline[2 * len] = '\n';
	fwrite(hexline, 1, 2 * len + 1, stdout);
}

/* Standard output must have taken everything, or the test reads too little. */
static void
finish_output(void)
{
	if (fflush(stdout) == EOF || ferror(stdout))
		err(1, "stdout");
}

/*
 * encode: each line of hex becomes one frame, encoded in place the way
 * tunpipe does it: the packet goes at frame + framing_header_len() and
 * framing_encode() writes the header before it (SLIP: escapes it there).
 * The frame buffer has exactly the framing_encoded_max() bytes that
 * framing.h asks for, no more.
 */
static int
encode(enum framing_type type)
{
	size_t hlen = framing_header_len(type);
	size_t max = framing_packet_max(type);
	size_t cap = 0, lineno = 0, len, room;
	uint8_t *frame;
	char *line = NULL;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) != -1) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		/* driver_hex() refuses a longer packet before writing it. */
		len = (size_t)n / 2 < max ? (size_t)n / 2 : max;
		room = framing_encoded_max(type, len);
		frame = driver_alloc(room);
		len = driver_hex(line, (size_t)n, frame + hlen, max, lineno);
		len = framing_encode(type, frame, len);
		if (len > room || framing_frame_len(type, frame) != len)
			errx(EXIT_CODEC, "codec: line %zu: a frame of %zu "
			    "bytes (room %zu, framing_frame_len %zu)", lineno,
			    len, room, framing_frame_len(type, frame));
		fwrite(frame, 1, len, stdout);
		free(frame);
	}
	if (ferror(stdin))
		err(1, "stdin");
	free(line);
	finish_output();
	return 0;
}

/*
 * Reads all of standard input: the chunks are cut afterwards, so that where
 * they fall is up to the command line and not to the pipe.
 */
static uint8_t *
read_all(size_t *lenp)
{
	uint8_t *buf = NULL, *nbuf;
	size_t len = 0, size = 0, n;

	for (;;) {
		if (len == size) {
			size = size ? 2 * size : 64 * 1024;
			if ((nbuf = realloc(buf, size)) == NULL)
				err(1, "realloc");
			buf = nbuf;
		}
		n = fread(buf + len, 1, size - len, stdin);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(stdin))
		err(1, "stdin");
	*lenp = len;
	return buf;
}

/*
 * Hands one chunk to the decoder the way tunpipe hands it one read: again
 * and again, each time with what is left, until FRAMING_AGAIN.  The chunk
 * is copied into a buffer of its exact size, so that a sanitizer sees the
 * codec read past it.  Prints each packet at once, since pkt.data only lives
 * until the next call, and a line for each packet SLIP drops.  Checks what
 * framing.h promises, so that a codec bug shows as a failure and not as a
 * hang or garbage.  Returns 0, or -1 after printing the too-big line.
 * zeroed says that d was never readied.
 */
static int
feed(struct framing_decoder *d, int zeroed, enum framing_type type,
    size_t max, const uint8_t *data, size_t len)
{
	struct framing_packet pkt;
	enum framing_result r;
	uint8_t *chunk, *in;
	size_t used;

	in = chunk = driver_alloc(len);
	memcpy(chunk, data, len);
	do {
		used = pkt.len = (size_t)-1;
		r = framing_decode(d, in, len, &used, &pkt);
		if (used > len)
			errx(EXIT_CODEC, "codec used %zu of %zu bytes",
			    used, len);
		if (zeroed && (r != FRAMING_TOO_BIG || used != 0 ||
		    pkt.len != 0))
			errx(EXIT_CODEC, "codec: a decoder never readied gave "
			    "result %d, %zu bytes long, from %zu of %zu bytes",
			    (int)r, pkt.len, used, len);
		if (zeroed) {
			printf("error: a decoder never readied\n");
			break;
		}
		switch (r) {
		case FRAMING_AGAIN:
			if (used != len)
				errx(EXIT_CODEC, "codec: FRAMING_AGAIN left "
				    "%zu of %zu bytes unused", len - used, len);
			break;
		case FRAMING_PACKET:
			if (used == 0 || pkt.len == 0 || pkt.len > max)
				errx(EXIT_CODEC, "codec: packet of %zu bytes "
				    "(max %zu) from %zu bytes of input",
				    pkt.len, max, used);
			print_hex(pkt.data, pkt.len);
			break;
		case FRAMING_DAMAGED:
			if (type != FRAMING_SLIP || used == 0 || pkt.len > max)
				errx(EXIT_CODEC, "codec: damaged packet after "
				    "%zu bytes (max %zu) from %zu bytes of "
				    "input", pkt.len, max, used);
			printf("dropped: damaged after %zu bytes\n", pkt.len);
			break;
		case FRAMING_OVERLONG:
			if (type != FRAMING_SLIP || used == 0 ||
			    pkt.len != max + 1)
				errx(EXIT_CODEC, "codec: overlong packet of "
				    "%zu bytes (max %zu) from %zu bytes of "
				    "input", pkt.len, max, used);
			printf("dropped: overlong\n");
			break;
		case FRAMING_TOO_BIG:
			if (type == FRAMING_SLIP || pkt.len <= max)
				errx(EXIT_CODEC, "codec: too big at %zu bytes "
				    "(max %zu)", pkt.len, max);
			printf("error: too big, %zu bytes over max %zu\n",
			    pkt.len, max);
			break;
		default:
			errx(EXIT_CODEC, "codec: unknown result %d", (int)r);
		}
		in += used;
		len -= used;
	} while (r != FRAMING_AGAIN && r != FRAMING_TOO_BIG);
	free(chunk);
	return r == FRAMING_TOO_BIG ? -1 : 0;
}

/* Prints the one line that says where the stream stopped. */
static void
print_end(const struct framing_decoder *d)
{
	size_t have = 0, want = 0;

	switch (framing_decoder_partial(d, &have, &want)) {
	case FRAMING_BETWEEN:
		printf("end: whole, keepalives %" PRIu64 "\n", d->keepalives);
		break;
	case FRAMING_IN_HEADER:
		printf("end: cut in header, %zu of %zu bytes\n", have, want);
		break;
	case FRAMING_IN_PACKET:
		if (want == 0)	/* SLIP: the framing does not say */
			printf("end: cut in packet, %zu bytes\n", have);
		else
			printf("end: cut in packet, %zu of %zu bytes\n",
			    have, want);
		break;
	}
}

/*
 * decode: cuts the stream as -c or -s say, feeds the pieces in order, and
 * tells how the stream ended.
 */
static int
decode(int argc, char *argv[])
{
	struct framing_decoder dec;
	enum framing_type type = FRAMING_LEN16;
	const char *offsets = NULL, *maxarg = NULL, *s;
	size_t max = DEFAULT_MAX, chunk = 0, len, pos, off, n;
	uint8_t *buf, *assembly;
	int ch, bad = 0, zeroed = 0;

	while ((ch = getopt(argc, argv, "c:f:m:s:Z")) != -1) {
		switch (ch) {
		case 'c':
			chunk = parse_arg(optarg, 1, SIZE_MAX, "-c");
			break;
		case 'f':
			type = parse_framing(optarg);
			break;
		case 'm':	/* checked once -f is known */
			maxarg = optarg;
			break;
		case 's':
			offsets = optarg;
			break;
		case 'Z':
			zeroed = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (chunk != 0 && offsets != NULL) ||
	    (zeroed && (type != FRAMING_LEN16 || maxarg != NULL)))
		usage();
	if (maxarg != NULL)
		max = parse_arg(maxarg, 0, framing_packet_max(type), "-m");

	buf = read_all(&len);
	assembly = driver_alloc(max);
	if (zeroed)
		memset(&dec, 0, sizeof(dec));
	else
		framing_decoder_init(&dec, type, max, assembly);
	pos = 0;
	if (chunk != 0) {
		while (!bad && pos < len) {
			n = len - pos < chunk ? len - pos : chunk;
			bad = feed(&dec, zeroed, type, max, buf + pos, n);
			pos += n;
		}
	} else {
		for (s = offsets; !bad && s != NULL; s = *s ? s + 1 : NULL) {
			off = (size_t)driver_number(&s, SIZE_MAX, "-s", EXIT_USAGE);
			if ((*s != ',' && *s != '\0') || off < pos)
				errx(EXIT_USAGE, "-s: offsets must be numbers "
				    "that do not go down: %s", offsets);
			if (off > len)
				errx(EXIT_USAGE, "-s: offset %zu is past the "
				    "end of the %zu-byte stream", off, len);
			bad = feed(&dec, zeroed, type, max, buf + pos, off - pos);
			pos = off;
		}
		if (!bad)
			bad = feed(&dec, zeroed, type, max, buf + pos, len - pos);
	}
	if (!bad)
		print_end(&dec);
	free(assembly);
	free(buf);
	finish_output();
	return bad ? EXIT_TOO_BIG : 0;
}

int
main(int argc, char *argv[])
{
	enum framing_type type = FRAMING_LEN16;
	int ch;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "encode") == 0) {
		argc--;
		argv++;
		while ((ch = getopt(argc, argv, "f:")) != -1) {
			if (ch != 'f')
				usage();
			type = parse_framing(optarg);
		}
		if (optind != argc)
			usage();
		return encode(type);
	}
	if (strcmp(argv[1], "decode") == 0)
		return decode(argc - 1, argv + 1);
	usage();
}
