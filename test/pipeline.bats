#!/usr/bin/env bats
# Pipeline experiments: the README's tools in the middle of the stream (pv,
# tee, dd, a rate limit) and beside it (-w read live, tcpdump on the
# device, a qdisc), each on the README's nc tunnel.

load helpers

setup() {
	netns_setup
	ipv6_off
}
teardown() { example_teardown; }

# nc_tunnel IN OUT [OPTION...]: the README's nc tunnel across a veth link.
# A is the server (nc -l 33960; tunpipe -i tpa -a 10.77.0.1/24 with the
# OPTIONs), B the client (tpb, 10.77.0.2/24).  IN and OUT are the commands
# that the README puts into the server's pipeline ("" for none):
#     nc -l 33960 <f | IN | tunpipe ... | OUT >f
# Each end runs in a session of its own, its stderr in $T/a.err or
# $T/b.err; GROUP_A and GROUP_B are their process groups.
nc_tunnel() {
	local in=${1:+ | $1} out=${2:+ | $2}
	shift 2
	veth_link
	mkfifo "$T/fa" "$T/fb"
	ns_bg A setsid sh -c "nc -l 33960 <$T/fa$in | $TUNPIPE -v -i tpa \
	    -a 10.77.0.1/24 $*$out >$T/fa" 2>"$T/a.err" &
	GROUP_A=$!
	example_started $GROUP_A
	wait_for 5 listening A 33960
	ns_bg B setsid sh -c "nc 10.78.0.1 33960 <$T/fb | $TUNPIPE -v -i tpb \
	    -a 10.77.0.2/24 >$T/fb" 2>"$T/b.err" &
	GROUP_B=$!
	example_started $GROUP_B
	wait_for 5 addr_dev A 10.77.0.1
	wait_for 5 addr_dev B 10.77.0.2
}

# nc_tunnel_end: stops the client; the server's nc, then its pipeline,
# each tool in turn, see the end of the stream and exit.
nc_tunnel_end() {
	kill -TERM -- "-$GROUP_B"
	wait_for 5 example_ended "$GROUP_B"
	wait_for 5 example_ended "$GROUP_A" || {
		echo "the server's pipeline did not end with the stream" >&2
		return 1
	}
}

# tunpipe_a: the PID of the server's tunpipe.
tunpipe_a() { example_pid "$GROUP_A" tunpipe; }

@test "pv in the middle shows each direction's bytes and rate; the transfers arrive intact" {
	nc_tunnel "pv -f -cN in" "pv -f -cN out"
	transfer B 10.77.0.2 8
	transfer A 10.77.0.1 4
	nc_tunnel_end
	# Each pv's last line: the two may end in either order.
	tr '\r' '\n' <"$T/a.err" | grep -E '^ +(in|out):' >"$T/pv-lines"
	{ grep -E '^ +out:' "$T/pv-lines" | tail -n 1
	  grep -E '^ +in:' "$T/pv-lines" | tail -n 1; } | tee "$T/pv"
	# pv counts the stream: the packets and 2 bytes of framing each.
	grep -qE '^ +out: 8\.[0-9]+MiB .*/s\]' "$T/pv"
	grep -qE '^ +in: 4\.[0-9]+MiB .*/s\]' "$T/pv"
}

@test "tee records each direction; tunpipe -N -w turns the recordings into captures of the packets that crossed" {
	nc_tunnel "tee $T/in.bin" "tee $T/out.bin" -w "$T/live.pcapng"
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	transfer B 10.77.0.2 1
	transfer A 10.77.0.1 1
	nc_tunnel_end
	run "$TUNPIPE" -N -w "$T/in.pcapng" <"$T/in.bin"
	[ "$status" = 0 ]
	run "$TUNPIPE" -N -w "$T/out.pcapng" <"$T/out.bin"
	[ "$status" = 0 ]
	capture_hex "$T/live.pcapng" 'frame.packet_flags_direction == 1' >"$T/live.in"
	capture_hex "$T/live.pcapng" 'frame.packet_flags_direction == 2' >"$T/live.out"
	capture_hex "$T/in.pcapng" >"$T/rec.in"
	capture_hex "$T/out.pcapng" >"$T/rec.out"
	[ "$(grep -c '^IP .*ICMP echo request' "$T/rec.in")" = 3 ]
	[ "$(grep -c '^IP .*ICMP echo reply' "$T/rec.out")" = 3 ]
	[ "$(grep -c '^IP ' "$T/rec.in")" -gt 700 ]
	[ "$(grep -c '^IP ' "$T/rec.out")" -gt 700 ]
	cmp "$T/live.in" "$T/rec.in"
	cmp "$T/live.out" "$T/rec.out"
}

@test "-w to a FIFO: tshark reads it live, as wireshark -k -i does" {
	mkfifo "$T/cap"
	# dumpcap, under tshark, keeps a temporary file while it reads.
	TMPDIR=$T timeout 20 tshark -l -n -i "$T/cap" >"$T/tshark" 2>"$T/tshark.err" &
	remember $!
	nc_tunnel "" "" -w "$T/cap"
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	# The pings show while the tunnel runs.
	wait_for 5 eval "[ \$(grep -c 'ICMP.*Echo (ping)' '$T/tshark') = 6 ]"
	[ "$(grep -c 'ICMP.*Echo (ping) request' "$T/tshark")" = 3 ]
	kill -0 "$(tunpipe_a)"
}

