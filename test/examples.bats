#!/usr/bin/env bats
# The scripts in examples/, run as a user would, end to end: namespaces A and
# B joined by a veth pair (10.78.0.1 and 10.78.0.2) are the two machines,
# and the tunnel they make carries 10.77.0.0/24.  Each script runs in a
# session of its own, killed with all its children at the end of the test.
# So does the manual's TLS example, taken from tunpipe.1.

# shellcheck disable=SC2154 # $stderr: from bats' run --separate-stderr
load helpers

bats_require_minimum_version 1.5.0

setup() { T=$BATS_TEST_TMPDIR; }
teardown() { example_teardown; }

# two_hosts: namespaces A and B joined by the veth pair (root only).
two_hosts() {
	netns_setup
	veth_link
}

# ping_ready SIDE ADDRESS: waits (at most 10 s) until one ping from SIDE to
# ADDRESS gets its answer: the tunnel is up at both ends.
ping_ready() {
	wait_for 10 ns "$1" ping -c 1 -W 1 "$2"
}

# nc_tunnel: nc-server.sh in A (device nca, 10.77.0.1, fd77::1) and
# nc-client.sh in B (device ncb, 10.77.0.2, fd77::2), up.  The server finds
# tunpipe through $TUNPIPE, the client on its PATH.  Sets SERVER and CLIENT,
# the scripts' PIDs.
nc_tunnel() {
	example_bg A nc-server.sh 33960 10.77.0.1/24 -a fd77::1/64 -i nca -v \
	    2>"$T/server.err" &
	SERVER=$!
	example_started "$SERVER"
	wait_for 5 listening A 33960
	ns_bg B env TUNPIPE= PATH="$(cd "$(dirname "$TUNPIPE")" && pwd):$PATH" \
	    setsid "$EXAMPLES/nc-client.sh" 10.78.0.1 33960 10.77.0.2/24 \
	    -a fd77::2/64 -i ncb -v 2>"$T/client.err" &
	CLIENT=$!
	example_started "$CLIENT"
	ping_ready B 10.77.0.1
}

@test "nc-server.sh and nc-client.sh: ping crosses both ways, and 20 MB arrive intact" {
	two_hosts
	nc_tunnel
	# The client's tunpipe is the one under test, found on PATH.
	[ "$(readlink "/proc/$(example_pid "$CLIENT" tunpipe)/exe")" = \
	    "$(readlink -f "$TUNPIPE")" ]
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	ns A ping -6 -c 3 -i 0.2 -W 2 fd77::2
	transfer B 10.77.0.2 20
	transfer A 10.77.0.1 20
}

@test "nc-server.sh ends with status 0, its device gone, when the client is stopped" {
	two_hosts
	nc_tunnel
	kill -TERM -- "-$CLIENT"
	wait_exit 10 "$SERVER"
	[ "$status" = 0 ]
	wait_for 5 example_ended "$SERVER"
	no_link A nca
}

@test "nc-client.sh ends with status 0, its device gone, when the server's tunpipe ends" {
	two_hosts
	nc_tunnel
	# Only the server's tunpipe: its nc ends with it, and so the client.
	kill -TERM "$(example_pid "$SERVER" tunpipe)"
	wait_exit 10 "$CLIENT"
	[ "$status" = 0 ]
	wait_for 5 example_ended "$CLIENT"
	no_link B ncb
	wait_exit 10 "$SERVER"
	[ "$status" = 0 ]
	wait_for 5 example_ended "$SERVER"
}

@test "tls-certs.sh: a CA, and a server and a client certificate it signed; keys mode 600" {
	"$EXAMPLES/tls-certs.sh" "$T/tls" 10.78.0.1
	cd "$T/tls"
	openssl verify -CAfile ca.crt server.crt client.crt
	openssl x509 -in server.crt -noout -ext subjectAltName | grep -q 'IP Address:10.78.0.1$'
	openssl x509 -in server.crt -noout -ext extendedKeyUsage | grep -q 'Server Authentication'
	openssl x509 -in client.crt -noout -ext extendedKeyUsage | grep -q 'Client Authentication'
	for key in ca.key server.key client.key; do
		[ "$(stat -c %a "$key")" = 600 ]
	done
	# A second run never replaces the keys.
	run -1 "$EXAMPLES/tls-certs.sh" "$T/tls" 10.78.0.1
	openssl verify -CAfile ca.crt server.crt client.crt
}

