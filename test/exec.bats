#!/usr/bin/env bats
# -e runs the transport itself, with no FIFO; -r starts it again when it
# ends, while the device and its addresses stay; -k finds a transport that
# fell silent.  Here the "transport" is the peer tunpipe itself, started in
# namespace B, so that killing or stopping it breaks the stream.

load helpers

setup() { netns_setup; }
teardown() { netns_teardown; }

# exec_tunnel [OPTIONS...]: tunpipe in A (tpa, 10.77.0.1) runs tunpipe in B
# (tpb, 10.77.0.2) as its -e command, both with OPTIONS; A_OPTS adds
# options for A only.  Sets PID_A; stderr of both is in $T/a.err.
exec_tunnel() {
	local b
	b="$(ns_prefix B) $TUNPIPE -v -i tpb -a 10.77.0.2/24 $*"
	ns_bg A "$TUNPIPE" -v -i tpa -a 10.77.0.1/24 "$@" \
	    "${A_OPTS[@]+"${A_OPTS[@]}"}" -e "$b" \
	    </dev/null >/dev/null 2>"$T/a.err" &
	PID_A=$!
	remember "$PID_A"
	wait_for 5 has_link A tpa || { cat "$T/a.err" >&2; return 1; }
	wait_for 5 has_link B tpb || { cat "$T/a.err" >&2; return 1; }
}

# peer_pid: the PID of the tunpipe in B (the one with device tpb).
peer_pid() {
	pgrep -f "^$TUNPIPE -v -i tpb" | head -n 1
}

# a_keeps_address: samples every 0.1 s, for at most SECS seconds, that tpa
# in A still has 10.77.0.1/24; fails at the first sample that lacks it.
a_keeps_address() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		ns A ip -4 addr show dev tpa | grep -q 'inet 10.77.0.1/24' || {
			echo "tpa lost its address during the outage" >&2
			return 1
		}
		sleep 0.1
	done
}

@test "-e carries a tunnel over a command's stdin and stdout: ping and 20 MB" {
	exec_tunnel
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	transfer B 10.77.0.2 20
	transfer A 10.77.0.1 20
}

@test "-e: when the command exits, tunpipe exits 5 and says how it ended" {
	run ns A "$TUNPIPE" -i tpa -e 'echo "on $TUNPIPE_IFNAME" >&2; exit 7' \
	    </dev/null
	[ "$status" = 5 ]
	[[ "$output" == *"on tpa"* ]]		# its stderr passes through
	[[ "$output" == *"-e command exited with status 7; stopping"* ]]
	no_link A tpa
}

@test "-e: a command killed by a signal is named as such" {
	run ns A "$TUNPIPE" -i tpa -e 'kill -9 $$' </dev/null
	[ "$status" = 5 ]
	[[ "$output" == *"-e command was killed by signal 9"* ]]
}

@test "-e works with a terminal-less, closed standard input and output" {
	run ns A "$TUNPIPE" -i tpa -e 'head -c 0; exit 3' <&- >&-
	[ "$status" = 5 ]
	[[ "$output" == *"exited with status 3"* ]]
}

@test "-e with an empty command, or one of only blanks, is a usage error, status 2" {
	local cmd
	for cmd in '' ' ' $' \t\n '; do
		run ns A "$TUNPIPE" -i tpa -e "$cmd" </dev/null
		[ "$status" = 2 ] && [[ "$output" == *"-e '$cmd': an empty command carries no stream; give the command that does"* ]] ||
		    fail "-e $(printf %q "$cmd"): status $status: $output"
	done
	no_link A tpa
}

@test "-r without -e, and -r out of range, are usage errors" {
	run "$TUNPIPE" -r 1 </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-r needs -e"* ]]
	run "$TUNPIPE" -r 0 -e true </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-r 0: must be a number from 1 to 3600"* ]]
}

