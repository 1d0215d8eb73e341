/*
 * device.h: the TUN or TAP device, set up for the packet loop: opened
 * through the clone device, or attached to a persistent one, with the
 * virtio-net header and the offloads where the kernel grants them; its
 * owner and persistence; its MTU, addresses (through rtnetlink) and link;
 * its carrier while it runs.
 *
 * struct device records what the kernel granted (TAP or TUN, the header,
 * which offloads), so that the packet path asks the device, never the
 * command line.
 *
 * The functions make system calls and never print.  Each returns -1 with
 * errno set when a call fails, and records in the device which step did
 * (enum device_step): the caller says what failed, and what to do about
 * it.  They take what to ask for as arguments: this module knows no
 * option.
 */
#ifndef DEVICE_H
#define DEVICE_H

#include <linux/if.h>		/* IFNAMSIZ */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "framing.h"

/* The clone device that every TUN and TAP device is opened through. */
#define DEVICE_CLONE	"/dev/net/tun"

/* The offloads that TUNSETOFFLOAD granted, with the virtio-net header. */
#define DEVICE_TSO	1	/* TCP segmentation, checksums left partial */
#define DEVICE_USO	2	/* UDP segmentation: Linux 6.2 */

/* What device_open() asks of the virtio-net header. */
enum device_vnet {
	DEVICE_VNET_NONE,	/* no header: one ordinary packet a read */
	DEVICE_VNET_WANTED,	/* the header, or none where it is refused */
	DEVICE_VNET_NEEDED,	/* the header, or fail */
};

/* The step that failed, in the order the device meets them. */
enum device_step {
	DEVICE_OK,		/* none failed */
	DEVICE_CLONE_OPEN,	/* open() of DEVICE_CLONE */
	DEVICE_SETIFF,		/* TUNSETIFF: creating or attaching */
	DEVICE_VNET_HDR,	/* TUNSETIFF took the name, but the kernel
				   refuses the header (TUNSETVNETHDRSZ, or
				   TUNSETVNETLE on a big-endian host) */
	DEVICE_OWNER,		/* TUNSETOWNER */
	DEVICE_PERSIST,		/* TUNSETPERSIST */
	DEVICE_SOCKET,		/* socket() for the interface ioctls */
	DEVICE_SET_MTU,		/* SIOCSIFMTU */
	DEVICE_INDEX,		/* SIOCGIFINDEX, before the addresses */
	DEVICE_NETLINK,		/* socket() for rtnetlink */
	DEVICE_SEND,		/* send() of an address to rtnetlink */
	DEVICE_NO_ANSWER,	/* rtnetlink gave no answer to an address:
				   errno is EPROTO, and says nothing */
	DEVICE_ADDRESS,		/* the kernel refused an address: its errno */
	DEVICE_GET_FLAGS,	/* SIOCGIFFLAGS, before the link goes up */
	DEVICE_SET_FLAGS,	/* SIOCSIFFLAGS: the link up */
	DEVICE_GET_MTU,		/* SIOCGIFMTU, the MTU read back */
	DEVICE_CONNECT,		/* device_connect(): socket() or connect() */
	DEVICE_CLOSED,		/* the socket's peer closed it */
	DEVICE_OUT_OF_STEP,	/* the socket sent a frame that makes no
				   sense as len32: errno is EPROTO */
};

/* An address for the device, with the prefix of its network. */
struct device_address {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t bytes[16];	/* 4 of them for AF_INET */
	int prefix;
};

/* What ethtool says of an existing device's driver. */
struct device_driver_info {
	char driver[32];	/* "tun" for TUN and TAP devices */
	char mode[32];		/* the tun driver's "tun" or "tap" (its bus) */
};

/*
 * A Unix stream socket in place of a device (device_connect()): Ethernet
 * frames as passt and QEMU's -netdev stream carry them, each after a
 * 4-byte big-endian length (len32).  What was read and not yet taken,
 * and the frames that wait for the socket to take them.
 */
#define DEVICE_SOCKET_IN	(256 * 1024)
#define DEVICE_SOCKET_OUT	(512 * 1024)

struct device_socket {
	struct framing_decoder dec;
	size_t in_pos, in_len;	/* in[in_pos..in_len): not yet decoded */
	size_t out_frame;	/* where the frame at out_head starts */
	size_t out_head, out_tail;	/* waiting: out[out_head..out_tail) */
	uint8_t in[DEVICE_SOCKET_IN];
	uint8_t assembly[FRAMING_PACKET_MAX];
	uint8_t out[DEVICE_SOCKET_OUT];
};

/* The TUN or TAP device. */
struct device {
	int fd;
	char name[IFNAMSIZ];	/* as the kernel named it */
	int tap;		/* Ethernet frames (TAP), else IP packets */
	int vnet;		/* a virtio-net header before each packet */
	int offloads;		/* DEVICE_TSO, DEVICE_USO: those granted */
	int vnet_refused;	/* the errno that made WANTED do without */
	int carrier;		/* 1 on, 0 off, -1 the kernel cannot say */
	int mtu;		/* at start, for the hooks' TUNPIPE_MTU */
	int sock;		/* to read the MTU as it is now: device_mtu() */
	enum device_step failed;	/* the step of the last failure */
	size_t address;		/* DEVICE_SEND, NO_ANSWER, ADDRESS: which */
	struct device_socket *socket;	/* device_connect()'s, else NULL */
};

