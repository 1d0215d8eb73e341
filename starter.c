/*
 * starter.c: the helper process of -e, described in starter.h.  It runs
 * unconfined (it is forked before the seccomp filter), so it holds
 * nothing of the loop's: no device, no stream, no signalfd.
 *
 * The loop and the starter speak in messages over a SOCK_SEQPACKET pair:
 *
 *	loop to starter: START; STOP (the stream ended); STOP_NOW (it died,
 *	                 or tunpipe is stopping)
 *	starter to loop: STARTED, pid, with the stream's descriptor; FAILED,
 *	                 errno; EXITED, wait status, unasked, when the command
 *	                 exits; STOPPED, its wait status, once nothing of it
 *	                 is left
 */
#define _GNU_SOURCE		/* ppoll() */

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "starter.h"

enum {
	START = 's', STOP = 'k', STOP_NOW = 'K',
	STARTED = 'f', FAILED = 'e', EXITED = 'x', STOPPED = 'z'
};

struct msg {
	char kind;
	int value;
};

/* The starter's side of things. */
struct starter {
	int ctl;		/* messages to and from the loop */
	int tty;		/* the terminal whose foreground we are, or -1 */
	pid_t pid;		/* the command while it runs, else 0 */
	pid_t group;		/* its process group until stopped, else 0 */
	int status;		/* the command's wait status, once reaped */
	void (*exec_command)(void);
};

static volatile sig_atomic_t child_exited;

/* Sends a message, with a descriptor when fd is not -1. */
static int
send_msg(int ctl, char kind, int value, int fd)
{
	struct msg m;
	struct iovec iov = { &m, sizeof(m) };
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	memset(&m, 0, sizeof(m));	/* its padding too, which is sent */
	m.kind = kind;
	m.value = value;
	if (fd != -1) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.space;
		msg.msg_controllen = sizeof(u.space);
		CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)), &fd, sizeof(int));
	}
	return sendmsg(ctl, &msg, MSG_NOSIGNAL) == -1 ? -1 : 0;
}

/*
 * Receives a message and the descriptor it may carry (else *fd is -1).
 * Returns 1, 0 when none is waiting (with MSG_DONTWAIT), or -1 at the end
 * of the other side, with errno ECONNRESET.
 */
