/*
 * seccomp-shim: preloaded into tunpipe by test/seccomp.bats.  On the
 * second ppoll() of the packet loop it makes a system call that the
 * seccomp filter forbids (getuid), so that the test can see how tunpipe
 * reports it.  Not installed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

int
ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
    const sigset_t *mask)
{
	static int (*real)(struct pollfd *, nfds_t, const struct timespec *,
	    const sigset_t *);
	static int calls;

	if (real == NULL)
		real = (int (*)(struct pollfd *, nfds_t,
		    const struct timespec *, const sigset_t *))
		    dlsym(RTLD_NEXT, "ppoll");
	if (++calls == 2)
		syscall(SYS_getuid);
	return real(fds, nfds, timeout, mask);
}
