#!/usr/bin/env bats
# examples/mesh.sh: three sites routed by bird over tunpipe links.  Sites A,
# B and C are three namespaces joined in a triangle by veth pairs, the
# underlay (A-B 10.78.0.0/24, A-C 10.79.0.0/24, B-C 10.78.1.0/24).  Each
# runs `mesh.sh router` (bird, OSPF for IPv4 and IPv6) with its address on
# lo (A 10.77.0.1 and fd77::1, B .2 and ::2, C .3 and ::3); B and C run an
# sshd, and `mesh.sh link` makes three links over ssh: A dials B (mesh-ab,
# 10.77.0.128/30) and C (mesh-ac, 10.77.0.136/30), B dials C (mesh-bc,
# 10.77.0.132/30).  Root only.

load helpers

setup() {
	T=$BATS_TEST_TMPDIR
	need_root
	command -v bird >/dev/null && command -v birdc >/dev/null ||
	    skip_or_fail "no bird and birdc: run test/need-tools (Debian: bird2)"
	netns_setup
	veth_link
	netns_c_setup
	veth_bc
	ssh_keys
	sshd_start B 10.78.0.2
	sshd_start C 10.79.0.3 10.78.1.3
	SSHD_C=$SSHD_PID
	TUNPIPE_REMOTE=$(realpath "$TUNPIPE")
	export TUNPIPE_REMOTE
	router A 1
	router B 2
	router C 3
	link A mesh-ab 10.78.0.2 10.77.0.129 10.77.0.130
	link A mesh-ac 10.79.0.3 10.77.0.137 10.77.0.138
	link B mesh-bc 10.78.1.3 10.77.0.133 10.77.0.134
	wait_for 30 full_mesh || {
		mesh_state >&2
		return 1
	}
}

teardown() { example_teardown; }

# veth_bc: the triangle's third side, B (10.78.1.2 on trbc) to C (10.78.1.3
# on trcb); veth_link and netns_c_setup make the other two.
veth_bc() {
	veth_pair B trbc 10.78.1.2/24 C trcb 10.78.1.3/24
}

# router SIDE N: `mesh.sh router` in namespace SIDE, site 10.77.0.N and
# fd77::N, its directory $T/bird.SIDE, its log $T/bird.SIDE.log.
router() {
	example_bg "$1" mesh.sh router "$T/bird.$1" "10.77.0.$2" "fd77::$2" \
	    </dev/null >/dev/null 2>"$T/bird.$1.log" &
	example_started $!
}

# link SIDE NAME HOST LOCAL REMOTE: `mesh.sh link` from namespace SIDE to
# root@HOST, LOCAL and REMOTE the /30 addresses; its log $T/NAME.log.
link() {
	example_bg "$1" mesh.sh link "$2" "root@$3" "$4/30" "$5/30" "${SSH_OPTS[@]}" \
	    </dev/null >/dev/null 2>"$T/$2.log" &
	example_started $!
}

# birdc_on SIDE ARGS...: birdc, on that site's bird.
birdc_on() {
	local side=$1
	shift
	ns "$side" birdc -s "$T/bird.$side/bird.ctl" "$@"
}

# route_dev SIDE ADDRESS: the device of the route to ADDRESS there.
route_dev() {
	ns "$1" ip route get "$2" |
	    awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }'
}

# routed SIDE ADDRESS DEVICE: the route to ADDRESS leaves through DEVICE.
routed() { [ "$(route_dev "$1" "$2")" = "$3" ]; }

# full_mesh: every site has a route to every other site's address, IPv4 and
# IPv6, each over the direct link between them.
full_mesh() {
	routed A 10.77.0.2 mesh-ab && routed A fd77::2 mesh-ab &&
	    routed A 10.77.0.3 mesh-ac && routed A fd77::3 mesh-ac &&
	    routed B 10.77.0.1 mesh-ab && routed B fd77::1 mesh-ab &&
	    routed B 10.77.0.3 mesh-bc && routed B fd77::3 mesh-bc &&
	    routed C 10.77.0.1 mesh-ac && routed C fd77::1 mesh-ac &&
	    routed C 10.77.0.2 mesh-bc && routed C fd77::2 mesh-bc
}

# mesh_state: what bird and the links said, and each site's routes, for a
# failure's message.
mesh_state() {
	local side
	for side in A B C; do
		echo "== site $side"
		ns "$side" ip -br link
		ns "$side" ip route
		ns "$side" ip -6 route
		birdc_on "$side" show ospf neighbors
		cat "$T/bird.$side.log"
	done
	tail -n 20 "$T"/mesh-*.log "$T"/ssh/sshd.*.log
}

# carrier SIDE DEVICE: the device is up with its carrier (LOWER_UP).
carrier() {
	ns "$1" ip -o link show dev "$2" | grep -q '[<,]LOWER_UP[,>]'
}