@test "-r: the transport killed during a long ping comes back; tpa keeps its address" {
	A_OPTS=(-r 1)
	exec_tunnel
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	ns_bg A ping -i 0.1 -c 80 -W 1 10.77.0.2 >"$T/ping" &
	local ping=$!
	remember $ping
	sleep 2
	kill "$(peer_pid)"
	a_keeps_address 3
	wait_exit 20 $ping
	# The last replies came after the restart.
	grep -q 'icmp_seq=7[5-9]' "$T/ping"
	grep -q 'icmp_seq=80 ' "$T/ping"
	grep -q 'starting it again in 1 s' "$T/a.err"
	kill -USR1 "$PID_A"
	wait_for 5 grep -q 'restarts of -e: 1$' "$T/a.err"
}

@test "-r: a TCP connection across the tunnel survives the transport's death intact" {
	A_OPTS=(-r 1)
	exec_tunnel
	# Slow the tunnel to 40 Mbit/s, so that the transfer is still running
	# when the transport dies.
	ns A tc qdisc add dev tpa root tbf rate 40mbit burst 32kb latency 50ms
	head -c $((20 * 1024 * 1024)) /dev/urandom >"$T/sent"
	ns_bg B timeout 60 socat -u TCP-LISTEN:5001,bind=10.77.0.2,reuseaddr \
	    "CREATE:$T/received" &
	local listener=$!
	remember $listener
	wait_for 5 eval "ns B ss -Hltn 'sport = :5001' | grep -q LISTEN"
	ns_bg A timeout 60 socat -u "FILE:$T/sent" TCP:10.77.0.2:5001 &
	local sender=$!
	remember $sender
	sleep 1.5
	kill -0 $sender				# still sending
	kill "$(peer_pid)"
	a_keeps_address 2
	wait_exit 50 $sender
	[ "$status" = 0 ]
	wait_exit 10 $listener
	[ "$status" = 0 ]
	cmp "$T/sent" "$T/received"
	grep -q 'starting it again' "$T/a.err"
}

@test "-r: a frame cut by the break is dropped, and the next stream starts in step" {
	# The first run sends 1 byte of a 28-byte packet and ends; the second
	# sends the whole packet.  Only the whole one may reach the device.
	frames "$IPV4_PACKET" >"$T/whole"
	head -c 3 "$T/whole" >"$T/cut"
	persistent_device A tpa
	ns_bg A "$TUNPIPE" -v -i tpa -r 1 -e "
	    if [ -e $T/second ]; then cat $T/whole; sleep 30
	    else touch $T/second; cat $T/cut; fi" \
	    </dev/null >/dev/null 2>"$T/a.err" &
	PID_A=$!
	remember "$PID_A"
	wait_for 10 eval '[ "$(rx_packets A tpa)" = 1 ]'
	kill -USR1 "$PID_A"
	wait_for 5 grep -q 'restarts of -e: 1$' "$T/a.err"
	grep -q 'from stream: 1 packets, 28 bytes' "$T/a.err"
	grep -q 'dropped: 0 not IP, 0 device write failed, 0 too large to frame, 1 cut by a stream break$' "$T/a.err"
}

@test "-r: a frame half read and dropped as no packet before the break counts once, as not IP, not also as cut" {
	# The first run sends a packet and 20 bytes of a 100-byte frame
	# whose IPv4 header says 28, then ends; the second a packet.
	{ frames "$IPV4_PACKET"; printf '\000\144'; frames "$IPV4_PACKET" |
	    tail -c 28 | head -c 20; } >"$T/cut"
	frames "$IPV4_PACKET" >"$T/whole"
	persistent_device A tpa
	ns_bg A "$TUNPIPE" -s 1 -i tpa -r 1 -e "
	    if [ -e $T/second ]; then cat $T/whole; sleep 30
	    else touch $T/second; cat $T/cut; fi" \
	    </dev/null >/dev/null 2>"$T/a.err" &
	remember $!
	wait_for 10 grep -q ' in_packets=2 .* restarts=1 ' "$T/a.err"
	cat "$T/a.err"
	grep -q 'dropped a 100-byte frame whose IP header gives another length' "$T/a.err"
	tail -n 1 "$T/a.err" | grep ' drop_not_ip=1 '
	! grep -q 'drop_cut=' "$T/a.err"
}

