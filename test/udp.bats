#!/usr/bin/env bats
# Over a datagram transport: socat carries the stream over UDP and sends
# each read of it as one datagram, so a frame may straddle two.  test/lossy
# stands where netem would (this kernel has none): it loses one datagram in
# 100, and swaps adjacent ones.  SLIP finds the next packet at its next END;
# a length framing loses its place at the first datagram lost inside a
# frame, and stops.

load helpers

LOSSY=$BATS_TEST_DIRNAME/lossy

setup() { netns_setup; }
teardown() { netns_teardown_all; }

# udp_tunnel FRAMING BLOCK LOSSY_OPTIONS...: the README's tunnel over UDP,
# tunpipe -f FRAMING at each end running socat -b BLOCK: B listens (tpb,
# 10.77.0.2/24), A connects (tpa, 10.77.0.1/24) across the veth link to
# lossy, which listens on 10.78.0.2:33960 in B and passes what it keeps to
# B's socat on port 33961, and back.  lossy's log is in $T/lossy.err.
udp_tunnel() {
	local framing=$1 block=$2 sock=rcvbuf=4194304
	shift 2
	veth_link
	ns_bg B "$LOSSY" "$@" 10.78.0.2 33960 127.0.0.1 33961 2>"$T/lossy.err" &
	remember $!
	ns_bg B "$TUNPIPE" -v -f "$framing" -i tpb -a 10.77.0.2/24 \
	    -e "socat -b $block STDIO UDP-LISTEN:33961,$sock" 2>"$T/b.err" &
	PID_B=$!
	remember $PID_B
	wait_for 5 eval "ns B ss -Hlun 'sport = :33961' | grep -q 33961"
	ns_bg A "$TUNPIPE" -v -f "$framing" -i tpa -a 10.77.0.1/24 \
	    -e "socat -b $block STDIO UDP:10.78.0.2:33960,$sock" 2>"$T/a.err" &
	PID_A=$!
	remember $PID_A
	wait_for 5 addr_dev A 10.77.0.1
	wait_for 5 addr_dev B 10.77.0.2
}

# frames_dropped FILE: the frames a tunpipe dropped as not IP or damaged,
# from the last counters in its stderr, FILE.
frames_dropped() {
	local counters='dropped: [0-9]* not IP, [0-9]* device write failed, '
	counters+='[0-9]* too large to frame, [0-9]* damaged'
	grep -o "$counters" "$1" | tail -n 1 | awk '{ print $2 + $11 }'
}

@test "-f slip over UDP (socat -b 1472): TCP transfers both ways arrive intact through 1% datagram loss and 1% swaps, and the tunnel lives on" {
	udp_tunnel slip 1472 -d 100 -x 100 -s 1
	transfer B 10.77.0.2 8
	transfer A 10.77.0.1 8
	ns A ping -c 5 -i 0.2 -W 2 10.77.0.2
	kill -USR1 "$PID_A" "$PID_B"
	wait_for 5 grep -q 'from stream:' "$T/a.err"
	wait_for 5 grep -q 'from stream:' "$T/b.err"
	# The loss was real, each way ...
	[ "$(grep -c 'to server: dropped' "$T/lossy.err")" -ge 10 ]
	[ "$(grep -c 'to client: dropped' "$T/lossy.err")" -ge 10 ]
	[ "$(grep -c 'to server: swapped' "$T/lossy.err")" -ge 10 ]
	# ... each end dropped the frames that a lost datagram cut, found its
	# way at the next END, and runs on.
	echo "frames dropped: A $(frames_dropped "$T/a.err")," \
	    "B $(frames_dropped "$T/b.err")"
	[ "$(frames_dropped "$T/a.err")" -gt 0 ]
	[ "$(frames_dropped "$T/b.err")" -gt 0 ]
	kill -0 "$PID_A"
	kill -0 "$PID_B"
}

# one_ended: whether tunpipe A or tunpipe B has exited.
one_ended() {
	! kill -0 "$PID_A" 2>/dev/null || ! kill -0 "$PID_B" 2>/dev/null
}

