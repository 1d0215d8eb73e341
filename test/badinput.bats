#!/usr/bin/env bats
# Bad input on the stream: tunpipe refuses it clearly, keeps what it can,
# and never crashes or hangs.  A single odd frame never ends a tunnel; a
# run of them, which is all a peer of another mode or framing sends, ends
# it with a message naming the likely cause.  Random input comes from
# random_bytes, the same in every run.

load helpers

setup() { netns_setup; }
teardown() { netns_teardown; }

@test "random bytes on stdin: a stream error exit, no crash, no hang" {
	for size in 1 3 100 4096 65536 1000000; do
		random_bytes "$size" "$size" >"$T/random"
		run tunpipe_reads "$T/random" -i tpr
		echo "$size bytes: status $status: $output"
		[ "$status" = 4 ]
		[[ "$output" == *"stream error"* || "$output" == *"ended inside a frame"* ]]
	done
}

# ipv4_of_length N: an IPv4 packet of N bytes (protocol 253, for
# experiments; checksum left zero: the device counts it all the same).
ipv4_of_length() {
	printf '4500%04x0000000040fd00000a4d00020a4d0001' "$1"
	printf '00%.0s' $(seq $(($1 - 20)))
}

@test "a packet larger than the device's MTU is handed to the device, and the stream goes on" {
	persistent_device A tpa
	ns A ip link set tpa mtu 1400
	frames "$IPV4_PACKET" "$(ipv4_of_length 8028)" "$IPV4_PACKET" >"$T/stream"
	run tunpipe_reads -i tpa -v
	[ "$status" = 0 ]
	[ "$(rx_packets A tpa)" = 3 ]
	[[ "$output" == *"from stream: 3 packets, 8084 bytes"* ]]
}

@test "TAP: a frame larger than the MTU is delivered; a length beyond what the framing carries is a stream error naming it" {
	persistent_device A tpa tap
	ns A ip link set tpa mtu 1400
	frame=$(printf 'ff%.0s' $(seq 1600))
	frames "$frame" >"$T/stream"
	run tunpipe_reads -T -i tpa
	[ "$status" = 0 ]
	[ "$(rx_packets A tpa)" = 1 ]
	# len32 carries 65664 bytes at most (a 64 KiB packet and its headers)
	printf '\000\001\000\201' >"$T/stream"
	run tunpipe_reads -T -f len32 -i tpa
	[ "$status" = 4 ]
	[[ "$output" == *"announces 65665 bytes, more than -f len32 carries (65664)"* ]]
	[[ "$output" == *"another framing (-f)"* ]]
}

@test "frames that are not IP packets, among packets, are dropped, counted, warned about once" {
	persistent_device A tpa
	bad=68656c6c6f			# "hello"
	short=4500002000000000		# IPv4 header claiming 32 bytes, 8 sent
	{ for i in $(seq 20); do echo $bad; echo $short; echo "$IPV4_PACKET"; done; } |
	    "$BATS_TEST_DIRNAME/framing-driver" encode >"$T/stream"
	run tunpipe_reads -v -i tpa
	[ "$status" = 0 ]
	[ "$(grep -c 'not an IPv4 or IPv6 packet' <<<"$output")" = 1 ]
	[[ "$output" == *"TAP mode (-T)"* ]]
	[[ "$output" == *"dropped: 40 not IP"* ]]
	[ "$(rx_packets A tpa)" = 20 ]
}

@test "8 frames in a row that are not IP packets are a stream error naming the cause; 7 are not" {
	persistent_device A tpa
	bad=68656c6c6f
	# From the start: the peer speaks something else.
	for i in $(seq 8); do echo $bad; done |
	    "$BATS_TEST_DIRNAME/framing-driver" encode >"$T/stream"
	run tunpipe_reads -i tpa
	[ "$status" = 4 ]
	[[ "$output" == *"stream error: 8 frames in a row held no packets at all: the peer most likely uses another framing (-f) or -O"* ]]
	# After good packets: the stream lost its place.
	{ for i in $(seq 7); do echo $bad; done; echo "$IPV4_PACKET"
	  for i in $(seq 8); do echo $bad; done; echo "$IPV4_PACKET"; } |
	    "$BATS_TEST_DIRNAME/framing-driver" encode >"$T/stream"
	run tunpipe_reads -i tpa
	[ "$status" = 4 ]
	[[ "$output" == *"stream error: 8 frames in a row were no packets after 1 good frames, by byte "*": bytes were lost or reordered on the way"* ]]
	[ "$(rx_packets A tpa)" = 1 ]	# the packet between the runs
}

@test "a frame half read whose packet's own length disagrees is dropped and named at once, and the stream goes on past it" {
	persistent_device A tpa
	mkfifo "$T/in"
	exec 5<>"$T/in"		# the stream, open until the test closes it
	ns_bg A "$TUNPIPE" -v -i tpa <"$T/in" >/dev/null 2>"$T/err" 5>&- &
	local pid=$!
	remember $pid
	# A good packet, then a frame announcing 1500 bytes whose packet
	# says 28, of which 30 bytes come: a stream that lost its place.
	{ frames "$IPV4_PACKET"; printf '\005\334'
	  frames "$IPV4_PACKET" | tail -c 28; printf 'ab'; } >&5
	wait_for 5 grep -q "dropped a 1500-byte frame whose IP header gives another length: were bytes lost or reordered on the way" "$T/err"
	kill -0 "$pid"		# a single odd frame, which ends nothing
	# The rest of that frame, then a packet, which is delivered.
	{ head -c 1470 /dev/zero; frames "$IPV4_PACKET"; } >&5
	exec 5>&-
	wait_exit 10 "$pid"
	cat "$T/err"
	[ "$status" = 0 ]
	grep -q "dropped: 1 not IP" "$T/err"
	[ "$(rx_packets A tpa)" = 2 ]
}