@test "-e: a command's stream cut 10 bytes into a frame whose IP header gives another length: the frame is dropped, and the packets after it delivered" {
	persistent_device A tpa
	# 5 packets of 84 bytes, a frame of 100 whose IPv4 header says 60,
	# and 5 packets: test/splitter writes the first 442 bytes, then, once
	# tunpipe has read them, the rest.
	local ping head='4500%04x0000000040fd00000a4d00020a4d0001'
	ping=$(printf "$head" 84; printf '00%.0s' $(seq 64))
	{ for i in 1 2 3 4 5; do echo "$ping"; done
	  printf "$head" 60; printf '00%.0s' $(seq 80); echo
	  for i in 1 2 3 4 5; do echo "$ping"; done; } |
	    "$BATS_TEST_DIRNAME/framing-driver" encode >"$T/stream"
	run ns A timeout 10 "$TUNPIPE" -i tpa \
	    -e "exec '$BATS_TEST_DIRNAME/splitter' 442 <'$T/stream'"
	echo "$output"
	[ "$status" = 5 ]	# the command exited, and no -r
	[[ "$output" == *"dropped a 100-byte frame whose IP header gives another length"* ]]
	[ "$(rx_packets A tpa)" = 10 ]
}

@test "-r backs off: the wait doubles while the command keeps failing" {
	ns_bg A "$TUNPIPE" -i tpa -r 1 -e 'exit 1' </dev/null >/dev/null \
	    2>"$T/a.err" &
	PID_A=$!
	remember "$PID_A"
	wait_for 10 grep -q 'again in 4 s' "$T/a.err"
	grep -q 'exited with status 1; starting it again in 1 s' "$T/a.err"
	grep -q 'starting it again in 2 s' "$T/a.err"
	has_link A tpa
}

@test "-r: a run that brought a packet from the peer resets the wait, however short it was" {
	A_OPTS=(-r 1)
	exec_tunnel
	local i old
	for i in 1 2 3; do
		wait_for 10 ns A ping -c 1 -W 1 10.77.0.2
		old=$(peer_pid)
		kill "$old"
		wait_for 10 eval '[ "$(grep -c "starting it again in 1 s" "$T/a.err")" -ge '"$i"' ]'
		wait_for 10 eval '[ -n "$(peer_pid)" ] && [ "$(peer_pid)" != "'"$old"'" ]'
	done
	# Three runs of a second or two, each with a reply: no wait doubled.
	! grep -q 'starting it again in [2-9]' "$T/a.err"
	wait_for 10 ns A ping -c 1 -W 1 10.77.0.2
}

# silent_peer_restarts [OPTIONS...]: with -r 1 and -k 1 (and OPTIONS) at
# both ends, the peer stopped with SIGSTOP is found dead within 3 s, and a
# new peer is started that carries pings.
silent_peer_restarts() {
	A_OPTS=(-r 1)
	exec_tunnel -k 1 "$@"
	ns A ping -c 2 -i 0.2 -W 2 10.77.0.2
	sleep 1.5			# the peer's first keepalive arrives
	local old
	old=$(peer_pid)
	kill -STOP "$old"
	wait_for 10 grep -q 'nothing arrived for 3 s from a peer that sends keepalives' "$T/a.err"
	kill -CONT "$old" 2>/dev/null || true
	wait_for 10 eval '[ -n "$(peer_pid)" ] && [ "$(peer_pid)" != "$old" ]'
	wait_for 10 ns A ping -c 1 -W 1 10.77.0.2
}

@test "-k: a peer that falls silent is found dead, and -r starts the stream again" {
	silent_peer_restarts
}

