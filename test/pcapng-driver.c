/*
 * pcapng-driver: runs the capture encoder (pcapng.h) from the command line,
 * so that test/pcapng.bats can compare the bytes it writes with bytes
 * worked out by hand, and hand its captures to tshark and tcpdump.  Not
 * installed.
 *
 *	pcapng-driver [-n] [-p] [-t tun|tap] [-s snaplen] [-i ifname]
 *	    [-a application] [-r room]
 *	pcapng-driver -b
 *	pcapng-driver limits
 *
 * It writes to standard output the start of a capture (pcapng_header():
 * -t tun, the default, gives LINKTYPE_RAW and -t tap LINKTYPE_ETHERNET; -s
 * the snapshot length, default 0: no limit; -i and -a the if_name and
 * shb_userappl strings, default none), then one EPB for each line of
 * standard input:
 *
 *	TIME DIR [HEX [LEN]]
 *
 * TIME is the timestamp in nanoseconds since 1970, DIR is "in", "out" or
 * the direction's number (to try one that pcapng.h refuses), HEX the
 * packet's bytes (none: an empty packet) and LEN its original length
 * (default: its bytes).  As tunpipe does, the driver keeps at most snaplen
 * bytes of a packet; LEN stays its whole length.
 *
 * -n leaves the header out: only the EPBs.  -p reads each packet into the
 * block's buffer at PCAPNG_EPB_DATA first, where pcapng_epb() leaves it.
 *
 * Each block goes into a buffer of exactly the size that pcapng_header_len()
 * or pcapng_epb_len() gives, so that a sanitizer sees an overrun; with -r,
 * into one of room bytes instead.  A block that the encoder does not write
 * (it does not fit in room, or pcapng.h refuses it) is dropped and counted,
 * as tunpipe drops capture records, and the next block written carries the
 * count in epb_dropcount; each drop prints on standard error
 *
 *	line N: dropped: B bytes, room R
 *
 * The driver checks what pcapng.h promises: a block's length is what the
 * _len function said and what pcapng_block_len() reads in it (the SHB's
 * and the IDB's adding up to the header's), nothing is written in the
 * room past it, and nothing at all when the encoder returns 0.
 *
 * -b reads a capture on standard input instead, and prints for each block
 * its offset and its length, as pcapng_block_len() reads it:
 *
 *	OFFSET LEN
 *
 * each from the block's first 8 bytes, alone in a buffer of 8, so that a
 * sanitizer sees a read past them.  It stops at a length under 12 or not a
 * multiple of 4, or a block cut short by the end of the input.
 *
 * limits prints the limits of this build's types instead (see
 * driver_limits() in driver.h): a packet's length is a size_t.
 *
 * Exit status: 0 when every line was read (whether or not blocks were
 * dropped), or with -b every block; 1 for bad input or a header that does
 * not fit, 2 for a bad command line, 3 when the encoder broke a promise
 * pcapng.h makes.
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

#include "pcapng.h"
#include "driver.h"

#define EXIT_INPUT	1
#define EXIT_USAGE	2
#define EXIT_CODEC	3

/* Bytes the driver fills each buffer with, to see what the encoder wrote. */
#define UNTOUCHED	0xa5

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: pcapng-driver [-n] [-p] [-t tun|tap] "
	    "[-s snaplen] [-i ifname]\n"
	    "           [-a application] [-r room]\n"
	    "       pcapng-driver -b\n"
	    "       pcapng-driver limits\n");
	exit(EXIT_USAGE);
}

/* A whole argument that is one number, for -s and -r. */
static uint64_t
parse_arg(const char *arg, uint64_t max, const char *what)
{
	const char *s = arg;
	uint64_t n;

	n = driver_number(&s, max, what, EXIT_USAGE);
	if (*s != '\0')
		errx(EXIT_USAGE, "%s: not a number: %s", what, arg);
	return n;
}

/*
 * Checks, after the encoder wrote len bytes (0: none) into buf[0..room),
 * that it left the rest as it was in before.
 */
static void
check_untouched(const uint8_t *buf, const uint8_t *before, size_t room,
    size_t len, size_t want, const char *what, size_t lineno)
{
	if (len != 0 && len != want)
		errx(EXIT_CODEC, "encoder: line %zu: %s of %zu bytes, not the "
		    "%zu its _len function gave", lineno, what, len, want);
	if (len > room)
		errx(EXIT_CODEC, "encoder: line %zu: %s of %zu bytes in a "
		    "room of %zu", lineno, what, len, room);
	if (memcmp(buf + len, before + len, room - len) != 0)
		errx(EXIT_CODEC, "encoder: line %zu: %s of %zu bytes wrote "
		    "past them in a room of %zu", lineno, what, len, room);
}

