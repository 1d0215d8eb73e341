#!/usr/bin/env bats
# seccomp: once set up, the packet loop is confined to the system calls it
# needs, by default; -S turns that off, and --down cannot have it.

load helpers

setup() { netns_setup; }
teardown() { netns_teardown; }

# syscall_number NAME: the number of system call NAME on this machine.
syscall_number() {
	printf '#include <sys/syscall.h>\nSYS_%s\n' "$1" | cc -E -P - | tail -n 1
}

# seccomp_mode PID: the Seccomp field of /proc/PID/status (0 off, 2 filter).
seccomp_mode() {
	awk '$1 == "Seccomp:" { print $2 }' "/proc/$1/status"
}

@test "the packet loop runs under a seccomp filter, and traffic flows" {
	tunnel_up
	address_tunnel
	transfer B 10.77.0.2 5
	ns A ping -c 2 -i 0.2 -W 2 10.77.0.2
	[ "$(seccomp_mode "$PID_A")" = 2 ]
	[ "$(seccomp_mode "$PID_B")" = 2 ]
	grep -q 'seccomp: on, [0-9]* system calls allowed' "$T/a.err"
}

@test "-S leaves the packet loop unconfined" {
	tunnel_up -S
	[ "$(seccomp_mode "$PID_A")" = 0 ]
	grep -q 'seccomp: off (-S)' "$T/a.err"
}

@test "with -e the loop is confined, and its command is not" {
	ns_bg A "$TUNPIPE" -v -i tpa -e "echo \$\$ >$T/command; exec sleep 30" \
	    </dev/null >/dev/null 2>"$T/a.err" &
	PID_A=$!
	remember "$PID_A"
	wait_for 5 test -s "$T/command"
	remember "$(cat "$T/command")"
	wait_for 5 grep -q 'seccomp: on' "$T/a.err"
	[ "$(seccomp_mode "$PID_A")" = 2 ]
	[ "$(seccomp_mode "$(cat "$T/command")")" = 0 ]
}

@test "with --down the filter is off, since the command would inherit it, and -v says why" {
	tunnel_up -d true
	grep -q 'seccomp: off (the --down command would inherit the filter)' "$T/a.err"
	[ "$(seccomp_mode "$PID_A")" = 0 ]
}

# run_with_shim SHIM SECONDS [OPTIONS...]: runs tunpipe (-k 1 -i tpa and
# OPTIONS) in namespace A for at most SECONDS, with test/seccomp-shim.so
# preloaded to make the forbidden call SHIM (getuid or ioctl) from inside
# the loop; -k 1 wakes the loop up after a second.  Its stdin is a FIFO
# that stays open and silent.
run_with_shim() {
	local shim=$1 seconds=$2
	shift 2
	[ -p "$T/in" ] || {
		mkfifo "$T/in"
		sleep 20 >"$T/in" &
		remember $!
	}
	run ns A timeout "$seconds" env SECCOMP_SHIM="$shim" \
	    LD_PRELOAD="$BATS_TEST_DIRNAME/seccomp-shim.so" \
	    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	    "$TUNPIPE" -k 1 -i tpa "$@" <"$T/in" >/dev/null
}

@test "a forbidden system call stops tunpipe with a message naming seccomp" {
	run_with_shim getuid 10
	[ "$status" = 1 ]
	[[ "$output" =~ "seccomp stopped tunpipe at system call "[0-9]+", which the packet loop should not make; run with -S" ]]
	# Without the filter the same shim does no harm: tunpipe runs on.
	run_with_shim getuid 3 -S
	[ "$status" = 124 ]
}

@test "ioctl() is allowed for the device's two requests only: SIOCSIFMTU, one from SIOCGIFMTU, stops tunpipe" {
	run_with_shim ioctl 10
	[ "$status" = 1 ]
	[[ "$output" =~ "seccomp stopped tunpipe at system call $(syscall_number ioctl)," ]]
}
