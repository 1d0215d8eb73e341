#!/usr/bin/env bats
# TAP mode: whole Ethernet frames cross, so ARP and everything above it work.

load helpers

setup() { netns_setup; }
teardown() { netns_teardown; }

@test "TAP mode: ARP resolves the peer's MAC address and ping works" {
	tunnel_up -T
	address_tunnel
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	ns B ping -6 -c 3 -i 0.2 -W 2 fd77::1
	mac_b=$(link_field B tpb link/ether)
	ns A ip neigh show 10.77.0.2 dev tpa | grep -q "lladdr $mac_b"
}

@test "TAP mode: a 20 MB transfer through the re-cutting relay arrives intact" {
	RELAY_ARGS="-c 2000 -p 1000"
	tunnel_up -T
	address_tunnel
	transfer B 10.77.0.2 20
}
