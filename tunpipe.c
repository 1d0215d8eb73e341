/*
 * tunpipe: move packets between a TUN or TAP device and standard input and
 * output, framed so that they survive any byte stream.
 */
#define _GNU_SOURCE		/* ppoll(), signalfd() */

#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/audit.h>
#include <linux/ethtool.h>
#include <linux/filter.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "framing.h"

/* UDP segmentation offload: in kernels since 6.2, not in all headers yet. */
#ifndef TUN_F_USO4
#define TUN_F_USO4	0x20
#define TUN_F_USO6	0x40
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#define TUNPIPE_VERSION "0.1.0"

#define TUN_PATH	"/dev/net/tun"
/*
 * One read of the stream, and the frames that may wait for the stream:
 * about 1 ms of traffic either way.  -O moves five times as many bytes
 * per packet, so it gets larger batches; memory for them is touched only
 * with -O.
 */
#define INBUF_SIZE	(128 * 1024)
#define OUTBUF_SIZE	(256 * 1024)
#define INBUF_SIZE_O	(512 * 1024)
#define OUTBUF_SIZE_O	(1024 * 1024)
#define ETHER_HEADER	18		/* Ethernet header with a VLAN tag */
#define DEVICE_READ	FRAMING_PACKET_MAX	/* more than a device holds */
#define BAD_RUN		8		/* frames in a row that break a stream */
#define PIPE_SIZE	(256 * 1024)	/* asked for a pipe on stdin or stdout */
#define FLUSH_MS	1000		/* at EOF, how long pending output may wait */
#define WARN_INTERVAL	5		/* seconds between repeated warnings */
#define MAX_ADDRESSES	16		/* -a given this many times at most */
#define MTU_MIN		68		/* the kernel's minimum for IPv4 */
#define MTU_MIN_IPV6	1280
#define MTU_MAX		65535
#define VNET_HDR_LEN	sizeof(struct virtio_net_hdr)	/* -O, before each packet */
#define DEAD_AFTER	3		/* keepalive intervals of silence */
#define RESPAWN_CAP	60		/* -r: the longest wait, unless SECS is */
#define RESPAWN_LIVED	10		/* -r: a run this long resets the wait */
#define REAP_MS		2000		/* how long -e's command may take to end */

/*
 * Exit statuses; README.md lists them for users.  The loop's helpers return
 * one of them to stop, or RUNNING to go on.
 */
enum {
	EXIT_END = 0,		/* the stream ended cleanly, or a stop signal */
	EXIT_FAIL = 1,		/* a system call failed unexpectedly */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_DEVICE = 3,	/* the device could not be opened or set up */
	EXIT_STREAM = 4,	/* the input stream broke its framing */
	EXIT_COMMAND = 5,	/* the -e command ended, and no -r */
	RUNNING = -1,		/* not an exit: the loop goes on */
	INPUT_ENDED = -2,	/* not an exit yet: stdin reached EOF */
	STREAM_BROKEN = -3,	/* not an exit yet: -e's stream ended */
};

struct address {
	const char *text;	/* as given, for messages */
	int family;		/* AF_INET or AF_INET6 */
	uint8_t bytes[16];
	int prefix;
};

struct options {
	const char *ifname;	/* NULL: the kernel picks tun%d or tap%d */
	int tap;
	int offload;		/* -O: GSO packets with a virtio-net header */
	int no_seccomp;		/* -S: leave the system calls unconfined */
	int verbosity;		/* 0 -q, 1 default, 2 -v */
	const char *framing_name;	/* -f as given, or NULL */
	enum framing_type framing;
	struct address addresses[MAX_ADDRESSES];
	size_t naddresses;
	int mtu;		/* 0: leave the device's MTU alone */
	int keepalive;		/* seconds of silence before an empty frame */
	const char *exec;	/* -e: the command that carries the stream */
	int respawn;		/* -r: seconds before starting it again */
	const char *up, *down;	/* hook commands, or NULL */
	int persist;
	const char *owner;	/* -o: the device's owner, or NULL */
	uid_t owner_uid;
	const char *user;	/* -U: whom to become, or NULL */
	uid_t user_uid;
	gid_t user_gid;
};

struct counters {
	uint64_t out_packets, out_bytes;	/* device to stream */
	uint64_t in_packets, in_bytes;		/* stream to device */
	uint64_t drop_invalid;			/* not an IP packet (TUN) */
	uint64_t drop_device;			/* the device refused it */
	uint64_t drop_oversize;			/* from the device, over max */
	uint64_t keepalives;			/* empty frames sent */
	uint64_t drop_damaged;			/* SLIP: bad escape, too long */
	uint64_t drop_cut;			/* frames cut by a break */
	uint64_t restarts;			/* -e command started again */
};

/* A warning that repeats at most every WARN_INTERVAL seconds. */
struct ratelimit {
	time_t last;
	unsigned long suppressed;
};

struct tunpipe {
	int dev, in, out;
	int signals;			/* the signalfd: see open_signals() */
	char ifname[IFNAMSIZ];
	int mtu;
	struct timespec started;
	time_t last_sent;		/* when the stream last took bytes */
	time_t last_received;		/* when it last gave bytes (-k) */
	uint64_t peer_keepalives;	/* keepalives seen before this stream */
	int ctl;			/* -e: messages to the starter */
	pid_t command;			/* -e's command, or 0 */
	int command_status;		/* its wait status, once reaped */
	int stream_dead;		/* -k: its stream fell silent */
	time_t command_started;
	int respawn_wait;		/* -r: seconds before the next start */
	size_t max;			/* largest packet the framing carries */
	int ifsock;			/* for the device's MTU, as it is now */
	unsigned bad_run;		/* frames in a row that were not good */
	int bad_kind;			/* the last of them: an enum frame_kind */
	uint64_t good_frames;		/* the good ones, all along */
	size_t reserve;			/* outbuf room one device read needs */
	struct framing_decoder dec;
	struct counters count;
	struct ratelimit invalid_warning, device_warning, oversize_warning;
	struct ratelimit damaged_warning;
	size_t out_head, out_tail;	/* pending bytes: outbuf[head..tail) */
	size_t out_frame;		/* where the frame at out_head starts */
	size_t inbuf_size, outbuf_size;	/* in use, by mode */
	uint8_t inbuf[INBUF_SIZE_O];
	uint8_t assembly[FRAMING_PACKET_MAX];
	uint8_t outbuf[OUTBUF_SIZE_O + FRAMING_PACKET_MAX + 8];
};

static struct options opt = { .verbosity = 1, .framing = FRAMING_LEN16 };
static volatile sig_atomic_t child_exited;	/* the starter's SIGCHLD */

static const char shortopts[] = "a:d:e:f:hi:k:m:Oo:pqr:STU:u:Vv";
static const struct option longopts[] = {
	{ "address",	required_argument,	NULL, 'a' },
	{ "down",	required_argument,	NULL, 'd' },
	{ "exec",	required_argument,	NULL, 'e' },
	{ "framing",	required_argument,	NULL, 'f' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "interface",	required_argument,	NULL, 'i' },
	{ "keepalive",	required_argument,	NULL, 'k' },
	{ "mtu",	required_argument,	NULL, 'm' },
	{ "no-seccomp",	no_argument,		NULL, 'S' },
	{ "offload",	no_argument,		NULL, 'O' },
	{ "owner",	required_argument,	NULL, 'o' },
	{ "persist",	no_argument,		NULL, 'p' },
	{ "quiet",	no_argument,		NULL, 'q' },
	{ "respawn",	required_argument,	NULL, 'r' },
	{ "tap",	no_argument,		NULL, 'T' },
	{ "user",	required_argument,	NULL, 'U' },
	{ "up",		required_argument,	NULL, 'u' },
	{ "version",	no_argument,		NULL, 'V' },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ NULL,		0,			NULL, 0 }
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: tunpipe [-hOpqSTVv] [-a address/prefix] [-d command] "
	    "[-e command] [-f framing] [-i name] [-k seconds] [-m mtu] [-o user] "
	    "[-r seconds] [-U user] [-u command]\n");
}

static void
help(void)
{
	usage(stdout);
	printf("\n"
	    "Moves packets between a TUN (or TAP) device and standard input and\n"
	    "output (or a command's), each framed as a 2-byte big-endian length\n"
	    "and the packet.\n"
	    "\n"
	    "  -a, --address ADDR/PREFIX  set an IPv4 or IPv6 address (repeatable)\n"
	    "                        and bring the link up\n"
	    "  -d, --down CMD        run CMD through /bin/sh at exit\n"
	    "  -e, --exec CMD        carry the stream over CMD's stdin and stdout\n"
	    "                        instead of tunpipe's own (CMD runs in /bin/sh)\n"
	    "  -i, --interface NAME  device name, or a persistent device to attach to\n"
	    "                        (default: the kernel picks tun%%d or tap%%d)\n"
	    "  -k, --keepalive SECS  send an empty frame after SECS without traffic;\n"
	    "                        a peer that does too and falls silent for\n"
	    "                        3 x SECS ends the stream\n"
	    "  -m, --mtu MTU         set the device MTU\n"
	    "  -O, --offload         carry TCP and UDP as GSO packets of up to 64 KiB\n"
	    "                        with a virtio-net header; both ends need -O\n"
	    "  -o, --owner USER      make USER the device's owner\n"
	    "  -p, --persist         create the device persistent: it outlives tunpipe\n"
	    "  -r, --respawn SECS    with -e, start CMD again SECS after it ends,\n"
	    "                        doubling the wait while it keeps failing\n"
	    "  -S, --no-seccomp      do not confine the packet loop's system calls\n"
	    "  -T, --tap             carry Ethernet frames (TAP) instead of IP packets\n"
	    "  -U, --user USER       run the packet loop as USER, without privilege\n"
	    "  -u, --up CMD          run CMD through /bin/sh once the device is ready;\n"
	    "                        it sees TUNPIPE_IFNAME, TUNPIPE_MTU, TUNPIPE_MODE\n"
	    "  -v, --verbose         report the device name, and counters at exit\n"
	    "  -q, --quiet           report errors only\n"
	    "  -f, --framing TYPE    len16 (default), len32 (QEMU, passt) or slip\n"
	    "  -h, --help            print this help and exit\n"
	    "  -V, --version         print the version and exit\n"
	    "\n"
	    "SIGUSR1 prints the counters; SIGINT, SIGTERM and SIGHUP stop tunpipe.\n");
}

