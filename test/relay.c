/*
 * relay: copies stdin to stdout, re-cutting the byte stream at random
 * boundaries and pausing at random, as TCP and ssh do to the writes they
 * carry.  The tests put it between two tunpipes to prove that packets
 * survive a stream whose reads and writes never line up with frames.
 *
 * Its input or output may be non-blocking, as a socket shared with a
 * tunpipe is (tunpipe -e 'relay | tunpipe -c ...'): it then waits for it.
 *
 * usage: relay [-c max_chunk] [-p max_pause_us] [-s seed]
 */
#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static size_t max_chunk = 3000;	/* bytes per write, at most */
static long max_pause = 2000;	/* microseconds, at most */

/* Waits until fd is ready for events, after EAGAIN. */
static void
wait_for(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
		err(1, "poll");
}

/* Writes all of buf in pieces of random size, now and then pausing. */
static void
write_recut(const unsigned char *buf, size_t len)
{
	struct timespec pause;
	size_t piece;
	ssize_t n;

	while (len > 0) {
		piece = 1 + (size_t)random() % max_chunk;
		if (piece > len)
			piece = len;
		if ((n = write(STDOUT_FILENO, buf, piece)) == -1) {
			if (errno == EAGAIN)
				wait_for(STDOUT_FILENO, POLLOUT);
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err(1, "write");
		}
		buf += n;
		len -= (size_t)n;
		if (max_pause > 0 && random() % 16 == 0) {
			pause.tv_sec = 0;
			pause.tv_nsec = (random() % max_pause) * 1000;
			nanosleep(&pause, NULL);
		}
	}
}

int
main(int argc, char *argv[])
{
	static unsigned char buf[65536];
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	ssize_t n;
	int c;

	while ((c = getopt(argc, argv, "c:p:s:")) != -1) {
		switch (c) {
		case 'c':
			max_chunk = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			max_pause = strtol(optarg, NULL, 10);
			break;
		case 's':
			seed = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			errx(2, "usage: relay [-c max_chunk] [-p max_pause_us] "
			    "[-s seed]");
		}
	}
	if (max_chunk == 0 || max_chunk > sizeof(buf) || max_pause < 0)
		errx(2, "-c must be 1 to %zu, -p at least 0", sizeof(buf));
	srandom(seed);
	for (;;) {
		/* Reads of random size too, so a frame rarely arrives whole. */
		n = read(STDIN_FILENO, buf, 1 + (size_t)random() % sizeof(buf));
		if (n == -1) {
			if (errno == EAGAIN)
				wait_for(STDIN_FILENO, POLLIN);
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err(1, "read");
		}
		if (n == 0)
			return 0;
		write_recut(buf, (size_t)n);
	}
}
