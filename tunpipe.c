/*
 * tunpipe: move packets between a TUN or TAP device and standard input and
 * output, framed so that they survive any byte stream.
 *
 * This file is the program: its options and messages, standard I/O and
 * signals, the hooks, the stream's side and the device's side of the
 * packet loop, keepalives, figures, -e's commands, the loop itself and
 * the exit statuses, in the order the data meets them.  Only this file
 * prints; what it decides from the options at start-up, the packet path
 * finds in its structs.  The modules below it never print, nor use a name
 * of this file, and each exports only its own prefix; the system-facing
 * ones return -1 with errno, naming the step that failed where there are
 * several, and this file words it:
 *	device.c	the device's set-up and carrier
 *	confine.c	-U's privilege drop and the seccomp filter
 *	starter.c	the process of its own that starts -e's command
 *	capture.c	-w's capture file, and the records waiting for it
 *	notify.c	what a service manager is told (NOTIFY_SOCKET)
 * and the pure ones make no system calls:
 *	framing.c	the stream's framings
 *	judge.c		what the stream's frames say of the peer
 *	offload.c	GSO packets split and merged, checksums
 *	pcapng.c	-w's capture format, encoded
 *	figures.c	the counters' and -s's text
 */
#define _GNU_SOURCE		/* ppoll(), signalfd() */

#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <linux/if.h>
#include <linux/if_ether.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
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

#include "capture.h"
#include "confine.h"
#include "device.h"
#include "figures.h"
#include "framing.h"
#include "judge.h"
#include "notify.h"
#include "offload.h"
#include "pcapng.h"
#include "starter.h"

#define TUNPIPE_VERSION "0.1.0"

/*
 * One read of the stream, and the frames that may wait for the stream:
 * about 1 ms of traffic either way.  A read takes what a pipe of
 * PIPE_SIZE holds: the more segments a read holds, the fuller the merged
 * packets the device takes (128 KiB gave them 34 KiB on average, and
 * 256 KiB carried a fifth more TCP at less CPU per GB).  -O moves five
 * times as many bytes per packet, so it gets larger batches; memory for
 * them is touched only with -O.
 */
#define INBUF_SIZE	(256 * 1024)
#define OUTBUF_SIZE	(256 * 1024)
#define INBUF_SIZE_O	(512 * 1024)
#define OUTBUF_SIZE_O	(1024 * 1024)
/*
 * A device read asks for more than a device holds (an IP packet of 64
 * KiB, an Ethernet frame a little more), so that no packet is cut short;
 * the output buffer keeps room for one device read framed in the framing
 * that needs most (SLIP, every byte escaped).
 */
#define DEVICE_READ	FRAMING_PACKET_MAX
#define READ_ROOM	FRAMING_ENCODED_MOST(DEVICE_READ)
#define OUTBUF_LEN	(OUTBUF_SIZE_O + READ_ROOM)
_Static_assert(READ_ROOM >= 4 + DEVICE_READ && OUTBUF_SIZE <= OUTBUF_SIZE_O,
    "the output buffer holds, for either mode, a framed device read");
#define PIPE_SIZE	(256 * 1024)	/* asked for a pipe on stdin or stdout */
#define FLUSH_MS	1000		/* at EOF, how long pending output may wait */
#define WARN_INTERVAL	5		/* seconds between repeated warnings */
#define MESSAGES_SIZE	(64 * 1024)	/* messages that may wait for stderr */
#define MESSAGE_MAX	1024		/* a longer line is cut there */
_Static_assert(MESSAGE_MAX <= PIPE_BUF, "a message goes out in one write");
#define MAX_ADDRESSES	16		/* -a given this many times at most */
#define MTU_MIN		68		/* the kernel's minimum for IPv4 */
#define MTU_MIN_IPV6	1280
#define MTU_MAX		65535
#define DEAD_AFTER	3		/* keepalive intervals of silence */
#define SECONDS_MAX	86400		/* -k, -s: a day at most */
#define RESPAWN_MAX	3600		/* -r: an hour at most */
#define RESPAWN_CAP	60		/* -r: the longest wait, unless SECS is */
#define RESPAWN_LIVED	10		/* -r: a run this long resets the wait */
#define STATUS_EVERY	60		/* seconds between a manager's figures */

/* Exit statuses; README.md and the man page list them for users. */
enum {
	EXIT_END = 0,		/* the stream ended cleanly, or a stop signal */
	EXIT_FAIL = 1,		/* a system call failed unexpectedly */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_DEVICE = 3,	/* the device could not be opened or set up */
	EXIT_STREAM = 4,	/* the stream broke */
	EXIT_COMMAND = 5,	/* the -e command ended, and no -r */
	EXIT_UP = 6,		/* the --up command failed */
};

/* Why the loop ended: main() turns it into an exit status. */
enum end {
	END_NONE,		/* no end yet: the loop goes on */
	END_INPUT,		/* standard input ended */
	END_OUTPUT,		/* standard output's reader went away */
	END_SIGNAL,		/* a stop signal, or -e's command interrupted */
	END_BROKEN,		/* the stream broke: its framing, a mismatch,
				   a silent peer, a frame cut at the end */
	END_COMMAND,		/* -e's command ended, or its stream did */
	END_FAILED,		/* a system call failed, or the device went */
};

struct address {
	const char *text;	/* as given, for messages */
	int family;		/* AF_INET or AF_INET6 */
	uint8_t bytes[16];
	int prefix;
};

/* What the command line says. */
struct options {
	const char *ifname;	/* NULL: the kernel picks tun%d or tap%d */
	int tap;
	int offload;		/* -O: GSO packets with a virtio-net header */
	int no_gso;		/* -G: one ordinary packet a device read */
	int no_device;		/* -N: read a recording, with no device */
	const char *connect;	/* -c: a socket in place of a device */
	const char *capture;	/* -w: where the capture goes, or NULL */
	int stats;		/* -s: seconds between two lines of figures */
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

/*
 * The stream: how it carries packets, as decided at start-up
 * (init_stream()), its two sides, the frames waiting for it, and what it
 * says of the peer.  With -e a new command brings a new stream
 * (begin_stream()), and the loop begins each at a frame boundary.
 */
struct stream {
	enum framing_type framing;	/* as the decoder has it, for encoding */
	size_t header;		/* -O: each frame's virtio-net header, else 0 */
	int from_command;	/* -e: the stream is a command's */
	int keepalive;		/* -k: seconds between empty frames, or 0 */
	int timed;		/* -k or -s: it notes when bytes come and go */
	int in, out;		/* stdin and stdout, or -e's socket twice */
	struct framing_decoder dec;
	size_t max;		/* largest packet the framing carries */
	time_t last_sent;	/* -k: when the stream last took bytes */
	time_t last_received;	/* -k, -s: when it last gave bytes */
	uint64_t read_total;	/* bytes read on this stream */
	uint64_t frame_at;	/* where the frame being judged starts */
	uint64_t peer_keepalives;	/* keepalives seen before this stream */
	uint64_t keepalives_at;	/* dec.keepalives as the last frame ended */
	int dead;		/* -k found the peer silent */
	struct judge judge;	/* what its frames say of the peer */
	int judged;		/* the frame half read was judged already */
	size_t out_head, out_tail;	/* waiting: outbuf[head..tail) */
	size_t out_frame;	/* where the frame at out_head starts */
	size_t inbuf_size, outbuf_size;	/* in use, by mode */
	size_t reserve;		/* outbuf room one device read needs */
	uint8_t inbuf[INBUF_SIZE_O];
	uint8_t assembly[FRAMING_PACKET_MAX];
	uint8_t outbuf[OUTBUF_LEN];
};

/*
 * The device side's GSO work, when tunpipe cuts and merges (see
 * init_gso()): a GSO packet from the device being cut into segments for
 * the stream, and the stream's segments merged on their way to the device.
 */
struct gso {
	int inside;		/* the device's offloads, an ordinary stream */
	struct offload_split split;	/* a GSO packet from the device... */
	int splitting;		/* ...being cut into segments */
	struct offload_merge merge;	/* segments on their way to the device */
	struct offload_write write;	/* the batch being written */
	int refused;		/* OFFLOAD_MERGE_*: merges the device refused */
	uint8_t packet[DEVICE_READ];	/* the GSO packet being cut */
};

/* -e's command, as the loop sees it. */
struct command {
	int ctl;		/* to the starter; -1 without -e, not stdin */
	pid_t pid;		/* while it runs, else 0 */
	int status;		/* its wait status, once it ended */
	time_t started;
	int respawn_wait;	/* -r: seconds before the next start */
	uint64_t in_at_start;	/* -r: packets from streams before it */
};

/* A warning that repeats at most every WARN_INTERVAL seconds. */
struct ratelimit {
	time_t last;
	unsigned long suppressed;
};

/* The warnings that may come with every packet. */
struct warnings {
	struct ratelimit invalid, device, oversize, damaged, capture;
	struct ratelimit capture_again;	/* -w: writes work again */
};

/* -s: what the last line of figures said, for the rates of the next. */
struct stats {
	int every;		/* -s: seconds between two lines, or 0 */
	struct timespec due;	/* when the next line is */
	struct timespec last;	/* when the last one was */
	struct figures_counters then;	/* the counters then */
};

struct tunpipe {
	struct device dev;
	struct device_socket socket;	/* -c: the device's buffers */
	struct stream st;
	struct gso gso;
	struct command cmd;
	struct figures_counters count;
	struct warnings warn;
	struct capture_file cap;
	struct stats stats;
	int signals;		/* the signalfd: see open_signals() */
	struct timespec started;
	struct notify notify;	/* a service manager's socket, or none */
	int ready;		/* the manager was told READY=1 */
	int stopping;		/* the manager was told STOPPING=1 */
	time_t status_next;	/* when the manager gets the figures */
	int notify_failed;	/* a message was lost, and said so */
};

static struct options opt = { .verbosity = 1, .framing = FRAMING_LEN16 };

static const char shortopts[] = "a:c:d:e:f:Ghi:k:m:NOo:pqr:Ss:TU:u:Vvw:";
static const struct option longopts[] = {
	{ "address",	required_argument,	NULL, 'a' },
	{ "connect",	required_argument,	NULL, 'c' },
	{ "down",	required_argument,	NULL, 'd' },
	{ "exec",	required_argument,	NULL, 'e' },
	{ "framing",	required_argument,	NULL, 'f' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "no-gso",	no_argument,		NULL, 'G' },
	{ "interface",	required_argument,	NULL, 'i' },
	{ "keepalive",	required_argument,	NULL, 'k' },
	{ "mtu",	required_argument,	NULL, 'm' },
	{ "no-device",	no_argument,		NULL, 'N' },
	{ "no-seccomp",	no_argument,		NULL, 'S' },
	{ "offload",	no_argument,		NULL, 'O' },
	{ "owner",	required_argument,	NULL, 'o' },
	{ "persist",	no_argument,		NULL, 'p' },
	{ "quiet",	no_argument,		NULL, 'q' },
	{ "respawn",	required_argument,	NULL, 'r' },
	{ "stats",	required_argument,	NULL, 's' },
	{ "tap",	no_argument,		NULL, 'T' },
	{ "user",	required_argument,	NULL, 'U' },
	{ "up",		required_argument,	NULL, 'u' },
	{ "version",	no_argument,		NULL, 'V' },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ "write",	required_argument,	NULL, 'w' },
	{ NULL,		0,			NULL, 0 }
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: tunpipe [-GhNOpqSTVv] [-a address/prefix] [-c socket] "
	    "[-d command] [-e command] [-f framing] [-i name] [-k seconds] "
	    "[-m mtu] [-o user] [-r seconds] [-s seconds] [-U user] "
	    "[-u command] [-w file]\n");
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
	    "  -c, --connect SOCKET  in place of a device, carry the Ethernet frames\n"
	    "                        of the Unix socket SOCKET (passt, QEMU's\n"
	    "                        -netdev stream); no device, no privilege\n"
	    "  -d, --down CMD        run CMD through /bin/sh at exit\n"
	    "  -e, --exec CMD        carry the stream over CMD's stdin and stdout\n"
	    "                        instead of tunpipe's own (CMD runs in /bin/sh)\n"
	    "  -f, --framing TYPE    len16 (default), len32 (QEMU, passt) or slip\n"
	    "  -G, --no-gso          read and write the device one ordinary packet at\n"
	    "                        a time, without its GSO packets and checksums\n"
	    "  -h, --help            print this help and exit\n"
	    "  -i, --interface NAME  device name, or a persistent device to attach to\n"
	    "                        (default: the kernel picks tun%%d or tap%%d)\n"
	    "  -k, --keepalive SECS  send an empty frame after SECS without traffic;\n"
	    "                        a peer that does too and falls silent for\n"
	    "                        3 x SECS ends the stream\n"
	    "  -m, --mtu MTU         set the device MTU\n"
	    "  -N, --no-device       read a recorded stream, check and count its\n"
	    "                        packets; no device, no privilege\n"
	    "  -O, --offload         carry TCP and UDP as GSO packets of up to 64 KiB\n"
	    "                        with a virtio-net header; both ends need -O\n"
	    "  -o, --owner USER      make USER the device's owner\n"
	    "  -p, --persist         create the device persistent: it outlives tunpipe\n"
	    "  -q, --quiet           report errors only\n"
	    "  -r, --respawn SECS    with -e, start CMD again SECS after it ends,\n"
	    "                        doubling the wait while runs fail (a run of\n"
	    "                        10 s, or one that brought a packet, did not)\n"
	    "  -S, --no-seccomp      do not confine the packet loop's system calls\n"
	    "  -s, --stats SECS      every SECS, print rates and counters on stderr\n"
	    "                        as key=value pairs (and on SIGUSR1)\n"
	    "  -T, --tap             carry Ethernet frames (TAP) instead of IP packets\n"
	    "  -U, --user USER       run the packet loop as USER, without privilege\n"
	    "  -u, --up CMD          run CMD through /bin/sh once the device is ready;\n"
	    "                        it sees TUNPIPE_IFNAME, TUNPIPE_MTU, TUNPIPE_MODE\n"
	    "                        (if it fails, tunpipe exits with status 6)\n"
	    "  -V, --version         print the version and exit\n"
	    "  -v, --verbose         report the device name, and counters at exit\n"
	    "  -w, --write FILE      write every packet that crosses, both ways, to\n"
	    "                        FILE (or a FIFO) as a pcapng capture\n"
	    "\n"
	    "SIGUSR1 prints the counters; SIGINT, SIGTERM and SIGHUP stop tunpipe.\n"
	    "With NOTIFY_SOCKET set (systemd Type=notify), tunpipe says when it is\n"
	    "ready, what it does (STATUS=), and pings WATCHDOG_USEC's watchdog.\n");
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

