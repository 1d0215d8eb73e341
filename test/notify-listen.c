/*
 * notify-listen: a service manager's notification socket for
 * test/notify.bats, to read what tunpipe tells one, message by message.
 *
 *	notify-listen [-t SECS] PATH
 *
 * It binds a Unix datagram socket at PATH (or, for @NAME, at NAME in the
 * abstract namespace), and for each datagram prints a line "pid=N", the
 * sender's PID as the kernel gives it (SO_PASSCRED, as systemd reads it
 * for NotifyAccess=main), then the datagram as it came, then a line "--",
 * until SECS seconds (default 30) have passed, or SIGTERM.  Not installed.
 */
#define _GNU_SOURCE		/* struct ucred */

#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The sender's PID, from the message's credentials, or -1. */
static long
sender(struct msghdr *msg)
{
	struct cmsghdr *c;
	struct ucred cred;

	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c))
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS) {
			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
			return (long)cred.pid;
		}
	return -1;
}

/* Binds the socket at path, or @name; returns it. */
static int
bind_socket(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd, on = 1;

	if (len >= sizeof(addr.sun_path))
		errx(2, "%s: too long", path);
	memcpy(addr.sun_path, path, len);
	if (path[0] == '@')
		addr.sun_path[0] = '\0';
	else
		len++;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == -1)
		err(1, "SO_PASSCRED");
	if (bind(fd, (struct sockaddr *)&addr,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) == -1)
		err(1, "bind %s", path);
	return fd;
}

int
main(int argc, char *argv[])
{
	char data[4096], control[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct pollfd pfd = { .events = POLLIN };
	long secs = 30;
	time_t end;
	ssize_t n;
	int ch;

	while ((ch = getopt(argc, argv, "t:")) != -1) {
		if (ch != 't')
			return 2;
		secs = strtol(optarg, NULL, 10);
	}
	if (optind != argc - 1)
		errx(2, "usage: notify-listen [-t SECS] PATH");
	pfd.fd = bind_socket(argv[optind]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	end = time(NULL) + secs;
	while (time(NULL) < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		if ((n = recvmsg(pfd.fd, &msg, 0)) == -1)
			err(1, "recvmsg");
		printf("pid=%ld\n%.*s\n--\n", sender(&msg), (int)n, data);
	}
	return 0;
}
