/*
 * figures-driver: runs the figures' text (figures.h) from the command
 * line, so that test/figures.bats can read the lines tunpipe would print
 * for any counters, without a device or a stream.  Not installed.
 *
 *	figures-driver counters|stats|status [-r room] [word | key=value ...]
 *	figures-driver limits
 *
 * It prints on standard output the text of figures_counters_text(),
 * figures_stats_text() or figures_status_text(), for a run that the
 * words describe:
 *
 *	tap no-device slip respawn command keepalive capture
 *
 * (a TUN run with a device and none of the rest by default), and numbers
 * given as key=value: name (the run's name, tpa by default); a counter of
 * struct figures_counters by its field's name (out_packets, drop_cut,
 * ...), or then_ and that name for the counters at -s's last line; mtu
 * (1500 by default), carrier (1), up_ms, keepalives_in, capture_lost,
 * backlog, peer_idle and span_ns, as struct figures_moment has them.
 * mtu, carrier, up_ms, peer_idle and span_ns may be negative.
 *
 * The text goes into a buffer of exactly its length and NUL, so that a
 * sanitizer sees an overrun; with -r, into one of room bytes instead
 * (room 0: no buffer at all), which may cut it.  A cut text prints as it
 * was cut, and on standard error
 *
 *	cut: N bytes, room R
 *
 * The driver checks what figures.h promises: the length returned is the
 * whole text's, the text in the room is as much of it as fits and ends
 * with a NUL, and nothing past the NUL was written.
 *
 * limits prints the limits of this build's types instead (see
 * driver_limits() in driver.h): backlog is a size_t and peer_idle a long.
 *
 * Exit status: 0 when the text was made, cut or not; 2 for a bad command
 * line; 3 when the figures broke a promise figures.h makes.
 */
#include <err.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "figures.h"
#include "driver.h"

#define EXIT_USAGE	2
#define EXIT_FIGURES	3

/* Bytes the driver fills each buffer with, to see what the text wrote. */
#define UNTOUCHED	0xa5

typedef size_t (*text_fn)(char *, size_t, const struct figures_run *,
    const struct figures_counters *, const struct figures_moment *);

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: figures-driver counters|stats|status [-r room] "
	    "[word | key=value ...]\n"
	    "       figures-driver limits\n");
	exit(EXIT_USAGE);
}

/* A word of the run, and the flag it sets to what. */
struct word {
	const char *word;
	int *flag;
	int value;
};

/* A number's key, and where it goes, of which type. */
enum type { U64, SIZE, INT, LONG, I64 };
struct number {
	const char *key;
	enum type type;
	void *p;
};

/* The largest magnitude a number of this type holds, negative or not. */
static uint64_t
largest(enum type type, int minus)
{
	switch (type) {
	case U64:
		return UINT64_MAX;
	case SIZE:
		return SIZE_MAX;
	case INT:
		return (uint64_t)INT_MAX + (uint64_t)minus;
	case LONG:
		return (uint64_t)LONG_MAX + (uint64_t)minus;
	default:
		return (uint64_t)INT64_MAX + (uint64_t)minus;
	}
}

/*
 * Sets the number that key=value names, from the whole of value, which
 * starts with a minus sign only where the type is signed.
 */
static void
set_number(const struct number *n, const char *value)
{
	const char *s = value;
	int minus = n->type >= INT && *s == '-';
	uint64_t v;
	int64_t sv;

	s += minus;
	v = driver_number(&s, largest(n->type, minus), n->key, EXIT_USAGE);
	if (*s != '\0')
		errx(EXIT_USAGE, "%s: not a number: %s", n->key, value);
	if (n->type == U64) {
		*(uint64_t *)n->p = v;
		return;
	}
	if (n->type == SIZE) {
		*(size_t *)n->p = (size_t)v;
		return;
	}
	sv = !minus ? (int64_t)v : v == 0 ? 0 : -(int64_t)(v - 1) - 1;
	if (n->type == INT)
		*(int *)n->p = (int)sv;
	else if (n->type == LONG)
		*(long *)n->p = (long)sv;
	else
		*(int64_t *)n->p = sv;
}

/* Sets what one argument says: a word, or key=value. */
static void
set(const char *arg, struct figures_run *run, const struct word *words,
    const struct number *numbers)
{
	const char *eq = strchr(arg, '=');
	size_t keylen = eq != NULL ? (size_t)(eq - arg) : 0;

	for (; eq == NULL && words->word != NULL; words++)
		if (strcmp(arg, words->word) == 0) {
			*words->flag = words->value;
			return;
		}
	if (eq != NULL && keylen == 4 && strncmp(arg, "name", 4) == 0) {
		run->name = eq + 1;
		return;
	}
	for (; eq != NULL && numbers->key != NULL; numbers++)
		if (strlen(numbers->key) == keylen &&
		    strncmp(arg, numbers->key, keylen) == 0) {
			set_number(numbers, eq + 1);
			return;
		}
	errx(EXIT_USAGE, "not a word or a key of the figures: %s", arg);
}