@test "-f len32 over the same lossy UDP: the first datagram lost inside a frame ends the stream of the end that reads it (status 4)" {
	udp_tunnel len32 1472 -d 100 -s 1
	# A transfer that keeps the stream busy; it cannot complete.
	head -c $((8 * 1024 * 1024)) /dev/urandom >"$T/sent"
	ns_bg B timeout 20 socat -u TCP-LISTEN:5001,bind=10.77.0.2 /dev/null &
	remember $!
	wait_for 5 listening B 5001
	ns_bg A timeout 20 socat -u "FILE:$T/sent" TCP:10.77.0.2:5001 &
	remember $!
	wait_for 20 one_ended
	local pid=$PID_B err=$T/b.err
	kill -0 "$PID_A" 2>/dev/null || { pid=$PID_A err=$T/a.err; }
	wait_exit 5 "$pid"
	cat "$err"
	[ "$status" = 4 ]
	grep -qE 'stream error: a frame announces [0-9]+ bytes, more than -f len32 carries \(65664\)' "$err"
	grep -q 'dropped datagram' "$T/lossy.err"
}

# ---- the same packets through the same lost datagrams, in each framing ----
# A stream of 400 IPv4 packets of 1400 bytes (IP ID 0 to 399, protocol 253,
# the same random payload in every run) goes from a file through socat -b
# 1472 and lossy -d 100 -s 1, which loses the same datagrams every time,
# into a file; tunpipe -N reads what arrived, as the far end of a tunnel
# would.  Nothing in it depends on timing.

# lossy_recording FRAMING: makes $T/packets (the packets in hex, one a
# line) and $T/arrived (what crossed the lossy UDP, framed with FRAMING).
lossy_recording() {
	local size=1400 count=400
	# version 4, length, ID; TTL 64, protocol 253; 10.77.0.1 to 10.77.0.2
	random_bytes $((count * (size - 20))) 14 |
	    od -An -v -tx1 -w$((size - 20)) | tr -d ' ' |
	    awk -v len=$size '{ printf "4500%04x%04x000040fd0000%s%s\n",
	        len, NR - 1, "0a4d00010a4d0002", $0 }' >"$T/packets"
	"$BATS_TEST_DIRNAME/framing-driver" encode -f "$1" <"$T/packets" >"$T/sent"
	ns_bg A "$LOSSY" -d 100 -s 1 127.0.0.1 33960 127.0.0.1 33961 2>"$T/lossy.err" &
	remember $!
	ns_bg A socat -u UDP-RECV:33961,rcvbuf=4194304 "CREATE:$T/arrived" &
	local receiver=$!
	remember $receiver
	wait_for 5 eval "ns A ss -Hlun 'sport = :33960' | grep -q 33960"
	wait_for 5 eval "ns A ss -Hlun 'sport = :33961' | grep -q 33961"
	ns A socat -u -b 1472 "OPEN:$T/sent" UDP:127.0.0.1:33960
	wait_for 10 all_arrived
	kill "$receiver"
	cat "$T/lossy.err"
}

# all_arrived: whether all that was sent has arrived but what lossy dropped,
# which it logs.
all_arrived() {
	local dropped
	dropped=$(sed -n 's/.*: dropped datagram [0-9]* (\([0-9]*\) bytes)/\1/p' \
	    "$T/lossy.err" | awk '{ n += $1 } END { print n + 0 }')
	[ "$(stat -c %s "$T/arrived")" = $(($(stat -c %s "$T/sent") - dropped)) ]
}

# first_lost: the number of the first datagram lossy dropped (from 1).
first_lost() {
	sed -n 's/.*: dropped datagram \([0-9]*\) .*/\1/p' "$T/lossy.err" | head -n 1
}

