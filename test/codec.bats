#!/usr/bin/env bats
#
# codec.bats: the framing codec (framing.c) through test/framing-driver: len16
# first, then len32 and SLIP (-f).  Needs no privilege and no device: build
# the driver with `make test/framing-driver`, then run `bats test/codec.bats`.
#
# Every expected output below is worked out by hand from the stream formats
# in framing.h (a 2- or 4-byte big-endian length, then the packet; or RFC
# 1055's END, escaped packet, END), never taken from the codec itself.  Only
# the round trips compare the codec with itself.

load helpers

setup_file() {
	export DRIVER="$DRIVERS/framing-driver"
}

setup() {
	need_driver || return 1
	STREAM="$BATS_TEST_TMPDIR/stream"
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

@test "a decoder that framing_decoder_init() never readied decodes nothing, not even as len16, the zero type" {
	local hex
	# len16's mixed stream and keepalives, len32's empty frame and a
	# packet, SLIP's END, packet, END.
	for hex in "$MIXED_HEX" "0000 0000 0000" "00000000 00000001 45" \
	    "c0 45 c0"; do
		unhex "$hex" >"$STREAM"
		run "$DRIVER" decode -Z <"$STREAM"
		expect 1 "error: a decoder never readied"
		run "$DRIVER" decode -Z -c 1 <"$STREAM"
		expect 1 "error: a decoder never readied"
	done
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

# --- len32 and SLIP -------------------------------------------------------

# Decodes $STREAM with the driver options "$@" cut at every offset in turn,
# then byte by byte: each time the output must be $WANT.
decodes_anyhow() {
	local len i out

	len=$(stat -c %s "$STREAM")
	for ((i = 0; i <= len; i++)); do
		out=$("$DRIVER" decode "$@" -s "$i" <"$STREAM") ||
		    fail "$* split at byte $i: exit status $?"
		[[ $out == "$WANT" ]] || fail "$* split at byte $i gave:" "$out"
	done
	run "$DRIVER" decode "$@" -c 1 <"$STREAM"
	expect 0 "$WANT"
}

# plain_hex N: bytes 00 to bf in turn, so no END or ESC: a packet that SLIP
# sends as it is.
plain_hex() { cycle_hex "$1" 192; }

# A 60-byte Ethernet frame, the shortest there is without its FCS: an ARP
# request from 52:54:00:12:34:56 (10.0.0.1) for 10.0.0.2, padded.
ETH60=ffffffffffff525400123456 # to broadcast, from 52:54:00:12:34:56
ETH60+=0806                    # ARP
ETH60+=0001080006040001        # Ethernet, IPv4, 6, 4, request
ETH60+=5254001234560a000001    # sender
ETH60+=0000000000000a000002    # target
ETH60+=000000000000000000000000000000000000 # 18 bytes of padding

# P300 as SLIP sends it: its byte 192 (c0) becomes db dc and its byte 219
# (db) becomes db dd; bytes 256 to 299 are 00 to 2b again.
P300_SLIP=${P300:0:384}dbdc${P300:386:52}dbdd${P300:440}

@test "len32: encode puts a 4-byte big-endian length before each packet, as QEMU's -netdev stream does" {
	printf '%s\n' "$ETH60" | "$DRIVER" encode -f len32 >"$STREAM"
	run hexof "$STREAM"
	expect 0 "0000003c$ETH60"

	# 300 = 0x12c; an empty line is an empty frame, a keepalive.
	{ seq_hex 300; printf '\n\n01\n'; } |
	    "$DRIVER" encode -f len32 >"$STREAM"
	run hexof "$STREAM"
	expect 0 "0000012c$(seq_hex 300)000000000000000101"

	# The largest packet, 65664 = 0x10080 bytes: 64 KiB and 128.
	seq_hex 65664 | "$DRIVER" encode -f len32 >"$STREAM"
	run hexof "$STREAM"
	expect 0 "00010080$(seq_hex 65664)"
}

@test "len32: a stream decodes to the same packets wherever one read splits it, and byte by byte" {
	unhex 00000001 45 0000003c "$ETH60" 00000000 0000012c "$P300" \
	    00000004 000a00ff >"$STREAM"
	[[ $(stat -c %s "$STREAM") -eq 385 ]]
	WANT="45
$ETH60
$P300
000a00ff
end: whole, keepalives 1"
	decodes_anyhow -f len32
	run "$DRIVER" decode -f len32 -c 7 <"$STREAM"
	expect 0 "$WANT"
}

@test "len32: a 65664-byte packet decodes with max 65664; 65665 bytes is too big" {
	local p
	p=$(seq_hex 65664)
	unhex 00010080 "$p" >"$STREAM"
	run "$DRIVER" decode -f len32 -m 65664 <"$STREAM"
	expect 0 "$p
end: whole, keepalives 0"
	run "$DRIVER" decode -f len32 -m 65664 -s 2,40000 <"$STREAM"
	expect 0 "$p
end: whole, keepalives 0"
	run "$DRIVER" decode -f len32 -m 65664 -c 1 <"$STREAM"
	expect 0 "$p
end: whole, keepalives 0"

	unhex 00010081 "$p" 00 >"$STREAM"
	run "$DRIVER" decode -f len32 -m 65664 <"$STREAM"
	expect 1 "error: too big, 65665 bytes over max 65664"
}

@test "len32: a length over the max is too big, up to ff ff ff ff; the packets before it come out" {
	# 0x5dd = 1501, one over the default max of 1500.
	unhex 00000002 aabb 000005dd "$(seq_hex 1501)" 00000001 cc >"$STREAM"
	run "$DRIVER" decode -f len32 <"$STREAM"
	expect 1 "aabb
error: too big, 1501 bytes over max 1500"
	run "$DRIVER" decode -f len32 -c 1 <"$STREAM"
	expect 1 "aabb
error: too big, 1501 bytes over max 1500"

	unhex 00000001 dd ffffffff 00 >"$STREAM"
	run "$DRIVER" decode -f len32 -s 6 <"$STREAM"
	expect 1 "dd
error: too big, 4294967295 bytes over max 1500"

	# A len16 stream read as len32: 0001 45 00... reads as 0x00014500.
	unhex 0001 45 0002 aabb >"$STREAM"
	run "$DRIVER" decode -f len32 <"$STREAM"
	expect 1 "error: too big, 83200 bytes over max 1500"
}

@test "len32: input ending inside a header or a packet says where" {
	unhex 00000001 aa 000000 >"$STREAM"
	run "$DRIVER" decode -f len32 -c 1 <"$STREAM"
	expect 0 "aa
end: cut in header, 3 of 4 bytes"
	unhex 0000000a 0102 >"$STREAM"
	run "$DRIVER" decode -f len32 <"$STREAM"
	expect 0 "end: cut in packet, 2 of 10 bytes"
	unhex 00000000 00000000 >"$STREAM"
	run "$DRIVER" decode -f len32 -c 3 <"$STREAM"
	expect 0 "end: whole, keepalives 2"
}

@test "the driver's -m goes up to the framing's largest packet: 65535, or 65664 for len32" {
	: >"$STREAM"
	run "$DRIVER" decode -f len16 -m 65536 <"$STREAM"
	[[ $status -eq 2 && $output == *"more than 65535"* ]]
	run "$DRIVER" decode -f slip -m 65536 <"$STREAM"
	[[ $status -eq 2 && $output == *"more than 65535"* ]]
	run "$DRIVER" decode -f len32 -m 65665 <"$STREAM"
	[[ $status -eq 2 && $output == *"more than 65664"* ]]
	run "$DRIVER" decode -m 65664 -f len32 <"$STREAM"
	expect 0 "end: whole, keepalives 0"
	run "$DRIVER" decode -f len64 <"$STREAM"
	[[ $status -eq 2 ]]
	run "$DRIVER" encode -f len64 <"$STREAM"
	[[ $status -eq 2 ]]
	# A packet over the framing's largest cannot be encoded either.
	run "$DRIVER" encode -f slip < <(seq_hex 65536)
	[[ $status -eq 1 && $output == *"over 65535"* ]]
}

@test "slip: encode sends END, the packet with END and ESC escaped, and END (RFC 1055)" {
	# c0 (END) becomes db dc, db (ESC) db dd; dc and dd alone stay.
	printf '01c002db03\n' | "$DRIVER" encode -f slip >"$STREAM"
	run hexof "$STREAM"
	expect 0 c001dbdc02dbdd03c0

	# An empty packet (a keepalive) is three ENDs; db dc in a packet is
	# ESC then dc.
	printf '%s\n' c0 db dcdd "" dbdc 45 |
	    "$DRIVER" encode -f slip >"$STREAM"
	run hexof "$STREAM"
	expect 0 c0dbdcc0c0dbddc0c0dcddc0c0c0c0c0dbdddcc0c045c0

	printf '%s\n' "$P300" | "$DRIVER" encode -f slip >"$STREAM"
	run hexof "$STREAM"
	expect 0 "c0${P300_SLIP}c0"

	# The longest frame: 65535 ENDs, each escaped, in 2 + 2 * 65535 bytes.
	local ends escaped
	printf -v ends 'c0%.0s' {1..65535}
	printf -v escaped 'dbdc%.0s' {1..65535}
	printf '%s\n' "$ends" | "$DRIVER" encode -f slip >"$STREAM"
	[[ $(stat -c %s "$STREAM") -eq 131072 ]]
	run hexof "$STREAM"
	expect 0 "c0${escaped}c0"
}

@test "slip: a stream decodes to the same packets wherever one read splits it, and byte by byte" {
	unhex c0 45 c0 c0 "$P20" c0 c0 01dbdc02dbdd03 c0 c0 dcdd c0 \
	    c0 "$P300_SLIP" c0 c0 dbdddbdc c0 >"$STREAM"
	WANT="45
$P20
01c002db03
dcdd
$P300
dbc0
end: whole, keepalives 0"
	decodes_anyhow -f slip
	run "$DRIVER" decode -f slip -c 5 <"$STREAM"
	expect 0 "$WANT"
}

@test "slip: ENDs alone make no packet, wherever they are" {
	unhex c0 c0 aa c0 c0 bb c0 c0 >"$STREAM"
	run "$DRIVER" decode -f slip -c 1 <"$STREAM"
	expect 0 "aa
bb
end: whole, keepalives 0"
	: >"$STREAM"
	run "$DRIVER" decode -f slip <"$STREAM"
	expect 0 "end: whole, keepalives 0"
}

@test "slip: every third END in a row is a keepalive, which the gap between packets never makes" {
	# A keepalive alone; one between packets (with the packets' own two
	# ENDs, five in a row); two between packets (eight in a row); the
	# usual gap of two ENDs counts nothing.
	unhex c0 c0 c0 >"$STREAM"
	run "$DRIVER" decode -f slip <"$STREAM"
	expect 0 "end: whole, keepalives 1"
	unhex c0 aa c0 c0c0c0 c0 bb c0 c0c0c0 c0c0c0 c0 cc c0 c0 dd c0 >"$STREAM"
	WANT="aa
bb
cc
dd
end: whole, keepalives 3"
	decodes_anyhow -f slip
	# What the encoder makes of keepalives and packets decodes back.
	printf '%s\n' "" aa "" "" bb "" | "$DRIVER" encode -f slip >"$STREAM"
	WANT="aa
bb
end: whole, keepalives 4"
	decodes_anyhow -f slip
}

@test "slip: a bad escape drops only its packet; decoding goes on at the next END" {
	# db 01: ESC then neither dc nor dd, after 2 good bytes; dd up to the
	# END is skipped with it.
	unhex c0 aa c0 c0 bbcc db01 dd c0 c0 ee c0 >"$STREAM"
	WANT="aa
dropped: damaged after 2 bytes
ee
end: whole, keepalives 0"
	decodes_anyhow -f slip

	# ESC ESC is no escape either, even as a packet's first bytes.
	unhex c0 dbdb c0 c0 ff c0 >"$STREAM"
	run "$DRIVER" decode -f slip <"$STREAM"
	expect 0 "dropped: damaged after 0 bytes
ff
end: whole, keepalives 0"
}

@test "slip: ESC END drops its packet, but the END still ends it: the next packet gets through" {
	# The packet after it has no END of its own before it.
	unhex c0 aa c0 c0 bbcc db c0 dd c0 >"$STREAM"
	WANT="aa
dropped: damaged after 2 bytes
dd
end: whole, keepalives 0"
	decodes_anyhow -f slip
}

@test "slip: an over-long packet is dropped, and the next one gets through" {
	unhex c0 01020304 c0 c0 0102030405 c0 c0 0a0b c0 >"$STREAM"
	WANT="01020304
dropped: overlong
0a0b
end: whole, keepalives 0"
	decodes_anyhow -f slip -m 4

	# An escaped byte counts as one byte; a bad escape after the max does
	# not drop the packet twice.
	unhex c0 dbdcdbdd c0 c0 dbdcdbdddbdc c0 c0 010203db01 c0 c0 ee c0 \
	    >"$STREAM"
	run "$DRIVER" decode -f slip -m 2 <"$STREAM"
	expect 0 "c0db
dropped: overlong
dropped: overlong
ee
end: whole, keepalives 0"

	unhex c0 01 c0 >"$STREAM"
	run "$DRIVER" decode -f slip -m 0 <"$STREAM"
	expect 0 "dropped: overlong
end: whole, keepalives 0"
}

@test "slip: a 65535-byte packet decodes with max 65535; 65536 bytes is overlong" {
	local p
	p=$(plain_hex 65535)
	unhex c0 "$p" c0 >"$STREAM"
	run "$DRIVER" decode -f slip -m 65535 <"$STREAM"
	expect 0 "$p
end: whole, keepalives 0"
	run "$DRIVER" decode -f slip -m 65535 -s 1,30000 <"$STREAM"
	expect 0 "$p
end: whole, keepalives 0"
	run "$DRIVER" decode -f slip -m 65535 -c 1 <"$STREAM"
	expect 0 "$p
end: whole, keepalives 0"

	unhex c0 "$p" 00 c0 c0 aa c0 >"$STREAM"
	run "$DRIVER" decode -f slip -m 65535 <"$STREAM"
	expect 0 "dropped: overlong
aa
end: whole, keepalives 0"
}

# Writes to $STREAM the 20 SLIP frames of the damage tests, END, packet i,
# END, where packet i is the 3 bytes i, 0x40 + i, i, except for the frames
# given as "i=hex" arguments; sets PKT[i] to packet i.
damaged_stream() {
	local -a frame
	local i arg

	PKT=()
	for ((i = 1; i <= 20; i++)); do
		printf -v 'PKT[i]' '%02x%02x%02x' "$i" $((0x40 + i)) "$i"
		frame[i]="c0${PKT[i]}c0"
	done
	for arg; do
		frame[${arg%%=*}]=${arg#*=}
	done
	unhex "${frame[@]}" >"$STREAM"
}

# Prints packets $1 to $2 of the damage tests, one a line.
packets() {
	local i

	for ((i = $1; i <= $2; i++)); do
		printf '%s\n' "${PKT[i]}"
	done
}

@test "slip: bytes flipped to END or ESC inside packets 5 and 12 of 20 lose only those packets" {
	# Packet 5's 45 flipped to END cuts it in two packets of one byte;
	# packet 12's 4c flipped to ESC makes the bad escape db 0c.
	damaged_stream 5="c0 05 c0 05 c0" 12="c0 0c db 0c c0"
	WANT="$(packets 1 4)
05
05
$(packets 6 11)
dropped: damaged after 1 bytes
$(packets 13 20)
end: whole, keepalives 0"
	decodes_anyhow -f slip

	# Packet 5's last byte flipped to ESC makes ESC END; packet 12's
	# first END flipped to ESC makes the bad escape db 0c.
	damaged_stream 5="c0 0545 db c0" 12="db 0c4c0c c0"
	run "$DRIVER" decode -f slip <"$STREAM"
	expect 0 "$(packets 1 4)
dropped: damaged after 2 bytes
$(packets 6 11)
dropped: damaged after 0 bytes
$(packets 13 20)
end: whole, keepalives 0"
	run "$DRIVER" decode -f slip -c 1 <"$STREAM"
	expect 0 "$(packets 1 4)
dropped: damaged after 2 bytes
$(packets 6 11)
dropped: damaged after 0 bytes
$(packets 13 20)
end: whole, keepalives 0"
}

@test "slip: bytes deleted from a stream of 20 packets touch only the packets they were in" {
	# Packet 5's last END deleted costs nothing: packet 6's first END ends
	# it.  Both ENDs between packets 12 and 13 deleted make one packet of
	# the two.  Packet 16's middle byte deleted comes out short: SLIP has
	# no checksum.
	damaged_stream 5="c0 054505" 12="c0 0c4c0c" 13="0d4d0d c0" \
	    16="c0 1010 c0"
	WANT="$(packets 1 11)
0c4c0c0d4d0d
$(packets 14 15)
1010
$(packets 17 20)
end: whole, keepalives 0"
	run "$DRIVER" decode -f slip <"$STREAM"
	expect 0 "$WANT"
	run "$DRIVER" decode -f slip -c 1 <"$STREAM"
	expect 0 "$WANT"
	run "$DRIVER" decode -f slip -c 4 <"$STREAM"
	expect 0 "$WANT"
}

@test "slip: noise before the first END stays apart from the first packet" {
	# RFC 1055's leading END ends the noise: here "login:" comes out as a
	# packet of its own (tunpipe drops it as not IP), and 45 after it.
	unhex 6c6f67696e3a c0 45 c0 >"$STREAM"
	run "$DRIVER" decode -f slip -c 1 <"$STREAM"
	expect 0 "6c6f67696e3a
45
end: whole, keepalives 0"

	# Noise with a bad escape in it, or ending in ESC, is dropped.
	unhex 11 db22 33 c0 aa c0 >"$STREAM"
	run "$DRIVER" decode -f slip <"$STREAM"
	expect 0 "dropped: damaged after 1 bytes
aa
end: whole, keepalives 0"
	unhex 11 db c0 aa c0 >"$STREAM"
	run "$DRIVER" decode -f slip <"$STREAM"
	expect 0 "dropped: damaged after 1 bytes
aa
end: whole, keepalives 0"
}

@test "slip: input ending inside a packet reports the bytes that arrived" {
	unhex c0 aa c0 c0 bbcc >"$STREAM"
	run "$DRIVER" decode -f slip <"$STREAM"
	expect 0 "aa
end: cut in packet, 2 bytes"
	# After an ESC, the escaped byte has not arrived yet.
	unhex c0 bb db >"$STREAM"
	run "$DRIVER" decode -f slip -c 1 <"$STREAM"
	expect 0 "end: cut in packet, 1 bytes"
	# While skipping a dropped packet, up to the next END.
	unhex c0 bb db01 cc >"$STREAM"
	run "$DRIVER" decode -f slip <"$STREAM"
	expect 0 "dropped: damaged after 1 bytes
end: cut in packet, 0 bytes"
}

# Prints 60 packets of hex, one a line, chosen at random from the seed
# $CODEC_SEED (default 1055): random bytes, bytes drawn from c0 db dc dd
# only, a mix of both, only c0 and db, empty packets, and some of 1500
# bytes.  In awk: a loop in bats's shell, which traces every command, would
# take seconds.
random_packets() {
	awk -v seed="${CODEC_SEED:-1055}" 'BEGIN {
		srand(seed)
		split("c0 db dc dd", special, " ")
		for (i = 0; i < 60; i++) {
			n = i % 10 == 9 ? 1500 : int(rand() * 200)
			kind = i % 5
			line = ""
			for (j = 0; kind != 3 && j < n; j++) {
				if (kind == 1 || (kind == 2 && rand() < 0.5))
					line = line special[1 + int(rand() * 4)]
				else if (kind == 4)
					line = line special[1 + int(rand() * 2)]
				else
					line = line sprintf("%02x",
					    int(rand() * 256))
			}
			print line
		}
	}'
}

# Encodes random_packets with framing $1, then decodes them whole, byte by
# byte and in chunks of 13 bytes: the same packets must come out, empty ones
# as keepalives.
round_trip() {
	local framing=$1 packets want empty

	packets=$(random_packets)
	empty=$(grep -c '^$' <<<"$packets")
	[[ $empty -gt 0 ]]
	want=$(grep -v '^$' <<<"$packets")
	want+=$'\n'"end: whole, keepalives $empty"
	"$DRIVER" encode -f "$framing" <<<"$packets" >"$STREAM"
	run "$DRIVER" decode -f "$framing" <"$STREAM"
	expect 0 "$want"
	run "$DRIVER" decode -f "$framing" -c 1 <"$STREAM"
	expect 0 "$want"
	run "$DRIVER" decode -f "$framing" -c 13 <"$STREAM"
	expect 0 "$want"
}

@test "len16: random packets, some full of c0 and db, encode then decode to themselves" {
	round_trip len16
}

@test "len32: random packets, some full of c0 and db, encode then decode to themselves" {
	round_trip len32
}

@test "slip: random packets, some full of c0 and db, encode then decode to themselves" {
	round_trip slip
}