/* Prints a message if the verbosity is at least level: 1 unless -q, 2 -v. */
static void __attribute__((format(printf, 2, 3)))
say(int level, const char *fmt, ...)
{
	va_list ap;

	if (opt.verbosity < level)
		return;
	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

static time_t
monotonic_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

/* Milliseconds since start, on the monotonic clock. */
static long
ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
}

/*
 * Whether a warning of this kind may be printed now.  The first one always
 * is; later ones at most every WARN_INTERVAL seconds, with a count of those
 * held back in between.
 */
static int
ratelimit_pass(struct ratelimit *rl, unsigned long *suppressed)
{
	time_t now = monotonic_seconds();

	if (rl->last != 0 && now - rl->last < WARN_INTERVAL) {
		rl->suppressed++;
		return 0;
	}
	*suppressed = rl->suppressed;
	rl->last = now > 0 ? now : 1;
	rl->suppressed = 0;
	return 1;
}

/*
 * Signals reach the loop through a signalfd that it polls beside the
 * stream and the device.  They stay blocked, so one that arrives between
 * two turns waits in the signalfd, and every turn's poll sees it however
 * busy the loop is: a mask given to ppoll() would not do, since Linux's
 * ppoll() returns the ready descriptors without delivering a signal that
 * is pending.  SIGPIPE is ignored so that a closed stdout shows up as
 * EPIPE, and ends tunpipe with a message.  Returns the signalfd.
 */
static int
open_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };
	sigset_t set;
	size_t i;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		err(EXIT_FAIL, "signalfd");
	return fd;
}

/* Checks a device name as the kernel would, but says what is wrong. */
static void
check_ifname(const char *name)
{
	if (strlen(name) >= IFNAMSIZ)
		errx(EXIT_USAGE, "interface name '%s' is too long: at most %d "
		    "characters", name, IFNAMSIZ - 1);
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0
	    || strpbrk(name, "/: \t\n") != NULL)
		errx(EXIT_USAGE, "interface name '%s' is not valid: use letters, "
		    "digits and '-', and no '/', ':' or spaces", name);
}

/* Parses -a's ADDRESS[/PREFIX]; no prefix means a single host. */
static void
parse_address(const char *arg)
{
	struct address *a = &opt.addresses[opt.naddresses];
	char text[INET6_ADDRSTRLEN + 8], *slash, *end;
	long prefix;
	size_t i;
	int bits;

	if (opt.naddresses == MAX_ADDRESSES)
		errx(EXIT_USAGE, "-a %s: at most %d addresses", arg,
		    MAX_ADDRESSES);
	if (strlen(arg) >= sizeof(text))
		errx(EXIT_USAGE, "-a %s: not an address/prefix", arg);
	strcpy(text, arg);
	if ((slash = strchr(text, '/')) != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, text, a->bytes) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, text, a->bytes) == 1)
		a->family = AF_INET6;
	else
		errx(EXIT_USAGE, "-a %s: '%s' is not an IPv4 or IPv6 address",
		    arg, text);
	bits = a->family == AF_INET ? 32 : 128;
	prefix = bits;
	if (slash != NULL) {
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || errno != 0 ||
		    prefix < 0 || prefix > bits)
			errx(EXIT_USAGE, "-a %s: the prefix must be a number "
			    "from 0 to %d", arg, bits);
	}
	a->prefix = (int)prefix;
	a->text = arg;
	for (i = 0; i < opt.naddresses; i++)
		if (opt.addresses[i].family == a->family &&
		    memcmp(opt.addresses[i].bytes, a->bytes, sizeof(a->bytes))
		    == 0)
			errx(EXIT_USAGE, "-a %s: %s is given twice", arg, text);
	opt.naddresses++;
}

/* Parses a whole decimal number within [min, max], or exits naming it. */
static long
parse_number(const char *arg, const char *what, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || errno != 0 || n < min || n > max)
		errx(EXIT_USAGE, "%s %s: must be a number from %ld to %ld",
		    what, arg, min, max);
	return n;
}

static enum framing_type
parse_framing(const char *arg)
{
	enum framing_type type;

	if (framing_by_name(arg, &type) == -1)
		errx(EXIT_USAGE, "-f %s: the framings are len16 (the default), "
		    "len32 and slip", arg);
	return type;
}

/* Looks up a user by name or number, or exits naming it. */
static struct passwd *
lookup_user(const char *name, const char *what)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(name)) == NULL && strspn(name, "0123456789") ==
	    strlen(name) && *name != '\0')
		pw = getpwuid((uid_t)strtoul(name, NULL, 10));
	if (pw == NULL)
		errx(EXIT_USAGE, "%s %s: no such user", what, name);
	return pw;
}

/* An option that takes one value may be given only once. */
static const char *
once(const char *old, const char *arg, int c)
{
	if (old != NULL)
		errx(EXIT_USAGE, "-%c given twice", c);
	return arg;
}

/* Checks the options against each other, once all are known. */
static void
check_options(void)
{
	size_t i;

	for (i = 0; i < opt.naddresses; i++)
		if (opt.addresses[i].family == AF_INET6 && opt.mtu != 0 &&
		    opt.mtu < MTU_MIN_IPV6)
			errx(EXIT_USAGE, "-m %d: IPv6 needs an MTU of at least "
			    "%d, and -a %s is IPv6", opt.mtu, MTU_MIN_IPV6,
			    opt.addresses[i].text);
	if (opt.offload && opt.framing_name != NULL &&
	    opt.framing != FRAMING_LEN32)
		errx(EXIT_USAGE, "-O sends frames too large for -f %s; leave "
		    "-f out (-O implies len32)", opt.framing_name);
	if (opt.offload)
		opt.framing = FRAMING_LEN32;
	if (opt.framing == FRAMING_SLIP && opt.tap)
		errx(EXIT_USAGE, "-f slip carries IP packets only; leave -T "
		    "out, or use len16 or len32 for Ethernet frames");
	if (opt.respawn != 0 && opt.exec == NULL)
		errx(EXIT_USAGE, "-r needs -e: tunpipe can start again only a "
		    "command it started");
	if (opt.persist && opt.ifname == NULL)
		warnx("-p without -i: the persistent device gets the "
		    "kernel's choice of name; -v prints it");
}