# no_carrier SIDE DEVICE: the device is there, up, without its carrier.
no_carrier() {
	ns "$1" ip -o link show dev "$2" | grep -q '[<,]NO-CARRIER[,>].*[<,]UP[,>]'
}

# bird_sees SIDE DEVICE LinkUp|LinkDown: that site's bird sees the
# device's carrier so (birdc show interfaces).
bird_sees() {
	birdc_on "$1" show interfaces | grep -A 1 "^$2 " | grep -qw "$3"
}

# reaches FROM N: site FROM pings site N's addresses, from its own.
reaches() {
	local from=$1 n=$2 own
	case $from in A) own=1 ;; B) own=2 ;; C) own=3 ;; esac
	ns "$from" ping -c 2 -i 0.2 -W 2 -I "10.77.0.$own" "10.77.0.$n" &&
	    ns "$from" ping -6 -c 2 -i 0.2 -W 2 -I "fd77::$own" "fd77::$n"
}

# link_ssh SIDE HOST: the ssh of the link that namespace SIDE dials to HOST.
link_ssh() {
	local pid
	for pid in $(ns_procs "$1" ssh); do
		tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q " root@$2 " &&
		    { echo "$pid"; return 0; }
	done
	return 1
}

@test "mesh.sh: every site reaches every other site's address, IPv4 and IPv6, over its direct link; transfers arrive intact" {
	# Each bird has its two neighbours, over IPv4 and IPv6, and IPv6
	# goes to their link-local addresses: the links have no other.
	for side in A B C; do
		[ "$(birdc_on "$side" show ospf neighbors mesh4 | grep -c 'Full/PtP')" = 2 ]
		[ "$(birdc_on "$side" show ospf neighbors mesh6 | grep -c 'Full/PtP')" = 2 ]
	done
	ns A ip -6 route get fd77::3 | grep -q 'via fe80::.* dev mesh-ac'
	reaches A 2
	reaches A 3
	reaches B 1
	reaches B 3
	reaches C 1
	reaches C 2
	transfer C 10.77.0.3 5 A
	transfer A fd77::1 5 C
	transfer B 10.77.0.2 5 C
}

@test "mesh.sh: a link's transport killed: NO-CARRIER while -r waits, traffic goes through the third site; back, the carrier returns and the direct path is used again" {
	transfer C 10.77.0.3 2 A
	index=$(ns A ip -o link show dev mesh-ac | cut -d: -f1)
	# C's sshd stops taking connections (its sessions stay), and A's ssh
	# to C is killed: the far end's tunpipe reads the end of its stream
	# and goes, and A's tunpipe tries again every 1, 2, 4 s, in vain.
	kill "$SSHD_C"
	wait_for 5 eval '! listening C 22'
	ssh_pid=$(link_ssh A 10.79.0.3)
	kill -9 "$ssh_pid"
	# A's device stays, with its address, but without its carrier (a
	# restart that fails has it on only for the moment ssh takes to fail).
	wait_for 5 no_carrier A mesh-ac
	[ "$(addr_dev A 10.77.0.137)" = mesh-ac ]
	wait_for 5 bird_sees A mesh-ac LinkDown
	wait_for 5 no_link C mesh-ac
	# A and C route to each other through B, and traffic follows: a
	# packet with a hop limit of 1 expires at B.
	wait_for 10 routed A 10.77.0.3 mesh-ab
	wait_for 10 routed A fd77::3 mesh-ab
	wait_for 10 routed C 10.77.0.1 mesh-bc
	wait_for 10 routed C fd77::1 mesh-bc
	run ns A ping -c 1 -W 2 -t 1 -I 10.77.0.1 10.77.0.3
	[[ "$output" == *"From 10.77.0.130 "*"exceeded"* ]]
	reaches A 3
	reaches C 1
	transfer C 10.77.0.3 2 A
	transfer A fd77::1 2 C
	wait_for 2 no_carrier A mesh-ac
	# C's sshd is back: A's tunpipe connects again at its next try, the
	# carrier comes back, and OSPF takes the direct link again.
	sshd_start C 10.79.0.3 10.78.1.3
	wait_for 20 carrier A mesh-ac
	wait_for 5 bird_sees A mesh-ac LinkUp
	wait_for 10 routed A 10.77.0.3 mesh-ac
	wait_for 10 routed A fd77::3 mesh-ac
	wait_for 10 routed C 10.77.0.1 mesh-ac
	wait_for 10 routed C fd77::1 mesh-ac
	reaches A 3
	reaches C 1
	transfer C 10.77.0.3 2 A
	transfer A fd77::1 2 C
	# The same device all along, its address never gone.
	[ "$(ns A ip -o link show dev mesh-ac | cut -d: -f1)" = "$index" ]
	[ "$(addr_dev A 10.77.0.137)" = mesh-ac ]
}
