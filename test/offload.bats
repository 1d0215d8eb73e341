#!/usr/bin/env bats
# -O, --offload: TCP and UDP cross as GSO packets of up to 64 KiB with a
# virtio-net header, in frames with a 4-byte length.  Correctness only; the
# speed is the benchmark's business (make bench).

load helpers

setup() { netns_setup; }
teardown() { netns_teardown; }

# udp_transfer: 2 MB in 1400-byte UDP datagrams from A to B, paced, and
# compared by checksum: a wrong checksum offload would lose datagrams.
udp_transfer() {
	head -c $((2 * 1024 * 1024)) /dev/urandom >"$T/sent"
	# A long device queue, so that a slow start (under valgrind, say)
	# does not drop datagrams: this test is about checksums, not load.
	ns A ip link set tpa txqueuelen 10000
	ns_bg B timeout 30 socat -u \
	    UDP-RECV:5002,bind=10.77.0.2,rcvbuf=8388608 "CREATE:$T/received" &
	local receiver=$!
	remember $receiver
	wait_for 5 eval "ns B ss -Hlun 'sport = :5002' | grep -q 5002"
	# -b 1400: one datagram per 1400 bytes; the relay paces them so
	# that no socket buffer overflows.
	"$RELAY" -c 1400 -p 1000 <"$T/sent" |
	    ns A timeout 30 socat -u -b 1400 STDIN UDP-SENDTO:10.77.0.2:5002
	wait_for 10 eval '[ "$(stat -c %s "$T/received")" = $((2 * 1024 * 1024)) ]'
	cmp "$T/sent" "$T/received"
}

@test "-O: 20 MB of TCP over IPv4 and IPv6 arrive intact, as GSO packets" {
	tunnel_up -O
	address_tunnel
	transfer B 10.77.0.2 20
	transfer A fd77::1 20
	# GSO at work: far fewer packets crossed than 1500-byte segments
	# would need (20 MB is 14,000 of them).
	kill -USR1 "$PID_A"
	wait_for 5 grep -q 'to stream:' "$T/a.err"
	local packets
	packets=$(grep -o 'to stream: [0-9]* packets' "$T/a.err" | tail -n 1 | tr -dc 0-9)
	[ "$packets" -lt 7000 ]
}

@test "-O: UDP datagrams arrive intact" {
	tunnel_up -O
	address_tunnel
	udp_transfer
}

@test "-O in TAP mode: ARP, ping and 20 MB of TCP" {
	tunnel_up -O -T
	address_tunnel
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	transfer B 10.77.0.2 20
}

@test "-O at one end only: the -O end stops at the first packet, naming -O" {
	A_OPTS=(-O)
	ipv4_only_tunnel
	ns B ping -c 1 -W 1 10.77.0.1 || true
	wait_exit 5 "$PID_A"
	[ "$status" = 4 ]
	grep -q -- '-O at one end only' "$T/a.err"
}

@test "-O at the other end only: the plain end stops at the first packet, naming -O" {
	A_OPTS=(-O)
	ipv4_only_tunnel
	ns A ping -c 1 -W 1 10.77.0.2 || true
	wait_exit 5 "$PID_B"
	[ "$status" = 4 ]
	grep -q 'the peer runs with -O (--offload): use -O at both ends' "$T/b.err"
}
