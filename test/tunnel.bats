#!/usr/bin/env bats
# A TUN tunnel between two namespaces, joined by FIFOs: packets cross whole,
# both ways, whatever the stream does to their boundaries.

load helpers

setup() { netns_setup; }
teardown() { netns_teardown; }

@test "IPv4 ping crosses the tunnel both ways" {
	tunnel_up
	address_tunnel
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
}

@test "IPv6 ping crosses the tunnel both ways" {
	tunnel_up
	address_tunnel
	ns A ping -6 -c 3 -i 0.2 -W 2 fd77::2
	ns B ping -6 -c 3 -i 0.2 -W 2 fd77::1
}

@test "a 20 MB TCP transfer arrives intact, each way" {
	tunnel_up
	address_tunnel
	transfer B 10.77.0.2 20
	transfer A 10.77.0.1 20
}

@test "a 20 MB transfer survives a relay that re-cuts the stream at random" {
	RELAY_ARGS="-c 3000 -p 2000"
	tunnel_up
	address_tunnel
	transfer B 10.77.0.2 20
}

@test "full-size packets cross whole, including ones split byte by byte" {
	RELAY_ARGS="-c 7 -p 0"
	tunnel_up
	address_tunnel
	ns A ping -c 3 -i 0.2 -W 2 -s 1472 -M do 10.77.0.2
	ns A ping -6 -c 3 -i 0.2 -W 2 -s 1452 -M do fd77::2
}

@test "-f len32 and -f slip carry ping and a 20 MB transfer through the re-cutting relay" {
	local framing
	RELAY_ARGS="-c 3000 -p 500"
	for framing in len32 slip; do
		tunnel_up -f "$framing"
		address_tunnel
		ns A ping -c 2 -i 0.2 -W 2 -s 1472 -M do 10.77.0.2
		transfer B 10.77.0.2 20
		kill "$PID_A" "$PID_B"
		wait_exit 5 "$PID_A"
		wait_exit 5 "$PID_B"
		rm -f "$T"/ab "$T"/ba "$T"/a.out "$T"/b.out
	done
}

@test "ends with different MTUs (-m 1400, -m 9000): 8000-byte pings cross both ways, and TCP too" {
	A_OPTS=(-m 1400)
	B_OPTS=(-m 9000)
	tunnel_up
	address_tunnel
	ns A ping -c 3 -i 0.2 -W 2 -s 8000 10.77.0.2
	ns B ping -c 3 -i 0.2 -W 2 -s 8000 10.77.0.1
	transfer A 10.77.0.1 5
	transfer B 10.77.0.2 5
	kill -0 "$PID_A" "$PID_B"
}

@test "the MTU raised to 65535 on a running tunnel: 64 KiB packets cross, and SIGUSR1 shows the new MTU" {
	tunnel_up
	address_tunnel
	ns A ip link set tpa mtu 65535
	ns B ip link set tpb mtu 65535
	ns A ping -c 3 -i 0.2 -W 2 -s 65000 10.77.0.2
	ns B ping -6 -c 3 -i 0.2 -W 2 -s 65000 fd77::1
	transfer B 10.77.0.2 10
	kill -USR1 "$PID_A"
	wait_for 5 grep -q 'tpa (tun, mtu 65535, ' "$T/a.err"
	grep -q ' 0 too large to frame' "$T/a.err"
}

@test "SLIP over a pair of pseudo-terminals in raw mode, as over a serial line: ping and 1 MB" {
	# socat joins two ptys, each set raw as stty raw -echo would; each
	# tunpipe reads and writes its own.
	socat PTY,link="$T/tty.a",rawer PTY,link="$T/tty.b",rawer &
	remember $!
	wait_for 5 test -e "$T/tty.a" -a -e "$T/tty.b"
	ns_bg A "$TUNPIPE" -v -f slip -i tpa -a 10.77.0.1/24 <"$T/tty.a" >"$T/tty.a" 2>"$T/a.err" &
	remember $!
	ns_bg B "$TUNPIPE" -v -f slip -i tpb -a 10.77.0.2/24 <"$T/tty.b" >"$T/tty.b" 2>"$T/b.err" &
	remember $!
	wait_for 5 addr_dev A 10.77.0.1 || { cat "$T/a.err"; false; }
	wait_for 5 addr_dev B 10.77.0.2 || { cat "$T/b.err"; false; }
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	ns B ping -c 3 -i 0.2 -W 2 -s 1472 10.77.0.1
	transfer B 10.77.0.2 1
}

@test "a terminal in canonical mode (a shell's) is refused, naming stty for a serial line" {
	socat PTY,link="$T/tty",echo=0 SYSTEM:'sleep 30' &
	remember $!
	wait_for 5 test -e "$T/tty"
	run ns A "$TUNPIPE" -i tpa <"$T/tty" >/dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"standard input is a terminal in canonical mode"*"stty -F LINE raw -echo SPEED"* ]]
}
