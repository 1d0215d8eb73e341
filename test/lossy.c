/*
 * lossy: forwards UDP datagrams between a client and a server, dropping
 * some and swapping some adjacent ones, as a lossy network would; the
 * tests put it between two socats that carry a tunnel over UDP, where
 * netem is not at hand (a kernel without sch_netem).
 *
 * It listens on LISTEN_ADDR LISTEN_PORT; what arrives there goes to
 * SERVER_ADDR SERVER_PORT, and what the server sends back goes to the
 * address that last sent to the listener.  Each direction decides the fate
 * of its datagrams from its own generator, seeded from -s, so that the
 * k-th datagram of a direction meets the same fate in every run, however
 * the two directions interleave.  Each drop and swap is logged on stderr;
 * SIGTERM or SIGINT prints the totals and exits.
 *
 * usage: lossy [-d N] [-f SIZE] [-x N] [-s seed] LISTEN_ADDR LISTEN_PORT
 *            SERVER_ADDR SERVER_PORT
 *   -d N  drop one datagram in N, at random (0: none, the default)
 *   -f SIZE  the network carries a datagram as IP fragments of SIZE bytes
 *         and loses one fragment in N (-d): a datagram goes whole or not
 *         at all, the larger the likelier lost, as on a real path
 *   -x N  hold back one datagram in N, at random, and send it right after
 *         the next one (or after 100 ms if none comes): a swap (0: none)
 */
#define _GNU_SOURCE		/* ppoll */
#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HOLD_MS	100		/* longest wait for a swap's partner */

struct direction {
	const char *name;
	int from, to;		/* sockets: received on, sent on */
	uint32_t state;		/* the generator (xorshift32) */
	unsigned long count, dropped, swapped;
	uint8_t held[65536];	/* a datagram held back for a swap */
	size_t held_len;	/* 0: none held */
	long held_until;	/* when it goes anyway, in ms */
};

static unsigned long drop_one_in, swap_one_in, fragment_size;
static struct sockaddr_storage client;
static socklen_t client_len;	/* 0 until the client has sent */
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The next number of a direction's generator. */
static uint32_t
next_random(struct direction *d)
{
	d->state ^= d->state << 13;
	d->state ^= d->state >> 17;
	d->state ^= d->state << 5;
	return d->state;
}

/* The monotonic clock in milliseconds. */
static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether an event of chance one in n happens now (never when n is 0). */
static int
one_in(struct direction *d, unsigned long n)
{
	return n != 0 && next_random(d) % n == 0;
}

/* Whether a datagram of len bytes is lost: any of its fragments is. */
static int
lost(struct direction *d, size_t len)
{
	size_t fragments = 1, i;
	int gone = 0;

	if (fragment_size != 0 && len > fragment_size)
		fragments = (len + fragment_size - 1) / fragment_size;
	for (i = 0; i < fragments; i++)	/* as many draws whatever the fate */
		gone |= one_in(d, drop_one_in);
	return gone;
}

/*
 * Makes a UDP socket for a numeric address and port: bound to it when
 * bind_it, else connected to it.
 */
