/*
 * judge.c: what the frames of a stream say of the peer (see judge.h).
 *
 * Pure code: no system calls, no printing, no state but the caller's
 * struct judge.  tunpipe.c prints what the verdicts mean.
 */
#include <linux/if_ether.h>

#include "judge.h"
#include "offload.h"

#define IP_HEADER_MIN	20	/* IPv4's least: a frame no longer says little */

void
judge_init(struct judge *j, int tap, size_t header, enum framing_type framing)
{
	*j = (struct judge){ .ready = 1, .tap = tap, .header = header,
	    .framing = framing };
}

void
judge_restart(struct judge *j)
{
	j->good_frames = 0;
	j->bad_run = 0;
	j->bad_kind = JUDGE_GOOD;
}

/* Whether a frame starts with an Ethernet header of a common type. */
static int
is_ethernet_frame(const uint8_t *p, size_t len)
{
	unsigned type;

	if (len < ETH_HLEN)
		return 0;
	type = (unsigned)p[12] << 8 | p[13];
	return type == ETH_P_IP || type == ETH_P_IPV6 || type == ETH_P_ARP ||
	    type == ETH_P_8021Q || type == ETH_P_8021AD;
}

/* Whether a frame holds a virtio-net header, then an IP packet: -O's. */
static int
is_vnet_ip_frame(const uint8_t *p, size_t len)
{
	struct offload_vnet v;

	return offload_vnet_parse(p, len, &v) == 0 &&
	    offload_is_ip(p + OFFLOAD_VNET_LEN, len - OFFLOAD_VNET_LEN);
}

/*
 * Whether a frame that is no IP packet starts as one would: its IP header
 * then gives another length, as when bytes were lost before its end.
 */
static int
looks_like_ip(const uint8_t *p, size_t len)
{
	return len > IP_HEADER_MIN && (p[0] >> 4 == 4 || p[0] >> 4 == 6);
}

/* What a TUN frame, no IP packet, holds instead. */
static enum judge_kind
not_ip(const struct judge *j, const uint8_t *p, size_t len)
{
	if (j->header == 0 && is_vnet_ip_frame(p, len))
		return JUDGE_VNET;
	if (is_ethernet_frame(p, len))
		return JUDGE_ETHERNET;
	return looks_like_ip(p, len) ? JUDGE_IP_LENGTH : JUDGE_NOT_IP;
}

/*
 * The kind of a frame p[0..len) after its virtio-net header, as far as
 * the mode and the framing can tell.
 */
static enum judge_kind
classify_packet(const struct judge *j, const uint8_t *p, size_t len,
    int after_empty)
{
	if (!j->tap && !offload_is_ip(p, len))
		return not_ip(j, p, len);
	if (j->tap && len < ETH_HLEN)
		return JUDGE_RUNT;
	if (j->tap && offload_is_ip(p, len) && !is_ethernet_frame(p, len))
		return JUDGE_IP_IN_TAP;
	if (after_empty && j->framing == FRAMING_LEN16)
		return JUDGE_AFTER_EMPTY;
	return JUDGE_GOOD;
}

enum judge_kind
judge_classify(const struct judge *j, const uint8_t *p, size_t len,
    int after_empty)
{
	struct offload_vnet v;

	if (!j->ready)
		return JUDGE_NOT_IP;
	if (j->header != 0 && offload_vnet_parse(p, len, &v) == -1)
		return JUDGE_NO_VNET;
	return classify_packet(j, p + j->header, len - j->header,
	    after_empty);
}

int
judge_is_refused(enum judge_kind kind)
{
	return kind == JUDGE_NOT_IP || kind == JUDGE_IP_LENGTH ||
	    kind == JUDGE_ETHERNET || kind == JUDGE_RUNT ||
	    kind == JUDGE_NO_VNET || kind == JUDGE_VNET;
}

enum judge_verdict
judge_weigh(struct judge *j, enum judge_kind kind)
{
	if (kind == JUDGE_GOOD) {
		j->bad_run = 0;
		j->good_frames++;
		return JUDGE_CARRY_ON;
	}
	if (kind == JUDGE_NO_VNET || kind == JUDGE_VNET)
		return JUDGE_BROKEN_NOW;
	j->bad_kind = kind;
	if (++j->bad_run < JUDGE_BAD_RUN)
		return JUDGE_CARRY_ON;
	if (j->framing != FRAMING_SLIP)
		return JUDGE_BROKEN;
	return j->bad_run == JUDGE_BAD_RUN ? JUDGE_WARN : JUDGE_CARRY_ON;
}

/*
 * What the peer most likely runs, from the kind of frame it sends: a
 * len16 reader of a len32 stream sees an empty frame (the high half of
 * each length) before every packet.  A runt, a damaged frame or one of
 * another length holds no packet at all.
 */
static const char *const causes[] = {
	[JUDGE_GOOD] = "",
	[JUDGE_NOT_IP] = "no packets at all: the peer most likely uses "
	    "another framing (-f) or -O, or is not tunpipe; give both ends the "
	    "same -f, -T and -O",
	[JUDGE_ETHERNET] = "Ethernet frames, not IP packets: the peer runs "
	    "with -T; use -T at both ends, or at neither",
	[JUDGE_IP_IN_TAP] = "IP packets, not Ethernet frames: the peer runs "
	    "without -T; use -T at both ends, or at neither",
	[JUDGE_AFTER_EMPTY] = "packets each right after an empty frame, as a "
	    "-f len32 stream (or one of -O) reads with -f len16: give both "
	    "ends the same -f and -O",
	[JUDGE_NO_VNET] = "does not start with a virtio-net header; the peer "
	    "most likely runs without -O: use -O at both ends, or at neither",
	[JUDGE_VNET] = "holds a virtio-net header before its IP packet; the "
	    "peer runs with -O (--offload): use -O at both ends, or at neither",
};

const char *
judge_cause(enum judge_kind kind)
{
	if ((unsigned)kind >= sizeof(causes) / sizeof(causes[0]) ||
	    causes[kind] == NULL)	/* no packet at all */
		return causes[JUDGE_NOT_IP];
	return causes[kind];
}

int
judge_ended_mismatched(const struct judge *j)
{
	return j->good_frames == 0 && j->bad_run > 0;
}

int
judge_heard_nothing(const struct judge *j)
{
	return j->good_frames == 0 && j->bad_run == 0;
}
