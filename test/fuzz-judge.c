/*
 * fuzz-judge: a libFuzzer harness for the frame judge (judge.h).  `make
 * fuzz` builds test/fuzz-judge with clang -fsanitize=fuzzer,address,
 * undefined and runs it for a while from its seeds in
 * test/fuzz-corpus/judge/.
 *
 * Byte 0 of an input readies the judge, as tunpipe's start-up would:
 *
 *	bit 0		TAP mode (-T): frames are Ethernet frames
 *	bit 1		-O: each frame after a virtio-net header of
 *			OFFLOAD_VNET_LEN bytes
 *	bits 2-3	the framing: 0 len16, 1 len32, 2 slip, 3 len16
 *	bit 4		(a) after_empty: an empty frame came right before
 *	bits 5-7	unused
 *
 * (a) The rest is one frame, classified (judge_classify()).
 * (b) The rest is read again as a stream's frames, each weighed in turn
 *     (judge_weigh()): a byte c, then, for c & 0x7f,
 *
 *	0-124		a frame of that many bytes (cut short at the end),
 *			after an empty frame if c & 0x80
 *	125		a frame that SLIP dropped, weighed as JUDGE_DAMAGED
 *	126		judge_restart(): a new stream begins
 *	127		a frame whose length, big endian, is in the next
 *			two bytes
 *
 * Every frame lies in a buffer of exactly its bytes, so that ASan sees any
 * read past it, and is checked against what judge.h promises:
 *
 * - its kind is one of enum judge_kind, and one its mode allows (the
 *   enum's comments: TUN's kinds in TUN only, TAP's in TAP only,
 *   JUDGE_AFTER_EMPTY only in len16 after an empty frame, JUDGE_NO_VNET
 *   only with -O and exactly when the header does not parse, JUDGE_VNET
 *   only without -O, JUDGE_DAMAGED never, as only the codec sees those); a
 *   good TUN frame is an IP packet whose header gives the frame's length
 *   (checked by a reference below), a good TAP frame is no runt;
 * - judge_is_refused() drops or ends what the enum says it does;
 * - its first bytes alone, the header's and JUDGE_CLASSIFY_BYTES more,
 *   copied into a buffer of their size and given with the frame's whole
 *   length, are of the same kind;
 * - a judge never readied (zeroed) finds it JUDGE_NOT_IP;
 * - weighed, it moves the run as judge_weigh() says, against a model kept
 *   here: a good frame counts and ends the run, a virtio-net header at one
 *   end only breaks at once and is not counted, any other kind lengthens
 *   the run and is its bad_kind; the run breaks at JUDGE_BAD_RUN frames,
 *   but SLIP's warns once then carries on; bad_run never exceeds the
 *   frames weighed since the stream began, and judge_ended_mismatched()
 *   and judge_heard_nothing() answer from what was weighed.
 *
 * judge_cause() is never NULL and ends without a full stop, for every kind
 * and some outside the enum; of the enum's, only JUDGE_GOOD's is empty.
 *
 * A broken promise prints what and aborts, which libFuzzer reports as a
 * crash, saving the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge.h"
#include "offload.h"

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz-judge:%d: broken: %s\n",		\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

#define KINDS		(JUDGE_VNET + 1)
#define ETHER_HEADER	14

#define CUT_DAMAGED	125
#define CUT_RESTART	126
#define CUT_LONG	127

/* What the harness expects of the judge's state, from what it weighed. */
struct model {
	uint64_t good;
	unsigned run;
	enum judge_kind bad_kind;
	uint64_t weighed;	/* frames weighed since the stream began */
};

/*
 * The reference: whether p[0..len) is an IPv4 packet (IHL at least 5)
 * or an IPv6 one whose header gives len as its length.
 */
static int
ip_length_agrees(const uint8_t *p, size_t len)
{
	if (len >= 20 && p[0] >> 4 == 4)
		return (p[0] & 0x0f) >= 5 && (size_t)(p[2] << 8 | p[3]) == len;
	if (len >= 40 && p[0] >> 4 == 6)
		return 40 + (size_t)(p[4] << 8 | p[5]) == len;
	return 0;
}

/* Whether a frame of this kind is dropped or ends the stream, by the enum. */
static int
refused_by_enum(enum judge_kind kind)
{
	return kind != JUDGE_GOOD && kind != JUDGE_IP_IN_TAP &&
	    kind != JUDGE_AFTER_EMPTY;
}

/* Checks a kind the judge j gave the frame p[0..len) against its mode. */
static void
check_kind(const struct judge *j, const uint8_t *p, size_t len,
    int after_empty, enum judge_kind kind)
{
	struct offload_vnet v;
	int no_header = j->header != 0 &&
	    offload_vnet_parse(p, len, &v) == -1;

	CHECK((unsigned)kind < KINDS);
	CHECK(kind != JUDGE_DAMAGED);
	CHECK((kind == JUDGE_NO_VNET) == no_header);
	CHECK(kind != JUDGE_VNET || j->header == 0);
	CHECK(kind != JUDGE_AFTER_EMPTY ||
	    (after_empty && j->framing == FRAMING_LEN16));
	if (j->tap)
		CHECK(kind != JUDGE_NOT_IP && kind != JUDGE_IP_LENGTH &&
		    kind != JUDGE_ETHERNET);
	else
		CHECK(kind != JUDGE_RUNT && kind != JUDGE_IP_IN_TAP);
	if (kind == JUDGE_GOOD && !j->tap)
		CHECK(ip_length_agrees(p + j->header, len - j->header));
	if (kind == JUDGE_GOOD && j->tap)
		CHECK(len - j->header >= ETHER_HEADER);
	if (kind == JUDGE_RUNT)
		CHECK(len - j->header < ETHER_HEADER);
	CHECK(judge_is_refused(kind) == refused_by_enum(kind));
}