/*
 * device_open(dev, want, tap, vnet): creates the TAP device (tap) or the
 * TUN device called want ("tun%d": the kernel numbers it), or attaches to
 * the persistent one of that name, without packet information.  With the
 * virtio-net header (vnet not NONE) the header is 10 bytes long and in
 * little-endian order whatever the host, and the device hands over and
 * takes TCP and UDP as GSO packets of up to 64 KiB with checksums left
 * partial, as far as TUNSETOFFLOAD grants (dev->offloads; the header may
 * come with none).  Where the kernel refuses the header, WANTED tries
 * again without it and records the errno of the first try in
 * dev->vnet_refused, whatever the second gives.  Returns 0 with dev->fd,
 * name, tap, vnet and offloads set; or -1, dev->fd -1 and nothing open,
 * with dev->failed DEVICE_CLONE_OPEN, DEVICE_SETIFF or, for NEEDED only,
 * DEVICE_VNET_HDR (dev->name then says what TUNSETIFF named it).
 */
int	device_open(struct device *dev, const char *want, int tap,
	    enum device_vnet vnet);

/*
 * device_driver(name, info): what ethtool says of the driver of the
 * existing device called name (its fields left empty where the driver
 * does not say), to explain a TUNSETIFF that failed with EINVAL.
 * Returns 0, or -1 when no device has that name or no socket opens.
 */
int	device_driver(const char *name, struct device_driver_info *info);

/*
 * device_set_owner(dev, uid), device_persist(dev): give the open device
 * an owner, who may attach to it without privilege, and make it outlive
 * tunpipe.  Each returns 0, or -1 with dev->failed DEVICE_OWNER or
 * DEVICE_PERSIST; the device stays open.
 */
int	device_set_owner(struct device *dev, uid_t uid);
int	device_persist(struct device *dev);

/*
 * device_configure(dev, mtu, addrs, n): sets the open device's MTU (0
 * leaves it), adds the n addresses in addrs (replacing any the device
 * has, so that attaching again with the same ones is no error) and, with
 * addresses, sets the link up.  Then reads the MTU back into dev->mtu and
 * keeps dev->sock to read it again (device_mtu()); dev->carrier is on, as
 * a device with a reader has it.  Returns 0, or -1 with dev->failed from
 * DEVICE_SOCKET to DEVICE_GET_MTU, dev->address the index in addrs where
 * an address failed, and dev->sock -1; the device stays open.
 */
int	device_configure(struct device *dev, int mtu,
	    const struct device_address *addrs, size_t n);

/*
 * device_mtu(dev): the device's MTU now, which may have changed since
 * device_configure(); dev->mtu where the kernel cannot say.
 */
int	device_mtu(const struct device *dev);

/*
 * device_set_carrier(dev, on): turns the carrier on or off (ip link shows
 * NO-CARRIER), so that the link can go down while the device stays.
 * Returns 1 when it did; 0 when there was nothing to do, the carrier
 * being so already or the kernel unable; -1 with errno when TUNSETCARRIER
 * failed (Linux 5.0 has it), after which dev->carrier is -1, the carrier
 * stays as it was, and later calls do nothing.
 */
int	device_set_carrier(struct device *dev, int on);

/*
 * device_connect(dev, path, sock): connects to the Unix stream socket at
 * path, which speaks len32 (passt, QEMU's -netdev stream), to stand in
 * for a TAP device: dev->fd is the socket, non-blocking; dev->socket is
 * sock, the caller's, for device_receive() and device_send(); dev->name
 * the path's last part (cut to fit), dev->tap 1, no header, no carrier,
 * and for an MTU the payload of the longest frame passt takes (65535).
 * Returns 0, or -1 with dev->failed DEVICE_CONNECT and nothing open.
 */
int	device_connect(struct device *dev, const char *path,
	    struct device_socket *sock);

/*
 * device_receive(dev, frame, room): copies the socket's next frame into
 * frame, reading the socket when what was read before holds no whole one.
 * Frames are taken in the order they came and never cut.  Returns its
 * length; 0 when the socket has no whole frame now (an empty frame is
 * none); or -1 with dev->failed DEVICE_CLOSED (errno ECONNRESET, or what
 * read() said), or DEVICE_OUT_OF_STEP when a length makes no sense or the
 * frame is longer than room.
 */
ssize_t	device_receive(struct device *dev, uint8_t *frame, size_t room);

/*
 * device_buffered(dev): whether the socket's reads hold bytes not yet
 * taken by device_receive(), which a poll() of the socket would not
 * announce.
 */
int	device_buffered(const struct device *dev);

/*
 * device_send(dev, frame, len): sends the frame of len bytes to the
 * socket after its length.  Each frame goes in writes of its own, whole
 * in one where the socket takes it (passt of early 2023 loses a frame
 * whose bytes come in pieces to its reads): what the socket does not take
 * now waits, in order, for device_flush().  Returns 0; or -1 with errno:
 * ENOBUFS when DEVICE_SOCKET_OUT has no room left for the frame, or what
 * the write said.
 */
int	device_send(struct device *dev, const uint8_t *frame, size_t len);

/*
 * device_flush(dev): writes the frames that wait, each from where its
 * last write stopped to its end, until the socket takes no more.  Returns
 * 0 when none waits, 1 when some still do, or -1 with errno from write().
 */
int	device_flush(struct device *dev);

/* device_waiting(dev): whether frames wait for the socket to take them. */
int	device_waiting(const struct device *dev);

#endif
