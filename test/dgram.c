/*
 * dgram: sends UDP datagrams whose every byte can be checked, and receives
 * and checks them, for test/merge.bats.
 *
 *	dgram send [-g | -r [-b SEQ] [-o SEQ[,COUNT]]] [-P PORT] [-p US]
 *	    [-s SEQ] SRC DST PORT RUN...
 *	dgram recv [-G] [-n COUNT] [-w MS] ADDR PORT
 *
 * Datagram number SEQ (from 0, or -s SEQ, counted over all the runs) of
 * SIZE bytes (at least 8) holds SEQ and SIZE, 4 bytes each, big-endian,
 * and then byte i = (SEQ * 7 + i) mod 256: a byte lost, moved or taken
 * from another datagram shows.  Each RUN is SIZE[xCOUNT][+LAST]: COUNT
 * datagrams of SIZE, then, with +LAST, one of LAST bytes.
 *
 * send binds SRC (port PORT, default 40000), connects to DST port PORT,
 * and sends each run in one sendmmsg(), as a connected socket sends
 * datagrams one by one; -p waits US microseconds between runs.  -g sends
 * each run in one sendmsg() with UDP_SEGMENT, the size of its first
 * datagram, which the kernel hands to the device as one GSO packet.  -r
 * builds each IP packet itself and sends the run through a raw socket
 * (IPPROTO_RAW): version and addresses from SRC and DST, IDs counting up
 * by one (IPv4), DF, TTL or hop limit 64, each UDP checksum right but
 * that of datagram SEQ with -b, which is wrong; with -o SEQ[,COUNT], the
 * IPv4 headers of datagram SEQ (and of the COUNT - 1 after it) carry 4
 * bytes of options (NOP, NOP, NOP, EOL).  send prints on standard output
 * what a receiver should print: a line "d SEQ SIZE" for each datagram but
 * -b's, and "d SEQ SIZE opts" for -o's.
 *
 * recv binds ADDR port PORT, and prints "d SEQ SIZE" for each datagram it
 * receives whose bytes are right ("d SEQ SIZE opts" when it came with IP
 * options), and "corrupt SIZE" for any other.  -G turns on UDP_GRO, and
 * each buffer received is cut at the segment size of its UDP_GRO message,
 * after a line "b LENGTH SEGMENT" (SEGMENT 0 without the message).  It
 * stops after COUNT datagrams (-n), or once none came for MS milliseconds
 * (-w, default 1000; 10 s for the first).
 *
 * Exit status: 0, or 1 for a failed system call, 2 for a bad command line.
 */
#define _GNU_SOURCE		/* sendmmsg() */

#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif
#ifndef UDP_GRO
#define UDP_GRO		104
#endif

#define RUN_MAX		64	/* datagrams in one run: UDP_MAX_SEGMENTS */
#define DGRAM_MAX	65507
#define PACKET_MAX	(60 + 8 + DGRAM_MAX)

static void
usage(void)
{
	fprintf(stderr, "usage: dgram send [-g | -r [-b seq] [-o seq[,count]]] "
	    "[-P port] [-p us] [-s seq] src dst port run...\n"
	    "       dgram recv [-G] [-n count] [-w ms] addr port\n");
	exit(2);
}

static long
number(const char *s, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < min || n > max)
		usage();
	return n;
}

/* An address of either family, with a port. */
static socklen_t
address(const char *s, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return sizeof(*sin6);
	}
	usage();
	return 0;
}

static void
fill(uint8_t *p, uint32_t seq, uint32_t size)
{
	uint32_t i;

	for (i = 0; i < 4; i++) {
		p[i] = seq >> (24 - 8 * i);
		p[4 + i] = size >> (24 - 8 * i);
	}
	for (i = 8; i < size; i++)
		p[i] = (uint8_t)(seq * 7 + i);
}

/* Whether the size bytes at p are a datagram's; sets its number. */
static int
right(const uint8_t *p, size_t size, uint32_t *seq)
{
	uint32_t n = 0, len = 0, i;

	if (size < 8)
		return 0;
	for (i = 0; i < 4; i++) {
		n = n << 8 | p[i];
		len = len << 8 | p[4 + i];
	}
	if (len != size)
		return 0;
	for (i = 8; i < size; i++)
		if (p[i] != (uint8_t)(n * 7 + i))
			return 0;
	*seq = n;
	return 1;
}

