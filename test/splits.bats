#!/usr/bin/env bats
# Where the reads of a stream end changes nothing that tunpipe makes of it:
# TCP, ssh and pipes cut a stream wherever they like.  Each test cuts a
# recording at every byte in turn (test/splitter hands tunpipe the two
# parts in reads of their own) and asks for what one read of the whole
# gives: the same exit status, messages and counters.  tunpipe runs with
# -N, so that each run takes a few milliseconds and needs no device.

load helpers

SPLITTER=$BATS_TEST_DIRNAME/splitter
BATS_TEST_TIMEOUT=300	# for a thousand runs or two, even sanitized

setup() { T=$BATS_TEST_TMPDIR; }

# ipv4 LENGTH SIZE: an IPv4 header that says LENGTH bytes, zeros after it
# up to SIZE bytes, in hex (protocol 253, for experiments).
ipv4() {
	printf '4500%04x0000000040fd00000a4d00020a4d0001' "$1"
	printf '00%.0s' $(seq $(($2 - 20)))
}
PING=$(ipv4 84 84)	# as large as a ping
BAD=$(ipv4 60 100)	# a frame of 100 bytes whose IP header says 60

# record [-f FRAMING] HEX...: a recording of these frames, in $T/rec.
record() {
	local framing=len16
	if [ "$1" = -f ]; then framing=$2; shift 2; fi
	printf '%s\n' "$@" |
	    "$BATS_TEST_DIRNAME/framing-driver" encode -f "$framing" >"$T/rec"
}

# repeat N HEX: HEX, N times.
repeat() { local i; for ((i = 0; i < $1; i++)); do echo "$2"; done; }