@test "-w to a FIFO: tcpdump -r reads it live" {
	mkfifo "$T/cap"
	timeout 20 tcpdump -l -n -r "$T/cap" >"$T/tcpdump" 2>/dev/null &
	remember $!
	nc_tunnel "" "" -w "$T/cap"
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	wait_for 5 eval "[ \$(grep -c 'ICMP echo' '$T/tcpdump') = 6 ]"
	[ "$(grep -c 'ICMP echo request' "$T/tcpdump")" = 3 ]
	kill -0 "$(tunpipe_a)"
}

@test "tcpdump -i on the device sees the kernel's packets, TCP as GSO packets over the MTU; -w sees the stream's, none over it" {
	nc_tunnel "" "" -w "$T/stream.pcapng"
	ns_bg A tcpdump -U -n -i tpa -w "$T/device.pcap" 2>"$T/tcpdump.err" &
	local tcpdump=$!
	remember $tcpdump
	wait_for 5 grep -q 'listening on tpa' "$T/tcpdump.err"
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	transfer B 10.77.0.2 4
	kill -TERM "$tcpdump"
	wait_exit 5 "$tcpdump"
	nc_tunnel_end
	# Both see the pings ...
	[ "$(capture_hex "$T/device.pcap" | grep -c 'ICMP echo')" = 6 ]
	[ "$(capture_hex "$T/stream.pcapng" | grep -c 'ICMP echo')" = 6 ]
	# ... but the transfer's segments as the kernel handed them to the
	# device, and as tunpipe cut them for the stream.
	local device stream
	device=$(capture_fields "$T/device.pcap" frame.len | sort -n | tail -n 1)
	stream=$(capture_fields "$T/stream.pcapng" frame.len | sort -n | tail -n 1)
	echo "largest packet: on the device $device bytes, on the stream $stream"
	[ "$device" -gt 1500 ]
	[ "$stream" -le 1500 ]
}

@test "pv -L limits the rate of the stream; a transfer through it arrives intact" {
	nc_tunnel "" "pv -q -L 1m"
	transfer B 10.77.0.2 2
}

@test "tbf on the device limits the rate where the kernel queues and drops; a transfer through it arrives intact" {
	nc_tunnel "" ""
	ns A tc qdisc add dev tpa root tbf rate 8mbit burst 32kbit latency 50ms
	transfer B 10.77.0.2 2
	# TCP found the rate by the packets that the qdisc dropped.
	ns A tc -s qdisc show dev tpa | tee "$T/qdisc"
	grep -qE 'dropped [1-9][0-9]*' "$T/qdisc"
}

@test "dd ibs=7 obs=13 in the middle keeps the stream intact, but holds the end of a packet until more bytes come" {
	nc_tunnel "" "dd ibs=7 obs=13 status=none"
	# Nothing but the pings crosses.  The end of the first reply waits in
	# dd until the second reply comes; the end of the second waits on.
	run ns B ping -c 2 -i 0.5 -W 1 10.77.0.1
	echo "$output"
	[[ "$output" == *"2 packets transmitted, 1 received"* ]]
	[[ "$output" == *"icmp_seq=1 "* ]]
	transfer B 10.77.0.2 2
}

# stream_in SIDE: the bytes of the stream that the tunpipe of SIDE has read
# (its packets and 2 bytes of framing each), from the counters that
# SIGUSR1 makes it print.
stream_in() {
	local group=$GROUP_A err=$T/a.err
	[ "$1" = B ] && group=$GROUP_B err=$T/b.err
	kill -USR1 "$(example_pid "$group" tunpipe)"
	sleep 0.1
	grep -o 'from stream: [0-9]* packets, [0-9]* bytes' "$err" |
	    tail -n 1 | awk '{ print $5 + 2 * $3 }'
}

# recorded_all: whether the recording holds all that B has read.
recorded_all() {
	[ "$(stat -c %s "$T/rec.bin")" = "$(stream_in B)" ]
}

@test "tee to a slow file: the tunnel goes at the file's pace, and the recording holds the whole stream" {
	mkfifo "$T/slow"
	# The slow file: a FIFO that pv drains at 512 KiB/s into the recording.
	pv -q -L 512k <"$T/slow" >"$T/rec.bin" &
	remember $!
	nc_tunnel "" "tee $T/slow"
	transfer B 10.77.0.2 1
	# tee wrote each block to the stream first: the file catches up.
	wait_for 10 recorded_all
	run "$TUNPIPE" -N <"$T/rec.bin"
	echo "$output"
	[ "$status" = 0 ]
	local packets
	packets=$(grep -o 'from stream: [0-9]* packets' "$T/b.err" | tail -n 1)
	[[ "$output" == *"$packets"* ]]
}