static int
recv_msg(int ctl, struct msg *m, int *fd, int flags)
{
	struct iovec iov = { m, sizeof(*m) };
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = u.space, .msg_controllen = sizeof(u.space) };
	struct cmsghdr *c;
	ssize_t n;

	while ((n = recvmsg(ctl, &msg, flags | MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	if (n == -1 && errno == EAGAIN)
		return 0;
	if (n != sizeof(*m)) {
		errno = ECONNRESET;
		return -1;
	}
	*fd = -1;
	if ((c = CMSG_FIRSTHDR(&msg)) != NULL && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 1;
}

/*
 * Makes a socket pair of this type and forks: the parent keeps sv[0], the
 * child sv[1].  Returns fork()'s pid, or -1 with nothing left open.
 */
static pid_t
fork_with_pair(int type, int sv[2])
{
	pid_t pid;

	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(sv[0]);
		close(sv[1]);
	}
	return pid;
}

/*
 * Starter: forks the command in a process group of its own, with the
 * terminal if we have it, its stdin and stdout joined to one end of a
 * socket pair; returns the other end, or -1.  Its stderr stays tunpipe's,
 * so that ssh can ask for a password and complain.
 */
static int
spawn_command(struct starter *st)
{
	int sv[2];
	pid_t pid;

	if ((pid = fork_with_pair(SOCK_STREAM, sv)) == -1)
		return -1;
	if (pid == 0) {
		/* Both sides set the group and the terminal: no race. */
		setpgid(0, 0);
		if (st->tty != -1)
			tcsetpgrp(st->tty, getpid());
		if (dup2(sv[1], STDIN_FILENO) == -1 ||
		    dup2(sv[1], STDOUT_FILENO) == -1)
			_exit(127);
		st->exec_command();
		_exit(127);
	}
	setpgid(pid, pid);
	if (st->tty != -1)
		tcsetpgrp(st->tty, pid);
	close(sv[1]);
	st->pid = st->group = pid;
	return sv[0];
}

/*
 * Starter: reaps every child that has ended: the command, keeping its
 * status, and what it left running, which came to us as subreaper.
 * Returns 1 when the command itself has just ended.
 */
static int
reap_children(struct starter *st)
{
	int status, ended = 0;
	pid_t r;

	while ((r = waitpid(-1, &status, WNOHANG)) > 0)
		if (r == st->pid) {
			st->pid = 0;
			st->status = status;
			ended = 1;
		}
	return ended;
}

/* Starter: whether anything of the command's group is left. */
static int
group_left(const struct starter *st)
{
	return st->pid != 0 || (st->group != 0 && kill(-st->group, 0) == 0);
}

/*
 * Starter: waits up to ms for the command to end, or with whole for all
 * of its group; returns whether it did.
 */
static int
wait_command(struct starter *st, long ms, int whole)
{
	const struct timespec tick = { 0, 10 * 1000000 };
	long waited;

	for (waited = 0;; waited += 10) {
		reap_children(st);
		if (whole ? !group_left(st) : st->pid == 0)
			return 1;
		if (waited >= ms)
			return 0;
		nanosleep(&tick, NULL);
	}
}

/*
 * Starter: ends the command's group as starter_stop() says, and gives the
 * terminal back to tunpipe.
 */
static void
end_command(struct starter *st, int now)
{
	if (st->group == 0)
		return;
	if (!now)
		wait_command(st, STARTER_GRACE_MS, 0);
	kill(-st->group, SIGTERM);
	if (!wait_command(st, STARTER_GRACE_MS, 1)) {
		kill(-st->group, SIGKILL);
		wait_command(st, STARTER_GRACE_MS, 1);
	}
	if (st->tty != -1 && tcgetpgrp(st->tty) == st->group)
		tcsetpgrp(st->tty, getpgrp());
	st->group = 0;
}

/*
 * Starter: the terminal whose foreground process group tunpipe is in, to
 * hand to the command, or -1.
 */
static int
foreground_tty(void)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd != -1 && tcgetpgrp(fd) != getpgrp()) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void
note_child(int sig)
{
	(void)sig;
	child_exited = 1;
}

/* Starter: acts on one message from the loop. */
static void
take_msg(struct starter *st, const struct msg *m)
{
	int fd;

	if (m->kind == START && st->group == 0) {
		if ((fd = spawn_command(st)) == -1) {
			send_msg(st->ctl, FAILED, errno, -1);
			return;
		}
		send_msg(st->ctl, STARTED, (int)st->pid, fd);
		close(fd);
	} else if (m->kind == STOP || m->kind == STOP_NOW) {
		end_command(st, m->kind == STOP_NOW);
		send_msg(st->ctl, STOPPED, st->status, -1);
	}
}

/*
 * The starter's loop: starts and stops the command as the loop asks, and
 * says when it exits by itself.  When the loop goes, so does the command.
 * The signals tunpipe blocked stay blocked (tunpipe's end tells the
 * starter to stop); SIGCHLD wakes it, and SIGTTOU stays blocked so that
 * it may take the terminal back from the background.
 */
static void __attribute__((noreturn))
run_starter(struct starter *st)
{
	struct pollfd pfd = { .fd = st->ctl, .events = POLLIN };
	sigset_t block, wait;
	struct msg m;
	int fd;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	st->tty = foreground_tty();
	signal(SIGCHLD, note_child);
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTTOU);
	sigprocmask(SIG_BLOCK, &block, &wait);
	sigdelset(&wait, SIGCHLD);
	for (;;) {
		ppoll(&pfd, 1, NULL, &wait);
		child_exited = 0;
		if (reap_children(st))
			send_msg(st->ctl, EXITED, st->status, -1);
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		if (recv_msg(st->ctl, &m, &fd, 0) != 1) {
			end_command(st, 1);
			_exit(0);
		}
		take_msg(st, &m);
	}
}

int
starter_fork(void (*exec_command)(void), const int *close_fds, size_t n)
{
	struct starter st = { .exec_command = exec_command };
	int sv[2];
	pid_t pid;
	size_t i;

	if ((pid = fork_with_pair(SOCK_SEQPACKET, sv)) == -1)
		return -1;
	if (pid == 0) {
		for (i = 0; i < n; i++)
			close(close_fds[i]);
		close(sv[0]);
		st.ctl = sv[1];
		run_starter(&st);
	}
	close(sv[1]);
	return sv[0];
}

/* The starter's answer to a request, skipping news of an exit. */
static int
answer(int ctl, struct msg *m, int *fd)
{
	do {
		if (recv_msg(ctl, m, fd, 0) != 1)
			return -1;
	} while (m->kind == EXITED);
	return 0;
}

int
starter_start(int ctl, pid_t *pid)
{
	struct msg m;
	int fd;

	if (send_msg(ctl, START, 0, -1) == -1 || answer(ctl, &m, &fd) == -1)
		return -1;
	if (m.kind == FAILED) {
		errno = m.value;
		return -1;
	}
	*pid = m.value;
	return fd;
}

int
starter_news(int ctl, int *status)
{
	struct msg m;
	int fd, r;

	if ((r = recv_msg(ctl, &m, &fd, MSG_DONTWAIT)) != 1)
		return r;
	if (m.kind != EXITED) {
		errno = ECONNRESET;
		return -1;
	}
	*status = m.value;
	return 1;
}

int
starter_stop(int ctl, int now, int *status)
{
	struct msg m;
	int fd;

	if (send_msg(ctl, now ? STOP_NOW : STOP, 0, -1) == -1 ||
	    answer(ctl, &m, &fd) == -1)
		return -1;
	*status = m.value;
	return 0;
}
