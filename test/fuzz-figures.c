/*
 * fuzz-figures: a libFuzzer harness for the figures' text (figures.h).
 * `make fuzz` builds test/fuzz-figures with clang
 * -fsanitize=fuzzer,address,undefined and runs it for a while from its
 * seeds in test/fuzz-corpus/figures/.
 *
 * Each input is read as fields at fixed places, little-endian; an input
 * shorter than INPUT_LEN is read as if zeros followed it:
 *
 *	byte 0		the run: bit 0 tap, 1 a device, 2 slip, 3 respawn,
 *			4 command, 5 keepalive, 6 capture
 *	byte 1		n, the name's length (its low 5 bits: up to 31, over
 *			a device's 15)
 *	bytes 2-3, 4-5	two rooms, a and b, each its low 11 bits (up to
 *			2047, over FIGURES_TEXT_MAX)
 *	bytes 6-36	the name: its first n bytes (a NUL ends it early, as
 *			it would a C string)
 *	11 x 8 bytes	the counters, in struct figures_counters' order
 *	11 x 8 bytes	the counters then, the same way
 *	4, 4 bytes	mtu, carrier
 *	8 bytes each	up_ms, keepalives_in, capture_lost, backlog,
 *			peer_idle, span_ns
 *
 * Each text, the counters' and -s's, is made four times: measured with no
 * buffer, into a buffer of exactly its length and NUL, and into rooms a
 * and b, each a buffer of exactly that size, so that ASan sees any byte
 * written past one; every buffer is filled beforehand, so that the
 * harness sees any byte written in it past the NUL.  Checked: the length
 * returned is always the whole text's, and the whole text's strlen();
 * each room holds as much of it as fits and a NUL (so the larger room's
 * text starts with the smaller's); the whole text is whole lines, as many
 * as the run says, and, with a name of a device's length at most,
 * shorter than FIGURES_TEXT_MAX; -s's rates are there exactly when the
 * span is FIGURES_RATE_NS or more, its keys of -e, -k and -w exactly with
 * them, drop_cut exactly when there are some, and its drops are the sum
 * of each kind.
 *
 * A broken promise prints what and aborts, which libFuzzer reports as a
 * crash and saves the input.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "figures.h"

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz-figures:%d: broken: %s\n",	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

/* Bytes each buffer is filled with before the text is written in it. */
#define FILL		0x5a

typedef size_t (*text_fn)(char *, size_t, const struct figures_run *,
    const struct figures_counters *, const struct figures_moment *);

/* The input's length, all its fields: see above. */
#define NAME_FIELD	31
#define INPUT_LEN	(6 + NAME_FIELD + 2 * 11 * 8 + 2 * 4 + 6 * 8)

/* The input, zero-padded, and where the next field starts. */
struct input {
	uint8_t bytes[INPUT_LEN];
	size_t at;
};

/* The next field, of n bytes, as a little-endian number. */
static uint64_t
take(struct input *in, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)in->bytes[in->at + i] << (8 * i);
	in->at += n;
	return v;
}

/* The name field: its first n bytes, up to a NUL, in a string of its own. */
static char *
take_name(struct input *in, size_t n)
{
	const char *field = (const char *)in->bytes + in->at;
	char *s;

	n = strnlen(field, n);
	s = malloc(n + 1);
	CHECK(s != NULL);
	memcpy(s, field, n);
	s[n] = '\0';
	in->at += NAME_FIELD;
	return s;
}

/* Eleven counters, in struct figures_counters' order. */
static void
take_counters(struct input *in, struct figures_counters *c)
{
	c->out_packets = take(in, 8);
	c->out_bytes = take(in, 8);
	c->in_packets = take(in, 8);
	c->in_bytes = take(in, 8);
	c->drop_invalid = take(in, 8);
	c->drop_device = take(in, 8);
	c->drop_oversize = take(in, 8);
	c->keepalives = take(in, 8);
	c->drop_damaged = take(in, 8);
	c->drop_cut = take(in, 8);
	c->restarts = take(in, 8);
}

/*
 * The text into a buffer of exactly room bytes (none for 0), checked
 * against the whole text, want bytes long.  Returns the buffer, for the
 * caller to compare and free.
 */
static char *
into_room(text_fn fn, size_t room, const char *whole, size_t want,
    const struct figures_run *run, const struct figures_counters *c,
    const struct figures_moment *m)
{
	size_t kept, i;
	char *buf = NULL;

	if (room > 0) {
		buf = malloc(room);
		CHECK(buf != NULL);
		memset(buf, FILL, room);
	}
	CHECK(fn(buf, room, run, c, m) == want);
	if (room == 0)
		return NULL;
	kept = want < room ? want : room - 1;
	CHECK(memchr(buf, '\0', room) == buf + kept);
	CHECK(memcmp(buf, whole, kept) == 0);
	for (i = kept + 1; i < room; i++)
		CHECK((unsigned char)buf[i] == FILL);
	return buf;
}

/* The lines of text, which must end with a newline. */
static size_t
whole_lines(const char *text, size_t len)
{
	size_t lines = 0, i;

	CHECK(len > 0 && text[len - 1] == '\n');
	for (i = 0; i < len; i++)
		lines += text[i] == '\n';
	return lines;
}