/* The Internet checksum's sum of len bytes, added to sum. */
static uint32_t
sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t
fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

struct raw {
	int v6;
	uint8_t src[16], dst[16];
	int sport, dport;
	uint16_t id;
	long bad, opts, nopts;
};

/* Whether datagram seq carries IP options (-o). */
static int
has_opts(const struct raw *r, uint32_t seq)
{
	return r->opts != -1 && (long)seq >= r->opts &&
	    (long)seq < r->opts + r->nopts;
}

/*
 * Builds at pkt the IP packet that carries datagram seq of size bytes;
 * returns its length.
 */
static size_t
build(struct raw *r, uint8_t *pkt, uint32_t seq, uint32_t size)
{
	size_t ihl = r->v6 ? 40 : has_opts(r, seq) ? 24 : 20;
	size_t alen = r->v6 ? 16 : 4, len = ihl + 8 + size;
	uint8_t *udp = pkt + ihl;
	uint16_t csum;
	uint32_t sum;

	memset(pkt, 0, ihl + 8);
	if (r->v6) {
		pkt[0] = 0x60;
		pkt[4] = (8 + size) >> 8;
		pkt[5] = (uint8_t)(8 + size);
		pkt[6] = IPPROTO_UDP;
		pkt[7] = 64;
		memcpy(pkt + 8, r->src, 16);
		memcpy(pkt + 24, r->dst, 16);
	} else {
		pkt[0] = 0x40 | (uint8_t)(ihl / 4);
		pkt[2] = len >> 8;
		pkt[3] = (uint8_t)len;
		pkt[4] = r->id >> 8;
		pkt[5] = (uint8_t)r->id;
		r->id++;
		pkt[6] = 0x40;		/* DF */
		pkt[8] = 64;
		pkt[9] = IPPROTO_UDP;
		memcpy(pkt + 12, r->src, 4);
		memcpy(pkt + 16, r->dst, 4);
		if (ihl == 24)
			memcpy(pkt + 20, "\x01\x01\x01\x00", 4);
		csum = fold(sum16(0, pkt, ihl));
		pkt[10] = csum >> 8;
		pkt[11] = (uint8_t)csum;
	}
	udp[0] = r->sport >> 8;
	udp[1] = (uint8_t)r->sport;
	udp[2] = r->dport >> 8;
	udp[3] = (uint8_t)r->dport;
	udp[4] = (8 + size) >> 8;
	udp[5] = (uint8_t)(8 + size);
	fill(udp + 8, seq, size);
	/* The pseudo-header: addresses, protocol and length. */
	sum = sum16(0, pkt + (r->v6 ? 8 : 12), 2 * alen);
	sum += IPPROTO_UDP + 8 + size;
	csum = fold(sum16(sum, udp, 8 + size));
	if (csum == 0)
		csum = 0xffff;
	if ((long)seq == r->bad)
		csum = csum == 0x1234 ? 0x4321 : 0x1234;
	udp[6] = csum >> 8;
	udp[7] = (uint8_t)csum;
	return len;
}

/* The sizes of a run, "SIZE[xCOUNT][+LAST]", into sizes; their count. */
static size_t
parse_run(char *s, uint32_t *sizes)
{
	char *last = strchr(s, '+'), *x;
	long size, count = 1;
	size_t n = 0;

	if (last != NULL)
		*last++ = '\0';
	if ((x = strchr(s, 'x')) != NULL) {
		*x++ = '\0';
		count = number(x, 1, RUN_MAX);
	}
	size = number(s, 8, DGRAM_MAX);
	while (n < (size_t)count)
		sizes[n++] = (uint32_t)size;
	if (last != NULL) {
		if (n == RUN_MAX)
			usage();
		sizes[n++] = (uint32_t)number(last, 8, DGRAM_MAX);
	}
	return n;
}

