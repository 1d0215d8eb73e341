/*
 * confine.h: what tunpipe gives up before it reads the first packet from
 * a peer: root, for -U's user, and every system call the packet loop does
 * not need, with a seccomp filter.  A stream from an untrusted peer then
 * cannot make tunpipe do anything else, whatever bug it finds.
 *
 * The allow lists are in confine.c, per architecture: on one the filter
 * does not know, there is no filter.  What the loop must not make is
 * anything that opens, creates, executes or connects; so -e's command is
 * started by a process forked before the filter (see starter_fork()),
 * and a --down command, which would inherit it, means no filter.  That
 * choice, and every message, is the caller's.
 *
 * The functions make system calls and never print: they return -1 with
 * errno set, and confine_user() says which of its steps failed.
 */
#ifndef CONFINE_H
#define CONFINE_H

#include <signal.h>
#include <sys/types.h>

/* The step of confine_user() that failed. */
enum confine_step {
	CONFINE_INITGROUPS,	/* initgroups(): the supplementary groups */
	CONFINE_SETGID,		/* setgid() */
	CONFINE_SETUID,		/* setuid() */
	CONFINE_ROOT_AGAIN,	/* setuid(0) worked: root can be regained */
};

/*
 * confine_user(user, uid, gid, step): becomes the user named user, of
 * uid and gid, for good: supplementary groups, then gid, then uid, so that
 * no capability survives; then checks that root cannot be regained (when
 * uid is not root's).  Returns 0, or -1 with *step the step that failed
 * and errno its error (EPERM for CONFINE_ROOT_AGAIN, which no call
 * failed: the process is then root again, and must not go on).
 */
int	confine_user(const char *user, uid_t uid, gid_t gid,
	    enum confine_step *step);

/*
 * confine_syscalls_allowed(): how many system calls the filter allows
 * (ioctl, allowed for some requests only, counted as one), or 0 when
 * there is no filter for this architecture.
 */
int	confine_syscalls_allowed(void);

/*
 * confine_syscalls(on_sigsys): installs on_sigsys as the SIGSYS handler
 * (SA_SIGINFO), then confines this process, and all it forks from now on,
 * to the system calls allowed: one not allowed raises SIGSYS, whose
 * handler may make only allowed calls and should not return.  Returns 0,
 * or -1 with errno: EINVAL when the kernel has no seccomp filters,
 * ENOSYS when this architecture has no filter (confine_syscalls_allowed()
 * says 0), else what prctl() failed with.
 */
int	confine_syscalls(void (*on_sigsys)(int, siginfo_t *, void *));

#endif
