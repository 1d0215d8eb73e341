/*
 * device.c: the TUN or TAP device's set-up and carrier, described in
 * device.h, in the order the device meets them: the clone device,
 * TUNSETIFF, the header and its offloads, owner and persistence, then
 * MTU, addresses, link, the MTU read back, and the carrier.  Then the
 * socket that may stand in for a TAP device: connected, read, written.
 *
 * It makes system calls and never prints: a failed step is recorded in
 * struct device, for tunpipe.c to put into words.  It knows no option.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <arpa/inet.h>		/* htonl() */
#include <net/ethernet.h>	/* ETH_HLEN */

#include <linux/ethtool.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "framing.h"
#include "offload.h"

/* UDP segmentation offload: in kernels since 6.2, not in all headers yet. */
#ifndef TUN_F_USO4
#define TUN_F_USO4	0x20
#define TUN_F_USO6	0x40
#endif

/* Records the step that failed; returns -1, errno as the step left it. */
static int
fail(struct device *dev, enum device_step step)
{
	dev->failed = step;
	return -1;
}

/* Closes fd, keeping errno: it says why the step before failed. */
static void
close_keeping_errno(int fd)
{
	int e = errno;

	close(fd);
	errno = e;
}

static int
open_clone(struct device *dev)
{
	if ((dev->fd = open(DEVICE_CLONE, O_RDWR | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return fail(dev, DEVICE_CLONE_OPEN);
	return 0;
}

/* TUNSETIFF: the device called want, of the mode, with the header or not. */
static int
set_iff(struct device *dev, const char *want, int vnet)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (dev->tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI |
	    (vnet ? IFF_VNET_HDR : 0);
	memcpy(ifr.ifr_name, want, strnlen(want, IFNAMSIZ - 1));
	if (ioctl(dev->fd, TUNSETIFF, &ifr) == -1)
		return fail(dev, DEVICE_SETIFF);
	memcpy(dev->name, ifr.ifr_name, IFNAMSIZ);
	dev->name[IFNAMSIZ - 1] = '\0';
	return 0;
}

/*
 * The header's length and order, then the offloads: TCP's and UDP's, else
 * TCP's alone (a kernel before 6.2), else none, which still leaves the
 * header.  A little-endian host has the header in that order even where
 * the kernel has no TUNSETVNETLE.
 */
static int
enable_offload(struct device *dev)
{
	unsigned long tcp = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	int hdrlen = OFFLOAD_VNET_LEN, le = 1;

	if (ioctl(dev->fd, TUNSETVNETHDRSZ, &hdrlen) == -1 ||
	    (ioctl(dev->fd, TUNSETVNETLE, &le) == -1 &&
	    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__))
		return fail(dev, DEVICE_VNET_HDR);
	if (ioctl(dev->fd, TUNSETOFFLOAD, tcp | TUN_F_USO4 | TUN_F_USO6) == 0)
		dev->offloads = DEVICE_TSO | DEVICE_USO;
	else if (ioctl(dev->fd, TUNSETOFFLOAD, tcp) == 0)
		dev->offloads = DEVICE_TSO;
	return 0;
}

/* One try at the device, with the header or not; nothing open if it fails. */
static int
attach(struct device *dev, const char *want, int vnet)
{
	memset(dev->name, 0, sizeof(dev->name));
	dev->vnet = 0;
	dev->offloads = 0;
	if (open_clone(dev) == -1)
		return -1;
	if (set_iff(dev, want, vnet) == -1 ||
	    (vnet && enable_offload(dev) == -1)) {
		close_keeping_errno(dev->fd);
		dev->fd = -1;
		return -1;
	}
	dev->vnet = vnet;
	return 0;
}

int
device_open(struct device *dev, const char *want, int tap,
    enum device_vnet vnet)
{
	dev->tap = tap;
	dev->vnet_refused = 0;
	dev->failed = DEVICE_OK;
	if (attach(dev, want, vnet != DEVICE_VNET_NONE) == 0)
		return 0;
	if (vnet != DEVICE_VNET_WANTED || dev->failed == DEVICE_CLONE_OPEN)
		return -1;
	dev->vnet_refused = errno;
	dev->failed = DEVICE_OK;
	return attach(dev, want, 0);
}

int
device_driver(const char *name, struct device_driver_info *info)
{
	struct ethtool_drvinfo drv;
	struct ifreq ifr;
	int fd, r, e;

	_Static_assert(sizeof(info->driver) == sizeof(drv.driver) &&
	    sizeof(info->mode) == sizeof(drv.bus_info), "ethtool's sizes");
	memset(&ifr, 0, sizeof(ifr));
	memset(&drv, 0, sizeof(drv));
	memset(info, 0, sizeof(*info));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	drv.cmd = ETHTOOL_GDRVINFO;
	ifr.ifr_data = (void *)&drv;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	r = ioctl(fd, SIOCETHTOOL, &ifr);
	e = errno;
	close(fd);
	if (r == -1 && e == ENODEV)
		return -1;
	memcpy(info->driver, drv.driver, sizeof(info->driver) - 1);
	memcpy(info->mode, drv.bus_info, sizeof(info->mode) - 1);
	return 0;
}

int
device_set_owner(struct device *dev, uid_t uid)
{
	if (ioctl(dev->fd, TUNSETOWNER, (unsigned long)uid) == -1)
		return fail(dev, DEVICE_OWNER);
	return 0;
}

int
device_persist(struct device *dev)
{
	if (ioctl(dev->fd, TUNSETPERSIST, 1UL) == -1)
		return fail(dev, DEVICE_PERSIST);
	return 0;
}

/* An ifreq naming the device, for the interface ioctls. */
static struct ifreq
ifreq_of(const struct device *dev)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, dev->name, sizeof(dev->name));
	return ifr;
}

/* An interface ioctl on dev->sock, recorded as step when it fails. */
static int
if_ioctl(struct device *dev, unsigned long request, struct ifreq *ifr,
    enum device_step step)
{
	if (ioctl(dev->sock, request, ifr) == -1)
		return fail(dev, step);
	return 0;
}

static int
set_mtu(struct device *dev, int mtu)
{
	struct ifreq ifr = ifreq_of(dev);

	ifr.ifr_mtu = mtu;
	return if_ioctl(dev, SIOCSIFMTU, &ifr, DEVICE_SET_MTU);
}

/*
 * Adds one address to the device through rtnetlink, which, unlike the
 * ioctls, takes IPv4 and IPv6 alike.  NLM_F_REPLACE makes it idempotent,
 * so attaching again to a persistent device with the same addresses is no
 * error.
 */
static int
add_address(struct device *dev, int nl, int ifindex,
    const struct device_address *a)
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
		return fail(dev, DEVICE_SEND);
	if (recv(nl, &ack, sizeof(ack), 0) < (ssize_t)sizeof(ack) ||
	    ack.nh.nlmsg_type != NLMSG_ERROR) {
		errno = EPROTO;
		return fail(dev, DEVICE_NO_ANSWER);
	}
	if (ack.err.error != 0) {
		errno = -ack.err.error;
		return fail(dev, DEVICE_ADDRESS);
	}
	return 0;
}