static void
parse_options(int argc, char *argv[])
{
	struct passwd *pw;
	int c, quiet = 0, verbose = 0;

	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			parse_address(optarg);
			break;
		case 'd':
			opt.down = once(opt.down, optarg, c);
			break;
		case 'e':
			opt.exec = once(opt.exec, optarg, c);
			break;
		case 'f':
			opt.framing_name = once(opt.framing_name, optarg, c);
			opt.framing = parse_framing(optarg);
			break;
		case 'h':
			help();
			exit(0);
		case 'i':
			check_ifname(optarg);
			opt.ifname = once(opt.ifname, optarg, c);
			break;
		case 'k':
			if (opt.keepalive != 0)
				errx(EXIT_USAGE, "-k given twice");
			opt.keepalive = (int)parse_number(optarg, "-k", 1, 86400);
			break;
		case 'm':
			if (opt.mtu != 0)
				errx(EXIT_USAGE, "-m given twice");
			opt.mtu = (int)parse_number(optarg, "-m", MTU_MIN,
			    MTU_MAX);
			break;
		case 'O':
			opt.offload = 1;
			break;
		case 'o':
			opt.owner = once(opt.owner, optarg, c);
			opt.owner_uid = lookup_user(optarg, "-o")->pw_uid;
			break;
		case 'p':
			opt.persist = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'r':
			if (opt.respawn != 0)
				errx(EXIT_USAGE, "-r given twice");
			opt.respawn = (int)parse_number(optarg, "-r", 1, 3600);
			break;
		case 'S':
			opt.no_seccomp = 1;
			break;
		case 'T':
			opt.tap = 1;
			break;
		case 'U':
			opt.user = once(opt.user, optarg, c);
			pw = lookup_user(optarg, "-U");
			opt.user_uid = pw->pw_uid;
			opt.user_gid = pw->pw_gid;
			if ((opt.user = strdup(pw->pw_name)) == NULL)
				err(EXIT_FAIL, "strdup");
			break;
		case 'u':
			opt.up = once(opt.up, optarg, c);
			break;
		case 'V':
			printf("tunpipe %s\n", TUNPIPE_VERSION);
			exit(0);
		case 'v':
			verbose = 1;
			break;
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc) {
		warnx("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	if (quiet && verbose)
		errx(EXIT_USAGE, "-q and -v ask for opposite things: give one");
	opt.verbosity = verbose ? 2 : quiet ? 0 : 1;
	check_options();
}

/*
 * Which of standard input and output are closed, as bits 0 and 1: looked
 * at before fill_standard_fds() opens /dev/null on them.
 */
static int
closed_stdio(void)
{
	return (fcntl(STDIN_FILENO, F_GETFD) == -1) |
	    (fcntl(STDOUT_FILENO, F_GETFD) == -1) << 1;
}

/*
 * Makes sure descriptors 0 to 2 are open, on /dev/null if need be, so that
 * no device or socket lands on them: -e's command would lose the socket
 * as its stdin, and a message could go into the device.
 */
static void
fill_standard_fds(void)
{
	int fd;

	do {
		if ((fd = open("/dev/null", O_RDWR)) == -1)
			err(EXIT_FAIL, "/dev/null");
	} while (fd <= STDERR_FILENO);
	close(fd);
}

/*
 * Refuses a stream that cannot be one: standard input or output closed
 * (packets would go nowhere), or a terminal in canonical mode, where a
 * person types.  A terminal in raw mode is a serial line, and welcome.
 */
static void
check_stdio(int closed)
{
	static const char *const names[] = { "standard input",
	    "standard output" };
	struct termios t;
	int fd;

	for (fd = STDIN_FILENO; fd <= STDOUT_FILENO; fd++) {
		if (closed & 1 << fd)
			errx(EXIT_USAGE, "%s is closed: tunpipe carries the "
			    "stream on standard input and output; connect both "
			    "to a pipe, a FIFO or a socket, or let a command "
			    "carry it with -e", names[fd]);
		if (tcgetattr(fd, &t) == 0 && (t.c_lflag & ICANON))
			errx(EXIT_USAGE, "%s is a terminal in canonical mode: "
			    "tunpipe speaks a binary stream; connect it to a "
			    "pipe, a FIFO, nc or ssh, or for a serial line set "
			    "the line raw first (stty -F LINE raw -echo SPEED)",
			    names[fd]);
	}
}

/*
 * The flags of standard input and output before tunpipe made them
 * nonblocking, to be put back however it exits: they may be shared with
 * the shell and the programs after it.
 */
static int stdio_flags[2] = { -1, -1 };

/*
 * Puts the flags back, in the reverse order of their change: when stdin
 * and stdout share one open file description (a socket from socat's
 * EXEC), stdin's flags, taken first, are the caller's own.
 * Async-signal-safe, for report_seccomp().
 */
static void
restore_stdio(void)
{
	int fd;

	for (fd = STDOUT_FILENO; fd >= STDIN_FILENO; fd--)
		if (stdio_flags[fd] != -1)
			fcntl(fd, F_SETFL, stdio_flags[fd]);
}

/*
 * Makes standard input and output nonblocking, so that a full stdout never
 * stalls the other direction, just before the loop.
 */
static void
make_stdio_nonblocking(void)
{
	static const char *const names[] = { "standard input",
	    "standard output" };
	int fd, flags;

	atexit(restore_stdio);
	for (fd = STDIN_FILENO; fd <= STDOUT_FILENO; fd++) {
		if ((flags = fcntl(fd, F_GETFL)) == -1 ||
		    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
			err(EXIT_FAIL, "%s: cannot make it nonblocking",
			    names[fd]);
		stdio_flags[fd] = flags;
		/* A larger pipe: fewer wake-ups per byte; it may be refused. */
		fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE);
	}
}

/*
 * The driver of an existing device, and for the tun driver's devices
 * their mode ("tun" or "tap"), as ethtool tells them (empty when the
 * driver does not say); 0, or -1 when no device has that name.
 */
static int
device_driver(const char *name, struct ethtool_drvinfo *info)
{
	struct ifreq ifr;
	int fd, r, e;

	memset(&ifr, 0, sizeof(ifr));
	memset(info, 0, sizeof(*info));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	info->cmd = ETHTOOL_GDRVINFO;
	ifr.ifr_data = (void *)info;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	r = ioctl(fd, SIOCETHTOOL, &ifr);
	e = errno;
	close(fd);
	return r == -1 && e == ENODEV ? -1 : 0;
}

/*
 * TUNSETIFF's EINVAL: a name the kernel cannot number, a device of the
 * other mode, or one of another driver.
 */
static void __attribute__((noreturn))
invalid_device(const char *name, int e)
{
	const char *mode = opt.tap ? "tap" : "tun";
	struct ethtool_drvinfo info;

	if (device_driver(name, &info) == -1)
		errx(EXIT_DEVICE, "TUNSETIFF %s: %s: the kernel takes no such "
		    "name: at most one %%d, which it replaces with a number",
		    name, strerror(e));
	if (strcmp(info.driver, "tun") == 0 && strcmp(info.bus_info, mode) != 0)
		errx(EXIT_DEVICE, "TUNSETIFF %s: %s: %s is a %s device: %s",
		    name, strerror(e), name, opt.tap ? "TUN" : "TAP", opt.tap ?
		    "leave -T out" : "add -T");
	errx(EXIT_DEVICE, "TUNSETIFF %s: %s: a device of that name exists and "
	    "is not a %s device%s%s%s; pick another name with -i", name,
	    strerror(e), mode, *info.driver ? " (its driver is " : "",
	    info.driver, *info.driver ? ")" : "");
}

/* Explains why TUNSETIFF failed, in terms of what to do about it. */
static void
device_error(const char *name, int e)
{
	const char *mode = opt.tap ? "tap" : "tun";

	switch (e) {
	case EPERM:
	case EACCES:
		errx(EXIT_DEVICE, "TUNSETIFF %s: %s: creating a device, or "
		    "attaching to one owned by another user, needs "
		    "CAP_NET_ADMIN; run as root, or create a persistent device "
		    "owned by you (ip tuntap add dev NAME mode %s user USER) "
		    "and pass -i NAME", name, strerror(e), mode);
	case EBUSY:
		errx(EXIT_DEVICE, "TUNSETIFF %s: %s: another process has the "
		    "device open; stop it, or pick another name with -i", name,
		    strerror(e));
	case EINVAL:
		invalid_device(name, e);
	default:
		errno = e;
		err(EXIT_DEVICE, "TUNSETIFF %s", name);
	}
}

static int
host_is_le(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *)&one == 1;
}

/* An ifreq naming the device, for the interface ioctls. */
static struct ifreq
ifreq_of(const struct tunpipe *tp)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, tp->ifname, sizeof(tp->ifname));
	return ifr;
}

/* What to say when configuring the device was not allowed. */
static const char *
privilege_hint(int e)
{
	if (e == EPERM || e == EACCES)
		return ": configuring a device needs CAP_NET_ADMIN; run as "
		    "root, or configure the persistent device once as root and "
		    "leave -a, -m, -o and -p out";
	return "";
}

/*
 * -O: the device hands over TCP and UDP as GSO packets of up to 64 KiB,
 * with checksums left to whoever delivers them, each after a virtio-net
 * header in little-endian order whatever the host, so that both ends read
 * it alike.  UDP segmentation (USO) needs Linux 6.2; without it UDP goes
 * as plain packets.
 */
static void
enable_offload(struct tunpipe *tp)
{
	unsigned long tcp = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	int hdrlen = VNET_HDR_LEN, le = 1;

	if (ioctl(tp->dev, TUNSETVNETHDRSZ, &hdrlen) == -1)
		err(EXIT_DEVICE, "TUNSETVNETHDRSZ %s", tp->ifname);
	if (ioctl(tp->dev, TUNSETVNETLE, &le) == -1 && !host_is_le())
		err(EXIT_DEVICE, "TUNSETVNETLE %s: this big-endian host's "
		    "kernel cannot speak little-endian virtio-net headers; "
		    "leave -O out", tp->ifname);
	if (ioctl(tp->dev, TUNSETOFFLOAD, tcp | TUN_F_USO4 | TUN_F_USO6) == 0)
		return;
	if (ioctl(tp->dev, TUNSETOFFLOAD, tcp) == -1)
		err(EXIT_DEVICE, "TUNSETOFFLOAD %s", tp->ifname);
	say(2, "%s: no UDP segmentation offload in this kernel", tp->ifname);
}

/*
 * Creates the device, or attaches to the persistent one of that name, and
 * makes it persistent or gives it an owner when asked.
 */
