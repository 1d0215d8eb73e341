#!/usr/bin/env bats
#
# judge.bats: the frame judge (judge.c) through test/judge-driver: what
# tunpipe makes of each frame from the stream (deliver it, drop it, or end
# the stream), and of a run of frames that hold no packet of its mode,
# framing and -O, which is how a peer set up differently shows itself.
# Needs no privilege and no device: build the driver with `make
# test/judge-driver`, then run `bats test/judge.bats`.
#
# Every frame below is built by hand, a header a field, and every kind
# expected is worked out from the formats (IPv4's total length at bytes
# 2-3, IPv6's payload length at bytes 4-5, the Ethernet type at bytes
# 12-13, the virtio-net header's 10 bytes) and judge.h, never taken from
# the judge itself.  Checksums are left zero: the judge reads none.  The
# driver prints a line a frame:
#
#	KIND refused|accepted VERDICT good GOOD_FRAMES run BAD_RUN

load helpers

setup_file() {
	export DRIVER="$DRIVERS/judge-driver"
}

setup() {
	need_driver || return 1
	LINES=()
}

# judge OPTION...: the driver's answers, in $output and $status, to the
# lines of the array LINES.
judge() {
	run "$DRIVER" "$@" < <(printf '%s\n' "${LINES[@]}")
}

# lines LINE...: the lines, one after another, as the driver prints them.
lines() {
	printf '%s\n' "$@"
}

# repeat N LINE: LINE, N times.
repeat() {
	local i

	for ((i = 0; i < $1; i++)); do
		printf '%s\n' "$2"
	done
}

# bad_run KIND REFUSED GOOD FROM TO: the lines of bad frames FROM to TO of
# a run that carry on, after GOOD good frames.
bad_run() {
	local i

	for ((i = $4; i <= $5; i++)); do
		printf '%s %s CARRY_ON good %s run %s\n' "$1" "$2" "$3" "$i"
	done
}

