# helpers.bash: what the bats files share.  Every tunnel lives between two
# network namespaces made for one test (A and B, 10.77.0.0/24 and fd77::/64),
# and every process a test starts is killed in its teardown.

TUNPIPE=${TUNPIPE:-$BATS_TEST_DIRNAME/../tunpipe}
RELAY=$BATS_TEST_DIRNAME/relay
# The directory of the test drivers (framing-driver and the others): test/
# itself, or TEST_DRIVERS, where make check-cross puts a script for each
# that runs another architecture's build of it under qemu-user.
DRIVERS=${TEST_DRIVERS:-$BATS_TEST_DIRNAME}

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

# ns_name A|B|C: the name of namespace A, B or C (C: root only, after
# netns_c_setup).
ns_name() {
	case $1 in
	A) echo "$NS_A" ;;
	C) echo "$NS_C" ;;
	*) echo "$NS_B" ;;
	esac
}

# ns A|B|C COMMAND...: runs COMMAND inside namespace A, B or C.
ns() {
	local side=$1
	shift
	if [ "$NSMODE" = root ]; then
		ip netns exec "$(ns_name "$side")" "$@"
	else
		nsenter --preserve-credentials -U -n -t "$(cat "$T/holder.$side")" "$@"
	fi
}

# ns_prefix A|B|C: the words that run a command in that namespace, for
# command lines that a shell other than this one runs (tunpipe -e, say).
ns_prefix() {
	if [ "$NSMODE" = root ]; then
		echo "ip netns exec $(ns_name "$1")"
	else
		echo "nsenter --preserve-credentials -U -n -t $(cat "$T/holder.$1")"
	fi
}

# ns_bg A|B|C COMMAND... &: ns for background jobs.  It replaces the
# subshell that & made, so $! is the command's own PID and kill reaches it.
ns_bg() {
	local side=$1
	shift
	if [ "$NSMODE" = root ]; then
		exec ip netns exec "$(ns_name "$side")" "$@" 3>&-
	fi
	exec nsenter --preserve-credentials -U -n -t "$(cat "$T/holder.$side")" "$@" 3>&-
}

# netns_teardown: kills what the test started, then the namespaces.
netns_teardown() {
	kill_remembered
	if [ "${NSMODE:-}" = root ]; then
		ip netns del "$NS_A" 2>/dev/null || true
		ip netns del "$NS_B" 2>/dev/null || true
	fi
}

# remember PID: teardown kills it.
remember() {
	echo "$1" >>"$T/pids"
}

# kill_remembered: kills what remember noted in $T/pids, TERM, then KILL.
kill_remembered() {
	local pid
	[ -f "$T/pids" ] || return 0
	while read -r pid; do
		kill "$pid" 2>/dev/null || true
	done <"$T/pids"
	sleep 0.2
	while read -r pid; do
		kill -9 "$pid" 2>/dev/null || true
	done <"$T/pids"
}

