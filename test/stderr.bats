#!/usr/bin/env bats
# A stderr nobody reads: messages wait, or are lost and counted, and the
# tunnel and its stop signals go on as if stderr were read.

load helpers

setup() {
	netns_setup
}

teardown() {
	netns_teardown
}

# stuck_stderr_tunnel [TUNPIPE OPTIONS...]: tunpipe A (device tpa) and B
# (tpb), without -v, joined by two FIFOs and addressed over IPv4; A, with
# these options, has for stderr a FIFO whose reader reads nothing until
# read_stderr, then copies it to $T/a.err.  Sets PID_A.
stuck_stderr_tunnel() {
	mkfifo "$T/err" "$T/go"
	# shellcheck disable=SC2016
	bash -c 'read -r _ <"$1"; exec cat' _ "$T/go" <"$T/err" >"$T/a.err" 3>&- &
	READER=$!
	remember $READER
	A_OPTS=("$@")
	A_ERR=$T/err QUIET=1 ipv4_only_tunnel
}

# read_stderr: A's stderr begins to be read.
read_stderr() {
	echo >"$T/go"
}

# usr1_pending PID: whether a SIGUSR1 waits for PID to take it.
usr1_pending() {
	local status
	read -r -d '' status <"/proc/$1/status" || true
	[[ $status =~ ShdPnd:[[:space:]]*([0-9a-f]+) ]] &&
	    (( 0x${BASH_REMATCH[1]} & 1 << 9 ))
}

# send_usr1 PID COUNT: COUNT SIGUSR1s, each once PID has taken the one
# before, so that none merge with another: each makes one message.  (The
# waits are read's timeouts on a FIFO that nobody writes: no process a
# try.)
send_usr1() {
	local i tries pause
	mkfifo "$T/pause"
	exec {pause}<>"$T/pause"
	for ((i = 0; i < $2; i++)); do
		kill -USR1 "$1"
		for ((tries = 0; tries < 2000; tries++)); do
			usr1_pending "$1" || break
			read -r -t 0.001 -u "$pause" _ || true
		done
		[ "$tries" -lt 2000 ] || { echo "SIGUSR1 $i not taken" >&2; return 1; }
	done
	exec {pause}>&-
}

@test "a stderr nobody reads: pings cross while messages pile up, and SIGTERM stops tunpipe at once with 0" {
	stuck_stderr_tunnel -s 1
	# Each SIGUSR1 prints a line of figures: 3000 of them fill the pipe
	# many times over.
	for ((i = 0; i < 3000; i++)); do
		kill -USR1 "$PID_A"
	done
	run ns A ping -c 20 -i 0.1 -W 2 10.77.0.2
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *" 20 received"* ]]
	for ((i = 0; i < 1000; i++)); do
		kill -USR1 "$PID_A"
	done
	ns A ping -c 3 -i 0.1 -W 2 10.77.0.2
	kill -TERM "$PID_A"
	wait_exit 3 "$PID_A"
	[ "$status" = 0 ]
	# What reached stderr is whole lines.
	read_stderr
	wait_exit 5 "$READER"
	grep -q 'out_packets=' "$T/a.err"
	! grep -v '^tunpipe: ' "$T/a.err"
}

@test "a stderr nobody reads: the messages kept and those counted lost add up to all that were written" {
	stuck_stderr_tunnel -s 86400
	send_usr1 "$PID_A" 2000
	ns A ping -c 2 -i 0.2 -W 2 10.77.0.2
	read_stderr
	kill -TERM "$PID_A"
	wait_exit 3 "$PID_A"
	[ "$status" = 0 ]
	wait_exit 5 "$READER"
	# 2000 lines of figures for the signals, and one at exit.
	kept=$(grep -c 'out_packets=' "$T/a.err")
	lost=$(sed -En 's/^tunpipe: ([0-9]+) messages? (was|were) lost: .*/\1/p' "$T/a.err" |
	    awk '{ n += $1 } END { print n + 0 }')
	echo "kept $kept, lost $lost"
	grep -Eq '^tunpipe: [0-9]+ messages were lost: standard error did not take them in time$' "$T/a.err"
	[ "$lost" -gt 0 ]
	[ "$kept" -gt 100 ]
	[ $((kept + lost)) = 2001 ]
}

@test "a stderr that is read: every message arrives, in order, none lost" {
	stuck_stderr_tunnel -s 86400
	read_stderr
	send_usr1 "$PID_A" 300
	kill -TERM "$PID_A"
	wait_exit 3 "$PID_A"
	[ "$status" = 0 ]
	wait_exit 5 "$READER"
	[ "$(grep -c 'out_packets=' "$T/a.err")" = 301 ]
	! grep -q 'lost: standard error' "$T/a.err"
	# Each line whole: every one starts with the program's name.
	! grep -v '^tunpipe: ' "$T/a.err"
}

@test "stderr on /dev/null: a message from the loop, under the filter, is no reason to stop" {
	frames "$IPV4_PACKET" 60000000 "$IPV4_PACKET" >"$T/stream"
	"$TUNPIPE" -N <"$T/stream" >/dev/null 2>/dev/null
	run "$TUNPIPE" -N -s 1 <"$T/stream"
	[ "$status" = 0 ]
	[[ "$output" == *"dropped a 4-byte frame that is not an IPv4 or IPv6 packet"* ]]
	[[ "$output" == *" in_packets=2 "* ]]
}