# delivered FILE: each packet of the capture FILE that went to the device
# (the capture also holds the frames dropped as not IP: those whose IP
# length is not theirs), as its IP ID and its payload in hex; expected: each
# packet of $T/packets the same way.
delivered() {
	capture_fields "$1" frame.len ip.len ip.id data.data |
	    awk -F '\t' '$1 == $2 { sub(/^0x/, "", $3); print $3 "\t" $4 }'
}
expected() {
	awk '{ printf "%s\t%s\n", substr($0, 9, 4), substr($0, 41) }' "$T/packets"
}

@test "-f slip through lost datagrams: only the packets they held are lost; every other one arrives, intact" {
	lossy_recording slip
	run "$TUNPIPE" -N -f slip -w "$T/rec.pcapng" <"$T/arrived"
	echo "$output"
	[ "$status" = 0 ]
	delivered "$T/rec.pcapng" >"$T/got"
	expected >"$T/want"
	local lost got
	lost=$(grep -c 'to server: dropped' "$T/lossy.err")
	got=$(wc -l <"$T/got")
	echo "$lost datagrams lost, $got of 400 packets delivered"
	[ "$lost" -ge 2 ]
	# A datagram of 1472 bytes touches at most 3 frames of 1400 bytes.
	[ "$got" -ge $((400 - 3 * lost)) ]
	[ "$got" -lt 400 ]
	# Every packet delivered is one of those sent, whole and in order.
	[ -z "$(grep -vxF -f "$T/want" "$T/got")" ]
	sort -cu "$T/got"
	# Well past the first loss.
	[ "$(tail -n 1 "$T/got" | cut -f1)" = 018f ]
}

# length_framing_stops FRAMING: lossy_recording, read by tunpipe -N -f
# FRAMING; the packets before the first lost datagram arrive intact, the one
# it cut arrives with other packets' bytes in place of its own (its IP
# header and length are whole: nothing in the framing can tell), and none
# after it.  Sets status and output.
length_framing_stops() {
	local header=2 intact
	[ "$1" = len32 ] && header=4
	lossy_recording "$1"
	run "$TUNPIPE" -N -f "$1" -w "$T/rec.pcapng" <"$T/arrived"
	echo "$output"
	delivered "$T/rec.pcapng" >"$T/got"
	expected >"$T/want"
	intact=$(( ($(first_lost) - 1) * 1472 / (1400 + header) ))
	echo "first datagram lost: $(first_lost); frames before it: $intact"
	[ "$(wc -l <"$T/got")" = $((intact + 1)) ]
	cmp <(head -n "$intact" "$T/got") <(head -n "$intact" "$T/want")
	[ "$(tail -n 1 "$T/got" | cut -f1)" = "$(printf '%04x' "$intact")" ]
	! grep -qxF "$(tail -n 1 "$T/got")" "$T/want"
}

# LOST: what tunpipe says of a length framing that lost its place.
LOST="bytes were lost or reordered on the way, as a datagram transport (socat UDP) does when it loses a datagram"

@test "-f len16 through the same lost datagrams: the next length is read from inside a packet, and that frame is dropped, naming lost bytes at once; so are the frames after it, and the stream ends inside one (status 4)" {
	length_framing_stops len16
	[ "$status" = 4 ]
	[[ "$output" =~ "tunpipe: dropped a "[0-9]+"-byte frame "[^:]*", after "[0-9]+" good ones: were bytes lost or reordered on the way" ]]
	[[ "$output" == *"good ones: were bytes lost or reordered on the way (a noisy line, a datagram transport that lost a datagram)? Over a datagram transport, use -f slip at both ends."* ]]
	[[ "$output" =~ "dropped: "[1-7]" not IP" ]]
	[[ "$output" == *"input stream ended inside a frame"* ]]
}

@test "-f len32 through the same lost datagrams: the next length read is more than len32 carries, and the stream stops at once (status 4)" {
	length_framing_stops len32
	[ "$status" = 4 ]
	[[ "$output" =~ "stream error: a frame announces "[0-9]+" bytes, more than -f len32 carries (65664)" ]]
	[[ "$output" == *"$LOST, and -f len32 cannot find its place again"* ]]
	[[ "$output" == *"dropped: 0 not IP"* ]]
}