static int
udp_socket(const char *addr, const char *port, int bind_it)
{
	struct addrinfo hints, *ai;
	int e, fd, rcvbuf = 8 << 20;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((e = getaddrinfo(addr, port, &hints, &ai)) != 0)
		errx(2, "%s %s: %s", addr, port, gai_strerror(e));
	if ((fd = socket(ai->ai_family, SOCK_DGRAM, 0)) == -1)
		err(1, "socket");
	/*
	 * A relay slower than its sender for a moment must not lose what
	 * it was not asked to: a large receive buffer, beyond rmem_max as
	 * root.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
	    sizeof(rcvbuf)) == -1)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind_it ? bind(fd, ai->ai_addr, ai->ai_addrlen) :
	    connect(fd, ai->ai_addr, ai->ai_addrlen))
		err(1, "%s %s %s", bind_it ? "bind" : "connect", addr, port);
	freeaddrinfo(ai);
	return fd;
}

/*
 * Sends a datagram on in its direction: to the client from the listening
 * socket, to the server on the connected one.  A refusal (nobody listens
 * yet) loses the datagram, as the network would.
 */
static void
send_on(struct direction *d, const uint8_t *p, size_t len, int to_client)
{
	ssize_t n;

	if (to_client)
		n = sendto(d->to, p, len, 0, (struct sockaddr *)&client,
		    client_len);
	else
		n = send(d->to, p, len, 0);
	if (n == -1 && errno != ECONNREFUSED && errno != EINTR)
		warn("%s: send", d->name);
}

/*
 * Sends the datagram a direction holds back, if any; unless now, only once
 * its partner has had its time to come.
 */
static void
release(struct direction *d, int to_client, int now)
{
	if (d->held_len == 0 || (!now && now_ms() < d->held_until))
		return;
	send_on(d, d->held, d->held_len, to_client);
	d->held_len = 0;
}

/* Receives one datagram of a direction and decides its fate. */
static void
forward(struct direction *d, int to_client)
{
	static uint8_t buf[65536];
	struct sockaddr_storage from;
	socklen_t from_len = sizeof(from);
	ssize_t n;

	/*
	 * Not waiting: poll's POLLERR may have been a refusal that a send
	 * has taken since, leaving nothing to read.
	 */
	n = recvfrom(d->from, buf, sizeof(buf), MSG_DONTWAIT,
	    (struct sockaddr *)&from, &from_len);
	if (n == -1) {
		if (errno != ECONNREFUSED && errno != EINTR &&
		    errno != EAGAIN)
			warn("%s: recv", d->name);
		return;
	}
	if (!to_client) {
		memcpy(&client, &from, from_len);
		client_len = from_len;
	} else if (client_len == 0) {
		return;		/* no client to send it to yet */
	}
	d->count++;
	if (lost(d, (size_t)n)) {
		d->dropped++;
		fprintf(stderr, "lossy: %s: dropped datagram %lu (%zd bytes)\n",
		    d->name, d->count, n);
		return;
	}
	if (d->held_len == 0 && one_in(d, swap_one_in)) {
		d->swapped++;
		fprintf(stderr, "lossy: %s: swapped datagram %lu (%zd bytes) "
		    "with the next\n", d->name, d->count, n);
		memcpy(d->held, buf, (size_t)n);
		d->held_len = (size_t)n;
		d->held_until = now_ms() + HOLD_MS;
		return;
	}
	send_on(d, buf, (size_t)n, to_client);
	release(d, to_client, 1);
}

int
main(int argc, char *argv[])
{
	static struct direction up = { .name = "to server" },
	    down = { .name = "to client" };
	struct pollfd pfd[2];
	struct timespec hold = { 0, HOLD_MS * 1000000L };
	struct sigaction sa;
	sigset_t block, unblocked;
	unsigned long seed = 1;
	int c;

	while ((c = getopt(argc, argv, "d:f:s:x:")) != -1) {
		switch (c) {
		case 'd':
			drop_one_in = strtoul(optarg, NULL, 10);
			break;
		case 'f':
			fragment_size = strtoul(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoul(optarg, NULL, 10);
			break;
		case 'x':
			swap_one_in = strtoul(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 4) {
usage:
		errx(2, "usage: lossy [-d N] [-f SIZE] [-x N] [-s seed] LISTEN_ADDR "
		    "LISTEN_PORT SERVER_ADDR SERVER_PORT");
	}
	/* xorshift32 must not start at 0; the directions differ. */
	up.state = (uint32_t)(seed * 2654435761u) | 1;
	down.state = (uint32_t)(seed * 2246822519u) | 2;
	up.from = down.to = udp_socket(argv[optind], argv[optind + 1], 1);
	up.to = down.from = udp_socket(argv[optind + 2], argv[optind + 3], 0);
	/*
	 * The signals come only inside ppoll, so none is missed; there they
	 * come even if the parent left them blocked.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &unblocked);
	sigdelset(&unblocked, SIGTERM);
	sigdelset(&unblocked, SIGINT);
	pfd[0].fd = up.from;
	pfd[1].fd = down.from;
	pfd[0].events = pfd[1].events = POLLIN;
	while (!stop) {
		if (ppoll(pfd, 2, up.held_len || down.held_len ? &hold : NULL,
		    &unblocked) == -1) {
			if (errno != EINTR)
				err(1, "poll");
			continue;
		}
		if (pfd[0].revents & (POLLIN | POLLERR))
			forward(&up, 0);
		if (pfd[1].revents & (POLLIN | POLLERR))
			forward(&down, 1);
		release(&up, 0, 0);
		release(&down, 1, 0);
	}
	fprintf(stderr, "lossy: to server: %lu datagrams, %lu dropped, %lu "
	    "swapped; to client: %lu datagrams, %lu dropped, %lu swapped\n",
	    up.count, up.dropped, up.swapped, down.count, down.dropped,
	    down.swapped);
	return 0;
}