/* Nanoseconds from a to b, negative when b comes first. */
static int64_t
ns_between(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000000000 +
	    (b->tv_nsec - a->tv_nsec);
}

/*
 * Messages written while the packet loop runs wait here for stderr, so
 * that a stderr nobody reads (a stalled ssh channel, a logger that fell
 * behind) never stops the tunnel, nor a stop signal: a write to a full
 * pipe would block the loop for as long as it stays full.  stderr stays
 * blocking, since the -e command and the caller share it; the loop writes
 * only when poll says it can, at most PIPE_BUF bytes, which a pipe then
 * takes without blocking (a regular file always takes them).  What waits
 * is whole lines, in order, in a buffer of fixed size: a line that does
 * not fit is dropped and counted, and the next one that fits comes after
 * a line that says how many were lost.  Before the loop, and in children,
 * messages go out at once, as err(3)'s do.
 */
struct messages {
	int deferred;		/* they wait in buf: see defer_messages() */
	size_t len;		/* waiting: buf[0..len), whole lines */
	uint64_t lost;		/* lines dropped since the last one kept */
	int gone;		/* stderr failed: messages go nowhere */
	struct timespec until;	/* at the end: how long they may wait */
	char buf[MESSAGES_SIZE];
};

static struct messages messages;

/*
 * Adds text[0..len), whole lines, to the messages waiting, after a line
 * that counts those lost before it; or counts it lost when they do not
 * both fit.
 */
static void
keep_message(struct messages *m, const char *text, size_t len)
{
	char note[128];
	int n = 0;

	if (m->gone)
		return;
	if (m->lost > 0)
		n = snprintf(note, sizeof(note), "tunpipe: %" PRIu64 " message%s "
		    "lost: standard error did not take %s in time\n", m->lost,
		    m->lost == 1 ? " was" : "s were", m->lost == 1 ? "it" :
		    "them");
	if (sizeof(m->buf) - m->len < (size_t)n + len) {
		m->lost++;
		return;
	}
	memcpy(m->buf + m->len, note, (size_t)n);
	memcpy(m->buf + m->len + n, text, len);
	m->len += (size_t)n + len;
	m->lost = 0;
}

/*
 * Sends a message of whole lines, text[0..len): to those waiting while
 * the loop runs, else to stderr at once.
 */
static void
send_message(const char *text, size_t len)
{
	if (messages.deferred)
		keep_message(&messages, text, len);
	else
		fwrite(text, 1, len, stderr);
}

/*
 * printf() to stderr, through the messages: one message of one or more
 * whole lines; one longer than MESSAGE_MAX is cut there.
 */
static void __attribute__((format(printf, 1, 2)))
msg_printf(const char *fmt, ...)
{
	char text[MESSAGE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(text)) {	/* cut: still a whole line */
		n = sizeof(text) - 1;
		text[n - 1] = '\n';
	}
	send_message(text, (size_t)n);
}

/*
 * warn(3) and warnx(3), through the messages: "tunpipe: ", the message,
 * and with e nonzero, strerror(e).
 */
static void
msg_vwarn(int e, const char *fmt, va_list ap)
{
	char text[MESSAGE_MAX - 128];	/* room for the name and strerror() */

	vsnprintf(text, sizeof(text), fmt, ap);
	if (e != 0)
		msg_printf("tunpipe: %s: %s\n", text, strerror(e));
	else
		msg_printf("tunpipe: %s\n", text);
}

static void __attribute__((format(printf, 1, 2)))
msg_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vwarn(0, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 1, 2)))
msg_warn(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	msg_vwarn(e, fmt, ap);
	va_end(ap);
}

/* errx(3) and err(3), through the messages: exit() then drains them. */
static void __attribute__((format(printf, 2, 3), noreturn))
msg_errx(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vwarn(0, fmt, ap);
	va_end(ap);
	exit(status);
}

static void __attribute__((format(printf, 2, 3), noreturn))
msg_err(int status, const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	msg_vwarn(e, fmt, ap);
	va_end(ap);
	exit(status);
}

/* Whether messages wait for stderr. */
static int
messages_waiting(void)
{
	return messages.len > 0;
}

/*
 * Writes the first of the messages waiting, whole lines of at most
 * PIPE_BUF bytes, once poll said that stderr takes more.  A stderr that
 * fails (its reader gone) loses them all, and every one after.
 */
static void
flush_messages(void)
{
	struct messages *m = &messages;
	size_t n = 0;
	const char *end;
	ssize_t w;

	if (m->len == 0)
		return;
	while (n < m->len && (end = memchr(m->buf + n, '\n', m->len - n)) !=
	    NULL && (size_t)(end + 1 - m->buf) <= PIPE_BUF)
		n = (size_t)(end + 1 - m->buf);
	if (n == 0)
		n = m->len < PIPE_BUF ? m->len : PIPE_BUF;
	w = write(STDERR_FILENO, m->buf, n);
	if (w == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (w == -1) {
		m->gone = 1;
		m->len = 0;
		return;
	}
	memmove(m->buf, m->buf + w, m->len - (size_t)w);
	m->len -= (size_t)w;
}

/*
 * The end of the last, bounded chance that what waits gets at the end
 * (see drain_within()): FLUSH_MS from now.
 */
static void
flush_deadline(struct timespec *deadline)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += FLUSH_MS / 1000;
	deadline->tv_nsec += FLUSH_MS % 1000 * 1000000L;
}

/*
 * At the end: gives what waits for fd (the stream's frames, the capture's
 * records, the messages) a last chance to go out, bounded, so that a fd
 * nobody reads cannot hold tunpipe: polls fd for POLLOUT with the time
 * left until deadline, and each time fd takes more calls flush(arg, late),
 * until that returns 0 (nothing waits, or writing stopped) or fd takes no
 * more in time.  Once the deadline has passed, poll no longer waits, and
 * late tells flush so: the frames and the records then stop, the messages
 * go on while stderr takes them at once.
 */
static void
drain_within(int fd, const struct timespec *deadline,
    int (*flush)(void *, int), void *arg)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	long left;

	do
		left = -ms_since(deadline);
	while (poll(&pfd, 1, left > 0 ? (int)left : 0) == 1 &&
	    flush(arg, left <= 0));
}

/*
 * Whether messages wait for stderr at the end, or the count of those lost
 * after the last one kept, which then becomes a line of its own.
 */
static int
messages_to_drain(struct messages *m)
{
	if ((m->len == 0 && m->lost == 0) || m->gone)
		return 0;
	if (m->len == 0)
		keep_message(m, "", 0);
	return 1;
}

/*
 * drain_within()'s flush for the messages: after the deadline, only as
 * long as stderr takes them.
 */
static int
flush_messages_within(void *arg, int late)
{
	struct messages *m = arg;
	size_t before = m->len;

	flush_messages();
	if (late && m->len == before)
		return 0;
	return messages_to_drain(m);
}

/*
 * At the end: gives the messages waiting, and the count of those lost
 * after the last one kept, until FLUSH_MS after the first call to go
 * out, so that a stuck stderr cannot hold tunpipe for longer.
 */
static void
drain_messages(void)
{
	struct messages *m = &messages;

	if (m->until.tv_sec == 0)
		flush_deadline(&m->until);
	if (messages_to_drain(m))
		drain_within(STDERR_FILENO, &m->until, flush_messages_within, m);
}

/*
 * From now on, messages wait for stderr (see struct messages), and get a
 * last, bounded chance at exit.  Just before the packet loop.
 */
static void
defer_messages(void)
{
	fflush(stderr);
	messages.deferred = 1;
	atexit(drain_messages);
}

/* In a child about to run a command: messages go out at once. */
static void
undefer_messages(void)
{
	messages.deferred = 0;
}

/* Prints a message if the verbosity is at least level: 1 unless -q, 2 -v. */
static void __attribute__((format(printf, 2, 3)))
say(int level, const char *fmt, ...)
{
	va_list ap;

	if (opt.verbosity < level)
		return;
	va_start(ap, fmt);
	msg_vwarn(0, fmt, ap);
	va_end(ap);
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
		msg_warnx("%s (and %lu more since the last warning)", text,
		    held);
	else
		msg_warnx("%s", text);
}

/*
 * Checks a device name as the kernel's dev_valid_name() does, and no more
 * (as ip(8)'s own check does), but says what is wrong.  The kernel's
 * isspace() takes byte 0xa0 too, a no-break space in Latin-1 and part of
 * UTF-8 letters.
 */
static void
check_ifname(const char *name)
{
	if (strlen(name) >= IFNAMSIZ)
		msg_errx(EXIT_USAGE, "interface name '%s' is too long: at most "
		    "%d characters", name, IFNAMSIZ - 1);
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0
	    || strpbrk(name, "/: \t\n\v\f\r\240") != NULL)
		msg_errx(EXIT_USAGE, "interface name '%s' is not valid: the "
		    "kernel refuses an empty name, '.' and '..', and any name "
		    "with '/', ':' or white space (space, \\t, \\n, \\v, \\f, "
		    "\\r or byte 0xa0) in it", name);
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
		msg_errx(EXIT_USAGE, "-a %s: at most %d addresses", arg,
		    MAX_ADDRESSES);
	if (strlen(arg) >= sizeof(text))
		msg_errx(EXIT_USAGE, "-a %s: not an address/prefix", arg);
	strcpy(text, arg);
	if ((slash = strchr(text, '/')) != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, text, a->bytes) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, text, a->bytes) == 1)
		a->family = AF_INET6;
	else
		msg_errx(EXIT_USAGE, "-a %s: '%s' is not an IPv4 or IPv6 "
		    "address", arg, text);
	bits = a->family == AF_INET ? 32 : 128;
	prefix = bits;
	if (slash != NULL) {
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || errno != 0 ||
		    prefix < 0 || prefix > bits)
			msg_errx(EXIT_USAGE, "-a %s: the prefix must be a "
			    "number from 0 to %d", arg, bits);
	}
	a->prefix = (int)prefix;
	a->text = arg;
	for (i = 0; i < opt.naddresses; i++)
		if (opt.addresses[i].family == a->family &&
		    memcmp(opt.addresses[i].bytes, a->bytes, sizeof(a->bytes))
		    == 0)
			msg_errx(EXIT_USAGE, "-a %s: %s is given twice", arg,
			    text);
	opt.naddresses++;
}

/*
 * Parses option c's whole decimal number within [min, max], or exits
 * naming it; old is its value so far, 0 until it is given once.
 */
static int
number_once(int old, const char *arg, int c, long min, long max)
{
	char *end;
	long n;

	if (old != 0)
		msg_errx(EXIT_USAGE, "-%c given twice", c);
	errno = 0;
	n = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || errno != 0 || n < min || n > max)
		msg_errx(EXIT_USAGE, "-%c %s: must be a number from %ld to %ld",
		    c, arg, min, max);
	return (int)n;
}

static enum framing_type
parse_framing(const char *arg)
{
	enum framing_type type;

	if (framing_by_name(arg, &type) == -1)
		msg_errx(EXIT_USAGE, "-f %s: the framings are len16 (the "
		    "default), len32 and slip", arg);
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
		msg_errx(EXIT_USAGE, "%s %s: no such user", what, name);
	return pw;
}

/* An option that takes one value may be given only once. */
static const char *
once(const char *old, const char *arg, int c)
{
	if (old != NULL)
		msg_errx(EXIT_USAGE, "-%c given twice", c);
	return arg;
}

/*
 * once() for -e, whose command may not be empty or only blanks, which sh
 * skips: it would run nothing and end at once, and with -r for ever again.
 */