# An IPv4 packet of 28 bytes, 0x1c: an ICMP echo request from 10.77.0.2 to
# 10.77.0.1 (IPV4_PACKET in helpers.bash).
IP4='4500001c 00000000 40010000 0a4d0002 0a4d0001  0800f7ff 00000000'
IP4_HEX=${IP4// /}
# An IPv6 packet of 48 bytes: 40 of header, a payload length of 8, a UDP
# header and no data, from fd77::2 to fd77::1.
IP6='60000000 0008 11 40 fd770000000000000000000000000002
    fd770000000000000000000000000001  1f901f90 0008 0000'
IP6=${IP6//$'\n'/}
# The same headers, giving another length than the frame's: 84 bytes, and
# a payload of 16, as when bytes of the stream were lost.
IP4_LONG='45000054 00000000 40010000 0a4d0002 0a4d0001  0800f7ff 00000000'
IP6_LONG=${IP6/60000000 0008/60000000 0010}
# 28 bytes that are no packet at all: no IP version (the first 4 bits),
# no virtio-net header (flags 0xee), no Ethernet type.
JUNK=$(repeat 28 ee | tr -d '\n')

# Ethernet frames, from 52:54:00:00:00:01 (A, QEMU's prefix) to ...:02 (B).
A=525400000001
B=525400000002
ETH_IP4="$B $A 0800  $IP4"				# 42 bytes
ETH_IP6="$B $A 86dd  $IP6"				# 62 bytes
ETH_ARP="ffffffffffff $A 0806  0001 0800 06 04 0001 $A 0a4d0001 000000000000 0a4d0002"
ETH_VLAN="$B $A 8100 0064 0800  $IP4"			# 802.1Q, VLAN 100
ETH_QINQ="$B $A 88a8 0064 8100 00c8 0800  $IP4"		# 802.1ad, 100 and 200
# LLDP (0x88cc), a type no IP tunnel carries: a chassis ID (A's MAC), a
# port ID ("p1"), a TTL of 120 s, the end.
ETH_LLDP="0180c200000e $A 88cc  0207 04 $A  0403 07 7031  0602 0078  0000"
# 13 bytes: one short of an Ethernet header.
RUNT="$B $A 08"

# A virtio-net header that asks nothing: no flags, no GSO, lengths 0.
VNET='00 00 0000 0000 0000 0000'

# The causes that tunpipe's messages quote, as judge.h words them.
NOT_IP_CAUSE='no packets at all: the peer most likely uses another framing (-f) or -O, or is not tunpipe; give both ends the same -f, -T and -O'
ETHERNET_CAUSE='Ethernet frames, not IP packets: the peer runs with -T; use -T at both ends, or at neither'
IP_IN_TAP_CAUSE='IP packets, not Ethernet frames: the peer runs without -T; use -T at both ends, or at neither'
AFTER_EMPTY_CAUSE='packets each right after an empty frame, as a -f len32 stream (or one of -O) reads with -f len16: give both ends the same -f and -O'
NO_VNET_CAUSE='does not start with a virtio-net header; the peer most likely runs without -O: use -O at both ends, or at neither'
VNET_CAUSE='holds a virtio-net header before its IP packet; the peer runs with -O (--offload): use -O at both ends, or at neither'

@test "TUN: IPv4 and IPv6 packets whose lengths agree with the frame are good, and delivered" {
	LINES=("$IP4" "$IP6")
	judge
	expect 0 "$(lines \
	    'GOOD accepted CARRY_ON good 1 run 0' \
	    'GOOD accepted CARRY_ON good 2 run 0')"
}

@test "TUN: an IP header that gives another length than the frame's is IP_LENGTH, dropped: bytes were lost" {
	# And the IPv4 packet with its last 7 bytes lost.
	LINES=("$IP4_LONG" "$IP6_LONG" "${IP4_HEX:0:42}")
	judge
	expect 0 "$(bad_run IP_LENGTH refused 0 1 3)"
}

@test "TUN: bytes that are no packet at all are NOT_IP, dropped" {
	# 28 bytes of noise; an IPv4 header cut after 4 bytes, and after 19:
	# shorter than any IP header, they say too little to name lost bytes.
	LINES=("$JUNK" "45 00 00 14" "${IP4_HEX:0:38}")
	judge
	expect 0 "$(bad_run NOT_IP refused 0 1 3)"
}

@test "TUN: Ethernet frames of each common type are ETHERNET, dropped; of another type, just not IP" {
	LINES=("$ETH_IP4" "$ETH_IP6" "$ETH_ARP" "$ETH_VLAN" "$ETH_QINQ"
	    "$ETH_LLDP")
	judge
	expect 0 "$(lines \
	    'ETHERNET refused CARRY_ON good 0 run 1' \
	    'ETHERNET refused CARRY_ON good 0 run 2' \
	    'ETHERNET refused CARRY_ON good 0 run 3' \
	    'ETHERNET refused CARRY_ON good 0 run 4' \
	    'ETHERNET refused CARRY_ON good 0 run 5' \
	    'NOT_IP refused CARRY_ON good 0 run 6')"
}

@test "TAP: Ethernet frames of any type are good; a runt is RUNT, dropped; an IP packet is IP_IN_TAP, delivered" {
	LINES=("$ETH_IP4" "$ETH_IP6" "$ETH_ARP" "$ETH_VLAN" "$ETH_QINQ"
	    "$ETH_LLDP" "$RUNT" "$IP4" "$IP6")
	judge -T
	expect 0 "$(lines \
	    'GOOD accepted CARRY_ON good 1 run 0' \
	    'GOOD accepted CARRY_ON good 2 run 0' \
	    'GOOD accepted CARRY_ON good 3 run 0' \
	    'GOOD accepted CARRY_ON good 4 run 0' \
	    'GOOD accepted CARRY_ON good 5 run 0' \
	    'GOOD accepted CARRY_ON good 6 run 0' \
	    'RUNT refused CARRY_ON good 6 run 1' \
	    'IP_IN_TAP accepted CARRY_ON good 6 run 2' \
	    'IP_IN_TAP accepted CARRY_ON good 6 run 3')"
}

@test "TUN without -O: a virtio-net header before an IP packet is VNET, which breaks the stream at once" {
	LINES=("$VNET $IP4")
	judge
	expect 0 'VNET refused BROKEN_NOW good 0 run 0'
}

@test "-O: after its virtio-net header a frame is judged as without -O; without one it is NO_VNET, which breaks the stream at once" {
	LINES=("$VNET $IP4" "$VNET $IP6" "$VNET $ETH_IP4" "$VNET $JUNK"
	    "$IP4")
	judge -O
	expect 0 "$(lines \
	    'GOOD accepted CARRY_ON good 1 run 0' \
	    'GOOD accepted CARRY_ON good 2 run 0' \
	    'ETHERNET refused CARRY_ON good 2 run 1' \
	    'NOT_IP refused CARRY_ON good 2 run 2' \
	    'NO_VNET refused BROKEN_NOW good 2 run 2')"
	# A frame shorter than the header, or one with a flag or GSO type
	# the kernel does not know (flags 0x04, GSO type 2).
	for frame in "00 00 0000 0000 0000 00" "04 00 0000 0000 0000 0000 $IP4" \
	    "00 02 0000 0000 0000 0000 $IP4"; do
		LINES=("$frame")
		judge -O
		expect 0 'NO_VNET refused BROKEN_NOW good 0 run 0'
	done
	LINES=("$VNET $ETH_IP4" "$VNET $IP4" "$ETH_IP4")
	judge -O -T
	expect 0 "$(lines \
	    'GOOD accepted CARRY_ON good 1 run 0' \
	    'IP_IN_TAP accepted CARRY_ON good 1 run 1' \
	    'NO_VNET refused BROKEN_NOW good 1 run 1')"
}

@test "len16: a packet right after an empty frame is AFTER_EMPTY, delivered but counted as bad; in len32 and SLIP it is good" {
	LINES=("after_empty $IP4" "$IP4" "after_empty $ETH_IP4")
	judge
	expect 0 "$(lines \
	    'AFTER_EMPTY accepted CARRY_ON good 0 run 1' \
	    'GOOD accepted CARRY_ON good 1 run 0' \
	    'ETHERNET refused CARRY_ON good 1 run 1')"
	for framing in len32 slip; do
		LINES=("after_empty $IP4")
		judge -f "$framing"
		expect 0 'GOOD accepted CARRY_ON good 1 run 0'
	done
	# A len32 stream read as len16: an empty frame before every packet.
	LINES=()
	for i in 1 2 3 4 5 6 7 8; do
		LINES+=("after_empty $IP4")
	done
	judge -f len16
	expect 0 "$(bad_run AFTER_EMPTY accepted 0 1 7
	    echo 'AFTER_EMPTY accepted BROKEN good 0 run 8')"
}

@test "len16 and len32: seven bad frames in a row carry on, the eighth breaks the stream, and so does any after it" {
	for framing in len16 len32; do
		LINES=()
		for i in 1 2 3 4 5 6 7 8 9; do
			LINES+=("$JUNK")
		done
		judge -f "$framing"
		expect 0 "$(bad_run NOT_IP refused 0 1 7
		    echo 'NOT_IP refused BROKEN good 0 run 8'
		    echo 'NOT_IP refused BROKEN good 0 run 9')"
	done
}

