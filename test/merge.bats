#!/usr/bin/env bats
# Merged on the way to the device: with the offloads on (the default),
# tunpipe joins the UDP datagrams of one flow that it reads from the stream
# into one write of a GSO packet (USO), and the TCP segments of each of
# several flows interleaved in one read, in TUN and TAP mode alike.  What
# a user relies on: every datagram arrives whole and of the size sent
# (a receiving socket without UDP_GRO gets the original datagrams back, a
# forwarded packet is cut again on its way out), one with a bad checksum
# never arrives, one with IPv4 options arrives with them, and a socket
# that asked for UDP_GRO gets merged buffers with the segment size.

load helpers

DGRAM=$BATS_TEST_DIRNAME/dgram

setup() {
	[ -x "$DGRAM" ] || fail "$DGRAM is missing: run 'make test/dgram'"
	netns_setup
	# TAP mode (MODE=(-T)): frames on the device carry 14 more bytes.
	MODE=()
	ETH=0
}
teardown() { netns_teardown_all; }

tap_mode() {
	MODE=(-T)
	ETH=14
}

# largest FILE FILTER: the largest packet of the capture FILE that the
# tshark display filter FILTER keeps (its length as the device took it,
# the Ethernet header in TAP mode), 0 when none.
largest() {
	quiet tshark -n -r "$1" -Y "$2" -T fields -e frame.len |
	    sort -n | awk 'END { print $1 + 0 }'
}

# tunnel MODE... [-- B-OPTION...]: two tunpipes, addressed, and the
# neighbours each end needs (TAP) already found, so that no datagram waits.
tunnel() {
	tunnel_up "$@"
	address_tunnel
	ns A ping -c 1 -W 5 10.77.0.2 >/dev/null
	ns A ping -c 1 -W 5 fd77::2 >/dev/null
}

# uso SIDE: whether the device of that end (tpa or tpb) was granted the
# UDP segmentation offload that merged datagrams need (Linux 6.2 on), as
# its tunpipe -v said.
uso() {
	local dev=tpa err=$T/a.err
	[ "$1" = B ] && dev=tpb err=$T/b.err
	grep -q "device $dev (t[au][pn], offloads)" "$err" &&
	    ! grep -q "$dev: no UDP segmentation offload" "$err"
}

# need_uso SIDE: skips the test (fails it in CI) without uso SIDE.
need_uso() {
	uso "$1" || skip_or_fail "no UDP segmentation offload for the device in this kernel (Linux 6.2 and later have it)"
}

# by_flow FILE: the receiver's or sender's lines of FILE ("d SEQ SIZE"),
# grouped by flow (each sender numbers from its thousand: -s), each flow's
# lines in the order they came; nothing but those lines.
by_flow() {
	grep -v '^b ' "$1" | awk '{ print int($2 / 1000), NR, $0 }' |
	    sort -k1,1n -k2,2n | cut -d' ' -f3-
}

# csum_errors SIDE 4|6: UdpInCsumErrors or Udp6InCsumErrors there.
csum_errors() {
	local name=UdpInCsumErrors
	[ "$2" = 6 ] && name=Udp6InCsumErrors
	ns "$1" nstat -az "$name" | awk -v n="$name" '$1 == n { print $2 }'
}

# receiver_start SIDE ADDRESS [RECV OPTION...]: test/dgram recv on port
# 6000 of ADDRESS in namespace SIDE, writing to $T/got, until no datagram
# came for half a second; RECEIVER is its PID.
receiver_start() {
	local side=$1 addr=$2
	shift 2
	rm -f "$T/got"
	ns_bg "$side" timeout 60 "$DGRAM" recv -w 500 "$@" "$addr" 6000 \
	    >"$T/got" 2>"$T/recv.err" &
	RECEIVER=$!
	remember $RECEIVER
	wait_for 5 eval "ns $side ss -Hlun 'sport = :6000' | grep -q 6000"
}

# receiver_done: waits for the receiver to end, and fails unless it got
# each datagram of $T/sent, in each flow's order, bytes and size right,
# and nothing else.
receiver_done() {
	wait_exit 20 "$RECEIVER"
	[ "$status" = 0 ] || { cat "$T/recv.err"; return 1; }
	diff <(by_flow "$T/sent") <(by_flow "$T/got")
}