/* Writes the bytes out; standard output must take them all. */
static void
output(const uint8_t *p, size_t len)
{
	if (fwrite(p, 1, len, stdout) != len)
		err(EXIT_INPUT, "stdout");
}

/* The start of the capture, into a buffer of room bytes (0: exactly). */
static void
header(uint16_t linktype, uint32_t snaplen, const char *ifname,
    const char *application, size_t room)
{
	size_t want = pcapng_header_len(ifname, application), len;
	uint8_t *buf, *before;

	if (want == 0)
		errx(EXIT_INPUT, "header: a string over %d bytes",
		    PCAPNG_STRING_MAX);
	if (room == 0)
		room = want;
	buf = driver_alloc(room);
	before = driver_alloc(room);
	memset(buf, UNTOUCHED, room);
	memcpy(before, buf, room);
	len = pcapng_header(buf, room, linktype, snaplen, ifname,
	    application);
	check_untouched(buf, before, room, len, want, "header", 0);
	if (len != 0 && pcapng_block_len(buf) + pcapng_block_len(buf +
	    pcapng_block_len(buf)) != len)
		errx(EXIT_CODEC, "encoder: a header of %zu bytes whose blocks "
		    "say %zu and %zu", len, pcapng_block_len(buf),
		    pcapng_block_len(buf + pcapng_block_len(buf)));
	if (len == 0 && want <= room)
		errx(EXIT_CODEC, "encoder: a header of %zu bytes did not go "
		    "in a room of %zu", want, room);
	if (len == 0)
		errx(EXIT_INPUT, "header: %zu bytes, room %zu", want, room);
	output(buf, len);
	free(buf);
	free(before);
}

/* What one line of input says. */
struct line {
	uint64_t time;
	uint64_t direction;
	uint8_t *bytes;		/* the whole packet */
	size_t nbytes;
	uint64_t len;		/* its original length */
};

/* Reads "TIME DIR [HEX [LEN]]" from text into *l. */
static void
parse_line(char *text, struct line *l, size_t lineno)
{
	const char *s = text;
	size_t n;

	l->time = driver_number(&s, UINT64_MAX, "time", EXIT_INPUT);
	if (*s++ != ' ')
		errx(EXIT_INPUT, "line %zu: no direction", lineno);
	if (strncmp(s, "in", 2) == 0 && (s[2] == ' ' || s[2] == '\0')) {
		l->direction = PCAPNG_INBOUND;
		s += 2;
	} else if (strncmp(s, "out", 3) == 0 && (s[3] == ' ' || s[3] == '\0')) {
		l->direction = PCAPNG_OUTBOUND;
		s += 3;
	} else {
		l->direction = driver_number(&s, UINT32_MAX, "direction", EXIT_INPUT);
	}
	if (*s == ' ')
		s++;
	n = strcspn(s, " ");
	l->nbytes = n / 2;
	l->bytes = driver_alloc(l->nbytes);
	driver_hex(s, n, l->bytes, l->nbytes, lineno);
	s += n;
	l->len = l->nbytes;
	if (*s == ' ') {
		s++;
		l->len = driver_number(&s, UINT64_MAX, "length", EXIT_INPUT);
	}
	if (*s != '\0')
		errx(EXIT_INPUT, "line %zu: more than TIME DIR HEX LEN",
		    lineno);
}

/*
 * One EPB, into a buffer of room bytes (0: exactly the block's).  Returns
 * 1 when it was written, 0 when it was dropped.
 */
