#!/usr/bin/env bats
# Device configuration: a tunnel end is one command with its addresses, MTU
# and routes, and its packet loop runs without root.

load helpers

setup() { netns_setup; }
teardown() { netns_teardown; }

# up SIDE DEVICE: whether the device's link is up.
link_up() { ns "$1" ip -o link show "$2" | grep -q '[<,]UP[,>]'; }

@test "-a sets IPv4 and IPv6 addresses and brings the link up, no ip(8) needed" {
	A_OPTS=(-a 10.77.0.1/24 -a fd77::1/64)
	B_OPTS=(--address 10.77.0.2/24 --address fd77::2/64)
	tunnel_up
	wait_for 5 link_up A tpa
	wait_for 5 link_up B tpb
	ns A ip -o addr show dev tpa | grep -q 'inet 10.77.0.1/24'
	ns A ip -o addr show dev tpa | grep -q 'inet6 fd77::1/64'
	ns B ip -o addr show dev tpb | grep -q 'inet 10.77.0.2/24'
	ns B ip -o addr show dev tpb | grep -q 'inet6 fd77::2/64'
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	ns A ping -6 -c 3 -i 0.2 -W 2 fd77::2
	ns B ping -6 -c 3 -i 0.2 -W 2 fd77::1
}

@test "bad addresses and prefixes are usage errors that name the argument" {
	for arg in 10.77.0.300/24 10.77.0.1/33 fd77::1/129 10.77.0.1/ 10.77.0.1/x nonsense; do
		run "$TUNPIPE" -a "$arg" </dev/null
		echo "$arg: $status $output"
		[ "$status" = 2 ]
		[[ "$output" == *"-a $arg: "* ]]
	done
}

@test "-m sets the MTU, and a packet over it from the stream still reaches the device" {
	persistent_device A tpa
	frames "$IPV4_PACKET" "4500057800000000$(printf '00%.0s' $(seq 1392))" >"$T/stream"
	run tunpipe_reads -i tpa -m 1400
	[ "$status" = 0 ]
	[ "$(link_field A tpa mtu)" = 1400 ]
	[ "$(rx_packets A tpa)" = 2 ]
}

@test "-m is range-checked, and IPv6 needs at least 1280" {
	run "$TUNPIPE" -m 67 </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-m 67: must be a number from 68 to 65535"* ]]
	run "$TUNPIPE" -m 1279 -a fd77::1/64 </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"IPv6 needs an MTU of at least 1280, and -a fd77::1/64 is IPv6"* ]]
}

@test "--up sees the device's variables and can add a route" {
	A_OPTS=(-a 10.77.0.1/24 -m 1400 -u 'echo "$TUNPIPE_IFNAME $TUNPIPE_MTU $TUNPIPE_MODE" >'"$T/up.env"'; ip route add 10.78.0.0/16 dev "$TUNPIPE_IFNAME"')
	B_OPTS=(-a 10.77.0.2/24 -a 10.78.0.1/32)
	tunnel_up
	wait_for 5 test -s "$T/up.env"
	[ "$(cat "$T/up.env")" = "tpa 1400 tun" ]
	ns A ip route show 10.78.0.0/16 | grep -q 'dev tpa'
	ns A ping -c 2 -i 0.2 -W 2 10.78.0.1
}

@test "a failing --up aborts start-up with status 6 of its own, naming the hook's status, before any packet" {
	mkfifo "$T/in"
	exec 7<>"$T/in"
	run ns A timeout 10 "$TUNPIPE" -i tpa -a 10.77.0.1/24 -u 'echo hook ran; exit 7' \
	    <"$T/in" 2>&1 >"$T/out" 7>&-
	exec 7>&-
	[ "$status" = 6 ]
	[[ "$output" == *"hook ran"* ]]
	[[ "$output" == *"--up command exited with status 7"* ]]
	[ ! -s "$T/out" ]
	no_link A tpa
}

