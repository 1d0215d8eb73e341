#!/usr/bin/env bats
# The ssh examples against a real sshd: sshd in namespace A, the example
# scripts in namespace B, joined by a veth pair (10.78.0.0/24); the tunnel
# between the two tunpipes is 10.77.0.0/24.  Root only.

load helpers

EXAMPLES=$BATS_TEST_DIRNAME/../examples

setup() {
	need_root
	netns_setup
	veth_link
	sshd_up
	LOCAL_TUNPIPE=$(realpath "$TUNPIPE")
}

teardown() { netns_teardown_all; }

# ssh_example NAME: runs examples/NAME in namespace B, from B (10.77.0.2) to
# sshd's root in A (10.77.0.1), with the test's tunpipe at both ends and
# the ssh options of sshd_up; its output goes to $T/example.err.  Sets PID.
ssh_example() {
	ns_bg B env TUNPIPE="$LOCAL_TUNPIPE" TUNPIPE_REMOTE="$LOCAL_TUNPIPE" \
	    "$EXAMPLES/$1" "$SSH_HOST" 10.77.0.2/24 10.77.0.1/24 "${SSH_OPTS[@]}" \
	    </dev/null >"$T/example.err" 2>&1 &
	PID=$!
	remember "$PID"
}

# tunnel_ends: waits until both ends have their address, or shows why not.
tunnel_ends() {
	wait_for 10 addr_dev A 10.77.0.1 && wait_for 5 addr_dev B 10.77.0.2 || {
		cat "$T/example.err" "$T/ssh/sshd.A.log" >&2
		return 1
	}
}

@test "ssh.sh: ping crosses both ways, 20 MB arrive intact each way; stopping it ends both ends" {
	ssh_example ssh.sh
	tunnel_ends
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	transfer A 10.77.0.1 20
	transfer B 10.77.0.2 20
	# SIGTERM to the script: its tunpipe and ssh go, the remote tunpipe
	# reads the end of its input and goes too, and both devices with it.
	kill "$PID"
	wait_exit 5 "$PID"
	[ "$status" = 143 ]
	wait_for 5 eval '[ -z "$(ip netns pids "$NS_B")" ]'
	wait_for 5 eval '[ -z "$(ns_procs A tunpipe)" ]'
	run addr_dev A 10.77.0.1
	[ "$status" != 0 ]
	run addr_dev B 10.77.0.2
	[ "$status" != 0 ]
}

@test "ssh-respawn.sh: after its ssh is killed the tunnel comes back, on the same local device" {
	ns_bg B ip -o monitor link address >"$T/monitor" &
	remember $!
	ssh_example ssh-respawn.sh
	tunnel_ends
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	dev=$(addr_dev B 10.77.0.2)
	index=$(ns B ip -o link show dev "$dev" | cut -d: -f1)
	old_ssh=$(ns_procs B ssh)
	[ "$(echo "$old_ssh" | wc -w)" = 1 ]
	kill -9 "$old_ssh"
	# After 2 s tunpipe starts a new ssh, which starts a new remote end.
	wait_for 10 ns B ping -c 1 -W 1 10.77.0.1 || {
		cat "$T/example.err" "$T/ssh/sshd.A.log" >&2
		return 1
	}
	new_ssh=$(ns_procs B ssh)
	[ -n "$new_ssh" ]
	[ "$new_ssh" != "$old_ssh" ]
	kill -0 "$PID"			# the same local tunpipe all along
	# The local device and its address never went away: the same device
	# (its index) holds it, and ip monitor saw nothing deleted in B.
	[ "$(addr_dev B 10.77.0.2)" = "$dev" ]
	[ "$(ns B ip -o link show dev "$dev" | cut -d: -f1)" = "$index" ]
	if grep Deleted "$T/monitor"; then return 1; fi
}