static int
send_main(int argc, char *argv[])
{
	static uint8_t bufs[RUN_MAX][PACKET_MAX];
	struct mmsghdr msgs[RUN_MAX];
	struct iovec iov[RUN_MAX];
	struct sockaddr_storage src, dst;
	struct timespec pause = { 0, 0 };
	struct raw r = { .bad = -1, .opts = -1, .nopts = 1 };
	uint32_t sizes[RUN_MAX], seq = 0;
	size_t i, n, total;
	socklen_t alen;
	long us = 0;
	char *comma;
	int c, fd, gso = 0, raw = 0, sport = 40000, dport, sent, one = 1;

	while ((c = getopt(argc, argv, "b:go:p:P:rs:")) != -1) {
		switch (c) {
		case 'b':
			r.bad = number(optarg, 0, 1 << 30);
			break;
		case 'g':
			gso = 1;
			break;
		case 'o':
			if ((comma = strchr(optarg, ',')) != NULL) {
				*comma++ = '\0';
				r.nopts = number(comma, 1, RUN_MAX);
			}
			r.opts = number(optarg, 0, 1 << 30);
			break;
		case 'p':
			us = number(optarg, 0, 10000000);
			break;
		case 'P':
			sport = (int)number(optarg, 1, 65535);
			break;
		case 'r':
			raw = 1;
			break;
		case 's':
			seq = (uint32_t)number(optarg, 0, 1 << 30);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 4 || (gso && raw) ||
	    (!raw && (r.bad != -1 || r.opts != -1)))
		usage();
	dport = (int)number(argv[2], 1, 65535);
	address(argv[0], sport, &src);
	alen = address(argv[1], dport, &dst);
	if (src.ss_family != dst.ss_family ||
	    (r.opts != -1 && dst.ss_family != AF_INET))
		usage();
	pause.tv_sec = us / 1000000;
	pause.tv_nsec = us % 1000000 * 1000;

	if (raw) {
		r.v6 = dst.ss_family == AF_INET6;
		r.sport = sport;
		r.dport = dport;
		if (r.v6) {
			memcpy(r.src, &((struct sockaddr_in6 *)&src)->sin6_addr, 16);
			memcpy(r.dst, &((struct sockaddr_in6 *)&dst)->sin6_addr, 16);
			((struct sockaddr_in6 *)&dst)->sin6_port = 0;
		} else {
			memcpy(r.src, &((struct sockaddr_in *)&src)->sin_addr, 4);
			memcpy(r.dst, &((struct sockaddr_in *)&dst)->sin_addr, 4);
			((struct sockaddr_in *)&dst)->sin_port = 0;
		}
		r.id = (uint16_t)(getpid() * 251);
		if ((fd = socket(dst.ss_family, SOCK_RAW, IPPROTO_RAW)) == -1)
			err(1, "socket (raw)");
	} else {
		if ((fd = socket(dst.ss_family, SOCK_DGRAM, 0)) == -1)
			err(1, "socket");
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, alen) == -1)
			err(1, "bind %s port %d", argv[0], sport);
		if (connect(fd, (struct sockaddr *)&dst, alen) == -1)
			err(1, "connect %s port %d", argv[1], dport);
	}

	for (argv += 3; *argv != NULL; argv++) {
		n = parse_run(*argv, sizes);
		memset(msgs, 0, sizeof(msgs));
		total = 0;
		for (i = 0; i < n; i++) {
			if (raw) {
				iov[i].iov_base = bufs[i];
				iov[i].iov_len = build(&r, bufs[i], seq + i,
				    sizes[i]);
				msgs[i].msg_hdr.msg_name = &dst;
				msgs[i].msg_hdr.msg_namelen = alen;
			} else if (gso) {
				/* One buffer, the datagrams one after another. */
				if (total + sizes[i] > DGRAM_MAX)
					errx(2, "a run of more than %d bytes "
					    "for -g", DGRAM_MAX);
				fill(bufs[0] + total, seq + i, sizes[i]);
			} else {
				fill(bufs[i], seq + i, sizes[i]);
				iov[i].iov_base = bufs[i];
				iov[i].iov_len = sizes[i];
			}
			total += sizes[i];
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		if (gso) {
			uint8_t cbuf[CMSG_SPACE(sizeof(uint16_t))] = { 0 };
			struct msghdr *m = &msgs[0].msg_hdr;
			struct cmsghdr *cm;
			uint16_t seg = (uint16_t)sizes[0];

			iov[0].iov_base = bufs[0];
			iov[0].iov_len = total;
			m->msg_control = cbuf;
			m->msg_controllen = sizeof(cbuf);
			cm = CMSG_FIRSTHDR(m);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
			if (sendmsg(fd, m, 0) == -1)
				err(1, "sendmsg (UDP_SEGMENT %u, %zu bytes)",
				    seg, total);
		} else {
			for (i = 0; i < n; i += (size_t)sent)
				if ((sent = sendmmsg(fd, msgs + i,
				    (unsigned)(n - i), 0)) == -1)
					err(1, "sendmmsg");
		}
		for (i = 0; i < n; i++, seq++)
			if ((long)seq != r.bad)
				printf("d %u %u%s\n", seq, sizes[i],
				    has_opts(&r, seq) ? " opts" : "");
		if (us > 0 && argv[1] != NULL)
			nanosleep(&pause, NULL);
	}
	if (fflush(stdout) == EOF)
		err(1, "stdout");
	return 0;
}

