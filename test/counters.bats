#!/usr/bin/env bats
# Counters: SIGUSR1 prints them and tunpipe goes on; -v prints them at exit;
# -s prints the keys that README.md and tunpipe.1 list.

load helpers

setup() {
	netns_setup
	ipv6_off
}
teardown() { netns_teardown; }

# counters_of FILE: the last counter line in FILE, as
# "out_packets out_bytes in_packets in_bytes".
counters_of() {
	grep 'to stream:' "$1" | tail -n 1 |
	    sed -E 's/.*to stream: ([0-9]+) packets, ([0-9]+) bytes; from stream: ([0-9]+) packets, ([0-9]+) bytes.*/\1 \2 \3 \4/'
}

@test "SIGUSR1 prints counters that match the traffic, and tunpipe goes on" {
	tunnel_up
	ns A ip addr add 10.77.0.1/24 dev tpa
	ns B ip addr add 10.77.0.2/24 dev tpb
	ns A ip link set tpa up
	ns B ip link set tpb up
	# 10 echo requests and 10 replies of 20 + 8 + 100 bytes.
	ns A ping -c 10 -i 0.1 -s 100 -W 2 10.77.0.2
	kill -USR1 "$PID_A" "$PID_B"
	wait_for 5 grep -q 'to stream:' "$T/a.err"
	wait_for 5 grep -q 'to stream:' "$T/b.err"
	[ "$(counters_of "$T/a.err")" = "10 1280 10 1280" ]
	[ "$(counters_of "$T/b.err")" = "10 1280 10 1280" ]
	grep -qE '^tunpipe: tpa \(tun, mtu 1500, up [0-9]+s\)$' "$T/a.err"
	grep -qx 'tunpipe: tpa: dropped: 0 not IP, 0 device write failed, 0 too large to frame' "$T/a.err"

	ns B ping -c 5 -i 0.1 -s 100 -W 2 10.77.0.1
	kill -USR1 "$PID_A"
	wait_for 5 test "$(grep -c 'to stream:' "$T/a.err")" = 2
	[ "$(counters_of "$T/a.err")" = "15 1920 15 1920" ]
}

@test "-v prints the device name at start, and name, mode, MTU, uptime and counters at exit" {
	persistent_device A tpa
	frames "$IPV4_PACKET" "" "$IPV4_PACKET" >"$T/stream"
	run tunpipe_reads -v -i tpa
	[ "$status" = 0 ]
	[[ "${lines[0]}" == *"device tpa (tun, offloads)"* ]]
	# The counters: a line each for the device, the traffic, the empty
	# frames and the drops, with only what can happen without -k, -e,
	# -w, -r or SLIP.
	grep -A3 -E '^tunpipe: tpa \(tun, mtu 1500, up [0-9]+s\)$' <<<"$output" |
	    tail -n 3 >"$T/counters"
	diff - "$T/counters" <<-'EOF'
		tunpipe: tpa: to stream: 0 packets, 0 bytes; from stream: 2 packets, 56 bytes
		tunpipe: tpa: empty frames: 1 in
		tunpipe: tpa: dropped: 0 not IP, 0 device write failed, 0 too large to frame
	EOF
}

@test "the counters leave out what cannot happen: with -N what goes to the stream or a device; with -e, -k, -r, -w and SLIP they show it" {
	frames "$IPV4_PACKET" 68656c6c6f >"$T/stream"
	run "$TUNPIPE" -N <"$T/stream"
	[ "$status" = 0 ]
	grep '^tunpipe: stream' <<<"$output" | sed 's/up [0-9]*s/up Ns/' >"$T/counters"
	diff - "$T/counters" <<-'EOF'
		tunpipe: stream (tun, no device, up Ns)
		tunpipe: stream: from stream: 1 packets, 28 bytes
		tunpipe: stream: empty frames: 0 in
		tunpipe: stream: dropped: 1 not IP
	EOF
	ns_bg A "$TUNPIPE" -v -i tpa -f slip -k 5 -r 1 -w "$T/a.pcapng" \
	    -e 'exec sleep 30' </dev/null >/dev/null 2>"$T/a.err" &
	PID_A=$!
	remember "$PID_A"
	wait_for 5 grep -q 'started the -e command' "$T/a.err"
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	grep '^tunpipe: tpa[ :]' "$T/a.err" | sed 's/up [0-9]*s/up Ns/' >"$T/counters"
	diff - "$T/counters" <<-'EOF'
		tunpipe: tpa (tun, mtu 1500, carrier on, up Ns)
		tunpipe: tpa: to stream: 0 packets, 0 bytes; from stream: 0 packets, 0 bytes
		tunpipe: tpa: empty frames: 0 in, 1 out
		tunpipe: tpa: dropped: 0 not IP, 0 device write failed, 0 too large to frame, 0 damaged, 0 cut by a stream break
		tunpipe: tpa: restarts of -e: 0
		tunpipe: tpa: capture: 0 lost
	EOF
}

@test "-q keeps warnings quiet, but errors still show" {
	persistent_device A tpa
	frames 68656c6c6f "$IPV4_PACKET" >"$T/stream"
	run tunpipe_reads -q -i tpa
	[ "$status" = 0 ]
	[ -z "$output" ]
	printf '\377\377' >"$T/stream"
	run tunpipe_reads -q -i tpa
	[ "$status" = 4 ]
	[[ "$output" == *"ended inside a frame: 0 of 65535 bytes of its packet arrived"* ]]
}

# empty_frames FILE in|out: that count of empty frames in the last counters
# (nothing for out without -k).
empty_frames() {
	grep 'empty frames: [0-9]* in' "$1" | tail -n 1 |
	    awk -v dir="$2" '{ print dir == "in" ? $5 : $7 }'
}

