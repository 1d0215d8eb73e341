/*
 * notify.h: what tunpipe tells a service manager that started it
 * (systemd's Type=notify): that it is ready, what it is doing in words,
 * that it is stopping, and, with a watchdog, that its loop still turns.
 *
 * The protocol is one datagram a message, of lines NAME=VALUE, sent to the
 * Unix socket that NOTIFY_SOCKET names (a path, or @ for the abstract
 * namespace).  The socket is made before tunpipe's seccomp filter, which
 * allows sendmsg(); each message is sent with its address, so nothing
 * else is needed later.  The socket does not block, and a message the
 * manager does not take is lost rather than waited for: the tunnel never
 * waits for its manager.
 *
 * The functions make system calls and never print: they return -1 with
 * errno set, and the caller says what it means.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

/* The service manager's socket, and the watchdog's pace. */
struct notify {
	int fd;				/* -1: no manager to tell */
	struct sockaddr_un addr;
	socklen_t addr_len;
	int64_t watchdog_ns;		/* between two pings; 0: no watchdog */
	struct timespec watchdog_next;	/* CLOCK_MONOTONIC */
};

/*
 * notify_open(n): reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID
 * from the environment and removes them, so that the commands tunpipe
 * runs do not speak for it; then makes the socket (close-on-exec,
 * non-blocking).  The watchdog is pinged at half WATCHDOG_USEC, unless
 * WATCHDOG_PID names another process.  Returns 0 (n->fd is -1 when there
 * is no NOTIFY_SOCKET), or -1 with errno: EINVAL when NOTIFY_SOCKET is
 * not the path of a Unix socket nor @name, ENAMETOOLONG when it is too
 * long for one, else what socket() failed with.  n->fd is -1 then.
 */
int	notify_open(struct notify *n);

/*
 * notify_send(n, text): sends text (lines NAME=VALUE, such as
 * "READY=1\nSTATUS=up") as one datagram.  Returns 0, also when there is
 * no manager to tell, or -1 with the errno of sendmsg().
 */
int	notify_send(const struct notify *n, const char *text);

/*
 * notify_watchdog_due(n): the milliseconds until the watchdog's next ping
 * is due, 0 when it is, or -1 when there is no watchdog.
 */
long	notify_watchdog_due(const struct notify *n);

/*
 * notify_watchdog(n): sends WATCHDOG=1 when it is due, and sets the next
 * ping half the manager's interval later.  Returns as notify_send().
 */
int	notify_watchdog(struct notify *n);

#endif
