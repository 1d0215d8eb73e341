#!/bin/sh
# tap-bridge.sh: one Ethernet segment across a TCP connection.  tunpipe runs
# in TAP mode (-T) at both ends; the server's tap device joins an existing
# Linux bridge, so that the client's tap device sits on the server's LAN:
# ARP, DHCP, IPv6 neighbour discovery, any protocol over Ethernet.  The
# transport is nc (Debian: netcat-openbsd), as in nc-server.sh: nothing is
# encrypted.
#
# usage: tap-bridge.sh server PORT BRIDGE [tunpipe options...]
#        tap-bridge.sh client HOST PORT ADDRESS/PREFIX [tunpipe options...]
#   e.g. on the server, whose LAN is bridge br0 (made beforehand, say
#        ip link add br0 type bridge; ip link set eth0 master br0):
#            tap-bridge.sh server 33962 br0
#        on the client, with an address on that LAN:
#            tap-bridge.sh client server.example 33962 192.168.1.250/24
#
# The server's tap device is added to BRIDGE and brought up by tunpipe's
# --up command (so the server takes no -u option of its own); the bridge
# itself is the user's.  As with nc-server.sh, the server serves one client,
# and either end stopping ends the other; each tap device goes away with its
# tunpipe.
# TUNPIPE=/path/to/tunpipe runs that binary instead of tunpipe from PATH.
set -eu

usage() {
	echo "usage: $0 server PORT BRIDGE [tunpipe options...]" >&2
	echo "       $0 client HOST PORT ADDRESS/PREFIX [tunpipe options...]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
role=$1
shift
case $role in
server) [ $# -ge 2 ] || usage ;;
client) [ $# -ge 3 ] || usage ;;
*) usage ;;
esac

tunpipe=${TUNPIPE:-tunpipe}
if [ "$role" = server ] &&
    [ -z "$(ip link show dev "$2" type bridge 2>/dev/null)" ]; then
	echo "$0: no bridge $2: make it first (ip link add $2 type bridge)" >&2
	exit 1
fi

# The FIFO carries tunpipe's output back into nc; its directory goes at exit.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
mkfifo "$dir/f"

# nc and tunpipe as in nc-server.sh and nc-client.sh: either end ending
# ends the other.  The script's status is tunpipe's.
# shellcheck disable=SC2016,SC2094 # $TUNPIPE_IFNAME is for the --up command's sh; one FIFO
if [ "$role" = server ]; then
	port=$1
	bridge=$2
	shift 2
	nc -N -l "$port" <"$dir/f" |
	    BRIDGE=$bridge "$tunpipe" -T "$@" \
	        -u 'ip link set "$TUNPIPE_IFNAME" master "$BRIDGE" up' >"$dir/f"
else
	host=$1
	port=$2
	address=$3
	shift 3
	nc -N "$host" "$port" <"$dir/f" |
	    "$tunpipe" -T -a "$address" "$@" >"$dir/f"
fi