static void
open_device(struct tunpipe *tp)
{
	const char *want = opt.ifname ? opt.ifname : opt.tap ? "tap%d" : "tun%d";
	struct ifreq ifr;

	tp->dev = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (tp->dev == -1) {
		if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
			err(EXIT_DEVICE, "%s: the kernel has no TUN/TAP "
			    "support loaded; try modprobe tun", TUN_PATH);
		if (errno == EACCES || errno == EPERM)
			err(EXIT_DEVICE, "%s: run as root, or give this user "
			    "read and write access to %s and a persistent "
			    "device (ip tuntap add dev NAME mode %s user USER), "
			    "then pass -i NAME", TUN_PATH, TUN_PATH,
			    opt.tap ? "tap" : "tun");
		err(EXIT_DEVICE, "%s", TUN_PATH);
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (opt.tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI;
	if (opt.offload)
		ifr.ifr_flags |= IFF_VNET_HDR;
	memcpy(ifr.ifr_name, want, strlen(want));
	if (ioctl(tp->dev, TUNSETIFF, &ifr) == -1)
		device_error(want, errno);
	memcpy(tp->ifname, ifr.ifr_name, IFNAMSIZ);
	tp->ifname[IFNAMSIZ - 1] = '\0';
	say(2, "device %s (%s%s)", tp->ifname, opt.tap ? "tap" : "tun",
	    opt.offload ? ", offload" : "");
	if (opt.offload)
		enable_offload(tp);

	if (opt.owner != NULL &&
	    ioctl(tp->dev, TUNSETOWNER, (unsigned long)opt.owner_uid) == -1)
		err(EXIT_DEVICE, "TUNSETOWNER %s %s%s", tp->ifname, opt.owner,
		    privilege_hint(errno));
	if (opt.persist && ioctl(tp->dev, TUNSETPERSIST, 1UL) == -1)
		err(EXIT_DEVICE, "TUNSETPERSIST %s%s", tp->ifname,
		    privilege_hint(errno));
}

/*
 * Adds one address to the device through rtnetlink, which, unlike the
 * ioctls, takes IPv4 and IPv6 alike.  NLM_F_REPLACE makes it idempotent,
 * so attaching again to a persistent device with the same -a is no error.
 */
static void
add_address(int nl, int ifindex, const struct address *a, const char *ifname)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
		uint8_t attrs[2 * RTA_SPACE(16)];
	} req;
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	size_t alen = a->family == AF_INET ? 4 : 16;
	unsigned short types[] = { IFA_LOCAL, IFA_ADDRESS };
	struct rtattr *rta;
	size_t i;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.nh.nlmsg_type = RTM_NEWADDR;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE |
	    NLM_F_REPLACE;
	req.ifa.ifa_family = (uint8_t)a->family;
	req.ifa.ifa_prefixlen = (uint8_t)a->prefix;
	req.ifa.ifa_index = (unsigned)ifindex;
	for (i = 0; i < 2; i++) {
		rta = (struct rtattr *)((uint8_t *)&req +
		    NLMSG_ALIGN(req.nh.nlmsg_len));
		rta->rta_type = types[i];
		rta->rta_len = (unsigned short)RTA_LENGTH(alen);
		memcpy(RTA_DATA(rta), a->bytes, alen);
		req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) +
		    RTA_SPACE(alen);
	}
	if (send(nl, &req, req.nh.nlmsg_len, 0) == -1)
		err(EXIT_DEVICE, "rtnetlink");
	if (recv(nl, &ack, sizeof(ack), 0) < (ssize_t)sizeof(ack) ||
	    ack.nh.nlmsg_type != NLMSG_ERROR)
		errx(EXIT_DEVICE, "rtnetlink: no answer to adding %s", a->text);
	if (ack.err.error != 0) {
		errno = -ack.err.error;
		err(EXIT_DEVICE, "adding address %s to %s%s", a->text, ifname,
		    privilege_hint(errno));
	}
}

static void
add_addresses(struct tunpipe *tp, int ctl)
{
	struct ifreq ifr = ifreq_of(tp);
	size_t i;
	int nl;

	if (ioctl(ctl, SIOCGIFINDEX, &ifr) == -1)
		err(EXIT_DEVICE, "SIOCGIFINDEX %s", tp->ifname);
	if ((nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_ROUTE)) == -1)
		err(EXIT_DEVICE, "rtnetlink socket");
	for (i = 0; i < opt.naddresses; i++)
		add_address(nl, ifr.ifr_ifindex, &opt.addresses[i],
		    tp->ifname);
	close(nl);
}

/*
 * Sets what the options ask of the device (MTU, addresses, link up), and
 * sizes the frames.
 */
static void
configure_device(struct tunpipe *tp)
{
	struct ifreq ifr = ifreq_of(tp);
	int ctl;

	if ((ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		err(EXIT_DEVICE, "socket");
	if (opt.mtu != 0) {
		ifr.ifr_mtu = opt.mtu;
		if (ioctl(ctl, SIOCSIFMTU, &ifr) == -1)
			err(EXIT_DEVICE, "SIOCSIFMTU %s %d%s", tp->ifname,
			    opt.mtu, privilege_hint(errno));
	}
	if (opt.naddresses > 0) {
		add_addresses(tp, ctl);
		if (ioctl(ctl, SIOCGIFFLAGS, &ifr) == -1)
			err(EXIT_DEVICE, "SIOCGIFFLAGS %s", tp->ifname);
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(ctl, SIOCSIFFLAGS, &ifr) == -1)
			err(EXIT_DEVICE, "SIOCSIFFLAGS %s up%s", tp->ifname,
			    privilege_hint(errno));
	}
	if (ioctl(ctl, SIOCGIFMTU, &ifr) == -1)
		err(EXIT_DEVICE, "SIOCGIFMTU %s", tp->ifname);
	tp->ifsock = ctl;	/* kept to read the MTU again: current_mtu() */
	tp->mtu = ifr.ifr_mtu;

	/*
	 * The largest packet either way is what the framing can carry,
	 * never the MTU, which may differ at the two ends or change while
	 * tunpipe runs.  A device read takes whatever the device may hold
	 * (an IP packet of 64 KiB, an Ethernet frame a little more), so no
	 * packet is ever cut short.
	 */
	tp->max = framing_packet_max(opt.framing);
	tp->reserve = framing_encoded_max(opt.framing, DEVICE_READ);
	tp->inbuf_size = opt.offload ? INBUF_SIZE_O : INBUF_SIZE;
	tp->outbuf_size = (opt.offload ? OUTBUF_SIZE_O : OUTBUF_SIZE) +
	    tp->reserve;
}

/*
 * In a child, runs cmd through /bin/sh with the signal mask and SIGPIPE as
 * a shell expects them and the device described in the environment.
 */
static void __attribute__((noreturn))
exec_shell(const struct tunpipe *tp, const char *which, const char *cmd)
{
	char mtu[16];
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	snprintf(mtu, sizeof(mtu), "%d", tp->mtu);
	setenv("TUNPIPE_IFNAME", tp->ifname, 1);
	setenv("TUNPIPE_MTU", mtu, 1);
	setenv("TUNPIPE_MODE", opt.tap ? "tap" : "tun", 1);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	warn("%s: /bin/sh", which);
	_exit(127);		/* not exit(): that would run tunpipe's atexit */
}

/* A wait status as a shell would give it: 128 plus a killing signal. */
static int
shell_status(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* How a command ended, for messages, from its wait status. */
static const char *
how_it_ended(int status, char *text, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(text, size, "was killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(text, size, "exited with status %d",
		    WEXITSTATUS(status));
	return text;
}

/*
 * Runs a --up or --down command and returns its wait status.  Its stdout
 * goes to stderr, since tunpipe's stdout is the stream, and its stdin is
 * /dev/null.
 */
static int
run_hook(const struct tunpipe *tp, const char *which, const char *cmd)
{
	int status, fd;
	pid_t pid;

	if ((pid = fork()) == -1)
		err(EXIT_FAIL, "%s: fork", which);
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(fd, STDIN_FILENO) == -1 ||
		    dup2(STDERR_FILENO, STDOUT_FILENO) == -1) {
			warn("%s", which);
			_exit(127);
		}
		exec_shell(tp, which, cmd);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			err(EXIT_FAIL, "%s: waitpid", which);
	return status;
}

/*
 * Becomes opt.user for good: supplementary groups, then gid, then uid, so
 * that no capability survives.  Checks that root cannot be regained.
 */
static void
drop_privileges(void)
{
	if (initgroups(opt.user, opt.user_gid) == -1)
		err(EXIT_FAIL, "-U %s: initgroups", opt.user);
	if (setgid(opt.user_gid) == -1)
		err(EXIT_FAIL, "-U %s: setgid", opt.user);
	if (setuid(opt.user_uid) == -1)
		err(EXIT_FAIL, "-U %s: setuid", opt.user);
	if (opt.user_uid != 0 && setuid(0) != -1)
		errx(EXIT_FAIL, "-U %s: could become root again", opt.user);
	say(2, "running as %s", opt.user);
}

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
	SYS_read, SYS_write, SYS_writev, SYS_close, SYS_fcntl, SYS_ppoll,
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
 * only little-endian architectures).
 */
static const unsigned long allowed_ioctls[] = {
	SIOCGIFMTU,		/* current_mtu() */
};
#define SECCOMP_ARG1	offsetof(struct seccomp_data, args[1])

#if defined(__x86_64__)
#define SECCOMP_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH	AUDIT_ARCH_AARCH64
#endif

/* Writes a string to stderr; async-signal-safe. */
static void
write_stderr(const char *text)
{
	if (write(STDERR_FILENO, text, strlen(text)) == -1)
		return;		/* nowhere left to say it */
}

/*
 * A forbidden system call lands here rather than killing tunpipe without
 * a word.  Only async-signal-safe calls, all of them allowed: the number
 * is written out by hand, since snprintf() is not.
 */
static void
report_seccomp(int sig, siginfo_t *si, void *context)
{
	char number[16], *p = number + sizeof(number);
	unsigned n = (unsigned)si->si_syscall;

	(void)sig;
	(void)context;
	*--p = '\0';
	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10) > 0 && p > number);
	write_stderr("tunpipe: seccomp stopped tunpipe at system call ");
	write_stderr(p);
	write_stderr(", which the packet loop should not make; run with -S "
	    "to go on, and please report it\n");
	restore_stdio();
	_exit(EXIT_FAIL);
}

/*
 * Confines the packet loop to allowed_syscalls with a seccomp filter: a
 * stream from an untrusted peer then cannot make tunpipe do anything else,
 * whatever bug it finds.  -e's command is started by a process forked
 * before (see start_starter()); --down's would inherit the filter, so
 * with --down there is none.  Not on architectures the filter does not
 * know.
 */
static void
confine(void)
{
#ifdef SECCOMP_ARCH
	enum {
		N = sizeof(allowed_syscalls) / sizeof(allowed_syscalls[0]),
		NI = sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]),
	};
	struct sock_filter filter[N + NI + 9];
	struct sock_fprog prog = { .filter = filter };
	struct sigaction sa;
	size_t i, n = 0;

	if (opt.no_seccomp || opt.down != NULL) {
		say(2, "seccomp: off (%s)", opt.no_seccomp ? "-S" :
		    "the --down command would inherit the filter");
		return;
	}
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
	    SYS_ioctl, 0, NI + 2);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    SECCOMP_ARG1);
	for (i = 0; i < NI; i++)
		filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ |
		    BPF_K, (uint32_t)allowed_ioctls[i], NI - i + N + 1, 0);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_TRAP);
	for (i = 0; i < N; i++)		/* x32 numbers match none of these */
		filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ |
		    BPF_K, (uint32_t)allowed_syscalls[i], N - i, 0);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_TRAP);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)n;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = report_seccomp;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1) {
		if (errno != EINVAL)
			err(EXIT_FAIL, "seccomp");
		say(2, "seccomp: off (not in this kernel)");
		return;
	}
	say(2, "seccomp: on, %d system calls allowed", (int)N + 1);