# udp_mixed FROM SRC DST: from namespace FROM (A or B), datagrams from SRC
# to DST (both IPv4 or both IPv6) in the other namespace, where each must
# arrive intact: from a connected socket, runs of equal sizes, short last
# ones, mixed sizes one after another; from a socket that sends each run
# as one GSO packet (UDP_SEGMENT); and from a raw socket, a run of equal
# datagrams with consecutive IDs, one of them with a bad UDP checksum,
# which is never delivered and counts as a checksum error at the far end,
# and (IPv4) three in a row with IP options, which arrive with them, each
# on its own.  Where the far end has the offloads, a capture on its device
# shows that the datagrams reached it merged (larger than the MTU): the
# path those checks are for.
udp_mixed() {
	local from=$1 src=$2 dst=$3 to=A v=4 before opts=() dev=tpa
	[ "$from" = A ] && to=B dev=tpb
	case $dst in *:*) v=6 ;; *) opts=(-o "2031,3") ;; esac
	receiver_start "$to" "$dst"
	capture_start "$to" $dev "$T/far.pcap" -s 128
	before=$(csum_errors "$to" $v)
	{
		ns "$from" "$DGRAM" send -P 40000 -s 0 "$src" "$dst" 6000 \
		    1400x20+700 1000x10 1400x30 300x5+100 1200x8+8 64x40 \
		    1400x63+8 1300
		ns "$from" "$DGRAM" send -g -P 40001 -s 1000 "$src" "$dst" 6000 \
		    1400x40+333 1200x20 500x64 1000x3+999
		ns "$from" "$DGRAM" send -r -P 40002 -s 2000 -b 2011 "${opts[@]}" \
		    "$src" "$dst" 6000 1000x40+200 1000x10
	} >"$T/sent"
	receiver_done
	capture_stop
	echo "checksum errors at the far end: $before, then $(csum_errors "$to" $v)"
	[ "$(csum_errors "$to" $v)" = $((before + 1)) ]
	# IPv4: the datagrams with options came with them ...
	[ $v = 6 ] || [ "$(grep -c ' opts$' "$T/got")" = 3 ]
	uso $to || return 0
	# ... each in a packet of its own.
	if [ $v = 4 ]; then
		quiet tshark -n -r "$T/far.pcap" -Y 'ip.hdr_len > 20' -T fields \
		    -e frame.len >"$T/opts"
		echo "packets with IP options on $dev: $(tr '\n' ' ' <"$T/opts")"
		[ "$(sort -u "$T/opts")" = $((1032 + ETH)) ]
		[ "$(wc -l <"$T/opts")" = 3 ]
	fi
	echo "largest UDP packet $dev took: $(largest "$T/far.pcap" udp) bytes"
	[ "$(largest "$T/far.pcap" udp)" -gt $((1500 + ETH)) ]
}

# udp_merged_on_device: a connected socket in A sends ten runs of 32
# equal datagrams of 1400 bytes (each run in one sendmmsg(), each IP ID
# one more than the last), and a capture on tpb shows at least one UDP
# packet larger than the MTU: datagrams written to the device merged.
# Every datagram arrives intact all the same.
udp_merged_on_device() {
	local big
	receiver_start B 10.77.0.2
	capture_start B tpb "$T/b.pcap" -s 128
	ns A "$DGRAM" send -p 20000 10.77.0.1 10.77.0.2 6000 \
	    1400x32 1400x32 1400x32 1400x32 1400x32 1400x32 1400x32 1400x32 \
	    1400x32 1400x32 >"$T/sent"
	receiver_done
	capture_stop
	big=$(largest "$T/b.pcap" udp)
	echo "largest UDP packet tpb took: $big bytes"
	[ "$big" -gt $((1500 + ETH)) ]
}

# tcp_flows: four TCP transfers of 4 MiB at once from A to B, each on its
# own port, each arriving intact; a capture on tpb shows, for each flow,
# packets larger than the MTU.  A's kernel hands tpa one segment at a time
# (gso_max_segs 1), so that the flows' segments take turns in the stream
# as their senders send them, rather than come in runs of 64 KiB, each of
# which would merge with no other flow in the way.
tcp_flows() {
	local port pids=() i big
	ns A ip link set tpa gso_max_segs 1
	capture_start B tpb "$T/b.pcap" -s 128
	for i in 1 2 3 4; do
		port=$((5100 + i))
		head -c $((4 * 1024 * 1024)) /dev/urandom >"$T/sent.$i"
		ns_bg B timeout 60 socat -u "TCP-LISTEN:$port,bind=10.77.0.2,reuseaddr" \
		    "CREATE:$T/received.$i" &
		pids+=($!)
		remember $!
		wait_for 5 listening B $port
	done
	for i in 1 2 3 4; do
		ns_bg A timeout 60 socat -u "FILE:$T/sent.$i" \
		    "TCP:10.77.0.2:$((5100 + i))" &
		remember $!
	done
	for i in 1 2 3 4; do
		wait_exit 60 "${pids[i - 1]}"
		[ "$status" = 0 ]
		cmp "$T/sent.$i" "$T/received.$i"
	done
	capture_stop
	for i in 1 2 3 4; do
		big=$(largest "$T/b.pcap" "tcp.dstport == $((5100 + i))")
		echo "flow $i: tpb took $(quiet tshark -n -r "$T/b.pcap" -T fields \
		    -Y "tcp.dstport == $((5100 + i)) && tcp.len > 0" -e frame.len |
		    wc -l) packets for 4 MiB, the largest of $big bytes"
		[ "$big" -gt $((1500 + ETH)) ]
	done
}