# procs_of PATTERN: the PIDs whose command line matches PATTERN exactly.
procs_of() {
	pgrep -xf "$1" || true
}

@test "-e: the command runs in a process group of its own, and nothing of it outlives tunpipe" {
	ns_bg A "$TUNPIPE" -i tpa -e 'sleep 3601 & sleep 3602' </dev/null >/dev/null \
	    2>"$T/a.err" &
	PID_A=$!
	remember "$PID_A"
	wait_for 5 eval '[ -n "$(procs_of "sleep 3602")" ]'
	remember "$(procs_of "sleep 3601")"
	remember "$(procs_of "sleep 3602")"
	[ "$(example_pgid "$(procs_of "sleep 3602")")" != "$(example_pgid "$PID_A")" ]
	[ "$(example_pgid "$(procs_of "sleep 3601")")" = "$(example_pgid "$(procs_of "sleep 3602")")" ]
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	[ "$status" = 0 ]
	wait_for 5 eval '[ -z "$(procs_of "sleep 360[12]")" ]'
}

@test "-e: what a command leaves running when it exits goes with it, also at each -r restart" {
	run ns A "$TUNPIPE" -i tpa -e 'sleep 3603 & exit 3' </dev/null
	[ "$status" = 5 ]
	[[ "$output" == *"exited with status 3"* ]]
	wait_for 5 eval '[ -z "$(procs_of "sleep 3603")" ]'

	ns_bg A "$TUNPIPE" -i tpa -r 1 -e 'sleep 3604 & exit 3' </dev/null >/dev/null \
	    2>"$T/a.err" &
	PID_A=$!
	remember "$PID_A"
	wait_for 10 grep -q 'again in 2 s' "$T/a.err"
	[ "$(procs_of "sleep 3604" | wc -l)" -le 1 ]
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	wait_for 5 eval '[ -z "$(procs_of "sleep 3604")" ]'
}

@test "-e from a terminal: the command reads the terminal (an ssh password prompt), and Ctrl-C stops tunpipe with 0" {
	# script(1) runs tunpipe in the foreground of a new terminal and
	# types what the FIFO gives: a line for the command, then Ctrl-C.
	mkfifo "$T/keys"
	{ sleep 1; printf 'secret\n'; sleep 1; printf '\003'; sleep 3; } >"$T/keys" &
	remember $!
	run timeout 20 script -qfec "$(ns_prefix A) $TUNPIPE -v -i tpa -e 'read -r x </dev/tty; echo \"read \$x\" >&2; exec sleep 3605' </dev/null >/dev/null; echo \"status \$?\"" /dev/null <"$T/keys"
	echo "$output"
	[[ "$output" == *"read secret"* ]]
	[[ "$output" == *"-e command was interrupted; stopping"* ]]
	[[ "$output" == *"status 0"* ]]
	wait_for 5 eval '[ -z "$(procs_of "sleep 3605")" ]'
}

@test "-e without -r: a peer found silent by -k is a stream error, status 4, named as such" {
	exec_tunnel -k 1
	ns A ping -c 2 -i 0.2 -W 2 10.77.0.2
	sleep 1.5			# the peer's first keepalive arrives
	kill -STOP "$(peer_pid)"
	wait_exit 10 "$PID_A"
	kill -CONT "$(peer_pid)" 2>/dev/null || true
	[ "$status" = 4 ]
	grep -q 'nothing arrived for 3 s from a peer that sends keepalives' "$T/a.err"
	run grep -c 'killed by signal' "$T/a.err"
	[ "$output" = 0 ]
}

@test "-k with -f slip: keepalives cross, and a peer that falls silent is found dead" {
	silent_peer_restarts -f slip
}

# carrier SIDE DEVICE: 1 when the device has a carrier, 0 when ip(8) shows
# NO-CARRIER.
carrier() {
	if ns "$1" ip link show dev "$2" | grep -q NO-CARRIER; then
		echo 0
	else
		echo 1
	fi
}