# same_at_every_cut OPTIONS...: tunpipe -N -s 1 OPTIONS reads $T/rec in two
# reads, cut at each byte in turn, and each time does just what it does
# with one read of the whole: the same exit status, messages and counters
# in its last figures line (the rates and times there vary, and are left
# out).  Sets output to that outcome.
same_at_every_cut() {
	local size at status
	size=$(stat -c %s "$T/rec")
	mkdir "$T/runs"
	status=0
	"$TUNPIPE" -N -s 1 "$@" <"$T/rec" >/dev/null 2>"$T/runs/whole" ||
	    status=$?
	echo "status $status" >>"$T/runs/whole"
	for ((at = 1; at < size; at++)); do
		status=0
		"$SPLITTER" "$at" <"$T/rec" | "$TUNPIPE" -N -s 1 "$@" \
		    >/dev/null 2>"$T/runs/$at" || status=$?
		echo "status $status" >>"$T/runs/$at"
	done
	if ! output=$(awk '
	    function outcome() {
		run = said last
		if (cut == "whole")
			whole = run
		else if (run != whole && differ++ == 0)
			printf "cut at byte %s:\n%sone read of the whole:\n%s",
			    cut, run, whole
		said = last = ""
	    }
	    FNR == 1 { if (NR > 1) outcome(); cut = FILENAME; sub(/.*\//, "", cut) }
	    /: t=[0-9.]+ / {
		gsub(/ (t|[a-z]+_[bp]ps|peer_idle)=[0-9.]+/, "")
		last = $0 "\n"
		next
	    }
	    { said = said $0 "\n" }
	    END {
		outcome()
		if (differ)
			printf "...and %d cuts in all that differ\n", differ
		else
			printf "%s", whole
		exit differ > 0
	    }
	    ' "$T/runs/whole" "$T/runs/"[0-9]*); then
		echo "$output"
		return 1
	fi
	echo "$output"
}

@test "one frame whose IP header gives another length, among packets: dropped, and the stream goes on, wherever a read ends" {
	# Cut 10 bytes into that frame (at byte 442), this once ended the
	# stream, as if its place were lost.
	record $(repeat 5 "$PING") "$BAD" $(repeat 5 "$PING")
	same_at_every_cut
	[[ "$output" == *"dropped a 100-byte frame whose IP header gives another length"* ]]
	[[ "$output" == *"status 0"* ]]
	[[ "$output" == *" in_packets=10 in_bytes=840 drops=1 "*" drop_not_ip=1" ]]
}

@test "-f len32: one frame whose IP header gives another length, among packets: dropped, and the stream goes on, wherever a read ends" {
	record -f len32 $(repeat 5 "$IPV4_PACKET") "$BAD" $(repeat 5 "$IPV4_PACKET")
	same_at_every_cut -f len32
	[[ "$output" == *"dropped a 100-byte frame whose IP header gives another length"* ]]
	[[ "$output" == *"status 0"* ]]
	[[ "$output" == *" in_packets=10 in_bytes=280 drops=1 "*" drop_not_ip=1" ]]
}

@test "8 frames in a row whose IP headers give another length end the stream at the 8th (status 4), wherever a read ends" {
	record $(repeat 5 "$IPV4_PACKET") $(repeat 8 "$BAD") $(repeat 5 "$IPV4_PACKET")
	same_at_every_cut
	[[ "$output" == *"stream error: 8 frames in a row were no packets after 5 good frames, by byte 864 of the stream"* ]]
	[[ "$output" == *"status 4"* ]]
	[[ "$output" == *" in_packets=5 in_bytes=140 drops=8 "*" drop_not_ip=8" ]]
}

@test "frames of other kinds among packets: an Ethernet frame, IPv6 of another length and a short one dropped, a virtio-net header the end, wherever a read ends" {
	local arp ipv6 vnet
	arp=ffffffffffff020000000001080600010800060400010200000000010a4d0002$(
	    )0000000000000a4d0001
	ipv6=6000000000140000fd770000000000000000000000000002$(
	    )fd770000000000000000000000000001$(printf '00%.0s' $(seq 40))
	vnet=00000000000000000000$IPV4_PACKET
	record $(repeat 5 "$IPV4_PACKET") "$arp" "$ipv6" 68656c6c6f \
	    $(repeat 2 "$IPV4_PACKET") "$vnet" $(repeat 2 "$IPV4_PACKET")
	same_at_every_cut
	[[ "$output" == *"dropped a 42-byte frame that is not an IPv4 or IPv6 packet (first byte 0xff)"* ]]
	[[ "$output" == *"stream error: a 38-byte frame holds a virtio-net header before its IP packet; the peer runs with -O"* ]]
	[[ "$output" == *"status 4"* ]]
	[[ "$output" == *" in_packets=7 in_bytes=196 drops=3 "*" drop_not_ip=3" ]]
}

@test "-O: a frame whose packet's IP header gives another length dropped, and one with no virtio-net header the end, wherever a read ends" {
	local vnet=00000000000000000000
	record -f len32 $(repeat 3 "$vnet$IPV4_PACKET") "$vnet$BAD" \
	    $(repeat 3 "$vnet$IPV4_PACKET") "80000000000000000000$IPV4_PACKET" \
	    "$vnet$IPV4_PACKET"
	same_at_every_cut -O
	[[ "$output" == *"dropped a 100-byte frame whose IP header gives another length"* ]]
	[[ "$output" == *"stream error: a 38-byte frame does not start with a virtio-net header"* ]]
	[[ "$output" == *"status 4"* ]]
	[[ "$output" == *" in_packets=6 in_bytes=168 drops=1 "*" drop_not_ip=1" ]]
}

@test "a len32 stream read with -f len16: each packet right after an empty frame, and the 8th ends the stream (status 4), wherever a read ends" {
	record -f len32 $(repeat 8 "$IPV4_PACKET")
	same_at_every_cut
	[[ "$output" == *"stream error: 8 frames in a row held packets each right after an empty frame, as a -f len32 stream (or one of -O) reads with -f len16"* ]]
	[[ "$output" == *"status 4"* ]]
	[[ "$output" == *" in_packets=7 in_bytes=196 drops=0 "* ]]
}