@test "a run mixes the kinds of bad frame, and names the last" {
	LINES=("$ETH_IP4" "$JUNK" "$IP4_LONG" "after_empty $IP4" "$ETH_ARP"
	    "$JUNK" "$ETH_VLAN" "$ETH_IP6" end)
	judge
	expect 0 "$(lines \
	    'ETHERNET refused CARRY_ON good 0 run 1' \
	    'NOT_IP refused CARRY_ON good 0 run 2' \
	    'IP_LENGTH refused CARRY_ON good 0 run 3' \
	    'AFTER_EMPTY accepted CARRY_ON good 0 run 4' \
	    'ETHERNET refused CARRY_ON good 0 run 5' \
	    'NOT_IP refused CARRY_ON good 0 run 6' \
	    'ETHERNET refused CARRY_ON good 0 run 7' \
	    'ETHERNET refused BROKEN good 0 run 8' \
	    'ended_mismatched 1 heard_nothing 0 bad_kind ETHERNET')"
}

@test "a good frame ends a run of bad ones: seven, a good one, seven more carry on" {
	LINES=()
	for i in 1 2 3 4 5 6 7; do
		LINES+=("$JUNK")
	done
	LINES+=("$IP4")
	for i in 1 2 3 4 5 6 7 8; do
		LINES+=("$JUNK")
	done
	judge
	expect 0 "$(bad_run NOT_IP refused 0 1 7
	    echo 'GOOD accepted CARRY_ON good 1 run 0'
	    bad_run NOT_IP refused 1 1 7
	    echo 'NOT_IP refused BROKEN good 1 run 8')"
}

