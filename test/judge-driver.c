/*
 * judge-driver: runs the frame judge (judge.h) from the command line, so
 * that test/judge.bats can hand it frames built by hand, one after another
 * as a stream brings them, and compare what it says of each with what it
 * worked out.  Not installed.
 *
 *	judge-driver [-T] [-O] [-f framing]
 *	judge-driver -Z
 *
 * The judge is readied (judge_init()) for a stream of IP packets, or of
 * Ethernet frames with -T (tunpipe's TAP mode); each after a virtio-net
 * header of OFFLOAD_VNET_LEN bytes with -O, as tunpipe's -O sends them,
 * else none; in the framing -f names as tunpipe's -f does: len16 (the
 * default), len32 or slip.  -Z leaves the judge a zeroed struct, never
 * readied.
 *
 * Each line of standard input is one of:
 *
 *	[after_empty] HEX [/ LEN]	a frame from the stream
 *	weigh KIND			a frame of KIND, weighed unclassified,
 *					as tunpipe weighs one SLIP dropped
 *	restart				judge_restart(): a new stream begins
 *	end				what the judge says at the end
 *	cause KIND			judge_cause(KIND)
 *
 * HEX is a frame's bytes (spaces between bytes are skipped, so that a test
 * can show where its headers end; no bytes at all: an empty frame), which
 * judge_classify() classifies and judge_weigh() then weighs; after_empty
 * says that an empty frame came right before it.  LEN is the frame's whole
 * length when HEX gives only its first bytes, as tunpipe judges a frame
 * half read: then HEX must give at least the virtio-net header (-O) and
 * JUDGE_CLASSIFY_BYTES more, all that judge.h says the judge reads.  The
 * bytes given lie in a buffer of exactly their size, so that a sanitizer
 * sees any read past them.  KIND is one of the names below, or a number
 * (to try one outside the enum).
 *
 * For a frame, and for weigh, the driver prints
 *
 *	KIND refused|accepted VERDICT good G run R
 *
 * the frame's kind (GOOD, NOT_IP, IP_LENGTH, ETHERNET, RUNT, DAMAGED,
 * IP_IN_TAP, AFTER_EMPTY, NO_VNET or VNET: enum judge_kind's names without
 * JUDGE_), whether judge_is_refused() says it is, judge_weigh()'s verdict
 * (CARRY_ON, WARN, BROKEN or BROKEN_NOW), then the judge's good_frames and
 * bad_run after it.  restart prints "restart good G run R", end prints
 *
 *	ended_mismatched 0|1 heard_nothing 0|1 bad_kind KIND
 *
 * as judge_ended_mismatched() and judge_heard_nothing() answer, and cause
 * prints the words on a line (GOOD's: an empty line).
 *
 * The driver checks what judge.h promises: every kind and verdict is one
 * of its enum, a cause is never NULL, and a whole frame longer than the
 * header and JUDGE_CLASSIFY_BYTES is of the same kind when only those
 * bytes are given, in a buffer of their size, with its whole length.
 *
 * Exit status: 0 when every line was read, 1 for bad input, 2 for a bad
 * command line, 3 when the judge broke a promise judge.h makes.
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

#include "judge.h"
#include "offload.h"
#include "driver.h"

#define EXIT_INPUT	1
#define EXIT_USAGE	2
#define EXIT_JUDGE	3

#define FRAME_MAX	(OFFLOAD_VNET_LEN + 65664)	/* len32's largest */

static const char *const kinds[] = {
	[JUDGE_GOOD] = "GOOD",
	[JUDGE_NOT_IP] = "NOT_IP",
	[JUDGE_IP_LENGTH] = "IP_LENGTH",
	[JUDGE_ETHERNET] = "ETHERNET",
	[JUDGE_RUNT] = "RUNT",
	[JUDGE_DAMAGED] = "DAMAGED",
	[JUDGE_IP_IN_TAP] = "IP_IN_TAP",
	[JUDGE_AFTER_EMPTY] = "AFTER_EMPTY",
	[JUDGE_NO_VNET] = "NO_VNET",
	[JUDGE_VNET] = "VNET",
};
#define KINDS	(sizeof(kinds) / sizeof(kinds[0]))

static const char *const verdicts[] = {
	[JUDGE_CARRY_ON] = "CARRY_ON",
	[JUDGE_WARN] = "WARN",
	[JUDGE_BROKEN] = "BROKEN",
	[JUDGE_BROKEN_NOW] = "BROKEN_NOW",
};
#define VERDICTS	(sizeof(verdicts) / sizeof(verdicts[0]))

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: judge-driver [-T] [-O] [-f framing]\n"
	    "       judge-driver -Z\n");
	exit(EXIT_USAGE);
}

/* Prints a kind by its name, or by its number if it has none. */
static void
print_kind(enum judge_kind kind)
{
	if ((unsigned)kind < KINDS)
		printf("%s", kinds[kind]);
	else
		printf("%u", (unsigned)kind);
}

/* Reads KIND, a name or a number, which must end the line. */
static enum judge_kind
parse_kind(const char *s, size_t lineno)
{
	const char *end = s;
	size_t k;

	for (k = 0; k < KINDS; k++)
		if (strcmp(s, kinds[k]) == 0)
			return (enum judge_kind)k;
	k = (size_t)driver_number(&end, 255, "kind", EXIT_INPUT);
	if (*end != '\0')
		errx(EXIT_INPUT, "line %zu: not a kind: %s", lineno, s);
	return (enum judge_kind)k;
}

