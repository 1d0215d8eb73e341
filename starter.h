/*
 * starter.h: the helper process that starts, stops and reaps -e's command.
 *
 * tunpipe confines its packet loop with a seccomp filter, and a filter is
 * passed on across fork and exec: a command the loop started would run
 * confined, and ssh would die of it.  So, before the filter, tunpipe forks
 * the starter, which holds neither the device nor the stream, and asks it
 * over a socket pair to start the command, which hands back the
 * command's end of the stream, and to stop it.
 *
 * The command runs in a process group of its own, and the starter is the
 * subreaper of what it starts, so that stopping the command reaches and
 * reaps whatever it left running (cmd1 & cmd2): nothing of it outlives
 * tunpipe.  When tunpipe runs in the foreground of a terminal, the
 * command's group has the terminal while it runs, so that ssh can ask for
 * a password (a background process group that reads the terminal is
 * stopped); Ctrl-C then reaches the command.  When the loop's end of the
 * socket pair closes, however tunpipe ended, the starter stops the
 * command and exits.
 *
 * The functions below are the loop's side.  They return -1 with errno
 * set when a call fails, and with ECONNRESET when the starter is gone; the
 * loop reports it.  Their ctl is what starter_fork() returned: -1, no
 * starter, fails each call with EBADF, where a zeroed 0 would be stdin.
 * The starter itself prints only what the command's exec fails with.
 */
#ifndef STARTER_H
#define STARTER_H

#include <stddef.h>
#include <sys/types.h>

/* How long the command, then its group, may take to end when asked. */
#define STARTER_GRACE_MS 2000

/*
 * starter_fork(exec_command, close_fds, n): forks the starter, which
 * first closes the n descriptors in close_fds (the loop's own: the device,
 * the signalfd).  exec_command runs in each new command's process, its
 * stdin and stdout the command's end of the stream, and must exec or
 * _exit().  Returns the loop's end of the socket pair, or -1.
 */
int	starter_fork(void (*exec_command)(void), const int *close_fds,
	    size_t n);

/*
 * starter_start(ctl, pid): starts the command; returns the loop's end of
 * its stream (a socket, blocking) and sets *pid, or returns -1 with the
 * errno of what failed in the starter (socketpair, fork).
 */
int	starter_start(int ctl, pid_t *pid);

/*
 * starter_news(ctl, status): after poll() found ctl readable while the
 * command runs: 1 when the command has exited by itself (its wait status
 * in *status; what it left running may still hold the stream), 0 when the
 * starter has nothing to say, -1 when it is gone.
 */
int	starter_news(int ctl, int *status);

/*
 * starter_stop(ctl, now, status): stops what is left of the command and
 * sets *status to the command's wait status.  The command gets
 * STARTER_GRACE_MS to exit by itself, as losing its stream should make
 * it, unless now (its stream is dead, or tunpipe is stopping); then its
 * whole process group gets SIGTERM and, STARTER_GRACE_MS later, SIGKILL.
 * Returns 0, or -1 when the starter is gone.
 */
int	starter_stop(int ctl, int now, int *status);

#endif
