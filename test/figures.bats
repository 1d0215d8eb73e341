#!/usr/bin/env bats
#
# figures.bats: the figures' text (figures.c) through test/figures-driver:
# the counters' lines that -v, SIGUSR1 and -N print, and -s's line of
# key=value pairs that scripts read, for runs of every kind, with counts
# chosen so that each shows where it lands.  Needs no privilege and no
# device: build the driver with `make test/figures-driver`, then run
# `bats test/figures.bats`.  counters.bats and capture.bats see the same
# lines come out of tunpipe itself.

# shellcheck disable=SC2154 # $stderr: from bats' run --separate-stderr
bats_require_minimum_version 1.5.0

load helpers

setup_file() {
	export DRIVER="$DRIVERS/figures-driver"
}

setup() {
	need_driver || return 1
}

# figures counters|stats|status [-r ROOM] WORD... KEY=VALUE...: the driver's text
# in $output (its standard error in $stderr); fails unless it made one.
figures() {
	run -0 --separate-stderr "$DRIVER" "$@"
}

# keys: the keys of the -s line in $output, in order, on one line.
keys() {
	cut -d' ' -f3- <<<"$output" | tr ' ' '\n' | cut -d= -f1 | paste -sd' '
}

# value KEY: KEY's value in the -s line in $output.
value() {
	tr ' ' '\n' <<<"$output" | sed -n "s/^$1=//p"
}

# The traffic of most runs below: each count a number of its own.
TRAFFIC=(out_packets=3 out_bytes=300 in_packets=2 in_bytes=56
    keepalives_in=7 keepalives=8 up_ms=61999)
DROPS=(drop_invalid=4 drop_device=5 drop_oversize=6 drop_damaged=9
    drop_cut=10)

@test "a TUN run's counters: the device, its MTU and whole seconds up; the traffic each way; the empty frames in; the drops a device can have" {
	figures counters mtu=1400 "${TRAFFIC[@]}" "${DROPS[@]}" restarts=11 \
	    capture_lost=12
	diff - <(printf '%s\n' "$output") <<-'EOF'
		tunpipe: tpa (tun, mtu 1400, up 61s)
		tunpipe: tpa: to stream: 3 packets, 300 bytes; from stream: 2 packets, 56 bytes
		tunpipe: tpa: empty frames: 7 in
		tunpipe: tpa: dropped: 4 not IP, 5 device write failed, 6 too large to frame
	EOF
}

@test "a TAP run's counters say tap, and count the frames that are not Ethernet" {
	figures counters tap name=tap0 "${TRAFFIC[@]}" "${DROPS[@]}"
	[ "${lines[0]}" = "tunpipe: tap0 (tap, mtu 1500, up 61s)" ]
	[ "${lines[3]}" = "tunpipe: tap0: dropped: 4 not Ethernet, 5 device write failed, 6 too large to frame" ]
	[ "${#lines[@]}" = 4 ]
}

@test "-N's counters have no device: no MTU, nothing to the stream, no drops of a device" {
	figures counters no-device name=stream mtu=1400 "${TRAFFIC[@]}" \
	    "${DROPS[@]}"
	diff - <(printf '%s\n' "$output") <<-'EOF'
		tunpipe: stream (tun, no device, up 61s)
		tunpipe: stream: from stream: 2 packets, 56 bytes
		tunpipe: stream: empty frames: 7 in
		tunpipe: stream: dropped: 4 not IP
	EOF
}

@test "SLIP's counters count the damaged frames, after the others" {
	figures counters slip "${DROPS[@]}"
	[ "${lines[3]}" = "tunpipe: tpa: dropped: 4 not IP, 5 device write failed, 6 too large to frame, 9 damaged" ]
	figures counters no-device slip "${DROPS[@]}"
	[ "${lines[3]}" = "tunpipe: tpa: dropped: 4 not IP, 9 damaged" ]
}

@test "-r's counters count the frames cut by a stream break, last" {
	figures counters respawn "${DROPS[@]}"
	[ "${lines[3]}" = "tunpipe: tpa: dropped: 4 not IP, 5 device write failed, 6 too large to frame, 10 cut by a stream break" ]
	figures counters slip respawn "${DROPS[@]}"
	[ "${lines[3]}" = "tunpipe: tpa: dropped: 4 not IP, 5 device write failed, 6 too large to frame, 9 damaged, 10 cut by a stream break" ]
}

@test "-e's counters show the carrier, on or off, and end with the restarts of -e" {
	figures counters command carrier=0 restarts=11 up_ms=5000
	[ "${lines[0]}" = "tunpipe: tpa (tun, mtu 1500, carrier off, up 5s)" ]
	[ "${lines[4]}" = "tunpipe: tpa: restarts of -e: 11" ]
	[ "${#lines[@]}" = 5 ]
	figures counters command carrier=1
	[ "${lines[0]}" = "tunpipe: tpa (tun, mtu 1500, carrier on, up 0s)" ]
	# A kernel that cannot say has it on, as it was before -e.
	figures counters command carrier=-1
	[ "${lines[0]}" = "tunpipe: tpa (tun, mtu 1500, carrier on, up 0s)" ]
	# Without -e, no carrier and no restarts, whatever they hold.
	figures counters carrier=0 restarts=11
	[ "${lines[0]}" = "tunpipe: tpa (tun, mtu 1500, up 0s)" ]
	[ "${#lines[@]}" = 4 ]
}

