#!/usr/bin/env bats
# The default path: the device's offloads are on, and tunpipe cuts the GSO
# packets it reads into ordinary packets, and merges the TCP segments it
# reads from the stream into GSO packets for the device; the wire carries
# ordinary packets no larger than the MTU, as with -G, which turns the
# offloads off.  Correctness only; the speed is the benchmark's business.

load helpers

setup() { netns_setup; }
teardown() { netns_teardown; }

# capture SIDE DEVICE FILE &: tcpdump on DEVICE in that namespace, into
# FILE, until stopped with SIGINT (at most 60 s); CAPTURE is its PID.
capture_start() {
	ns_bg "$1" timeout -s INT 60 tcpdump -i "$2" -n -U -w "$3" 2>"$3.log" &
	CAPTURE=$!
	remember $CAPTURE
	wait_for 5 grep -q 'listening on' "$3.log"
}

capture_stop() {
	kill -INT "$CAPTURE"
	wait_exit 5 "$CAPTURE"
}

# largest FILE: the largest packet in the capture FILE, as tshark counts
# it (on a TUN device, the IP packet's length).
largest() {
	capture_fields "$1" frame.len | sort -n | tail -n 1
}

@test "two ends with the offloads: TCP over IPv4 and IPv6 and UDP intact each way, and the far device takes merged GSO packets" {
	tunnel_up
	address_tunnel
	grep -q 'device tpa (tun, offloads)' "$T/a.err"
	capture_start B tpb "$T/b.pcap"
	transfer B 10.77.0.2 20
	capture_stop
	transfer A fd77::1 20
	transfer B fd77::2 10
	transfer A 10.77.0.1 10
	udp_transfer B 10.77.0.2
	udp_transfer A 10.77.0.1
	# Segments merged: the kernel took packets larger than the MTU.
	echo "largest packet tpb took: $(largest "$T/b.pcap")"
	[ "$(largest "$T/b.pcap")" -gt 1500 ]
}

@test "an end with the offloads and one with -G: the wire carries packets no larger than the MTU, and transfers cross intact" {
	B_OPTS=(-G)
	tunnel_up
	address_tunnel
	grep -q 'device tpb (tun)' "$T/b.err"
	# tpb, without offloads, takes what the wire carried, packet by packet.
	capture_start B tpb "$T/b.pcap"
	transfer B 10.77.0.2 20
	transfer B fd77::2 10
	capture_stop
	echo "largest packet on the wire: $(largest "$T/b.pcap")"
	[ "$(largest "$T/b.pcap")" -le 1500 ]
	[ "$(capture_fields "$T/b.pcap" frame.len | wc -l)" -gt 14000 ]
	transfer A 10.77.0.1 20
	transfer A fd77::1 10
	udp_transfer B 10.77.0.2
	udp_transfer A 10.77.0.1
}

@test "TAP with the offloads, and a stream re-cut at random: TCP intact each way" {
	RELAY_ARGS="-c 3000 -p 500"
	tunnel_up -T
	address_tunnel
	transfer B 10.77.0.2 20
	transfer A fd77::1 10
}

@test "-G with -O is a usage error" {
	run "$TUNPIPE" -G -O </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-O carries the device's GSO packets, which -G turns off: give one"* ]]
}