# tls_server: tls-server.sh in A with the certificates in $T/tls (device
# tlsa, 10.77.0.1); its --up command writes $T/up.a (a string with a space,
# a comma, a colon, quotes and a $ variable, all of them special to socat's
# address syntax or to sh).  Sets SERVER.
tls_server() {
	example_bg A tls-server.sh "$T/tls" 33961 10.77.0.1/24 -i tlsa -v \
	    -u "echo \"\$TUNPIPE_IFNAME, up: it's \$TUNPIPE_MODE\" >'$T/up.a'" \
	    2>"$T/server.err" &
	SERVER=$!
	example_started "$SERVER"
	wait_for 5 listening A 33961
}

# tls_client DIR: tls-client.sh in B with the certificates in DIR (device
# tlsb, 10.77.0.2); its --up command creates $T/up.b.  Sets CLIENT.
tls_client() {
	example_bg B tls-client.sh "$1" 10.78.0.1 33961 10.77.0.2/24 -i tlsb -v \
	    -u "touch '$T/up.b'" 2>"$T/client.err" &
	CLIENT=$!
	example_started "$CLIENT"
}

@test "tls-server.sh and tls-client.sh: each end verifies the other, and ping crosses both ways" {
	two_hosts
	"$EXAMPLES/tls-certs.sh" "$T/tls" 10.78.0.1
	tls_server
	tls_client "$T/tls"
	ping_ready B 10.77.0.1
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	# The -u command crossed socat and sh unchanged.
	[ "$(cat "$T/up.a")" = "tlsa, up: it's tun" ]
	transfer B 10.77.0.2 5
	# The client stopped, the server ends with status 0.
	kill -TERM -- "-$CLIENT"
	wait_exit 10 "$SERVER"
	[ "$status" = 0 ]
	no_link A tlsa
}

@test "tls-server.sh refuses a client certificate from another CA: its tunpipe never starts, no packet crosses" {
	two_hosts
	"$EXAMPLES/tls-certs.sh" "$T/tls" 10.78.0.1
	"$EXAMPLES/tls-certs.sh" "$T/other" 10.78.0.1
	# The client trusts the right CA, but its own certificate is the
	# other CA's.
	mkdir "$T/mixed"
	cp "$T/tls/ca.crt" "$T/other/client.crt" "$T/other/client.key" "$T/mixed"
	tls_server
	tls_client "$T/mixed"
	wait_exit 10 "$SERVER"
	[ "$status" != 0 ]
	grep -q 'certificate verify failed' "$T/server.err"
	# The server's tunpipe never ran: no --up, no device, no packet.
	[ ! -e "$T/up.a" ]
	no_link A tlsa
	run ns B ping -c 2 -i 0.2 -W 1 10.77.0.1
	[ "$status" != 0 ]
	wait_exit 10 "$CLIENT"
	no_link B tlsb
}

@test "tls-client.sh refuses a server whose certificate another CA signed: neither tunpipe starts" {
	two_hosts
	"$EXAMPLES/tls-certs.sh" "$T/tls" 10.78.0.1
	"$EXAMPLES/tls-certs.sh" "$T/other" 10.78.0.1
	# The client's certificate is good, but it trusts the other CA only.
	mkdir "$T/mixed"
	cp "$T/other/ca.crt" "$T/tls/client.crt" "$T/tls/client.key" "$T/mixed"
	tls_server
	tls_client "$T/mixed"
	wait_exit 10 "$CLIENT"
	[ "$status" != 0 ]
	grep -q 'certificate verify failed' "$T/client.err"
	[ ! -e "$T/up.b" ]
	no_link B tlsb
	wait_exit 10 "$SERVER"
	[ "$status" != 0 ]
	[ ! -e "$T/up.a" ]
	no_link A tlsa
}