/*
 * One text made four ways, then checked; returns the whole text, for the
 * caller's own checks, and its length in *len.
 */
static char *
fuzz_text(text_fn fn, size_t a, size_t b, const struct figures_run *run,
    const struct figures_counters *c, const struct figures_moment *m,
    size_t *len)
{
	char *whole, *in_a, *in_b;
	size_t want;

	want = fn(NULL, 0, run, c, m);
	whole = malloc(want + 1);
	CHECK(whole != NULL);
	CHECK(fn(whole, want + 1, run, c, m) == want);
	CHECK(strlen(whole) == want);
	if (strlen(run->name) <= FIGURES_NAME_MAX)
		CHECK(want < FIGURES_TEXT_MAX);
	in_a = into_room(fn, a, whole, want, run, c, m);
	in_b = into_room(fn, b, whole, want, run, c, m);
	/* The smaller room's text starts the larger's. */
	if (in_a != NULL && in_b != NULL)
		CHECK(strncmp(in_a, in_b, a < b ? strlen(in_a) :
		    strlen(in_b)) == 0);
	free(in_a);
	free(in_b);
	*len = want;
	return whole;
}

/* Whether -s's line has " key=" after the name. */
static int
has_key(const char *line, const char *name, const char *key)
{
	char pattern[32];

	snprintf(pattern, sizeof(pattern), " %s=", key);
	return strstr(line + strlen("tunpipe: ") + strlen(name), pattern) !=
	    NULL;
}

/* -s's own promises: the rates over a second only, the drops' sum. */
static void
check_stats(const char *line, const struct figures_run *run,
    const struct figures_counters *c, const struct figures_moment *m)
{
	char drops[48];

	if (strchr(run->name, '=') != NULL || strchr(run->name, ' ') != NULL)
		return;	/* the name could hold a key */
	CHECK(strncmp(line, "tunpipe: ", 9) == 0);
	CHECK(has_key(line, run->name, "out_pps") ==
	    (m->span_ns >= FIGURES_RATE_NS));
	CHECK(has_key(line, run->name, "in_bps") ==
	    (m->span_ns >= FIGURES_RATE_NS));
	CHECK(has_key(line, run->name, "carrier") == (run->command != 0));
	CHECK(has_key(line, run->name, "capture_lost") == (run->capture != 0));
	CHECK(has_key(line, run->name, "keepalives_in") ==
	    (run->keepalive != 0));
	CHECK(has_key(line, run->name, "drop_cut") == (c->drop_cut != 0));
	snprintf(drops, sizeof(drops), " drops=%" PRIu64 " ",
	    c->drop_invalid + c->drop_device + c->drop_oversize +
	    c->drop_damaged + c->drop_cut);
	CHECK(strstr(line, drops) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { { 0 }, 0 };
	struct figures_run run;
	struct figures_counters c;
	struct figures_moment m;
	size_t n, a, b, len, lines;
	uint8_t flags;
	char *name, *text;

	memcpy(in.bytes, data, size < INPUT_LEN ? size : INPUT_LEN);
	flags = (uint8_t)take(&in, 1);
	n = (size_t)take(&in, 1) & 31;
	a = (size_t)take(&in, 2) & 2047;
	b = (size_t)take(&in, 2) & 2047;
	name = take_name(&in, n);
	run = (struct figures_run){ .name = name, .tap = flags & 1,
	    .device = flags >> 1 & 1, .slip = flags >> 2 & 1,
	    .respawn = flags >> 3 & 1, .command = flags >> 4 & 1,
	    .keepalive = flags >> 5 & 1, .capture = flags >> 6 & 1 };
	take_counters(&in, &c);
	take_counters(&in, &m.then);
	m.mtu = (int)(int32_t)take(&in, 4);
	m.carrier = (int)(int32_t)take(&in, 4);
	m.up_ms = (int64_t)take(&in, 8);
	m.keepalives_in = take(&in, 8);
	m.capture_lost = take(&in, 8);
	m.backlog = (size_t)take(&in, 8);
	m.peer_idle = (long)take(&in, 8);
	m.span_ns = (int64_t)take(&in, 8);
	CHECK(in.at == INPUT_LEN);

	text = fuzz_text(figures_counters_text, a, b, &run, &c, &m, &len);
	lines = whole_lines(text, len);
	if (strchr(name, '\n') == NULL)
		CHECK(lines == 4 + (size_t)run.command + (size_t)run.capture);
	free(text);

	text = fuzz_text(figures_stats_text, a, b, &run, &c, &m, &len);
	lines = whole_lines(text, len);
	if (strchr(name, '\n') == NULL) {
		CHECK(lines == 1);
		check_stats(text, &run, &c, &m);
	}
	free(text);

	text = fuzz_text(figures_status_text, a, b, &run, &c, &m, &len);
	if (strchr(name, '\n') == NULL)
		CHECK(memchr(text, '\n', len) == NULL);
	free(text);
	free(name);
	return 0;
}
