#!/bin/sh
# mesh.sh: one site of a routed mesh.  Each site runs bird (BIRD 2, Debian:
# bird2) and, for each link it dials, a tunpipe over ssh to a neighbouring
# site; OSPF finds the routes between all sites over those links, and
# routes around a link that breaks, through the other sites.
#
# usage: mesh.sh router DIR ADDRESS4 ADDRESS6
#        mesh.sh link NAME HOST LOCAL_ADDRESS/PREFIX REMOTE_ADDRESS/PREFIX [ssh option...]
#   e.g. three sites a, b and c (10.77.0.1 and fd77::1, .2 and ::2, .3 and
#        ::3), a link between each two of them, each link a /30 of its own;
#        a dials b and c, b dials c (as root; each command runs in the
#        foreground: one terminal, or one service, each):
#          on a: mesh.sh router /run/mesh 10.77.0.1 fd77::1
#                mesh.sh link mesh-ab root@b 10.77.0.129/30 10.77.0.130/30
#                mesh.sh link mesh-ac root@c 10.77.0.137/30 10.77.0.138/30
#          on b: mesh.sh router /run/mesh 10.77.0.2 fd77::2
#                mesh.sh link mesh-bc root@c 10.77.0.133/30 10.77.0.134/30
#          on c: mesh.sh router /run/mesh 10.77.0.3 fd77::3
#        then, on a: birdc -s /run/mesh/bird.ctl show ospf neighbors
#
# router: the site's own addresses, ADDRESS4/32 and ADDRESS6/128, go on lo
# (ADDRESS4 is bird's router ID too); forwarding is turned on for IPv4 and
# IPv6 (settings of the network namespace it runs in, and IPv6 forwarding
# makes the kernel ignore router advertisements: run it on a router, or in a
# namespace of its own); then bird runs in the foreground, logging to
# stderr, with DIR/bird.conf, written afresh at each start from the
# arguments, and its control socket DIR/bird.ctl.  OSPF runs on every device
# whose name begins with mesh-, as a point-to-point link with a hello every
# second and a neighbour given up after 4 s of silence (hello 1; dead 4);
# the site's addresses are announced as stub networks.
#
# link: tunpipe creates device NAME with LOCAL_ADDRESS and runs ssh to HOST
# (-e), which runs tunpipe there with device NAME and REMOTE_ADDRESS; when
# ssh ends, tunpipe starts it again (-r 1: after 1 s, doubling while it
# keeps failing), and the local device and its address stay.  -k 1 at both
# ends: an empty frame after 1 s without traffic, and 3 s of silence from a
# peer that sends them end the stream; ssh gives up a server that does not
# answer for about 4 s (ServerAliveInterval=2, ServerAliveCountMax=2),
# BatchMode=yes, since nobody is there to answer a prompt at a restart, and
# ConnectTimeout=10.  NAME must begin with mesh- (bird's pattern) and have
# at most 15 characters; the far end's device has the same name, and comes
# and goes with each connection (while an old far end still holds it, after
# a path went silent, a new one cannot start, and -r tries again later).
# Each link is dialed from one of its two sites only.
#
# IPv4 runs on OSPFv2 over the links' addresses.  IPv6 runs on OSPFv3 over
# the devices' link-local addresses: the kernel gives a TUN device, which
# has no hardware address, a random link-local address when it comes up
# (addr_gen_mode 3, "random"), a new one each time the device is made, which
# OSPFv3 does not mind: it knows neighbours by router ID.  So the links need
# no IPv6 addresses of their own.
#
# Failover: bird drops a neighbour after the dead interval (4 s) at the
# latest.  tunpipe turns its device's carrier off while the stream is down
# (between -r restarts, or when -k found the peer silent), and back on with
# a new stream, and the far end's device goes away with its tunpipe; bird
# hears of either from the kernel at once and, with check link (the
# default), takes the neighbour down without waiting for the dead interval;
# the routes change at its next routing table calculation (every second).
# OSPF re-originates a router's LSA at most once in 5 s, so a change that
# comes within 5 s of the last one waits for the rest.  MESH_CHECK_LINK=no
# makes bird ignore the carrier, which leaves the dead interval
# (bench/failover.sh compares the two).
#
# Environment: TUNPIPE, TUNPIPE_REMOTE and SSH, as for ssh.sh; BIRD, the
# bird command (default: bird).
set -eu

