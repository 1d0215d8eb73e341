/*
 * splitter: copies standard input to standard output in parts cut at the
 * given offsets, each part in one write, and writes a part only once the
 * reader has taken every byte of the one before.  A reader that takes what
 * there is (tunpipe does) thus gets each part in a read of its own, however
 * fast or slow it runs: the tests cut a recording at each byte in turn and
 * see that where a read ends changes nothing.
 *
 * Standard output is a pipe, or a Unix stream socket (-e's stream); each
 * part is at most PIPE_BUF bytes, which a pipe writes at once, so that no
 * read can take half of it.  A reader that leaves early (a stream error)
 * ends splitter quietly.
 *
 * usage: splitter OFFSET... <file
 */
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <linux/sockios.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WAIT_STEP_US	100		/* between looks at what is unread */
#define WAIT_MAX_S	10		/* the longest wait for the reader */

/* Whether the reader of stdout went away. */
static int
reader_gone(void)
{
	struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP));
}

/*
 * Waits until the reader has taken every byte written: a pipe holds none
 * (FIONREAD), a socket's send queue is empty (SIOCOUTQ).  Returns 0, or -1
 * when the reader went away.
 */
static int
wait_taken(int is_socket)
{
	struct timespec step = { 0, WAIT_STEP_US * 1000 };
	long i;
	int unread;

	for (i = 0; i < WAIT_MAX_S * 1000000L / WAIT_STEP_US; i++) {
		if (ioctl(STDOUT_FILENO, is_socket ? SIOCOUTQ : FIONREAD,
		    &unread) == -1)
			err(1, "ioctl on standard output");
		if (unread == 0)
			return 0;
		if (reader_gone())
			return -1;
		nanosleep(&step, NULL);
	}
	errx(1, "the reader took nothing for %d seconds", WAIT_MAX_S);
}

/* The offsets, checked against the input's len bytes, into cut[]. */
static void
parse_offsets(char *arg[], int count, size_t len, size_t cut[])
{
	char *rest;
	int i;

	for (i = 0; i < count; i++) {
		cut[i] = strtoul(arg[i], &rest, 10);
		if (*rest != '\0' || cut[i] <= (i > 0 ? cut[i - 1] : 0) ||
		    cut[i] >= len)
			errx(2, "offset %s: each must be past the one before and "
			    "inside the input of %zu bytes", arg[i], len);
	}
	cut[count] = len;
	for (i = 0; i <= count; i++)
		if (cut[i] - (i > 0 ? cut[i - 1] : 0) > PIPE_BUF)
			errx(2, "part %d is longer than %d bytes", i + 1,
			    PIPE_BUF);
}

int
main(int argc, char *argv[])
{
	static unsigned char buf[64 * 1024];
	static size_t cut[64];
	size_t len = 0, start;
	struct stat sb;
	ssize_t n;
	int i;

	if (argc < 2 || argc > (int)(sizeof(cut) / sizeof(cut[0])))
		errx(2, "usage: splitter OFFSET... <file (at most %zu offsets)",
		    sizeof(cut) / sizeof(cut[0]) - 1);
	signal(SIGPIPE, SIG_IGN);
	while ((n = read(STDIN_FILENO, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	if (n == -1)
		err(1, "read");
	if (len == sizeof(buf))
		errx(2, "the input is larger than %zu bytes", sizeof(buf) - 1);
	parse_offsets(argv + 1, argc - 1, len, cut);
	if (fstat(STDOUT_FILENO, &sb) == -1)
		err(1, "standard output");
	for (i = 0, start = 0; i < argc; start = cut[i++]) {
		if (start > 0 && wait_taken(S_ISSOCK(sb.st_mode)) == -1)
			return 0;
		if ((n = write(STDOUT_FILENO, buf + start, cut[i] - start)) ==
		    -1 && errno == EPIPE)
			return 0;
		if (n == -1)
			err(1, "write");
		if ((size_t)n != cut[i] - start)
			errx(1, "a short write: %zd of %zu bytes", n,
			    cut[i] - start);
	}
	return 0;
}