static const char *
exec_once(const char *old, const char *arg)
{
	once(old, arg, 'e');
	if (arg[strspn(arg, " \t\n")] == '\0')
		msg_errx(EXIT_USAGE, "-e '%s': an empty command carries no "
		    "stream; give the command that does (ssh HOST tunpipe, "
		    "say)", arg);
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
			msg_errx(EXIT_USAGE, "-m %d: IPv6 needs an MTU of at "
			    "least %d, and -a %s is IPv6", opt.mtu,
			    MTU_MIN_IPV6, opt.addresses[i].text);
	if (opt.offload && opt.no_gso)
		msg_errx(EXIT_USAGE, "-O carries the device's GSO packets, "
		    "which -G turns off: give one");
	if (opt.offload && opt.framing_name != NULL &&
	    opt.framing != FRAMING_LEN32)
		msg_errx(EXIT_USAGE, "-O sends frames too large for -f %s; "
		    "leave -f out (-O implies len32)", opt.framing_name);
	if (opt.framing == FRAMING_SLIP && opt.tap)
		msg_errx(EXIT_USAGE, "-f slip carries IP packets only; leave "
		    "-T out, or use len16 or len32 for Ethernet frames");
	if (opt.capture != NULL && strcmp(opt.capture, "-") == 0)
		msg_errx(EXIT_USAGE, "-w -: standard output is the stream; "
		    "name a file or a FIFO");
	if (opt.no_device && (opt.naddresses > 0 || opt.mtu != 0 ||
	    opt.up != NULL || opt.down != NULL || opt.exec != NULL ||
	    opt.ifname != NULL || opt.persist || opt.owner != NULL ||
	    opt.user != NULL || opt.keepalive != 0))
		msg_errx(EXIT_USAGE, "-N reads a recording and has no device: "
		    "-a, -d, -e, -i, -k, -m, -o, -p, -U and -u do not go with "
		    "it");
	if (opt.connect != NULL && (opt.naddresses > 0 || opt.mtu != 0 ||
	    opt.up != NULL || opt.down != NULL || opt.ifname != NULL ||
	    opt.persist || opt.owner != NULL || opt.no_device ||
	    opt.offload || opt.no_gso))
		msg_errx(EXIT_USAGE, "-c carries a socket's frames and has no "
		    "device: -a, -d, -G, -i, -m, -N, -O, -o, -p and -u do not "
		    "go with it");
	if (opt.respawn != 0 && opt.exec == NULL)
		msg_errx(EXIT_USAGE, "-r needs -e: tunpipe can start again "
		    "only a command it started");
	if (opt.persist && opt.ifname == NULL)
		msg_warnx("-p without -i: the persistent device gets the "
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
		case 'c':
			opt.connect = once(opt.connect, optarg, c);
			opt.tap = 1;
			break;
		case 'd':
			opt.down = once(opt.down, optarg, c);
			break;
		case 'e':
			opt.exec = exec_once(opt.exec, optarg);
			break;
		case 'f':
			opt.framing_name = once(opt.framing_name, optarg, c);
			opt.framing = parse_framing(optarg);
			break;
		case 'G':
			opt.no_gso = 1;
			break;
		case 'h':
			help();
			exit(0);
		case 'i':
			check_ifname(optarg);
			opt.ifname = once(opt.ifname, optarg, c);
			break;
		case 'k':
			opt.keepalive = number_once(opt.keepalive, optarg, c, 1,
			    SECONDS_MAX);
			break;
		case 'm':
			opt.mtu = number_once(opt.mtu, optarg, c, MTU_MIN,
			    MTU_MAX);
			break;
		case 'N':
			opt.no_device = 1;
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
			opt.respawn = number_once(opt.respawn, optarg, c, 1,
			    RESPAWN_MAX);
			break;
		case 'S':
			opt.no_seccomp = 1;
			break;
		case 's':
			opt.stats = number_once(opt.stats, optarg, c, 1,
			    SECONDS_MAX);
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
				msg_err(EXIT_FAIL, "strdup");
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
		case 'w':
			opt.capture = once(opt.capture, optarg, c);
			break;
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc) {
		msg_warnx("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	if (quiet && verbose)
		msg_errx(EXIT_USAGE, "-q and -v ask for opposite things: give "
		    "one");
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
			msg_err(EXIT_FAIL, "/dev/null");
	} while (fd <= STDERR_FILENO);
	close(fd);
}

static const char *const stdio_names[] = { "standard input",
    "standard output" };

/* The last of stdin and stdout that carries the stream: -N reads only. */
static int
stdio_used(void)
{
	return opt.no_device ? STDIN_FILENO : STDOUT_FILENO;
}

/*
 * Refuses a stream that cannot be one: standard input or output closed
 * (packets would go nowhere), or a terminal in canonical mode, where a
 * person types.  A terminal in raw mode is a serial line, and welcome.
 */
static void
check_stdio(int closed)
{
	struct termios t;
	int fd;

	for (fd = STDIN_FILENO; fd <= stdio_used(); fd++) {
		if (closed & 1 << fd)
			msg_errx(EXIT_USAGE, "%s is closed: tunpipe carries "
			    "the stream on standard input and output; connect "
			    "both to a pipe, a FIFO or a socket, or let a "
			    "command carry it with -e", stdio_names[fd]);
		if (tcgetattr(fd, &t) == 0 && (t.c_lflag & ICANON))
			msg_errx(EXIT_USAGE, "%s is a terminal in canonical "
			    "mode: tunpipe speaks a binary stream; connect it "
			    "to a pipe, a FIFO, nc or ssh, or for a serial "
			    "line set the line raw first (stty -F LINE raw "
			    "-echo SPEED)", stdio_names[fd]);
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
	int fd, flags;

	atexit(restore_stdio);
	for (fd = STDIN_FILENO; fd <= stdio_used(); fd++) {
		if ((flags = fcntl(fd, F_GETFL)) == -1 ||
		    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
			msg_err(EXIT_FAIL, "%s: cannot make it nonblocking",
			    stdio_names[fd]);
		stdio_flags[fd] = flags;
		/* A larger pipe: fewer wake-ups per byte; it may be refused. */
		fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE);
	}
}

/*
 * Signals reach the loop through a signalfd that it polls beside the
 * stream and the device.  They stay blocked, so one that arrives between
 * two turns waits in the signalfd, and every turn's poll sees it however
 * busy the loop is: a mask given to ppoll() would not do, since Linux's
 * ppoll() returns the ready descriptors without delivering a signal that
 * is pending.  SIGPIPE is ignored so that a closed stdout shows up as
 * EPIPE, and ends tunpipe with a message; SIGXFSZ so that a file that
 * reaches the size limit (ulimit -f) fails a write with EFBIG, which -w
 * survives, instead of killing tunpipe.  Returns the signalfd.
 */
static int
open_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };
	sigset_t set;
	size_t i;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	sigemptyset(&set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		msg_err(EXIT_FAIL, "signalfd");
	return fd;
}

/*
 * Opens the socket of a service manager that started tunpipe and waits
 * to hear from it (NOTIFY_SOCKET: systemd's Type=notify), before the
 * filter, and keeps its variables from the commands tunpipe runs.  One
 * that cannot be used gets a warning, not an exit: the tunnel works
 * without it, and the manager's own timeout says the rest.
 */
static void
open_notify(struct notify *n)
{
	const char *path = getenv("NOTIFY_SOCKET");
	char copy[128];

	snprintf(copy, sizeof(copy), "%s", path != NULL ? path : "");
	if (notify_open(n) == 0)
		return;
	if (errno == EINVAL || errno == ENAMETOOLONG)
		msg_warnx("NOTIFY_SOCKET=%s: %s: the service manager will "
		    "not hear from tunpipe; unset NOTIFY_SOCKET, or give it "
		    "the manager's socket", copy, errno == EINVAL ?
		    "not an absolute path nor @name" :
		    "too long for a Unix socket's path");
	else
		msg_warn("NOTIFY_SOCKET=%s: socket: the service manager will "
		    "not hear from tunpipe", copy);
}

/*
 * TUNSETIFF's EINVAL: a name the kernel cannot number, a device of the
 * other mode, or one of another driver.
 */
static void __attribute__((noreturn))
invalid_device(const char *name, int e)
{
	const char *mode = opt.tap ? "tap" : "tun";
	struct device_driver_info info;

	if (device_driver(name, &info) == -1)
		msg_errx(EXIT_DEVICE, "TUNSETIFF %s: %s: the kernel takes no "
		    "such name: at most one %%d, which it replaces with a "
		    "number", name, strerror(e));
	if (strcmp(info.driver, "tun") == 0 && strcmp(info.mode, mode) != 0)
		msg_errx(EXIT_DEVICE, "TUNSETIFF %s: %s: %s is a %s device: %s",
		    name, strerror(e), name, opt.tap ? "TUN" : "TAP", opt.tap ?
		    "leave -T out" : "add -T");
	msg_errx(EXIT_DEVICE, "TUNSETIFF %s: %s: a device of that name exists "
	    "and is not a %s device%s%s%s; pick another name with -i", name,
	    strerror(e), mode, *info.driver ? " (its driver is " : "",
	    info.driver, *info.driver ? ")" : "");
}

/* Explains why TUNSETIFF failed, in terms of what to do about it. */
static void __attribute__((noreturn))
device_error(const char *name, int e)
{
	const char *mode = opt.tap ? "tap" : "tun";

	switch (e) {
	case EPERM:
	case EACCES:
		msg_errx(EXIT_DEVICE, "TUNSETIFF %s: %s: creating a device, or "
		    "attaching to one owned by another user, needs "
		    "CAP_NET_ADMIN; run as root, or create a persistent device "
		    "owned by you (ip tuntap add dev NAME mode %s user USER) "
		    "and pass -i NAME", name, strerror(e), mode);
	case EBUSY:
		msg_errx(EXIT_DEVICE, "TUNSETIFF %s: %s: another process has "
		    "the device open; stop it, or pick another name with -i",
		    name, strerror(e));
	case EINVAL:
		invalid_device(name, e);
	default:
		errno = e;
		msg_err(EXIT_DEVICE, "TUNSETIFF %s", name);
	}
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

/* Explains why the clone device would not open (errno e). */
static void __attribute__((noreturn))
clone_error(int e)
{
	errno = e;
	if (e == ENOENT || e == ENODEV || e == ENXIO)
		msg_err(EXIT_DEVICE, "%s: the kernel has no TUN/TAP support "
		    "loaded; try modprobe tun", DEVICE_CLONE);
	if (e == EACCES || e == EPERM)
		msg_err(EXIT_DEVICE, "%s: run as root, or give this user read "
		    "and write access to %s and a persistent device (ip tuntap "
		    "add dev NAME mode %s user USER), then pass -i NAME",
		    DEVICE_CLONE, DEVICE_CLONE, opt.tap ? "tap" : "tun");
	msg_err(EXIT_DEVICE, "%s", DEVICE_CLONE);
}

/* Says which step of device_open() failed (errno e), and what to do. */
static void __attribute__((noreturn))
open_error(const struct device *dev, const char *want, int e)
{
	if (dev->failed == DEVICE_CLONE_OPEN)
		clone_error(e);
	errno = e;
	if (dev->failed == DEVICE_VNET_HDR)	/* TUNSETIFF took it, not -O */
		msg_err(EXIT_DEVICE, "%s: the kernel refuses the virtio-net "
		    "header that -O needs; leave -O out", dev->name);
	device_error(want, e);
}

/* -v: the offloads the kernel did not grant with the virtio-net header. */
static void
say_offloads(const struct device *dev)
{
	if (!dev->vnet || (dev->offloads & DEVICE_USO))
		return;
	say(2, "%s: no UDP segmentation offload in this kernel", dev->name);
	if (!(dev->offloads & DEVICE_TSO))
		say(2, "%s: no TCP segmentation offload in this kernel: "
		    "ordinary packets only", dev->name);
}

/*
 * Creates the device, or attaches to the persistent one of that name, and
 * makes it persistent or gives it an owner when asked.  The offloads are
 * on unless -G says no: -O carries the device's GSO packets as they are,
 * else tunpipe cuts and merges them itself (see drain_device() and
 * to_device()).  Where the kernel refuses them, tunpipe goes on one
 * ordinary packet at a time, as -G does, and -v says so.
 */
static void
open_device(struct device *dev)
{
	const char *want = opt.ifname ? opt.ifname : opt.tap ? "tap%d" : "tun%d";
	int r, e;

	r = device_open(dev, want, opt.tap, opt.no_gso ? DEVICE_VNET_NONE :
	    opt.offload ? DEVICE_VNET_NEEDED : DEVICE_VNET_WANTED);
	e = errno;
	if (dev->vnet_refused != 0)
		say(2, "%s: no virtio-net header in this kernel (%s): one "
		    "packet at a time", want, strerror(dev->vnet_refused));
	if (r == -1)
		open_error(dev, want, e);
	say_offloads(dev);
	say(2, "device %s (%s%s)", dev->name, dev->tap ? "tap" : "tun",
	    opt.offload ? ", -O" : dev->vnet ? ", offloads" : "");

	if (opt.owner != NULL && device_set_owner(dev, opt.owner_uid) == -1)
		msg_err(EXIT_DEVICE, "TUNSETOWNER %s %s%s", dev->name,
		    opt.owner, privilege_hint(errno));
	if (opt.persist && device_persist(dev) == -1)
		msg_err(EXIT_DEVICE, "TUNSETPERSIST %s%s", dev->name,
		    privilege_hint(errno));
}

/* Says which step of device_configure() failed, and what to do. */
static void __attribute__((noreturn))
configure_error(const struct device *dev)
{
	const char *name = dev->name;
	int e = errno;

	switch (dev->failed) {
	case DEVICE_SOCKET:
		msg_err(EXIT_DEVICE, "socket");
	case DEVICE_SET_MTU:
		msg_err(EXIT_DEVICE, "SIOCSIFMTU %s %d%s", name, opt.mtu,
		    privilege_hint(e));
	case DEVICE_INDEX:
		msg_err(EXIT_DEVICE, "SIOCGIFINDEX %s", name);
	case DEVICE_NETLINK:
		msg_err(EXIT_DEVICE, "rtnetlink socket");
	case DEVICE_SEND:
		msg_err(EXIT_DEVICE, "rtnetlink");
	case DEVICE_NO_ANSWER:
		msg_errx(EXIT_DEVICE, "rtnetlink: no answer to adding %s",
		    opt.addresses[dev->address].text);
	case DEVICE_ADDRESS:
		msg_err(EXIT_DEVICE, "adding address %s to %s%s",
		    opt.addresses[dev->address].text, name, privilege_hint(e));
	case DEVICE_GET_FLAGS:
		msg_err(EXIT_DEVICE, "SIOCGIFFLAGS %s", name);
	case DEVICE_SET_FLAGS:
		msg_err(EXIT_DEVICE, "SIOCSIFFLAGS %s up%s", name,
		    privilege_hint(e));
	case DEVICE_GET_MTU:
	default:
		msg_err(EXIT_DEVICE, "SIOCGIFMTU %s", name);
	}
}

/* Sets what the options ask of the device: MTU, addresses, link up. */
static void
configure_device(struct device *dev)
{
	struct device_address addrs[MAX_ADDRESSES];
	size_t i;

	for (i = 0; i < opt.naddresses; i++) {
		addrs[i].family = opt.addresses[i].family;
		memcpy(addrs[i].bytes, opt.addresses[i].bytes,
		    sizeof(addrs[i].bytes));
		addrs[i].prefix = opt.addresses[i].prefix;
	}
	if (device_configure(dev, opt.mtu, addrs, opt.naddresses) == -1)
		configure_error(dev);
}

/*
 * -e -r: the carrier follows the stream.  From a stream's end until the
 * command starts again, the device's carrier is off (ip link shows
 * NO-CARRIER), so that a routing daemon sees the link go down at once,
 * rather than after its own dead interval, and routes around it; the
 * device and its addresses stay.  It comes back when the command starts,
 * not when the peer is first heard: a device without carrier drops what
 * is sent through it, so two ends waiting to hear each other would wait
 * for ever.  Linux 5.0 has TUNSETCARRIER; where the kernel has not, the
 * carrier stays on, and -v says so once.
 */
static void
set_carrier(struct device *dev, int on)
{
	switch (device_set_carrier(dev, on)) {
	case -1:
		say(2, "TUNSETCARRIER %s: %s: the carrier cannot follow the "
		    "stream", dev->name, strerror(errno));
		break;
	case 1:
		say(2, "%s: carrier %s", dev->name, on ? "on" : "off");
		break;
	}
}

/*
 * Describes the device in the environment that the --up, --down and -e
 * commands inherit.
 */
static void
export_device(const struct device *dev)
{
	char mtu[16];

	snprintf(mtu, sizeof(mtu), "%d", dev->mtu);
	if (setenv("TUNPIPE_IFNAME", dev->name, 1) == -1 ||
	    setenv("TUNPIPE_MTU", mtu, 1) == -1 ||
	    setenv("TUNPIPE_MODE", dev->tap ? "tap" : "tun", 1) == -1)
		msg_err(EXIT_FAIL, "setenv");
}

/*
 * -c: connects to the socket that stands in for a device, or says why it
 * cannot, in terms of what to do.
 */
static void
connect_socket(struct device *dev, struct device_socket *sock)
{
	const char *path = opt.connect;

	if (device_connect(dev, path, sock) == 0) {
		say(2, "device %s (a socket, len32)", path);
		return;
	}
	switch (errno) {
	case ENOENT:
		msg_errx(EXIT_DEVICE, "-c %s: no such socket: start passt "
		    "(passt -s %s) or QEMU (-netdev stream,server=on) first, "
		    "and wait for it to make the socket", path, path);
	case ECONNREFUSED:
		msg_errx(EXIT_DEVICE, "-c %s: nothing listens there: passt "
		    "or QEMU ended (passt -1 serves one client, then exits), "
		    "or %s is not a socket; start it again", path, path);
	case EACCES:
		msg_errx(EXIT_DEVICE, "-c %s: %s: passt run as root drops to "
		    "nobody and makes its socket so; run passt as you, or "
		    "tunpipe as its user", path, strerror(errno));
	case ENAMETOOLONG:
		msg_errx(EXIT_DEVICE, "-c %s: a socket's path has %zu "
		    "characters at most; use a shorter one", path,
		    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	default:
		msg_err(EXIT_DEVICE, "-c %s", path);
	}
}

/*
 * In a child, runs cmd through /bin/sh with the signal mask, SIGPIPE and
 * SIGXFSZ as a shell expects them.
 */
static void __attribute__((noreturn))
exec_shell(const char *which, const char *cmd)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGXFSZ, SIG_DFL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	msg_warn("%s: /bin/sh", which);
	_exit(127);		/* not exit(): that would run tunpipe's atexit */
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
run_hook(const char *which, const char *cmd)
{
	int status, fd;
	pid_t pid;

	if ((pid = fork()) == -1)
		msg_err(EXIT_FAIL, "%s: fork", which);
	if (pid == 0) {
		undefer_messages();
		if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(fd, STDIN_FILENO) == -1 ||
		    dup2(STDERR_FILENO, STDOUT_FILENO) == -1) {
			msg_warn("%s", which);
			_exit(127);
		}
		exec_shell(which, cmd);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			msg_err(EXIT_FAIL, "%s: waitpid", which);
	return status;
}

/*
 * Becomes opt.user for good (see confine_user()), or exits saying which
 * step failed.
 */
static void
drop_privileges(void)
{
	static const char *const call[] = {
		[CONFINE_INITGROUPS] = "initgroups",
		[CONFINE_SETGID] = "setgid",
		[CONFINE_SETUID] = "setuid",
	};
	enum confine_step step;

	if (confine_user(opt.user, opt.user_uid, opt.user_gid, &step) == -1) {
		if (step == CONFINE_ROOT_AGAIN)
			msg_errx(EXIT_FAIL, "-U %s: could become root again",
			    opt.user);
		msg_err(EXIT_FAIL, "-U %s: %s", opt.user, call[step]);
	}
	say(2, "running as %s", opt.user);
}

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
 * Confines the packet loop with confine.c's seccomp filter: a stream from
 * an untrusted peer then cannot make tunpipe do anything else, whatever
 * bug it finds.  -e's command is started by a process forked before (see
 * starter_fork()); --down's would inherit the filter, so with --down
 * there is none.  On an architecture the filter does not know, tunpipe
 * runs unconfined and says so unless -S or -q: refusing to start would
 * only make every user there add -S, which would then stay in their
 * commands once a filter exists.
 */
static void
confine(void)
{
	int allowed = confine_syscalls_allowed();
	struct utsname host;

	if (opt.no_seccomp || opt.down != NULL) {
		say(2, "seccomp: off (%s)", opt.no_seccomp ? "-S" :
		    "the --down command would inherit the filter");
		return;
	}
	if (allowed == 0) {
		if (uname(&host) == -1)
			strcpy(host.machine, "unknown");
		say(1, "seccomp: off: this tunpipe has no filter for its "
		    "architecture (%s), so the packet loop runs unconfined; "
		    "-S runs it so without this warning", host.machine);
		return;
	}
	if (confine_syscalls(report_seccomp) == -1) {
		if (errno != EINVAL)
			msg_err(EXIT_FAIL, "seccomp");
		say(2, "seccomp: off (not in this kernel)");
		return;
	}
	say(2, "seccomp: on, %d system calls allowed", allowed);
}

/*
 * -w: opens the capture's file (see capture_open()), before privilege is
 * dropped and before the filter, or exits saying why it cannot.
 */
static int
open_capture(const char *path)
{
	uid_t uid = opt.user != NULL ? opt.user_uid : (uid_t)-1;
	gid_t gid = opt.user != NULL ? opt.user_gid : (gid_t)-1;
	enum capture_step step;
	int fd;

	if ((fd = capture_open(path, uid, gid, &step)) != -1)
		return fd;
	switch (step) {
	case CAPTURE_SYMLINK:
		msg_errx(EXIT_USAGE, "-w %s is a symbolic link, which -w does "
		    "not follow: a link in a shared directory could point the "
		    "capture at another file; name the file itself", path);
	case CAPTURE_FCHOWN:
		msg_err(EXIT_FAIL, "-w %s: fchown to -U %s", path, opt.user);
	case CAPTURE_OPEN:
		break;
	}
	msg_err(EXIT_USAGE, "-w %s", path);
}

/*
 * -w: the loop's turn at the capture: writes what waits, and says when
 * writes fail, naming the error, and when they work again.
 */
static void
flush_capture(struct tunpipe *tp)
{
	struct capture_file *cap = &tp->cap;

	capture_write(cap);
	switch (capture_news(cap)) {
	case CAPTURE_FAILING:
		warn_limited(&tp->warn.capture, "-w %s: %s: %" PRIu64 " packets "
		    "lost so far; the capture stays readable", opt.capture,
		    strerror(cap->error), cap->lost);
		break;
	case CAPTURE_WORKING:
		warn_limited(&tp->warn.capture_again, "-w %s: writing again, "
		    "after %" PRIu64 " packets lost", opt.capture, cap->lost);
		break;
	case CAPTURE_QUIET:
		break;
	}
}

/* drain_within()'s flush for the capture: records, until the deadline. */
static int
write_capture_within(void *cap, int late)
{
	return !late && capture_write(cap);
}

/*
 * -w: at the end, gives the records still waiting a last, bounded chance
 * to reach the capture's file, at once even after a failed write; the
 * rest are lost (see capture_end()).  Says how many were lost, and why.
 */
static void
finish_capture(struct tunpipe *tp)
{
	struct capture_file *cap = &tp->cap;
	char why[128] = "a capture reader that could not keep up";
	struct timespec deadline;
	int cut;

	flush_deadline(&deadline);
	if (capture_write_now(cap))
		drain_within(cap->fd, &deadline, write_capture_within, cap);
	cut = capture_end(cap);
	if (cap->lost == 0 && !cut)
		return;
	if (cap->error != 0)
		snprintf(why, sizeof(why), "writes that failed (%s)",
		    strerror(cap->error));
	say(1, "-w %s: %" PRIu64 " packets lost to %s%s", opt.capture,
	    cap->lost, why, cut ? ", and the capture ends cut short" : "");
}

/*
 * Readies the stream as the options say: its framing and -O's header, its
 * buffers sized for the mode, its decoder, its judge (of tap's frames, or
 * IP packets) and what it keeps time for.  The largest packet either way
 * is what the framing can carry, never the MTU, which may differ at the
 * two ends or change while tunpipe runs.
 */
static void
init_stream(struct stream *st, int tap)
{
	st->framing = opt.offload ? FRAMING_LEN32 : opt.framing;
	st->header = opt.offload ? OFFLOAD_VNET_LEN : 0;
	st->from_command = opt.exec != NULL;
	st->keepalive = opt.keepalive;
	st->timed = opt.keepalive != 0 || opt.stats != 0;
	st->max = framing_packet_max(st->framing);
	st->reserve = framing_encoded_max(st->framing, DEVICE_READ);
	st->inbuf_size = opt.offload ? INBUF_SIZE_O : INBUF_SIZE;
	st->outbuf_size = (opt.offload ? OUTBUF_SIZE_O : OUTBUF_SIZE) +
	    st->reserve;
	framing_decoder_init(&st->dec, st->framing, st->max, st->assembly);
	judge_init(&st->judge, tap, st->header, st->framing);
	st->in = STDIN_FILENO;
	st->out = STDOUT_FILENO;
}

/*
 * Readies the GSO work: where the device's offloads are on and the stream
 * carries ordinary packets (it does, unless -O), tunpipe cuts the device's
 * GSO packets and merges the stream's segments itself, the merge taking
 * the device's packets (TAP: Ethernet frames), and merging only what the
 * device was granted to take: TCP with TSO, UDP with USO.
 */
static void
init_gso(struct gso *gso, const struct device *dev, const struct stream *st)
{
	int kinds = (dev->offloads & DEVICE_TSO ? OFFLOAD_MERGE_TCP : 0) |
	    (dev->offloads & DEVICE_USO ? OFFLOAD_MERGE_UDP : 0);

	gso->inside = dev->vnet && st->header == 0;
	offload_merge_init(&gso->merge, dev->tap, kinds);
}

/*
 * Why a stream whose frames stopped making sense most likely did.  A peer
 * that never sent a good frame speaks another framing, mode or -O (kind
 * says which it looks like); one that did lost bytes on the way, or had
 * them reordered, as a datagram transport does when it loses a datagram,
 * after which a length framing cannot find its place again (SLIP can).
 */
static void
say_broken(const struct stream *st, enum judge_kind kind, const char *what)
{
	uint64_t good = st->judge.good_frames;

	if (good == 0 && st->framing == FRAMING_SLIP)
		msg_warnx("%s %s; or is the line's speed wrong?", what,
		    judge_cause(kind));
	else if (good == 0)
		msg_warnx("stream error: %s %s", what, judge_cause(kind));
	else if (st->framing == FRAMING_SLIP)
		msg_warnx("%s after %" PRIu64 " good frames, by byte %" PRIu64 " "
		    "of the stream: bytes were lost on the way (a noisy line, "
		    "or a datagram transport that lost a datagram)", what,
		    good, st->frame_at);
	else
		msg_warnx("stream error: %s after %" PRIu64 " good frames, by "
		    "byte %" PRIu64 " of the stream: bytes were lost or "
		    "reordered on the way, as a datagram transport (socat UDP) "
		    "does when it loses a datagram, and -f %s cannot find its "
		    "place again; over a datagram transport use -f slip at "
		    "both ends", what, good, st->frame_at,
		    framing_name(st->framing));
}

/*
 * Weighs a frame of len bytes in the stream's judge (judge_weigh()), and
 * says what its verdict means.  Returns END_BROKEN when the stream broke,
 * else END_NONE.
 */
static enum end
judge_frame(struct stream *st, enum judge_kind kind, size_t len)
{
	enum judge_verdict verdict = judge_weigh(&st->judge, kind);
	char what[64];

	if (verdict == JUDGE_CARRY_ON)
		return END_NONE;
	if (verdict == JUDGE_BROKEN_NOW) {
		msg_warnx("stream error: a %zu-byte frame %s", len,
		    judge_cause(kind));
		return END_BROKEN;
	}
	snprintf(what, sizeof(what), "%d frames in a row %s", JUDGE_BAD_RUN,
	    st->judge.good_frames == 0 ? "held" : "were no packets");
	say_broken(st, kind, what);
	return verdict == JUDGE_BROKEN ? END_BROKEN : END_NONE;
}

/*
 * Counts packets the device refused, with a warning that names the MTUs
 * when the packet (len bytes, the first of them) is larger than the
 * device's: the kernel takes such an IP packet, but what is in its way
 * (a bridge, say) may not.
 */
static void
count_refused(struct tunpipe *tp, int e, size_t packets, size_t len)
{
	int mtu = device_mtu(&tp->dev);

	tp->count.drop_device += packets;
	if (len - (tp->dev.tap ? ETH_HLEN : 0) > (size_t)mtu)
		warn_limited(&tp->warn.device, "write to %s: %s; dropped a "
		    "%zu-byte packet, larger than %s's MTU of %d: the peer's "
		    "is larger; give both ends the same MTU (-m)", tp->dev.name,
		    strerror(e), len, tp->dev.name, mtu);
	else
		warn_limited(&tp->warn.device, "write to %s: %s%s; dropped "
		    "%zu packet%s of %zu bytes", tp->dev.name, strerror(e),
		    e == EIO ? " (is the device down?)" : "", packets,
		    packets == 1 ? "" : "s, the first", len);
}

/* Writes a packet to the device as it came: -O's frame, or -G's packet. */
static void
write_device(struct tunpipe *tp, const uint8_t *p, size_t len)
{
	size_t skip = tp->st.header;

	if (tp->dev.socket != NULL ? device_send(&tp->dev, p, len) == -1 :
	    write(tp->dev.fd, p, len) == -1) {
		count_refused(tp, errno, 1, len - skip);
		return;
	}
	tp->count.in_packets++;
	tp->count.in_bytes += len - skip;
}

/* Writes pieces[0..n) to the device in one writev(). */
static ssize_t
write_pieces(const struct device *dev, const struct offload_piece *pieces,
    size_t n)
{
	struct iovec iov[OFFLOAD_PIECES_MAX];
	size_t i;

	for (i = 0; i < n; i++) {
		iov[i].iov_base = (void *)(uintptr_t)pieces[i].data;
		iov[i].iov_len = pieces[i].len;
	}
	return writev(dev->fd, iov, (int)n);
}

/*
 * A merged batch the device refused (errno e): the kernel took the device's
 * offload and then refused what it offered, as some kernels have done with
 * UDP.  Says so once, merges no more of that kind (batches merged already
 * may still be refused, without a word), and writes the batch's packets
 * one by one, so that none is lost to it.
 */
static void
write_unmerged(struct tunpipe *tp, const struct offload_write *w, int e)
{
	static const uint8_t none[OFFLOAD_VNET_LEN];
	struct offload_piece one[2] = { { none, sizeof(none) } };
	int udp = w->kind == OFFLOAD_MERGE_UDP;
	size_t i;

	offload_merge_stop(&tp->gso.merge, w->kind);
	if (!(tp->gso.refused & w->kind))
		msg_warnx("write to %s: %s, for %zu %s merged into one: the "
		    "kernel refuses the offload it granted; %s goes one "
		    "packet at a time from now on", tp->dev.name, strerror(e),
		    w->npackets, udp ? "UDP datagrams" : "TCP segments",
		    udp ? "UDP" : "TCP");
	tp->gso.refused |= w->kind;
	for (i = 0; i < w->npackets; i++) {
		one[1] = w->packets[i];
		if (write_pieces(&tp->dev, one, 2) == -1) {
			count_refused(tp, errno, 1, one[1].len);
			continue;
		}
		tp->count.in_packets++;
		tp->count.in_bytes += one[1].len;
	}
}

/*
 * Writes the batches the merge has to be taken, oldest first, each in one
 * writev(): a GSO packet made of the segments, or a packet alone, after
 * its virtio-net header.
 */
static void
write_due(struct tunpipe *tp)
{
	struct offload_write *w = &tp->gso.write;

	while (offload_merge_take(&tp->gso.merge, w) > 0) {
		if (write_pieces(&tp->dev, w->pieces, w->npieces) != -1) {
			tp->count.in_packets += w->npackets;
			tp->count.in_bytes += w->bytes;
		} else if (w->kind != 0 && errno == EINVAL) {
			write_unmerged(tp, w, errno);
		} else {
			count_refused(tp, errno, w->npackets,
			    w->packets[0].len);
		}
	}
}

/* Writes everything the merge holds: the input is about to be reused. */
static void
write_batches(struct tunpipe *tp)
{
	offload_merge_flush(&tp->gso.merge);
	write_due(tp);
}

/*
 * Hands a good packet from the stream to the device.  With the offloads
 * inside, it joins the merge, which gathers the TCP segments and UDP
 * datagrams of each flow into GSO packets: its payload stays where it
 * lies, in the input buffer, until write_due() (at the end of each read of
 * the stream at the latest).  A packet the decoder gathered in its
 * assembly buffer, which the next decode overwrites, goes at once, with
 * all that the merge holds.  With no device (-N), it is counted as a
 * device would take it.
 */
static void
to_device(struct tunpipe *tp, const uint8_t *p, size_t len)
{
	struct stream *st = &tp->st;
	struct gso *gso = &tp->gso;

	if (tp->dev.fd == -1) {
		tp->count.in_packets++;
		tp->count.in_bytes += len - st->header;
		return;
	}
	if (!gso->inside) {
		write_device(tp, p, len);
		return;
	}
	if (!offload_merge_add(&gso->merge, p, len)) {
		write_due(tp);
		offload_merge_add(&gso->merge, p, len);
	}
	if (p >= st->assembly && p < st->assembly + sizeof(st->assembly))
		write_batches(tp);
}

/*
 * For a message that names lost bytes: a length framing cannot find its
 * place again after a loss, and SLIP can.
 */
static const char *
slip_hint(const struct stream *st)
{
	return st->framing == FRAMING_SLIP ? "" : " Over a datagram "
	    "transport, use -f slip at both ends.";
}

/*
 * A frame of len bytes at p, of a kind that judge_is_refused(): dropped,
 * counted and warned about, or the end of the stream.  Only its first
 * bytes are read (see judge_classify()).  A frame that is no packet after
 * good ones, or whose IP header gives another length, most likely means
 * lost bytes; before any good one, a peer of the other mode.
 */
static enum end
refuse_frame(struct tunpipe *tp, const uint8_t *p, size_t len,
    enum judge_kind kind)
{
	const struct stream *st = &tp->st;
	size_t skip = st->header;
	int tap = st->judge.tap;

	if (kind == JUDGE_NO_VNET || kind == JUDGE_VNET)
		return judge_frame(&tp->st, kind, len);
	tp->count.drop_invalid++;
	if (kind == JUDGE_IP_LENGTH)
		warn_limited(&tp->warn.invalid, "dropped a %zu-byte frame "
		    "whose IP header gives another length: were bytes lost or "
		    "reordered on the way (a noisy line, a datagram transport "
		    "that lost a datagram)?%s", len - skip, slip_hint(st));
	else if (kind == JUDGE_NOT_IP && st->judge.good_frames > 0)
		warn_limited(&tp->warn.invalid, "dropped a %zu-byte frame "
		    "that is not an IPv4 or IPv6 packet (first byte 0x%02x), "
		    "after %" PRIu64 " good ones: were bytes lost or reordered "
		    "on the way (a noisy line, a datagram transport that lost "
		    "a datagram)?%s", len - skip, len > skip ? p[skip] : 0,
		    st->judge.good_frames, slip_hint(st));
	else
		warn_limited(&tp->warn.invalid, "dropped a %zu-byte frame "
		    "that is not %s (first byte 0x%02x); is the peer %s, or "
		    "using another framing?", len - skip, tap ?
		    "an Ethernet frame" : "an IPv4 or IPv6 packet",
		    len > skip ? p[skip] : 0, tap ? "without -T" :
		    "in TAP mode (-T)");
	return judge_frame(&tp->st, kind, len);
}

/* -w: a frame from the stream, as the device takes it: after -O's header. */
static void
record_inbound(struct tunpipe *tp, const uint8_t *p, size_t len)
{
	capture_packet(&tp->cap, PCAPNG_INBOUND, p + tp->st.header,
	    len - tp->st.header);
}

/*
 * Hands one packet from the stream to the device, or drops and counts it;
 * after_empty says that an empty frame came right before it.  Returns
 * END_NONE, or END_BROKEN when the frames show that the peer disagrees
 * about -O, the mode or the framing.  A frame judged while half read is
 * only captured now.
 */
static enum end
deliver_packet(struct tunpipe *tp, const uint8_t *p, size_t len,
    int after_empty)
{
	struct stream *st = &tp->st;
	enum judge_kind kind;
	enum end end;

	if (st->judged) {
		st->judged = 0;
		record_inbound(tp, p, len);
		return END_NONE;
	}
	kind = judge_classify(&st->judge, p, len, after_empty);
	if (kind != JUDGE_NO_VNET)
		record_inbound(tp, p, len);
	if (judge_is_refused(kind))
		return refuse_frame(tp, p, len, kind);
	if ((end = judge_frame(st, kind, len)) == END_NONE)
		to_device(tp, p, len);
	return end;
}

/* A frame announces len bytes, more than its framing carries. */
static enum end
too_big(const struct stream *st, size_t len)
{
	char what[128];

	if (st->judge.good_frames > 0) {
		snprintf(what, sizeof(what), "a frame announces %zu bytes, "
		    "more than -f %s carries (%zu),", len,
		    framing_name(st->framing), st->max);
		say_broken(st, JUDGE_NOT_IP, what);
	} else {
		msg_warnx("stream error: a frame announces %zu bytes, more "
		    "than -f %s carries (%zu); the peer most likely uses "
		    "another framing (-f)%s, or is not tunpipe", len,
		    framing_name(st->framing), st->max, st->header != 0 ?
		    ", or -O at one end only" : "");
	}
	return END_BROKEN;
}

/*
 * Whether one empty frame, no more, came between the last frame and the
 * one being read, wherever the reads cut the stream between them.
 */
static int
after_empty(const struct stream *st)
{
	return st->dec.keepalives == st->keepalives_at + 1;
}

/*
 * A frame half read (a length framing) whose first bytes already show
 * that it is refused (judge_is_refused()) is judged then, once, as it
 * will be whole: counted, warned about and weighed in the run of bad
 * frames at once, and only captured when its rest comes.  So what the
 * frames of a stream do (the counters, whether and where a run ends the
 * stream, the messages) does not depend on where its reads end.  A stream
 * that lost its place, reading a length of up to 64 KiB from inside a
 * packet, says so as soon as that frame's first bytes come, rather than
 * waiting in silence for bytes that no packet will fill; it still waits
 * for them, and a run of such frames ends it, as whole frames would.  To
 * end the stream at the first such frame half read would end a tunnel for
 * one odd frame whenever a read happened to cut that frame.
 */
static enum end
judge_partial_frame(struct tunpipe *tp)
{
	struct stream *st = &tp->st;
	enum judge_kind kind;
	size_t have, want;

	if (st->judged || framing_decoder_partial(&st->dec, &have, &want) !=
	    FRAMING_IN_PACKET || want == 0 ||
	    have < st->header + JUDGE_CLASSIFY_BYTES)
		return END_NONE;
	kind = judge_classify(&st->judge, st->assembly, want, after_empty(st));
	if (!judge_is_refused(kind))
		return END_NONE;		/* judged whole */
	st->judged = 1;
	st->frame_at = st->read_total - have - framing_header_len(st->framing);
	return refuse_frame(tp, st->assembly, want, kind);
}

/* A frame that SLIP dropped: counted, warned about, and a bad frame. */
static enum end
drop_damaged(struct tunpipe *tp, enum framing_result r)
{
	tp->count.drop_damaged++;
	warn_limited(&tp->warn.damaged, "dropped a damaged SLIP frame (%s); "
	    "is the line noisy, or its speed or framing wrong?",
	    r == FRAMING_OVERLONG ? "longer than 65535 bytes" : "bad escape");
	return judge_frame(&tp->st, JUDGE_DAMAGED, 0);
}

/*
 * Notes where the frame that the decoder just handed back (r, with a
 * packet of len bytes) starts in the stream, for messages; end is the
 * byte after it, or after the header of one too big.  However the reads
 * cut the stream, it is the same.  SLIP's escapes hide where a frame
 * starts: there, where it ends.
 */
static void
mark_frame_start(struct stream *st, enum framing_result r, size_t len,
    uint64_t end)
{
	st->frame_at = end;
	if (st->framing != FRAMING_SLIP)
		st->frame_at -= framing_header_len(st->framing) +
		    (r == FRAMING_PACKET ? len : 0);
}

/* The stream, for messages: stdio's side, or the -e command's socket. */
static const char *
stream_name(const struct stream *st, const char *stdio)
{
	return st->from_command ? "the -e command's stream" : stdio;
}

/*
 * Reads what the stream has, at most one buffer, and delivers every whole
 * packet in it.  Returns END_NONE, or why the loop ends: END_INPUT at the
 * end of the input (-e's too), END_COMMAND when -e's command reset the
 * connection, END_BROKEN, or END_FAILED.
 */
static enum end
read_stream(struct tunpipe *tp)
{
	struct stream *st = &tp->st;
	struct framing_packet pkt;
	enum framing_result r;
	enum end end = END_NONE;
	size_t pos = 0, used;
	ssize_t n;

	n = read(st->in, st->inbuf, st->inbuf_size);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return END_NONE;
		if (st->from_command && errno == ECONNRESET)
			return END_COMMAND;
		msg_warn("read from %s", stream_name(st, "standard input"));
		return END_FAILED;
	}
	if (n == 0)
		return END_INPUT;
	if (st->timed)
		st->last_received = monotonic_seconds();
	st->read_total += (size_t)n;
	while (pos < (size_t)n && end == END_NONE) {
		r = framing_decode(&st->dec, st->inbuf + pos, (size_t)n - pos,
		    &used, &pkt);
		pos += used;
		if (r != FRAMING_AGAIN)
			mark_frame_start(st, r, pkt.len,
			    st->read_total - ((size_t)n - pos));
		switch (r) {
		case FRAMING_PACKET:
			end = deliver_packet(tp, pkt.data, pkt.len,
			    after_empty(st));
			break;
		case FRAMING_AGAIN:
			break;
		case FRAMING_DAMAGED:
		case FRAMING_OVERLONG:
			end = drop_damaged(tp, r);
			break;
		case FRAMING_TOO_BIG:
			end = too_big(st, pkt.len);
			break;
		}
		if (r != FRAMING_AGAIN)
			st->keepalives_at = st->dec.keepalives;
	}
	if (end == END_NONE)
		end = judge_partial_frame(tp);
	write_batches(tp);	/* before the next read overwrites the input */
	return end;
}

/*
 * Moves out_frame past the frames the stream has taken whole, so that it
 * marks where the frame being written starts.
 */
static void
skip_sent_frames(struct stream *st)
{
	size_t len;

	while (st->out_frame < st->out_head) {
		len = framing_frame_len(st->framing, st->outbuf + st->out_frame);
		if (st->out_frame + len > st->out_head)
			break;
		st->out_frame += len;
	}
}

/* Whether the output buffer has room for one more device read. */
static int
output_has_room(const struct stream *st)
{
	return st->outbuf_size - st->out_tail >= st->reserve;
}

/*
 * Once the stream has taken some of the frames, and there is no room for
 * a device read after the rest, moves the rest to the front.  The frame
 * being written moves whole, so that a break (-r) can still find where it
 * ends.
 */
static void
compact_output(struct stream *st)
{
	if (output_has_room(st))
		return;
	skip_sent_frames(st);
	if (st->out_frame == 0)
		return;
	memmove(st->outbuf, st->outbuf + st->out_frame,
	    st->out_tail - st->out_frame);
	st->out_head -= st->out_frame;
	st->out_tail -= st->out_frame;
	st->out_frame = 0;
}

/*
 * A stream that ended with a mismatch, too few frames to break it (see
 * judge_ended_mismatched()): says what they held, and that it broke.
 */
static enum end
mismatched_end(const struct stream *st)
{
	msg_warnx("stream error: the stream ended after %u frames, which held "
	    "%s", st->judge.bad_run, judge_cause(st->judge.bad_kind));
	return END_BROKEN;
}

/*
 * Writes waiting frames to the stream, as much as it takes now.  Returns
 * END_NONE, or END_OUTPUT when stdout's reader went away, END_COMMAND when
 * -e's command did, END_BROKEN when that shows a mismatch, or END_FAILED.
 */
static enum end
flush_output(struct stream *st)
{
	ssize_t n;

	while (st->out_head < st->out_tail) {
		n = write(st->out, st->outbuf + st->out_head,
		    st->out_tail - st->out_head);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (st->from_command &&
			    (errno == EPIPE || errno == ECONNRESET))
				return END_COMMAND;
			if (errno == EPIPE &&
			    judge_ended_mismatched(&st->judge))
				return mismatched_end(st);
			if (errno == EPIPE) {
				say(1, "standard output was closed by its "
				    "reader; stopping");
				return END_OUTPUT;
			}
			msg_warn("write to %s", stream_name(st,
			    "standard output"));
			return END_FAILED;
		}
		st->out_head += (size_t)n;
		if (st->keepalive != 0)
			st->last_sent = monotonic_seconds();
	}
	if (st->out_head == st->out_tail)
		st->out_head = st->out_tail = st->out_frame = 0;
	else
		compact_output(st);
	return END_NONE;
}

