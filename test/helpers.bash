# helpers.bash: what the bats files share.  Every tunnel lives between two
# network namespaces made for one test (A and B, 10.77.0.0/24 and fd77::/64),
# and every process a test starts is killed in its teardown.

TUNPIPE=${TUNPIPE:-$BATS_TEST_DIRNAME/../tunpipe}
RELAY=$BATS_TEST_DIRNAME/relay

# skip_or_fail REASON: a test that cannot run here is skipped, but in CI,
# where the privileged tests must run, it fails.
skip_or_fail() {
	if [ -n "${CI:-}" ]; then
		echo "CI must run this test, but: $1" >&2
		return 1
	fi
	skip "$1"
}

# Namespaces come from ip netns as root; otherwise from unprivileged user
# namespaces, each held open by a sleeping process, where /dev/net/tun can be
# opened by this user.
netns_mode() {
	if [ "$(id -u)" = 0 ]; then
		echo root
	elif [ -r /dev/net/tun ] && [ -w /dev/net/tun ] &&
	    unshare -rn true 2>/dev/null; then
		echo user
	fi
}

# netns_setup: makes namespaces A and B for this test, loopback up in each.
netns_setup() {
	T=$BATS_TEST_TMPDIR
	NSMODE=$(netns_mode)
	[ -n "$NSMODE" ] || skip_or_fail "not root, and unprivileged user namespaces cannot open /dev/net/tun here; run the tests as root"
	NS_A=tunpipe-test-$$-a
	NS_B=tunpipe-test-$$-b
	ns_create "$NS_A" A
	ns_create "$NS_B" B
	ns A ip link set lo up
	ns B ip link set lo up
}

ns_create() {
	if [ "$NSMODE" = root ]; then
		ip netns add "$1"
	else
		unshare -rn sleep 3600 3>&- &
		echo $! >"$T/holder.$2"
		echo $! >>"$T/pids"
	fi
}

# ns A|B COMMAND...: runs COMMAND inside namespace A or B.
ns() {
	local side=$1 name
	shift
	if [ "$NSMODE" = root ]; then
		[ "$side" = A ] && name=$NS_A || name=$NS_B
		ip netns exec "$name" "$@"
	else
		nsenter --preserve-credentials -U -n -t "$(cat "$T/holder.$side")" "$@"
	fi
}

# ns_prefix A|B: the words that run a command in namespace A or B, for
# command lines that a shell other than this one runs (tunpipe -e, say).
ns_prefix() {
	if [ "$NSMODE" = root ]; then
		[ "$1" = A ] && echo "ip netns exec $NS_A" || echo "ip netns exec $NS_B"
	else
		echo "nsenter --preserve-credentials -U -n -t $(cat "$T/holder.$1")"
	fi
}

# ns_bg A|B COMMAND... &: ns for background jobs.  It replaces the subshell
# that & made, so $! is the command's own PID and kill reaches it.
ns_bg() {
	local side=$1
	shift
	if [ "$NSMODE" = root ]; then
		[ "$side" = A ] && exec ip netns exec "$NS_A" "$@" 3>&-
		exec ip netns exec "$NS_B" "$@" 3>&-
	fi
	exec nsenter --preserve-credentials -U -n -t "$(cat "$T/holder.$side")" "$@" 3>&-
}

# netns_teardown: kills what the test started, then the namespaces.
netns_teardown() {
	local pid
	if [ -f "$T/pids" ]; then
		while read -r pid; do
			kill "$pid" 2>/dev/null || true
		done <"$T/pids"
		sleep 0.2
		while read -r pid; do
			kill -9 "$pid" 2>/dev/null || true
		done <"$T/pids"
	fi
	if [ "${NSMODE:-}" = root ]; then
		ip netns del "$NS_A" 2>/dev/null || true
		ip netns del "$NS_B" 2>/dev/null || true
	fi
}

# remember PID: teardown kills it.
remember() {
	echo "$1" >>"$T/pids"
}

# wait_for SECONDS COMMAND...: retries COMMAND every 0.1 s until it succeeds
# or the time is up.
wait_for() {
	local tries=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.1
	done
}

# wait_exit SECONDS PID: waits for PID, a child of the test, to exit, and
# sets $status to its exit status; fails if it is still running by then.
wait_exit() {
	wait_for "$1" eval "! kill -0 $2" || {
		echo "process $2 still running after $1 s" >&2
		return 1
	}
	status=0
	wait "$2" || status=$?
}

has_link() { ns "$1" ip link show "$2"; }

