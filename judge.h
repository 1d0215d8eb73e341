/*
 * judge.h: what the frames of a stream say of the peer at its other end.
 *
 * A peer of another mode (-T), framing (-f) or -O sends frames that decode
 * well enough, but hold no packet this end can use: Ethernet frames where
 * IP packets belong, a virtio-net header where none should be, or, read in
 * the wrong framing, lengths and bytes from the middle of packets.  So do
 * streams that lost bytes on the way (a noisy line, a datagram transport
 * that lost a datagram).  The judge tells each frame's kind from its
 * first bytes, and weighs the kinds it sees in a row: a single odd frame
 * never ends a tunnel, but a peer that disagrees sends nothing else.
 *
 * The judge is pure: it makes no system calls, never prints and keeps no
 * state but its struct; tunpipe.c words what its verdicts mean.  Only
 * judge_init() readies a judge.
 */
#ifndef JUDGE_H
#define JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "framing.h"

/* Bad frames in a row that break a stream (SLIP's only get a warning). */
#define JUDGE_BAD_RUN	8

/*
 * Of a frame after its virtio-net header, if any, all judge_classify()
 * reads: an IP header's length, an Ethernet type, a virtio-net header and
 * the IP length after it.  So a frame half read can be judged.
 */
#define JUDGE_CLASSIFY_BYTES	16

/*
 * What a frame from the stream holds.  Any but JUDGE_GOOD, in a run, says
 * that the peer speaks another mode or framing; the last two say it at
 * once.
 */
enum judge_kind {
	JUDGE_GOOD,		/* a packet of the mode: delivered */
	JUDGE_NOT_IP,		/* TUN: not an IP packet: dropped */
	JUDGE_IP_LENGTH,	/* TUN: an IP header giving another length,
				   most likely bytes lost: dropped */
	JUDGE_ETHERNET,		/* TUN: an Ethernet frame: dropped */
	JUDGE_RUNT,		/* TAP: too short for Ethernet: dropped */
	JUDGE_DAMAGED,		/* SLIP: a bad escape: dropped by the codec */
	JUDGE_IP_IN_TAP,	/* TAP: an IP packet, not a frame: delivered */
	JUDGE_AFTER_EMPTY,	/* len16: a packet right after an empty frame */
	JUDGE_NO_VNET,		/* -O: no virtio-net header */
	JUDGE_VNET,		/* a virtio-net header, and no -O */
};

/* What a frame does to the stream: see judge_weigh(). */
enum judge_verdict {
	JUDGE_CARRY_ON,		/* nothing to say */
	JUDGE_WARN,		/* SLIP: a run of JUDGE_BAD_RUN, said once */
	JUDGE_BROKEN,		/* a run of JUDGE_BAD_RUN: the stream broke */
	JUDGE_BROKEN_NOW,	/* a virtio-net header at one end only */
};

/*
 * A stream's judge: what is decided at start-up (the mode, -O's header,
 * the framing), then what its frames said.  Read the fields; change them
 * only through the functions below.
 */
struct judge {
	int ready;		/* judge_init() was called */
	int tap;		/* frames are Ethernet frames, else IP packets */
	size_t header;		/* -O: each frame's virtio-net header, else 0 */
	enum framing_type framing;
	uint64_t good_frames;	/* of the mode, on this stream */
	unsigned bad_run;	/* frames in a row that were not good */
	enum judge_kind bad_kind;	/* the last of them */
};

/*
 * judge_init(j, tap, header, framing): readies j for a stream of Ethernet
 * frames (tap) or IP packets, each after a virtio-net header of header
 * bytes (-O: OFFLOAD_VNET_LEN; else 0), in framing.  A judge never readied
 * (left zeroed, say) finds every frame JUDGE_NOT_IP.
 */
void	judge_init(struct judge *j, int tap, size_t header,
	    enum framing_type framing);

/* judge_restart(j): forgets what the frames said: a new stream begins. */
void	judge_restart(struct judge *j);

/*
 * judge_classify(j, p, len, after_empty): the kind of the frame p[0..len),
 * after_empty when an empty frame came right before it.  It checks the
 * virtio-net header first, if j wants one, and reads no more than that and
 * JUDGE_CLASSIFY_BYTES after it: len may be the frame's whole length while
 * p holds only its first bytes.
 */
enum judge_kind judge_classify(const struct judge *j, const uint8_t *p,
	    size_t len, int after_empty);

/*
 * judge_is_refused(kind): whether a frame of this kind is refused here:
 * dropped, the device never given it, or the end of the stream at once.
 * (A damaged SLIP frame is not: the codec dropped it before any judging.)
 */
int	judge_is_refused(enum judge_kind kind);

/*
 * judge_weigh(j, kind): counts a frame of this kind in j's run, and says
 * what it does to the stream: JUDGE_BROKEN_NOW for a virtio-net header at
 * one end only; JUDGE_BROKEN once JUDGE_BAD_RUN frames in a row were not
 * good; in SLIP, which finds its way again after noise, JUDGE_WARN
 * instead, once a run; else JUDGE_CARRY_ON.
 */
enum judge_verdict judge_weigh(struct judge *j, enum judge_kind kind);

/*
 * judge_cause(kind): what a run of frames of this kind most likely means,
 * in words ending without a full stop, to follow "N frames in a row
 * held", say.  Never NULL; JUDGE_GOOD has no cause ("").
 */
const char *judge_cause(enum judge_kind kind);

/*
 * judge_ended_mismatched(j): at the end of a stream that held not one
 * good frame, only a run too short to end it: whether that run names a
 * mismatch (j->bad_kind's cause).  The peer may have stopped at our first
 * frame, for the same mismatch.
 */
int	judge_ended_mismatched(const struct judge *j);

/*
 * judge_heard_nothing(j): whether no frame was counted yet, good or in a
 * run of bad ones.  (A virtio-net header at one end only is not counted:
 * it ends the stream at once.)
 */
int	judge_heard_nothing(const struct judge *j);

#endif