@test "-k's counters give the empty frames sent, as out" {
	figures counters keepalive "${TRAFFIC[@]}"
	[ "${lines[2]}" = "tunpipe: tpa: empty frames: 7 in, 8 out" ]
}

@test "-w's counters end with the records the capture lost, after -e's restarts" {
	figures counters capture capture_lost=12
	[ "${lines[4]}" = "tunpipe: tpa: capture: 12 lost" ]
	[ "${#lines[@]}" = 5 ]
	figures counters command capture restarts=11 capture_lost=12
	[ "${lines[4]}" = "tunpipe: tpa: restarts of -e: 11" ]
	[ "${lines[5]}" = "tunpipe: tpa: capture: 12 lost" ]
}

@test "the -s line gives its keys in tunpipe.1's order, after the device's name, on one line" {
	figures stats slip respawn command keepalive capture span_ns=1000000000 \
	    "${TRAFFIC[@]}" "${DROPS[@]}" restarts=11 capture_lost=12
	[ "${#lines[@]}" = 1 ]
	[[ $output == "tunpipe: tpa: t="* ]]
	[ "$(keys)" = "t out_pps out_bps in_pps in_bps out_packets out_bytes in_packets in_bytes drops backlog peer_idle drop_not_ip drop_refused drop_too_large drop_damaged drop_cut keepalives_in keepalives_out restarts carrier capture_lost" ]
}

@test "-s's totals, backlog and peer_idle are as counted, and t is the seconds up in tenths" {
	figures stats "${TRAFFIC[@]}" up_ms=2500 backlog=1234 peer_idle=17
	[ "$output" = "tunpipe: tpa: t=2.5 out_packets=3 out_bytes=300 in_packets=2 in_bytes=56 drops=0 backlog=1234 peer_idle=17" ]
	figures stats up_ms=61999
	[ "$(value t)" = 62.0 ]
}

@test "-s gives no rates over less than a second since the last line" {
	figures stats span_ns=999999999 out_packets=1000
	[ "$(keys)" = "t out_packets out_bytes in_packets in_bytes drops backlog peer_idle" ]
	figures stats span_ns=0 out_packets=1000
	[ "$(value out_pps)" = "" ]
	# A clock that went back gives none either.
	figures stats span_ns=-2000000000 out_packets=1000
	[ "$(value out_pps)" = "" ]
}

@test "-s's rates over a second or more: packets a second and bits a second each way, since the last line" {
	# 1000 packets out over 2 s is 500 a second.
	figures stats span_ns=2000000000 out_packets=1000
	[ "$(value out_pps)" = 500 ]
	# Only what came since the last line counts: its counters are then_.
	figures stats span_ns=2000000000 out_packets=1500 then_out_packets=500 \
	    out_bytes=1000000 then_out_bytes=250000 in_packets=31 \
	    then_in_packets=1 in_bytes=3100 then_in_bytes=100
	[ "$(value out_pps)" = 500 ]
	[ "$(value out_bps)" = 3000000 ]
	[ "$(value in_pps)" = 15 ]
	[ "$(value in_bps)" = 12000 ]
	[ "$(value out_packets)" = 1500 ]	# the totals stay whole
	# Exactly a second is enough.
	figures stats span_ns=1000000000 in_packets=7
	[ "$(value in_pps)" = 7 ]
	# A rate is rounded to a whole number.
	figures stats span_ns=3000000000 in_packets=2
	[ "$(value in_pps)" = 1 ]
}

@test "-s gives each kind of drop only once it happened, and drops is their total" {
	figures stats
	[[ $output != *drop_* ]]
	[ "$(value drops)" = 0 ]
	figures stats drop_invalid=1
	[ "$(keys)" = "t out_packets out_bytes in_packets in_bytes drops backlog peer_idle drop_not_ip" ]
	figures stats tap drop_invalid=1
	[ "$(value drop_not_ethernet)" = 1 ]
	[ "$(value drop_not_ip)" = "" ]
	figures stats drop_device=2
	[ "$(keys)" = "t out_packets out_bytes in_packets in_bytes drops backlog peer_idle drop_refused" ]
	figures stats drop_oversize=4
	[ "$(value drop_too_large)" = 4 ]
	figures stats drop_damaged=8
	[ "$(value drop_damaged)" = 8 ]
	figures stats drop_cut=16
	[ "$(value drop_cut)" = 16 ]
	# The total: every kind, but not the empty frames, which are no drop.
	figures stats drop_invalid=1 drop_device=2 drop_oversize=4 \
	    drop_damaged=8 drop_cut=16 keepalives=32 keepalives_in=64
	[ "$(value drops)" = 31 ]
}

