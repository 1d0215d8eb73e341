#!/usr/bin/env bats
# Faults: a stalled peer, a closed stdout, a storm of signals, input one
# byte at a time, megabytes of garbage, and a minute of load.  tunpipe must
# keep its memory flat, lose nothing it could keep, and never crash or hang.

load helpers

setup() { netns_setup; }
teardown() { netns_teardown; }

# rss_kb PID: resident memory of PID, in KiB.
rss_kb() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"
}

# sample_rss PID SECONDS FILE: writes PID's RSS to FILE every 0.5 s.
sample_rss() {
	local i
	for ((i = 0; i < $2 * 2; i++)); do
		rss_kb "$1" >>"$3"
		sleep 0.5
	done
}

# spread FILE: the largest minus the smallest number in FILE.
spread() {
	sort -n "$1" | sed -n '1p;$p' | tr '\n' ' ' | awk '{ print $2 - $1 }'
}

# big_transfer MB: starts a TCP transfer of MB random megabytes from A to
# B in the background; finish_transfer waits for it and compares.
big_transfer() {
	head -c "$(($1 * 1024 * 1024))" /dev/urandom >"$T/sent"
	ns_bg B timeout 120 socat -u TCP-LISTEN:5001,bind=10.77.0.2,reuseaddr \
	    "CREATE:$T/received" &
	LISTENER=$!
	remember $LISTENER
	wait_for 5 eval "ns B ss -Hltn 'sport = :5001' | grep -q LISTEN"
	ns_bg A timeout 120 socat -u "FILE:$T/sent" TCP:10.77.0.2:5001 &
	SENDER=$!
	remember $SENDER
}

finish_transfer() {
	wait_exit "$1" $SENDER || { cat "$T/a.err" "$T/b.err"; return 1; }
	[ "$status" = 0 ]
	wait_exit 10 $LISTENER
	[ "$status" = 0 ]
	cmp "$T/sent" "$T/received"
}

@test "a peer stopped for 5 s under full load: memory stays flat, the transfer completes intact" {
	tunnel_up
	address_tunnel
	# At 100 Mbit/s, 100 MB keep the tunnel full for about 8 s.
	ns A tc qdisc add dev tpa root tbf rate 100mbit burst 256kb latency 50ms
	big_transfer 100
	sleep 2
	kill -STOP "$PID_B"
	sample_rss "$PID_A" 5 "$T/rss"
	kill -CONT "$PID_B"
	finish_transfer 100
	echo "RSS of A while B was stopped (KiB): $(tr '\n' ' ' <"$T/rss")"
	[ "$(spread "$T/rss")" -le 256 ]
}

@test "stdout closed in the middle of a transfer: a message, exit 0, device gone" {
	RELAY_ARGS="-c 65536 -p 0"
	tunnel_up
	address_tunnel
	big_transfer 200
	sleep 1
	# B stopped, so that A's input does not end first: only its stdout.
	kill -STOP "$PID_B"
	kill "$RELAY_A"
	wait_exit 10 "$PID_A"
	[ "$status" = 0 ]
	grep -q 'standard output was closed by its reader; stopping' "$T/a.err"
	no_link A tpa
}

@test "a storm of SIGUSR1 during a transfer changes nothing" {
	tunnel_up
	address_tunnel
	big_transfer 20
	local i
	for ((i = 0; i < 300; i++)); do
		kill -USR1 "$PID_A" "$PID_B" 2>/dev/null || break
	done
	finish_transfer 60
	kill -0 "$PID_A" "$PID_B"
	[ "$(grep -c 'to stream:' "$T/a.err")" -ge 1 ]
}

@test "SIGUSR1 answered and SIGTERM obeyed at once while floods fill the tunnel both ways" {
	tunnel_up
	address_tunnel
	# A UDP flood each way, as fast as socat can send, for at most 60 s:
	# each tunpipe's stream and device are ready on every turn.
	ns_bg A timeout 60 socat -u -b 1400 /dev/zero UDP-SENDTO:10.77.0.2:5001 &
	remember $!
	ns_bg B timeout 60 socat -u -b 1400 /dev/zero UDP-SENDTO:10.77.0.1:5002 &
	remember $!
	sleep 1
	local i
	for ((i = 1; i <= 5; i++)); do
		kill -USR1 "$PID_A" "$PID_B"
		wait_for 5 eval '[ "$(grep -c "to stream:" "$T/a.err")" = $i ]'
		wait_for 5 eval '[ "$(grep -c "to stream:" "$T/b.err")" = $i ]'
	done
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	[ "$status" = 0 ]
	grep -q 'stopped by signal 15' "$T/a.err"
}