/*
 * The text into a buffer of room bytes (exactly the text's with exact),
 * checked against the whole text, want bytes long.
 */
static void
make_text(text_fn fn, int exact, size_t room, const struct figures_run *run,
    const struct figures_counters *c, const struct figures_moment *m)
{
	size_t want, len, kept;
	char *whole, *buf;

	want = fn(NULL, 0, run, c, m);
	whole = (char *)driver_alloc(want + 1);
	if (fn(whole, want + 1, run, c, m) != want || strlen(whole) != want)
		errx(EXIT_FIGURES, "figures: a text of %zu bytes, not the %zu "
		    "it measured", strlen(whole), want);
	if (exact)
		room = want + 1;
	buf = room == 0 ? NULL : (char *)driver_alloc(room);
	if (room > 0)
		memset(buf, UNTOUCHED, room);
	len = fn(buf, room, run, c, m);
	kept = want < room ? want : room > 0 ? room - 1 : 0;
	if (len != want)
		errx(EXIT_FIGURES, "figures: %zu bytes in a room of %zu, not "
		    "the %zu of the whole text", len, room, want);
	if (room > 0 && (memchr(buf, '\0', room) != buf + kept ||
	    memcmp(buf, whole, kept) != 0))
		errx(EXIT_FIGURES, "figures: in a room of %zu, not the first "
		    "%zu bytes of the text and a NUL", room, kept);
	for (len = kept + 1; len < room; len++)
		if ((unsigned char)buf[len] != UNTOUCHED)
			errx(EXIT_FIGURES, "figures: wrote past the NUL at %zu, "
			    "at %zu, in a room of %zu", kept, len, room);
	if (room > 0 && fwrite(buf, 1, kept, stdout) != kept)
		err(1, "stdout");
	if (want >= room)
		fprintf(stderr, "cut: %zu bytes, room %zu\n", want, room);
	free(whole);
	free(buf);
}

int
main(int argc, char *argv[])
{
	struct figures_run run = { .name = "tpa", .device = 1 };
	struct figures_counters c = { 0 };
	struct figures_moment m = { .mtu = 1500, .carrier = 1 };
	struct figures_counters *then = &m.then;
	const struct word words[] = {
		{ "tap", &run.tap, 1 }, { "no-device", &run.device, 0 },
		{ "slip", &run.slip, 1 }, { "respawn", &run.respawn, 1 },
		{ "command", &run.command, 1 },
		{ "keepalive", &run.keepalive, 1 },
		{ "capture", &run.capture, 1 }, { NULL, NULL, 0 },
	};
#define COUNTER(f) { #f, U64, &c.f }, { "then_" #f, U64, &then->f }
	const struct number numbers[] = {
		COUNTER(out_packets), COUNTER(out_bytes),
		COUNTER(in_packets), COUNTER(in_bytes),
		COUNTER(drop_invalid), COUNTER(drop_device),
		COUNTER(drop_oversize), COUNTER(keepalives),
		COUNTER(drop_damaged), COUNTER(drop_cut), COUNTER(restarts),
		{ "mtu", INT, &m.mtu }, { "carrier", INT, &m.carrier },
		{ "up_ms", I64, &m.up_ms },
		{ "keepalives_in", U64, &m.keepalives_in },
		{ "capture_lost", U64, &m.capture_lost },
		{ "backlog", SIZE, &m.backlog },
		{ "peer_idle", LONG, &m.peer_idle },
		{ "span_ns", I64, &m.span_ns }, { NULL, U64, NULL },
	};
#undef COUNTER
	size_t room = 0;
	const struct number room_arg = { "-r", SIZE, &room };
	int exact = 1;
	text_fn fn;
	int ch, i;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "limits") == 0)
		driver_limits();
	if (strcmp(argv[1], "counters") == 0)
		fn = figures_counters_text;
	else if (strcmp(argv[1], "stats") == 0)
		fn = figures_stats_text;
	else if (strcmp(argv[1], "status") == 0)
		fn = figures_status_text;
	else
		usage();
	optind = 2;
	while ((ch = getopt(argc, argv, "r:")) != -1) {
		if (ch != 'r')
			usage();
		set_number(&room_arg, optarg);
		exact = 0;
	}
	for (i = optind; i < argc; i++)
		set(argv[i], &run, words, numbers);
	make_text(fn, exact, room, &run, &c, &m);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(1, "stdout");
	return 0;
}
