#!/usr/bin/env bats
# Two ends that disagree about the framing (-f), the mode (-T) or -O: each
# end names the mismatch in its own stderr within the first packets, at
# the default verbosity, and exits with status 4.  Whichever end sees
# enough first stops the stream; the other one names the mismatch from
# the frames it had when its stream ended.

load helpers

setup() { netns_setup; }
teardown() { netns_teardown; }

# ARP_FRAME: an Ethernet broadcast frame holding an ARP request, as a TAP
# peer sends it.
ARP_FRAME=ffffffffffff020000000001080600010800060400010200000000010a4d0002000000000000$(
	)0a4d0001

# reads_as OPTIONS -- FRAMING HEX...: tunpipe with OPTIONS reads a stream of
# these frames in FRAMING, as a peer of the other mode or framing sends
# them, then its end: sets status and output.
reads_as() {
	local opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	local framing=$2
	shift 2
	printf '%s\n' "$@" |
	    "$BATS_TEST_DIRNAME/framing-driver" encode -f "$framing" >"$T/stream"
	run tunpipe_reads "${opts[@]}"
	echo "status $status: $output"
}

@test "each end reading what the other sends names the mismatch and exits 4: -f" {
	reads_as -i tpa -f len16 -- len32 "$IPV4_PACKET" "$IPV4_PACKET"
	[ "$status" = 4 ]
	[[ "$output" == *"as a -f len32 stream (or one of -O) reads with -f len16: give both ends the same -f"* ]]
	reads_as -i tpa -f len32 -- len16 "$IPV4_PACKET"
	[ "$status" = 4 ]
	[[ "$output" == *"more than -f len32 carries (65664); the peer most likely uses another framing (-f)"* ]]
}

@test "each end reading what the other sends names the mismatch and exits 4: -T" {
	reads_as -i tpa -T -- len16 "$IPV4_PACKET" "$IPV4_PACKET"
	[ "$status" = 4 ]
	[[ "$output" == *"IP packets, not Ethernet frames: the peer runs without -T; use -T at both ends, or at neither"* ]]
	reads_as -i tpa -- len16 "$ARP_FRAME" "$ARP_FRAME"
	[ "$status" = 4 ]
	[[ "$output" == *"Ethernet frames, not IP packets: the peer runs with -T; use -T at both ends, or at neither"* ]]
}

@test "each end reading what the other sends names the mismatch and exits 4: -O" {
	reads_as -i tpa -- len32 "00000000000000000000$IPV4_PACKET"
	[ "$status" = 4 ]
	[[ "$output" == *"the peer runs with -O (--offload): use -O at both ends, or at neither"* ]]
	reads_as -i tpa -O -- len16 "$IPV4_PACKET"
	[ "$status" = 4 ]
	[[ "$output" == *"-O at one end only"* ]]
}

# live END_A_OPTS... -- END_B_OPTS...: tunnel ends A and B at the default
# verbosity, B addressed and sending first (pings to A, whose link is still
# down, so that A reads them before it sends a frame), then A addressed:
# its first frames stop B, and B's stop ends A's stream.  Both must exit
# with status 4.
live() {
	local a=() b=()
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	b=("$@")
	mkfifo "$T/ab" "$T/ba"
	ns_bg A "$TUNPIPE" -i tpa "${a[@]}" <"$T/ba" >"$T/ab" 2>"$T/a.err" &
	PID_A=$!
	remember $PID_A
	ns_bg B "$TUNPIPE" -i tpb -a 10.77.0.2/24 "${b[@]}" \
	    >"$T/ba" <"$T/ab" 2>"$T/b.err" &
	PID_B=$!
	remember $PID_B
	wait_for 5 has_link A tpa
	wait_for 5 addr_dev B 10.77.0.2
	ns B ping -c 3 -i 0.2 -W 1 10.77.0.1 || true
	ns A ip addr add 10.77.0.1/24 dev tpa
	ns A ip link set tpa up
	ns A ping -c 2 -i 0.2 -W 1 10.77.0.2 || true
	wait_exit 10 "$PID_B"
	echo "B: status $status: $(cat "$T/b.err")"
	[ "$status" = 4 ]
	wait_exit 10 "$PID_A"
	echo "A: status $status: $(cat "$T/a.err")"
	[ "$status" = 4 ]
}

@test "live, -f len16 against -f len32: both ends exit 4, each naming the framing" {
	live -f len16 -- -f len32
	grep -Eq 'stream ended after [0-9]+ frames, which held packets each right after an empty frame' "$T/a.err"
	grep -q 'more than -f len32 carries (65664)' "$T/b.err"
}

@test "live, TAP against TUN: both ends exit 4, each naming -T" {
	live -T --
	grep -Eq 'stream ended after [0-9]+ frames, which held IP packets, not Ethernet frames: the peer runs without -T' "$T/a.err"
	grep -q 'Ethernet frames, not IP packets: the peer runs with -T' "$T/b.err"
}
