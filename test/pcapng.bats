#!/usr/bin/env bats
#
# pcapng.bats: the capture encoder (pcapng.c) through test/pcapng-driver,
# first byte for byte, then end to end: tshark and tcpdump read its
# captures.  Needs no privilege and no device: build the driver with `make
# test/pcapng-driver`, then run `bats test/pcapng.bats`.
#
# Every expected byte below is worked out by hand from the pcapng
# specification (draft-ietf-opsawg-pcapng) and spelled one field a line:
# numbers little-endian, as pcapng.h says, so 28 bytes is 1c000000.
# Each capture is made twice, the second time with the packets already
# in place in the block's buffer (-p), and both must be the same bytes.

load helpers

setup_file() {
	export DRIVER="$DRIVERS/pcapng-driver"
}

setup() {
	need_driver || return 1
	CAP="$BATS_TEST_TMPDIR/capture.pcapng"
	ERR="$BATS_TEST_TMPDIR/stderr"
	LINES=()
}

# encode DRIVER_OPTION...: the driver's capture of the packets in the array
# LINES ("TIME DIR HEX [LEN]" each) into $CAP, its standard error into $ERR;
# sets $status, and $output to the capture's hex.  It runs again with -p,
# and fails unless both runs give the same capture and messages.
encode() {
	local first first_err again=0

	status=0
	printf '%s\n' "${LINES[@]}" | sed '/^$/d' |
	    "$DRIVER" "$@" >"$CAP" 2>"$ERR" || status=$?
	first=$(hexof "$CAP")
	first_err=$(cat "$ERR")
	printf '%s\n' "${LINES[@]}" | sed '/^$/d' |
	    "$DRIVER" -p "$@" >"$CAP" 2>"$ERR" || again=$?
	output=$(hexof "$CAP")
	[[ $again == "$status" && $output == "$first" &&
	    $(cat "$ERR") == "$first_err" ]] ||
	    fail "with -p: status $again, capture and messages:" "$output" \
	    "$(cat "$ERR")" "without: status $status," "$first" "$first_err"
}

# tabs WORD...: the words separated by tabs, as tshark prints fields.
tabs() {
	local IFS=$'\t'
	printf '%s' "$*"
}

# Drops the spaces and the # comments from the hex in $1, for the
# expected bytes spelled a field a line.
hex() {
	sed 's/#.*//' <<<"$1" | tr -d ' \t\n'
}

# The timestamp of most blocks below, 0x0102030405060708 nanoseconds, so
# that its high and low halves show: 04030201, then 08070605.
T=72623859790382856

