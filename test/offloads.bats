#!/usr/bin/env bats
# The default path: the device's offloads are on, and tunpipe cuts the GSO
# packets it reads into ordinary packets, and merges the TCP segments it
# reads from the stream into GSO packets for the device (in TAP mode, those
# of Ethernet frames alike but for their IP packets); the wire carries
# ordinary packets no larger than the MTU, as with -G, which turns the
# offloads off.  Correctness only; the speed is the benchmark's business.

load helpers

setup() { netns_setup; }
teardown() { netns_teardown; }

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
	# Headers are enough (frame.len is each packet's own length): a
	# capture that copies less keeps up, also on a busy machine.
	capture_start B tpb "$T/b.pcap" -s 128
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

# capture_frames FILE: each frame in the capture FILE as one line of hex,
# its Ethernet header included.
capture_frames() {
	quiet tcpdump -n -xx -r "$1" | awk '/^[^ \t]/ { if (h != "") print h; h = ""; next }
	    { for (i = 2; i <= NF; i++) h = h $i } END { if (h != "") print h }'
}

# rx_during SIDE DEVICE COMMAND...: runs COMMAND, then prints how many
# packets DEVICE (in namespace SIDE) received meanwhile.
rx_during() {
	local side=$1 dev=$2 before
	shift 2
	before=$(rx_packets "$side" "$dev")
	"$@" >&2
	echo $(($(rx_packets "$side" "$dev") - before))
}

@test "two TAP ends with the offloads: TCP over IPv4 and IPv6 intact, and the far device takes merged GSO packets" {
	local n
	tunnel_up -T
	address_tunnel
	grep -q 'device tpb (tap, offloads)' "$T/b.err"
	# 20 MiB is 14,482 segments of 1448 bytes (IPv4) on the wire, and
	# 14,685 of 1428 (IPv6); each device took them merged, far fewer.
	n=$(rx_during B tpb transfer B 10.77.0.2 20)
	echo "tpb took $n packets for 20 MiB over IPv4"
	[ "$n" -lt 3600 ]
	n=$(rx_during A tpa transfer A fd77::1 20)
	echo "tpa took $n packets for 20 MiB over IPv6"
	[ "$n" -lt 3600 ]
}

# lookalikes_cross FRAMING: two lookalike frames (helpers.bash) that would
# merge were they IP, sent in that framing to a tunpipe -T in namespace A,
# reach its device as they were sent: a capture there holds them, byte for
# byte, and nothing else.
lookalikes_cross() {
	ipv6_off
	persistent_device A tpa tap
	printf '%s\n' "$(lookalike 1000 7)" "$(lookalike 1100 8)" >"$T/sent"
	"$BATS_TEST_DIRNAME/framing-driver" encode -f "$1" <"$T/sent" >"$T/stream"
	# --immediate-mode: each frame to the file as it comes, not up to a
	# second later, when tcpdump may have been stopped.
	capture_start A tpa "$T/tpa.pcap" --immediate-mode
	tunpipe_reads -T -f "$1" -i tpa
	# Two frames, or one that the peer never sent: stop once two came.
	wait_for 3 eval '[ "$(capture_frames "$T/tpa.pcap" | wc -l)" -ge 2 ]' || true
	capture_stop
	capture_frames "$T/tpa.pcap" >"$T/received"
	diff "$T/sent" "$T/received"
}

@test "TAP, len16: two frames that also read as IP segments of one flow reach the device as they were sent" {
	lookalikes_cross len16
}

@test "TAP, len32: two frames that also read as IP segments of one flow reach the device as they were sent" {
	lookalikes_cross len32
}

@test "TAP with the offloads, and a stream re-cut at random: TCP intact each way" {
	RELAY_ARGS="-c 3000 -p 500"
	tunnel_up -T
	address_tunnel
	transfer B 10.77.0.2 20
	transfer A fd77::1 10
}

# udp_burst: 2 MB in 1400-byte datagrams from A to B's 10.77.0.2, sent flat
# out so that reads of the stream hold many, received and compared.  The
# queues are long enough that none is dropped on the way.
udp_burst() {
	head -c $((2 * 1024 * 1024)) /dev/urandom >"$T/sent"
	ns A ip link set tpa txqueuelen 10000
	ns_bg B timeout 30 socat -u UDP-RECV:5002,bind=10.77.0.2,rcvbuf=8388608 \
	    "CREATE:$T/received" &
	remember $!
	wait_for 5 eval "ns B ss -Hlun 'sport = :5002' | grep -q 5002"
	ns A timeout 30 socat -u -b 1400 "OPEN:$T/sent" UDP-SENDTO:10.77.0.2:5002
	wait_for 10 eval '[ "$(stat -c %s "$T/received")" = $((2 * 1024 * 1024)) ]'
	cmp "$T/sent" "$T/received"
}

@test "a device that refuses merged UDP: tunpipe says so once, goes on one datagram at a time, and loses none" {
	# ASan, when tunpipe has it, must let the shim come first.
	B_WRAP=(env LD_PRELOAD="$BATS_TEST_DIRNAME/refuse-gso.so"
	    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
	tunnel_up
	address_tunnel
	udp_burst
	[ "$(grep -c 'refuses the offload' "$T/b.err")" -eq 1 ]
	grep -q 'write to tpb: Invalid argument, for [0-9]* UDP datagrams merged into one: .*UDP goes one packet at a time from now on' "$T/b.err"
	# TCP goes on as before.
	transfer B 10.77.0.2 5
}

@test "-G with -O is a usage error" {
	run "$TUNPIPE" -G -O </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-O carries the device's GSO packets, which -G turns off: give one"* ]]
}
