/*
 * notify.c: the service manager's notification socket, described in
 * notify.h.  It makes the system calls and never prints.
 */
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"

/*
 * A decimal number of microseconds, or 0 when s is none: the watchdog is
 * then off, as a manager would not set a value it cannot parse.
 */
static uint64_t
parse_usec(const char *s)
{
	unsigned long long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? 0 : (uint64_t)v;
}

/* Whether WATCHDOG_PID, when set, names this process. */
static int
watchdog_is_ours(const char *pid)
{
	return pid == NULL || strtol(pid, NULL, 10) == (long)getpid();
}

/* Fills n's address from path: a file's path, or @name (abstract). */
static int
set_address(struct notify *n, const char *path)
{
	size_t len = strlen(path);

	if (path[0] != '/' && path[0] != '@') {
		errno = EINVAL;
		return -1;
	}
	if (len >= sizeof(n->addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&n->addr, 0, sizeof(n->addr));
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, path, len);
	if (path[0] == '@')	/* abstract: a NUL first, and no NUL after */
		n->addr.sun_path[0] = '\0';
	else
		len++;
	n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    len);
	return 0;
}

/* Sets the watchdog's next ping, one pace from now. */
static void
schedule_watchdog(struct notify *n)
{
	clock_gettime(CLOCK_MONOTONIC, &n->watchdog_next);
	n->watchdog_next.tv_sec += n->watchdog_ns / 1000000000;
	n->watchdog_next.tv_nsec += n->watchdog_ns % 1000000000;
	if (n->watchdog_next.tv_nsec >= 1000000000) {
		n->watchdog_next.tv_sec++;
		n->watchdog_next.tv_nsec -= 1000000000;
	}
}

int
notify_open(struct notify *n)
{
	const char *path = getenv("NOTIFY_SOCKET");
	uint64_t usec = parse_usec(getenv("WATCHDOG_USEC"));
	int ours = watchdog_is_ours(getenv("WATCHDOG_PID"));
	int r = 0;

	n->fd = -1;
	n->watchdog_ns = 0;
	if (path != NULL && (r = set_address(n, path)) == 0 &&
	    (n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		r = -1;
	if (n->fd != -1 && usec != 0 && ours) {
		n->watchdog_ns = (int64_t)(usec / 2 * 1000);
		schedule_watchdog(n);
	}
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return r;
}

int
notify_send(const struct notify *n, const char *text)
{
	struct iovec iov = { .iov_base = (void *)text,
	    .iov_len = strlen(text) };
	struct msghdr msg = { .msg_name = (void *)&n->addr,
	    .msg_namelen = n->addr_len, .msg_iov = &iov, .msg_iovlen = 1 };

	if (n->fd == -1)
		return 0;
	return sendmsg(n->fd, &msg, MSG_NOSIGNAL) == -1 ? -1 : 0;
}

long
notify_watchdog_due(const struct notify *n)
{
	struct timespec now;
	int64_t ns;

	if (n->watchdog_ns == 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)(n->watchdog_next.tv_sec - now.tv_sec) * 1000000000 +
	    (n->watchdog_next.tv_nsec - now.tv_nsec);
	return ns > 0 ? (long)((ns + 999999) / 1000000) : 0;
}

int
notify_watchdog(struct notify *n)
{
	if (notify_watchdog_due(n) != 0)
		return 0;
	schedule_watchdog(n);
	return notify_send(n, "WATCHDOG=1");
}