# interleaved_flows: tunpipe in A reads one stream that holds four TCP
# flows towards tpa, their segments (eight each, of 1000 bytes, every
# flow's IDs and sequence numbers counting up) taking turns: the device
# takes each flow merged into fewer packets, each flow's bytes in the
# order sent.  One read of a file, so that nothing depends on timing.
interleaved_flows() {
	local k kind=tun eth='' fix=()
	if [ "$ETH" != 0 ]; then
		kind=tap fix=(-T)
	fi
	persistent_device A tpa $kind
	ns A ip addr add 10.77.0.1/24 dev tpa
	# TAP: to tpa's address, from 02:00:00:00:00:02, type IPv4.
	[ $kind = tun ] || eth=$(link_field A tpa link/ether | tr -d :)0200000000020800
	# Segment I of flow K: from port 40000 + K to 5100 + K, IP ID
	# 100 K + I, sequence number 1000000 K + 1000 I, ACK.
	interleaved_segments | awk -v eth="$eth" '{ printf "%s45000410%04x400040060000" \
	    "0a4d00020a4d0001%04x%04x%08x12345678501001f500000000%s\n", eth,
	    $1 * 100 + $2, 40000 + $1, 5100 + $1, 1000000 * $1 + 1000 * $2, $3 }' |
	    "$DRIVERS/offload-driver" fix "${fix[@]}" >"$T/packets"
	"$DRIVERS/framing-driver" encode <"$T/packets" >"$T/stream"
	capture_start A tpa "$T/a.pcap" -s 9000
	tunpipe_reads "${MODE[@]}" -i tpa
	wait_for 3 captured 32000 "$T/a.pcap" || true
	capture_stop
	# Each packet with a payload: its source port, length and payload.
	quiet tshark -n -r "$T/a.pcap" -Y 'tcp.len > 0' -T fields \
	    -e tcp.srcport -e frame.len -e tcp.payload >"$T/took"
	for ((k = 1; k <= 4; k++)); do
		echo "flow $k: packets of $(awk -v p=$((40000 + k)) \
		    '$1 == p { printf "%s ", $2 }' "$T/took")bytes"
		awk -v p=$((40000 + k)) '$1 == p { gsub(":", "", $3); printf "%s", $3 }' \
		    "$T/took" >"$T/flow.$k"
		interleaved_segments | awk -v k=$k '$1 == k { printf "%s", $3 }' \
		    >"$T/flow.$k.sent"
		cmp "$T/flow.$k.sent" "$T/flow.$k"
		awk -v p=$((40000 + k)) -v mtu=$((1500 + ETH)) \
		    '$1 == p && $2 > mtu { found = 1 } END { exit !found }' "$T/took"
	done
}

# interleaved_segments: a line "K I PAYLOAD" for segment I (0 to 7) of each
# flow K (1 to 4), the flows taking turns; the payload, 1000 bytes in hex,
# differs from segment to segment, so that one moved shows.
interleaved_segments() {
	awk 'BEGIN { for (i = 0; i < 8; i++) for (k = 1; k <= 4; k++) {
	    p = ""; for (j = 0; j < 1000; j++) p = p sprintf("%02x", (k * 31 + i * 7 + j) % 256)
	    print k, i, p } }'
}

# captured BYTES FILE: whether the capture FILE holds BYTES of TCP payload.
captured() {
	[ "$(quiet tshark -n -r "$2" -T fields -e tcp.len |
	    awk '{ n += $1 } END { print n + 0 }')" -ge "$1" ]
}