@test "-r: the carrier follows the stream: NO-CARRIER while -r waits, back with the new stream; the counters say which" {
	A_OPTS=(-r 2 -s 1)
	exec_tunnel
	ns A ping -c 2 -i 0.2 -W 2 10.77.0.2
	[ "$(carrier A tpa)" = 1 ]
	wait_for 5 grep -q 'carrier=1' "$T/a.err"
	kill "$(peer_pid)"
	wait_for 5 eval '[ "$(carrier A tpa)" = 0 ]'
	grep -q 'tpa: carrier off' "$T/a.err"
	kill -USR1 "$PID_A"
	wait_for 5 grep -q 'carrier=0' "$T/a.err"
	# the device and its address stay meanwhile
	ns A ip -4 addr show dev tpa | grep -q 'inet 10.77.0.1/24'
	wait_for 10 eval '[ "$(carrier A tpa)" = 1 ]'
	wait_for 10 ns A ping -c 1 -W 1 10.77.0.2
}

# tx_dropped SIDE DEVICE: the packets the kernel dropped on their way out
# through the device (ip's TX dropped).
tx_dropped() {
	ns "$1" ip -s link show dev "$2" | awk '/TX:/ { getline; print $4; exit }'
}

@test "-r: while it waits, the device drops what is sent through it at once, and nothing of it reaches the new stream" {
	ipv6_off			# no packet crosses unless the test sends it
	A_OPTS=(-r 5)
	exec_tunnel
	ns A ping -c 1 -W 2 10.77.0.2
	kill "$(peer_pid)"
	wait_for 5 eval '[ "$(carrier A tpa)" = 0 ]'
	local dropped
	dropped=$(tx_dropped A tpa)
	run ns A ping -c 5 -i 0.2 -W 1 10.77.0.2
	[ "$status" = 1 ]
	[ "$(carrier A tpa)" = 0 ]	# all 5 went while -r waited
	[ "$(tx_dropped A tpa)" = $((dropped + 5)) ]
	# The new stream carries the next ping, and that alone.
	wait_for 10 eval '[ "$(carrier A tpa)" = 1 ]'
	wait_for 5 eval 'ns B ip -4 addr show dev tpb | grep -q "inet 10.77.0.2/24"'
	ns A ping -c 1 -W 2 10.77.0.2
	[ "$(rx_packets B tpb)" = 1 ]
}

@test "-r at both ends of a TCP connection, without -k: after the connection closes, both carriers and the tunnel come back" {
	# Neither end hears the other until a packet crosses, and a device
	# without carrier sends none: the carrier must not wait for the peer.
	veth_link
	ns_bg B "$TUNPIPE" -v -i tpb -a 10.77.0.2/24 -r 1 \
	    -e 'exec socat - TCP-LISTEN:5002,bind=10.78.0.2,reuseaddr' \
	    </dev/null >/dev/null 2>"$T/b.err" &
	remember $!
	wait_for 5 eval "ns B ss -Hltn 'sport = :5002' | grep -q LISTEN"
	ns_bg A "$TUNPIPE" -v -i tpa -a 10.77.0.1/24 -r 1 \
	    -e 'exec socat - TCP:10.78.0.2:5002' \
	    </dev/null >/dev/null 2>"$T/a.err" &
	remember $!
	wait_for 10 ns A ping -c 1 -W 1 10.77.0.2
	pkill -xf 'socat - TCP:10.78.0.2:5002'
	wait_for 5 grep -q 'tpb: carrier off' "$T/b.err"
	wait_for 10 grep -q 'restarts of -e\|started the -e command (pid' "$T/a.err"
	wait_for 15 ns A ping -c 1 -W 1 10.77.0.2
	[ "$(carrier A tpa)" = 1 ]
	[ "$(carrier B tpb)" = 1 ]
	ns B ping -c 2 -i 0.2 -W 2 10.77.0.1
}