static int
recv_main(int argc, char *argv[])
{
	static uint8_t buf[65536];
	uint8_t cbuf[256];
	struct sockaddr_storage ss;
	struct pollfd pfd;
	struct msghdr m;
	struct iovec iov = { buf, sizeof(buf) };
	struct cmsghdr *cm;
	long count = -1, wait_ms = 1000, got = 0;
	int c, fd, gro = 0, one = 1, size = 16 << 20, seg, opts, timeout;
	socklen_t alen;
	uint32_t seq;
	ssize_t n;
	size_t off, len;

	while ((c = getopt(argc, argv, "Gn:w:")) != -1) {
		switch (c) {
		case 'G':
			gro = 1;
			break;
		case 'n':
			count = number(optarg, 1, 1 << 30);
			break;
		case 'w':
			wait_ms = number(optarg, 1, 600000);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	alen = address(argv[0], (int)number(argv[1], 1, 65535), &ss);
	if ((fd = socket(ss.ss_family, SOCK_DGRAM, 0)) == -1)
		err(1, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) == -1)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (ss.ss_family == AF_INET &&
	    setsockopt(fd, IPPROTO_IP, IP_RECVOPTS, &one, sizeof(one)) == -1)
		err(1, "IP_RECVOPTS");
	if (gro && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == -1)
		err(1, "UDP_GRO");
	if (bind(fd, (struct sockaddr *)&ss, alen) == -1)
		err(1, "bind %s port %s", argv[0], argv[1]);
	/*
	 * Non-blocking: on a blocking socket, poll() drops a datagram whose
	 * checksum is wrong and counts it as IPv4's (UdpInCsumErrors), even
	 * on an IPv6 socket; recvmsg() counts it as the socket's own.
	 */
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		err(1, "fcntl");

	pfd.fd = fd;
	pfd.events = POLLIN;
	timeout = 10000;
	while (count == -1 || got < count) {
		if ((c = poll(&pfd, 1, timeout)) == -1 && errno != EINTR)
			err(1, "poll");
		if (c == 0)
			break;
		timeout = (int)wait_ms;
		memset(&m, 0, sizeof(m));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		if ((n = recvmsg(fd, &m, MSG_DONTWAIT)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			err(1, "recvmsg");
		}
		if (m.msg_flags & MSG_TRUNC)
			errx(1, "a datagram larger than %zu bytes", sizeof(buf));
		seg = 0;
		opts = 0;
		for (cm = CMSG_FIRSTHDR(&m); cm != NULL; cm = CMSG_NXTHDR(&m, cm)) {
			if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO)
				memcpy(&seg, CMSG_DATA(cm), sizeof(seg));
			if (cm->cmsg_level == IPPROTO_IP &&
			    (cm->cmsg_type == IP_OPTIONS ||
			    cm->cmsg_type == IP_RECVOPTS) &&
			    cm->cmsg_len > CMSG_LEN(0))
				opts = 1;
		}
		if (gro)
			printf("b %zd %d\n", n, seg);
		for (off = 0; off < (size_t)n; off += len, got++) {
			len = (size_t)n - off;
			if (seg > 0 && len > (size_t)seg)
				len = (size_t)seg;
			if (right(buf + off, len, &seq))
				printf("d %u %zu%s\n", seq, len,
				    opts ? " opts" : "");
			else
				printf("corrupt %zu\n", len);
		}
	}
	if (fflush(stdout) == EOF)
		err(1, "stdout");
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "send") == 0)
		return send_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "recv") == 0)
		return recv_main(argc - 1, argv + 1);
	usage();
	return 2;
}