# man_tls_command server|client: that side's command in tunpipe.1's TLS
# example, its lines joined, with the test's addresses for the example's:
# the server at 10.78.0.1, the tunnel in 10.77.0.0/24.
man_tls_command() {
	awk -v side="$1" '
	    /^Over TLS with/ { tls = 1 }
	    tls && /^On the / { here = index($0, "On the " side) == 1 }
	    tls && here && /^\.Bd -literal/ { inside = 1; next }
	    inside && /^\.Ed/ { exit }
	    inside { sub(/^# /, ""); sub(/\\e$/, ""); printf "%s ", $0 }' \
	    "$BATS_TEST_DIRNAME/../tunpipe.1" |
	    sed -e 's/  */ /g' -e 's/ $//' -e 's/OPENSSL:server:/OPENSSL:10.78.0.1:/' \
	    -e 's/10\.0\.0\./10.77.0./g'
}

# man_example_bg SIDE DIR COMMAND &: runs COMMAND through sh in namespace
# SIDE, in DIR, in a session of its own, with the test's tunpipe first on
# PATH.  Then call example_started $!.
man_example_bg() {
	mkdir -p "$T/bin"
	printf '#!/bin/sh\nexec %q "$@"\n' "$(readlink -f "$TUNPIPE")" >"$T/bin/tunpipe"
	chmod +x "$T/bin/tunpipe"
	ns_bg "$1" env PATH="$T/bin:$PATH" setsid sh -c 'cd "$1" && exec sh -c "$2"' \
	    sh "$2" "$3"
}

@test "tunpipe.1's TLS example, with the files tls-certs.sh makes, in the test's addresses: ping crosses both ways" {
	two_hosts
	"$EXAMPLES/tls-certs.sh" "$T/tls" 10.78.0.1 >/dev/null
	mkdir "$T/client"
	cp "$T/tls/ca.crt" "$T/tls/client.crt" "$T/tls/client.key" "$T/client"
	local server client
	server=$(man_tls_command server)
	client=$(man_tls_command client)
	echo "server: $server"
	echo "client: $client"
	[[ "$server" == "socat "*"OPENSSL-LISTEN:33960,"* ]]
	[[ "$client" == "socat "*"OPENSSL:10.78.0.1:33960,"* ]]
	man_example_bg A "$T/tls" "$server" 2>"$T/server.err" &
	example_started $!
	wait_for 5 listening A 33960
	man_example_bg B "$T/client" "$client" 2>"$T/client.err" &
	example_started $!
	ping_ready B 10.77.0.1 || { cat "$T/server.err" "$T/client.err"; return 1; }
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
}

@test "tap-bridge.sh: the client's tap device joins the server's bridge; ARP and ping cross, also to a host on that bridge" {
	two_hosts
	# A's LAN: bridge br0 (10.77.0.1) with a host, namespace C (10.77.0.3),
	# on a veth port.
	netns_c_setup
	ns A ip link add br0 type bridge
	ns A ip addr add 10.77.0.1/24 dev br0
	ns A ip link set br0 up
	ip link add lana netns "$NS_A" type veth peer name lanc netns "$NS_C"
	ns A ip link set lana master br0 up
	ns_c ip addr add 10.77.0.3/24 dev lanc
	ns_c ip link set lanc up

	example_bg A tap-bridge.sh server 33962 br0 -i tapa -v 2>"$T/server.err" &
	SERVER=$!
	example_started "$SERVER"
	wait_for 5 listening A 33962
	example_bg B tap-bridge.sh client 10.78.0.1 33962 10.77.0.2/24 -i tapb -v \
	    2>"$T/client.err" &
	CLIENT=$!
	example_started "$CLIENT"
	ping_ready B 10.77.0.1

	[ "$(link_field A tapa master)" = br0 ]
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.3
	ns_c ping -c 3 -i 0.2 -W 2 10.77.0.2
	# ARP went across: each side knows the MAC address of the far end.
	mac_b=$(link_field B tapb link/ether)
	mac_c=$(ns_c ip -o link show dev lanc | sed 's/.*link\/ether \([^ ]*\).*/\1/')
	ns A ip neigh show 10.77.0.2 dev br0 | grep -q "lladdr $mac_b"
	ns_c ip neigh show 10.77.0.2 dev lanc | grep -q "lladdr $mac_b"
	ns B ip neigh show 10.77.0.3 dev tapb | grep -q "lladdr $mac_c"
	# The client stopped, the server ends; its tap leaves the bridge.
	kill -TERM -- "-$CLIENT"
	wait_exit 10 "$SERVER"
	[ "$status" = 0 ]
	no_link A tapa
	ns A ip link show br0
}

@test "tap-bridge.sh server refuses a bridge that does not exist, and a device that is no bridge" {
	two_hosts
	run -1 --separate-stderr ns A "$EXAMPLES/tap-bridge.sh" server 33962 br0
	[[ "$stderr" == *"no bridge br0: make it first"* ]]
	run -1 --separate-stderr ns A "$EXAMPLES/tap-bridge.sh" server 33962 tra
	[[ "$stderr" == *"no bridge tra: make it first"* ]]
	run ns A ss -Hltn
	[ -z "$output" ]
}

@test "each example without its arguments prints its usage on stderr and exits with status 2" {
	local script
	for script in nc-server.sh nc-client.sh tls-certs.sh tls-server.sh \
	    tls-client.sh tap-bridge.sh mesh.sh far-net.sh; do
		run -2 --separate-stderr "$EXAMPLES/$script"
		[ -z "$output" ]
		[[ "$stderr" == "usage: "*"$script "* ]]
	done
	# One argument short, or a role tap-bridge.sh does not know, the same.
	run -2 --separate-stderr "$EXAMPLES/nc-client.sh" 10.78.0.1 33960
	[[ "$stderr" == "usage: "* ]]
	run -2 --separate-stderr "$EXAMPLES/tap-bridge.sh" relay 33962 br0
	[[ "$stderr" == "usage: "* ]]
	run -2 --separate-stderr "$EXAMPLES/mesh.sh" link mesh-ab root@b 10.77.0.129/30
	[[ "$stderr" == "usage: "* ]]
	run -2 --separate-stderr "$EXAMPLES/mesh.sh" hub 10.77.0.1
	[[ "$stderr" == "usage: "* ]]
}

@test "mesh.sh refuses a link name outside bird's pattern and addresses with a prefix, before changing anything" {
	run -2 --separate-stderr "$EXAMPLES/mesh.sh" link ab root@b 10.77.0.129/30 10.77.0.130/30
	[[ "$stderr" == *"NAME must begin with mesh-"* ]]
	run -2 --separate-stderr "$EXAMPLES/mesh.sh" link "mesh-a b" root@b 10.77.0.129/30 10.77.0.130/30
	[[ "$stderr" == *"NAME must begin with mesh-"* ]]
	run -2 --separate-stderr "$EXAMPLES/mesh.sh" router "$T/bird" 10.77.0.1/32 fd77::1
	[[ "$stderr" == *"ADDRESS4 must be an IPv4 address, no prefix"* ]]
	run -2 --separate-stderr "$EXAMPLES/mesh.sh" router "$T/bird" 10.77.0.1 fd77::1/128
	[[ "$stderr" == *"ADDRESS6 must be an IPv6 address, no prefix"* ]]
	[ ! -e "$T/bird" ]
}

@test "each pair of examples works in the minimal form its usage gives, with no extra option" {
	two_hosts
	"$EXAMPLES/tls-certs.sh" "$T/tls" 10.78.0.1 >/dev/null
	# nc
	example_bg A nc-server.sh 33960 10.77.0.1/24 2>"$T/nc-server.err" &
	example_started $!
	wait_for 5 listening A 33960
	example_bg B nc-client.sh 10.78.0.1 33960 10.77.0.2/24 2>"$T/nc-client.err" &
	example_started $!
	ping_ready B 10.77.0.1
	# TLS, on another tunnel network
	example_bg A tls-server.sh "$T/tls" 33961 10.77.1.1/24 2>"$T/tls-server.err" &
	example_started $!
	wait_for 5 listening A 33961
	example_bg B tls-client.sh "$T/tls" 10.78.0.1 33961 10.77.1.2/24 \
	    2>"$T/tls-client.err" &
	example_started $!
	ping_ready B 10.77.1.1
	# a TAP bridge, on a third
	ns A ip link add br0 type bridge
	ns A ip addr add 10.77.2.1/24 dev br0
	ns A ip link set br0 up
	example_bg A tap-bridge.sh server 33962 br0 2>"$T/tap-server.err" &
	example_started $!
	wait_for 5 listening A 33962
	example_bg B tap-bridge.sh client 10.78.0.1 33962 10.77.2.2/24 \
	    2>"$T/tap-client.err" &
	example_started $!
	ping_ready B 10.77.2.1
	ns A ping -c 2 -i 0.2 -W 2 10.77.0.2
	ns A ping -c 2 -i 0.2 -W 2 10.77.1.2
	ns A ping -c 2 -i 0.2 -W 2 10.77.2.2
	cat "$T"/*.err
	[ -z "$(cat "$T"/nc-*.err "$T"/tls-*.err "$T"/tap-*.err)" ]
}
