#!/usr/bin/env bats
# examples/hub.sh and hub-client.sh: a routing hub in namespace A, one
# client in B (transport 10.78.0.2 on the veth A-B, so tunnel 10.77.0.2) and
# one in C (transport 10.79.0.3 on the veth A-C, so tunnel 10.77.0.3).  The
# hub is 10.77.0.1.  B and C have no route to each other but the tunnel.

load helpers

EXAMPLES=$BATS_TEST_DIRNAME/../examples
PORT=33960

setup() {
	netns_setup
	veth_link
	netns_c_setup
}

teardown() { netns_teardown_all; }

# on A|B|C COMMAND...: ns for the three namespaces.
on() {
	local side=$1
	shift
	if [ "$side" = C ]; then ns_c "$@"; else ns "$side" "$@"; fi
}

# hub_up: hub.sh in namespace A, listening; its stderr in $T/hub.err.
hub_up() {
	ns_bg A env TUNPIPE="$TUNPIPE" "$EXAMPLES/hub.sh" $PORT 10.77.0.1 \
	    </dev/null >/dev/null 2>"$T/hub.err" &
	remember $!
	wait_for 5 eval "ns A ss -Hltn 'sport = :$PORT' | grep -q LISTEN" ||
	    { cat "$T/hub.err" >&2; return 1; }
}

# client_start SIDE HUB TUNNEL_ADDRESS: hub-client.sh in namespace B or C,
# connecting to the hub's transport address HUB.  Sets CLIENT_PID; its
# stderr is in $T/client.SIDE.err.
client_start() {
	# As its usage says: no tunpipe option added.
	local cmd=(env TUNPIPE="$TUNPIPE" "$EXAMPLES/hub-client.sh" "$2" "$PORT" "$3/24")
	if [ "$1" = C ]; then
		ns_c_bg "${cmd[@]}" </dev/null >/dev/null 2>>"$T/client.$1.err" &
	else
		ns_bg "$1" "${cmd[@]}" </dev/null >/dev/null 2>>"$T/client.$1.err" &
	fi
	CLIENT_PID=$!
	remember $CLIENT_PID
}

# hub_has SIDE DEVICE ADDRESS: the hub's DEVICE has the route to the
# client's ADDRESS, and the client's tun0 has ADDRESS.
hub_has() {
	ns A ip -o addr show dev "$2" | grep -q "10.77.0.1 peer $3/32" &&
	    on "$1" ip -o addr show dev tun0 | grep -q "inet $3/24"
}

# client_up SIDE HUB TUNNEL_ADDRESS DEVICE: client_start, then waits until
# the hub has given it DEVICE.
client_up() {
	client_start "$1" "$2" "$3"
	wait_for 5 hub_has "$1" "$4" "$3" ||
	    { cat "$T/hub.err" "$T/client.$1.err" >&2; return 1; }
}

# two_clients: the hub, B on tp0 (its hub-client.sh is PID_B) and C on tp1.
two_clients() {
	hub_up
	client_up B 10.78.0.1 10.77.0.2 tp0
	PID_B=$CLIENT_PID
	client_up C 10.79.0.1 10.77.0.3 tp1
}

@test "hub.sh and hub-client.sh print their usage and exit 2 without their arguments" {
	run "$EXAMPLES/hub.sh"
	[ "$status" = 2 ]
	[[ "$output" == "usage: hub.sh PORT HUB_ADDRESS"* ]]
	run "$EXAMPLES/hub.sh" $PORT
	[ "$status" = 2 ]
	run "$EXAMPLES/hub.sh" $PORT 10.77.0.1/24
	[ "$status" = 2 ]
	[[ "$output" == *"IPv4 address, no prefix"* ]]
	run "$EXAMPLES/hub-client.sh" 10.78.0.1 $PORT
	[ "$status" = 2 ]
	[[ "$output" == "usage: hub-client.sh HOST PORT ADDRESS/PREFIX"* ]]
	TUNPIPE=/nonexistent/tunpipe run "$EXAMPLES/hub-client.sh" 10.78.0.1 $PORT 10.77.0.2/24
	[ "$status" = 1 ]
	[[ "$output" == *"tunpipe not found"* ]]
}

@test "hub: each client gets its own device on the hub, routed to its own address; forwarding is on in the hub's namespace only" {
	before=$(sysctl -n net.ipv4.ip_forward)
	ns A sysctl -qw net.ipv4.ip_forward=0
	two_clients
	[ "$(ns A sysctl -n net.ipv4.ip_forward)" = 1 ]
	[ "$(sysctl -n net.ipv4.ip_forward)" = "$before" ]
	ns A ip route get 10.77.0.2 | grep -q "dev tp0 "
	ns A ip route get 10.77.0.3 | grep -q "dev tp1 "
	# one device per client, no more
	[ "$(ns A ip -o link show | grep -c ': tp[0-9]*:')" = 2 ]
	grep -q "client 10.78.0.2 is 10.77.0.2 on tp0" "$T/hub.err"
	grep -q "client 10.79.0.3 is 10.77.0.3 on tp1" "$T/hub.err"
}

