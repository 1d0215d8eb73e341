#!/usr/bin/env bats
# Counters: SIGUSR1 prints them and tunpipe goes on; -v prints them at exit.

load helpers

setup() {
	netns_setup
	ipv6_off
}
teardown() { netns_teardown; }

# counters_of FILE: the last counter line in FILE, as
# "out_packets out_bytes in_packets in_bytes".
counters_of() {
	grep 'to stream:' "$1" | tail -n 1 |
	    sed -E 's/.*to stream: ([0-9]+) packets, ([0-9]+) bytes; from stream: ([0-9]+) packets, ([0-9]+) bytes.*/\1 \2 \3 \4/'
}

@test "SIGUSR1 prints counters that match the traffic, and tunpipe goes on" {
	tunnel_up
	ns A ip addr add 10.77.0.1/24 dev tpa
	ns B ip addr add 10.77.0.2/24 dev tpb
	ns A ip link set tpa up
	ns B ip link set tpb up
	# 10 echo requests and 10 replies of 20 + 8 + 100 bytes.
	ns A ping -c 10 -i 0.1 -s 100 -W 2 10.77.0.2
	kill -USR1 "$PID_A" "$PID_B"
	wait_for 5 grep -q 'to stream:' "$T/a.err"
	wait_for 5 grep -q 'to stream:' "$T/b.err"
	[ "$(counters_of "$T/a.err")" = "10 1280 10 1280" ]
	[ "$(counters_of "$T/b.err")" = "10 1280 10 1280" ]
	grep -qE 'tpa \(tun, mtu 1500, up [0-9]+s\): to stream: .* dropped: 0 not IP, 0 device write failed' "$T/a.err"

	ns B ping -c 5 -i 0.1 -s 100 -W 2 10.77.0.1
	kill -USR1 "$PID_A"
	wait_for 5 test "$(grep -c 'to stream:' "$T/a.err")" = 2
	[ "$(counters_of "$T/a.err")" = "15 1920 15 1920" ]
}

@test "-v prints the device name at start, and name, mode, MTU, uptime and counters at exit" {
	persistent_device A tpa
	frames "$IPV4_PACKET" "" "$IPV4_PACKET" >"$T/stream"
	run tunpipe_reads -v -i tpa
	[ "$status" = 0 ]
	[[ "${lines[0]}" == *"device tpa (tun, offloads)"* ]]
	grep -qE 'tpa \(tun, mtu 1500, up [0-9]+s\): to stream: 0 packets, 0 bytes; from stream: 2 packets, 56 bytes; empty frames: 1 in, 0 out;' <<<"$output"
}

@test "-q keeps warnings quiet, but errors still show" {
	persistent_device A tpa
	frames 68656c6c6f "$IPV4_PACKET" >"$T/stream"
	run tunpipe_reads -q -i tpa
	[ "$status" = 0 ]
	[ -z "$output" ]
	printf '\377\377' >"$T/stream"
	run tunpipe_reads -q -i tpa
	[ "$status" = 4 ]
	[[ "$output" == *"ended inside a frame: 0 of 65535 bytes of its packet arrived"* ]]
}

# empty_frames FILE in|out: that count of empty frames in the last counters.
empty_frames() {
	grep -o 'empty frames: [0-9]* in, [0-9]* out' "$1" | tail -n 1 |
	    awk -v dir="$2" '{ print dir == "in" ? $3 : $5 }'
}

@test "-k sends an empty frame at once and after each quiet interval; the peer skips and counts it" {
	A_OPTS=(-k 1)
	tunnel_up
	sleep 3
	kill -0 "$PID_A" "$PID_B"		# empty frames end nothing
	# Stop A: B then reads to the end, and both print final counters.
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	wait_exit 5 "$PID_B"
	sent=$(empty_frames "$T/a.err" out)
	received=$(empty_frames "$T/b.err" in)
	echo "sent $sent, received $received"
	[ "$sent" -ge 3 ] && [ "$sent" -le 5 ]
	[ "$received" = "$sent" ]
	[ "$(empty_frames "$T/b.err" out)" = 0 ]	# B has no -k
	grep -q 'from stream: 0 packets' "$T/b.err"	# skipped, not delivered
}

@test "-k is range-checked" {
	run "$TUNPIPE" -k 0 </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-k 0: must be a number from 1 to 86400"* ]]
}
