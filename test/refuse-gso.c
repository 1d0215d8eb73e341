/*
 * refuse-gso: preloaded into tunpipe by test/offloads.bats, it plays a
 * kernel that grants the device's UDP segmentation offload and then
 * refuses its packets, as some kernels have: a writev() to a descriptor
 * other than 0, 1 and 2 (the device) whose virtio-net header says
 * GSO_UDP_L4 fails with EINVAL, and nothing is written.  Not installed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define GSO_UDP_L4	5

ssize_t
writev(int fd, const struct iovec *iov, int iovcnt)
{
	static ssize_t (*real)(int, const struct iovec *, int);

	if (real == NULL)
		real = (ssize_t (*)(int, const struct iovec *, int))
		    dlsym(RTLD_NEXT, "writev");
	if (fd > 2 && iovcnt > 0 && iov[0].iov_len >= 10 &&
	    ((const uint8_t *)iov[0].iov_base)[1] == GSO_UDP_L4) {
		errno = EINVAL;
		return -1;
	}
	return real(fd, iov, iovcnt);
}
