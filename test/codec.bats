#!/usr/bin/env bats
#
# codec.bats: the len16 framing codec (framing.c) through test/framing-driver.
# Needs no privilege and no device: build the driver with
# `make test/framing-driver`, then run `bats test/codec.bats`.
#
# Every expected output below is worked out by hand from the stream format in
# framing.h (a 2-byte big-endian length, then the packet), never taken from
# the codec itself.

setup_file() {
	export DRIVER="$BATS_TEST_DIRNAME/framing-driver"
}

# A missing driver is a failure, not a skip: a skipped codec suite would look
# like a passing one.
setup() {
	if [[ ! -x $DRIVER ]]; then
		echo "$DRIVER is missing: run 'make test/framing-driver'" >&2
		return 1
	fi
	STREAM="$BATS_TEST_TMPDIR/stream"
}

# Writes to stdout the bytes spelled by the hex digits in $*; spaces, which
# only show where frames start, are dropped.  Binary data cannot live in a
# shell variable (no NUL bytes), so streams go through files and are only
# ever spelled in hex here.
unhex() {
	local hex="$*"

	printf '%b' "$(printf '%s' "${hex// /}" | sed 's/../\\x&/g')"
}

# Prints the bytes of file $1 as one run of lowercase hex.  -v: od would
# otherwise fold repeated lines into a '*'.
hexof() {
	od -An -v -tx1 "$1" | tr -d ' \n'
}

# Prints the hex of an n-byte packet whose byte i is i mod 256, so that a
# byte lost, doubled or moved anywhere changes it.
seq_hex() {
	local n=$1 block='' all='' i

	for ((i = 0; i < 256; i++)); do
		printf -v block '%s%02x' "$block" "$i"
	done
	for ((i = 0; i < n; i += 256)); do
		all+=$block
	done
	printf '%s' "${all:0:2*n}"
}

# Fails the test with a message, for checks inside loops.
fail() {
	printf '%s\n' "$@" >&2
	return 1
}

# Compares $output and $status (from `run`) with what is expected.
expect() {
	local want_status=$1 want_output=$2

	if [[ $status -ne $want_status || $output != "$want_output" ]]; then
		fail "expected status $want_status and output:" "$want_output" \
		    "got status $status and output:" "$output"
	fi
}

# A stream of several frames of different sizes: a 1-byte packet, a 20-byte
# IPv4 header, a keepalive, a 300-byte packet (length 0x012c) that holds
# every byte value including 00 and 0a, and a 4-byte packet.  335 bytes.
P20=4500001400000000400100007f0000017f000001
P300=$(seq_hex 300)
MIXED_HEX="0001 45 0014 $P20 0000 012c $P300 0004 000a00ff"
MIXED_OUT="45
$P20
$P300
000a00ff
end: whole, keepalives 1"
MIXED_LEN=335

@test "a stream decodes to the same packets wherever one read splits it" {
	local i out
	unhex "$MIXED_HEX" >"$STREAM"
	[[ $(stat -c %s "$STREAM") -eq $MIXED_LEN ]]
	for ((i = 0; i <= MIXED_LEN; i++)); do
		out=$("$DRIVER" decode -s "$i" <"$STREAM") ||
		    fail "split at byte $i: exit status $?"
		[[ $out == "$MIXED_OUT" ]] ||
		    fail "split at byte $i gave:" "$out"
	done
}

@test "a stream fed one byte at a time decodes to the same packets" {
	unhex "$MIXED_HEX" >"$STREAM"
	run "$DRIVER" decode -c 1 <"$STREAM"
	expect 0 "$MIXED_OUT"
}

@test "a stream read in chunks of any fixed size decodes to the same packets" {
	local size out
	unhex "$MIXED_HEX" >"$STREAM"
	for ((size = 1; size <= MIXED_LEN + 1; size++)); do
		out=$("$DRIVER" decode -c "$size" <"$STREAM") ||
		    fail "chunks of $size bytes: exit status $?"
		[[ $out == "$MIXED_OUT" ]] ||
		    fail "chunks of $size bytes gave:" "$out"
	done
}

@test "reads of zero bytes between reads change nothing" {
	unhex "$MIXED_HEX" >"$STREAM"
	run "$DRIVER" decode -s 0,0,1,1,3,3,27,200,200,$MIXED_LEN,$MIXED_LEN \
	    <"$STREAM"
	expect 0 "$MIXED_OUT"
}

@test "frames coalesced in one read all come out, in order" {
	unhex 0001 01 0002 0202 0003 030303 0004 04040404 \
	    0005 0505050505 0001 ff >"$STREAM"
	run "$DRIVER" decode <"$STREAM"
	expect 0 "01
0202
030303
04040404
0505050505
ff
end: whole, keepalives 0"
}

@test "an empty stream decodes to nothing" {
	: >"$STREAM"
	run "$DRIVER" decode <"$STREAM"
	expect 0 "end: whole, keepalives 0"
}

@test "empty frames are skipped and counted as keepalives, wherever they are" {
	unhex 0000 0000 0001 aa 0000 0002 bbcc 0000 0000 >"$STREAM"
	run "$DRIVER" decode <"$STREAM"
	expect 0 "aa
bbcc
end: whole, keepalives 5"
	run "$DRIVER" decode -c 1 <"$STREAM"
	expect 0 "aa
bbcc
end: whole, keepalives 5"
}

@test "a stream of only keepalives prints no packet" {
	unhex 0000 0000 0000 >"$STREAM"
	run "$DRIVER" decode -c 1 <"$STREAM"
	expect 0 "end: whole, keepalives 3"
}

@test "a packet of exactly the maximum, 1500 bytes, decodes whole or split" {
	local p
	p=$(seq_hex 1500)
	unhex 05dc "$p" >"$STREAM"
	run "$DRIVER" decode <"$STREAM"
	expect 0 "$p
end: whole, keepalives 0"
	run "$DRIVER" decode -m 1500 -s 700 <"$STREAM"
	expect 0 "$p
end: whole, keepalives 0"
	run "$DRIVER" decode -m 1500 -c 1 <"$STREAM"
	expect 0 "$p
end: whole, keepalives 0"
}

@test "a 65535-byte packet decodes with max 65535, whole or split" {
	local p
	p=$(seq_hex 65535)
	unhex ffff "$p" >"$STREAM"
	run "$DRIVER" decode -m 65535 <"$STREAM"
	expect 0 "$p
end: whole, keepalives 0"
	run "$DRIVER" decode -m 65535 -s 1,30000 <"$STREAM"
	expect 0 "$p
end: whole, keepalives 0"
	run "$DRIVER" decode -m 65535 -c 1 <"$STREAM"
	expect 0 "$p
end: whole, keepalives 0"
}

@test "a frame 1 byte over the max is too big; the packets before it come out" {
	# 0x05dd = 1501, one over the default max of 1500; the frame after it
	# must not come out either, since the stream is lost past that point.
	unhex 0002 aabb 05dd "$(seq_hex 1501)" 0001 cc >"$STREAM"
	run "$DRIVER" decode <"$STREAM"
	expect 1 "aabb
error: too big, 1501 bytes over max 1500"
	run "$DRIVER" decode -m 1500 -c 1 <"$STREAM"
	expect 1 "aabb
error: too big, 1501 bytes over max 1500"
	run "$DRIVER" decode -m 1500 -s 5 <"$STREAM"
	expect 1 "aabb
error: too big, 1501 bytes over max 1500"
}

@test "a frame is too big once its header says so, before its packet arrives" {
	unhex 0001 aa 05dd >"$STREAM"
	run "$DRIVER" decode -m 1500 <"$STREAM"
	expect 1 "aa
error: too big, 1501 bytes over max 1500"
}

@test "a lower maximum applies: 101 bytes over max 100, 65535 over max 1500" {
	unhex 0065 "$(seq_hex 101)" >"$STREAM"
	run "$DRIVER" decode -m 100 <"$STREAM"
	expect 1 "error: too big, 101 bytes over max 100"
	unhex ffff "$(seq_hex 65535)" >"$STREAM"
	run "$DRIVER" decode <"$STREAM"
	expect 1 "error: too big, 65535 bytes over max 1500"
}

@test "input ending inside a header reports 1 of 2 header bytes" {
	unhex 0001 aa 00 >"$STREAM"
	run "$DRIVER" decode <"$STREAM"
	expect 0 "aa
end: cut in header, 1 of 2 bytes"
	run "$DRIVER" decode -c 1 <"$STREAM"
	expect 0 "aa
end: cut in header, 1 of 2 bytes"
	unhex 05 >"$STREAM"
	run "$DRIVER" decode <"$STREAM"
	expect 0 "end: cut in header, 1 of 2 bytes"
}

@test "input ending inside a packet reports the bytes that arrived, 3 of 10" {
	unhex 0002 bbcc 000a 010203 >"$STREAM"
	run "$DRIVER" decode <"$STREAM"
	expect 0 "bbcc
end: cut in packet, 3 of 10 bytes"
	run "$DRIVER" decode -c 1 <"$STREAM"
	expect 0 "bbcc
end: cut in packet, 3 of 10 bytes"
	run "$DRIVER" decode -s 6 <"$STREAM"
	expect 0 "bbcc
end: cut in packet, 3 of 10 bytes"
	run "$DRIVER" decode -s 7 <"$STREAM"
	expect 0 "bbcc
end: cut in packet, 3 of 10 bytes"
}

@test "input ending right after a header reports 0 of its packet's bytes" {
	unhex 000a >"$STREAM"
	run "$DRIVER" decode <"$STREAM"
	expect 0 "end: cut in packet, 0 of 10 bytes"
}

@test "encode puts a 2-byte big-endian length before each packet" {
	printf 'aabbcc\n' | "$DRIVER" encode >"$STREAM"
	run hexof "$STREAM"
	expect 0 0003aabbcc

	# 258 = 0x0102; an empty line is an empty frame, a keepalive.
	{ seq_hex 258; printf '\n\n01\n'; } | "$DRIVER" encode >"$STREAM"
	run hexof "$STREAM"
	expect 0 "0102$(seq_hex 258)0000000101"

	seq_hex 65535 | "$DRIVER" encode >"$STREAM"
	run hexof "$STREAM"
	expect 0 "ffff$(seq_hex 65535)"
}

@test "encode then decode gives back the same packets" {
	local p1500
	p1500=$(seq_hex 1500)
	printf '%s\n' 45 "" "$P20" "$P300" 00 "$p1500" "" |
	    "$DRIVER" encode >"$STREAM"
	run "$DRIVER" decode <"$STREAM"
	expect 0 "45
$P20
$P300
00
$p1500
end: whole, keepalives 2"
	run "$DRIVER" decode -c 7 <"$STREAM"
	expect 0 "45
$P20
$P300
00
$p1500
end: whole, keepalives 2"
}