/*
 * -c: the socket's next frame, as read_device() returns it, or why there
 * is none.
 */
static ssize_t
receive_socket(struct tunpipe *tp, uint8_t *packet)
{
	ssize_t n = device_receive(&tp->dev, packet, DEVICE_READ);

	if (n != -1)
		return n;
	if (tp->dev.failed == DEVICE_OUT_OF_STEP)
		msg_warnx("-c %s: a frame of a length that makes no sense: the "
		    "socket does not speak len32 (is it passt's, or QEMU's "
		    "-netdev stream?)", opt.connect);
	else if (errno == ECONNRESET)
		msg_warnx("-c %s: the socket was closed at its other end: "
		    "passt or QEMU ended", opt.connect);
	else
		msg_warn("read from %s", opt.connect);
	return -1;
}

/*
 * Reads one packet from the device into packet, which has room for
 * DEVICE_READ bytes.  With the offloads inside, the virtio-net header
 * goes to *v apart (-O's frames carry it).  Returns the packet's length, 0
 * when the device has none now, or -1 after saying why it failed.
 */
static ssize_t
read_device(struct tunpipe *tp, uint8_t *packet, struct offload_vnet *v)
{
	uint8_t raw[OFFLOAD_VNET_LEN];
	struct iovec iov[2] = { { raw, sizeof(raw) }, { packet, DEVICE_READ } };
	ssize_t n;

	if (tp->dev.socket != NULL)
		return receive_socket(tp, packet);
	if (tp->gso.inside)
		n = readv(tp->dev.fd, iov, 2);
	else
		n = read(tp->dev.fd, packet, DEVICE_READ);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == -1 && errno == EBADFD)
		msg_warnx("device %s was removed", tp->dev.name);
	else if (n == -1)
		msg_warn("read from %s", tp->dev.name);
	if (n == -1 || !tp->gso.inside)
		return n;
	offload_vnet_parse(raw, sizeof(raw), v);	/* the kernel's: valid */
	return n - OFFLOAD_VNET_LEN;
}