@test "two ends with the offloads: UDP datagrams over IPv4 arrive each whole and of its size, each way; a bad checksum never arrives; IP options arrive" {
	tunnel
	udp_mixed A 10.77.0.1 10.77.0.2
	udp_mixed B 10.77.0.2 10.77.0.1
}

@test "two ends with the offloads: UDP datagrams over IPv6 arrive each whole and of its size, each way; a bad checksum never arrives" {
	tunnel
	udp_mixed A fd77::1 fd77::2
	udp_mixed B fd77::2 fd77::1
}

@test "an end with the offloads and one with -G: UDP over IPv4 and IPv6 arrives whole each way" {
	B_OPTS=(-G)
	tunnel
	grep -q 'device tpb (tun)' "$T/b.err"
	udp_mixed B 10.77.0.2 10.77.0.1
	udp_mixed B fd77::2 fd77::1
	udp_mixed A 10.77.0.1 10.77.0.2
	udp_mixed A fd77::1 fd77::2
}

@test "a socket with UDP_GRO at the far end receives merged datagrams, with the segment size sent, their bytes intact" {
	tunnel
	need_uso B
	receiver_start B 10.77.0.2 -G
	{
		ns A "$DGRAM" send -g -P 40001 -s 1000 10.77.0.1 10.77.0.2 6000 \
		    1400x40+333 1400x46
		ns A "$DGRAM" send -p 20000 -P 40002 -s 2000 10.77.0.1 10.77.0.2 \
		    6000 1200x32 1200x32 1200x32
	} >"$T/sent"
	receiver_done
	grep '^b ' "$T/got" | sort | uniq -c
	# Buffers of more than one datagram, cut at the size that was sent,
	# and no segment size but those sent.
	awk '$1 == "b" && $3 == 1400 && $2 > 1400 { found = 1 } END { exit !found }' "$T/got"
	awk '$1 == "b" && $3 == 1200 && $2 > 1200 { found = 1 } END { exit !found }' "$T/got"
	awk '$1 == "b" && $3 != 0 && $3 != 1400 && $3 != 1200 { exit 1 }' "$T/got"
}

@test "the far end forwards to a third namespace: each datagram arrives there of the size sent" {
	need_root
	tunnel
	need_uso B
	NS_C=tunpipe-test-$$-c
	ip netns add "$NS_C"
	ns C ip link set lo up
	veth_pair B trbc 10.77.1.2/24 C trc 10.77.1.3/24
	ns B sysctl -qw net.ipv4.ip_forward=1
	ns A ip route add 10.77.1.0/24 dev tpa
	ns C ip route add 10.77.0.0/24 via 10.77.1.2
	receiver_start C 10.77.1.3
	capture_start B tpb "$T/b.pcap" -s 128
	{
		ns A "$DGRAM" send -P 40000 -s 0 10.77.0.1 10.77.1.3 6000 \
		    1400x32+200 1400x32 1000x20+999 1400x63+8
		ns A "$DGRAM" send -g -P 40001 -s 1000 10.77.0.1 10.77.1.3 6000 \
		    1400x40+333 1200x20
	} >"$T/sent"
	receiver_done
	capture_stop
	# They crossed tpb merged, and were cut again on the way to C.
	echo "largest UDP packet tpb took: $(largest "$T/b.pcap" udp) bytes"
	[ "$(largest "$T/b.pcap" udp)" -gt 1500 ]
}

@test "the far device takes a connected socket's run of equal UDP datagrams merged: packets larger than the MTU" {
	tunnel
	need_uso B
	udp_merged_on_device
}

@test "four TCP flows at once: each intact, and each merged on the far device" {
	tunnel
	tcp_flows
}

@test "four TCP flows interleaved in one read of the stream: each reaches the device merged, its bytes in order" {
	interleaved_flows
}

@test "TAP: UDP datagrams over IPv4 and IPv6 arrive each whole and of its size; a bad checksum never arrives; IP options arrive" {
	tap_mode
	tunnel -T
	udp_mixed A 10.77.0.1 10.77.0.2
	udp_mixed B fd77::2 fd77::1
}

@test "TAP: the far device takes a connected socket's run of equal UDP datagrams merged" {
	tap_mode
	tunnel -T
	need_uso B
	udp_merged_on_device
}

@test "TAP: four TCP flows at once: each intact, and each merged on the far device" {
	tap_mode
	tunnel -T
	tcp_flows
}

@test "TAP: four TCP flows interleaved in one read of the stream: each reaches the device merged, its bytes in order" {
	tap_mode
	interleaved_flows
}