@test "hub: the two clients reach each other, and the hub, through it" {
	two_clients
	# B's only way to 10.77.0.3 is its tunnel to the hub, and C's to 10.77.0.2
	ns B ip route get 10.77.0.3 | grep -q "dev tun0 "
	ns_c ip route get 10.77.0.2 | grep -q "dev tun0 "
	ns B ping -c 3 -i 0.2 -W 2 -I 10.77.0.2 10.77.0.3
	ns_c ping -c 3 -i 0.2 -W 2 -I 10.77.0.3 10.77.0.2
	ns B ping -c 2 -i 0.2 -W 2 10.77.0.1
	ns_c ping -c 2 -i 0.2 -W 2 10.77.0.1
	# and TCP: 1 MB from B to C, intact
	head -c 1048576 /dev/urandom >"$T/sent"
	ns_c_bg timeout 20 socat -u TCP-LISTEN:5001,bind=10.77.0.3 "CREATE:$T/received" &
	listener=$!
	remember $listener
	wait_for 5 eval "ns_c ss -Hltn 'sport = :5001' | grep -q LISTEN"
	ns B timeout 20 socat -u "FILE:$T/sent" TCP:10.77.0.3:5001
	wait_exit 10 $listener
	[ "$status" = 0 ]
	cmp "$T/sent" "$T/received"
}

@test "hub: a client that leaves takes its device away, the other stays, and it can come back" {
	two_clients
	kill "$PID_B"
	wait_exit 5 "$PID_B"
	wait_for 5 no_link A tp0
	wait_for 5 no_link B tun0
	has_link A tp1
	ns_c ping -c 2 -i 0.2 -W 2 10.77.0.1
	# back again, on the free tp0
	client_up B 10.78.0.1 10.77.0.2 tp0
	ns B ping -c 2 -i 0.2 -W 2 -I 10.77.0.2 10.77.0.3
}

@test "hub: a second connection for an address that is connected is refused" {
	hub_up
	client_up B 10.78.0.1 10.77.0.2 tp0
	# the second connection from B maps to 10.77.0.2 again
	client_start B 10.78.0.1 10.77.0.2
	wait_exit 5 "$CLIENT_PID"
	grep -q "refusing 10.78.0.2: 10.77.0.2 is taken" "$T/hub.err"
	no_link A tp1
	# the first one is unharmed
	ns B ping -c 2 -i 0.2 -W 2 10.77.0.1
}

# udp_packet SRC DST PORT TEXT: the hex of an IPv4 UDP datagram from SRC
# port 9 to DST port PORT holding TEXT, its header checksum computed (the
# kernel checks it), its UDP checksum left out (0: allowed over IPv4).
udp_packet() {
	local payload
	payload=$(printf '%s' "$4" | od -An -v -tx1 | tr -d ' \n')
	awk -v src="$1" -v dst="$2" -v port="$3" -v payload="$payload" '
	function hex4(ip,   p) { split(ip, p, "."); return sprintf("%02x%02x%02x%02x", p[1], p[2], p[3], p[4]) }
	function word(s,   i, v) {
		for (i = 1; i <= 4; i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	BEGIN {
		n = length(payload) / 2
		h = sprintf("4500%04x000040004011", 28 + n) "0000" hex4(src) hex4(dst)
		for (i = 1; i <= 40; i += 4)
			sum += word(substr(h, i, 4))
		while (sum > 65535)
			sum = sum % 65536 + int(sum / 65536)
		h = substr(h, 1, 20) sprintf("%04x", 65535 - sum) substr(h, 25)
		printf "%s0009%04x%04x0000%s\n", h, port, 8 + n, payload
	}'
}

@test "hub: a client that sends with another client's source address gets nothing through, while its own traffic flows" {
	two_clients
	# UDP listeners on the hub and on client B, each writing what it gets.
	ns_bg A timeout 20 socat -u UDP-RECV:7001,bind=10.77.0.1 OPEN:"$T/at-hub",creat,append &
	remember $!
	ns_bg B timeout 20 socat -u UDP-RECV:7002,bind=10.77.0.2 OPEN:"$T/at-b",creat,append &
	remember $!
	wait_for 5 eval "ns A ss -Hlun 'sport = :7001' | grep -q 7001"
	wait_for 5 eval "ns B ss -Hlun 'sport = :7002' | grep -q 7002"
	# A third client, from transport address 10.79.0.5 (so 10.77.0.5),
	# speaks the stream itself: each datagram twice, once from its own
	# address, once from client C's (10.77.0.3).
	ns A ip addr add 10.79.0.5/32 dev trac
	{
		udp_packet 10.77.0.5 10.77.0.1 7001 own-to-hub
		udp_packet 10.77.0.3 10.77.0.1 7001 spoofed-to-hub
		udp_packet 10.77.0.5 10.77.0.2 7002 own-to-b
		udp_packet 10.77.0.3 10.77.0.2 7002 spoofed-to-b
	} | "$BATS_TEST_DIRNAME/framing-driver" encode >"$T/frames"
	{ cat "$T/frames"; sleep 2; } |
	    ns A timeout 10 socat -u - TCP:10.79.0.1:$PORT,bind=10.79.0.5
	wait_for 5 grep -q own-to-hub "$T/at-hub"
	wait_for 5 grep -q own-to-b "$T/at-b"
	sleep 0.5
	# (bats does not fail a test on "! command": the count must be 0)
	[ "$(cat "$T/at-hub" "$T/at-b" | grep -c spoofed)" = 0 ]
	grep -q "client 10.79.0.5 is 10.77.0.5 on tp2" "$T/hub.err"
	[ "$(ns A sysctl -n net.ipv4.conf.tp0.rp_filter)" = 1 ]
}