@test "-s gives keepalives_in and keepalives_out with -k only" {
	figures stats keepalives_in=7 keepalives=8
	[[ $output != *keepalives* ]]
	figures stats keepalive
	[ "$(value keepalives_in)" = 0 ]
	[ "$(value keepalives_out)" = 0 ]
	figures stats keepalive keepalives_in=7 keepalives=8
	[ "$(value keepalives_in)" = 7 ]
	[ "$(value keepalives_out)" = 8 ]
}

@test "-s gives restarts and carrier with -e only, the carrier 1 or 0" {
	figures stats restarts=3 carrier=0
	[[ $output != *restarts* && $output != *carrier* ]]
	figures stats command restarts=3 carrier=0
	[ "$(value restarts)" = 3 ]
	[ "$(value carrier)" = 0 ]
	figures stats command carrier=1
	[ "$(value carrier)" = 1 ]
	figures stats command carrier=-1	# the kernel cannot say: on
	[ "$(value carrier)" = 1 ]
}

@test "-s gives capture_lost with -w only, last" {
	figures stats capture_lost=12
	[[ $output != *capture_lost* ]]
	figures stats capture
	[ "$(value capture_lost)" = 0 ]
	figures stats command capture capture_lost=12
	[[ $output == *" carrier=1 capture_lost=12" ]]
}

@test "a service manager's status line: the name, whole seconds up, the packets each way, the drops in all, and when the peer was last heard" {
	figures status "${TRAFFIC[@]}" "${DROPS[@]}" peer_idle=4
	[ "$output" = "tpa: up 61s; to stream 3 packets; from stream 2 packets; 34 dropped; peer last heard 4s ago" ]
	[ "${#lines[@]}" = 1 ]
	# -e: the restarts, and "no carrier" while -r waits.
	figures status command carrier=0 restarts=2 up_ms=5000
	[ "$output" = "tpa: up 5s, no carrier; to stream 0 packets; from stream 0 packets; 0 dropped; 2 restarts; peer last heard 0s ago" ]
	figures status command carrier=1 restarts=2
	[[ "$output" == "tpa: up 0s; to stream"* ]]
	# -N has no device, so nothing goes to a stream.
	figures status no-device name=stream in_packets=9
	[ "$output" = "stream: up 0s; from stream 9 packets; 0 dropped; peer last heard 0s ago" ]
}

@test "a text that does not fit in the buffer given is cut there, ending in a NUL, never overrun" {
	# The driver checks the NUL and that nothing past it was written; a
	# sanitizer build sees any byte written past the buffer.
	figures counters
	whole=$output
	len=$(($(printf '%s\n' "$whole" | wc -c)))
	figures counters -r $((len + 1))
	[ "$output" = "$whole" ]
	[ -z "$stderr" ]
	figures counters -r "$len"	# one short: the last newline goes
	[ "$output" = "$whole" ]
	[ "$stderr" = "cut: $len bytes, room $len" ]
	figures counters -r 50
	[ "$output" = "${whole:0:49}" ]
	[ "$stderr" = "cut: $len bytes, room 50" ]
	figures counters -r 1
	[ -z "$output" ]
	figures counters -r 0
	[ -z "$output" ]
	[ "$stderr" = "cut: $len bytes, room 0" ]

	figures stats command capture span_ns=1000000000
	whole=$output
	len=$(($(printf '%s\n' "$whole" | wc -c)))
	for room in 0 1 2 17 40 80 $((len - 1)) "$len"; do
		figures stats -r "$room" command capture span_ns=1000000000
		kept=$((room > 0 ? room - 1 : 0))
		[ "$output" = "${whole:0:kept}" ]
		[ "$stderr" = "cut: $len bytes, room $room" ]
	done
}

@test "the longest texts, every count at its largest and a name of 15 bytes, fit in one message of 1024 bytes" {
	local max=18446744073709551615 args
	# backlog is a size_t and peer_idle a long: 32 bits wide on 32-bit
	# architectures, 64 on the others.
	args=(name=tp-fifteen-char tap slip respawn command keepalive capture
	    mtu=-2147483648 carrier=0 up_ms=-9223372036854775808
	    peer_idle=$(driver_limit long_min) span_ns=1000000000
	    keepalives_in=$max capture_lost=$max
	    backlog=$(driver_limit size_max))
	for key in out_packets out_bytes in_packets in_bytes drop_invalid \
	    drop_device drop_oversize keepalives drop_damaged drop_cut restarts; do
		args+=("$key=$max")
	done
	figures counters -r 1024 "${args[@]}"
	[ -z "$stderr" ]
	[ "${#lines[@]}" = 6 ]
	figures stats -r 1024 "${args[@]}"
	[ -z "$stderr" ]
	[ "$(value in_bps)" = 147573952589676412928 ]
	# A status goes out as STATUS= and the text, in 512 bytes.
	figures status -r 505 "${args[@]}"
	[ -z "$stderr" ]
}