/*
 * The kinds that j, and a judge never readied, give the frame p[0..len)
 * when it holds only its first n bytes, copied into a buffer of exactly n
 * so that ASan sees a read past them.  The second must be JUDGE_NOT_IP.
 */
static enum judge_kind
classify_first(const struct judge *j, const uint8_t *p, size_t n,
    size_t len, int after_empty)
{
	const struct judge zeroed = { 0 };
	enum judge_kind kind;
	uint8_t *first = malloc(n > 0 ? n : 1);

	CHECK(first != NULL);
	if (n > 0)
		memcpy(first, p, n);
	kind = judge_classify(j, first, len, after_empty);
	CHECK(judge_classify(&zeroed, first, len, after_empty) ==
	    JUDGE_NOT_IP);
	free(first);
	return kind;
}

/*
 * The kind of the frame p[0..len), checked; given only the bytes the
 * judge reads, with its whole length, it must be of the same kind.
 */
static enum judge_kind
classify_checked(const struct judge *j, const uint8_t *p, size_t len,
    int after_empty)
{
	size_t head = j->header + JUDGE_CLASSIFY_BYTES;
	enum judge_kind kind;

	kind = classify_first(j, p, len, len, after_empty);
	check_kind(j, p, len, after_empty, kind);
	if (len > head)
		CHECK(classify_first(j, p, head, len, after_empty) == kind);
	return kind;
}

/* Weighs a frame of this kind, checking the verdict and the run. */
static void
weigh_checked(struct judge *j, struct model *m, enum judge_kind kind)
{
	enum judge_verdict verdict = judge_weigh(j, kind), want;

	if (kind == JUDGE_GOOD) {
		m->good++;
		m->run = 0;
		want = JUDGE_CARRY_ON;
	} else if (kind == JUDGE_NO_VNET || kind == JUDGE_VNET) {
		want = JUDGE_BROKEN_NOW;
	} else {
		m->run++;
		m->bad_kind = kind;
		if (m->run < JUDGE_BAD_RUN)
			want = JUDGE_CARRY_ON;
		else if (j->framing != FRAMING_SLIP)
			want = JUDGE_BROKEN;
		else
			want = m->run == JUDGE_BAD_RUN ? JUDGE_WARN :
			    JUDGE_CARRY_ON;
	}
	m->weighed++;
	CHECK(verdict == want);
	CHECK(j->good_frames == m->good && j->bad_run == m->run);
	CHECK(j->bad_run == 0 || j->bad_kind == m->bad_kind);
	CHECK(j->bad_run <= m->weighed && j->good_frames <= m->weighed);
	CHECK(judge_ended_mismatched(j) == (m->good == 0 && m->run > 0));
	if (kind != JUDGE_NO_VNET && kind != JUDGE_VNET)
		CHECK(!judge_heard_nothing(j));
}

/* judge_restart(): the model starts over too. */
static void
restart_checked(struct judge *j, struct model *m)
{
	judge_restart(j);
	*m = (struct model){ .bad_kind = JUDGE_GOOD };
	CHECK(j->good_frames == 0 && j->bad_run == 0);
	CHECK(judge_heard_nothing(j) && !judge_ended_mismatched(j));
}

/* (b): the frames cut from p[0..len), weighed one after another. */
static void
weigh_frames(struct judge *j, const uint8_t *p, size_t len)
{
	struct model m = { .bad_kind = JUDGE_GOOD };
	size_t n;
	uint8_t c;

	CHECK(judge_heard_nothing(j) && !judge_ended_mismatched(j));
	while (len > 0) {
		c = *p++;
		len--;
		n = c & 0x7f;
		if (n == CUT_DAMAGED) {
			weigh_checked(j, &m, JUDGE_DAMAGED);
			continue;
		}
		if (n == CUT_RESTART) {
			restart_checked(j, &m);
			continue;
		}
		if (n == CUT_LONG && len >= 2) {
			n = (size_t)p[0] << 8 | p[1];
			p += 2;
			len -= 2;
		} else if (n == CUT_LONG) {
			n = 0;
		}
		if (n > len)
			n = len;
		weigh_checked(j, &m, classify_checked(j, p, n,
		    (c & 0x80) != 0));
		p += n;
		len -= n;
	}
}

/* The causes, for every kind and some past the enum. */
static void
check_causes(uint8_t past)
{
	const char *s;
	unsigned k;

	for (k = 0; k < KINDS + 2; k++) {
		s = judge_cause((enum judge_kind)(k < KINDS ? k :
		    k == KINDS ? (unsigned)KINDS + past : 255));
		CHECK(s != NULL);
		CHECK(k >= KINDS || (s[0] == '\0') == (k == JUDGE_GOOD));
		CHECK(s[0] == '\0' || s[strlen(s) - 1] != '.');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum framing_type framings[] = { FRAMING_LEN16,
	    FRAMING_LEN32, FRAMING_SLIP, FRAMING_LEN16 };
	struct judge j;

	if (size == 0)
		return 0;
	judge_init(&j, data[0] & 1, data[0] & 2 ? OFFLOAD_VNET_LEN : 0,
	    framings[data[0] >> 2 & 3]);
	check_causes(data[0]);
	classify_checked(&j, data + 1, size - 1, (data[0] & 0x10) != 0);
	weigh_frames(&j, data + 1, size - 1);
	return 0;
}
