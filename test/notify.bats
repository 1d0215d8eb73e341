#!/usr/bin/env bats
# What tunpipe tells a service manager through NOTIFY_SOCKET, read message
# by message from a socket of the test's own (test/notify-listen), for what
# a real manager cannot show: each message's words and sender, the order
# against --up, the watchdog's pace, a socket that is wrong or goes away.
# test/systemd.bats runs the same under a real systemd.

load helpers

setup() {
	netns_setup
	LISTEN=$BATS_TEST_DIRNAME/notify-listen
	[ -x "$LISTEN" ] || fail "$LISTEN is missing: run 'make test/notify-listen'"
}
teardown() { netns_teardown; }

# listen: a manager's socket at $T/notify, its messages in $T/got.
listen() {
	"$LISTEN" -t 60 "$T/notify" >"$T/got" 3>&- &
	remember $!
	wait_for 5 test -S "$T/notify"
}

# got TEXT: whether a message with the line TEXT has come.
got() { grep -qxF -- "$1" "$T/got"; }

# count TEXT: how many lines TEXT have come.
count() { grep -cxF -- "$1" "$T/got" || true; }

@test "READY=1 comes from tunpipe's own PID once the device is configured and --up has run; STOPPING=1 on SIGTERM" {
	listen
	A_WRAP=(env NOTIFY_SOCKET="$T/notify")
	A_OPTS=(-a 10.77.0.1/24 -u "sleep 1; echo \"\${NOTIFY_SOCKET-unset} \${WATCHDOG_USEC-unset}\" >$T/up.env")
	tunnel_up
	wait_for 10 got READY=1
	# --up ran to its end before READY=1, and did not see the variables.
	[ "$(cat "$T/up.env")" = "unset unset" ]
	ns A ip -4 addr show dev tpa | grep -q 'inet 10.77.0.1/24'
	got "STATUS=tpa: up; stream: standard input and output"
	[ "$(grep -m1 -x 'pid=.*' "$T/got")" = "pid=$PID_A" ]
	[ "$(count READY=1)" = 1 ]
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	[ "$status" = 0 ]
	got STOPPING=1
	got "STATUS=tpa: stopping: signal 15 (Terminated)"
}

@test "-e -r: the status names the command's PID, -r's wait, the restart; the command does not see NOTIFY_SOCKET" {
	listen
	local b
	b="$(ns_prefix B) sh -c 'echo \"\${NOTIFY_SOCKET-unset}\" >$T/e.env; exec $TUNPIPE -i tpb -a 10.77.0.2/24'"
	ns_bg A env NOTIFY_SOCKET="$T/notify" "$TUNPIPE" -i tpa -a 10.77.0.1/24 \
	    -r 1 -e "$b" </dev/null >/dev/null 2>"$T/a.err" &
	PID_A=$!
	remember "$PID_A"
	wait_for 10 got READY=1
	wait_for 10 ns A ping -c 1 -W 1 10.77.0.2
	[ "$(cat "$T/e.env")" = unset ]
	local first
	first=$(sed -n 's/^STATUS=tpa: up; stream: the -e command (pid \([0-9]*\))$/\1/p' "$T/got")
	[ -n "$first" ]
	kill "$first"
	wait_for 10 grep -q '^STATUS=tpa: no carrier: the -e command .*; starting it again in 1 s$' "$T/got"
	wait_for 10 grep -q '^STATUS=tpa: up; stream: the -e command (pid [0-9]*), started again (restart 1)$' "$T/got"
	wait_for 10 ns A ping -c 1 -W 1 10.77.0.2
	[ "$(count READY=1)" = 1 ]
}

@test "WATCHDOG_USEC: WATCHDOG=1 at half the interval, also under load, and none while the loop is stopped" {
	listen
	A_WRAP=(env NOTIFY_SOCKET="$T/notify" WATCHDOG_USEC=400000)
	A_OPTS=(-a 10.77.0.1/24)
	B_OPTS=(-a 10.77.0.2/24)
	tunnel_up
	wait_for 10 got READY=1
	# 3 s of a flood through the tunnel: pings every 0.2 s, not each turn.
	ns A timeout 3 ping -f -q 10.77.0.2 >/dev/null || true
	local pings
	pings=$(count WATCHDOG=1)
	echo "pings in about 3 s: $pings" >&2
	[ "$pings" -ge 5 ] && [ "$pings" -le 40 ]
	# A loop that does not turn does not ping.
	kill -STOP "$PID_A"
	sleep 0.5
	pings=$(count WATCHDOG=1)
	sleep 1.5
	[ "$(count WATCHDOG=1)" = "$pings" ]
	kill -CONT "$PID_A"
	wait_for 5 eval '[ "$(count WATCHDOG=1)" -gt '"$pings"' ]'
	ns A ping -c 1 -W 2 10.77.0.2
}

@test "WATCHDOG_PID of another process: no pings, but READY=1" {
	listen
	A_WRAP=(env NOTIFY_SOCKET="$T/notify" WATCHDOG_USEC=200000 WATCHDOG_PID=1)
	tunnel_up
	wait_for 10 got READY=1
	sleep 1
	[ "$(count WATCHDOG=1)" = 0 ]
}

@test "an abstract NOTIFY_SOCKET (@name), which lives in a network namespace, is told too" {
	ns_bg A "$LISTEN" -t 60 "@tunpipe-test-$$" >"$T/got" &
	remember $!
	wait_for 5 eval 'ns A ss -Hxa | grep -q "@tunpipe-test-$$"'
	A_WRAP=(env NOTIFY_SOCKET="@tunpipe-test-$$")
	tunnel_up
	wait_for 10 got READY=1
}

@test "a NOTIFY_SOCKET that is no socket's path gets a warning with the fix, and the tunnel works" {
	A_WRAP=(env NOTIFY_SOCKET=relative/notify)
	A_OPTS=(-a 10.77.0.1/24)
	B_OPTS=(-a 10.77.0.2/24)
	tunnel_up
	ns A ping -c 2 -i 0.2 -W 2 10.77.0.2
	grep -q 'NOTIFY_SOCKET=relative/notify: not an absolute path nor @name: the service manager will not hear from tunpipe; unset NOTIFY_SOCKET, or give it the manager' "$T/a.err"
}

@test "a manager's socket that goes away never disturbs the tunnel: one warning, and packets flow" {
	listen
	A_WRAP=(env NOTIFY_SOCKET="$T/notify" WATCHDOG_USEC=200000)
	A_OPTS=(-a 10.77.0.1/24)
	B_OPTS=(-a 10.77.0.2/24)
	tunnel_up
	wait_for 10 got READY=1
	kill_remembered_listener
	rm -f "$T/notify"
	ns A ping -c 10 -i 0.2 -W 2 10.77.0.2
	kill -0 "$PID_A"
	[ "$(grep -c 'NOTIFY_SOCKET: the service manager did not take' "$T/a.err")" = 1 ]
}

# kill_remembered_listener: ends notify-listen, which listen started.
kill_remembered_listener() {
	local pid
	pid=$(pgrep -x -f "$LISTEN -t 60 $T/notify")
	[ -n "$pid" ] && kill "$pid"
	wait_for 5 eval '! pgrep -x -f "$LISTEN -t 60 $T/notify"'
}