/*
 * -w: the packet of len bytes from the device that lies at the end of the
 * output, where frame_packet() frames it; after -O's header, if any.
 */
static void
record_outbound(struct tunpipe *tp, size_t len)
{
	struct stream *st = &tp->st;

	capture_packet(&tp->cap, PCAPNG_OUTBOUND, st->outbuf + st->out_tail +
	    framing_header_len(st->framing) + st->header, len - st->header);
}

/*
 * Frames the packet of len bytes that lies at the end of the output, and
 * counts it, once the capture has it: SLIP encodes in place.
 */
static void
frame_packet(struct tunpipe *tp, size_t len)
{
	struct stream *st = &tp->st;

	record_outbound(tp, len);
	st->out_tail += framing_encode(st->framing, st->outbuf + st->out_tail,
	    len);
	tp->count.out_packets++;
	tp->count.out_bytes += len - st->header;
}

/*
 * Starts cutting a GSO packet of len bytes, read from the device after
 * the header *v: a copy of it is cut, so that its segments can be written
 * where it lay.
 */
static void
begin_split(struct tunpipe *tp, const struct offload_vnet *v,
    const uint8_t *packet, size_t len)
{
	struct gso *gso = &tp->gso;

	memcpy(gso->packet, packet, len);
	if (offload_split_begin(&gso->split, v, gso->packet, len,
	    tp->dev.tap) == 0) {
		gso->splitting = 1;
		return;
	}
	tp->count.drop_oversize++;
	warn_limited(&tp->warn.oversize, "dropped a %zu-byte GSO packet from "
	    "%s whose headers cannot be cut into segments", len, tp->dev.name);
}

