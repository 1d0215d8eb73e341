#!/usr/bin/env bats
# Bad input on the stream: tunpipe refuses it clearly, keeps what it can,
# and never crashes or hangs.

load helpers

setup() { netns_setup; }
teardown() { netns_teardown; }

@test "random bytes on stdin: a stream error exit, no crash, no hang" {
	for size in 1 3 100 4096 65536 1000000; do
		head -c "$size" /dev/urandom >"$T/random"
		run tunpipe_reads "$T/random" -i tpr
		echo "$size bytes: status $status: $output"
		[ "$status" = 4 ]
		[[ "$output" == *"stream error"* || "$output" == *"ended inside a frame"* ]]
	done
}

@test "a frame over the MTU: a stream error naming length, limit and cause" {
	persistent_device A tpa
	{ frames "$IPV4_PACKET"; printf '\005\335'; head -c 1501 /dev/zero;
	    frames "$IPV4_PACKET"; } >"$T/stream"
	run tunpipe_reads -i tpa
	[ "$status" = 4 ]
	[[ "$output" == *"announces 1501 bytes, over the limit of 1500 for tpa"* ]]
	[[ "$output" == *"another framing or mode"* ]]
	[ "$(rx_packets A tpa)" = 1 ]	# the packet before, nothing after
}

@test "the frame limit follows the MTU, plus the Ethernet header in TAP mode" {
	persistent_device A tpa tap
	ns A ip link set tpa mtu 1400
	frame=$(printf 'ff%.0s' $(seq 1418))
	frames "$frame" >"$T/stream"
	run tunpipe_reads -T -i tpa
	[ "$status" = 0 ]
	[ "$(rx_packets A tpa)" = 1 ]
	frames "${frame}ff" >"$T/stream"
	run tunpipe_reads -T -i tpa
	[ "$status" = 4 ]
	[[ "$output" == *"announces 1419 bytes, over the limit of 1418"* ]]
}

@test "frames that are not IP packets are dropped, counted, warned about once" {
	persistent_device A tpa
	bad=68656c6c6f			# "hello"
	short=4500002000000000		# IPv4 header claiming 32 bytes, 8 sent
	{ for i in $(seq 20); do echo $bad; echo $short; done; echo "$IPV4_PACKET"; } |
	    "$BATS_TEST_DIRNAME/framing-driver" encode >"$T/stream"
	run tunpipe_reads -v -i tpa
	[ "$status" = 0 ]
	[ "$(grep -c 'not an IPv4 or IPv6 packet' <<<"$output")" = 1 ]
	[[ "$output" == *"TAP mode (-T)"* ]]
	[[ "$output" == *"dropped: 40 not IP"* ]]
	[ "$(rx_packets A tpa)" = 1 ]
}
