#!/usr/bin/env bats
# -O, --offload: TCP and UDP cross as GSO packets of up to 64 KiB with a
# virtio-net header, in frames with a 4-byte length.  Correctness only; the
# speed is the benchmark's business (make bench).

load helpers

setup() { netns_setup; }
teardown() { netns_teardown; }

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
	udp_transfer B 10.77.0.2
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