static int
packet(const struct line *l, uint32_t snaplen, uint64_t dropped,
    size_t room, int in_place, size_t lineno)
{
	struct pcapng_packet pkt;
	size_t want, len;
	uint8_t *buf, *before;

	pkt.time = l->time;
	pkt.direction = (enum pcapng_direction)l->direction;
	pkt.data = l->bytes;
	pkt.caplen = snaplen != 0 && l->nbytes > snaplen ? snaplen :
	    l->nbytes;
	pkt.len = (size_t)l->len;
	pkt.dropped = dropped;
	if (l->len > SIZE_MAX)
		errx(EXIT_INPUT, "line %zu: length over %zu", lineno,
		    (size_t)SIZE_MAX);

	want = pcapng_epb_len(pkt.caplen, dropped);
	if (room == 0)
		room = want > 0 ? want : 1;
	buf = driver_alloc(room);
	before = driver_alloc(room);
	memset(buf, UNTOUCHED, room);
	if (in_place && PCAPNG_EPB_DATA + pkt.caplen <= room) {
		memcpy(buf + PCAPNG_EPB_DATA, pkt.data, pkt.caplen);
		pkt.data = buf + PCAPNG_EPB_DATA;
	}
	memcpy(before, buf, room);
	len = pcapng_epb(buf, room, &pkt);
	check_untouched(buf, before, room, len, want, "packet", lineno);
	if (len != 0 && pcapng_block_len(buf) != len)
		errx(EXIT_CODEC, "encoder: line %zu: a packet of %zu bytes "
		    "whose block says %zu", lineno, len, pcapng_block_len(buf));
	if (len == 0)
		fprintf(stderr, "line %zu: dropped: %zu bytes, room %zu\n",
		    lineno, want, room);
	else
		output(buf, len);
	free(buf);
	free(before);
	return len != 0;
}

/* -b: each block's offset and length, as pcapng_block_len() reads it. */
static void
walk_blocks(void)
{
	uint8_t *start = driver_alloc(8);
	uint64_t offset = 0;
	size_t n, len, i;

	while ((n = fread(start, 1, 8, stdin)) == 8) {
		len = pcapng_block_len(start);
		printf("%" PRIu64 " %zu\n", offset, len);
		if (len < 12 || len % 4 != 0)
			errx(EXIT_INPUT, "block at %" PRIu64 ": a length of %zu",
			    offset, len);
		for (i = 8; i < len; i++)
			if (getchar() == EOF)
				errx(EXIT_INPUT, "block at %" PRIu64 ": cut short "
				    "after %zu of %zu bytes", offset, i, len);
		offset += len;
	}
	if (ferror(stdin))
		err(EXIT_INPUT, "stdin");
	if (n != 0)
		errx(EXIT_INPUT, "block at %" PRIu64 ": cut short after %zu "
		    "bytes", offset, n);
	free(start);
}

int
main(int argc, char *argv[])
{
	uint16_t linktype = PCAPNG_LINKTYPE_RAW;
	uint32_t snaplen = 0;
	const char *ifname = NULL, *application = NULL;
	size_t room = 0, cap = 0, lineno = 0;
	uint64_t dropped = 0;
	int ch, with_header = 1, in_place = 0, walk = 0;
	struct line l;
	char *text = NULL;
	ssize_t n;

	if (argc == 2 && strcmp(argv[1], "limits") == 0)
		driver_limits();
	while ((ch = getopt(argc, argv, "a:bi:npr:s:t:")) != -1) {
		switch (ch) {
		case 'a':
			application = optarg;
			break;
		case 'b':
			walk = 1;
			break;
		case 'i':
			ifname = optarg;
			break;
		case 'n':
			with_header = 0;
			break;
		case 'p':
			in_place = 1;
			break;
		case 'r':
			room = (size_t)parse_arg(optarg, SIZE_MAX, "-r");
			break;
		case 's':
			snaplen = (uint32_t)parse_arg(optarg, UINT32_MAX, "-s");
			break;
		case 't':
			if (strcmp(optarg, "tun") == 0)
				linktype = PCAPNG_LINKTYPE_RAW;
			else if (strcmp(optarg, "tap") == 0)
				linktype = PCAPNG_LINKTYPE_ETHERNET;
			else
				errx(EXIT_USAGE, "-t: tun or tap, not %s",
				    optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (walk && argc != 2))
		usage();

	if (walk) {
		walk_blocks();
		if (fflush(stdout) == EOF || ferror(stdout))
			err(EXIT_INPUT, "stdout");
		return 0;
	}
	if (with_header)
		header(linktype, snaplen, ifname, application, room);
	while ((n = getline(&text, &cap, stdin)) != -1) {
		lineno++;
		if (n > 0 && text[n - 1] == '\n')
			text[--n] = '\0';
		parse_line(text, &l, lineno);
		if (packet(&l, snaplen, dropped, room, in_place, lineno))
			dropped = 0;
		else
			dropped++;
		free(l.bytes);
	}
	if (ferror(stdin))
		err(EXIT_INPUT, "stdin");
	free(text);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EXIT_INPUT, "stdout");
	return 0;
}
