/*
 * figures.h: tunpipe's figures as text: the counters' lines (-v at the
 * end, SIGUSR1 without -s, -N at the end) and -s's line of key=value
 * pairs, which scripts read (tunpipe.1 lists the keys).
 *
 * Each text leaves out what cannot happen in the run: with no device (-N)
 * nothing goes to the stream and no device refuses a packet, only SLIP
 * damages frames, only -r cuts them at a break, only -k sends empty
 * frames, only -e restarts and has a carrier, only -w loses records.
 *
 * The figures are pure: no system calls (the caller reads the clocks and
 * the device's MTU, and hands over what they said), no printing, no
 * option read, no state.  The caller owns every buffer and prints the
 * text, whole lines each ending in a newline, as one message.
 */
#ifndef FIGURES_H
#define FIGURES_H

#include <stddef.h>
#include <stdint.h>

/*
 * -s: the shortest span a rate is worked out over, in nanoseconds, -s's
 * shortest interval: over less a rate means nothing (a packet in a
 * millisecond is a thousand a second).
 */
#define FIGURES_RATE_NS	1000000000

/* The longest name the text is sized for: a device's (IFNAMSIZ - 1). */
#define FIGURES_NAME_MAX 15

/*
 * A buffer of this size holds any text of the functions below whose
 * run's name is at most FIGURES_NAME_MAX bytes, with its NUL: neither
 * text is cut in it, whatever the counters say.
 */
#define FIGURES_TEXT_MAX 1024

/*
 * What the packet path counts as it goes: out is from the device to the
 * stream, in from the stream to the device.
 */
struct figures_counters {
	uint64_t out_packets, out_bytes;	/* device to stream */
	uint64_t in_packets, in_bytes;		/* stream to device */
	uint64_t drop_invalid;			/* not IP (TUN), not Ethernet */
	uint64_t drop_device;			/* the device refused it */
	uint64_t drop_oversize;			/* too large for the framing */
	uint64_t keepalives;			/* empty frames sent */
	uint64_t drop_damaged;			/* SLIP: bad escape, too long */
	uint64_t drop_cut;			/* frames cut by a break */
	uint64_t restarts;			/* -e command started again */
};

/* What the run is, as decided at start-up: which figures can move. */
struct figures_run {
	const char *name;	/* the device's, or what stands for it (-N) */
	int tap;		/* Ethernet frames (TAP), else IP packets */
	int device;		/* a device: not -N */
	int slip;		/* -f slip: frames can be damaged */
	int respawn;		/* -r: a stream break can cut a frame */
	int command;		/* -e: restarts, and a carrier */
	int keepalive;		/* -k: empty frames are sent */
	int capture;		/* -w: the capture can lose records */
};

/* What the run is at the moment of the figures, as the caller saw it. */
struct figures_moment {
	int mtu;		/* the device's MTU now (the counters, with a
				   device) */
	int carrier;		/* -e: 0 off, else on (-1: the kernel
				   cannot say, shown as on) */
	int64_t up_ms;		/* milliseconds since tunpipe started */
	uint64_t keepalives_in;	/* empty frames received */
	uint64_t capture_lost;	/* -w: records lost in all */
	size_t backlog;		/* -s: bytes waiting for the stream */
	long peer_idle;		/* -s: seconds since the stream last gave
				   bytes */
	int64_t span_ns;	/* -s: since the last line, or the start */
	struct figures_counters then;	/* -s: the counters at that time */
};

/*
 * The functions below write as much of their text into text[0..size) as
 * fits, and end it with a NUL whenever size is not 0 (text may be NULL
 * when it is): a text that does not fit is cut, never overrun, and a
 * smaller buffer holds the start of a larger one's text.  They return the
 * length of the whole text, as snprintf() does: size or more says that it
 * was cut.  None fails.
 */

/*
 * figures_counters_text(text, size, run, c, m): the counters c of run at
 * the moment m, as lines that each begin "tunpipe: " and run->name: the
 * mode, the MTU (or "no device"), the carrier (-e) and the whole seconds
 * up; the packets and bytes each way ("to stream" only with a device);
 * the empty frames in, and out with -k; the drops of each kind that can
 * happen; the restarts of -e; the records the capture lost (-w).  m's
 * fields marked -s are not read.
 */
size_t	figures_counters_text(char *text, size_t size,
	    const struct figures_run *run, const struct figures_counters *c,
	    const struct figures_moment *m);

/*
 * figures_stats_text(text, size, run, c, m): -s's line: "tunpipe: ",
 * run->name, ":", then key=value pairs in tunpipe.1's order: t, the
 * seconds up in tenths; the four rates since m->then, over m->span_ns,
 * only when that is FIGURES_RATE_NS or more; the totals, the drops in
 * all, backlog, peer_idle; then, where they apply, each kind of drop that
 * is not 0, the keepalives each way (-k), the restarts and the carrier
 * (-e), the capture's losses (-w).  m->mtu is not read.
 */
size_t	figures_stats_text(char *text, size_t size,
	    const struct figures_run *run, const struct figures_counters *c,
	    const struct figures_moment *m);

/*
 * figures_status_text(text, size, run, c, m): one line, with no newline,
 * for a service manager's status (STATUS=): run->name, the whole seconds
 * up, "no carrier" while -e's carrier is off, the packets each way ("to
 * stream" only with a device), the drops in all, the restarts (-e) and
 * the seconds since the peer was last heard.  m's fields marked -s but
 * peer_idle, and m->mtu, are not read.
 */
size_t	figures_status_text(char *text, size_t size,
	    const struct figures_run *run, const struct figures_counters *c,
	    const struct figures_moment *m);

#endif