#else
	say(2, "seccomp: off (no filter for this architecture)");
#endif
}

/*
 * Whether a frame from the stream holds an IPv4 or IPv6 packet whose own
 * length agrees with the frame's.  Anything else would be refused by the
 * kernel or, worse, taken as a mangled packet.
 */
static int
is_ip_packet(const uint8_t *p, size_t len)
{
	if (len >= 20 && p[0] >> 4 == 4)
		return (p[0] & 0x0f) >= 5 && (size_t)(p[2] << 8 | p[3]) == len;
	if (len >= 40 && p[0] >> 4 == 6)
		return 40 + (size_t)(p[4] << 8 | p[5]) == len;
	return 0;
}

/*
 * A warning that may repeat with every packet: printed unless -q, at most
 * every WARN_INTERVAL seconds for its kind, saying how many were held back.
 */
static void __attribute__((format(printf, 2, 3)))
warn_limited(struct ratelimit *rl, const char *fmt, ...)
{
	unsigned long held;
	char text[512];
	va_list ap;

	if (opt.verbosity < 1 || !ratelimit_pass(rl, &held))
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (held > 0)
		warnx("%s (and %lu more since the last warning)", text, held);
	else
		warnx("%s", text);
}

/*
 * -O: whether a frame starts with a virtio-net header that the kernel will
 * take.  Anything else means the peer does not use -O.
 */
static int
is_vnet_frame(const uint8_t *p, size_t len)
{
	struct virtio_net_hdr h;

	if (len < VNET_HDR_LEN)
		return 0;
	memcpy(&h, p, sizeof(h));
	if (h.flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM |
	    VIRTIO_NET_HDR_F_DATA_VALID))
		return 0;
	switch (h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_UDP:
	case VIRTIO_NET_HDR_GSO_TCPV6:
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		return 1;
	}
	return 0;
}

/*
 * A stream error: the stream cannot be trusted past this point.  With -r
 * it is a break, after which a new stream starts; else tunpipe exits.
 */
static int
stream_error(void)
{
	return opt.respawn != 0 ? STREAM_BROKEN : EXIT_STREAM;
}

/* Whether a frame starts with an Ethernet header of a common type. */
static int
is_ethernet_frame(const uint8_t *p, size_t len)
{
	unsigned type;

	if (len < 14)
		return 0;
	type = (unsigned)p[12] << 8 | p[13];
	return type == 0x0800 || type == 0x86dd || type == 0x0806 ||
	    type == 0x8100 || type == 0x88a8;
}

/*
 * What a frame from the stream says of the peer.  Any but FRAME_GOOD, in a
 * run, says that it speaks another mode or framing.
 */
enum frame_kind {
	FRAME_GOOD,		/* a packet of the mode: delivered */
	FRAME_NOT_IP,		/* TUN: not an IP packet: dropped */
	FRAME_ETHERNET,		/* TUN: an Ethernet frame: dropped */
	FRAME_RUNT,		/* TAP: too short for Ethernet: dropped */
	FRAME_DAMAGED,		/* SLIP: a bad escape: dropped by the codec */
	FRAME_IP_IN_TAP,	/* TAP: an IP packet, not a frame: delivered */
	FRAME_AFTER_EMPTY,	/* len16: a packet right after an empty frame */
};

/*
 * What the peer most likely runs, from the kind of frame it sends: a
 * len16 reader of a len32 stream sees an empty frame (the high half of
 * each length) before every packet.
 */
static const char *const mismatch[] = {
	[FRAME_NOT_IP] = "no packets at all: the peer most likely uses "
	    "another framing (-f) or -O, or is not tunpipe; give both ends the "
	    "same -f, -T and -O",
	[FRAME_ETHERNET] = "Ethernet frames, not IP packets: the peer runs "
	    "with -T; use -T at both ends, or at neither",
	[FRAME_IP_IN_TAP] = "IP packets, not Ethernet frames: the peer runs "
	    "without -T; use -T at both ends, or at neither",
	[FRAME_AFTER_EMPTY] = "packets each right after an empty frame, as a "
	    "-f len32 stream (or one of -O) reads with -f len16: give both "
	    "ends the same -f and -O",
};

static const char *
mismatch_of(enum frame_kind kind)
{
	return kind == FRAME_RUNT || kind == FRAME_DAMAGED ?
	    mismatch[FRAME_NOT_IP] : mismatch[kind];
}

/* What a frame holds, as far as its mode and its framing can tell. */
static enum frame_kind
classify_frame(const uint8_t *p, size_t len, int after_empty)
{
	if (!opt.tap && !is_ip_packet(p, len))
		return is_ethernet_frame(p, len) ? FRAME_ETHERNET :
		    FRAME_NOT_IP;
	if (opt.tap && len < 14)
		return FRAME_RUNT;
	if (opt.tap && is_ip_packet(p, len) && !is_ethernet_frame(p, len))
		return FRAME_IP_IN_TAP;
	if (after_empty && opt.framing == FRAMING_LEN16)
		return FRAME_AFTER_EMPTY;
	return FRAME_GOOD;
}

/*
 * Weighs a frame: after BAD_RUN frames in a row that are not packets of
 * this mode and framing, the stream is taken as broken, naming the likely
 * cause.  A single odd frame never ends a tunnel, but a peer of another
 * mode or framing sends nothing else.  SLIP finds its way again after
 * noise, so a SLIP stream only gets a warning.  Returns RUNNING or what
 * stream_error() says.
 */
static int
judge_frame(struct tunpipe *tp, enum frame_kind kind)
{
	if (kind == FRAME_GOOD) {
		tp->bad_run = 0;
		tp->good_frames++;
		return RUNNING;
	}
	tp->bad_kind = kind;
	if (++tp->bad_run < BAD_RUN)
		return RUNNING;
	if (opt.framing == FRAMING_SLIP) {
		if (tp->bad_run == BAD_RUN)
			warnx("%d frames in a row held %s; or is the line's "
			    "speed wrong?", BAD_RUN, mismatch_of(kind));
		return RUNNING;
	}
	warnx("stream error: %d frames in a row held %s", BAD_RUN,
	    mismatch_of(kind));
	return stream_error();
}

/* The device's MTU now: it may change while tunpipe runs. */
static int
current_mtu(const struct tunpipe *tp)
{
	struct ifreq ifr = ifreq_of(tp);

	return ioctl(tp->ifsock, SIOCGIFMTU, &ifr) == -1 ? tp->mtu :
	    ifr.ifr_mtu;
}

/*
 * Writes a packet to the device.  The kernel takes an IP packet larger
 * than the MTU; a refusal is counted, and named in terms of the MTUs
 * when that may be why.
 */
static void
write_device(struct tunpipe *tp, const uint8_t *p, size_t len)
{
	size_t skip = opt.offload ? VNET_HDR_LEN : 0;
	size_t over = len - skip - (opt.tap ? 14 : 0);
	int e, mtu;

	if (write(tp->dev, p, len) != -1) {
		tp->count.in_packets++;
		tp->count.in_bytes += len - skip;
		return;
	}
	e = errno;
	tp->count.drop_device++;
	if (!opt.offload && over > (size_t)(mtu = current_mtu(tp)))
		warn_limited(&tp->device_warning, "write to %s: %s; dropped a "
		    "%zu-byte packet, larger than %s's MTU of %d: the peer's "
		    "is larger; give both ends the same MTU (-m)", tp->ifname,
		    strerror(e), len, tp->ifname, mtu);
	else
		warn_limited(&tp->device_warning, "write to %s: %s%s; dropped "
		    "a %zu-byte packet", tp->ifname, strerror(e),
		    e == EIO ? " (is the device down?)" : "", len - skip);
}

/*
 * Hands one packet from the stream to the device, or drops and counts it;
 * after_empty says that an empty frame came right before it.  Returns
 * RUNNING, or what stream_error() says when the frames show that the peer
 * disagrees about -O, the mode or the framing.
 */
static int
deliver_packet(struct tunpipe *tp, const uint8_t *p, size_t len,
    int after_empty)
{
	size_t skip = opt.offload ? VNET_HDR_LEN : 0;
	enum frame_kind kind;
	int status;

	if (opt.offload && !is_vnet_frame(p, len)) {
		warnx("stream error: a %zu-byte frame does not start with a "
		    "virtio-net header; the peer most likely runs without -O: "
		    "use -O at both ends, or at neither", len);
		return stream_error();
	}
	if (!opt.offload && !opt.tap && !is_ip_packet(p, len) &&
	    is_vnet_frame(p, len) && is_ip_packet(p + VNET_HDR_LEN,
	    len - VNET_HDR_LEN)) {
		warnx("stream error: a %zu-byte frame holds a virtio-net "
		    "header before its IP packet; the peer runs with -O "
		    "(--offload): use -O at both ends, or at neither", len);
		return stream_error();
	}
	kind = classify_frame(p + skip, len - skip, after_empty);
	if (kind == FRAME_NOT_IP || kind == FRAME_ETHERNET ||
	    kind == FRAME_RUNT) {
		tp->count.drop_invalid++;
		warn_limited(&tp->invalid_warning, "dropped a %zu-byte frame "
		    "that is not %s (first byte 0x%02x); is the peer %s, or "
		    "using another framing?", len - skip, opt.tap ?
		    "an Ethernet frame" : "an IPv4 or IPv6 packet",
		    len > skip ? p[skip] : 0, opt.tap ? "without -T" :
		    "in TAP mode (-T)");
		return judge_frame(tp, kind);
	}
	if ((status = judge_frame(tp, kind)) != RUNNING)
		return status;
	write_device(tp, p, len);
	return RUNNING;
}