/* The kind of the frame p[0..n) of len bytes, checked to be one of the enum. */
static enum judge_kind
classify(const struct judge *j, const uint8_t *p, size_t n, size_t len,
    int after_empty, size_t lineno)
{
	enum judge_kind kind;
	uint8_t *copy;

	copy = driver_alloc(n);
	if (n > 0)
		memcpy(copy, p, n);
	kind = judge_classify(j, copy, len, after_empty);
	free(copy);
	if ((unsigned)kind >= KINDS)
		errx(EXIT_JUDGE, "judge: line %zu: a frame of kind %u", lineno,
		    (unsigned)kind);
	return kind;
}

/* Weighs a frame of this kind, and prints what the judge says of it. */
static void
weigh(struct judge *j, enum judge_kind kind, size_t lineno)
{
	enum judge_verdict verdict = judge_weigh(j, kind);

	if ((unsigned)verdict >= VERDICTS)
		errx(EXIT_JUDGE, "judge: line %zu: a verdict of %u", lineno,
		    (unsigned)verdict);
	print_kind(kind);
	printf(" %s %s good %" PRIu64 " run %u\n", judge_is_refused(kind) ?
	    "refused" : "accepted", verdicts[verdict], j->good_frames,
	    j->bad_run);
}

/*
 * A frame: "HEX [/ LEN]" at s, after an empty frame if after_empty.  A
 * whole frame is classified again from its first bytes alone.
 */
static void
frame(struct judge *j, const char *s, int after_empty, uint8_t *buf,
    size_t lineno)
{
	const char *slash = strchr(s, '/');
	size_t n, len, head = j->header + JUDGE_CLASSIFY_BYTES;
	enum judge_kind kind, first;

	n = driver_hex(s, slash != NULL ? (size_t)(slash - s) : strlen(s),
	    buf, FRAME_MAX, lineno);
	len = n;
	if (slash != NULL) {
		for (s = slash + 1; *s == ' '; s++)
			;
		len = (size_t)driver_number(&s, SIZE_MAX, "length",
		    EXIT_INPUT);
		if (*s != '\0')
			errx(EXIT_INPUT, "line %zu: more than HEX / LEN",
			    lineno);
		if (len < n)
			errx(EXIT_INPUT, "line %zu: %zu bytes of a frame of "
			    "%zu", lineno, n, len);
		if (n < len && n < head)
			errx(EXIT_INPUT, "line %zu: a frame given in part "
			    "needs its first %zu bytes, not %zu", lineno, head,
			    n);
	}
	kind = classify(j, buf, n, len, after_empty, lineno);
	if (n == len && n > head &&
	    (first = classify(j, buf, head, len, after_empty, lineno)) != kind)
		errx(EXIT_JUDGE, "judge: line %zu: a frame of %s, but its "
		    "first %zu bytes say %s", lineno, kinds[kind], head,
		    kinds[first]);
	weigh(j, kind, lineno);
}

/* end: what the judge says once the stream ended. */
static void
end(const struct judge *j)
{
	printf("ended_mismatched %d heard_nothing %d bad_kind ",
	    judge_ended_mismatched(j), judge_heard_nothing(j));
	print_kind(j->bad_kind);
	printf("\n");
}

/* cause: the words, which are never NULL. */
static void
cause(enum judge_kind kind, size_t lineno)
{
	const char *words = judge_cause(kind);

	if (words == NULL)
		errx(EXIT_JUDGE, "judge: line %zu: no cause for kind %u",
		    lineno, (unsigned)kind);
	printf("%s\n", words);
}

/* Does what one line of input says. */
static void
line(struct judge *j, const char *s, uint8_t *buf, size_t lineno)
{
	if (strncmp(s, "weigh ", 6) == 0) {
		weigh(j, parse_kind(s + 6, lineno), lineno);
	} else if (strcmp(s, "restart") == 0) {
		judge_restart(j);
		printf("restart good %" PRIu64 " run %u\n", j->good_frames,
		    j->bad_run);
	} else if (strcmp(s, "end") == 0) {
		end(j);
	} else if (strncmp(s, "cause ", 6) == 0) {
		cause(parse_kind(s + 6, lineno), lineno);
	} else if (strcmp(s, "after_empty") == 0) {
		frame(j, "", 1, buf, lineno);
	} else if (strncmp(s, "after_empty ", 12) == 0) {
		frame(j, s + 12, 1, buf, lineno);
	} else {
		frame(j, s, 0, buf, lineno);
	}
}

int
main(int argc, char *argv[])
{
	struct judge j;
	enum framing_type framing = FRAMING_LEN16;
	size_t cap = 0, lineno = 0;
	uint8_t *buf;
	char *text = NULL;
	ssize_t n;
	int ch, tap = 0, offload = 0, zeroed = 0, framed = 0;

	while ((ch = getopt(argc, argv, "f:OTZ")) != -1) {
		switch (ch) {
		case 'f':
			if (framing_by_name(optarg, &framing) == -1)
				errx(EXIT_USAGE, "-f: len16, len32 or slip, "
				    "not %s", optarg);
			framed = 1;
			break;
		case 'O':
			offload = 1;
			break;
		case 'T':
			tap = 1;
			break;
		case 'Z':
			zeroed = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (zeroed && (tap || offload || framed)))
		usage();
	if (zeroed)
		memset(&j, 0, sizeof(j));
	else
		judge_init(&j, tap, offload ? OFFLOAD_VNET_LEN : 0, framing);

	buf = driver_alloc(FRAME_MAX);
	while ((n = getline(&text, &cap, stdin)) != -1) {
		lineno++;
		if (n > 0 && text[n - 1] == '\n')
			text[--n] = '\0';
		line(&j, text, buf, lineno);
	}
	if (ferror(stdin))
		err(EXIT_INPUT, "stdin");
	free(text);
	free(buf);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EXIT_INPUT, "stdout");
	return 0;
}
