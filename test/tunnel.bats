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