# wait_for SECONDS COMMAND...: retries COMMAND every 0.1 s until it succeeds
# or SECONDS have passed, however long each try takes.
wait_for() {
	local end=$((${EPOCHREALTIME/./} + $1 * 1000000))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
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
# tunpipe B (device tpb, namespace B) joined by two FIFOs, each with -v
# unless QUIET is set.  With RELAY_ARGS set, each direction passes through
# the re-cutting relay.  The arrays A_OPTS and B_OPTS add options for one
# end only; A_WRAP and B_WRAP, a command that runs that end's tunpipe
# (test/as-user, say).  Sets PID_A and PID_B, and RELAY_A, the relay that
# reads A's stdout; their stderr is in $T/a.err and $T/b.err (A's in
# $A_ERR, when set).
tunnel_up() {
	local v=(-v)
	[ -z "${QUIET:-}" ] || v=()
	local a=("${A_WRAP[@]+"${A_WRAP[@]}"}" "$TUNPIPE" "${v[@]}" -i "${DEV_A:-tpa}"
	    "$@" "${A_OPTS[@]+"${A_OPTS[@]}"}")
	local b=("${B_WRAP[@]+"${B_WRAP[@]}"}" "$TUNPIPE" "${v[@]}" -i "${DEV_B:-tpb}"
	    "$@" "${B_OPTS[@]+"${B_OPTS[@]}"}")
	mkfifo "$T/ab" "$T/ba"
	if [ -n "${RELAY_ARGS+set}" ]; then
		mkfifo "$T/a.out" "$T/b.out"
		# shellcheck disable=SC2086
		"$RELAY" $RELAY_ARGS <"$T/a.out" >"$T/ab" 3>&- &
		RELAY_A=$!
		remember $!
		# shellcheck disable=SC2086
		"$RELAY" $RELAY_ARGS <"$T/b.out" >"$T/ba" 3>&- &
		remember $!
		ns_bg A "${a[@]}" <"$T/ba" >"$T/a.out" 2>"${A_ERR:-$T/a.err}" &
		PID_A=$!
		ns_bg B "${b[@]}" >"$T/b.out" <"$T/ab" 2>"$T/b.err" &
		PID_B=$!
	else
		ns_bg A "${a[@]}" <"$T/ba" >"$T/ab" 2>"${A_ERR:-$T/a.err}" &
		PID_A=$!
		ns_bg B "${b[@]}" >"$T/ba" <"$T/ab" 2>"$T/b.err" &
		PID_B=$!
	fi
	remember "$PID_A"
	remember "$PID_B"
	wait_for 5 has_link A "${DEV_A:-tpa}" || { cat "$T/a.err" >&2; return 1; }
	wait_for 5 has_link B "${DEV_B:-tpb}" || { cat "$T/b.err" >&2; return 1; }
}

# ipv6_off: turns IPv6 off in namespaces A and B, so that no packet crosses
# the tunnel unless a test sends it (the kernel would send router and
# neighbour solicitations): for tests that count packets.
ipv6_off() {
	local side
	for side in A B; do
		ns $side sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ns $side sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	done
}

# ipv4_only_tunnel: ipv6_off, tunnel_up (with A_OPTS and B_OPTS), and
# the tunnel ends addressed over IPv4 only and up.
ipv4_only_tunnel() {
	ipv6_off
	tunnel_up
	ns A ip addr add 10.77.0.1/24 dev tpa
	ns B ip addr add 10.77.0.2/24 dev tpb
	ns A ip link set tpa up
	ns B ip link set tpb up
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

# transfer SIDE ADDRESS MEGABYTES [FROM]: sends that many random megabytes
# over TCP from namespace FROM (default: the other of A and B) to ADDRESS
# (IPv4 or IPv6) in namespace SIDE, and checks that they arrive intact.
transfer() {
	local to=$1 addr=$2 mb=$3 from=${4:-A} port=5001 tcp=TCP
	[ -n "${4:-}" ] || [ "$to" != A ] || from=B
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

# random_bytes COUNT [SEED]: COUNT bytes that look random but are the same
# for the same SEED (default 1): AES-128 in counter mode over zeros.  Tests
# feed them to tunpipe, so that a rare path (a random frame that passes as
# an IP packet) is hit in every run or in none.
random_bytes() {
	openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "${2:-1}")" \
	    -iv 0 </dev/zero 2>/dev/null | head -c "$1"
}

# udp_transfer SIDE ADDRESS: 2 MB in 1400-byte UDP datagrams from the other
# namespace to ADDRESS (IPv4) in namespace SIDE, paced, and compared by
# checksum: a checksum offload gone wrong would lose datagrams.
udp_transfer() {
	local to=$1 addr=$2 from=A dev=tpa port=5002
	[ "$to" = A ] && from=B dev=tpb
	head -c $((2 * 1024 * 1024)) /dev/urandom >"$T/sent"
	rm -f "$T/received"
	# A long device queue, so that a slow start (under valgrind, say)
	# does not drop datagrams: this is about checksums, not load.
	ns "$from" ip link set "$dev" txqueuelen 10000
	ns_bg "$to" timeout 30 socat -u \
	    UDP-RECV:$port,bind=$addr,rcvbuf=8388608 "CREATE:$T/received" &
	remember $!
	wait_for 5 eval "ns $to ss -Hlun 'sport = :$port' | grep -q $port"
	# -b 1400: one datagram per 1400 bytes; the relay paces them so
	# that no socket buffer overflows.
	"$RELAY" -c 1400 -p 1000 <"$T/sent" |
	    ns "$from" timeout 30 socat -u -b 1400 STDIN UDP-SENDTO:$addr:$port
	wait_for 10 eval '[ "$(stat -c %s "$T/received")" = $((2 * 1024 * 1024)) ]'
	cmp "$T/sent" "$T/received"
}

# frames HEX...: the len16 stream that carries these packets, on stdout.
frames() {
	printf '%s\n' "$@" | "$DRIVERS/framing-driver" encode
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

# veth_pair SIDE DEV ADDR/PREFIX OTHER ODEV OADDR/PREFIX: joins namespaces
# SIDE and OTHER (A, B or C) by a veth pair, DEV in SIDE and ODEV in
# OTHER, each with its address and up.  Root only.
veth_pair() {
	ip link add "$2" netns "$(ns_name "$1")" type veth \
	    peer name "$5" netns "$(ns_name "$4")"
	ns "$1" ip addr add "$3" dev "$2"
	ns "$4" ip addr add "$6" dev "$5"
	ns "$1" ip link set "$2" up
	ns "$4" ip link set "$5" up
}

# veth_link: joins namespaces A and B by a veth pair, the "network" that
# transports (nc, ssh, socat) cross: A is 10.78.0.1/24 on tra, B is
# 10.78.0.2/24 on trb.  Tunnel addresses stay in 10.77.0.0/24.
veth_link() {
	[ "$NSMODE" = root ] || skip_or_fail "a veth pair between two namespaces needs root"
	veth_pair A tra 10.78.0.1/24 B trb 10.78.0.2/24
}

# ---- Namespace C and whole-namespace clean-up (hub.bats, vde.bats) ----
# Root only (ip netns).  A test that uses namespace C, or starts scripts and
# daemons whose children are not remembered, tears down with
# netns_teardown_all.

# netns_c_setup: a third namespace C (tunpipe-test-$$-c), loopback up,
# joined to A by a second veth pair: A is 10.79.0.1/24 on trac, C is
# 10.79.0.3/24 on trc.  Call it after netns_setup.
netns_c_setup() {
	need_root
	NS_C=tunpipe-test-$$-c
	ip netns add "$NS_C"
	ns_c ip link set lo up
	veth_pair A trac 10.79.0.1/24 C trc 10.79.0.3/24
}

# ns_c COMMAND...: runs COMMAND inside namespace C.
ns_c() { ip netns exec "$NS_C" "$@"; }

# ns_c_bg COMMAND... &: ns_bg for namespace C.
ns_c_bg() { exec ip netns exec "$NS_C" "$@" 3>&-; }

# netns_pids: the PIDs of every process inside the test's namespaces.
netns_pids() {
	local name
	for name in "${NS_A:-}" "${NS_B:-}" "${NS_C:-}"; do
		[ -n "$name" ] && ip netns pids "$name" 2>/dev/null
	done
	return 0
}

netns_empty() { [ -z "$(netns_pids)" ]; }

# netns_teardown_all: kills every process left inside the test's namespaces
# (what scripts forked, daemons), TERM then KILL after at most 2 s, then
# does netns_teardown and deletes namespace C.
netns_teardown_all() {
	local pids
	if [ "${NSMODE:-}" = root ]; then
		pids=$(netns_pids)
		# shellcheck disable=SC2086
		[ -z "$pids" ] || kill $pids 2>/dev/null || true
		wait_for 2 netns_empty || {
			pids=$(netns_pids)
			# shellcheck disable=SC2086
			[ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
		}
	fi
	netns_teardown
	[ -z "${NS_C:-}" ] || ip netns del "$NS_C" 2>/dev/null || true
}
# ---- end of namespace C and whole-namespace clean-up ----

# ---- examples/ scripts (examples.bats) ----
# Each example runs in a session of its own (setsid), so that its children
# (nc, socat, tunpipe, the --up command) share its process group, which
# example_teardown kills as a whole.

EXAMPLES=$BATS_TEST_DIRNAME/../examples

# example_bg A|B SCRIPT ARGS... &: runs examples/SCRIPT in that namespace
# in a new session, with the test's tunpipe as $TUNPIPE.  Then call
# example_started $! ($! is the script's PID and its process group).
example_bg() {
	local side=$1 script=$2
	shift 2
	export TUNPIPE
	ns_bg "$side" setsid "$EXAMPLES/$script" "$@"
}

# example_started PID: remembers PID's process group for example_teardown,
# once PID leads it (setsid has run) or has already ended.
example_started() {
	echo "$1" >>"$T/groups"
	wait_for 5 example_leads "$1"
}

# example_pgid PID: PID's process group, from /proc/PID/stat (no procps
# needed); fails once PID has ended.
example_pgid() {
	local line pgid
	read -r line 2>/dev/null <"/proc/$1/stat" || return 1
	# After the command name, which may hold spaces: state, ppid, pgrp.
	read -r _ _ pgid _ <<<"${line##*) }"
	echo "$pgid"
}

example_leads() {
	local pgid
	pgid=$(example_pgid "$1") || return 0
	[ "$pgid" = "$1" ]
}

# example_pid PGID NAME: the PID of the process called NAME in that group.
example_pid() {
	local f pid
	for f in /proc/[0-9]*/comm; do
		pid=${f#/proc/}
		pid=${pid%/comm}
		[ "$(cat "$f" 2>/dev/null)" = "$2" ] &&
		    [ "$(example_pgid "$pid")" = "$1" ] && { echo "$pid"; return 0; }
	done
	return 1
}

# example_ended PID: succeeds once no process of PID's group is left (the
# script, and nc, socat or tunpipe under it).
example_ended() {
	! kill -0 -- "-$1" 2>/dev/null
}

# listening SIDE PORT: succeeds when a TCP socket listens on PORT there.
listening() {
	ns "$1" ss -Hltn "sport = :$2" | grep -q LISTEN
}

# example_teardown: stops each example's process group (TERM, then KILL
# after at most 3 s), then what netns_teardown_all stops and removes.
example_teardown() {
	local g
	if [ -f "$T/groups" ]; then
		while read -r g; do
			kill -TERM -- "-$g" 2>/dev/null || true
		done <"$T/groups"
		while read -r g; do
			wait_for 3 example_ended "$g" || kill -KILL -- "-$g" 2>/dev/null || true
		done <"$T/groups"
	fi
	netns_teardown_all
}
# ---- end of examples/ scripts ----

# ---- ssh: real sshds in the test's namespaces (ssh.bats, mesh.bats) ----
# Root only (veth_link).  sshd_up, after netns_setup and veth_link, runs an
# sshd in namespace A on 10.78.0.1:22 that lets root in with a key made for
# this test alone; ssh_a runs a command through it from namespace B.
# ssh_keys and sshd_start make the same for any namespace and addresses.
# All the files are the test's own, under $T/ssh: host and client keys,
# authorized_keys, known_hosts, and for each namespace SIDE sshd_config.SIDE
# and sshd.SIDE.log.  Tear down with netns_teardown_all: it also ends
# sshd's sessions and what they started.

# ssh_keys: the host key all the test's sshds share, the client key that
# they let in as root, and the files around them.  Sets SSH_OPTS, the ssh
# options that use that key without reading any ssh configuration, key,
# agent or known_hosts of the user's, and without prompting.
ssh_keys() {
	local d=$T/ssh
	"$BATS_TEST_DIRNAME/sshd-keys" "$d" tunpipe-test
	# sshd will not start without its privilege separation directory,
	# which openssh-server's service makes at boot: an empty directory.
	[ -d /run/sshd ] || mkdir -m 0755 /run/sshd
	# Without PAM, sshd turns away an account whose password is locked
	# ("!" in /etc/shadow), as root's often is.  sshd reads, in its own
	# mount namespace (ip netns exec makes one, whose mounts stay
	# inside), a shadow file of one line: root, no password, not locked.
	printf 'root:*:::::::\n' >"$d/shadow"
	SSH_OPTS=(-F /dev/null -i "$d/client_key" -o IdentitiesOnly=yes
	    -o IdentityAgent=none -o "UserKnownHostsFile=$d/known_hosts"
	    -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes
	    -o BatchMode=yes -o ConnectTimeout=5)
}

# sshd_start SIDE ADDRESS...: an sshd in namespace SIDE, on port 22 of each
# ADDRESS, with the keys of ssh_keys; known_hosts learns the addresses.
# Sets SSHD_PID.  Run again, it starts the same sshd anew.
sshd_start() {
	local side=$1 d=$T/ssh addr
	shift
	for addr; do
		grep -q "^$addr " "$d/known_hosts" ||
		    echo "$addr $(cut -d' ' -f1,2 "$d/host_key.pub")" >>"$d/known_hosts"
	done
	# sshd-keys' configuration, on these addresses.
	{
		printf 'ListenAddress %s:22\n' "$@"
		grep -v '^ListenAddress ' "$d/sshd_config"
		printf '%s\n' "PidFile $d/sshd.$side.pid" "LogLevel VERBOSE"
	} >"$d/sshd_config.$side"
	# shellcheck disable=SC2016
	ns_bg "$side" sh -c 'mount --bind "$1" /etc/shadow && exec /usr/sbin/sshd -D -e -f "$2"' \
	    sh "$d/shadow" "$d/sshd_config.$side" </dev/null >>"$d/sshd.$side.log" 2>&1 &
	SSHD_PID=$!
	remember $!
	wait_for 5 eval "ns $side ss -Hltn 'src $1 and sport = :22' | grep -q LISTEN" || {
		echo "sshd in namespace $side does not listen:" >&2
		cat "$d/sshd.$side.log" >&2
		return 1
	}
}

# sshd_tunpipe SIDE ADDRESS:PORT...: an sshd in namespace SIDE on each
# ADDRESS:PORT, with ssh_keys' keys, and tunpipe on its sessions' PATH:
# $T/bin, which the caller fills, as /usr/local/bin in sshd's own mount
# namespace.
sshd_tunpipe() {
	local side=$1 d=$T/ssh
	shift
	{
		printf 'ListenAddress %s\n' "$@"
		grep -v '^ListenAddress ' "$d/sshd_config"
		echo "PidFile $d/sshd.$side.pid"
	} >"$d/sshd_config.$side"
	# With FARDIR set, its passwd and group too (the far-net tests' user).
	# shellcheck disable=SC2016
	ns_bg "$side" sh -c 'mount --bind "$1" /etc/shadow && mount --bind "$2" /usr/local/bin &&
	    if [ -n "$4" ]; then mount --bind "$4/passwd" /etc/passwd &&
	    mount --bind "$4/group" /etc/group || exit; fi &&
	    exec /usr/sbin/sshd -D -e -f "$3"' sh "$d/shadow" "$T/bin" "$d/sshd_config.$side" \
	    "${FARDIR:-}" </dev/null >"$d/sshd.$side.log" 2>&1 &
	remember $!
	wait_for 5 listening "$side" "${1##*:}" || { cat "$d/sshd.$side.log" >&2; return 1; }
}

# sshd_up: ssh_keys, and an sshd in namespace A on 10.78.0.1; checks that
# the test's key gets in.  Sets SSH_HOST (root@10.78.0.1) and SSH_OPTS.
sshd_up() {
	ssh_keys
	sshd_start A 10.78.0.1
	SSH_HOST=root@10.78.0.1
	ssh_a true || {
		echo "sshd does not let the test's key in:" >&2
		cat "$T/ssh/sshd.A.log" >&2
		return 1
	}
}

# ssh_a COMMAND...: runs COMMAND as root in namespace A, through ssh from
# namespace B to sshd_up's sshd; at most 20 s.
ssh_a() {
	ns B timeout 20 ssh "${SSH_OPTS[@]}" "$SSH_HOST" "$@"
}

# ns_procs SIDE NAME: the PIDs of the processes called NAME (as in
# /proc/PID/comm) inside namespace SIDE, one a line.
ns_procs() {
	local pid
	for pid in $(ip netns pids "$(ns_name "$1")"); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && echo "$pid"
	done
	return 0
}

# addr_dev SIDE ADDRESS: the device that holds ADDRESS (IPv4, no prefix)
# in namespace SIDE; fails when none does.
addr_dev() {
	ns "$1" ip -o -4 addr show | awk -v a="$2" '
	    { split($4, p, "/") } p[1] == a { print $2; found = 1; exit }
	    END { exit !found }'
}
# ---- end of ssh ----

# ---- bytes spelled in hex (codec.bats, gso.bats, pcapng.bats) ----

# Writes to stdout the bytes spelled by the hex digits in $*; spaces, which
# only show where frames start, are dropped.  Binary data cannot live in a
# shell variable (no NUL bytes), so streams go through files and are only
# ever spelled in hex here.
unhex() {
	local hex="$*"

	printf '%b' "$(printf '%s' "${hex// /}" | sed 's/../\\x&/g')"
}

# Prints the bytes of file $1 as one run of lowercase hex.  -v: od would
# otherwise fold repeated lines into a '*'.
hexof() {
	od -An -v -tx1 "$1" | tr -d ' \n'
}

# cycle_hex N M: the hex of an N-byte packet whose byte i is i mod M.
cycle_hex() {
	local n=$1 m=$2 block='' all='' i

	for ((i = 0; i < m; i++)); do
		printf -v block '%s%02x' "$block" "$i"
	done
	for ((i = 0; i < n; i += m)); do
		all+=$block
	done
	printf '%s' "${all:0:2*n}"
}

# seq_hex N: every byte value in turn, so that a byte lost, doubled or
# moved anywhere changes the packet.
seq_hex() { cycle_hex "$1" 256; }

# lookalike SEQ ID: a 140-byte TAP frame that is also, read from its first
# byte, an IPv4 TCP segment (IP ID ID, sequence number SEQ, ACK, 100 bytes
# of payload, byte i being SEQ + i mod 256) with right checksums: two with
# consecutive SEQ and ID would merge, were they IP.  Read as Ethernet, the
# frame goes to 45:00:00:8c:00:ID, its IP source address, 8.0.0.1, puts
# the type IPv4 (0x0800) at bytes 12 and 13, and what follows is no IP
# packet.  Nothing is ever sent to that address.  Needs test/offload-driver.
lookalike() {
	local payload='' i

	for ((i = 0; i < 100; i++)); do
		printf -v payload '%s%02x' "$payload" $((($1 + i) & 255))
	done
	printf '4500008c%04x400040060000080000010a4d00029c401389%08x01020304501001f500000000%s\n' \
	    "$2" "$1" "$payload" | "$DRIVERS/offload-driver" fix
}

# Fails the test with a message, for checks inside loops.
fail() {
	printf '%s\n' "$@" >&2
	return 1
}

# Compares $output and $status (from `run`) with what is expected.
expect() {
	local want_status=$1 want_output=$2

	if [[ $status -ne $want_status || $output != "$want_output" ]]; then
		fail "expected status $want_status and output:" "$want_output" \
		    "got status $status and output:" "$output"
	fi
}
# ---- end of bytes spelled in hex ----

# ---- captures read by tshark and tcpdump (pcapng.bats, capture.bats, pipeline.bats) ----

# quiet COMMAND...: runs COMMAND with its stderr set aside, and shown only
# if it fails: tshark warns there when run as root, tcpdump names its file.
quiet() {
	local err status=0

	err=$(mktemp) || return 1
	"$@" 2>"$err" || status=$?
	[ "$status" = 0 ] || cat "$err" >&2
	rm -f "$err"
	return "$status"
}

# capture_start SIDE DEVICE FILE [OPTION...]: tcpdump on DEVICE in that
# namespace, with OPTIONs, into FILE, until capture_stop (at most 60 s):
# each packet at once (a capture stopped soon after the traffic lacks
# none), into a buffer of 16 MiB (the ring has room for many).  Captures
# that need only lengths take -s 128: the lengths are whole all the same.
capture_start() {
	ns_bg "$1" timeout -s INT 60 tcpdump -i "$2" -n -U --immediate-mode \
	    -B 16384 "${@:4}" -w "$3" 2>"$3.log" &
	CAPTURE=$!
	remember $CAPTURE
	wait_for 5 grep -q 'listening on' "$3.log"
}

capture_stop() {
	kill -INT "$CAPTURE"
	wait_exit 5 "$CAPTURE"
}

# capture_fields FILE FIELD...: one line per packet of the capture FILE,
# holding tshark's FIELDs (frame.len, ip.src, ...) separated by tabs.
capture_fields() {
	local file=$1 field args=()
	shift
	for field; do
		args+=(-e "$field")
	done
	quiet tshark -n -r "$file" -T fields "${args[@]}"
}

# capture_hex FILE [FILTER]: each packet of the capture FILE (those the
# tshark display filter FILTER keeps) as tcpdump prints it, bytes in hex,
# no time: two captures of the same packets give the same text.
capture_hex() {
	local file=$1
	if [ -n "${2:-}" ]; then
		quiet tshark -r "$1" -Y "$2" -w "$1.kept"
		file=$1.kept
	fi
	quiet tcpdump -n -t -x -r "$file"
}

# ---- end of captures read by tshark and tcpdump ----

# driver_limit NAME: the limit NAME (size_max, long_min or long_max) of
# the architecture that $DRIVER was built for (see driver_limits() in
# test/driver.h), for the largest numbers a test gives it.
driver_limit() {
	"$DRIVER" limits | awk -v name="$1" '$1 == name { print $2 }'
}

# need_driver: in a driver's suite's setup(), fails when $DRIVER is not
# built: a failure, not a skip, since a skipped suite would look like a
# passing one.
need_driver() {
	[[ -x $DRIVER ]] && return 0
	echo "$DRIVER is missing: run 'make test/${DRIVER##*/}'" >&2
	return 1
}
