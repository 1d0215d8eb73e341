#!/bin/sh
# hub.sh: a routing hub.  socat accepts TCP clients on PORT and starts one
# tunpipe per connection, each with its own TUN device (tp0, tp1, ...); the
# kernel routes between those devices, so every client reaches the hub and
# every other client (TUN mode: IP routing, no bridge, no ARP).
#
# usage: hub.sh PORT HUB_ADDRESS            e.g. hub.sh 33960 10.77.0.1
#        (as root; clients run hub-client.sh, see there)
#
# Addresses: the tunnel network is HUB_ADDRESS's /24.  The hub must know
# each client's tunnel address to route to it, and tunpipe has no
# handshake, so the address follows from where the client connects from:
# a client whose transport address ends in .N (socat passes it as
# SOCAT_PEERADDR) is tunnel address NET.N.  The client at 192.168.1.23, say,
# must run `hub-client.sh HUB PORT 10.77.0.23/24`.  So the clients'
# transport addresses need distinct last numbers, none equal to
# HUB_ADDRESS's, and no NAT between clients and hub; IPv4 only.
#
# How: socat runs `tunpipe -i tp%d -u hub.sh` for each connection; tunpipe
# runs this same script again as its --up hook (TUNPIPE_IFNAME set, and
# SOCAT_PEERADDR and HUB_ADDRESS inherited through socat and tunpipe), which
# does `ip addr add HUB_ADDRESS peer NET.N dev tpX`: a /32 route to the
# client through its own device.  A second connection for an address that is
# still connected is refused.  When a client goes, its tunpipe ends and its
# device and route go with it.
#
# No client may speak as another: the hook turns on strict reverse-path
# filtering on the client's device (net.ipv4.conf.tpX.rp_filter=1), so
# that the kernel drops, before routing, every packet from tpX whose source
# address is not routed back through tpX: one with another client's address,
# the hub's, or any other.  It reaches neither the hub nor another client.
# The kernel applies the larger of that value and the namespace's
# net.ipv4.conf.all.rp_filter, so the hub lowers the latter from 2 (loose,
# which checks only that the source is routed somewhere) to 1, and says so.
#
# Forwarding: the hub sets net.ipv4.ip_forward=1, a setting of the network
# namespace it runs in.  Run it in a namespace of its own (ip netns exec) to
# leave the host's settings alone.  socat splits its EXEC command at spaces:
# the paths of tunpipe and of this script must hold no space, ':' or ','.
# tunpipe comes from PATH, or from the TUNPIPE environment variable.
# socat moves 128 KiB at a time (-b 131072) rather than its default 8 KiB,
# which would cost a system call every few packets.
set -eu

# Second role: the --up hook of one client's device.
if [ -n "${TUNPIPE_IFNAME:-}" ]; then
	n=${SOCAT_PEERADDR##*.}     # last number of the client's IPv4 address
	case "$n" in
	'' | *[!0-9]*) echo "hub: cannot map client $SOCAT_PEERADDR" >&2; exit 1 ;;
	esac
	client=${HUB_ADDRESS%.*}.$n
	if [ "$client" = "$HUB_ADDRESS" ] || [ "$n" -lt 1 ] || [ "$n" -gt 254 ] ||
	    [ -n "$(ip route show exact "$client/32")" ]; then
		echo "hub: refusing $SOCAT_PEERADDR: $client is taken" >&2
		exit 1
	fi
	sysctl -qw "net.ipv4.conf.$TUNPIPE_IFNAME.rp_filter=1"
	ip addr add "$HUB_ADDRESS/32" peer "$client/32" dev "$TUNPIPE_IFNAME"
	ip link set dev "$TUNPIPE_IFNAME" up
	echo "hub: client $SOCAT_PEERADDR is $client on $TUNPIPE_IFNAME"
	exit 0
fi

# First role: the hub itself.
if [ $# -ne 2 ]; then
	echo "usage: hub.sh PORT HUB_ADDRESS    (e.g. hub.sh 33960 10.77.0.1)" >&2
	exit 2
fi
if ! printf '%s\n' "$2" | grep -Eqx '([0-9]{1,3}\.){3}[0-9]{1,3}'; then
	echo "hub.sh: HUB_ADDRESS must be an IPv4 address, no prefix: $2" >&2
	exit 2
fi
tunpipe=$(command -v "${TUNPIPE:-tunpipe}") ||
    { echo "hub.sh: tunpipe not found: put it on PATH or set TUNPIPE" >&2; exit 1; }
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
HUB_ADDRESS=$2
export HUB_ADDRESS

sysctl -qw net.ipv4.ip_forward=1        # this network namespace only
if [ "$(sysctl -n net.ipv4.conf.all.rp_filter)" = 2 ]; then
	sysctl -qw net.ipv4.conf.all.rp_filter=1
	echo "hub: net.ipv4.conf.all.rp_filter lowered from 2 to 1, so that each client's device is filtered strictly" >&2
fi
echo "hub: listening on TCP port $1, tunnel network ${HUB_ADDRESS%.*}.0/24" >&2
exec socat -b 131072 "TCP-LISTEN:$1,fork,reuseaddr" "EXEC:$tunpipe -i tp%d -u $self"
