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

@test "input that never runs dry (</dev/zero): SIGUSR1 is answered, and SIGINT, SIGTERM and SIGHUP stop tunpipe with 0" {
	for sig in INT TERM HUP; do
		ns_bg A "$TUNPIPE" -v -i tpz </dev/zero >/dev/null 2>"$T/err" &
		pid=$!
		remember $pid
		wait_for 5 has_link A tpz
		kill -USR1 "$pid"
		wait_for 5 grep -q 'to stream:' "$T/err"
		kill -s "$sig" "$pid"
		wait_exit 5 "$pid"
		[ "$status" = 0 ]
		grep -q "stopped by signal" "$T/err"
		no_link A tpz
	done
}

# cpu_ticks PID: the user and system clock ticks PID has used so far.
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

@test "an idle tunnel whose stdout reader is gone waits quietly, and SIGTERM stops it" {
	# sleep holds stdin open and sends nothing; true reads nothing and
	# exits, so stdout has no reader from the start.
	mkfifo "$T/out"
	true <"$T/out" &
	ns_bg A "$TUNPIPE" -i tpq1 < <(exec sleep 30) >"$T/out" 2>"$T/err" &
	pid=$!
	remember $pid
	wait_for 5 has_link A tpq1
	sleep 0.5
	before=$(cpu_ticks "$pid")
	sleep 2
	after=$(cpu_ticks "$pid")
	echo "CPU ticks in 2 s: $((after - before))"
	# A busy loop takes about 2 s of ticks (200 at 100 Hz); waiting, none.
	[ $((after - before)) -le 20 ]
	kill -TERM "$pid"
	wait_exit 5 "$pid"
	[ "$status" = 0 ]
}

# flags_of FD: the file status flags of this shell's FD, in octal, as
# /proc shows them.
flags_of() {
	awk '$1 == "flags:" { print $2 }' "/proc/$BASHPID/fdinfo/$1"
}

# blocking FD: succeeds when FD is not O_NONBLOCK (04000).
blocking() {
	(( (8#$(flags_of "$1") & 8#4000) == 0 ))
}

@test "standard input and output are left blocking at any exit: an error at start, and a clean end" {
	mkfifo "$T/in" "$T/out"
	exec 7<>"$T/in" 8<>"$T/out"
	# -i lo cannot be a TUN device: status 3, after tunpipe has looked at
	# its stdin and stdout.
	run ns A "$TUNPIPE" -i lo <&7 >&8
	[ "$status" = 3 ]
	blocking 7
	blocking 8
	# stdin and stdout one socket, as socat's EXEC gives them: after a
	# clean end (the input ends), the socket is blocking again.
	run ns A socat -t 10 /dev/null \
	    SYSTEM:"$TUNPIPE -i tpa; grep ^flags /proc/self/fdinfo/0 >&2"
	echo "$output"
	[ "$status" = 0 ]
	flags=$(awk '$1 == "flags:" { print $2 }' <<<"$output")
	(( (8#$flags & 8#4000) == 0 ))
	exec 7>&- 8>&-
}
