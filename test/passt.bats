#!/usr/bin/env bats
# passt, a real peer: tunpipe -T -f len32 speaks the stream of passt's
# socket (its QEMU mode), so a TAP device stands where a virtual machine's
# network card would.  passt runs in namespace A, whose world is a veth link
# to namespace C (A 10.79.0.1 and fd79::1 on trac, C 10.79.0.3 and fd79::3 on
# trc, and 10.79.1.3 on C's loopback, a host beyond the gateway); tunpipe
# runs in namespace B, and its device tpb takes what passt offers: by DHCP,
# A's own address 10.79.0.1/24, the gateway 10.79.0.3 and MTU 65520; by
# router advertisements, an address in fd79::/64.

load helpers

setup() {
	netns_setup
	netns_c_setup
	command -v passt >/dev/null || skip_or_fail "no passt (Debian: passt)"
	command -v udhcpc >/dev/null || skip_or_fail "no udhcpc (Debian: udhcpc)"
}

# passt and what tunpipe started, in every namespace; then passt's directory.
teardown() {
	netns_teardown_all
	[ -z "${PASST_DIR:-}" ] || rm -rf "$PASST_DIR"
}

# passt_start [PASST OPTIONS...]: A's route to the world through C, and
# passt in A (QEMU mode, one client).  passt drops to nobody before it
# binds its socket, so the socket's directory is nobody's (in /tmp, since
# the test's own directory is closed to others).
passt_start() {
	ns A ip -6 addr add fd79::1/64 dev trac nodad
	ns_c ip -6 addr add fd79::3/64 dev trc nodad
	ns_c ip addr add 10.79.1.3/32 dev lo
	ns A ip route add default via 10.79.0.3
	ns A ip -6 route add default via fd79::3
	# passt answers pings with ICMP echo sockets, which its user
	# (nobody) may open only within ping_group_range.
	ns A sysctl -q -w net.ipv4.ping_group_range="0 2147483647"
	PASST_DIR=$(mktemp -d /tmp/tunpipe-passt.XXXXXX)
	chown nobody "$PASST_DIR"
	ns_bg A passt -f -1 -s "$PASST_DIR/passt.sock" --no-dhcp-dns \
	    --no-dhcp-search "$@" </dev/null >/dev/null 2>"$T/passt.err" &
	PASST_PID=$!
	remember $PASST_PID
	wait_for 5 test -S "$PASST_DIR/passt.sock" || {
		echo "passt did not make its socket:" >&2
		passt_said
		return 1
	}
}

# passt_up [PASST OPTIONS...]: passt_start, and tunpipe in B joined to
# passt's socket.  The joining line is the README's: socat connects and
# hands the socket itself to tunpipe (nofork), so that tunpipe's writes
# reach passt as they are.
passt_up() {
	passt_start "$@" || return 1
	ns_bg B socat UNIX-CONNECT:"$PASST_DIR/passt.sock" \
	    EXEC:"$TUNPIPE -v -T -f len32 -i tpb",nofork 2>"$T/b.err" &
	TUNPIPE_PID=$!
	remember $TUNPIPE_PID
	wait_for 5 has_link B tpb || { cat "$T/b.err" >&2; return 1; }
}

# passt_relayed FRAMING [PASST OPTIONS...]: passt_start, then tunpipe in B
# whose stream (-f FRAMING) reaches passt through test/relay, which cuts
# it in pieces as ssh does, and a second tunpipe that joins passt's
# socket with -c: the far end of far-net.sh, where ssh hands the command
# pipes.  FAR_PID is the -c tunpipe's.
passt_relayed() {
	local framing=$1
	shift
	passt_start "$@" || return 1
	ns_bg B "$TUNPIPE" -v -T -f "$framing" -i tpb -e "$RELAY -c 20000 \
	    -p 200 | exec $TUNPIPE -v -f $framing -c $PASST_DIR/passt.sock" \
	    2>"$T/b.err" &
	TUNPIPE_PID=$!
	remember $TUNPIPE_PID
	wait_for 5 has_link B tpb || { cat "$T/b.err" >&2; return 1; }
	wait_for 5 eval "FAR_PID=\$(pgrep -f -- '^$TUNPIPE -v -f $framing -c $PASST_DIR/')" || {
		echo "no tunpipe -c:" >&2
		cat "$T/b.err" >&2
		return 1
	}
}

# passt_said: passt's messages, less its complaints that no syslog listens.
passt_said() {
	grep -v 'to syslog$' "$T/passt.err" >&2
}

# dhcp_lease: busybox udhcpc on tpb, with the script Debian ships, which
# sets the address, the default route and the MTU passt offers.  The
# script writes /etc/resolv.conf: B's is the test's own file, bound over
# it in the mount namespace that ip netns exec made for udhcpc.
dhcp_lease() {
	: >"$T/resolv.conf"
	# shellcheck disable=SC2016
	ns B sh -c 'mount --bind "$1" /etc/resolv.conf &&
	    exec timeout 30 udhcpc -i tpb -f -q -n -t 5 -T 2' sh "$T/resolv.conf" || {
		echo "no DHCP lease from passt; tunpipe said:" >&2
		cat "$T/b.err" >&2
		echo "and passt:" >&2
		passt_said
		return 1
	}
}

# in_ns A|B|C COMMAND...: COMMAND in that namespace; in_ns_bg for & jobs.
in_ns() {
	if [ "$1" = C ]; then
		shift
		ns_c "$@"
	else
		ns "$@"
	fi
}

