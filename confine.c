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
#include <linux/net.h>
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

/*
 * The architectures the filter knows: the audit number their kernel
 * reports in seccomp_data.arch (aarch64_be reports AUDIT_ARCH_AARCH64
 * like arm64: the number says which system calls, not the byte order).
 * x32 is left out: its numbers differ from x86-64's, with which it shares
 * AUDIT_ARCH_X86_64.
 */
#if defined(__x86_64__) && !defined(__ILP32__)
#define SECCOMP_ARCH	AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define SECCOMP_ARCH	AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define SECCOMP_ARCH	AUDIT_ARCH_AARCH64
#elif defined(__arm__) && defined(__ARM_EABI__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SECCOMP_ARCH	AUDIT_ARCH_ARM
#elif defined(__riscv) && __riscv_xlen == 64
#define SECCOMP_ARCH	AUDIT_ARCH_RISCV64
#elif defined(__s390x__)
#define SECCOMP_ARCH	AUDIT_ARCH_S390X
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SECCOMP_ARCH	AUDIT_ARCH_PPC64LE
#elif defined(__powerpc64__)
#define SECCOMP_ARCH	AUDIT_ARCH_PPC64
#endif

#ifdef SECCOMP_ARCH

#if defined(__SANITIZE_ADDRESS__)
#define WITH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WITH_ASAN 1
#endif
#endif

/* musl's name for the 32-bit time_t call, on 32-bit architectures */
#if !defined(SYS_clock_gettime) && defined(SYS_clock_gettime32)
#define SYS_clock_gettime	SYS_clock_gettime32
#endif

/*
 * The system calls the packet loop and its ways out make, and those libc
 * may make for them (memory for stdio's first message, abort()).  Nothing
 * that opens, creates, executes or connects.  First the calls every
 * architecture has under the same name, then each architecture's own:
 * the same library call becomes another system call from one to the next
 * (fcntl64, mmap2, the _time64 calls of 32-bit ones), and a libc may
 * choose between several (glibc's fstat is fstat, newfstatat or statx;
 * musl's others).  test/trace-syscalls shows what the loop makes on an
 * architecture, under qemu-user; test/foreign/ runs each filter on a
 * kernel of its own architecture.
 */
static const int allowed_syscalls[] = {
	SYS_read, SYS_readv, SYS_write, SYS_writev, SYS_close, SYS_fcntl,
	SYS_ppoll, SYS_clock_gettime,
	SYS_sendmsg, SYS_recvmsg,	/* -e: to and from the starter */
	SYS_ftruncate,		/* -w: a capture cut in a record, at the end */
	SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_restart_syscall,
	SYS_exit_group, SYS_exit, SYS_brk, SYS_munmap, SYS_mremap,
	SYS_madvise, SYS_futex, SYS_getpid, SYS_gettid, SYS_tgkill,
	SYS_getrandom,
#if defined(__aarch64__) || defined(__riscv)
	/* the newer ones' table: no poll(), which glibc makes with ppoll() */
	SYS_mmap, SYS_fstat, SYS_newfstatat,
#elif defined(__x86_64__) || defined(__s390x__) || defined(__powerpc64__)
	SYS_poll, SYS_mmap, SYS_fstat, SYS_newfstatat,
#elif defined(__i386__) || defined(__arm__)
	SYS_poll, SYS_mmap2, SYS_fstat64, SYS_fstatat64, SYS_statx,
	SYS_fcntl64, SYS_ftruncate64,
	/* a 64-bit time_t's calls, since Linux 5.1; the older ones above */
	SYS_clock_gettime64, SYS_ppoll_time64, SYS_futex_time64,
#endif
#ifdef WITH_ASAN
	/*
	 * make check SANITIZE=1: LeakSanitizer checks at exit from a thread
	 * that stops the process with ptrace and reads /proc/self.  Builds
	 * without sanitizers never allow these.
	 */
	SYS_prctl, SYS_clone, SYS_ptrace, SYS_wait4, SYS_sched_yield,
	SYS_sigaltstack, SYS_rt_sigaction, SYS_openat, SYS_getdents64,
	SYS_readlinkat, SYS_lseek, SYS_mprotect, SYS_pread64, SYS_getppid,
	SYS_sched_getaffinity, SYS_set_robust_list, SYS_rt_sigtimedwait,
	SYS_prlimit64, SYS_kill, SYS_tkill,
#ifdef SYS_open
	SYS_open, SYS_getdents, SYS_access, SYS_readlink,
#endif
#endif
};

/*
 * Calls allowed only for some values of one argument (of which the filter
 * reads the low 32 bits, all the kernel reads of either).  ioctl() only
 * for the device's calls while the loop runs: its MTU, read again for the
 * warning of a packet it refused and for the counters (SIOCGIFMTU), and
 * its carrier, which follows -e's command (TUNSETCARRIER).  On i386 and
 * s390x glibc reaches sendmsg() and recvmsg() through socketcall(), whose
 * first argument names the call: only those two.  They are listed here,
 * not passed in, so that the whole allow list reads in one place and the
 * filter's size is known when it is compiled.
 */
#define ARG_VALUES_MAX	2
static const struct {
	int nr;			/* the system call */
	int arg;		/* which of its arguments is checked */
	int nvalues;
	uint32_t values[ARG_VALUES_MAX];
} allowed_args[] = {
	{ SYS_ioctl, 1, 2, { SIOCGIFMTU, TUNSETCARRIER } },
#if defined(__i386__) || defined(__s390x__)
	{ SYS_socketcall, 0, 2, { SYS_SENDMSG, SYS_RECVMSG } },
#endif
};

/*
 * Where the low half of argument i is: seccomp_data's arguments are 64
 * bits wide on every architecture, in its byte order.
 */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define SECCOMP_ARG_LOW(i)	(offsetof(struct seccomp_data, args[i]) + 4)
#else
#define SECCOMP_ARG_LOW(i)	offsetof(struct seccomp_data, args[i])
#endif

#define LENGTH(a)	(sizeof(a) / sizeof((a)[0]))
enum {
	NSYSCALLS = LENGTH(allowed_syscalls),
	NARGS = LENGTH(allowed_args),
	/* see build_filter() and put_arg_check() */
	FILTER_LEN = 4 + NARGS * (ARG_VALUES_MAX + 4) + NSYSCALLS + 2,
};

/*
 * Appends to filter, at *n, the check of one call allowed for some values
 * of an argument: not that call, on to what follows, with the call's
 * number still loaded; that call, allowed for its values, else trapped.
 */
static void
put_arg_check(struct sock_filter *filter, size_t *n, int nr, int arg,
    const uint32_t *values, int nvalues)
{
	int i;

	filter[(*n)++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    (uint32_t)nr, 0, (uint8_t)(nvalues + 3));
	filter[(*n)++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    SECCOMP_ARG_LOW(arg));
	for (i = 0; i < nvalues; i++)
		filter[(*n)++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ |
		    BPF_K, values[i], (uint8_t)(nvalues - i), 0);
	filter[(*n)++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_TRAP);
	filter[(*n)++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ALLOW);
}

/*
 * Writes the filter into filter[0..FILTER_LEN): another architecture is
 * killed, the calls checked by an argument are allowed for their values,
 * the other system calls for their numbers, and all else traps (SIGSYS).
 * Returns its length.
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
	for (i = 0; i < NARGS; i++)
		put_arg_check(filter, &n, allowed_args[i].nr,
		    allowed_args[i].arg, allowed_args[i].values,
		    allowed_args[i].nvalues);
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
	return NSYSCALLS + NARGS;
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
