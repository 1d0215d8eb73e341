#!/usr/bin/env bats
#
# cross.bats: another architecture's build of tunpipe (make cross) against
# this machine's: each fuzzer's corpus through that architecture's build of
# its harness, and recorded streams read by its tunpipe -N, whose output
# must be this machine's tunpipe's to the byte.  Run by make check-cross,
# once for each architecture, which sets
#
#	CROSS_ARCH	the Debian architecture (armhf, s390x, ...)
#	TEST_DRIVERS	cross/ARCH/run: for each program of cross/ARCH/, a
#			script that runs it (under qemu-user but where this
#			machine runs it itself)
#
# The recordings are made here with this machine's framing-driver, each
# packet built by hand; this machine's tunpipe says what each must give.
# Both run with -S: qemu-user cannot install a seccomp filter (the filter
# of each architecture is tried on its own kernel, in a QEMU guest).

load ../helpers

setup_file() {
	: "${CROSS_ARCH:?set by make check-cross}" "${TEST_DRIVERS:?}"
	export NATIVE="$BATS_TEST_DIRNAME/../../tunpipe"
	export ENCODE="$BATS_TEST_DIRNAME/../framing-driver"
	export BLOCKS="$BATS_TEST_DIRNAME/../pcapng-driver"
}

setup() {
	T=$BATS_TEST_TMPDIR
	local program
	for program in "$NATIVE" "$ENCODE" "$BLOCKS" \
	    "$TEST_DRIVERS/tunpipe" "$TEST_DRIVERS/tunpipe-static"; do
		[[ -x $program ]] || fail "$program is missing: run 'make check-cross'"
	done
}

# ---- the fuzzers' corpora ----