usage() {
	echo "usage: $0 router DIR ADDRESS4 ADDRESS6" >&2
	echo "       $0 link NAME HOST LOCAL_ADDRESS/PREFIX REMOTE_ADDRESS/PREFIX [ssh option...]" >&2
	exit 2
}

# quote WORD: WORD in single quotes, for the /bin/sh that runs the -e command.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# bird_conf ADDRESS4 ADDRESS6 CHECK_LINK: the site's bird configuration.
bird_conf() {
	cat <<-CONF
		# bird.conf of site $1 ($2), written by mesh.sh at each start.
		router id $1;
		log stderr all;

		# Devices and addresses, from the kernel's netlink messages: a
		# device that comes or goes, or whose carrier changes, is seen at
		# once.  The scan is only a fallback.
		protocol device {
			scan time 10;
		}

		# The routes OSPF finds go into the kernel's tables.
		protocol kernel {
			ipv4 { export all; };
		}
		protocol kernel {
			ipv6 { export all; };
		}

		# OSPFv2 and OSPFv3 on every mesh- device, the same timers for
		# both: a hello every second, a neighbour gone after 4 s of
		# silence, or at once when its device loses its carrier (check
		# link).  The site's own address is a stub network of its router.
		protocol ospf v2 mesh4 {
			ipv4 { import all; export none; };
			area 0 {
				stubnet $1/32;
				interface "mesh-*" {
					type ptp; hello 1; dead 4; check link $3;
				};
			};
		}
		protocol ospf v3 mesh6 {
			ipv6 { import all; export none; };
			area 0 {
				stubnet $2/128;
				interface "mesh-*" {
					type ptp; hello 1; dead 4; check link $3;
				};
			};
		}
	CONF
}

router() {
	[ $# -eq 3 ] || usage
	dir=$1 addr4=$2 addr6=$3
	if ! printf '%s\n' "$addr4" | grep -Eqx '([0-9]{1,3}\.){3}[0-9]{1,3}'; then
		echo "$0: ADDRESS4 must be an IPv4 address, no prefix: $addr4" >&2
		exit 2
	fi
	if ! printf '%s\n' "$addr6" | grep -Eqx '[0-9a-fA-F:]*:[0-9a-fA-F:]*'; then
		echo "$0: ADDRESS6 must be an IPv6 address, no prefix: $addr6" >&2
		exit 2
	fi
	case ${MESH_CHECK_LINK:-yes} in
	yes | no) ;;
	*) echo "$0: MESH_CHECK_LINK is yes or no, not $MESH_CHECK_LINK" >&2; exit 2 ;;
	esac
	bird=${BIRD:-bird}
	command -v "$bird" >/dev/null 2>&1 ||
	    { echo "$0: no $bird: install BIRD 2 (Debian: apt-get install bird2)" >&2; exit 1; }

	mkdir -p "$dir"
	bird_conf "$addr4" "$addr6" "${MESH_CHECK_LINK:-yes}" >"$dir/bird.conf"
	ip link set lo up
	ip -4 addr replace "$addr4/32" dev lo
	ip -6 addr replace "$addr6/128" dev lo
	sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	echo "mesh: site $addr4 ($addr6), bird's socket $dir/bird.ctl" >&2
	exec "$bird" -f -c "$dir/bird.conf" -s "$dir/bird.ctl"
}

link() {
	[ $# -ge 4 ] || usage
	name=$1 host=$2 local=$3 remote=$4
	shift 4
	case $name in
	mesh-*[!A-Za-z0-9_.-]* | mesh-) ;;
	mesh-*) ok=1 ;;
	esac
	if [ -z "${ok:-}" ]; then
		echo "$0: link NAME must begin with mesh- (bird's pattern), then letters, digits, '.', '_' or '-': $name" >&2
		exit 2
	fi
	opts=
	for arg in "$@"; do
		opts="$opts $(quote "$arg")"
	done
	# -T: no pseudo-terminal, which would mangle the binary stream.
	exec "${TUNPIPE:-tunpipe}" -i "$name" -a "$local" -r 1 -k 1 -e \
	    "${SSH:-ssh} -T -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=2 -o ServerAliveCountMax=2$opts $(quote "$host") $(quote "${TUNPIPE_REMOTE:-tunpipe} -i $name -a $remote -k 1")"
}

[ $# -ge 1 ] || usage
role=$1
shift
case $role in
router) router "$@" ;;
link) link "$@" ;;
*) usage ;;
esac