/* Writes the next segment of the GSO packet being cut, and frames it. */
static void
cut_segment(struct tunpipe *tp)
{
	struct stream *st = &tp->st;
	struct gso *gso = &tp->gso;
	size_t hlen = framing_header_len(st->framing);

	if (offload_split_next_len(&gso->split) == 0) {
		gso->splitting = 0;
		return;
	}
	frame_packet(tp, offload_split_next(&gso->split,
	    st->outbuf + st->out_tail + hlen));
}

/*
 * Reads packets from the device until it has none or the output buffer is
 * full, framing each in place.  With the offloads inside, a GSO packet is
 * cut into segments, as many as the output takes now (the rest on later
 * turns, before the device is read again), and a partial checksum is
 * finished.  Returns END_NONE or END_FAILED.
 */
static enum end
drain_device(struct tunpipe *tp)
{
	struct stream *st = &tp->st;
	struct offload_vnet v = { 0 };
	uint8_t *packet;
	ssize_t n;

	while (output_has_room(st)) {
		if (tp->gso.splitting) {
			cut_segment(tp);
			continue;
		}
		packet = st->outbuf + st->out_tail +
		    framing_header_len(st->framing);
		if ((n = read_device(tp, packet, &v)) <= 0)
			return n == 0 ? END_NONE : END_FAILED;
		if (v.gso_type != OFFLOAD_GSO_NONE) {
			begin_split(tp, &v, packet, (size_t)n);
			continue;
		}
		if ((size_t)n > st->max) {
			tp->count.drop_oversize++;
			warn_limited(&tp->warn.oversize, "dropped a %zd-byte "
			    "packet from %s: -f %s carries %zu bytes at most; "
			    "lower its MTU (-m)", n, tp->dev.name,
			    framing_name(st->framing), st->max);
			continue;
		}
		offload_finish_csum(packet, (size_t)n, &v);
		frame_packet(tp, (size_t)n);
	}
	return END_NONE;
}

/*
 * -c: writes the frames that wait for the socket.  Returns END_NONE, or
 * END_FAILED when the socket failed.
 */
static enum end
flush_socket(struct tunpipe *tp)
{
	if (device_flush(&tp->dev) != -1)
		return END_NONE;
	msg_warn("write to %s", opt.connect);
	return END_FAILED;
}

/* drain_within()'s flush for the stream: frames, until the deadline. */
static int
flush_output_within(void *arg, int late)
{
	struct stream *st = arg;

	return !late && flush_output(st) == END_NONE &&
	    st->out_head < st->out_tail;
}

/* Gives waiting frames a last, bounded chance to leave at the end. */
static void
flush_before_exit(struct stream *st)
{
	struct timespec deadline;

	flush_deadline(&deadline);
	if (st->out_head < st->out_tail)
		drain_within(st->out, &deadline, flush_output_within, st);
}

/* drain_within()'s flush for -c's socket: frames, until the deadline. */
static int
flush_socket_within(void *arg, int late)
{
	return !late && device_flush(arg) == 1;
}

/* -c: the same last chance for the frames that wait for the socket. */
static void
flush_socket_before_exit(struct device *dev)
{
	struct timespec deadline;

	flush_deadline(&deadline);
	if (device_waiting(dev))
		drain_within(dev->fd, &deadline, flush_socket_within, dev);
}

/* For a stream cut inside its very first frame: the likely cause. */
static const char *
no_frame_yet(const struct stream *st)
{
	return judge_heard_nothing(&st->judge) ? "; no frame came before it: "
	    "does the peer use another framing (-f)?" : "";
}

/* Whether the input stopped inside a frame. */
static int
input_cut(const struct stream *st)
{
	size_t have, want;

	return framing_decoder_partial(&st->dec, &have, &want) !=
	    FRAMING_BETWEEN;
}

/*
 * Says that the input stopped inside a frame, with the byte of the stream
 * where that frame starts (SLIP's bytes, escaped, do not say: there,
 * where it stopped).
 */
static void
say_input_cut(const struct stream *st)
{
	size_t hlen = framing_header_len(st->framing), have, want;

	switch (framing_decoder_partial(&st->dec, &have, &want)) {
	case FRAMING_IN_HEADER:
		msg_warnx("input stream ended inside a frame header: %zu of "
		    "%zu bytes arrived (the frame starts at byte %" PRIu64 ")%s",
		    have, want, st->read_total - have, no_frame_yet(st));
		break;
	case FRAMING_IN_PACKET:
		if (want == 0)		/* SLIP does not say */
			msg_warnx("input stream ended inside a frame, after "
			    "%zu bytes of its packet (the stream stops at byte "
			    "%" PRIu64 ")%s", have, st->read_total,
			    no_frame_yet(st));
		else
			msg_warnx("input stream ended inside a frame: %zu of "
			    "%zu bytes of its packet arrived (the frame starts "
			    "at byte %" PRIu64 ")%s", have, want, st->read_total
			    - have - hlen, no_frame_yet(st));
		break;
	case FRAMING_BETWEEN:
		break;
	}
}

