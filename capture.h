/*
 * capture.h: -w's capture, the packets that cross written to a file (or
 * a FIFO) as pcapng (see pcapng.h), and the records waiting for it.
 *
 * They wait in a buffer of fixed size, so that a slow or gone reader
 * costs records, not memory, and never slows the tunnel: a record that
 * does not fit is lost and counted, and the next one written says how
 * many were.  A file that takes them at once (a regular file, a reader
 * that keeps up) gets them whenever the buffer fills, so that it loses
 * none.  The file gets whole records only: when a write fails (a full
 * disk), the rest of the record it cut, or of the header, still waits,
 * and goes first when writes work again; the records behind it are lost.
 * After a failed write the next try waits a second, since a regular file
 * is always ready for poll(), and trying again on every turn would spin.
 *
 * This opens, writes and cuts back the capture's file, and never prints:
 * the caller says what went wrong, from what the functions return and
 * the fields below that it may read.  It reads no option: what it needs
 * comes in through the arguments.
 */
#ifndef CAPTURE_H
#define CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "pcapng.h"

#define CAPTURE_SIZE	(512 * 1024)	/* records that may wait */

/*
 * A capture.  The caller sets fd, to what capture_open() returned, or to
 * -1 for no capture, then calls capture_start(); it may read fd, lost
 * and error, and should leave the rest alone.
 */
struct capture_file {
	int fd;			/* -1: no capture */
	size_t head, tail;	/* waiting: buf[head..tail) */
	size_t whole;		/* a block boundary: buf[head..whole) goes
				   out whatever happens */
	uint64_t written;	/* bytes the file took */
	uint64_t begun;		/* where in the file the block that ends at
				   whole begins */
	uint64_t dropped;	/* lost since the last record written */
	uint64_t lost;		/* lost in all */
	int stuck;		/* the last write met EAGAIN */
	int error;		/* the errno of the last failed write, or 0 */
	int failing;		/* writes fail: the next waits until retry */
	int unsaid;		/* a failure, or its end, not yet told */
	struct timespec retry;
	uint8_t buf[CAPTURE_SIZE];
};

/* The step of capture_open() that failed. */
enum capture_step {
	CAPTURE_SYMLINK,	/* path is a symbolic link: refused */
	CAPTURE_OPEN,		/* open() */
	CAPTURE_FCHOWN,		/* fchown() of a file it created */
};

/* What capture_news() tells of the writes. */
enum capture_news {
	CAPTURE_QUIET,		/* nothing new */
	CAPTURE_FAILING,	/* writes began to fail, with error */
	CAPTURE_WORKING,	/* they work again */
};

/*
 * capture_open(path, uid, gid, step): opens the capture's file, for
 * writing, nonblocking and close-on-exec; before privilege is dropped, as
 * tcpdump does.  A file that is not there is created (mode 0644) and
 * given to uid and gid, as tcpdump -Z gives it (both (uid_t)-1 and
 * (gid_t)-1: it stays the caller's).  A file that is there is cut to
 * nothing and keeps its owner.  A FIFO is opened for reading too: the
 * open then never waits for a reader, a reader that goes never makes a
 * write fail, and one that comes late still reads from the start, the
 * header first, as long as the pipe holds it.
 *
 * A symbolic link is refused, and never followed (O_NOFOLLOW, should one
 * appear after lstat()): whoever can write in a shared directory such as
 * /tmp could point it at another file, which root would overwrite.
 *
 * Returns the descriptor, or -1 with *step the step that failed and
 * errno its error (ELOOP for CAPTURE_SYMLINK).  A file that could not be
 * given away is closed, and stays.
 */
int	capture_open(const char *path, uid_t uid, gid_t gid,
	    enum capture_step *step);

/*
 * capture_start(cap, tap, snaplen, ifname, application): makes the
 * capture's header the first to wait for the file: one interface, named
 * ifname, of Ethernet frames when tap is nonzero, else IP packets, that
 * keeps up to snaplen bytes of each; application (say "tunpipe 0.1.0")
 * names who wrote it.
 */
void	capture_start(struct capture_file *cap, int tap, size_t snaplen,
	    const char *ifname, const char *application);

/*
 * capture_packet(cap, dir, p, len): adds a record of the packet p[0..len)
 * that crossed in direction dir, timed now, to those waiting, or counts
 * it lost when they fill the buffer.  When they do, the file gets them
 * first, unless its last write met EAGAIN: one read of the stream may
 * bring more than the buffer holds, and a reader that is stuck must not
 * cost a write per packet.  Does nothing when cap->fd is -1.
 */
void	capture_packet(struct capture_file *cap, enum pcapng_direction dir,
	    const uint8_t *p, size_t len);

/*
 * capture_waiting(cap): whether records wait for the file and may be
 * written when it takes more: no failed write put the next try off.
 */
int	capture_waiting(const struct capture_file *cap);

/*
 * capture_write(cap): writes what the file takes now of the records
 * waiting, unless a failed write put the next try off; a record cut short
 * stays first in line.  A write that fails sets cap->error, and counts
 * the records behind the cut one lost.  Returns capture_waiting(cap).
 */
int	capture_write(struct capture_file *cap);

/*
 * capture_news(cap): whether the writes began to fail (cap->error says
 * why) or work again since it was last asked, once each time.
 */
enum capture_news	capture_news(struct capture_file *cap);

/*
 * capture_due(cap): after a failed write, the milliseconds until the next
 * try (0: now), while records wait for it; else -1.
 */
long	capture_due(const struct capture_file *cap);

/*
 * At the end: capture_write_now(cap) is capture_write(), but writes at
 * once even after a failed write.  Then, when the file has taken what it
 * would, capture_end(cap) counts the records still waiting lost, and cuts
 * a file left with part of a record back to the records it holds whole
 * (that part's record, not the header's, is counted lost too).  It
 * returns 1 when the capture ends cut short all the same (a FIFO cannot
 * be cut back: its reader sees the part), else 0.
 */
int	capture_write_now(struct capture_file *cap);
int	capture_end(struct capture_file *cap);

#endif