@test "--down runs at exit, before the device goes" {
	mkfifo "$T/in"
	exec 7<>"$T/in"
	ns_bg A "$TUNPIPE" -i tpa -d 'ip -o link show "$TUNPIPE_IFNAME" >'"$T/down" \
	    <"$T/in" >/dev/null 2>"$T/err" 7>&- &
	pid=$!
	remember $pid
	wait_for 5 has_link A tpa
	[ ! -e "$T/down" ]
	kill -TERM $pid
	wait_exit 5 $pid
	exec 7>&-
	[ "$status" = 0 ]
	grep -q ': tpa: ' "$T/down"
	no_link A tpa
}

@test "a persistent device owned by nobody carries traffic for nobody and survives" {
	need_root
	ns A timeout 10 "$TUNPIPE" -p -o nobody -i tpp -a 10.77.0.1/24 </dev/null >/dev/null
	has_link A tpp
	[ "$(link_field A tpp user)" = nobody ]
	DEV_A=tpp
	A_WRAP=("$BATS_TEST_DIRNAME/as-user" nobody)
	B_OPTS=(-a 10.77.0.2/24)
	tunnel_up
	# The device exists already: wait until tunpipe, as nobody, has it.
	wait_for 5 eval 'ns A ip -o link show tpp | grep -q LOWER_UP'
	[ "$(stat -c %U /proc/$PID_A)" = nobody ]
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	[ "$status" = 0 ]
	has_link A tpp
	ns A ip -o addr show dev tpp | grep -q 'inet 10.77.0.1/24'
}

@test "-U nobody: the packet loop runs as nobody with no capabilities" {
	need_root
	A_OPTS=(-a 10.77.0.1/24 -U nobody)
	B_OPTS=(-a 10.77.0.2/24)
	tunnel_up
	wait_for 5 link_up A tpa
	transfer B 10.77.0.2 20 &
	xfer=$!
	sleep 0.5
	uid=$(id -u nobody) gid=$(id -g nobody)
	grep -qx "Uid:	$uid	$uid	$uid	$uid" /proc/$PID_A/status
	grep -qx "Gid:	$gid	$gid	$gid	$gid" /proc/$PID_A/status
	grep -qx 'CapEff:	0000000000000000' /proc/$PID_A/status
	grep -qx 'CapPrm:	0000000000000000' /proc/$PID_A/status
	wait $xfer
}

@test "-U with an unknown user is a usage error, before anything is created" {
	run "$TUNPIPE" -U no-such-user-here </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-U no-such-user-here: no such user"* ]]
}

# refused_device MESSAGE OPTIONS...: tunpipe with OPTIONS in namespace A
# cannot have its device (status 3) and says MESSAGE (a glob).
refused_device() {
	local message=$1
	shift
	run ns A timeout 10 "$TUNPIPE" "$@" </dev/null
	echo "$output"
	[ "$status" = 3 ]
	[[ "$output" == *$message* ]]
}

@test "a device in use, or a name taken by another kind of device, is refused with the fix" {
	mkfifo "$T/in"
	exec 7<>"$T/in"
	ns_bg A "$TUNPIPE" -i tpa <"$T/in" >/dev/null 2>"$T/err" 7>&- &
	remember $!
	wait_for 5 has_link A tpa
	refused_device "TUNSETIFF tpa: Device or resource busy: another process has the device open; stop it, or pick another name with -i" -i tpa
	refused_device "TUNSETIFF tpa: Invalid argument: tpa is a TUN device: leave -T out" -T -i tpa
	refused_device "TUNSETIFF lo: *exists and is not a tun device; pick another name with -i" -i lo
	exec 7>&-
}

@test "a persistent device of the other mode, or a name the kernel cannot number, is refused with the fix" {
	persistent_device A ptap tap
	persistent_device A ptun tun
	refused_device "TUNSETIFF ptap: Invalid argument: ptap is a TAP device: add -T" -i ptap
	refused_device "TUNSETIFF ptun: Invalid argument: ptun is a TUN device: leave -T out" -T -i ptun
	refused_device "the kernel takes no such name: at most one %d, which it replaces with a number" -i 'a%db%d'
}

@test "a --up command killed by a signal is named as such, as -e's would be" {
	run ns A timeout 10 "$TUNPIPE" -i tpa -u 'kill -9 $$' </dev/null
	[ "$status" = 6 ]
	[[ "$output" == *"--up command was killed by signal 9 (Killed); stopping"* ]]
	no_link A tpa
}