@test "-k sends an empty frame at once and after each quiet interval; the peer skips and counts it" {
	A_OPTS=(-k 1)
	tunnel_up
	sleep 3
	kill -0 "$PID_A" "$PID_B"		# empty frames end nothing
	# Stop A: B then reads to the end, and both print final counters.
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	wait_exit 5 "$PID_B"
	sent=$(empty_frames "$T/a.err" out)
	received=$(empty_frames "$T/b.err" in)
	echo "sent $sent, received $received"
	[ "$sent" -ge 3 ] && [ "$sent" -le 5 ]
	[ "$received" = "$sent" ]
	[ -z "$(empty_frames "$T/b.err" out)" ]	# B has no -k
	grep -q 'from stream: 0 packets' "$T/b.err"	# skipped, not delivered
}

@test "-k is range-checked" {
	run "$TUNPIPE" -k 0 </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-k 0: must be a number from 1 to 86400"* ]]
}

# stats_keys FILE...: the keys of the -s lines in FILEs, one a line, sorted.
stats_keys() {
	cat "$@" | grep -E '^tunpipe: [^ ]+: t=' | cut -d' ' -f3- | tr ' ' '\n' |
	    cut -d= -f1 | sort -u
}

# man_stats_keys: the words that tunpipe.1's entry for -s sets as Cm.
man_stats_keys() {
	sed -n '/^\.It Fl s , Fl \\-stats/,/^\.It Fl T /p' \
	    "$BATS_TEST_DIRNAME/../tunpipe.1" |
	    awk '/^\./ { cm = 0; sub(/^\./, ""); for (i = 1; i <= NF; i++)
		if ($i == "Cm") cm = 1
		else if ($i ~ /^[A-Z][a-z]$/) cm = 0
		else if (cm && $i != ",") print $i }' | sort -u
}

# readme_stats_keys: the words in backquotes in README.md's paragraph on
# -s's keys, below the option table.
readme_stats_keys() {
	sed -n '/^`-s`.s line has these keys/,/^$/p' "$BATS_TEST_DIRNAME/../README.md" |
	    grep -o '`[a-z_]*`' | tr -d '`' | sort -u
}

# stats_of NAME [FILE] OPTIONS...: tunpipe -s 1 with OPTIONS in namespace A
# on the stream in FILE (default $T/stream); its stderr in $T/stats.NAME.
stats_of() {
	local name=$1
	shift
	run tunpipe_reads "$@" -s 1
	printf '%s\n' "$output" >"$T/stats.$name"
}

@test "every key that -s prints is listed in README.md and tunpipe.1, and every key they list is printed (but one)" {
	# -e, -k, -w and -r, the first run of the command sending a frame
	# that is no IP packet and the start of one cut by its end.
	persistent_device A tpa
	{ frames 68656c6c6f "$IPV4_PACKET"; frames "$IPV4_PACKET" | head -c 3; } >"$T/first"
	ns_bg A "$TUNPIPE" -i tpa -s 1 -k 1 -r 1 -w "$T/a.pcapng" -e "
	    if [ -e $T/second ]; then exec sleep 30
	    else touch $T/second; cat $T/first; fi" \
	    </dev/null >/dev/null 2>"$T/stats.exec" &
	PID_A=$!
	remember "$PID_A"
	wait_for 10 grep -q 'restarts=1' "$T/stats.exec"
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	# A damaged SLIP frame, and a frame too short for Ethernet.
	printf '\300\333\001\300' >"$T/slip"
	stats_of slip "$T/slip" -N -f slip
	frames 0102 >"$T/short"
	stats_of tap "$T/short" -N -T
	# A device that is down refuses the packet.
	ns A ip tuntap add dev tpr mode tun
	frames "$IPV4_PACKET" >"$T/stream"
	stats_of refused -i tpr
	stats_keys "$T"/stats.* >"$T/printed"
	man_stats_keys >"$T/man"
	readme_stats_keys >"$T/readme"
	cat "$T/printed"
	# drop_too_large is the one left out: no device here hands over a
	# packet larger than the framing carries (a TAP device's MTU stops
	# at 65521, whose frames fit len16's 65535 bytes).
	diff "$T/printed" <(grep -vx drop_too_large "$T/man")
	diff "$T/printed" <(grep -vx drop_too_large "$T/readme")
}

# rate_keys: for each -s line on stdin, a line of its rate keys, in order
# (an empty line for a line without).
rate_keys() {
	awk '/^tunpipe: [^ ]+: t=/ { keys = ""
	    for (i = 4; i <= NF; i++)
		if ($i ~ /^(out|in)_(pps|bps)=/)
			keys = keys (keys == "" ? "" : " ") substr($i, 1, index($i, "=") - 1)
	    print keys }'
}

@test "-s gives rates over a second or more only: none on the one line of a short -N run, every periodic line its four" {
	frames "$IPV4_PACKET" "$IPV4_PACKET" >"$T/stream"
	run "$TUNPIPE" -N -s 1 <"$T/stream"
	[ "$status" = 0 ]
	[[ "$output" == *": stream: t="*" in_packets=2 "* ]]
	[ "$(rate_keys <<<"$output")" = "" ]

	A_OPTS=(-s 1)
	ipv4_only_tunnel
	ns A ping -c 12 -i 0.25 -W 2 10.77.0.2
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	# Each line but the last, which came when TERM did, is a periodic one.
	rate_keys <"$T/a.err" | head -n -1 >"$T/periodic"
	cat "$T/periodic"
	[ "$(grep -c '' "$T/periodic")" -ge 2 ]
	[ -z "$(grep -vx 'out_pps out_bps in_pps in_bps' "$T/periodic")" ]
}