static int
add_addresses(struct device *dev, const struct device_address *addrs,
    size_t n)
{
	struct ifreq ifr = ifreq_of(dev);
	int nl;

	if (if_ioctl(dev, SIOCGIFINDEX, &ifr, DEVICE_INDEX) == -1)
		return -1;
	if ((nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_ROUTE)) == -1)
		return fail(dev, DEVICE_NETLINK);
	for (dev->address = 0; dev->address < n; dev->address++)
		if (add_address(dev, nl, ifr.ifr_ifindex,
		    &addrs[dev->address]) == -1) {
			close_keeping_errno(nl);
			return -1;
		}
	close(nl);
	return 0;
}

static int
link_up(struct device *dev)
{
	struct ifreq ifr = ifreq_of(dev);

	if (if_ioctl(dev, SIOCGIFFLAGS, &ifr, DEVICE_GET_FLAGS) == -1)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return if_ioctl(dev, SIOCSIFFLAGS, &ifr, DEVICE_SET_FLAGS);
}

static int
read_mtu(struct device *dev)
{
	struct ifreq ifr = ifreq_of(dev);

	if (if_ioctl(dev, SIOCGIFMTU, &ifr, DEVICE_GET_MTU) == -1)
		return -1;
	dev->mtu = ifr.ifr_mtu;
	return 0;
}

