#!/usr/bin/env bats
#
# gso.bats: the offload module (offload.c) through test/offload-driver: GSO
# packets from the device cut into ordinary packets, partial checksums
# finished, TCP segments from the stream merged into GSO packets, and what
# the merge must refuse.  Needs no privilege and no device: build the driver
# with `make test/offload-driver`, then run `bats test/gso.bats`.
#
# Every packet is built below field by field.  Checksums are filled in by
# the driver's `fix`, a reference that sums a byte at a time and shares no
# code with the module (test/packet-ref.c).  The segments a split must give
# are built the same way, with the fields that change spelled out, so a
# segment passes only if every byte is right.

load helpers

setup_file() {
	export DRIVER="$DRIVERS/offload-driver"
}

setup() {
	need_driver || return 1
	F=$BATS_TEST_TMPDIR
}

# --- building packets -----------------------------------------------------

# TCP flags, and the first sequence number of every stream here.
FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128
ISN=1000

# TCP options: NOP, NOP, timestamps (TSval 1234, TSecr 5678): 12 bytes.
TS=0101080a000004d20000162e

# The bytes a stream carries: byte k is k mod 251, so that a byte lost,
# doubled or moved anywhere changes a packet.  stream_hex OFF LEN: bytes
# OFF to OFF + LEN, in hex, cut from 70000 bytes made once here (inside a
# $(...) they could not be kept).
STREAM_HEX=
for ((i = 0; i < 251; i++)); do
	printf -v STREAM_HEX '%s%02x' "$STREAM_HEX" "$i"
done
STREAM_HEX=$(for ((i = 0; i < 279; i++)); do printf '%s' "$STREAM_HEX"; done)
stream_hex() { printf '%s' "${STREAM_HEX:2*($1 % 251):2*$2}"; }

# le16 N: N as the virtio-net header has it, little-endian.
le16() { printf '%02x%02x' $(($1 & 255)) $(($1 >> 8)); }

# vnet FLAGS GSO_TYPE HDR_LEN GSO_SIZE CSUM_START CSUM_OFFSET
vnet() {
	printf '%02x%02x%s%s%s%s' "$1" "$2" "$(le16 "$3")" "$(le16 "$4")" \
	    "$(le16 "$5")" "$(le16 "$6")"
}
ZEROS=00000000000000000000	# the header before a packet sent as it is

# ip4 TOTAL PROTO [ID] [FRAG] [TTL] [TOS]: an IPv4 header from 10.77.0.1 to
# 10.77.0.2; FRAG holds the flags and offset (DF by default).  Its checksum
# is 0 until `fix`.
ip4() {
	printf '45%02x%04x%04x%04x%02x%02x0000%s%s' "${6:-0}" "$1" \
	    "${3:-0x1234}" "${4:-0x4000}" "${5:-64}" "$2" 0a4d0001 0a4d0002
}

# ip6 PAYLOAD NEXT [HOPS] [CLASS_AND_FLOW]: an IPv6 header from fd77::1 to
# fd77::2; the last argument is the 28 bits after the version.
ip6() {
	printf '6%07x%04x%02x%02x%s%s' "${4:-0}" "$1" "$2" "${3:-64}" \
	    fd770000000000000000000000000001 fd770000000000000000000000000002
}

