/*
 * tunpipe: move packets between a TUN or TAP device and standard input and
 * output, framed so that they survive any byte stream.
 */
#define _GNU_SOURCE		/* ppoll() */

#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/seccomp.h>
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
	size_t max;			/* largest packet, either way */
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
static volatile sig_atomic_t stop_signal, counters_wanted, child_exited;

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
	    "  -m, --mtu MTU         set the device MTU, and so the largest frame\n"
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

static void
handle_signal(int sig)
{
	if (sig == SIGUSR1)
		counters_wanted = 1;
	else if (sig == SIGCHLD)
		child_exited = 1;
	else
		stop_signal = sig;
}

/*
 * Signals are blocked except while the loop waits in ppoll(), so one that
 * arrives between two checks is never lost.  SIGPIPE is ignored so that a
 * closed stdout shows up as EPIPE, and ends tunpipe with a message.
 */
static void
setup_signals(sigset_t *waitmask)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGCHLD };
	struct sigaction sa;
	sigset_t block;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	sa.sa_handler = handle_signal;
	sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &block, waitmask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigdelset(waitmask, sigs[i]);
}

static void
print_counters(const struct tunpipe *tp)
{
	const struct counters *c = &tp->count;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(stderr, "tunpipe: %s (%s, mtu %d, up %lds): to stream: %"
	    PRIu64 " packets, %" PRIu64
	    " bytes; from stream: %" PRIu64 " packets, %" PRIu64 " bytes;"
	    " empty frames: %" PRIu64 " in, %" PRIu64 " out; dropped: %" PRIu64 " not IP, %"
	    PRIu64 " device write failed, %" PRIu64 " over the MTU, %" PRIu64
	    " damaged, %" PRIu64 " cut by a stream break; restarts of -e: %"
	    PRIu64 "\n",
	    tp->ifname, opt.tap ? "tap" : "tun", tp->mtu,
	    (long)(now.tv_sec - tp->started.tv_sec), c->out_packets, c->out_bytes, c->in_packets,
	    c->in_bytes, tp->dec.keepalives, c->keepalives, c->drop_invalid, c->drop_device,
	    c->drop_oversize, c->drop_damaged, c->drop_cut, c->restarts);
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
	int c;

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
			opt.verbosity = 0;
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
			opt.verbosity = 2;
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
	check_options();
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
		errx(EXIT_DEVICE, "TUNSETIFF %s: %s: a device of that name "
		    "exists and is not a %s device; pick another name with -i",
		    name, strerror(e), mode);
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
 * Sets what the options ask of the device (MTU, addresses, link up), then
 * sizes the frames from the MTU it ends up with.
 */
static void
configure_device(struct tunpipe *tp)
{
	struct ifreq ifr = ifreq_of(tp);
	size_t max;
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
	close(ctl);

	tp->mtu = ifr.ifr_mtu;
	max = (size_t)tp->mtu + (opt.tap ? ETHER_HEADER : 0);
	if (opt.offload)	/* GSO packets are not bound by the MTU */
		max = framing_packet_max(opt.framing);
	if (max > framing_packet_max(opt.framing))
		max = framing_packet_max(opt.framing);
	tp->max = max;
	tp->reserve = framing_encoded_max(opt.framing, tp->max + 1);
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
	err(127, "%s: /bin/sh", which);
}

/* A wait status as a shell would give it: 128 plus a killing signal. */
static int
shell_status(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/*
 * Runs a --up or --down command and returns its shell status.  Its stdout
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
		    dup2(STDERR_FILENO, STDOUT_FILENO) == -1)
			err(127, "%s", which);
		exec_shell(tp, which, cmd);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			err(EXIT_FAIL, "%s: waitpid", which);
	return shell_status(status);
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

#if defined(__x86_64__)
#define SECCOMP_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH	AUDIT_ARCH_AARCH64
#endif

/*
 * A forbidden system call lands here rather than killing tunpipe without
 * a word.  Only async-signal-safe calls, all of them allowed.
 */
static void
report_seccomp(int sig, siginfo_t *si, void *context)
{
	char text[160];
	int n;

	(void)sig;
	(void)context;
	n = snprintf(text, sizeof(text), "tunpipe: seccomp stopped tunpipe "
	    "at system call %d, which the packet loop should not make; run "
	    "with -S to go on, and please report it\n", si->si_syscall);
	if (n > 0)
		write(STDERR_FILENO, text, (size_t)n < sizeof(text) ?
		    (size_t)n : sizeof(text) - 1);
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
	enum { N = sizeof(allowed_syscalls) / sizeof(allowed_syscalls[0]) };
	struct sock_filter filter[N + 6];
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
	say(2, "seccomp: on, %d system calls allowed", (int)N);
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

/*
 * Hands one packet from the stream to the device, or drops and counts it.
 * Returns RUNNING, or what stream_error() says when the frames show that
 * the peer disagrees about -O.
 */
static int
deliver_packet(struct tunpipe *tp, const uint8_t *p, size_t len)
{
	size_t skip = opt.offload ? VNET_HDR_LEN : 0;

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
	if (!opt.tap && !is_ip_packet(p + skip, len - skip)) {
		tp->count.drop_invalid++;
		warn_limited(&tp->invalid_warning, "dropped a %zu-byte frame "
		    "that is not an IPv4 or IPv6 packet (first byte 0x%02x); "
		    "is the peer in TAP mode (-T), or using another framing?",
		    len - skip, len > skip ? p[skip] : 0);
		return RUNNING;
	}
	if (write(tp->dev, p, len) == -1) {
		tp->count.drop_device++;
		warn_limited(&tp->device_warning, "write to %s: %s%s; dropped "
		    "a %zu-byte packet", tp->ifname, strerror(errno),
		    errno == EIO ? " (is the device down?)" : "", len - skip);
		return RUNNING;
	}
	tp->count.in_packets++;
	tp->count.in_bytes += len - skip;
	return RUNNING;
}

/* The stream, for messages: stdio's side, or the -e command's socket. */
static const char *
stream_name(const char *stdio)
{
	return opt.exec != NULL ? "the -e command's stream" : stdio;
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
	size_t pos = 0, used;
	ssize_t n;
	int status;

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
	while (pos < (size_t)n) {
		switch (framing_decode(&tp->dec, tp->inbuf + pos, (size_t)n - pos,
		    &used, &pkt)) {
		case FRAMING_PACKET:
			if ((status = deliver_packet(tp, pkt.data, pkt.len)) !=
			    RUNNING)
				return status;
			break;
		case FRAMING_AGAIN:
			break;
		case FRAMING_DAMAGED:
		case FRAMING_OVERLONG:
			tp->count.drop_damaged++;
			warn_limited(&tp->damaged_warning, "dropped a damaged "
			    "SLIP frame (%s); is the line noisy, or its speed "
			    "or framing wrong?", pkt.len > tp->max ?
			    "longer than the MTU" : "bad escape");
			break;
		case FRAMING_TOO_BIG:
			warnx("stream error: a frame announces %zu bytes, over "
			    "the limit of %zu for %s; the peer most likely uses "
			    "another framing or mode (tun/tap%s), or is not "
			    "tunpipe", pkt.len, tp->max, tp->ifname,
			    opt.offload ? "; -O at one end only" : "");
			return stream_error();
		}
		pos += used;
	}
	return RUNNING;
}

/* At the end of the input stream: was the last frame whole? */
static int
end_of_stream(struct tunpipe *tp)
{
	size_t have, want;

	switch (framing_decoder_partial(&tp->dec, &have, &want)) {
	case FRAMING_IN_HEADER:
		warnx("input stream ended inside a frame header: %zu of %zu "
		    "bytes arrived", have, want);
		return EXIT_STREAM;
	case FRAMING_IN_PACKET:
		if (want == 0)		/* SLIP does not say */
			warnx("input stream ended inside a frame, after %zu "
			    "bytes of its packet", have);
		else
			warnx("input stream ended inside a frame: %zu of %zu "
			    "bytes of its packet arrived", have, want);
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
		n = read(tp->dev, frame + hlen, tp->max + 1);
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
			warn_limited(&tp->oversize_warning, "dropped a packet "
			    "from %s over the frame limit of %zu bytes; was its "
			    "MTU raised after tunpipe started?", tp->ifname,
			    tp->max);
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
		return opt.exec != NULL ? STREAM_BROKEN : EXIT_STREAM;
	}
	if (opt.keepalive == 0 || tp->out_head < tp->out_tail ||
	    monotonic_seconds() - tp->last_sent < opt.keepalive)
		return RUNNING;
	tp->out_tail += framing_encode(opt.framing,
	    tp->outbuf + tp->out_tail, 0);
	tp->count.keepalives++;
	return flush_output(tp);
}

/*
 * Acts on the signals that arrived while ppoll waited: prints the counters
 * for SIGUSR1; returns EXIT_END for a stop signal, else RUNNING.
 */
static int
take_signals(struct tunpipe *tp)
{
	if (stop_signal) {
		say(2, "stopped by signal %d (%s)", (int)stop_signal,
		    strsignal(stop_signal));
		return EXIT_END;
	}
	if (counters_wanted) {
		counters_wanted = 0;
		print_counters(tp);
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
 *	loop to starter: START; STOP (the stream ended); STOP_NOW (it died)
 *	starter to loop: STARTED, pid, with the stream's descriptor;
 *	                 EXITED, wait status (also unasked, when it exits)
 */
enum { START = 's', STOP = 'k', STOP_NOW = 'K', STARTED = 'f', EXITED = 'x' };

struct starter_msg {
	char kind;
	int value;
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
 * Starter: forks the command, its stdin and stdout joined to one end of a
 * socket pair; returns its pid, and the other end in *fd.  Its stderr
 * stays tunpipe's, so that ssh can ask for a password and complain.
 */
static pid_t
spawn_command(const struct tunpipe *tp, int *fd)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		err(EXIT_FAIL, "-e: socketpair");
	if ((pid = fork()) == -1)
		err(EXIT_FAIL, "-e: fork");
	if (pid == 0) {
		if (dup2(sv[1], STDIN_FILENO) == -1 ||
		    dup2(sv[1], STDOUT_FILENO) == -1)
			err(127, "-e: dup2");
		exec_shell(tp, "-e", opt.exec);
	}
	close(sv[1]);
	*fd = sv[0];
	return pid;
}

/* Starter: waits up to ms (for ever if negative) for pid to end. */
static int
reap_command(pid_t pid, long ms, int *status)
{
	const struct timespec tick = { 0, 10 * 1000000 };
	struct timespec start;
	pid_t r;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while ((r = waitpid(pid, status, ms < 0 ? 0 : WNOHANG)) != pid) {
		if (r == -1 && errno != EINTR)
			err(EXIT_FAIL, "-e: waitpid");
		if (ms >= 0 && ms_since(&start) >= ms)
			return 0;
		if (r == 0)
			nanosleep(&tick, NULL);
	}
	return 1;
}

/*
 * Starter: waits for the command to end, as losing its stdin and stdout
 * should make it; one that lingers gets SIGTERM, then SIGKILL.  One whose
 * stream fell silent (now) gets SIGTERM at once: it is likely stuck on a
 * dead connection.  Returns its wait status.
 */
static int
end_command(pid_t pid, int now)
{
	int status;

	if (!now && reap_command(pid, REAP_MS, &status))
		return status;
	kill(pid, SIGTERM);
	if (reap_command(pid, REAP_MS, &status))
		return status;
	kill(pid, SIGKILL);
	reap_command(pid, -1, &status);
	return status;
}

/*
 * The starter's loop: starts and stops the command as the loop asks, and
 * says when it exits by itself.  When the loop goes, so does the command.
 */
static void __attribute__((noreturn))
run_starter(struct tunpipe *tp, int ctl)
{
	struct pollfd pfd = { .fd = ctl, .events = POLLIN };
	struct starter_msg m;
	sigset_t chld;
	pid_t pid = 0;
	int status, fd;

	close(tp->dev);
	sigfillset(&chld);
	sigdelset(&chld, SIGCHLD);
	for (;;) {
		ppoll(&pfd, 1, NULL, &chld);
		if (child_exited) {
			child_exited = 0;
			if (pid != 0 && waitpid(pid, &status, WNOHANG) == pid) {
				send_msg(ctl, EXITED, status, -1);
				pid = 0;
			}
		}
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		if (recv_msg(ctl, &m, &fd, 0) != 1) {
			if (pid != 0)
				end_command(pid, 0);
			_exit(0);
		}
		if (m.kind == START && pid == 0) {
			pid = spawn_command(tp, &fd);
			send_msg(ctl, STARTED, (int)pid, fd);
			close(fd);
		} else if ((m.kind == STOP || m.kind == STOP_NOW) && pid != 0) {
			send_msg(ctl, EXITED, end_command(pid,
			    m.kind == STOP_NOW), -1);
			pid = 0;
		}
	}
}

/*
 * -e: forks the starter, before the filter: see above.  Signals stay
 * blocked in it, except SIGCHLD while it waits.
 */
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
	tp->command_started = monotonic_seconds();
	tp->last_sent = tp->last_received = tp->command_started;
	tp->peer_keepalives = tp->dec.keepalives;
	say(2, "started the -e command (pid %ld)", (long)m.value);
}

/*
 * -e: closes the stream, and has the starter end the command if it has
 * not ended yet (see end_command()).
 */
static void
stop_command(struct tunpipe *tp)
{
	struct starter_msg m;
	int fd;

	close(tp->in);
	tp->in = tp->out = -1;
	if (tp->command == 0)
		return;
	if (send_msg(tp->ctl, tp->stream_dead ? STOP_NOW : STOP, 0, -1) == -1)
		err(EXIT_FAIL, "-e: stopping the command");
	expect_msg(tp, &m, &fd);
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
 * The packet loop over one stream.  It polls the device, the stream's two
 * sides (stdin and stdout, or -e's socket twice) and, with -e, the
 * starter, which says when the command exits.  The device is read
 * only while the output buffer has room for another packet, so when the
 * stream cannot take more the kernel's queue fills and drops, as a full
 * link would, and memory stays bounded.  The stream is read whenever it
 * has data, since device writes do not block.  Returns STREAM_BROKEN when
 * -e's stream ends, or the exit status.
 */
static int
relay(struct tunpipe *tp, const sigset_t *waitmask)
{
	enum { DEV, IN, OUT, CTL };
	struct pollfd pfd[4];
	struct timespec wait;
	int status = RUNNING;

	while (status == RUNNING) {
		pfd[DEV].fd = tp->dev;
		pfd[IN].fd = tp->in;
		pfd[OUT].fd = tp->out;
		pfd[CTL].fd = opt.exec != NULL && tp->command != 0 ? tp->ctl : -1;
		pfd[DEV].events = outbuf_has_room(tp) ? POLLIN : 0;
		pfd[IN].events = POLLIN;
		pfd[OUT].events = tp->out_head < tp->out_tail ? POLLOUT : 0;
		pfd[CTL].events = POLLIN;
		pfd[DEV].revents = pfd[IN].revents = pfd[OUT].revents = 0;
		pfd[CTL].revents = 0;
		if (ppoll(pfd, 4, keepalive_wait(tp, &wait), waitmask) == -1 &&
		    errno != EINTR) {
			warn("ppoll");
			return EXIT_FAIL;
		}
		if ((status = take_signals(tp)) != RUNNING)
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

/* -e: how the command ended, for messages. */
static const char *
command_end(const struct tunpipe *tp, char *text, size_t size)
{
	int status = tp->command_status;

	if (WIFSIGNALED(status))
		snprintf(text, size, "was killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(text, size, "exited with status %d",
		    WEXITSTATUS(status));
	return text;
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
wait_to_restart(struct tunpipe *tp, const sigset_t *waitmask)
{
	struct timespec start, left;
	int cap = opt.respawn > RESPAWN_CAP ? opt.respawn : RESPAWN_CAP;
	long wait_ms, waited;
	char how[64];
	int status;

	if (monotonic_seconds() - tp->command_started >= RESPAWN_LIVED)
		tp->respawn_wait = opt.respawn;
	say(1, "-e command %s; starting it again in %d s",
	    command_end(tp, how, sizeof(how)), tp->respawn_wait);
	wait_ms = tp->respawn_wait * 1000L;
	tp->respawn_wait = tp->respawn_wait * 2 < cap ?
	    tp->respawn_wait * 2 : cap;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while ((waited = ms_since(&start)) < wait_ms) {
		left.tv_sec = (wait_ms - waited) / 1000;
		left.tv_nsec = (wait_ms - waited) % 1000 * 1000000;
		ppoll(NULL, 0, &left, waitmask);
		if ((status = take_signals(tp)) != RUNNING)
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
run(struct tunpipe *tp, const sigset_t *waitmask)
{
	char how[64];
	int status;

	if (opt.exec == NULL)
		return relay(tp, waitmask);
	tp->respawn_wait = opt.respawn;
	for (;;) {
		start_command(tp);
		status = relay(tp, waitmask);
		stop_command(tp);
		if (status != STREAM_BROKEN)
			return status;
		discard_cut_frames(tp);
		if (opt.respawn == 0) {
			say(1, "-e command %s; stopping",
			    command_end(tp, how, sizeof(how)));
			return EXIT_COMMAND;
		}
		if ((status = wait_to_restart(tp, waitmask)) != RUNNING)
			return status;
	}
}

/*
 * Makes a stream descriptor nonblocking, so that a full stdout never stalls
 * the other direction.  Returns the old flags, to be put back at exit: the
 * descriptor may be shared with the shell.
 */
static int
set_nonblocking(int fd, const char *what)
{
	int flags;

	if (isatty(fd))
		errx(EXIT_USAGE, "%s is a terminal: tunpipe speaks a binary "
		    "stream; connect it to a pipe, a FIFO, nc or ssh", what);
	if ((flags = fcntl(fd, F_GETFL)) == -1)
		err(EXIT_USAGE, "%s", what);
	if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		err(EXIT_FAIL, "%s: cannot make it nonblocking", what);
	/* A larger pipe means fewer wake-ups per byte; it may be refused. */
	fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE);
	return flags;
}

/*
 * Sets the device up and runs the --up command: everything that needs
 * privilege.  Returns 0, or the --up command's failing status.
 */
static int
start_device(struct tunpipe *tp)
{
	int status;

	open_device(tp);
	configure_device(tp);
	clock_gettime(CLOCK_MONOTONIC, &tp->started);
	tp->last_sent = tp->last_received = tp->started.tv_sec;
	if (opt.up != NULL && (status = run_hook(tp, "--up", opt.up)) != 0) {
		warnx("--up command exited with status %d; stopping", status);
		return status;
	}
	if (opt.user != NULL)
		drop_privileges();
	if (opt.exec != NULL)
		start_starter(tp);
	confine();
	return 0;
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

int
main(int argc, char *argv[])
{
	static struct tunpipe tp;
	sigset_t waitmask;
	int in_flags = 0, out_flags = 0, status, down;

	fill_standard_fds();
	/* Whole lines, so that two tunpipes sharing a terminal do not mix. */
	setvbuf(stderr, NULL, _IOLBF, 0);
	parse_options(argc, argv);
	tp.in = STDIN_FILENO;
	tp.out = STDOUT_FILENO;
	if (opt.exec == NULL) {
		in_flags = set_nonblocking(tp.in, "standard input");
		out_flags = set_nonblocking(tp.out, "standard output");
	}
	setup_signals(&waitmask);

	if ((status = start_device(&tp)) == 0) {
		framing_decoder_init(&tp.dec, opt.framing, tp.max,
		    tp.assembly);
		status = run(&tp, &waitmask);
		if (opt.verbosity >= 2)
			print_counters(&tp);
		if (opt.down != NULL &&
		    (down = run_hook(&tp, "--down", opt.down)) != 0)
			warnx("--down command exited with status %d", down);
	}
	if (opt.exec == NULL) {
		fcntl(tp.in, F_SETFL, in_flags);
		fcntl(tp.out, F_SETFL, out_flags);
	}
	close(tp.dev);
	return status;
}
