/*
 * confine.c: -U's privilege drop and the seccomp filter, described in
 * confine.h.  It makes the system calls that confine tunpipe and never
 * prints; the allow lists below are the contract between the filter and
 * the packet loop, so a call the loop starts making is added here, and an
 * architecture the filter should know is added to the list of them.
 */
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "confine.h"

int
confine_user(const char *user, uid_t uid, gid_t gid, enum confine_step *step)
{
	*step = CONFINE_INITGROUPS;
	if (initgroups(user, gid) == -1)
		return -1;
	*step = CONFINE_SETGID;
	if (setgid(gid) == -1)
		return -1;
	*step = CONFINE_SETUID;
	if (setuid(uid) == -1)
		return -1;
	*step = CONFINE_ROOT_AGAIN;
	if (uid != 0 && setuid(0) != -1) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* The architectures the filter knows: their audit number. */
#if defined(__x86_64__)
#define SECCOMP_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH	AUDIT_ARCH_AARCH64
#endif

#ifdef SECCOMP_ARCH

#if defined(__SANITIZE_ADDRESS__)
#define WITH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WITH_ASAN 1
#endif
#endif

/*
 * The system calls the packet loop and its ways out make, and those libc
 * may make for them (memory for stdio's first message, abort()).  Nothing
 * that opens, creates, executes or connects.
 */
static const int allowed_syscalls[] = {
	SYS_read, SYS_readv, SYS_write, SYS_writev, SYS_close, SYS_fcntl, SYS_ppoll,
	SYS_ftruncate,		/* -w: a capture cut in a record, at the end */
	SYS_sendmsg, SYS_recvmsg,	/* -e: to and from the starter */
#ifdef SYS_poll
	SYS_poll,
#endif
	SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_clock_gettime,
	SYS_exit_group, SYS_exit, SYS_brk, SYS_mmap, SYS_munmap, SYS_mremap,
	SYS_madvise, SYS_futex, SYS_fstat, SYS_newfstatat, SYS_getpid,
	SYS_gettid, SYS_tgkill, SYS_restart_syscall, SYS_getrandom,
#ifdef WITH_ASAN
	/*
	 * make check SANITIZE=1: LeakSanitizer checks at exit from a thread
	 * that stops the process with ptrace and reads /proc/self.  Builds
	 * without sanitizers never allow these.
	 */
	SYS_prctl, SYS_clone, SYS_ptrace, SYS_wait4, SYS_sched_yield,
	SYS_sigaltstack, SYS_rt_sigaction, SYS_openat, SYS_getdents64,
	SYS_readlink, SYS_lseek, SYS_mprotect, SYS_pread64, SYS_getppid,
	SYS_sched_getaffinity, SYS_set_robust_list, SYS_rt_sigtimedwait,
	SYS_prlimit64, SYS_kill, SYS_tkill,
#ifdef SYS_open
	SYS_open, SYS_getdents, SYS_access,
#endif
#endif
};

/*
 * ioctl() only for these requests, told apart by the filter from the
 * request number, its second argument (the low half: the filter knows
 * only little-endian architectures).  They are the device's calls while
 * the loop runs: its MTU, read again for the warning of a packet it
 * refused and for the counters (SIOCGIFMTU), and its carrier, which
 * follows -e's command (TUNSETCARRIER).  They are listed here, not passed
 * in, so that the whole allow list reads in one place and the filter's
 * size is known when it is compiled.
 */
static const unsigned long allowed_ioctls[] = {
	SIOCGIFMTU,
	TUNSETCARRIER,
};
#define SECCOMP_ARG1	offsetof(struct seccomp_data, args[1])

enum {
	NSYSCALLS = sizeof(allowed_syscalls) / sizeof(allowed_syscalls[0]),
	NIOCTLS = sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]),
	FILTER_LEN = NSYSCALLS + NIOCTLS + 9,	/* see build_filter() */
};

/*
 * Writes the filter into filter[0..FILTER_LEN): another architecture is
 * killed, ioctl() is allowed for its requests, the system calls for
 * their numbers, and all else traps (SIGSYS).  Returns its length.
 */
static unsigned short
build_filter(struct sock_filter *filter)
{
	size_t i, n = 0;

	filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch));
	filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    SECCOMP_ARCH, 1, 0);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_KILL_PROCESS);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
	/* ioctl: its requests, or the trap; the jumps go to the allow. */
	filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    SYS_ioctl, 0, NIOCTLS + 2);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    SECCOMP_ARG1);
	for (i = 0; i < NIOCTLS; i++)
		filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ |
		    BPF_K, (uint32_t)allowed_ioctls[i], NIOCTLS - i +
		    NSYSCALLS + 1, 0);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_TRAP);
	for (i = 0; i < NSYSCALLS; i++)	/* x32 numbers match none of these */
		filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ |
		    BPF_K, (uint32_t)allowed_syscalls[i], NSYSCALLS - i, 0);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_TRAP);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ALLOW);
	return (unsigned short)n;
}

int
confine_syscalls_allowed(void)
{
	return NSYSCALLS + 1;		/* and ioctl */
}

int
confine_syscalls(void (*on_sigsys)(int, siginfo_t *, void *))
{
	struct sock_filter filter[FILTER_LEN];
	struct sock_fprog prog = { .filter = filter };
	struct sigaction sa;

	prog.len = build_filter(filter);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);	/* SIGSYS can always be caught */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		return -1;
	return 0;
}

#else	/* no filter for this architecture */

int
confine_syscalls_allowed(void)
{
	return 0;
}

int
confine_syscalls(void (*on_sigsys)(int, siginfo_t *, void *))
{
	(void)on_sigsys;
	errno = ENOSYS;
	return -1;
}

#endif