/*
 * At the end of the input: a stream that showed a mismatch broke; -e's
 * stream ended with its command; stdin's ended cleanly when its last
 * frame was whole, and what waits for stdout gets a last chance.
 */
static enum end
input_ended(struct stream *st)
{
	if (judge_ended_mismatched(&st->judge))
		return mismatched_end(st);
	if (st->from_command)
		return END_COMMAND;
	flush_before_exit(st);
	if (input_cut(st)) {
		say_input_cut(st);
		return END_BROKEN;
	}
	say(2, "end of input stream");
	return END_INPUT;
}

/*
 * With -k, a new stream starts with an empty frame, so that the peer
 * knows from the start that this end uses -k (see peer_silent()), even
 * when traffic never leaves the stream quiet for long.
 */
static void
begin_keepalives(struct stream *st, time_t now)
{
	st->last_received = now;
	st->last_sent = now - st->keepalive;	/* one is due at once */
}

/* Whether an empty frame came on this stream: the peer uses -k too. */
static int
peer_sends_keepalives(const struct stream *st)
{
	return st->dec.keepalives > st->peer_keepalives;
}

/*
 * With -k: whether the peer, which sends keepalives too, has been silent
 * for DEAD_AFTER of their intervals.  A peer without -k may be silent for
 * as long as it likes.
 */
static int
peer_silent(const struct stream *st)
{
	return st->keepalive != 0 && peer_sends_keepalives(st) &&
	    monotonic_seconds() - st->last_received >=
	    DEAD_AFTER * st->keepalive;
}

/*
 * With -k, how many milliseconds until an empty frame is due or the
 * peer's silence is too long; -1 (for ever) without -k.
 */
static long
keepalive_due(const struct stream *st)
{
	time_t now, left;

	if (st->keepalive == 0)
		return -1;
	now = monotonic_seconds();
	left = st->last_sent + st->keepalive - now;
	if (st->out_head < st->out_tail)	/* no keepalive due meanwhile */
		left = DEAD_AFTER * st->keepalive;
	if (peer_sends_keepalives(st) &&
	    st->last_received + DEAD_AFTER * st->keepalive - now < left)
		left = st->last_received + DEAD_AFTER * st->keepalive - now;
	return left > 0 ? left * 1000 : 0;
}

/*
 * With -s, the milliseconds until the next line of figures, rounded up so
 * that no line comes early (and none without its rates); else -1.
 */
static long
stats_due(const struct stats *stats)
{
	struct timespec now;
	int64_t ns;

	if (stats->every == 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = ns_between(&now, &stats->due);
	return ns > 0 ? (long)((ns + 999999) / 1000000) : 0;
}

/* The sooner of two waits in milliseconds, where -1 is for ever. */
static long
sooner(long a, long b)
{
	return a == -1 || (b != -1 && b < a) ? b : a;
}

/* -k: ends a stream whose peer fell silent (see peer_silent()). */
static enum end
peer_gone(struct stream *st)
{
	msg_warnx("nothing arrived for %d s from a peer that sends "
	    "keepalives: the transport seems dead", DEAD_AFTER *
	    st->keepalive);
	st->dead = 1;
	return END_BROKEN;
}

/*
 * -k: sends an empty frame when nothing went out for -k's seconds, so
 * that a dead transport shows up as a failed write, and middleboxes keep
 * the connection.  Returns what flush_output() does, or END_NONE.
 */
static enum end
send_keepalive(struct tunpipe *tp)
{
	struct stream *st = &tp->st;

	if (st->keepalive == 0 || st->out_head < st->out_tail ||
	    monotonic_seconds() - st->last_sent < st->keepalive)
		return END_NONE;
	st->out_tail += framing_encode(st->framing, st->outbuf + st->out_tail,
	    0);
	tp->count.keepalives++;
	return flush_output(st);
}

/*
 * What the figures need to know of this run, all decided at start-up:
 * which of them can move.
 */
static struct figures_run
describe_run(const struct tunpipe *tp)
{
	return (struct figures_run){ .name = tp->dev.name,
	    .tap = tp->dev.tap, .device = tp->dev.fd != -1,
	    .slip = tp->st.framing == FRAMING_SLIP,
	    .respawn = opt.respawn != 0, .command = tp->st.from_command,
	    .keepalive = tp->st.keepalive != 0, .capture = tp->cap.fd != -1 };
}

/*
 * What the figures need to know of the moment now: the clocks, the
 * device's carrier, what the stream and the capture say, and for -s's
 * rates the last line's time and counters.  The MTU is the caller's.
 */
static struct figures_moment
describe_moment(const struct tunpipe *tp, const struct timespec *now)
{
	return (struct figures_moment){ .carrier = tp->dev.carrier,
	    .up_ms = ns_between(&tp->started, now) / 1000000,
	    .keepalives_in = tp->st.dec.keepalives,
	    .capture_lost = tp->cap.lost,
	    .backlog = tp->st.out_tail - tp->st.out_head,
	    .peer_idle = (long)(now->tv_sec - tp->st.last_received),
	    .span_ns = ns_between(&tp->stats.last, now),
	    .then = tp->stats.then };
}

_Static_assert(FIGURES_TEXT_MAX <= MESSAGE_MAX,
    "a text of figures goes out as one message, never cut");

/*
 * The counters (-v at the end, and SIGUSR1 without -s), in lines of what
 * belongs together (see figures_counters_text()), as one message.
 */
static void
print_counters(const struct tunpipe *tp)
{
	struct figures_run run = describe_run(tp);
	struct figures_moment m;
	struct timespec now;
	char text[FIGURES_TEXT_MAX];

	clock_gettime(CLOCK_MONOTONIC, &now);
	m = describe_moment(tp, &now);
	if (run.device)
		m.mtu = device_mtu(&tp->dev);
	figures_counters_text(text, sizeof(text), &run, &tp->count, &m);
	msg_printf("%s", text);
}

/*
 * -s: one line of figures, as key=value pairs that a script can read
 * (tunpipe.1 lists them; see figures_stats_text()), as one message.
 */
static void
print_stats(const struct tunpipe *tp, const struct timespec *now)
{
	struct figures_run run = describe_run(tp);
	struct figures_moment m = describe_moment(tp, now);
	char text[FIGURES_TEXT_MAX];

	figures_stats_text(text, sizeof(text), &run, &tp->count, &m);
	msg_printf("%s", text);
}

/*
 * -s: notes the counters c of a line printed at now (or of the start), for
 * the next line's rates, and when that line is due.
 */
static void
note_stats(struct stats *stats, const struct figures_counters *c,
    const struct timespec *now)
{
	stats->then = *c;
	stats->last = *now;
	stats->due = *now;
	stats->due.tv_sec += stats->every;
}

/* -s: a line of figures now, and the next one due -s's seconds later. */
static void
stats_line(struct tunpipe *tp)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	print_stats(tp, &now);
	note_stats(&tp->stats, &tp->count, &now);
}

/* The figures, as -s or today's counters have them. */
static void
print_figures(struct tunpipe *tp)
{
	if (tp->stats.every != 0)
		stats_line(tp);
	else
		print_counters(tp);
}

/*
 * Tells the service manager (see open_notify()) what fmt says, in lines
 * of NAME=VALUE.  A message it does not take is lost rather than waited
 * for; the first loss is said once, since a manager that restarts takes
 * the next ones again.
 */
static void __attribute__((format(printf, 2, 3)))
tell_manager(struct tunpipe *tp, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (tp->notify.fd == -1)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (notify_send(&tp->notify, text) == -1 && !tp->notify_failed) {
		tp->notify_failed = 1;
		say(1, "NOTIFY_SOCKET: the service manager did not take a "
		    "message (%s); its status may lag, the tunnel goes on",
		    strerror(errno));
	}
}

/*
 * The manager's status once a stream begins: READY=1 the first time, once
 * the device is configured, --up has run and the loop begins, so that
 * what starts after tunpipe finds the device ready.
 */
static void
tell_stream(struct tunpipe *tp)
{
	const char *ready = tp->ready ? "" : "READY=1\n";

	tp->ready = 1;
	tp->status_next = monotonic_seconds() + STATUS_EVERY;
	if (opt.exec == NULL)
		tell_manager(tp, "%sSTATUS=%s: up; stream: standard input and "
		    "output", ready, tp->dev.name);
	else if (tp->count.restarts == 0)
		tell_manager(tp, "%sSTATUS=%s: up; stream: the -e command "
		    "(pid %ld)", ready, tp->dev.name, (long)tp->cmd.pid);
	else
		tell_manager(tp, "%sSTATUS=%s: up; stream: the -e command "
		    "(pid %ld), started again (restart %" PRIu64 ")", ready,
		    tp->dev.name, (long)tp->cmd.pid, tp->count.restarts);
}

/* The manager's watchdog (WatchdogSec=): a ping when one is due. */
static void
ping_watchdog(struct tunpipe *tp)
{
	if (notify_watchdog(&tp->notify) == -1 && !tp->notify_failed) {
		tp->notify_failed = 1;
		say(1, "NOTIFY_SOCKET: the service manager did not take the "
		    "watchdog's ping (%s); it may stop tunpipe",
		    strerror(errno));
	}
}

/*
 * What the manager is owed each turn of the loop: the watchdog's ping,
 * and every STATUS_EVERY seconds the figures as its status.
 */
static void
tend_manager(struct tunpipe *tp)
{
	struct figures_run run;
	struct timespec now;
	char text[FIGURES_TEXT_MAX];

	if (tp->notify.fd == -1)
		return;
	ping_watchdog(tp);
	if (monotonic_seconds() < tp->status_next)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	run = describe_run(tp);
	figures_status_text(text, sizeof(text), &run, &tp->count,
	    &(struct figures_moment){ .carrier = tp->dev.carrier,
	    .up_ms = ns_between(&tp->started, &now) / 1000000,
	    .peer_idle = (long)(now.tv_sec - tp->st.last_received) });
	tell_manager(tp, "STATUS=%s", text);
	tp->status_next = now.tv_sec + STATUS_EVERY;
}

/* The milliseconds until tend_manager() has work, or -1 for never. */
static long
manager_due(const struct tunpipe *tp)
{
	long ms;

	if (tp->notify.fd == -1 || !tp->ready)
		return -1;
	ms = (tp->status_next - monotonic_seconds()) * 1000;
	return sooner(notify_watchdog_due(&tp->notify), ms > 0 ? ms : 0);
}

/* Why the loop ended, as the manager's status says it. */
static const char *const end_reasons[] = {
	[END_NONE] = "no reason",
	[END_INPUT] = "the stream ended",
	[END_OUTPUT] = "the stream's reader went away",
	[END_SIGNAL] = "the -e command was interrupted",
	[END_BROKEN] = "the stream broke",
	[END_COMMAND] = "the -e command ended",
	[END_FAILED] = "a system call failed",
};

/* STOPPING=1, once, and why in the manager's status. */
static void
tell_stopping(struct tunpipe *tp, const char *why)
{
	if (tp->stopping)
		return;
	tp->stopping = 1;
	tell_manager(tp, "STOPPING=1\nSTATUS=%s: stopping: %s", tp->dev.name,
	    why);
}

/*
 * How long ppoll may wait: until the first of keepalive_due(),
 * stats_due(), capture_due() and manager_due(); NULL for ever, when none
 * is.
 */
static struct timespec *
poll_wait(const struct tunpipe *tp, struct timespec *wait)
{
	long ms;

	ms = sooner(sooner(keepalive_due(&tp->st), stats_due(&tp->stats)),
	    sooner(capture_due(&tp->cap), manager_due(tp)));
	if (ms == -1)
		return NULL;
	wait->tv_sec = ms / 1000;
	wait->tv_nsec = ms % 1000 * 1000000;
	return wait;
}

/*
 * Acts on the signals waiting in the signalfd: prints the counters for
 * SIGUSR1; returns END_SIGNAL for a stop signal, else END_NONE.
 */
static enum end
take_signals(struct tunpipe *tp)
{
	struct signalfd_siginfo si;
	char why[64];

	while (read(tp->signals, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			print_figures(tp);
			continue;
		}
		snprintf(why, sizeof(why), "signal %d (%s)", (int)si.ssi_signo,
		    strsignal((int)si.ssi_signo));
		say(2, "stopped by %s", why);
		tell_stopping(tp, why);
		return END_SIGNAL;
	}
	return END_NONE;
}

/* -e: what the starter runs in the command's process (see starter.h). */
static void
exec_command(void)
{
	exec_shell("-e", opt.exec);
}

/* -e: the starter is gone, which tunpipe cannot carry on without. */
static void __attribute__((noreturn))
starter_gone(void)
{
	msg_errx(EXIT_FAIL, "-e: the process that starts the command is gone");
}

/*
 * -e: readies the stream for a new command's socket fd, started at now:
 * its bytes counted anew, its judge and its keepalives begun again.  The
 * decoder and the frames waiting stay: see discard_cut_frames().
 */
static void
begin_stream(struct stream *st, int fd, time_t now)
{
	st->in = st->out = fd;
	st->read_total = 0;
	st->dead = 0;
	judge_restart(&st->judge);
	begin_keepalives(st, now);
	st->peer_keepalives = st->dec.keepalives;
}

