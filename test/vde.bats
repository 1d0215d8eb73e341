#!/usr/bin/env bats
# VDE, a real peer: tunpipe -T speaks the stream of vde_plug (2-byte
# big-endian length + Ethernet frame).  A vde_switch runs in namespace A
# with a tap port vde0 (10.77.0.1, fd77::1); tunpipe -T runs in namespace B
# (and C), plugged into the switch through vde_plug.  The switch's sockets
# live in the test's own directory.

load helpers

setup() { netns_setup; }

# The switch daemonizes and vde_plug and dpipe fork: every process left in
# the namespaces is killed.
teardown() { netns_teardown_all; }

# switch_up: vde_switch in namespace A as a daemon (so it reads no
# management console from stdin), its data socket in $T/switch, its
# management socket $T/mgmt, its tap port vde0 addressed and up.
switch_up() {
	need_root
	ns A vde_switch -d -p "$T/switch.pid" -s "$T/switch" -M "$T/mgmt" -t vde0
	wait_for 5 test -s "$T/switch.pid"
	SWITCH_PID=$(cat "$T/switch.pid")
	remember "$SWITCH_PID"
	wait_for 5 test -S "$T/switch/ctl"
	ns A ip addr add 10.77.0.1/24 dev vde0
	ns A ip -6 addr add fd77::1/64 dev vde0 nodad
	ns A ip link set vde0 up
}

# switch_cmd COMMAND: the switch's answer to COMMAND on its management
# socket (unixcmd would need a parse file that Debian does not ship).
switch_cmd() {
	printf '%s\n' "$1" | timeout 5 socat -t 0.5 - "UNIX-CONNECT:$T/mgmt"
}

# dad_done SIDE DEVICE: no IPv6 address of DEVICE is still tentative.
dad_done() {
	[ -z "$(ns "$1" ip -6 addr show dev "$2" tentative)" ]
}

@test "VDE: tunpipe -T joined to a vde_switch by dpipe and vde_plug: ARP, NDP and ping both ways" {
	switch_up
	ns_bg A dpipe vde_plug "$T/switch" = \
	    ip netns exec "$NS_B" "$TUNPIPE" -v -T -i tpb -a 10.77.0.2/24 -a fd77::2/64 \
	    </dev/null >/dev/null 2>"$T/b.err" &
	remember $!
	wait_for 5 has_link B tpb || { cat "$T/b.err" >&2; false; }
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	wait_for 5 dad_done B tpb
	ns B ping -6 -c 3 -i 0.2 -W 2 fd77::1
	ns A ping -6 -c 3 -i 0.2 -W 2 fd77::2
	# each side learnt the other's MAC address, and so did the switch
	mac_b=$(link_field B tpb link/ether)
	mac_a=$(link_field A vde0 link/ether)
	ns A ip neigh show 10.77.0.2 dev vde0 | grep -q "lladdr $mac_b"
	ns B ip neigh show 10.77.0.1 dev tpb | grep -q "lladdr $mac_a"
	switch_cmd hash/print | grep -qi "Addr: $mac_b"
}

@test "VDE: vde_plug URL = tunpipe, a 10 MB TCP transfer through the switch arrives intact" {
	switch_up
	# -- ends vde_plug's options: tunpipe's are its own
	ns_bg A vde_plug -- "$T/switch" = \
	    ip netns exec "$NS_B" "$TUNPIPE" -v -T -i tpb -a 10.77.0.2/24 \
	    </dev/null >/dev/null 2>"$T/b.err" &
	remember $!
	wait_for 5 has_link B tpb || { cat "$T/b.err" >&2; false; }
	transfer B 10.77.0.2 10
	transfer A 10.77.0.1 10
}

@test "VDE: two tunpipes on one vde_switch reach each other through it" {
	netns_c_setup
	switch_up
	ns_bg A vde_plug -- "$T/switch" = \
	    ip netns exec "$NS_B" "$TUNPIPE" -v -T -i tpb -a 10.77.0.2/24 \
	    </dev/null >/dev/null 2>"$T/b.err" &
	remember $!
	ns_bg A vde_plug -- "$T/switch" = \
	    ip netns exec "$NS_C" "$TUNPIPE" -v -T -i tpc -a 10.77.0.3/24 \
	    </dev/null >/dev/null 2>"$T/c.err" &
	remember $!
	wait_for 5 has_link B tpb || { cat "$T/b.err" >&2; false; }
	wait_for 5 ns_c ip link show tpc || { cat "$T/c.err" >&2; false; }
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.3
	ns_c ping -c 3 -i 0.2 -W 2 10.77.0.2
	mac_c=$(ns_c ip -o link show dev tpc | awk '{ for (i = 1; i < NF; i++) if ($i == "link/ether") print $(i + 1) }')
	ns B ip neigh show 10.77.0.3 dev tpb | grep -q "lladdr $mac_c"
}

@test "VDE: when the switch goes, vde_plug ends, and tunpipe sees the end of its input and removes its device" {
	switch_up
	ns_bg A vde_plug -- "$T/switch" = \
	    ip netns exec "$NS_B" "$TUNPIPE" -v -T -i tpb -a 10.77.0.2/24 \
	    </dev/null >/dev/null 2>"$T/b.err" &
	plug=$!
	remember $plug
	wait_for 5 has_link B tpb || { cat "$T/b.err" >&2; false; }
	ns A ping -c 1 -W 2 10.77.0.2
	kill "$SWITCH_PID"
	wait_exit 5 "$plug"
	wait_for 5 no_link B tpb
	grep -q "end of input stream" "$T/b.err"
}
