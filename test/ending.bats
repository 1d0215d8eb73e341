#!/usr/bin/env bats
# How tunpipe ends: at the end of its input, on a signal, when its peer dies
# or stops reading.  Each way has its exit status, and leaves no device behind.

load helpers

setup() { netns_setup; }
teardown() { netns_teardown; }

@test "at end of input every whole packet reaches the device, then exit 0" {
	persistent_device A tpa
	for i in $(seq 50); do echo "$IPV4_PACKET"; done |
	    "$BATS_TEST_DIRNAME/framing-driver" encode >"$T/stream"
	run tunpipe_reads -i tpa
	[ "$status" = 0 ]
	[ "$(rx_packets A tpa)" = 50 ]
	has_link A tpa			# a persistent device stays
}

@test "a stream cut inside a packet: the warning names the bytes, exit 4" {
	persistent_device A tpa
	frames "$IPV4_PACKET" "$IPV4_PACKET" >"$T/stream"
	frames "$IPV4_PACKET" | head -c 12 >>"$T/stream"
	run tunpipe_reads -i tpa
	[ "$status" = 4 ]
	[[ "$output" == *"ended inside a frame: 10 of 28 bytes"* ]]
	[ "$(rx_packets A tpa)" = 2 ]
}

@test "a stream cut inside a frame header: the warning says so, exit 4" {
	persistent_device A tpa
	{ frames "$IPV4_PACKET"; printf '\000'; } >"$T/stream"
	run tunpipe_reads -i tpa
	[ "$status" = 4 ]
	[[ "$output" == *"ended inside a frame header: 1 of 2 bytes"* ]]
	[ "$(rx_packets A tpa)" = 1 ]
}

@test "SIGINT, SIGTERM and SIGHUP stop tunpipe with 0 and remove its device" {
	mkfifo "$T/in"
	exec 7<>"$T/in"
	for sig in INT TERM HUP; do
		ns_bg A "$TUNPIPE" -v -i tpsig <"$T/in" >/dev/null 2>"$T/err" 7>&- &
		pid=$!
		remember $pid
		wait_for 5 has_link A tpsig
		kill -s "$sig" "$pid"
		wait_exit 5 "$pid"
		[ "$status" = 0 ]
		grep -q "stopped by signal" "$T/err"
		no_link A tpsig
	done
	exec 7>&-
}

@test "when one end is killed the other exits 0 and its device is gone" {
	tunnel_up
	address_tunnel
	ns A ping -c 1 -W 2 10.77.0.2
	kill -9 "$PID_A"
	wait_exit 5 "$PID_B"
	[ "$status" = 0 ]
	no_link B tpb
	no_link A tpa
}

@test "stdout closed by its reader: a message and exit 0, not SIGPIPE" {
	mkfifo "$T/in" "$T/out"
	exec 7<>"$T/in"
	ns_bg A "$TUNPIPE" -i tpa <"$T/in" >"$T/out" 2>"$T/err" 7>&- &
	pid=$!
	remember $pid
	head -c 10 <"$T/out" >/dev/null &
	wait_for 5 has_link A tpa
	ns A ip addr add 10.77.0.1/24 dev tpa
	ns A ip link set tpa up
	ns A ping -c 5 -i 0.2 -W 1 10.77.0.2 || true
	wait_exit 5 "$pid"
	exec 7>&-
	[ "$status" = 0 ]
	grep -q "standard output was closed by its reader" "$T/err"
	no_link A tpa
}