/* -e: starts the command, through the starter, and takes its stream. */
static void
start_command(struct tunpipe *tp)
{
	int fd;

	if ((fd = starter_start(tp->cmd.ctl, &tp->cmd.pid)) == -1) {
		if (errno == ECONNRESET)
			starter_gone();
		msg_err(EXIT_FAIL, "-e: the command could not be started");
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		msg_err(EXIT_FAIL, "-e: socket");
	tp->cmd.started = monotonic_seconds();
	tp->cmd.in_at_start = tp->count.in_packets;
	begin_stream(&tp->st, fd, tp->cmd.started);
	say(2, "started the -e command (pid %ld)", (long)tp->cmd.pid);
	set_carrier(&tp->dev, 1);
}

/*
 * -e: closes the stream, and has the starter end what is left of the
 * command (see starter_stop()): at once when now.
 */
static void
stop_command(struct tunpipe *tp, int now)
{
	close(tp->st.in);
	tp->st.in = tp->st.out = -1;
	if (starter_stop(tp->cmd.ctl, now, &tp->cmd.status) == -1)
		starter_gone();
	tp->cmd.pid = 0;
}

/*
 * -e: whether the command has exited and its stream holds nothing more to
 * read; news says the starter has a message.  The stream may outlive the
 * command when a child of it holds it.
 */
static int
command_gone(struct tunpipe *tp, int news)
{
	struct pollfd pfd = { .fd = tp->st.in, .events = POLLIN };
	int r;

	if (!tp->st.from_command)
		return 0;
	if (news && tp->cmd.pid != 0) {
		if ((r = starter_news(tp->cmd.ctl, &tp->cmd.status)) == -1)
			starter_gone();
		if (r == 1)
			tp->cmd.pid = 0;
	}
	return tp->cmd.pid == 0 && poll(&pfd, 1, 0) == 0;
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
 * gone would report POLLERR on every turn.  So is stderr, while messages
 * wait for it (see struct messages).  -w's file is polled while records
 * wait for it, but not after a failed write: the poll's timeout brings
 * the next try (capture_due()).  Returns why it ended.
 */
static enum end
packet_loop(struct tunpipe *tp)
{
	enum { DEV, IN, OUT, CTL, SIG, CAP, MSG, SLOTS };
	struct stream *st = &tp->st;
	struct pollfd pfd[SLOTS];
	struct timespec wait;
	enum end end = END_NONE;

	pfd[SIG].fd = tp->signals;
	pfd[SIG].events = POLLIN;
	pfd[IN].events = POLLIN;
	pfd[OUT].events = POLLOUT;
	pfd[CTL].events = POLLIN;
	pfd[CAP].events = POLLOUT;
	pfd[MSG].events = POLLOUT;
	while (end == END_NONE) {
		pfd[DEV].events = (output_has_room(st) ? POLLIN : 0) |
		    (device_waiting(&tp->dev) ? POLLOUT : 0);
		/* not even its hang-up, which would wake the loop for ever */
		pfd[DEV].fd = pfd[DEV].events != 0 ? tp->dev.fd : -1;
		/* -c: the stream waits while the socket does */
		pfd[IN].fd = device_waiting(&tp->dev) ? -1 : st->in;
		pfd[OUT].fd = st->out_head < st->out_tail ? st->out : -1;
		pfd[CTL].fd = tp->cmd.pid != 0 ? tp->cmd.ctl : -1;
		pfd[CAP].fd = capture_waiting(&tp->cap) ? tp->cap.fd : -1;
		pfd[MSG].fd = messages_waiting() ? STDERR_FILENO : -1;
		if (ppoll(pfd, SLOTS, poll_wait(tp, &wait), NULL) == -1) {
			msg_warn("ppoll");
			return END_FAILED;
		}
		if (pfd[MSG].revents)
			flush_messages();
		if (pfd[SIG].revents && (end = take_signals(tp)) != END_NONE)
			return end;
		if (pfd[OUT].revents)
			end = flush_output(st);
		if (end == END_NONE && pfd[DEV].revents & POLLOUT)
			end = flush_socket(tp);
		if (end == END_NONE && (pfd[DEV].revents & ~POLLOUT ||
		    tp->gso.splitting || device_buffered(&tp->dev))) {
			end = drain_device(tp);
			if (end == END_NONE)
				end = flush_output(st);
		}
		if (end == END_NONE && pfd[IN].revents)
			end = read_stream(tp);
		if (end == END_NONE && peer_silent(st))
			end = peer_gone(st);
		if (end == END_NONE)
			end = send_keepalive(tp);
		if (end == END_NONE && command_gone(tp, pfd[CTL].revents))
			end = END_INPUT;
		if (end == END_INPUT)
			end = input_ended(st);
		if (tp->cap.fd != -1)
			flush_capture(tp);
		if (stats_due(&tp->stats) == 0)
			stats_line(tp);
		tend_manager(tp);
	}
	return end;
}

/*
 * After a break, the new stream must start at a frame boundary both ways:
 * the rest of a frame half written is dropped, and so is the start of one
 * half read.  Whole frames still waiting go out on the new stream.
 */
static void
discard_cut_frames(struct tunpipe *tp)
{
	struct stream *st = &tp->st;
	size_t have, want;

	if (framing_decoder_partial(&st->dec, &have, &want) !=
	    FRAMING_BETWEEN && !st->judged) {	/* else dropped already */
		tp->count.drop_cut++;
		say(2, "dropped a frame from the stream cut after %zu of %zu "
		    "bytes", have, want);
	}
	framing_decoder_reset(&st->dec);
	st->judged = 0;
	st->keepalives_at = st->dec.keepalives;
	skip_sent_frames(st);
	if (st->out_frame < st->out_head) {
		st->out_head = st->out_frame + framing_frame_len(st->framing,
		    st->outbuf + st->out_frame);
		st->out_frame = st->out_head;
		tp->count.drop_cut++;
		say(2, "dropped a frame to the stream cut by the break");
	}
	if (st->out_head == st->out_tail)
		st->out_head = st->out_tail = st->out_frame = 0;
}

/*
 * -r: sleeps before the command starts again: SECS at first, then twice
 * as long after each failed run, up to RESPAWN_CAP (or SECS, if longer).
 * A run that lasted RESPAWN_LIVED seconds, or brought a packet from the
 * peer, did not fail: it reached the peer, and the next wait is SECS
 * again.  Signals are still taken, messages still go out, and the
 * manager's watchdog still hears from tunpipe.  Returns END_NONE or
 * END_SIGNAL.
 */
static enum end
wait_to_restart(struct tunpipe *tp)
{
	struct pollfd pfd[2] = { { .fd = tp->signals, .events = POLLIN },
	    { .fd = -1, .events = POLLOUT } };
	int cap = opt.respawn > RESPAWN_CAP ? opt.respawn : RESPAWN_CAP;
	struct timespec start, left;
	struct command *cmd = &tp->cmd;
	long wait_ms, waited, wait_left;
	char how[64];
	int ready;

	if (monotonic_seconds() - cmd->started >= RESPAWN_LIVED ||
	    tp->count.in_packets > cmd->in_at_start)
		cmd->respawn_wait = opt.respawn;
	how_it_ended(cmd->status, how, sizeof(how));
	say(1, "-e command %s; starting it again in %d s", how,
	    cmd->respawn_wait);
	tell_manager(tp, "STATUS=%s: no carrier: the -e command %s; starting "
	    "it again in %d s", tp->dev.name, how, cmd->respawn_wait);
	wait_ms = cmd->respawn_wait * 1000L;
	cmd->respawn_wait = cmd->respawn_wait * 2 < cap ?
	    cmd->respawn_wait * 2 : cap;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while ((waited = ms_since(&start)) < wait_ms) {
		wait_left = sooner(wait_ms - waited,
		    notify_watchdog_due(&tp->notify));
		left.tv_sec = wait_left / 1000;
		left.tv_nsec = wait_left % 1000 * 1000000;
		pfd[1].fd = messages_waiting() ? STDERR_FILENO : -1;
		ready = ppoll(pfd, 2, &left, NULL);
		ping_watchdog(tp);
		if (ready <= 0)
			continue;
		if (pfd[1].revents)
			flush_messages();
		if (pfd[0].revents && take_signals(tp) != END_NONE)
			return END_SIGNAL;
	}
	tp->count.restarts++;
	return END_NONE;
}

/* Whether -r starts the command again after the loop ended so. */
static int
restarts_after(enum end end)
{
	return opt.respawn != 0 && (end == END_COMMAND || end == END_BROKEN);
}

/*
 * Carries packets until the end: the packet loop over stdio's stream, or
 * with -e over the command's, and with -r over the next command's
 * whenever one ends; the device and its addresses stay.  Returns why it
 * ended.
 */
static enum end
carry_packets(struct tunpipe *tp)
{
	char how[64];
	enum end end;

	if (opt.exec == NULL) {
		tell_stream(tp);
			return packet_loop(tp);
	}
	tp->cmd.respawn_wait = opt.respawn;
	for (;;) {
		start_command(tp);
		tell_stream(tp);
		end = packet_loop(tp);
		if (restarts_after(end))	/* at once: see set_carrier() */
			set_carrier(&tp->dev, 0);
		/* Unless it may start again, the command goes at once. */
		stop_command(tp, !(end == END_COMMAND || restarts_after(end)) ||
		    tp->st.dead);
		if (end == END_COMMAND && WIFSIGNALED(tp->cmd.status) &&
		    WTERMSIG(tp->cmd.status) == SIGINT) {
			say(2, "-e command was interrupted; stopping");
			return END_SIGNAL;	/* as if tunpipe had been */
		}
		if (!restarts_after(end)) {
			if (end == END_COMMAND)
				say(1, "-e command %s; stopping", how_it_ended(
				    tp->cmd.status, how, sizeof(how)));
			return end;
		}
		discard_cut_frames(tp);
		if ((end = wait_to_restart(tp)) != END_NONE)
			return end;
	}
}

/* The exit status for why the loop ended. */
static int
exit_status(enum end end)
{
	switch (end) {
	case END_BROKEN:
		return EXIT_STREAM;
	case END_COMMAND:
		return EXIT_COMMAND;
	case END_FAILED:
		return EXIT_FAIL;
	case END_NONE:
	case END_INPUT:
	case END_OUTPUT:
	case END_SIGNAL:
		break;
	}
	return EXIT_END;
}

/*
 * The program's story, one step a line: the options; the device and what
 * needs privilege (--up); then privilege dropped, the command's starter
 * forked and the filter installed, in that order, before the first packet
 * from a peer is read.
 */
int
main(int argc, char *argv[])
{
	static struct tunpipe tp;
	int closed, status, loop_fds[3];
	char how[64];
	enum end end;

	closed = closed_stdio();
	fill_standard_fds();
	/* Whole lines, so that two tunpipes sharing a terminal do not mix. */
	setvbuf(stderr, NULL, _IOLBF, 0);
	parse_options(argc, argv);
	if (opt.exec == NULL)
		check_stdio(closed);
	tp.signals = open_signals();
	open_notify(&tp.notify);
	tp.cap.fd = opt.capture != NULL ? open_capture(opt.capture) : -1;

	if (opt.no_device) {
		tp.dev = (struct device){ .fd = -1, .name = "stream",
		    .tap = opt.tap, .sock = -1 };
	} else if (opt.connect != NULL) {
		connect_socket(&tp.dev, &tp.socket);
	} else {
		open_device(&tp.dev);
		configure_device(&tp.dev);
		export_device(&tp.dev);
	}
	clock_gettime(CLOCK_MONOTONIC, &tp.started);
	if (opt.up != NULL && (status = run_hook("--up", opt.up)) != 0) {
		msg_warnx("--up command %s; stopping",
		    how_it_ended(status, how, sizeof(how)));
		return EXIT_UP;
	}
	if (opt.user != NULL)
		drop_privileges();
	loop_fds[0] = tp.dev.fd;
	loop_fds[1] = tp.signals;
	loop_fds[2] = tp.cap.fd;
	tp.cmd.ctl = -1;
	if (opt.exec != NULL && (tp.cmd.ctl = starter_fork(exec_command,
	    loop_fds, 3)) == -1)
		msg_err(EXIT_FAIL, "-e: starting the process that starts the "
		    "command");
	confine();

	init_stream(&tp.st, tp.dev.tap);
	init_gso(&tp.gso, &tp.dev, &tp.st);
	begin_keepalives(&tp.st, tp.started.tv_sec);
	tp.stats.every = opt.stats;
	note_stats(&tp.stats, &tp.count, &tp.started);
	if (tp.cap.fd != -1)
		capture_start(&tp.cap, tp.dev.tap, tp.st.max, tp.dev.name,
		    "tunpipe " TUNPIPE_VERSION);
	if (opt.exec == NULL)
		make_stdio_nonblocking();
	defer_messages();
	end = carry_packets(&tp);
	tell_stopping(&tp, end_reasons[end]);
	flush_socket_before_exit(&tp.dev);
	if (tp.cap.fd != -1)	/* first, so that the figures count its losses */
		finish_capture(&tp);
	if (opt.stats != 0 || opt.verbosity >= 2 || opt.no_device)
		print_figures(&tp);
	drain_messages();	/* before --down's own, which go at once */
	if (opt.down != NULL && (status = run_hook("--down", opt.down)) != 0)
		msg_warnx("--down command %s", how_it_ended(status, how,
		    sizeof(how)));
	close(tp.dev.fd);
	return exit_status(end);
}