in_ns_bg() {
	if [ "$1" = C ]; then
		shift
		ns_c_bg "$@"
	fi
	ns_bg "$@"
}

# sent_intact TO BIND FROM ADDRESS PORT [MB]: MB (8) megabytes of random
# bytes over TCP from namespace FROM to ADDRESS:PORT, listened on at
# BIND:PORT in namespace TO, where they must arrive intact.
sent_intact() {
	local to=$1 bind=$2 from=$3 addr=$4 port=$5 mb=${6:-8} listener
	head -c $((mb * 1024 * 1024)) /dev/urandom >"$T/sent"
	in_ns_bg "$to" timeout 60 socat -u "TCP-LISTEN:$port,bind=$bind,reuseaddr" \
	    "CREATE:$T/received" &
	listener=$!
	remember $listener
	wait_for 5 eval "in_ns $to ss -Hltn 'sport = :$port' | grep -q LISTEN"
	in_ns "$from" timeout 60 socat -u "FILE:$T/sent" "TCP:$addr:$port" &&
	    wait_exit 10 $listener && [ "$status" = 0 ] &&
	    [ "$(sha256sum <"$T/sent")" = "$(sha256sum <"$T/received")" ] &&
	    kill -0 "$TUNPIPE_PID" || {
		echo "the transfer failed; tunpipe said:" >&2
		cat "$T/b.err" >&2
		echo "and passt:" >&2
		passt_said
		return 1
	}
}

@test "passt: DHCP gives tpb passt's address, gateway and MTU 65520; passt answers ARP, NDP and ping" {
	passt_up
	dhcp_lease
	ns B ip -4 -o addr show dev tpb | grep -q "inet 10.79.0.1/24 "
	ns B ip route show default | grep -q "via 10.79.0.3 dev tpb"
	[ "$(link_field B tpb mtu)" = 65520 ]
	ns B ping -c 3 -i 0.2 -W 5 10.79.0.3
	# passt answers for the gateway with the MAC of its template
	# interface, A's trac
	mac=$(link_field A trac link/ether)
	ns B ip neigh show 10.79.0.3 dev tpb | grep -q "lladdr $mac"
	# an address from passt's router advertisement, then NDP
	wait_for 10 eval "ns B ip -6 -o addr show dev tpb scope global | grep -q 'inet6 fd79::'"
	ns B ping -6 -c 3 -i 0.2 -W 5 fd79::3
	ns B ip -6 neigh show fd79::3 dev tpb | grep -q "lladdr $mac"
}

@test "passt: an 8 MB TCP transfer from tunpipe's side to a host behind passt arrives intact" {
	passt_up
	dhcp_lease
	sent_intact C 10.79.1.3 B 10.79.1.3 5001
}

@test "passt: an 8 MB TCP transfer forwarded in by passt -t arrives intact" {
	passt_up -t 5002
	dhcp_lease
	sent_intact B 10.79.0.1 C 10.79.0.1 5002
}

# relayed_transfers FRAMING: 20 MB each way, and ping, through
# passt_relayed.  Debian 12's passt loses its step when a frame reaches it
# in pieces, as a stream from ssh does: socat in tunpipe -c's place
# stalls within 2 MB.
relayed_transfers() {
	passt_relayed "$1" -t 5002
	dhcp_lease
	sent_intact C 10.79.1.3 B 10.79.1.3 5001 20
	sent_intact B 10.79.0.1 C 10.79.0.1 5002 20
	ns B ping -c 2 -i 0.2 -W 5 10.79.0.3
	# no privilege needed at the far end: nothing but the socket was used
	grep -q "device $PASST_DIR/passt.sock (a socket, len32)" "$T/b.err"
}

@test "passt, through tunpipe -c: 20 MB each way arrive intact though the stream comes in pieces (len16)" {
	relayed_transfers len16
}

@test "passt, through tunpipe -c: 20 MB each way arrive intact though the stream comes in pieces (len32)" {
	relayed_transfers len32
}

@test "passt, through tunpipe -c: when passt ends, tunpipe -c says the socket closed and exits 1, and the stream ends" {
	passt_relayed len16
	dhcp_lease
	kill "$PASST_PID"
	wait_for 10 eval "! kill -0 $FAR_PID"
	wait_exit 10 "$TUNPIPE_PID"
	grep -q -- "-c $PASST_DIR/passt.sock: the socket was closed at its other end: passt or QEMU ended" "$T/b.err"
	grep -q -- "-e command exited with status 1; stopping" "$T/b.err"
	[ "$status" = 5 ]	# the -e command ended
}

@test "passt, through tunpipe -c: frames wait while passt is stopped, and 20 MB arrive intact" {
	passt_relayed len16
	dhcp_lease
	# passt stopped again and again: the socket fills, and tunpipe -c's
	# frames wait for it, with the rest of the stream
	(
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -STOP "$PASST_PID" && sleep 0.1
			kill -CONT "$PASST_PID" && sleep 0.1
		done
	) 3>&- &
	remember $!
	sent_intact C 10.79.1.3 B 10.79.1.3 5001 20
	kill -CONT "$PASST_PID"
	kill -TERM "$TUNPIPE_PID"
	wait_exit 10 "$TUNPIPE_PID"
	# the far tunpipe's counters: nothing dropped on its way to passt
	grep -q "passt.sock: dropped: 0 not Ethernet, 0 device write failed" "$T/b.err"
}