/* The stream, for messages: stdio's side, or the -e command's socket. */
static const char *
stream_name(const char *stdio)
{
	return opt.exec != NULL ? "the -e command's stream" : stdio;
}

/* A frame that SLIP dropped: counted, warned about, and a bad frame. */
static int
drop_damaged(struct tunpipe *tp, enum framing_result r)
{
	tp->count.drop_damaged++;
	warn_limited(&tp->damaged_warning, "dropped a damaged SLIP frame (%s); "
	    "is the line noisy, or its speed or framing wrong?",
	    r == FRAMING_OVERLONG ? "longer than 65535 bytes" : "bad escape");
	return judge_frame(tp, FRAME_DAMAGED);
}

/*
 * Reads what the stream has, at most one buffer, and delivers every whole
 * packet in it.  Returns RUNNING, INPUT_ENDED, STREAM_BROKEN or an exit
 * status.
 */
static int
read_stream(struct tunpipe *tp)
{
	struct framing_packet pkt;
	enum framing_result r;
	size_t pos = 0, used;
	uint64_t empty;
	ssize_t n;
	int status = RUNNING;

	n = read(tp->in, tp->inbuf, tp->inbuf_size);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return RUNNING;
		if (opt.exec != NULL && errno == ECONNRESET)
			return STREAM_BROKEN;
		warn("read from %s", stream_name("standard input"));
		return EXIT_FAIL;
	}
	if (n == 0)
		return INPUT_ENDED;
	if (opt.keepalive != 0)
		tp->last_received = monotonic_seconds();
	while (pos < (size_t)n && status == RUNNING) {
		empty = tp->dec.keepalives;
		r = framing_decode(&tp->dec, tp->inbuf + pos, (size_t)n - pos,
		    &used, &pkt);
		switch (r) {
		case FRAMING_PACKET:
			status = deliver_packet(tp, pkt.data, pkt.len,
			    tp->dec.keepalives == empty + 1);
			break;
		case FRAMING_AGAIN:
			break;
		case FRAMING_DAMAGED:
		case FRAMING_OVERLONG:
			status = drop_damaged(tp, r);
			break;
		case FRAMING_TOO_BIG:
			warnx("stream error: a frame announces %zu bytes, more "
			    "than -f %s carries (%zu); the peer most likely uses "
			    "another framing (-f)%s, or is not tunpipe", pkt.len,
			    framing_name(opt.framing), tp->max, opt.offload ?
			    ", or -O at one end only" : "");
			status = stream_error();
			break;
		}
		pos += used;
	}
	return status;
}

/*
 * At the end of a stream that held not one good frame, only a run too
 * short to end it: whether that run names a mismatch, which it then
 * says.  The peer may have stopped at our first frame, for the same
 * mismatch.
 */
static int
mismatched_stream(const struct tunpipe *tp)
{
	if (tp->good_frames > 0 || tp->bad_run == 0)
		return 0;
	warnx("stream error: the stream ended after %u frames, which held %s",
	    tp->bad_run, mismatch_of(tp->bad_kind));
	return 1;
}

/* For a stream cut inside its very first frame: the likely cause. */
static const char *
no_frame_yet(const struct tunpipe *tp)
{
	return tp->good_frames == 0 && tp->bad_run == 0 ? ", and no frame "
	    "before it: does the peer use another framing (-f)?" : "";
}

/* At the end of the input stream: was the last frame whole? */
static int
end_of_stream(struct tunpipe *tp)
{
	size_t have, want;

	if (mismatched_stream(tp))
		return EXIT_STREAM;
	switch (framing_decoder_partial(&tp->dec, &have, &want)) {
	case FRAMING_IN_HEADER:
		warnx("input stream ended inside a frame header: %zu of %zu "
		    "bytes arrived%s", have, want, no_frame_yet(tp));
		return EXIT_STREAM;
	case FRAMING_IN_PACKET:
		if (want == 0)		/* SLIP does not say */
			warnx("input stream ended inside a frame, after %zu "
			    "bytes of its packet%s", have, no_frame_yet(tp));
		else
			warnx("input stream ended inside a frame: %zu of %zu "
			    "bytes of its packet arrived%s", have, want,
			    no_frame_yet(tp));
		return EXIT_STREAM;
	case FRAMING_BETWEEN:
		break;
	}
	say(2, "end of input stream");
	return EXIT_END;
}

/*
 * Writes pending frames to the stream, as much as it takes now.  Returns
 * RUNNING, STREAM_BROKEN or an exit status.
 */
static int
flush_output(struct tunpipe *tp)
{
	ssize_t n;

	while (tp->out_head < tp->out_tail) {
		n = write(tp->out, tp->outbuf + tp->out_head,
		    tp->out_tail - tp->out_head);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return RUNNING;
			if (opt.exec != NULL &&
			    (errno == EPIPE || errno == ECONNRESET))
				return STREAM_BROKEN;
			if (errno == EPIPE && mismatched_stream(tp))
				return EXIT_STREAM;
			if (errno == EPIPE) {
				say(1, "standard output was closed by its "
				    "reader; stopping");
				return EXIT_END;
			}
			warn("write to %s", stream_name("standard output"));
			return EXIT_FAIL;
		}
		tp->out_head += (size_t)n;
		if (opt.keepalive != 0)
			tp->last_sent = monotonic_seconds();
	}
	tp->out_head = tp->out_tail = tp->out_frame = 0;
	return RUNNING;
}

/*
 * Moves out_frame past the frames the stream has taken whole, so that it
 * marks where the frame being written starts.
 */
static void
skip_sent_frames(struct tunpipe *tp)
{
	size_t len;

	while (tp->out_frame < tp->out_head) {
		len = framing_frame_len(opt.framing, tp->outbuf + tp->out_frame);
		if (tp->out_frame + len > tp->out_head)
			break;
		tp->out_frame += len;
	}
}

/*
 * Room for one more device read, moving the pending bytes down if need be.
 * The frame being written moves whole, so that a break (-r) can still find
 * where it ends.
 */
static int
outbuf_has_room(struct tunpipe *tp)
{
	if (tp->outbuf_size - tp->out_tail >= tp->reserve)
		return 1;
	skip_sent_frames(tp);
	if (tp->out_frame == 0)
		return 0;
	memmove(tp->outbuf, tp->outbuf + tp->out_frame,
	    tp->out_tail - tp->out_frame);
	tp->out_head -= tp->out_frame;
	tp->out_tail -= tp->out_frame;
	tp->out_frame = 0;
	return tp->outbuf_size - tp->out_tail >= tp->reserve;
}

/*
 * Reads packets from the device until it has none or the output buffer is
 * full, framing each in place.  Returns RUNNING or an exit status.
 */
static int
drain_device(struct tunpipe *tp)
{
	size_t hlen = framing_header_len(opt.framing);
	uint8_t *frame;
	ssize_t n;

	while (outbuf_has_room(tp)) {
		frame = tp->outbuf + tp->out_tail;
		n = read(tp->dev, frame + hlen, DEVICE_READ);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return RUNNING;
			if (errno == EBADFD)
				warnx("device %s was removed", tp->ifname);
			else
				warn("read from %s", tp->ifname);
			return EXIT_FAIL;
		}
		if ((size_t)n > tp->max) {
			tp->count.drop_oversize++;
			warn_limited(&tp->oversize_warning, "dropped a %zd-byte "
			    "packet from %s: -f %s carries %zu bytes at most; "
			    "lower its MTU (-m)", n, tp->ifname,
			    framing_name(opt.framing), tp->max);
			continue;
		}
		tp->out_tail += framing_encode(opt.framing, frame, (size_t)n);
		tp->count.out_packets++;
		tp->count.out_bytes += (size_t)n - (opt.offload ? VNET_HDR_LEN : 0);
	}
	return RUNNING;
}

/* Gives pending output a last, bounded chance to leave at the end. */
static void
flush_before_exit(struct tunpipe *tp)
{
	struct pollfd pfd = { .fd = tp->out, .events = POLLOUT };
	struct timespec start;
	long waited = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (tp->out_head < tp->out_tail && waited < FLUSH_MS) {
		if (poll(&pfd, 1, FLUSH_MS - waited) <= 0)
			return;
		if (flush_output(tp) != RUNNING)
			return;
		waited = ms_since(&start);
	}
}

/* Whether an empty frame came on this stream: the peer uses -k too. */
static int
peer_sends_keepalives(const struct tunpipe *tp)
{
	return tp->dec.keepalives > tp->peer_keepalives;
}

/*
 * With -k: whether the peer, which sends keepalives too, has been silent
 * for DEAD_AFTER of their intervals.  A peer without -k may be silent for
 * as long as it likes.
 */
static int
peer_silent(const struct tunpipe *tp)
{
	return opt.keepalive != 0 && peer_sends_keepalives(tp) &&
	    monotonic_seconds() - tp->last_received >=
	    DEAD_AFTER * opt.keepalive;
}


/*
 * With -k, how long ppoll may wait before an empty frame is due or the
 * peer's silence is too long: NULL for ever, without -k.
 */