int
device_configure(struct device *dev, int mtu,
    const struct device_address *addrs, size_t n)
{
	dev->failed = DEVICE_OK;
	if ((dev->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return fail(dev, DEVICE_SOCKET);
	if ((mtu != 0 && set_mtu(dev, mtu) == -1) ||
	    (n > 0 && (add_addresses(dev, addrs, n) == -1 ||
	    link_up(dev) == -1)) || read_mtu(dev) == -1) {
		close_keeping_errno(dev->sock);
		dev->sock = -1;
		return -1;
	}
	dev->carrier = 1;
	return 0;
}

int
device_mtu(const struct device *dev)
{
	struct ifreq ifr = ifreq_of(dev);

	return ioctl(dev->sock, SIOCGIFMTU, &ifr) == -1 ? dev->mtu :
	    ifr.ifr_mtu;
}

int
device_set_carrier(struct device *dev, int on)
{
	int carrier = on;

	if (dev->carrier == -1 || dev->carrier == on)
		return 0;
	if (ioctl(dev->fd, TUNSETCARRIER, &carrier) == -1) {
		dev->carrier = -1;
		return -1;
	}
	dev->carrier = on;
	return 1;
}

/* The path's last part, cut to fit dev->name: what messages call it. */
static void
name_socket(struct device *dev, const char *path)
{
	const char *last = strrchr(path, '/');

	snprintf(dev->name, sizeof(dev->name), "%s",
	    last != NULL && last[1] != '\0' ? last + 1 : path);
}

int
device_connect(struct device *dev, const char *path,
    struct device_socket *sock)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return fail(dev, DEVICE_CONNECT);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((dev->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return fail(dev, DEVICE_CONNECT);
	if (connect(dev->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    fcntl(dev->fd, F_SETFL, O_NONBLOCK) == -1) {
		close_keeping_errno(dev->fd);
		dev->fd = -1;
		return fail(dev, DEVICE_CONNECT);
	}
	name_socket(dev, path);
	dev->tap = 1;
	dev->vnet = dev->offloads = 0;
	dev->carrier = -1;
	dev->sock = -1;
	dev->mtu = 65535 - ETH_HLEN;	/* the longest frame passt takes */
	dev->socket = sock;
	memset(sock, 0, offsetof(struct device_socket, in));
	framing_decoder_init(&sock->dec, FRAMING_LEN32, FRAMING_PACKET_MAX,
	    sock->assembly);
	return 0;
}

/*
 * Decodes the next frame from what was read; returns 1 with *pkt, 0 when
 * all of it was taken, or -1 when the lengths make no sense.
 */
static int
decode_frame(struct device_socket *sock, struct framing_packet *pkt)
{
	enum framing_result r;
	size_t used;

	while (sock->in_pos < sock->in_len) {
		r = framing_decode(&sock->dec, sock->in + sock->in_pos,
		    sock->in_len - sock->in_pos, &used, pkt);
		sock->in_pos += used;
		if (r == FRAMING_PACKET)
			return 1;
		if (r != FRAMING_AGAIN)
			return -1;
	}
	return 0;
}

ssize_t
device_receive(struct device *dev, uint8_t *frame, size_t room)
{
	struct device_socket *sock = dev->socket;
	struct framing_packet pkt;
	ssize_t n;
	int r;

	while ((r = decode_frame(sock, &pkt)) == 0) {
		n = read(dev->fd, sock->in, sizeof(sock->in));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return fail(dev, DEVICE_CLOSED);
		}
		sock->in_pos = 0;
		sock->in_len = (size_t)n;
	}
	if (r == -1 || pkt.len > room) {
		errno = EPROTO;
		return fail(dev, DEVICE_OUT_OF_STEP);
	}
	memcpy(frame, pkt.data, pkt.len);
	return (ssize_t)pkt.len;
}

int
device_buffered(const struct device *dev)
{
	return dev->socket != NULL &&
	    dev->socket->in_pos < dev->socket->in_len;
}

/* Where the frame that starts at out[at] ends: its header and all. */
static size_t
frame_end(const struct device_socket *sock, size_t at)
{
	return at + framing_frame_len(FRAMING_LEN32, sock->out + at);
}

/*
 * Queues the frame of len bytes, after its header, of which the socket
 * took sent bytes already: the rest goes out first.  Moves what waits to
 * the start of the buffer when the end has no room.
 */
static int
queue_frame(struct device_socket *sock, const uint8_t *header,
    const uint8_t *frame, size_t len, size_t sent)
{
	size_t hlen = framing_header_len(FRAMING_LEN32), whole = hlen + len;

	if (sock->out_tail + whole > sizeof(sock->out) && sock->out_frame > 0) {
		memmove(sock->out, sock->out + sock->out_frame,
		    sock->out_tail - sock->out_frame);
		sock->out_head -= sock->out_frame;
		sock->out_tail -= sock->out_frame;
		sock->out_frame = 0;
	}
	if (sock->out_tail + whole > sizeof(sock->out)) {
		errno = ENOBUFS;
		return -1;
	}
	memcpy(sock->out + sock->out_tail, header, hlen);
	memcpy(sock->out + sock->out_tail + hlen, frame, len);
	if (sock->out_head == sock->out_tail)
		sock->out_head += sent;
	sock->out_tail += whole;
	return 0;
}

int
device_send(struct device *dev, const uint8_t *frame, size_t len)
{
	uint32_t header = htonl((uint32_t)len);
	struct iovec iov[2] = { { &header, sizeof(header) },
	    { (void *)(uintptr_t)frame, len } };
	ssize_t n = 0;

	if (!device_waiting(dev)) {
		if ((n = writev(dev->fd, iov, 2)) == (ssize_t)(sizeof(header) +
		    len))
			return 0;
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (n == -1)
			n = 0;
	}
	return queue_frame(dev->socket, (uint8_t *)&header, frame, len,
	    (size_t)n);
}

int
device_flush(struct device *dev)
{
	struct device_socket *sock = dev->socket;
	size_t end;
	ssize_t n;

	while (sock->out_head < sock->out_tail) {
		end = frame_end(sock, sock->out_frame);
		n = write(dev->fd, sock->out + sock->out_head,
		    end - sock->out_head);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 1 : -1;
		sock->out_head += (size_t)n;
		if (sock->out_head == end)
			sock->out_frame = end;
	}
	sock->out_frame = sock->out_head = sock->out_tail = 0;
	return 0;
}

int
device_waiting(const struct device *dev)
{
	return dev->socket != NULL &&
	    dev->socket->out_head < dev->socket->out_tail;
}