@test "SLIP: the eighth bad frame in a row warns, once, and the stream carries on" {
	LINES=()
	for i in $(seq 16); do
		LINES+=("$JUNK")
	done
	judge -f slip
	expect 0 "$(bad_run NOT_IP refused 0 1 7
	    echo 'NOT_IP refused WARN good 0 run 8'
	    bad_run NOT_IP refused 0 9 16)"
}

@test "SLIP: a damaged frame counts as bad; after a good frame, a new run warns again" {
	LINES=()
	for i in $(seq 9); do
		LINES+=("weigh DAMAGED")
	done
	LINES+=("$IP4")
	for i in $(seq 8); do
		LINES+=("weigh DAMAGED")
	done
	LINES+=(end)
	judge -f slip
	# SLIP's codec drops a damaged frame itself, before the judge: no one
	# asks judge_is_refused() of it, so its answer is left out (-).
	output=$(sed 's/^DAMAGED [a-z]* /DAMAGED - /' <<<"$output")
	expect 0 "$(bad_run DAMAGED - 0 1 7
	    echo 'DAMAGED - WARN good 0 run 8'
	    bad_run DAMAGED - 0 9 9
	    echo 'GOOD accepted CARRY_ON good 1 run 0'
	    bad_run DAMAGED - 1 1 7
	    echo 'DAMAGED - WARN good 1 run 8'
	    echo 'ended_mismatched 0 heard_nothing 0 bad_kind DAMAGED')"
}

@test "a virtio-net header at one end only breaks at once, in any framing, and is not counted in the run" {
	for framing in len16 len32 slip; do
		LINES=("$JUNK" "$JUNK" "$JUNK" "$VNET $IP4" "$JUNK")
		judge -f "$framing"
		expect 0 "$(bad_run NOT_IP refused 0 1 3
		    echo 'VNET refused BROKEN_NOW good 0 run 3'
		    echo 'NOT_IP refused CARRY_ON good 0 run 4')"
		LINES=("$VNET $JUNK" "$IP4" "$VNET $IP4")
		judge -O -f "$framing"
		expect 0 "$(lines \
		    'NOT_IP refused CARRY_ON good 0 run 1' \
		    'NO_VNET refused BROKEN_NOW good 0 run 1' \
		    'GOOD accepted CARRY_ON good 1 run 0')"
	done
}

@test "judge_restart: a new stream begins with no good frame and no run" {
	LINES=("$IP4" "$IP4" "$JUNK" "$JUNK" "$JUNK" restart end)
	for i in 1 2 3 4 5 6 7 8; do
		LINES+=("$JUNK")
	done
	judge
	expect 0 "$(lines \
	    'GOOD accepted CARRY_ON good 1 run 0' \
	    'GOOD accepted CARRY_ON good 2 run 0'
	    bad_run NOT_IP refused 2 1 3
	    echo 'restart good 0 run 0'
	    echo 'ended_mismatched 0 heard_nothing 1 bad_kind GOOD'
	    bad_run NOT_IP refused 0 1 7
	    echo 'NOT_IP refused BROKEN good 0 run 8')"
}

@test "at the end: a stream of bad frames only names its mismatch; one that held a good frame, or none at all, does not" {
	LINES=(end)
	judge
	expect 0 'ended_mismatched 0 heard_nothing 1 bad_kind GOOD'
	LINES=("$ETH_IP4" "$ETH_ARP" "$ETH_IP6" end)
	judge
	expect 0 "$(bad_run ETHERNET refused 0 1 3
	    echo 'ended_mismatched 1 heard_nothing 0 bad_kind ETHERNET')"
	LINES=("$IP4" "$ETH_IP4" end)
	judge
	expect 0 "$(lines \
	    'GOOD accepted CARRY_ON good 1 run 0' \
	    'ETHERNET refused CARRY_ON good 1 run 1' \
	    'ended_mismatched 0 heard_nothing 0 bad_kind ETHERNET')"
	LINES=("$IP4" end)
	judge
	expect 0 "$(lines \
	    'GOOD accepted CARRY_ON good 1 run 0' \
	    'ended_mismatched 0 heard_nothing 0 bad_kind GOOD')"
}