static struct timespec *
keepalive_wait(const struct tunpipe *tp, struct timespec *wait)
{
	time_t now, left;

	if (opt.keepalive == 0)
		return NULL;
	now = monotonic_seconds();
	left = tp->last_sent + opt.keepalive - now;
	if (tp->out_head < tp->out_tail)	/* no keepalive due meanwhile */
		left = DEAD_AFTER * opt.keepalive;
	if (peer_sends_keepalives(tp) &&
	    tp->last_received + DEAD_AFTER * opt.keepalive - now < left)
		left = tp->last_received + DEAD_AFTER * opt.keepalive - now;
	wait->tv_sec = left > 0 ? left : 0;
	wait->tv_nsec = 0;
	return wait;
}

/*
 * Sends an empty frame when nothing went out for opt.keepalive seconds, so
 * that a dead transport shows up as a failed write, and middleboxes keep
 * the connection; and ends a stream whose peer fell silent.  Returns
 * RUNNING, STREAM_BROKEN or an exit status.
 */
static int
keep_alive(struct tunpipe *tp)
{
	if (peer_silent(tp)) {
		warnx("nothing arrived for %d s from a peer that sends "
		    "keepalives: the transport seems dead", DEAD_AFTER *
		    opt.keepalive);
		tp->stream_dead = 1;
		return stream_error();
	}
	if (opt.keepalive == 0 || tp->out_head < tp->out_tail ||
	    monotonic_seconds() - tp->last_sent < opt.keepalive)
		return RUNNING;
	tp->out_tail += framing_encode(opt.framing,
	    tp->outbuf + tp->out_tail, 0);
	tp->count.keepalives++;
	return flush_output(tp);
}

/* The counters, with the device's name, mode, MTU and uptime. */
static void
print_counters(const struct tunpipe *tp)
{
	const struct counters *c = &tp->count;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(stderr, "tunpipe: %s (%s, mtu %d, up %lds): "
	    "to stream: %" PRIu64 " packets, %" PRIu64 " bytes; "
	    "from stream: %" PRIu64 " packets, %" PRIu64 " bytes; "
	    "empty frames: %" PRIu64 " in, %" PRIu64 " out; "
	    "dropped: %" PRIu64 " not %s, %" PRIu64 " device write failed, %"
	    PRIu64 " too large to frame, %" PRIu64 " damaged, %" PRIu64
	    " cut by a stream break; restarts of -e: %" PRIu64 "\n",
	    tp->ifname, opt.tap ? "tap" : "tun", current_mtu(tp),
	    (long)(now.tv_sec - tp->started.tv_sec),
	    c->out_packets, c->out_bytes, c->in_packets, c->in_bytes,
	    tp->dec.keepalives, c->keepalives,
	    c->drop_invalid, opt.tap ? "Ethernet" : "IP", c->drop_device,
	    c->drop_oversize, c->drop_damaged, c->drop_cut, c->restarts);
}

/*
 * Acts on the signals waiting in the signalfd: prints the counters for
 * SIGUSR1; returns EXIT_END for a stop signal, else RUNNING.
 */
static int
take_signals(struct tunpipe *tp)
{
	struct signalfd_siginfo si;

	while (read(tp->signals, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			print_counters(tp);
			continue;
		}
		say(2, "stopped by signal %d (%s)", (int)si.ssi_signo,
		    strsignal((int)si.ssi_signo));
		return EXIT_END;
	}
	return RUNNING;
}

/*
 * -e runs its command from a helper process, the starter, forked before
 * the seccomp filter is installed: the filter is inherited across fork and
 * exec, and would kill ssh.  The starter holds no device and reads no
 * stream; it only starts, stops and reaps the command when the loop asks,
 * over a socket pair of messages (ctl), and passes the stream back.
 *
 *	loop to starter: START; STOP (the stream ended); STOP_NOW (it died,
 *	                 or tunpipe is stopping)
 *	starter to loop: STARTED, pid, with the stream's descriptor;
 *	                 EXITED, wait status, unasked, when the command exits;
 *	                 STOPPED, its wait status, once nothing of it is left
 *
 * The command runs in a process group of its own, and the starter is the
 * subreaper of what it starts, so that stopping it reaches and reaps
 * whatever it left running (cmd1 & cmd2): nothing of it outlives tunpipe.
 * When tunpipe runs in the foreground of a terminal, the command's group
 * gets the terminal while it runs, so that ssh can ask for a password (a
 * background group that reads the terminal is stopped); Ctrl-C then
 * reaches the command, and the loop takes a command killed by SIGINT as
 * its own stop.
 */
enum {
	START = 's', STOP = 'k', STOP_NOW = 'K',
	STARTED = 'f', EXITED = 'x', STOPPED = 'z'
};

struct starter_msg {
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
};

/* Sends a message, with a descriptor when fd is not -1. */
static int
send_msg(int ctl, char kind, int value, int fd)
{
	struct starter_msg m = { kind, value };
	struct iovec iov = { &m, sizeof(m) };
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

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
 * of the other side.
 */
static int
recv_msg(int ctl, struct starter_msg *m, int *fd, int flags)
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
	if (n != sizeof(*m))
		return -1;
	*fd = -1;
	if ((c = CMSG_FIRSTHDR(&msg)) != NULL && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 1;
}

/*
 * Starter: forks the command in a process group of its own, with the
 * terminal if we have it, its stdin and stdout joined to one end of a
 * socket pair; returns the other end.  Its stderr stays tunpipe's, so
 * that ssh can ask for a password and complain.
 */
static int
spawn_command(const struct tunpipe *tp, struct starter *st)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		err(EXIT_FAIL, "-e: socketpair");
	if ((pid = fork()) == -1)
		err(EXIT_FAIL, "-e: fork");
	if (pid == 0) {
		/* Both sides set the group and the terminal: no race. */
		setpgid(0, 0);
		if (st->tty != -1)
			tcsetpgrp(st->tty, getpid());
		if (dup2(sv[1], STDIN_FILENO) == -1 ||
		    dup2(sv[1], STDOUT_FILENO) == -1) {
			warn("-e: dup2");
			_exit(127);
		}
		exec_shell(tp, "-e", opt.exec);
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
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		reap_children(st);
		if (whole ? !group_left(st) : st->pid == 0)
			return 1;
		if (ms_since(&start) >= ms)
			return 0;
		nanosleep(&tick, NULL);
	}
}

/*
 * Starter: ends the command's group.  The command gets REAP_MS to exit,
 * as losing its stdin and stdout should make it, unless now (its stream
 * fell silent and it is likely stuck on a dead connection, or tunpipe is
 * stopping); then the whole group gets SIGTERM and, REAP_MS later,
 * SIGKILL.  The terminal comes back to tunpipe.
 */
static void
end_command(struct starter *st, int now)
{
	if (st->group == 0)
		return;
	if (!now)
		wait_command(st, REAP_MS, 0);
	kill(-st->group, SIGTERM);
	if (!wait_command(st, REAP_MS, 1)) {
		kill(-st->group, SIGKILL);
		wait_command(st, REAP_MS, 1);
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

/*
 * The starter's loop: starts and stops the command as the loop asks, and
 * says when it exits by itself.  When the loop goes, so does the command.
 * SIGCHLD wakes it; SIGTTOU stays blocked so that it may take the
 * terminal back from the background.
 */
static void __attribute__((noreturn))
run_starter(struct tunpipe *tp, int ctl)
{
	struct pollfd pfd = { .fd = ctl, .events = POLLIN };
	struct starter st = { .ctl = ctl };
	struct starter_msg m;
	sigset_t block, wait;
	int fd;

	close(tp->dev);
	close(tp->signals);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	st.tty = foreground_tty();
	signal(SIGCHLD, note_child);
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTTOU);
	sigprocmask(SIG_BLOCK, &block, &wait);
	sigdelset(&wait, SIGCHLD);
	for (;;) {
		ppoll(&pfd, 1, NULL, &wait);
		child_exited = 0;
		if (reap_children(&st))
			send_msg(ctl, EXITED, st.status, -1);
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		if (recv_msg(ctl, &m, &fd, 0) != 1) {
			end_command(&st, 1);
			_exit(0);
		}
		if (m.kind == START && st.group == 0) {
			fd = spawn_command(tp, &st);
			send_msg(ctl, STARTED, (int)st.pid, fd);
			close(fd);
		} else if (m.kind == STOP || m.kind == STOP_NOW) {
			end_command(&st, m.kind == STOP_NOW);
			send_msg(ctl, STOPPED, st.status, -1);
		}
	}
}

/* -e: forks the starter, before the filter: see above. */
static void
start_starter(struct tunpipe *tp)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		err(EXIT_FAIL, "-e: socketpair");
	if ((pid = fork()) == -1)
		err(EXIT_FAIL, "-e: fork");
	if (pid == 0) {
		close(sv[0]);
		run_starter(tp, sv[1]);
	}
	close(sv[1]);
	tp->ctl = sv[0];
}

/* -e: the starter's answer, or the end: it never goes first. */
static void
expect_msg(struct tunpipe *tp, struct starter_msg *m, int *fd)
{
	if (recv_msg(tp->ctl, m, fd, 0) != 1)
		errx(EXIT_FAIL, "-e: the process that starts the command is "
		    "gone");
}

/* -e: has the starter said that the command exited by itself? */
static void
take_exit_news(struct tunpipe *tp)
{
	struct starter_msg m;
	int fd, r;

	if (tp->command == 0)
		return;
	if ((r = recv_msg(tp->ctl, &m, &fd, MSG_DONTWAIT)) == 0)
		return;
	if (r == -1 || m.kind != EXITED)
		errx(EXIT_FAIL, "-e: the process that starts the command is "
		    "gone");
	tp->command = 0;
	tp->command_status = m.value;
}