@test "the stream one byte per write: full-size packets and 1 MB arrive intact" {
	RELAY_ARGS="-c 1 -p 0"
	tunnel_up
	address_tunnel
	ns A ping -c 3 -i 0.2 -W 2 -s 1472 -M do 10.77.0.2
	transfer B 10.77.0.2 1
}

@test "10 MB of random bytes, in each framing: a clean exit, no crash, no hang" {
	random_bytes $((10 * 1024 * 1024)) >"$T/random"
	local framing
	for framing in len16 len32 slip; do
		run tunpipe_reads "$T/random" -f "$framing"
		echo "$framing: status $status: ${output:0:300}"
		# A length framing stops at the first absurd length (4); SLIP
		# drops what is damaged and goes on to the end (0, or 4 when
		# the stream stops inside a packet).
		[ "$status" = 0 ] || [ "$status" = 4 ]
		[[ "$output" != *"seccomp"* && "$output" != *"Sanitizer"* ]]
	done
	run tunpipe_reads "$T/random" -f slip -v
	[[ "$output" =~ [1-9][0-9]*" damaged" ]]
}

@test "valid-length frames holding garbage: TUN stops at the eighth with a stream error, TAP delivers all" {
	# 10,000 frames of 1000 bytes that look random: whole frames, but
	# not IP packets (the same bytes in every run: see random_bytes).
	random_bytes $((10 * 1024 * 1024)) | od -An -v -tx1 |
	    tr -d ' \n' | fold -w 2000 | head -n 10000 >"$T/packets"
	local n
	n=$(wc -l <"$T/packets")
	"$BATS_TEST_DIRNAME/framing-driver" encode <"$T/packets" >"$T/stream"
	run tunpipe_reads "$T/stream" -v
	[ "$status" = 4 ]
	[[ "$output" == *"from stream: 0 packets"* ]]
	[[ "$output" == *"dropped: 8 not IP"* ]]
	[[ "$output" == *"8 frames in a row held no packets at all"* ]]
	# In TAP mode the device takes any frame: all of them are delivered.
	run tunpipe_reads "$T/stream" -T -a 10.77.0.1/24 -v
	[ "$status" = 0 ]
	[[ "$output" == *"from stream: $n packets, $((n * 1000)) bytes"* ]]
}

@test "a 60-second soak under iperf3 load: transfers intact, memory flat" {
	tunnel_up
	address_tunnel
	ns_bg B timeout 90 iperf3 -s -1 -B 10.77.0.2 >/dev/null &
	remember $!
	wait_for 5 eval "ns B ss -Hltn 'sport = :5201' | grep -q LISTEN"
	ns_bg A timeout 90 iperf3 -c 10.77.0.2 -t 60 -P 2 >"$T/iperf" &
	local load=$!
	remember $load
	local i start=$SECONDS
	# While the load runs, a checksummed transfer each way every few
	# seconds, and both tunpipes' memory sampled.
	for ((i = 0; i < 40 && SECONDS - start < 55; i++)); do
		transfer B 10.77.0.2 5
		transfer A fd77::1 5
		rss_kb "$PID_A" >>"$T/rss.a"
		rss_kb "$PID_B" >>"$T/rss.b"
		sleep 1
	done
	wait_exit 40 $load
	[ "$status" = 0 ]
	echo "transfers: $((2 * i)) of 5 MB; load: $(grep -E 'receiver$' "$T/iperf" | tail -n 1)"
	echo "RSS spread A $(spread "$T/rss.a") KiB, B $(spread "$T/rss.b") KiB"
	[ "$i" -ge 5 ]
	[ "$(spread "$T/rss.a")" -le 256 ]
	[ "$(spread "$T/rss.b")" -le 256 ]
}