# tunnel_up [TUNPIPE OPTIONS...]: tunpipe A (device tpa, namespace A) and
# tunpipe B (device tpb, namespace B) joined by two FIFOs.  With RELAY_ARGS
# set, each direction passes through the re-cutting relay.  The arrays
# A_OPTS and B_OPTS add options for one end only; A_WRAP and B_WRAP, a
# command that runs that end's tunpipe (test/as-user, say).  Sets PID_A and
# PID_B; their stderr is in $T/a.err and $T/b.err.
tunnel_up() {
	local a=("${A_WRAP[@]+"${A_WRAP[@]}"}" "$TUNPIPE" -v -i "${DEV_A:-tpa}" "$@"
	    "${A_OPTS[@]+"${A_OPTS[@]}"}")
	local b=("${B_WRAP[@]+"${B_WRAP[@]}"}" "$TUNPIPE" -v -i "${DEV_B:-tpb}" "$@"
	    "${B_OPTS[@]+"${B_OPTS[@]}"}")
	mkfifo "$T/ab" "$T/ba"
	if [ -n "${RELAY_ARGS+set}" ]; then
		mkfifo "$T/a.out" "$T/b.out"
		# shellcheck disable=SC2086
		"$RELAY" $RELAY_ARGS <"$T/a.out" >"$T/ab" 3>&- &
		remember $!
		# shellcheck disable=SC2086
		"$RELAY" $RELAY_ARGS <"$T/b.out" >"$T/ba" 3>&- &
		remember $!
		ns_bg A "${a[@]}" <"$T/ba" >"$T/a.out" 2>"$T/a.err" &
		PID_A=$!
		ns_bg B "${b[@]}" >"$T/b.out" <"$T/ab" 2>"$T/b.err" &
		PID_B=$!
	else
		ns_bg A "${a[@]}" <"$T/ba" >"$T/ab" 2>"$T/a.err" &
		PID_A=$!
		ns_bg B "${b[@]}" >"$T/ba" <"$T/ab" 2>"$T/b.err" &
		PID_B=$!
	fi
	remember "$PID_A"
	remember "$PID_B"
	wait_for 5 has_link A "${DEV_A:-tpa}" || { cat "$T/a.err" >&2; return 1; }
	wait_for 5 has_link B "${DEV_B:-tpb}" || { cat "$T/b.err" >&2; return 1; }
}

# address_tunnel: gives the tunnel ends their addresses and brings them up.
address_tunnel() {
	ns A ip addr add 10.77.0.1/24 dev tpa
	ns B ip addr add 10.77.0.2/24 dev tpb
	ns A ip -6 addr add fd77::1/64 dev tpa nodad
	ns B ip -6 addr add fd77::2/64 dev tpb nodad
	ns A ip link set tpa up
	ns B ip link set tpb up
}

# transfer SIDE ADDRESS MEGABYTES: sends that many random megabytes over TCP
# from the other namespace to ADDRESS (IPv4 or IPv6) in namespace SIDE, and
# checks that they arrive intact.
transfer() {
	local to=$1 addr=$2 mb=$3 from=A port=5001 tcp=TCP
	[ "$to" = A ] && from=B
	case $addr in *:*) tcp=TCP6 addr="[$addr]" ;; esac
	head -c "$((mb * 1024 * 1024))" /dev/urandom >"$T/sent"
	ns_bg "$to" timeout 120 socat -u "$tcp-LISTEN:$port,bind=$addr,reuseaddr" \
	    "CREATE:$T/received" &
	local listener=$!
	remember $listener
	wait_for 5 eval "ns $to ss -Hltn 'sport = :$port' | grep -q LISTEN"
	ns "$from" timeout 120 socat -u "FILE:$T/sent" "$tcp:$addr:$port"
	wait_exit 10 $listener
	[ "$status" = 0 ]
	[ "$(sha256sum <"$T/sent")" = "$(sha256sum <"$T/received")" ]
}

# frames HEX...: the len16 stream that carries these packets, on stdout.
frames() {
	printf '%s\n' "$@" | "$BATS_TEST_DIRNAME/framing-driver" encode
}

# An IPv4 packet of 28 bytes (an ICMP echo request from 10.77.0.2 to
# 10.77.0.1, checksums left zero: the device counts it all the same).
IPV4_PACKET=4500001c00000000400100000a4d00020a4d00010800f7ff00000000

# persistent_device SIDE NAME [tun|tap]: a device that outlives tunpipe, up,
# so that tests can read its counters after tunpipe has exited.
persistent_device() {
	ns "$1" ip tuntap add dev "$2" mode "${3:-tun}"
	ns "$1" ip link set "$2" up
}

# rx_packets SIDE NAME: packets the device has received (from tunpipe).
# From ip(8), not /sys, which shows the namespace it was mounted in.
rx_packets() {
	ns "$1" ip -s link show dev "$2" | awk '/RX:/ { getline; print $2; exit }'
}

# link_field SIDE NAME KEY: the word after KEY in ip's details of the device
# (mtu, link/ether, user, ...).
link_field() {
	ns "$1" ip -d -o link show dev "$2" |
	    awk -v key="$3" '{ for (i = 1; i < NF; i++) if ($i == key) { print $(i + 1); exit } }'
}

# need_root: for what only root can set up (another user, setuid).
need_root() {
	[ "$(id -u)" = 0 ] || skip_or_fail "needs root"
}

# no_link SIDE NAME: succeeds when the device is gone (a bare "! has_link"
# would not fail a bats test).
no_link() {
	if has_link "$1" "$2"; then
		echo "device $2 still exists in namespace $1" >&2
		return 1
	fi
}

# tunpipe_reads [FILE] OPTIONS...: runs tunpipe in namespace A on the stream
# in FILE (default $T/stream), its output discarded, for at most 10 s.
tunpipe_reads() {
	local in=$T/stream
	case "${1:-}" in /*) in=$1; shift ;; esac
	ns A timeout 10 "$TUNPIPE" "$@" <"$in" >/dev/null
}

# veth_link: joins namespaces A and B by a veth pair, the "network" that
# transports (nc, ssh, socat) cross: A is 10.78.0.1/24 on tra, B is
# 10.78.0.2/24 on trb.  Tunnel addresses stay in 10.77.0.0/24.
veth_link() {
	[ "$NSMODE" = root ] || skip_or_fail "a veth pair between two namespaces needs root"
	ip link add tra netns "$NS_A" type veth peer name trb netns "$NS_B"
	ns A ip addr add 10.78.0.1/24 dev tra
	ns B ip addr add 10.78.0.2/24 dev trb
	ns A ip link set tra up
	ns B ip link set trb up
}