# tcp SEQ FLAGS [OPTIONS] [ACK] [WINDOW] [SPORT] [DPORT] [URGENT]: a TCP
# header, timestamps by default; its checksum is 0 until `fix`.
tcp() {
	local opts=${3-$TS}

	printf '%04x%04x%08x%08x%x0%02x%04x0000%04x%s' "${6:-40000}" \
	    "${7:-5001}" "$1" "${4:-0x01020304}" $(((20 + ${#opts} / 2) / 4)) \
	    "$2" "${5:-501}" "${8:-0}" "$opts"
}

# udp LENGTH: a UDP header from port 40000 to 5002, checksum 0 until `fix`.
udp() { printf '9c40138a%04x0000' "$1"; }

# Ethernet headers for TAP mode, from 02:00:00:00:00:01 to ...:02, plain
# and with an 802.1Q tag (VLAN 100).
ETH=020000000002020000000001
VLAN=81000064

# t4 OFF LEN [FLAGS] [ID]: the IPv4 TCP segment with timestamps that
# carries stream bytes OFF to OFF + LEN, ID 0x1234 unless given.
t4() {
	printf '%s%s%s' "$(ip4 $((52 + $2)) 6 "${4:-0x1234}")" \
	    "$(tcp $((ISN + $1)) "${3:-$ACK}")" "$(stream_hex "$1" "$2")"
}

# t6 OFF LEN [FLAGS]: the same over IPv6.
t6() {
	printf '%s%s%s' "$(ip6 $((32 + $2)) 6)" \
	    "$(tcp $((ISN + $1)) "${3:-$ACK}")" "$(stream_hex "$1" "$2")"
}

# fix [-p] [-T]: fills in the checksums of the packets on stdin, one a line.
fix() { "$DRIVER" fix "$@"; }

# ones_add A B: A + B in ones' complement, 16 bits.
ones_add() {
	local s=$(($1 + $2))

	echo $(((s & 0xffff) + (s >> 16)))
}

# --- the virtio-net header and IP packets --------------------------------

@test "the virtio-net header is read little-endian, and written back the same" {
	run "$DRIVER" vnet <<-EOF
	01013400a80514001000
	0204f1ff000128001000
	00000000000000000000
	02000000000000000000
	0181ffff0200ffff0600
	0105000000000000ffff
	0103000000000000ffff
	EOF
	expect 0 "flags 1 gso_type 1 hdr_len 52 gso_size 1448 csum_start 20 csum_offset 16
flags 2 gso_type 4 hdr_len 65521 gso_size 256 csum_start 40 csum_offset 16
flags 0 gso_type 0 hdr_len 0 gso_size 0 csum_start 0 csum_offset 0
flags 2 gso_type 0 hdr_len 0 gso_size 0 csum_start 0 csum_offset 0
flags 1 gso_type 129 hdr_len 65535 gso_size 2 csum_start 65535 csum_offset 6
flags 1 gso_type 5 hdr_len 0 gso_size 0 csum_start 0 csum_offset 65535
flags 1 gso_type 3 hdr_len 0 gso_size 0 csum_start 0 csum_offset 65535"
}

@test "a virtio-net header the kernel would refuse is refused: unknown flags or types, ECN without TCP, too short" {
	# Flags 4 (RSC_INFO) and 8; types 2, 6, 0x10 (AccECN), 0x20 (a UDP
	# tunnel), 0x80 (ECN) alone and with USO; and 9 bytes.
	run "$DRIVER" vnet <<-EOF
	04000000000000000000
	08000000000000000000
	00020000000000000000
	00060000000000000000
	00110000000000000000
	00210000000000000000
	00800000000000000000
	00850000000000000000
	000000000000000000
	EOF
	expect 0 "refused
refused
refused
refused
refused
refused
refused
refused
refused"
}

@test "an IP packet is known by its version and a length that is the frame's, as tunpipe checks it" {
	# IPv4 of 20 and 21 bytes; IHL 4; a length 1 byte short, 1 byte
	# long; IPv6 of 40 and 41 bytes and 1 byte long; version 5; 19
	# bytes of IPv4 and 39 of IPv6.
	run "$DRIVER" isip <<-EOF
	$(ip4 20 6)
	$(ip4 21 6)ff
	$(ip4 20 6 | sed 's/^45/44/')
	$(ip4 21 6)
	$(ip4 19 6)
	$(ip6 0 59)
	$(ip6 1 59)ff
	$(ip6 1 59)
	$(ip4 20 6 | sed 's/^45/55/')
	$(ip4 19 6 | cut -c1-38)
	$(ip6 0 59 | cut -c1-78)
	EOF
	expect 0 "1
1
0
0
0
1
1
0
0
0
0"
}

# --- finishing partial checksums --------------------------------------

@test "a partial TCP checksum is finished as the simple sum says, for every payload length from 0 to 64" {
	local len want=() frames=() p
	for ((len = 0; len <= 64; len++)); do
		p=$(t4 0 "$len")
		want+=("$p")
		frames+=("$(vnet 1 0 0 0 20 16)$(printf '%s\n' "$p" | fix -p)")
		p=$(t6 7 "$len")
		want+=("$p")
		frames+=("$(vnet 1 0 0 0 40 16)$(printf '%s\n' "$p" | fix -p)")
	done
	printf '%s\n' "${want[@]}" | fix >"$F/want"
	run "$DRIVER" split < <(printf '%s\n' "${frames[@]}")
	expect 0 "$(cat "$F/want")"
	run "$DRIVER" check <<<"$output"
	[[ $output == "$(printf 'ok\n%.0s' "${want[@]}" | head -c -1)" ]]
}

@test "a partial checksum is finished after IPv4 options, in UDP, and from an Ethernet header" {
	local opt udp4 eth
	# IHL 6: one word of options (four NOPs), the TCP header at 24.
	opt=$(ip4 $((24 + 52)) 6 | sed 's/^45/46/')01010101$(tcp 5 $ACK)$(stream_hex 0 20)
	udp4=$(ip4 $((28 + 13)) 17)$(udp 21)$(stream_hex 3 13)
	eth=$ETH${VLAN}86dd$(t6 0 33)
	run "$DRIVER" split <<-EOF
	$(vnet 1 0 0 0 24 16)$(printf '%s\n' "$opt" | fix -p)
	$(vnet 1 0 0 0 20 6)$(printf '%s\n' "$udp4" | fix -p)
	EOF
	expect 0 "$(printf '%s\n' "$opt" "$udp4" | fix)"
	run "$DRIVER" split -T <<<"$(vnet 1 0 0 0 58 16)$(printf '%s\n' "$eth" | fix -T -p)"
	expect 0 "$(printf '%s\n' "$eth" | fix -T)"
}

@test "a partial UDP checksum that sums to zero is sent as ffff" {
	local p c w
	# Makes the checksum 0: the payload's first word w grows by the
	# checksum c it had, so that the sum of the rest becomes ffff.
	p=$(ip4 38 17)$(udp 18)0102030405060708090a
	c=$(printf '%s\n' "$p" | fix | cut -c53-56)
	w=$(ones_add 0x0102 $((16#$c)))
	p=${p:0:56}$(printf '%04x' "$w")${p:60}
	[[ $(printf '%s\n' "$p" | fix | cut -c53-56) == ffff ]]
	run "$DRIVER" split <<<"$(vnet 1 0 0 0 20 6)$(printf '%s\n' "$p" | fix -p)"
	expect 0 "$(printf '%s\n' "$p" | fix)"
	[[ ${output:52:4} == ffff ]]
}

@test "a partial checksum's field must lie inside the packet" {
	local p
	p=$(printf '%s\n' "$(t4 0 10)" | fix -p)	# 62 bytes
	# The last two bytes may hold it; one byte further, or beyond, not.
	run "$DRIVER" split <<-EOF
	$(vnet 1 0 0 0 20 40)$p
	$(vnet 1 0 0 0 20 41)$p
	$(vnet 1 0 0 0 61 0)$p
	$(vnet 1 0 0 0 62 0)$p
	$(vnet 1 0 0 0 65535 65535)$p
	EOF
	[[ ${lines[0]} != refused* && ${#lines[0]} -eq 124 ]]
	expect 0 "${lines[0]}
refused: checksum offsets
refused: checksum offsets
refused: checksum offsets
refused: checksum offsets"
}

@test "a packet without NEEDS_CSUM goes on unchanged, even with a wrong checksum" {
	local p
	p=$(t4 0 10)	# checksums 0
	run "$DRIVER" split <<-EOF
	$ZEROS$p
	$(vnet 2 0 0 0 20 16)$p
	EOF
	expect 0 "$p
$p"
}

# --- cutting GSO packets ----------------------------------------------

@test "IPv4 TCP with timestamps: segments of gso_size, the last shorter, IDs and sequence numbers counted on" {
	# 3000 bytes in segments of 1448: 1448, 1448 and 104.
	local gso
	gso=$(printf '%s\n' "$(t4 0 3000)" | fix -p)
	run "$DRIVER" split <<<"$(vnet 1 1 52 1448 20 16)$gso"
	expect 0 "$(printf '%s\n' "$(t4 0 1448 $ACK 0x1234)" \
	    "$(t4 1448 1448 $ACK 0x1235)" "$(t4 2896 104 $ACK 0x1236)" | fix)"
	run "$DRIVER" check <<<"$output"
	expect 0 "ok
ok
ok"
}

@test "FIN and PSH stay on the last segment only, CWR on the first only; ECE on all" {
	local all=$((FIN | PSH | ACK | ECE | CWR)) gso
	gso=$(printf '%s\n' "$(t4 0 2500 $all)" | fix -p)
	# gso_type TCPV4 | ECN: the kernel's mark for a CWR in the packet.
	run "$DRIVER" split <<<"$(vnet 1 129 52 1000 20 16)$gso"
	expect 0 "$(printf '%s\n' "$(t4 0 1000 $((ACK | ECE | CWR)) 0x1234)" \
	    "$(t4 1000 1000 $((ACK | ECE)) 0x1235)" \
	    "$(t4 2000 500 $((FIN | PSH | ACK | ECE)) 0x1236)" | fix)"
}

@test "IPv6 TCP: payload lengths and sequence numbers, no ID to count" {
	local gso
	gso=$(printf '%s\n' "$(t6 0 4000 $((PSH | ACK)))" | fix -p)
	run "$DRIVER" split <<<"$(vnet 1 4 72 1428 40 16)$gso"
	expect 0 "$(printf '%s\n' "$(t6 0 1428)" "$(t6 1428 1428)" \
	    "$(t6 2856 1144 $((PSH | ACK)))" | fix)"
}

@test "UDP over IPv4 (USO): each segment a datagram with its own length and checksum, IDs counted on" {
	local gso
	gso=$(ip4 $((28 + 2500)) 17)$(udp $((8 + 2500)))$(stream_hex 0 2500)
	gso=$(printf '%s\n' "$gso" | fix -p)
	run "$DRIVER" split <<<"$(vnet 1 5 28 1200 20 6)$gso"
	expect 0 "$(printf '%s\n' \
	    "$(ip4 1228 17 0x1234)$(udp 1208)$(stream_hex 0 1200)" \
	    "$(ip4 1228 17 0x1235)$(udp 1208)$(stream_hex 1200 1200)" \
	    "$(ip4 128 17 0x1236)$(udp 108)$(stream_hex 2400 100)" | fix)"
	run "$DRIVER" check <<<"$output"
	expect 0 "ok
ok
ok"
}

@test "UDP over IPv6 (USO): datagrams with their lengths, and a checksum that sums to zero sent as ffff" {
	local gso seg2 c w
	# The second datagram's first payload word is chosen so that its
	# checksum sums to zero (see the finishing test above).
	seg2=$(ip6 1008 17)$(udp 1008)$(stream_hex 1000 1000)
	c=$(printf '%s\n' "$seg2" | fix | cut -c93-96)
	w=$(ones_add $((16#${seg2:96:4})) $((16#$c)))
	gso=$(stream_hex 0 1000)$(printf '%04x' "$w")$(stream_hex 1002 1498)
	seg2=${seg2:0:96}$(printf '%04x' "$w")${seg2:100}
	run "$DRIVER" split <<<"$(vnet 1 5 48 1000 40 6)$(printf '%s\n' \
	    "$(ip6 2508 17)$(udp 2508)$gso" | fix -p)"
	expect 0 "$(printf '%s\n' "$(ip6 1008 17)$(udp 1008)${gso:0:2000}" \
	    "$seg2" "$(ip6 508 17)$(udp 508)${gso:4000}" | fix)"
	[[ ${lines[1]:92:4} == ffff ]]
}

@test "TAP: the Ethernet header goes on every segment, and csum_start counts from it" {
	local gso
	gso=$(printf '%s\n' "${ETH}0800$(t4 0 2000)" | fix -T -p)
	run "$DRIVER" split -T <<<"$(vnet 1 1 66 1448 34 16)$gso"
	expect 0 "$(printf '%s\n' "${ETH}0800$(t4 0 1448)" \
	    "${ETH}0800$(t4 1448 552 $ACK 0x1235)" | fix -T)"
}

@test "TAP: an 802.1Q tag goes on every segment, and csum_start counts it" {
	local gso
	gso=$(printf '%s\n' "$ETH${VLAN}86dd$(t6 0 2000)" | fix -T -p)
	run "$DRIVER" split -T <<<"$(vnet 1 4 90 1400 58 16)$gso"
	expect 0 "$(printf '%s\n' "$ETH${VLAN}86dd$(t6 0 1400)" \
	    "$ETH${VLAN}86dd$(t6 1400 600)" | fix -T)"
}

@test "a 64 KiB GSO packet becomes 45 segments of 1448 bytes and one of 323" {
	local i want=() gso
	# 65535 bytes of IPv4: 52 of headers, 65483 of payload.
	gso=$(printf '%s\n' "$(t4 0 65483 $((PSH | ACK)) 0xfff0)" | fix -p)
	for ((i = 0; i < 45; i++)); do
		want+=("$(t4 $((i * 1448)) 1448 $ACK $(((0xfff0 + i) & 0xffff)))")
	done
	want+=("$(t4 65160 323 $((PSH | ACK)) $(((0xfff0 + 45) & 0xffff)))")
	printf '%s\n' "${want[@]}" | fix >"$F/want"
	run "$DRIVER" split <<<"$(vnet 1 1 52 1448 20 16)$gso"
	[[ ${#lines[@]} -eq 46 ]]
	expect 0 "$(cat "$F/want")"
}

@test "a GSO packet whose payload fits in one segment, or has none, gives one packet" {
	local one none
	one=$(t4 0 1448 $((PSH | ACK)))
	none=$(t4 0 0)
	run "$DRIVER" split <<-EOF
	$(vnet 1 1 52 1448 20 16)$(printf '%s\n' "$one" | fix -p)
	$(vnet 1 1 52 1448 20 16)$(printf '%s\n' "$none" | fix -p)
	EOF
	expect 0 "$(printf '%s\n' "$one" "$none" | fix)"
}

@test "the kernel's hdr_len is a hint: whatever it says, the headers are read from the packet" {
	local gso want
	gso=$(printf '%s\n' "$(t4 0 300)" | fix -p)
	want=$(printf '%s\n' "$(t4 0 100)" "$(t4 100 100 $ACK 0x1235)" \
	    "$(t4 200 100 $ACK 0x1236)" | fix)
	# 352: the whole packet, as the kernel may say when it forwards.
	run "$DRIVER" split <<<"$(vnet 1 1 352 100 20 16)$gso"
	expect 0 "$want"
	run "$DRIVER" split <<<"$(vnet 1 1 0 100 20 16)$gso"
	expect 0 "$want"
}

@test "a GSO packet that cannot be cut is refused, not mangled" {
	local t=$(t4 0 300) u
	u=$(ip4 $((28 + 300)) 17)$(udp 308)$(stream_hex 0 300)
	run "$DRIVER" split <<-EOF
	$(vnet 1 1 52 0 20 16)$(fix -p <<<"$t")
	$(vnet 1 4 52 100 20 16)$(fix -p <<<"$t")
	$(vnet 1 1 72 100 40 16)$(fix -p <<<"$(t6 0 300)")
	$(vnet 1 5 28 100 20 6)$(fix -p <<<"$t")
	$(vnet 1 1 28 100 20 16)$(fix -p <<<"$u")
	$(vnet 1 3 28 100 20 6)$(fix -p <<<"$u")
	$(vnet 1 1 52 100 21 16)$(fix -p <<<"$t")
	$(vnet 1 1 52 100 20 17)$(fix -p <<<"$t")
	$(vnet 1 5 28 100 20 16)$(fix -p <<<"$u")
	$(vnet 1 1 52 100 20 16)$(fix -p <<<"$t")00
	$(vnet 1 1 52 100 20 16)$(fix -p <<<"$(ip4 352 6 0x1234 0x2000)${t:40}")
	$(vnet 1 1 52 100 20 16)$(fix -p <<<"$(ip4 352 6 0x1234 0x0001)${t:40}")
	$(vnet 1 4 72 100 40 16)$(ip6 340 0)0600010400000000$(tcp 0 $ACK)$(stream_hex 0 300)
	$(vnet 1 1 52 100 20 16)${t:0:64}4${t:65}
	$(vnet 1 1 52 100 20 16)$(ip4 39 6)$(tcp 0 $ACK | cut -c1-38)
	EOF
	# gso_size 0; TCPV6 on IPv4, TCPV4 on IPv6; USO on TCP, TCPV4 on
	# UDP; UFO; csum_start and csum_offset off by one; USO with TCP's
	# offset; a byte after the IP packet; MF set, an offset; an IPv6
	# hop-by-hop header; a TCP data offset of 4 words; a TCP header cut
	# short.
	expect 0 "$(printf 'refused: GSO packet\n%.0s' {1..15} | head -c -1)"
	# TAP: ARP; an IPv4 packet said to be IPv6; a frame cut in the
	# Ethernet header, and one cut in its tag.
	run "$DRIVER" split -T <<-EOF
	$(vnet 1 1 66 100 34 16)${ETH}0806$t
	$(vnet 1 1 66 100 34 16)${ETH}86dd$t
	$(vnet 1 1 66 100 34 16)${ETH}08
	$(vnet 1 1 66 100 34 16)${ETH}810000
	EOF
	expect 0 "$(printf 'refused: GSO packet\n%.0s' {1..4} | head -c -1)"
}

@test "a split never readied by offload_split_begin(), or refused by it, gives no segment" {
	# The driver checks that each refused split of the test above
	# offers no segment; here, a split left zeroed cuts nothing.
	run "$DRIVER" split -Z <<-EOF
	$(vnet 1 1 52 1448 20 16)$(fix -p <<<"$(t4 0 5000)")
	$(vnet 1 4 72 1000 40 16)$(fix -p <<<"$(t6 0 3001)")
	EOF
	expect 0 ""
	run "$DRIVER" split <<<"$(vnet 1 1 52 1448 20 16)$(fix -p <<<"$(t4 0 5000)")"
	[[ $status -eq 0 && ${#lines[@]} -eq 4 ]]
}

# --- merging segments ---------------------------------------------------

# merged4 LEN FLAGS MSS: the GSO packet that IPv4 segments carrying stream
# bytes 0 to LEN merge into, its virtio-net header first: the first
# segment's headers, with the whole length, PSH as FLAGS say, and the
# pseudo-header's sum in the checksum field.
merged4() {
	printf '%s%s' "$(vnet 1 1 52 "$3" 20 16)" \
	    "$(fix -p <<<"$(t4 0 "$1" "$2")")"
}

# apart PACKET...: each packet sent alone, after a header of zeros.
apart() {
	local p

	for p; do
		printf '%s%s\n' "$ZEROS" "$p"
	done
}

@test "IPv4 TCP segments, the last one short, merge into one GSO packet: length, ID, PSH, partial checksum" {
	fix >"$F/in" <<-EOF
	$(t4 0 1448 $ACK 0x1234)
	$(t4 1448 1448 $ACK 0x1235)
	$(t4 2896 1448 $ACK 0x1236)
	$(t4 4344 1448 $ACK 0x1237)
	$(t4 5792 600 $((PSH | ACK)) 0x1238)
	EOF
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(merged4 6392 $((PSH | ACK)) 1448)"
}

@test "IPv6 TCP segments merge into one GSO packet" {
	fix >"$F/in" <<-EOF
	$(t6 0 1000)
	$(t6 1000 1000)
	$(t6 2000 1000)
	EOF
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(vnet 1 4 72 1000 40 16)$(fix -p <<<"$(t6 0 3000)")"
}

@test "TAP: segments with an 802.1Q tag merge; hdr_len and csum_start count the Ethernet header" {
	fix -T >"$F/in" <<-EOF
	$ETH${VLAN}0800$(t4 0 500)
	$ETH${VLAN}0800$(t4 500 500 $ACK 0x1235)
	EOF
	run "$DRIVER" merge -T <"$F/in"
	expect 0 "$(vnet 1 1 70 500 38 16)$(fix -T -p <<<"$ETH${VLAN}0800$(t4 0 1000)")"
}

@test "a merge that offload_merge_init() never readied merges nothing, not even segments that merge in either mode" {
	fix >"$F/in" <<-EOF
	$(t4 0 1000 $ACK 0x1234)
	$(t4 1000 1000 $ACK 0x1235)
	$(t4 2000 1000 $ACK 0x1236)
	EOF
	fix -T >"$F/tap" <<-EOF
	${ETH}0800$(t4 0 1000 $ACK 0x1234)
	${ETH}0800$(t4 1000 1000 $ACK 0x1235)
	EOF
	# Readied, each run merges into one packet...
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(merged4 3000 $ACK 1000)"
	run "$DRIVER" merge -T <"$F/tap"
	[[ $status -eq 0 && ${#lines[@]} -eq 1 ]]
	# ...but left zeroed, the merge is in neither mode.
	run "$DRIVER" merge -Z <"$F/in"
	expect 0 "$(apart $(cat "$F/in"))"
	run "$DRIVER" merge -Z <"$F/tap"
	expect 0 "$(apart $(cat "$F/tap"))"
}

@test "a packet that cannot be merged goes alone and unchanged, after a header of zeros" {
	local udp4 arp
	udp4=$(fix <<<"$(ip4 38 17)$(udp 18)0102030405060708090a")
	arp=${ETH}0806000108000604000102000000000100000000000000000000
	printf '%s\n' "$udp4" "$(fix <<<"$(t4 0 100)")" >"$F/in"
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(apart $(cat "$F/in"))"
	printf '%s\n' "$arp" >"$F/in"
	run "$DRIVER" merge -T <"$F/in"
	expect 0 "$(apart "$arp")"
}

# run_merge PACKET...: fixes the packets and merges them in one read.
run_merge() {
	printf '%s\n' "$@" | fix >"$F/in"
	run "$DRIVER" merge <"$F/in"
	[[ $status -eq 0 ]] || fail "merge failed: $output"
}

# Three segments that merge; each refusal test changes the second, which
# must then travel alone, and so must the first and the third.
A=$(t4 0 1000 $ACK 0x1234)
C=$(t4 2000 1000 $ACK 0x1236)

# refused B: B, in place of the second segment, merges with neither
# neighbour.
refused() {
	run_merge "$A" "$1" "$C"
	expect 0 "$(apart $(cat "$F/in"))"
}

@test "merge: the three segments the refusal tests change do merge" {
	run_merge "$A" "$(t4 1000 1000 $ACK 0x1235)" "$C"
	expect 0 "$(merged4 3000 $ACK 1000)"
}

@test "merge refuses: other ports" {
	refused "$(ip4 1052 6 0x1235)$(tcp 2000 $ACK "$TS" 0x01020304 501 40001)$(stream_hex 1000 1000)"
	refused "$(ip4 1052 6 0x1235)$(tcp 2000 $ACK "$TS" 0x01020304 501 40000 5002)$(stream_hex 1000 1000)"
}

@test "merge refuses: other addresses" {
	local b
	b=$(t4 1000 1000 $ACK 0x1235)
	refused "${b:0:30}0a4d0003${b:38}"
	refused "${b:0:38}0a4d0003${b:46}"
}

@test "merge refuses: a gap in the sequence, or an overlap" {
	refused "$(ip4 1052 6 0x1235)$(tcp 2001 $ACK)$(stream_hex 1000 1000)"
	refused "$(ip4 1052 6 0x1235)$(tcp 1999 $ACK)$(stream_hex 1000 1000)"
}

@test "merge refuses: another ACK number" {
	refused "$(ip4 1052 6 0x1235)$(tcp 2000 $ACK "$TS" 0x01020305)$(stream_hex 1000 1000)"
}

@test "merge refuses: another window" {
	refused "$(ip4 1052 6 0x1235)$(tcp 2000 $ACK "$TS" 0x01020304 502)$(stream_hex 1000 1000)"
}

@test "merge refuses: other TCP options, in their bytes or their length" {
	refused "$(ip4 1052 6 0x1235)$(tcp 2000 $ACK 0101080a000004d30000162e)$(stream_hex 1000 1000)"
	refused "$(ip4 1040 6 0x1235)$(tcp 2000 $ACK '')$(stream_hex 1000 1000)"
	refused "$(ip4 1056 6 0x1235)$(tcp 2000 $ACK "${TS}01010101")$(stream_hex 1000 1000)"
}

# alike FLAGS [FRAG]: two segments that differ only as a split makes
# them differ, both with FLAGS and the IPv4 flags and offset FRAG, travel
# apart.
alike() {
	run_merge "$(ip4 1052 6 0x1234 "${2:-0x4000}")$(tcp 1000 "$1")$(stream_hex 0 1000)" \
	    "$(ip4 1052 6 0x1235 "${2:-0x4000}")$(tcp 2000 "$1")$(stream_hex 1000 1000)"
	expect 0 "$(apart $(cat "$F/in"))"
}

@test "merge refuses: SYN, FIN, RST or URG" {
	local flag
	for flag in $SYN $FIN $RST $URG; do
		refused "$(t4 1000 1000 $((ACK | flag)) 0x1235)"
		alike $((ACK | flag))
	done
}

@test "merge refuses: CWR, even on a first segment" {
	refused "$(t4 1000 1000 $((ACK | CWR)) 0x1235)"
	alike $((ACK | CWR))
	run_merge "$(t4 0 1000 $((ACK | CWR)))" "$(t4 1000 1000 $ACK 0x1235)"
	expect 0 "$(apart $(cat "$F/in"))"
}

@test "merge refuses: a segment without ACK" {
	refused "$(t4 1000 1000 0 0x1235)"
	alike 0
}

@test "merge refuses: a segment without payload" {
	refused "$(ip4 52 6 0x1235)$(tcp 2000 $ACK)"
}

@test "merge: PSH ends a batch, after the segment that has it" {
	run_merge "$A" "$(t4 1000 1000 $((PSH | ACK)) 0x1235)" "$C"
	expect 0 "$(merged4 2000 $((PSH | ACK)) 1000)
$ZEROS$(sed -n 3p "$F/in")"
}

@test "merge refuses: other urgent pointer, even without URG" {
	refused "$(ip4 1052 6 0x1235)$(tcp 2000 $ACK "$TS" 0x01020304 501 40000 5001 7)$(stream_hex 1000 1000)"
}

@test "merge refuses: IPv4 options" {
	refused "$(ip4 1056 6 0x1235 | sed 's/^45/46/')01010101$(tcp 2000 $ACK)$(stream_hex 1000 1000)"
	run_merge "$(ip4 1056 6 | sed 's/^45/46/')01010101$(tcp 1000 $ACK)$(stream_hex 0 1000)" \
	    "$(ip4 1056 6 0x1235 | sed 's/^45/46/')01010101$(tcp 2000 $ACK)$(stream_hex 1000 1000)"
	expect 0 "$(apart $(cat "$F/in"))"
}

@test "merge refuses: a fragment, or the reserved IP flag" {
	local frag
	for frag in 0x6000 0x4001 0xc000; do	# MF, an offset, reserved
		refused "$(ip4 1052 6 0x1235 $frag)$(tcp 2000 $ACK)$(stream_hex 1000 1000)"
		alike $ACK $frag
	done
}

@test "merge refuses: another DF" {
	refused "$(ip4 1052 6 0x1235 0)$(tcp 2000 $ACK)$(stream_hex 1000 1000)"
}

@test "merge refuses: another TTL" {
	refused "$(ip4 1052 6 0x1235 0x4000 63)$(tcp 2000 $ACK)$(stream_hex 1000 1000)"
}

@test "merge refuses: another ToS, ECN bits included" {
	refused "$(ip4 1052 6 0x1235 0x4000 64 0x10)$(tcp 2000 $ACK)$(stream_hex 1000 1000)"
	refused "$(ip4 1052 6 0x1235 0x4000 64 3)$(tcp 2000 $ACK)$(stream_hex 1000 1000)"
}

@test "merge refuses: IPv4 IDs that do not count up by one" {
	refused "$(t4 1000 1000 $ACK 0x1234)"
	refused "$(t4 1000 1000 $ACK 0x1236)"
	# ffff is followed by 0000.
	run_merge "$(t4 0 1000 $ACK 0xffff)" "$(t4 1000 1000 $ACK 0)"
	expect 0 "$(vnet 1 1 52 1000 20 16)$(fix -p <<<"$(t4 0 2000 $ACK 0xffff)")"
}

@test "merge refuses: a wrong TCP checksum, or IPv4 header checksum" {
	local b
	b=$(fix <<<"$(t4 1000 1000 $ACK 0x1235)")
	printf '%s\n' "$A" "${b:0:72}$(printf '%04x' $((16#${b:72:4} ^ 1)))${b:76}" \
	    "$C" >"$F/raw"
	fix <<<"$A" >"$F/in"
	sed -n 2p "$F/raw" >>"$F/in"
	fix <<<"$C" >>"$F/in"
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(apart $(cat "$F/in"))"
	[[ $("$DRIVER" check < <(sed -n 2p "$F/in")) == "wrong TCP checksum" ]]

	fix <<<"$A" >"$F/in"
	printf '%s\n' "${b:0:20}$(printf '%04x' $((16#${b:20:4} ^ 1)))${b:24}" >>"$F/in"
	fix <<<"$C" >>"$F/in"
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(apart $(cat "$F/in"))"
	[[ $("$DRIVER" check < <(sed -n 2p "$F/in")) == "wrong IPv4 header checksum" ]]
}

@test "merge refuses: a TCP checksum of zero written ffff, which a split writes 0000" {
	local b c w
	# B's first payload word is chosen so that its checksum is 0000;
	# ffff says the same in ones' complement, but a split would not
	# write it, so the merged packet would not split back the same.
	b=$(t4 1000 1000 $ACK 0x1235)
	c=$(fix <<<"$b" | cut -c73-76)
	w=$(ones_add $((16#${b:104:4})) $((16#$c)))
	b=$(fix <<<"${b:0:104}$(printf '%04x' "$w")${b:108}")
	[[ ${b:72:4} == 0000 ]]
	printf '%s\n' "$(fix <<<"$A")" "$b" "$(fix <<<"$C")" >"$F/in"
	run "$DRIVER" merge <"$F/in"
	[[ ${#lines[@]} -eq 1 ]]
	printf '%s\n' "$(fix <<<"$A")" "${b:0:72}ffff${b:76}" "$(fix <<<"$C")" >"$F/in"
	[[ $("$DRIVER" check < <(sed -n 2p "$F/in")) == ok ]]
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(apart $(cat "$F/in"))"
}

@test "merge refuses: a segment larger than the first; a segment after a shorter one" {
	# The larger one starts a batch of its own, which the next joins.
	run_merge "$(t4 0 1000)" "$(t4 1000 1200 $ACK 0x1235)" "$(t4 2200 1000 $ACK 0x1236)"
	expect 0 "$ZEROS$(sed -n 1p "$F/in")
$(vnet 1 1 52 1200 20 16)$(fix -p <<<"$(t4 1000 2200 $ACK 0x1235)")"
	run_merge "$(t4 0 1000)" "$(t4 1000 500 $ACK 0x1235)" "$(t4 1500 1000 $ACK 0x1236)"
	expect 0 "$(merged4 1500 $ACK 1000)
$ZEROS$(sed -n 3p "$F/in")"
}

@test "merge refuses: beyond 65535 bytes of IP packet; up to it, it merges" {
	local i segs=()
	# 46 segments: 45 of 1448 and one of 323 make exactly 65535 bytes.
	for ((i = 0; i < 45; i++)); do
		segs+=("$(t4 $((i * 1448)) 1448 $ACK $((0x1234 + i)))")
	done
	run_merge "${segs[@]}" "$(t4 65160 323 $ACK $((0x1234 + 45)))"
	expect 0 "$(merged4 65483 $ACK 1448)"
	# A 46th of 1448 does not fit: it starts the next batch.
	run_merge "${segs[@]}" "$(t4 65160 1448 $ACK $((0x1234 + 45)))" \
	    "$(t4 66608 1448 $ACK $((0x1234 + 46)))"
	expect 0 "$(merged4 65160 $ACK 1448)
$(vnet 1 1 52 1448 20 16)$(fix -p <<<"$(t4 65160 2896 $ACK $((0x1234 + 45)))")"
}

@test "merge refuses: a 65th segment" {
	local i segs=()
	for ((i = 0; i < 66; i++)); do
		segs+=("$(t4 $((i * 100)) 100 $ACK $((0x1234 + i)))")
	done
	run_merge "${segs[@]}"
	expect 0 "$(merged4 6400 $ACK 100)
$(vnet 1 1 52 100 20 16)$(fix -p <<<"$(t4 6400 200 $ACK $((0x1234 + 64)))")"
}

@test "merge refuses: IPv6 with another traffic class, flow label or hop limit" {
	local a6 c6 b
	a6=$(t6 0 1000)
	c6=$(t6 2000 1000)
	for b in "$(ip6 1032 6 64 0x0100000)" "$(ip6 1032 6 64 0x0000001)" \
	    "$(ip6 1032 6 63)"; do
		run_merge "$a6" "$b$(tcp 2000 $ACK)$(stream_hex 1000 1000)" "$c6"
		expect 0 "$(apart $(cat "$F/in"))"
	done
}

@test "merge refuses: IPv6 extension headers" {
	local a6 b
	# A destination options header (60) of 8 bytes, padding only.
	a6=$(ip6 1040 60)0600010400000000$(tcp 1000 $ACK)$(stream_hex 0 1000)
	b=$(ip6 1040 60)0600010400000000$(tcp 2000 $ACK)$(stream_hex 1000 1000)
	printf '%s\n' "$a6" "$b" >"$F/in"
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(apart "$a6" "$b")"
}

@test "merge refuses, in TAP mode: another Ethernet address, VLAN or priority, or no tag" {
	local b
	# Another destination, source, VLAN (101), priority (5), no tag.
	for b in "020000000003${ETH:12}$VLAN 0800" "${ETH:0:12}020000000003$VLAN 0800" \
	    "${ETH}81000065 0800" "${ETH}8100a064 0800" "${ETH}0800"; do
		b=${b// /}
		fix -T >"$F/in" <<-EOF
		$ETH${VLAN}0800$A
		$b$(t4 1000 1000 $ACK 0x1235)
		$ETH${VLAN}0800$C
		EOF
		run "$DRIVER" merge -T <"$F/in"
		expect 0 "$(apart $(cat "$F/in"))"
	done
}

@test "merge refuses, in TAP mode: frames that are not Ethernet-framed IP, whatever their bytes say read as IP" {
	local a b a6 b6 eth cases=() c
	# Read as IP from their first byte, as in TUN mode, these pairs merge.
	a=$(lookalike 1000 7) b=$(lookalike 1100 8)
	run "$DRIVER" merge <<<"$a"$'\n'"$b"
	[[ $status -eq 0 && ${#lines[@]} -eq 1 && $output != "$ZEROS"* ]]
	cases+=("$a $b")
	a=$(fix <<<"$(t4 0 1000)") b=$(fix <<<"$(t4 1000 1000 $ACK 0x1235)")
	cases+=("$a $b")
	# Ethernet, but the type says another IP version than the packet's,
	# or two tags, or an 802.1ad tag: each pair of segments would merge
	# behind a header of one tag and the right type.
	a6=$(t6 0 1000) b6=$(t6 1000 1000)
	a=$(t4 0 1000) b=$(t4 1000 1000 $ACK 0x1235)
	for c in "${ETH}86dd $a $b" "${ETH}0800 $a6 $b6" \
	    "$ETH$VLAN${VLAN}0800 $a $b" "${ETH}88a80064${VLAN}0800 $a $b" \
	    "${ETH}88a80064${VLAN}86dd $a6 $b6"; do
		read -r eth a b <<<"$c"
		cases+=("$eth$(fix <<<"$a") $eth$(fix <<<"$b")")
	done
	for c in "${cases[@]}"; do
		read -r a b <<<"$c"
		run "$DRIVER" merge -T <<<"$a"$'\n'"$b"
		expect 0 "$(apart "$a" "$b")"
	done
}

# --- round trips --------------------------------------------------------

@test "split then merge gives the GSO packet back: IPv4, IPv6, TAP, 64 KiB" {
	local frame
	for frame in \
	    "$(vnet 1 1 52 1448 20 16)$(fix -p <<<"$(t4 0 5000 $((PSH | ACK)))")" \
	    "$(vnet 1 4 72 1000 40 16)$(fix -p <<<"$(t6 0 3001)")" \
	    "$(vnet 1 1 66 1448 34 16)$(fix -T -p <<<"${ETH}0800$(t4 0 2896)")" \
	    "$(vnet 1 1 52 1448 20 16)$(fix -p <<<"$(t4 0 65483 $((PSH | ACK)))")"; do
		if [[ $frame == "$(vnet 1 1 66 1448 34 16)"* ]]; then
			"$DRIVER" split -T <<<"$frame" >"$F/segs"
			run "$DRIVER" merge -T <"$F/segs"
		else
			"$DRIVER" split <<<"$frame" >"$F/segs"
			run "$DRIVER" merge <"$F/segs"
		fi
		[[ $(wc -l <"$F/segs") -gt 1 ]]
		expect 0 "$frame"
	done
}

@test "merge then split gives the segments back, each flow's in order, whatever was merged or refused" {
	fix >"$F/in" <<-EOF
	$(t4 0 1000)
	$(t4 1000 1000 $ACK 0x1235)
	$(ip4 38 17)$(udp 18)0102030405060708090a
	$(t4 2000 1000 $ACK 0x1236)
	$(t4 3000 1000 $((PSH | ACK)) 0x1237)
	$(t6 0 700)
	$(t6 700 700)
	$(t6 1400 1 $((FIN | ACK)))
	$(t4 4000 10 $((ACK | CWR)) 0x1238)
	$(t4 4010 10 $ACK 0x1239)
	$(t4 4020 9 $ACK 0x123a)
	EOF
	"$DRIVER" merge <"$F/in" >"$F/merged"
	# Three batches merged, three packets alone: the UDP, FIN and CWR; the
	# UDP datagram, of another flow, does not cut the first IPv4 run.
	[[ $(grep -c "^$ZEROS" "$F/merged") -eq 3 ]]
	[[ $(wc -l <"$F/merged") -eq 6 ]]
	"$DRIVER" split <"$F/merged" >"$F/out"
	[[ $(sort "$F/out") == "$(sort "$F/in")" ]]
	# Each flow's packets in the order they came: IPv4 TCP, IPv6 TCP, UDP.
	for flow in '^45.{14}06' '^6' '^45.{14}11'; do
		[[ $(grep -E "$flow" "$F/out") == "$(grep -E "$flow" "$F/in")" ]] ||
		    fail "flow $flow out of order"
	done
}

@test "merge: the runs of several flows interleaved in one read each merge, in order" {
	fix >"$F/in" <<-EOF
	$(t4 0 1000 $ACK 0x1234)
	$(t6 0 700)
	$(ip4 1052 6 0x0100)$(tcp 0 $ACK "$TS" 0x01020304 501 40001)$(stream_hex 0 1000)
	$(t4 1000 1000 $ACK 0x1235)
	$(t6 700 700)
	$(ip4 1052 6 0x0101)$(tcp 1000 $ACK "$TS" 0x01020304 501 40001)$(stream_hex 1000 1000)
	$(t4 2000 1000 $ACK 0x1236)
	EOF
	"$DRIVER" merge <"$F/in" >"$F/merged"
	# Three GSO packets, one a flow, oldest first; none alone.
	[[ $(wc -l <"$F/merged") -eq 3 && $(grep -c "^$ZEROS" "$F/merged") -eq 0 ]]
	[[ $(sed -n 1p "$F/merged") == "$(merged4 3000 $ACK 1000)" ]]
	[[ $(sed -n 2p "$F/merged") == "$(vnet 1 4 72 700 40 16)$(fix -p <<<"$(t6 0 1400)")" ]]
	"$DRIVER" split <"$F/merged" >"$F/out"
	[[ $(sort "$F/out") == "$(sort "$F/in")" ]]
	[[ $(grep 9c41 "$F/out") == "$(grep 9c41 "$F/in")" ]]
}

@test "merge: a packet of no flow keeps its place among all the others" {
	local icmp
	icmp=$(ip4 28 1)0800f7ff00000000	# an echo request
	{
		fix <<<"$(t4 0 1000 $ACK 0x1234)"
		echo "$icmp"
		fix <<<"$(t4 1000 1000 $ACK 0x1235)"
	} >"$F/in"
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(apart $(cat "$F/in"))"
}

@test "merge: with more flows than it holds, the oldest goes first, and every packet arrives" {
	local i
	# seg FLOW OFF: a segment of one of nine connections, by source port.
	seg() {
		printf '%s\n' "$(ip4 1052 6 $((0x0100 + $2 / 1000)))$(tcp "$2" $ACK "$TS" 0x01020304 501 $((41000 + $1)))$(stream_hex "$2" 1000)"
	}
	{
		for i in $(seq 0 7); do seg "$i" 0; done
		for i in $(seq 0 7); do seg "$i" 1000; done
		seg 8 0		# a ninth flow: the oldest, the first, goes
		seg 0 2000	# the first again: the next oldest goes
	} | fix >"$F/in"
	"$DRIVER" merge <"$F/in" >"$F/merged"
	# Eight flows of two segments each merge; the ninth's segment and the
	# first's third go alone, the third after the first's two.
	[[ $(wc -l <"$F/merged") -eq 10 ]]
	[[ $(grep -vc "^$ZEROS" "$F/merged") -eq 8 ]]
	"$DRIVER" split <"$F/merged" >"$F/out"
	[[ $(sort "$F/out") == "$(sort "$F/in")" ]]
	[[ $(grep -E '^.{40}a028' "$F/out") == "$(grep -E '^.{40}a028' "$F/in")" ]]
}

# u4 OFF LEN [ID] [SPORT]: the IPv4 UDP datagram that carries stream bytes
# OFF to OFF + LEN, ID 0x1234 unless given; u6 OFF LEN: over IPv6.
u4() {
	printf '%s%04x138a%04x0000%s' "$(ip4 $((28 + $2)) 17 "${3:-0x1234}")" \
	    "${4:-40000}" $((8 + $2)) "$(stream_hex "$1" "$2")"
}
u6() {
	printf '%s%s%s' "$(ip6 $((8 + $2)) 17)" "$(udp $((8 + $2)))" \
	    "$(stream_hex "$1" "$2")"
}

# merged_udp4 LEN MSS: the GSO packet that datagrams of MSS bytes, LEN in
# all, from stream byte 0, merge into.
merged_udp4() {
	printf '%s%s' "$(vnet 1 5 28 "$2" 20 6)" "$(fix -p <<<"$(u4 0 "$1")")"
}

@test "UDP over IPv4: datagrams of one size, the last one short, merge into one USO packet: lengths, partial checksum" {
	fix >"$F/in" <<-EOF
	$(u4 0 1200 0x1234)
	$(u4 1200 1200 0x1235)
	$(u4 2400 1200 0x1236)
	$(u4 3600 50 0x1237)
	EOF
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(merged_udp4 3650 1200)"
	run "$DRIVER" split <<<"$output"
	expect 0 "$(cat "$F/in")"
}

@test "UDP over IPv6 merges into one USO packet, and splits back" {
	fix >"$F/in" <<-EOF
	$(u6 0 1000)
	$(u6 1000 1000)
	$(u6 2000 999)
	EOF
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(vnet 1 5 48 1000 40 6)$(fix -p <<<"$(u6 0 2999)")"
	run "$DRIVER" split <<<"$output"
	expect 0 "$(cat "$F/in")"
}

@test "TAP: UDP datagrams merge behind their Ethernet header" {
	fix -T >"$F/in" <<-EOF
	${ETH}0800$(u4 0 500)
	${ETH}0800$(u4 500 500 0x1235)
	EOF
	run "$DRIVER" merge -T <"$F/in"
	expect 0 "$(vnet 1 5 42 500 34 6)$(fix -T -p <<<"${ETH}0800$(u4 0 1000)")"
}

@test "UDP merges only where the device takes USO; TCP only where it takes TSO" {
	fix >"$F/in" <<-EOF
	$(u4 0 1200 0x1234)
	$(u4 1200 1200 0x1235)
	EOF
	run "$DRIVER" merge -t <"$F/in"
	expect 0 "$(apart $(cat "$F/in"))"
	run "$DRIVER" merge -u <"$F/in"
	expect 0 "$(merged_udp4 2400 1200)"
	fix >"$F/in" <<-EOF
	$(t4 0 1000 $ACK 0x1234)
	$(t4 1000 1000 $ACK 0x1235)
	EOF
	run "$DRIVER" merge -u <"$F/in"
	expect 0 "$(apart $(cat "$F/in"))"
}

# udp_refused B: B, as the second of three datagrams, merges with neither.
udp_refused() {
	{
		fix <<<"$(u4 0 1000 0x1234)"
		printf '%s\n' "$1"
		fix <<<"$(u4 2000 1000 0x1236)"
	} >"$F/in"
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(apart $(cat "$F/in"))"
}

@test "UDP merge refuses: a wrong checksum, or none (0) over IPv4" {
	local b
	b=$(fix <<<"$(u4 1000 1000 0x1235)")
	udp_refused "${b:0:52}$(printf '%04x' $((16#${b:52:4} ^ 1)))${b:56}"
	udp_refused "${b:0:52}0000${b:56}"
	[[ $("$DRIVER" check <<<"${b:0:52}$(printf '%04x' $((16#${b:52:4} ^ 1)))${b:56}") == "wrong UDP checksum" ]]
}

@test "UDP merge refuses: IPv4 options, a fragment, IDs that do not count on" {
	udp_refused "$(fix <<<"$(ip4 1032 17 0x1235 | sed 's/^45/46/')01010101$(udp 1008)$(stream_hex 1000 1000)")"
	udp_refused "$(fix <<<"$(ip4 1028 17 0x1235 0x2000)$(udp 1008)$(stream_hex 1000 1000)")"
	udp_refused "$(fix <<<"$(u4 1000 1000 0x1237)")"
}

@test "UDP merge refuses: another TTL, ToS or DF; a larger datagram; one after a shorter" {
	udp_refused "$(fix <<<"$(ip4 1028 17 0x1235 0x4000 63)$(udp 1008)$(stream_hex 1000 1000)")"
	udp_refused "$(fix <<<"$(ip4 1028 17 0x1235 0x4000 64 4)$(udp 1008)$(stream_hex 1000 1000)")"
	udp_refused "$(fix <<<"$(ip4 1028 17 0x1235 0)$(udp 1008)$(stream_hex 1000 1000)")"
	fix >"$F/in" <<-EOF
	$(u4 0 1000 0x1234)
	$(u4 1000 1001 0x1235)
	EOF
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(apart $(cat "$F/in"))"
	fix >"$F/in" <<-EOF
	$(u4 0 1000 0x1234)
	$(u4 1000 999 0x1235)
	$(u4 1999 999 0x1236)
	EOF
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(vnet 1 5 28 1000 20 6)$(fix -p <<<"$(u4 0 1999)")
$(apart "$(sed -n 3p "$F/in")")"
}

@test "UDP merge refuses: a UDP length that is not the packet's, or no payload" {
	local b
	b=$(fix <<<"$(ip4 1028 17 0x1235)$(udp 1000)$(stream_hex 1000 1000)")
	udp_refused "$b"
	udp_refused "$(fix <<<"$(ip4 28 17 0x1235)$(udp 8)")"
}

@test "UDP: datagrams of other ports are another flow, which merges on its own" {
	fix >"$F/in" <<-EOF
	$(u4 0 1000 0x1234)
	$(u4 0 1000 0x0100 40001)
	$(u4 1000 1000 0x1235)
	$(u4 1000 1000 0x0101 40001)
	EOF
	run "$DRIVER" merge <"$F/in"
	[[ $status -eq 0 && ${#lines[@]} -eq 2 ]]
	[[ ${lines[0]} == "$(merged_udp4 2000 1000)" ]]
	"$DRIVER" split <<<"$output" >"$F/out"
	[[ $(sort "$F/out") == "$(sort "$F/in")" ]]
}

@test "UDP: 64 datagrams go in one packet, the 65th in the next" {
	local i
	for i in $(seq 0 64); do
		u4 $((i * 100)) 100 $((0x1000 + i))
		echo
	done | fix >"$F/in"
	"$DRIVER" merge <"$F/in" >"$F/merged"
	[[ $(wc -l <"$F/merged") -eq 2 ]]
	[[ $(tail -n 1 "$F/merged") == "$ZEROS$(tail -n 1 "$F/in")" ]]
	run "$DRIVER" split <"$F/merged"
	expect 0 "$(cat "$F/in")"
}

@test "UDP with DF and one ID for all, as a socket that is not connected sends them, merges; the split counts the IDs on" {
	fix >"$F/in" <<-EOF
	$(u4 0 1000 0)
	$(u4 1000 1000 0)
	$(u4 2000 500 0)
	EOF
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(vnet 1 5 28 1000 20 6)$(fix -p <<<"$(u4 0 2500 0)")"
	run "$DRIVER" split <<<"$output"
	expect 0 "$(fix <<<"$(u4 0 1000 0)
$(u4 1000 1000 1)
$(u4 2000 500 2)")"
	# Once the IDs stay, or count on, they must go on so.
	fix >"$F/in" <<-EOF
	$(u4 0 1000 0)
	$(u4 1000 1000 0)
	$(u4 2000 1000 2)
	EOF
	run "$DRIVER" merge <"$F/in"
	[[ $status -eq 0 && ${#lines[@]} -eq 2 && ${lines[1]} == "$ZEROS$(sed -n 3p "$F/in")" ]]
	fix >"$F/in" <<-EOF
	$(u4 0 1000 5)
	$(u4 1000 1000 6)
	$(u4 2000 1000 6)
	EOF
	run "$DRIVER" merge <"$F/in"
	[[ $status -eq 0 && ${#lines[@]} -eq 2 && ${lines[1]} == "$ZEROS$(sed -n 3p "$F/in")" ]]
}

@test "UDP merge refuses: one ID for all without DF, which could be fragments' ID" {
	fix >"$F/in" <<-EOF
	$(ip4 1028 17 0x0100 0)$(udp 1008)$(stream_hex 0 1000)
	$(ip4 1028 17 0x0100 0)$(udp 1008)$(stream_hex 1000 1000)
	EOF
	run "$DRIVER" merge <"$F/in"
	expect 0 "$(apart $(cat "$F/in"))"
}