@test "the causes: what a run of each kind most likely means; a runt, a damaged frame and a wrong IP length hold no packet at all" {
	LINES=("cause GOOD" "cause NOT_IP" "cause IP_LENGTH" "cause ETHERNET"
	    "cause RUNT" "cause DAMAGED" "cause IP_IN_TAP" "cause AFTER_EMPTY"
	    "cause NO_VNET" "cause VNET")
	judge
	expect 0 "$(lines '' "$NOT_IP_CAUSE" "$NOT_IP_CAUSE" \
	    "$ETHERNET_CAUSE" "$NOT_IP_CAUSE" "$NOT_IP_CAUSE" \
	    "$IP_IN_TAP_CAUSE" "$AFTER_EMPTY_CAUSE" "$NO_VNET_CAUSE" \
	    "$VNET_CAUSE")"
	# Past the enum too, never NULL (the driver checks).
	LINES=("cause 10" "cause 255")
	judge
	[[ $status -eq 0 ]]
}

@test "a judge never readied finds every frame NOT_IP, a good packet too" {
	LINES=("$IP4" "$IP6" "after_empty $IP4" "$ETH_IP4" "$VNET $IP4"
	    "$RUNT" "")
	judge -Z
	expect 0 "$(bad_run NOT_IP refused 0 1 7)"
}

# first_bytes OPTION... -- FRAME: FRAME's first bytes, as many as the judge
# reads (the virtio-net header with -O, and JUDGE_CLASSIFY_BYTES, 16), then
# " / " and its whole length: a frame half read.
first_bytes() {
	local header=0 hex

	while [[ $1 != -- ]]; do
		[[ $1 == -O ]] && header=10
		shift
	done
	hex=${2// /}
	printf '%s / %d\n' "${hex:0:2*(header+16)}" $((${#hex} / 2))
}

@test "a frame half read, its first bytes and its whole length, is of the kind it is whole" {
	local options kind frame prefix want got
	# OPTIONS|KIND|[after_empty ]FRAME: every frame longer than what
	# the judge reads (a runt never is).
	while IFS='|' read -r options kind frame; do
		[[ $frame == "after_empty "* ]] && prefix='after_empty ' ||
		    prefix=''
		frame=${frame#after_empty }
		LINES=("$prefix$frame" "$prefix$(first_bytes $options -- "$frame")")
		# Each line is a frame of its own, after none.
		judge $options
		want="$kind"
		got=$(cut -d ' ' -f 1 <<<"$output" | tr '\n' ' ')
		[[ $status -eq 0 && $got == "$want $want " ]] ||
		    fail "$options $frame: status $status, kinds $got, not" \
		    "$want twice" "$output"
	done <<EOF
|GOOD|$IP4
|GOOD|$IP6
|IP_LENGTH|$IP4_LONG
|IP_LENGTH|$IP6_LONG
|NOT_IP|$JUNK
|ETHERNET|$ETH_IP4
|ETHERNET|$ETH_ARP
|ETHERNET|$ETH_QINQ
|NOT_IP|$ETH_LLDP
|VNET|$VNET $IP4
|VNET|$VNET $IP6
|AFTER_EMPTY|after_empty $IP4
-f len32|GOOD|after_empty $IP4
-f slip|GOOD|after_empty $IP4
-T|GOOD|$ETH_IP4
-T|GOOD|$ETH_LLDP
-T|IP_IN_TAP|$IP4
-T|IP_IN_TAP|$IP6
-O|GOOD|$VNET $IP4
-O|GOOD|$VNET $IP6
-O|IP_LENGTH|$VNET $IP4_LONG
-O|ETHERNET|$VNET $ETH_IP4
-O|NOT_IP|$VNET $JUNK
-O|NO_VNET|$IP4
-O|NO_VNET|$JUNK
-O -T|GOOD|$VNET $ETH_IP4
-O -T|IP_IN_TAP|$VNET $IP4
-O -T|NO_VNET|$ETH_IP4
EOF
}

@test "the driver refuses a frame half read with fewer bytes than the judge reads" {
	LINES=("${IP4_HEX:0:30} / 28")
	judge
	[[ $status -eq 1 && $output == *"needs its first 16 bytes, not 15"* ]]
	LINES=("${IP4_HEX:0:50} / 28")
	judge -O
	[[ $status -eq 1 && $output == *"needs its first 26 bytes, not 25"* ]]
}