# replay TARGET: every file of test/fuzz-corpus/TARGET through CROSS_ARCH's
# build of the harness: each goes through without a broken promise (which
# aborts), and each is seen.
replay() {
	local corpus=$BATS_TEST_DIRNAME/../fuzz-corpus/$1 files
	files=("$corpus"/*)
	[[ -f ${files[0]} ]] || fail "$corpus: no seeds"
	run "$TEST_DRIVERS/fuzz-$1" "${files[@]}"
	printf '%s\n' "$output"
	[ "$status" = 0 ]
	[ "${#lines[@]}" = "${#files[@]}" ]
}

@test "the framing fuzzers' corpora go through this architecture's harness, no promise broken" {
	replay len16
	replay len32
	replay slip
}

@test "the offload fuzzer's corpus goes through this architecture's harness, no promise broken" {
	replay offload
}

@test "the capture, judge and figures fuzzers' corpora go through this architecture's harnesses, no promise broken" {
	replay pcapng
	replay judge
	replay figures
}

# ---- -N: recordings read as this machine reads them ----

# Packets, each built a field a line and worked out by hand.
# An IPv4 ICMP echo request of 28 bytes, 10.77.0.2 to 10.77.0.1.
IP4=4500001c00000000400100000a4d00020a4d00010800f7ff00000000
# An IPv6 UDP header of 48 bytes, fd77::2 to fd77::1, no data.
IP6=6000000000081140fd770000000000000000000000000002
IP6+=fd7700000000000000000000000000011f901f9000080000
# An IPv4 header saying 84 bytes in a frame of 28: damaged.
IP4_LONG=45000054${IP4:8}
# An Ethernet frame of IPv4 and one of ARP, 52:54:00:00:00:01 to ...:02.
ETH_IP4=525400000002525400000001"0800"$IP4
ETH_ARP=ffffffffffff5254000000010806
ETH_ARP+=0001080006040001525400000001"0a4d0001"0000000000000a4d0002
# A virtio-net header (10 bytes): none of its fields set.
VNET=00000000000000000000
# One asking for a TCP over IPv4 GSO packet cut into segments of 1000
# bytes, its headers 40 bytes, the checksum to finish at 20 + 16 (every
# field little-endian): flags NEEDS_CSUM, type TCPV4, hdr_len 40, gso_size
# 1000, csum_start 20, csum_offset 16.
VNET_GSO=0101"2800""e803""1400""1000"
# The TCP over IPv4 packet it goes with: 40 bytes of headers and 2500 of
# payload (2540, 0x09ec, in all), 10.77.0.2:40000 to 10.77.0.1:5001,
# sequence number 1, ACK 1, checksums left zero.
TCP4=4500"09ec"00004000400600000a4d00020a4d0001
TCP4+=9c4013890000000100000001501001f500000000
TCP4+=$(head -c 2500 /dev/zero | od -An -v -tx1 | tr -d ' \n')
# 5 bytes that are no packet.
JUNK=68656c6c6f

# record FRAMING HEX...: the stream of those packets (an empty one is a
# keepalive) in FRAMING, on stdout.
record() {
	local framing=$1
	shift
	printf '%s\n' "$@" | "$ENCODE" encode -f "$framing"
}

# normal FILE: what of tunpipe's messages in FILE does not depend on the
# moment: uptimes, -s's t= and peer_idle= become N.
normal() {
	sed -E 's/up [0-9]+s/up Ns/; s/ t=[0-9.]+/ t=N/; s/ peer_idle=[0-9]+/ peer_idle=N/' "$1"
}

# capture_normal FILE START END: the capture FILE as hex with each EPB's
# timestamp zeroed, after checking that the timestamp (two 32-bit words,
# the high first, each little-endian, at bytes 12 to 19 of the block) lies
# between START and END, in nanoseconds.
capture_normal() {
	local hex offset _ high low ns
	hex=$(od -An -v -tx1 "$1" | tr -d ' \n')
	while read -r offset _; do
		[[ ${hex:2*offset:8} == 06000000 ]] || continue
		high=$(le32 "${hex:2*offset+24:8}")
		low=$(le32 "${hex:2*offset+32:8}")
		ns=$((high << 32 | low))
		((ns >= $2 && ns <= $3)) ||
		    fail "$1: a record at byte $offset stamped $ns, not between $2 and $3"
		hex=${hex:0:2*offset+24}0000000000000000${hex:2*offset+40}
	done < <("$BLOCKS" -b <"$1")
	printf '%s\n' "$hex"
}

# le32 HEX: the number that 4 little-endian bytes in hex give.
le32() {
	echo $((16#${1:6:2}${1:4:2}${1:2:2}${1:0:2}))
}

# replays_alike STREAM OPTION...: tunpipe -N -S OPTION... -w reads STREAM
# here, then with CROSS_ARCH's tunpipe and tunpipe-static: each exits as
# this machine's did and writes the same stdout, the same messages and
# the same capture (but for the moment, see normal and capture_normal).
# Leaves this machine's messages in $output and its status in $status,
# for the test to check.
replays_alike() {
	local stream=$1 run program part start end code
	shift
	for run in native tunpipe tunpipe-static; do
		program=$TEST_DRIVERS/$run
		[[ $run == native ]] && program=$NATIVE
		start=$(date +%s%N)
		code=0
		"$program" -N -S "$@" -w "$T/$run.pcapng" <"$stream" \
		    >"$T/$run.out" 2>"$T/$run.err" || code=$?
		end=$(date +%s%N)
		echo "$code" >"$T/$run.status"
		normal "$T/$run.err" >"$T/$run.msg"
		capture_normal "$T/$run.pcapng" "$start" "$end" >"$T/$run.cap"
	done
	for run in tunpipe tunpipe-static; do
		for part in status out msg cap; do
			diff "$T/native.$part" "$T/$run.$part" ||
			    fail "$CROSS_ARCH's $run: another $part than this machine's"
		done
	done
	output=$(cat "$T/native.msg")
	status=$(cat "$T/native.status")
	printf '%s\n' "$output"
}

@test "-N len16: IPv4, IPv6, a keepalive, junk and a packet longer than its frame, counted and captured as here" {
	record len16 "$IP4" "" "$IP6" "$JUNK" "$IP4_LONG" "$IP4" >"$T/s"
	replays_alike "$T/s" -s 1
	[ "$status" = 0 ]
	[[ $output == *"dropped a 5-byte frame that is not an IPv4 or IPv6 packet (first byte 0x68), after 1 good ones"* ]]
	[[ $output == *" in_packets=3 in_bytes=104 drops=2 "*" drop_not_ip=2 "* ]]
}

@test "-N len32 -T: Ethernet frames of IPv4 and ARP, and a frame too short for Ethernet, as here" {
	record len32 "$ETH_IP4" "$ETH_ARP" 0102 "$ETH_IP4" >"$T/s"
	replays_alike "$T/s" -f len32 -T
	[ "$status" = 0 ]
	[[ $output == *"stream (tap, no device, up Ns)"* ]]
	[[ $output == *"from stream: 3 packets, 126 bytes"*"dropped: 1 not Ethernet"* ]]
}

@test "-N slip: a bad escape dropped, a keepalive and the packets around it captured, as here" {
	{
		record slip "$IP4" ""
		printf '\333\001\300'
		record slip "$TCP4" "$IP6"
	} >"$T/s"
	replays_alike "$T/s" -f slip
	[ "$status" = 0 ]
	[[ $output == *"dropped a damaged SLIP frame (bad escape)"* ]]
	[[ $output == *"from stream: 3 packets, 2616 bytes"*"empty frames: 1 in"*"1 damaged"* ]]
}

@test "-N -O: a GSO packet after its little-endian virtio-net header, and ordinary ones, as here" {
	record len32 "$VNET_GSO$TCP4" "$VNET$IP4" "$VNET$IP6" >"$T/s"
	replays_alike "$T/s" -O
	[ "$status" = 0 ]
	[[ $output == *"from stream: 3 packets, 2616 bytes"* ]]
}

@test "-N: a len32 stream read as len16, a stream without -O read with it, and a cut stream end with status 4 and the same words as here" {
	record len32 "$IP4" "$IP4" "$IP4" "$IP4" "$IP4" "$IP4" "$IP4" "$IP4" \
	    "$IP4" >"$T/s"
	replays_alike "$T/s"
	[ "$status" = 4 ]
	[[ $output == *"stream error: 8 frames in a row held packets each right after an empty frame"* ]]
	record len32 "$IP4" "$IP6" >"$T/s"
	replays_alike "$T/s" -O
	[ "$status" = 4 ]
	[[ $output == *"a 28-byte frame does not start with a virtio-net header"* ]]
	record len16 "$IP4" "$IP6" | head -c 40 >"$T/s"
	replays_alike "$T/s"
	[ "$status" = 4 ]
	[[ $output == *"input stream ended inside a frame: 8 of 48 bytes of its packet arrived (the frame starts at byte 30)"* ]]
}