# The SHB with shb_userappl "tunpipe 0.1.0": 52 bytes.
SHB_APP=$(hex '
0a0d0d0a                # block type: SHB
34000000                # block total length: 52
4d3c2b1a                # byte-order magic 0x1a2b3c4d, little-endian
0100 0000               # version 1.0
ffffffffffffffff        # section length -1: not given
0400 0d00               # shb_userappl (4), 13 bytes:
74756e70697065 20       #   "tunpipe "
302e312e30 000000       #   "0.1.0", and 3 bytes of padding
0000 0000               # opt_endofopt
34000000                # block total length
')

# The SHB with no option, so no option list: 28 bytes.
SHB_BARE=$(hex '
0a0d0d0a                # block type: SHB
1c000000                # block total length: 28
4d3c2b1a                # byte-order magic
0100 0000               # version 1.0
ffffffffffffffff        # section length -1
1c000000                # block total length
')

# The options every IDB ends with: nanosecond timestamps, and the end.
IDB_TSRESOL=$(hex '
0900 0100               # if_tsresol (9), 1 byte:
09 000000               #   10^-9 s, and 3 bytes of padding
0000 0000               # opt_endofopt
')

@test "a TUN capture starts with an SHB naming tunpipe and an IDB of raw IP for the device" {
	encode -t tun -s 1500 -i tun0 -a 'tunpipe 0.1.0'
	expect 0 "$SHB_APP$(hex "
01000000                # block type: IDB
28000000                # block total length: 40
6500                    # link type 101: LINKTYPE_RAW
0000                    # reserved
dc050000                # snaplen 1500
0200 0400               # if_name (2), 4 bytes:
74756e30                #   \"tun0\", no padding
$IDB_TSRESOL
28000000                # block total length
")"
}

@test "a TAP capture's IDB has Ethernet frames, and the longest device name, 15 bytes" {
	encode -t tap -s 1514 -i tp-fifteen-char
	expect 0 "$SHB_BARE$(hex "
01000000                # block type: IDB
34000000                # block total length: 52
0100                    # link type 1: LINKTYPE_ETHERNET
0000                    # reserved
ea050000                # snaplen 1514, an MTU of 1500 and its header
0200 0f00               # if_name (2), 15 bytes:
74702d6669667465656e    #   \"tp-fifteen\"
2d63686172 00           #   \"-char\", and 1 byte of padding
$IDB_TSRESOL
34000000                # block total length
")"
}

@test "with no name and no snaplen, the IDB says no limit and names no device" {
	encode
	expect 0 "$SHB_BARE$(hex "
01000000 20000000       # IDB of 32 bytes
6500 0000               # LINKTYPE_RAW, reserved
00000000                # snaplen 0: no limit
$IDB_TSRESOL
20000000
")"
}

@test "an option holds a string of up to 65535 bytes; a longer one is refused" {
	local name
	name=$(head -c 65535 /dev/zero | tr '\0' n)
	encode -i "$name"
	[[ $status -eq 0 ]]
	# SHB 28, IDB 12 + 8 + if_name 4 + 65536 + if_tsresol 8 + end 4.
	[[ $(stat -c %s "$CAP") -eq 65600 ]]
	[[ ${output:56:24} == 010000002400010065000000 ]] # IDB, 65572, RAW
	[[ ${output:88:16} == 0200ffff6e6e6e6e ]] # if_name, 65535 bytes of n
	# The name's last bytes, 1 byte of padding, if_tsresol, the end.
	[[ ${output: -40} == 6e6e6e0009000100090000000000000024000100 ]]

	encode -i "${name}n"
	[[ $status -eq 1 && $(cat "$ERR") == *"a string over 65535 bytes"* ]]
	[[ ! -s $CAP ]]
}

@test "a header that does not fit in the room given is not written at all" {
	# SHB 28 + IDB 32 = 60 bytes.
	encode -r 59
	[[ $status -eq 1 && $(cat "$ERR") == *"header: 60 bytes, room 59"* ]]
	[[ ! -s $CAP ]]
	encode -r 60
	expect 0 "$SHB_BARE$(hex "01000000 20000000 6500 0000 00000000
	    $IDB_TSRESOL 20000000")"
}

# An IPv4 packet of 28 bytes (helpers.bash), a multiple of 4.
@test "an outbound packet: EPB on interface 0, the timestamp in halves, the direction 2 in epb_flags" {
	LINES=("$T out $IPV4_PACKET")
	encode -n
	expect 0 "$(hex "
06000000                # block type: EPB
48000000                # block total length: 72
00000000                # interface 0
04030201                # timestamp, high 32 bits: 0x01020304
08070605                # timestamp, low 32 bits: 0x05060708
1c000000                # captured length 28
1c000000                # original length 28
$IPV4_PACKET            # the packet, no padding
0200 0400               # epb_flags (2), 4 bytes:
02000000                #   direction outbound: bits 0-1 = 10
0000 0000               # opt_endofopt
48000000                # block total length
")"
}

@test "an inbound packet has the direction 1 in epb_flags" {
	LINES=("$T in $IPV4_PACKET")
	encode -n
	expect 0 "$(hex "
06000000 48000000 00000000 04030201 08070605 1c000000 1c000000
$IPV4_PACKET
0200 0400
01000000                # direction inbound: bits 0-1 = 01
0000 0000
48000000
")"
}

@test "packets of 0 to 5 bytes are padded with zeros to a multiple of 4" {
	LINES=("0 in" "0 in aa" "0 in aabb" "0 in aabbcc" "0 in aabbccdd"
	    "0 out aabbccddee")
	encode -n
	expect 0 "$(hex '
06000000 2c000000       # 0 bytes: a block of 44
00000000 00000000 00000000
00000000 00000000       # captured 0, original 0, and no packet data
02000400 01000000 00000000 2c000000

06000000 30000000       # 1 byte: a block of 48
00000000 00000000 00000000
01000000 01000000
aa 000000               # 3 bytes of padding
02000400 01000000 00000000 30000000

06000000 30000000       # 2 bytes: 48
00000000 00000000 00000000
02000000 02000000
aabb 0000               # 2 bytes of padding
02000400 01000000 00000000 30000000

06000000 30000000       # 3 bytes: 48
00000000 00000000 00000000
03000000 03000000
aabbcc 00               # 1 byte of padding
02000400 01000000 00000000 30000000

06000000 30000000       # 4 bytes: 48
00000000 00000000 00000000
04000000 04000000
aabbccdd                # no padding
02000400 01000000 00000000 30000000

06000000 34000000       # 5 bytes: 52
00000000 00000000 00000000
05000000 05000000
aabbccddee 000000       # 3 bytes of padding
02000400 02000000 00000000 34000000
')"
}

@test "a packet longer than the snaplen is cut there; the original length stays" {
	LINES=("$T out $(seq_hex 100)" "$T in $(seq_hex 64)")
	encode -n -s 64
	expect 0 "$(hex "
06000000 6c000000       # a block of 108
00000000 04030201 08070605
40000000                # captured length 64
64000000                # original length 100
$(seq_hex 64)           # its first 64 bytes
02000400 02000000 00000000 6c000000

06000000 6c000000 00000000 04030201 08070605
40000000 40000000       # 64 bytes: whole
$(seq_hex 64)
02000400 01000000 00000000 6c000000
")"
}

@test "a record one byte over the room is dropped whole; one that fills the room is written" {
	LINES=("0 in aabbccdd")
	encode -n -r 47
	expect 0 ""
	[[ $(cat "$ERR") == "line 1: dropped: 48 bytes, room 47" ]]
	encode -n -r 48
	expect 0 "$(hex "06000000 30000000 00000000 00000000 00000000
	    04000000 04000000 aabbccdd 02000400 01000000 00000000 30000000")"
	[[ ! -s $ERR ]]
}

@test "records that do not fit the room are dropped; the next one written carries epb_dropcount" {
	# 4 bytes take 48 bytes, 24 bytes 68: over the room of 64.
	LINES=("0 out aabbccdd" "0 out $(seq_hex 24)" "0 in $(seq_hex 24)"
	    "0 in 01020304" "0 in 05060708")
	encode -n -r 64
	expect 0 "$(hex "
06000000 30000000 00000000 00000000 00000000 04000000 04000000
aabbccdd
02000400 02000000 00000000 30000000

06000000 3c000000       # a block of 60: 48 and the drop count
00000000 00000000 00000000 04000000 04000000
01020304
02000400 01000000       # epb_flags: inbound
0400 0800               # epb_dropcount (4), 8 bytes:
0200000000000000        #   2 packets lost since the last one
00000000 3c000000

06000000 30000000 00000000 00000000 00000000 04000000 04000000
05060708
02000400 01000000 00000000 30000000
")"
	# Line 3 would carry the count of 1 in 12 bytes more.
	[[ $(cat "$ERR") == "line 2: dropped: 68 bytes, room 64
line 3: dropped: 80 bytes, room 64" ]]
}

@test "an original length up to 2^32 - 1 is written; a longer one, one under the captured length or no direction is refused" {
	local longer="0 in aabbccdd 4294967296" refused=4 drops i
	if [ "$(driver_limit size_max)" = 4294967295 ]; then
		# A 32-bit size_t holds no longer length: the driver says so
		# rather than cut it short, and the encoder never sees one.
		run "$DRIVER" -n <<<"$longer"
		[ "$status" = 1 ]
		[[ $output == *"line 1: length over 4294967295" ]]
		longer='' refused=3
	fi
	LINES=("0 in aabbccdd 4294967295" "$longer"
	    "0 in aabbccdd 3" "0 0 aabbccdd" "0 3 aabbccdd" "0 out")
	encode -n
	expect 0 "$(hex "
06000000 30000000 00000000 00000000 00000000
04000000                # captured length 4
ffffffff                # original length 2^32 - 1
aabbccdd
02000400 01000000 00000000 30000000

06000000 38000000       # 56: 44 and the drop count
00000000 00000000 00000000 00000000 00000000
02000400 02000000
0400 0800 0${refused}00000000000000 # those refused before it
00000000 38000000
")"
	# Rooms of exactly the block's bytes, the drop count's included from
	# the second drop on.
	drops="line 2: dropped: 48 bytes, room 48"
	for ((i = 3; i <= refused + 1; i++)); do
		drops+=$'\n'"line $i: dropped: 60 bytes, room 60"
	done
	[[ $(cat "$ERR") == "$drops" ]]
}

@test "each block's length, read back from its header: the SHB, the IDB, then every EPB, whatever its padding and options" {
	# In a room of 100 bytes the header (52 + 40) fits; the 64-byte
	# packet (108) does not, and the next one carries the drop count.
	LINES=("0 out $IPV4_PACKET" "0 in $(seq_hex 64)" "0 in aabbccddee"
	    "0 out")
	encode -i tun0 -a 'tunpipe 0.1.0' -r 100
	[[ $status -eq 0 && $(cat "$ERR") == "line 2: dropped: 108 bytes, room 100" ]]
	cp "$CAP" "$BATS_TEST_TMPDIR/whole.pcapng"
	run "$DRIVER" -b <"$BATS_TEST_TMPDIR/whole.pcapng"
	# offset, length: the SHB naming tunpipe, the IDB naming tun0, the
	# 28-byte packet (72), 5 bytes padded and the drop count (44 + 8 +
	# 12), the empty packet (44).
	expect 0 "0 52
52 40
92 72
164 64
228 44"
	# A capture cut in a block, or in a block's first 8 bytes.
	head -c 271 "$BATS_TEST_TMPDIR/whole.pcapng" >"$CAP"
	run "$DRIVER" -b <"$CAP"
	[[ $status -eq 1 && $output == *"block at 228: cut short after 43 of 44 bytes"* ]]
	head -c 232 "$BATS_TEST_TMPDIR/whole.pcapng" >"$CAP"
	run "$DRIVER" -b <"$CAP"
	[[ $status -eq 1 && $output == *"block at 228: cut short after 4 bytes"* ]]
}

# --- end to end: tshark and tcpdump read the captures ---------------------

# Packets of a tunnel between 10.77.0.1 and 10.77.0.2 (fd77::1 and
# fd77::2), checksums right:
# an ICMP echo request, 36 bytes, id 0x1234, seq 1, data "tunpipe!";
PING=45000024000140004001263c0a4d00010a4d0002080034531234000174756e7069706521
# its reply, 36 bytes;
PONG=45000024000240004001263b0a4d00020a4d000100003c531234000174756e7069706521
# an ICMPv6 echo request, 53 bytes, id 0x1234, seq 2, data "pcap!";
PING6=60000000000d3a40fd770000000000000000000000000001
PING6+=fd77000000000000000000000000000280007fbb123400027063617021
# a UDP datagram from port 5000 to 5001, 120 bytes, its data 00 to 5b.
UDP=4500007800034000401125d60a4d00010a4d0002138813890064a52c
UDP+=$(seq_hex 92)

# The tools that read captures: missing, they fail the test (make check
# installs them), since a skipped test would look like a passing one.
need_readers() {
	local tool
	for tool in tshark tcpdump; do
		command -v "$tool" >/dev/null ||
		    fail "$tool is missing: run 'test/need-tools $tool'"
	done
}

@test "tshark reads a TUN capture: each packet, its length, time and direction" {
	need_readers
	LINES=("1700000000123456789 out $PING" "1700000000223456789 in $PONG"
	    "1700000001000000001 out $PING6" "1700000002000000000 in $UDP")
	encode -t tun -s 64 -i tpa -a 'tunpipe 0.1.0'
	[[ $status -eq 0 ]]
	# Direction: 2 outbound, to the stream; 1 inbound, from it.
	run capture_fields "$CAP" frame.time_epoch frame.len frame.cap_len \
	    frame.packet_flags_direction frame.interface_name ip.src ip.dst \
	    ipv6.src ipv6.dst icmp.type icmpv6.type udp.dstport
	expect 0 "$(tabs 1700000000.123456789 36 36 0x00000002 tpa \
	    10.77.0.1 10.77.0.2 '' '' 8 '' '')
$(tabs 1700000000.223456789 36 36 0x00000001 tpa \
	    10.77.0.2 10.77.0.1 '' '' 0 '' '')
$(tabs 1700000001.000000001 53 53 0x00000002 tpa \
	    '' '' fd77::1 fd77::2 '' 128 '')
$(tabs 1700000002.000000000 120 64 0x00000001 tpa \
	    10.77.0.1 10.77.0.2 '' '' '' '' 5001)"

	# Wireshark's own filter for what came from the stream.
	run quiet tshark -n -r "$CAP" -Y 'frame.packet_flags_direction == 1' \
	    -T fields -e frame.number
	expect 0 "2
4"
}

@test "tcpdump reads a TUN capture: each packet decoded, with its time to the nanosecond" {
	need_readers
	LINES=("1700000000123456789 out $PING" "1700000000223456789 in $PONG"
	    "1700000001000000001 out $PING6" "1700000002000000000 in $UDP")
	encode -t tun -s 64 -i tpa -a 'tunpipe 0.1.0'
	[[ $status -eq 0 ]]
	run quiet tcpdump -q -n -tt --nano -r "$CAP"
	expect 0 "1700000000.123456789 IP 10.77.0.1 > 10.77.0.2: ICMP echo request, id 4660, seq 1, length 16
1700000000.223456789 IP 10.77.0.2 > 10.77.0.1: ICMP echo reply, id 4660, seq 1, length 16
1700000001.000000001 IP6 fd77::1 > fd77::2: ICMP6, echo request, id 4660, seq 2, length 13
1700000002.000000000 IP 10.77.0.1.5000 > 10.77.0.2.5001: UDP, length 92"
}

@test "tshark and tcpdump read a TAP capture of Ethernet frames" {
	need_readers
	# An ARP request from 52:54:00:12:34:56 (10.0.0.1) for 10.0.0.2, 60
	# bytes, and the ping in a frame from 52:54:00:12:34:56 to
	# 52:54:00:00:00:02, 50 bytes.
	local arp=ffffffffffff525400123456 # to broadcast, from ...:34:56
	arp+=0806                          # ARP
	arp+=0001080006040001              # Ethernet, IPv4, 6, 4, request
	arp+=5254001234560a000001          # sender
	arp+=0000000000000a000002          # target
	arp+=000000000000000000000000000000000000 # 18 bytes of padding
	LINES=("1700000000000000000 out $arp"
	    "1700000000000001000 in 525400000002525400123456""0800$PING")
	encode -t tap -s 1514 -i tapa
	[[ $status -eq 0 ]]
	run capture_fields "$CAP" frame.len frame.packet_flags_direction \
	    eth.src eth.dst arp.dst.proto_ipv4 ip.src icmp.type
	expect 0 "$(tabs 60 0x00000002 52:54:00:12:34:56 \
	    ff:ff:ff:ff:ff:ff 10.0.0.2 '' '')
$(tabs 50 0x00000001 52:54:00:12:34:56 52:54:00:00:00:02 \
	    '' 10.77.0.1 8)"
	run quiet tcpdump -e -q -n -r "$CAP"
	[[ $status -eq 0 && ${#lines[@]} -eq 2 ]]
	[[ ${lines[0]} == *"52:54:00:12:34:56 > ff:ff:ff:ff:ff:ff, ARP, length 60: Request who-has 10.0.0.2 tell 10.0.0.1"* ]]
	[[ ${lines[1]} == *"52:54:00:12:34:56 > 52:54:00:00:00:02, IPv4, length 50: 10.77.0.1 > 10.77.0.2: ICMP echo request"* ]]
}

@test "tshark shows where a capture lost packets, and how many" {
	need_readers
	# In a room of 100 bytes, the ping fits (80), the UDP datagram (164)
	# does not, and the reply carries the count (92).
	LINES=("1700000000000000000 out $PING" "1700000000100000000 in $UDP"
	    "1700000000200000000 in $PONG")
	encode -t tun -i tpa -r 100
	[[ $status -eq 0 && $(cat "$ERR") == "line 2: dropped: 164 bytes, room 100" ]]
	run capture_fields "$CAP" frame.number ip.src frame.drop_count
	expect 0 "$(tabs 1 10.77.0.1 '')
$(tabs 2 10.77.0.2 1)"
}
