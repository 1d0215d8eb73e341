/*
 * seccomp-shim: preloaded into tunpipe by test/seccomp.bats.  On the
 * second ppoll() of the packet loop it makes a system call that the
 * seccomp filter forbids, so that the test can see how tunpipe reports
 * it: getuid(), or with SECCOMP_SHIM=ioctl an ioctl() of a request the
 * filter does not allow (SIOCSIFMTU, one from the SIOCGIFMTU it does) on
 * no descriptor (-1), harmless should it get through.  Not installed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <linux/sockios.h>
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
	if (++calls == 2) {
		const char *call = getenv("SECCOMP_SHIM");

		if (call != NULL && strcmp(call, "ioctl") == 0)
			syscall(SYS_ioctl, -1, SIOCSIFMTU, NULL);
		else
			syscall(SYS_getuid);
	}
	return real(fds, nfds, timeout, mask);
}