/* -e: starts the command, through the starter, and takes its stream. */
static void
start_command(struct tunpipe *tp)
{
	struct starter_msg m;
	int fd;

	if (send_msg(tp->ctl, START, 0, -1) == -1)
		err(EXIT_FAIL, "-e: starting the command");
	expect_msg(tp, &m, &fd);
	if (m.kind != STARTED || fd == -1)
		errx(EXIT_FAIL, "-e: the command could not be started");
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		err(EXIT_FAIL, "-e: socket");
	tp->in = tp->out = fd;
	tp->command = m.value;
	tp->stream_dead = 0;
	tp->bad_run = 0;
	tp->good_frames = 0;
	tp->command_started = monotonic_seconds();
	tp->last_sent = tp->last_received = tp->command_started;
	tp->peer_keepalives = tp->dec.keepalives;
	say(2, "started the -e command (pid %ld)", (long)m.value);
}

/*
 * -e: closes the stream, and has the starter end what is left of the
 * command (see end_command()): at once when now.
 */
static void
stop_command(struct tunpipe *tp, int now)
{
	struct starter_msg m;
	int fd;

	close(tp->in);
	tp->in = tp->out = -1;
	if (send_msg(tp->ctl, now ? STOP_NOW : STOP, 0, -1) == -1)
		err(EXIT_FAIL, "-e: stopping the command");
	do {			/* news of its exit may come first */
		expect_msg(tp, &m, &fd);
	} while (m.kind != STOPPED);
	tp->command = 0;
	tp->command_status = m.value;
}

/*
 * -e: whether the command has exited and the stream holds nothing more to
 * read; news says the starter has a message.  The stream may outlive the
 * command when a child of it holds it.
 */
static int
command_gone(struct tunpipe *tp, int news)
{
	struct pollfd pfd = { .fd = tp->in, .events = POLLIN };

	if (opt.exec == NULL)
		return 0;
	if (news)
		take_exit_news(tp);
	return tp->command == 0 && poll(&pfd, 1, 0) == 0;
}

/*
 * The packet loop over one stream.  It polls the signalfd, the device,
 * the stream's two sides (stdin and stdout, or -e's socket twice) and,
 * with -e, the starter, which says when the command exits.  The device is
 * read only while the output buffer has room for another packet, so when
 * the stream cannot take more the kernel's queue fills and drops, as a
 * full link would, and memory stays bounded.  The stream is read whenever
 * it has data, since device writes do not block, and its output side is
 * polled only while frames wait for it: an idle stdout whose reader is
 * gone would report POLLERR on every turn.  Returns STREAM_BROKEN when
 * -e's stream ends, or the exit status.
 */
static int
relay(struct tunpipe *tp)
{
	enum { DEV, IN, OUT, CTL, SIG };
	struct pollfd pfd[5];
	struct timespec wait;
	int status = RUNNING;

	pfd[SIG].fd = tp->signals;
	pfd[SIG].events = POLLIN;
	pfd[IN].events = POLLIN;
	pfd[OUT].events = POLLOUT;
	pfd[CTL].events = POLLIN;
	while (status == RUNNING) {
		pfd[DEV].fd = tp->dev;
		pfd[DEV].events = outbuf_has_room(tp) ? POLLIN : 0;
		pfd[IN].fd = tp->in;
		pfd[OUT].fd = tp->out_head < tp->out_tail ? tp->out : -1;
		pfd[CTL].fd = opt.exec != NULL && tp->command != 0 ? tp->ctl : -1;
		if (ppoll(pfd, 5, keepalive_wait(tp, &wait), NULL) == -1) {
			warn("ppoll");
			return EXIT_FAIL;
		}
		if (pfd[SIG].revents && (status = take_signals(tp)) != RUNNING)
			return status;
		if (pfd[OUT].revents)
			status = flush_output(tp);
		if (status == RUNNING && pfd[DEV].revents) {
			status = drain_device(tp);
			if (status == RUNNING)
				status = flush_output(tp);
		}
		if (status == RUNNING && pfd[IN].revents)
			status = read_stream(tp);
		if (status == RUNNING)
			status = keep_alive(tp);
		if (status == RUNNING && command_gone(tp, pfd[CTL].revents))
			status = STREAM_BROKEN;
		if (status == INPUT_ENDED && opt.exec != NULL)
			status = STREAM_BROKEN;
		if (status == INPUT_ENDED) {
			flush_before_exit(tp);
			status = end_of_stream(tp);
		}
	}
	return status;
}

/*
 * After a break, the new stream must start at a frame boundary both ways:
 * the rest of a frame half written is dropped, and so is the start of one
 * half read.  Whole frames still waiting go out on the new stream.
 */
static void
discard_cut_frames(struct tunpipe *tp)
{
	size_t have, want;

	if (framing_decoder_partial(&tp->dec, &have, &want) !=
	    FRAMING_BETWEEN) {
		tp->count.drop_cut++;
		say(2, "dropped a frame from the stream cut after %zu of %zu "
		    "bytes", have, want);
	}
	framing_decoder_reset(&tp->dec);
	skip_sent_frames(tp);
	if (tp->out_frame < tp->out_head) {
		tp->out_head = tp->out_frame + framing_frame_len(opt.framing,
		    tp->outbuf + tp->out_frame);
		tp->out_frame = tp->out_head;
		tp->count.drop_cut++;
		say(2, "dropped a frame to the stream cut by the break");
	}
	if (tp->out_head == tp->out_tail)
		tp->out_head = tp->out_tail = tp->out_frame = 0;
}

/*
 * -r: sleeps before the command starts again: SECS at first, then twice
 * as long after each run shorter than RESPAWN_LIVED seconds, up to
 * RESPAWN_CAP (or SECS, if longer).  Signals are still taken.  Returns
 * RUNNING or an exit status.
 */
static int
wait_to_restart(struct tunpipe *tp)
{
	struct pollfd pfd = { .fd = tp->signals, .events = POLLIN };
	struct timespec start, left;
	int cap = opt.respawn > RESPAWN_CAP ? opt.respawn : RESPAWN_CAP;
	long wait_ms, waited;
	char how[64];
	int status;

	if (monotonic_seconds() - tp->command_started >= RESPAWN_LIVED)
		tp->respawn_wait = opt.respawn;
	say(1, "-e command %s; starting it again in %d s",
	    how_it_ended(tp->command_status, how, sizeof(how)), tp->respawn_wait);
	wait_ms = tp->respawn_wait * 1000L;
	tp->respawn_wait = tp->respawn_wait * 2 < cap ?
	    tp->respawn_wait * 2 : cap;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while ((waited = ms_since(&start)) < wait_ms) {
		left.tv_sec = (wait_ms - waited) / 1000;
		left.tv_nsec = (wait_ms - waited) % 1000 * 1000000;
		if (ppoll(&pfd, 1, &left, NULL) == 1 &&
		    (status = take_signals(tp)) != RUNNING)
			return status;
	}
	tp->count.restarts++;
	return RUNNING;
}

/*
 * Carries packets until the end.  With -e, the stream is a command's, and
 * with -r the command starts again whenever it ends; the device and its
 * addresses stay.  Returns the exit status.
 */
static int
run(struct tunpipe *tp)
{
	char how[64];
	int status;

	if (opt.exec == NULL)
		return relay(tp);
	tp->respawn_wait = opt.respawn;
	for (;;) {
		start_command(tp);
		status = relay(tp);
		/* Unless its stream merely ended, the command goes at once. */
		stop_command(tp, status != STREAM_BROKEN || tp->stream_dead);
		if (status != STREAM_BROKEN)
			return status;
		if (mismatched_stream(tp) && opt.respawn == 0)
			return EXIT_STREAM;
		if (WIFSIGNALED(tp->command_status) &&
		    WTERMSIG(tp->command_status) == SIGINT) {
			say(2, "-e command was interrupted; stopping");
			return EXIT_END;	/* as if tunpipe had been */
		}
		discard_cut_frames(tp);
		if (opt.respawn == 0) {
			say(1, "-e command %s; stopping",
			    how_it_ended(tp->command_status, how, sizeof(how)));
			return EXIT_COMMAND;
		}
		if ((status = wait_to_restart(tp)) != RUNNING)
			return status;
	}
}

/*
 * Sets the device up and runs the --up command: everything that needs
 * privilege.  Returns 0, or the --up command's failing status.
 */
static int
start_device(struct tunpipe *tp)
{
	char how[64];
	int status;

	open_device(tp);
	configure_device(tp);
	clock_gettime(CLOCK_MONOTONIC, &tp->started);
	tp->last_sent = tp->last_received = tp->started.tv_sec;
	if (opt.up != NULL && (status = run_hook(tp, "--up", opt.up)) != 0) {
		warnx("--up command %s; stopping",
		    how_it_ended(status, how, sizeof(how)));
		return shell_status(status);
	}
	if (opt.user != NULL)
		drop_privileges();
	if (opt.exec != NULL)
		start_starter(tp);
	confine();
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct tunpipe tp;
	int closed, status, down;
	char how[64];

	closed = closed_stdio();
	fill_standard_fds();
	/* Whole lines, so that two tunpipes sharing a terminal do not mix. */
	setvbuf(stderr, NULL, _IOLBF, 0);
	parse_options(argc, argv);
	if (opt.exec == NULL)
		check_stdio(closed);
	tp.in = STDIN_FILENO;
	tp.out = STDOUT_FILENO;
	tp.signals = open_signals();

	if ((status = start_device(&tp)) == 0) {
		framing_decoder_init(&tp.dec, opt.framing, tp.max,
		    tp.assembly);
		if (opt.exec == NULL)
			make_stdio_nonblocking();
		status = run(&tp);
		if (opt.verbosity >= 2)
			print_counters(&tp);
		if (opt.down != NULL &&
		    (down = run_hook(&tp, "--down", opt.down)) != 0)
			warnx("--down command %s",
			    how_it_ended(down, how, sizeof(how)));
	}
	close(tp.dev);
	return status;
}
