#!/usr/bin/env bats
# The units under a real systemd: systemd 252 as the init of namespaces of
# its own (test/systemd-container), with the units that make install puts
# in place, every line of their hardening in force: tunpipe@.service, and
# the mesh's tunpipe-mesh.service and tunpipe-mesh-link@.service.  The far
# end is in namespace A, over a veth: a tunpipe behind socat, or sshd (and
# the far site's bird).

load helpers

SDC=$BATS_TEST_DIRNAME/systemd-container

setup() {
	need_root
	T=$BATS_TEST_TMPDIR
	NSMODE=root NS_A=tunpipe-test-$$-a
	mkdir "$T/sd"
	"$SDC" start "$T/sd"
	ip netns add "$NS_A"
	ip link add tpsd-a netns "$NS_A" type veth \
	    peer name tpsd-s netns "$(cat "$T/sd/pid")"
	ns A ip link set lo up
	ns A ip addr add 10.77.9.1/24 dev tpsd-a
	ns A ip link set tpsd-a up
	sd ip link set lo up
	sd ip addr add 10.77.9.2/24 dev tpsd-s
	sd ip link set tpsd-s up
	# Each connection is a tunnel to 10.77.0.1.
	ns A socat TCP-LISTEN:33960,reuseaddr,fork \
	    EXEC:"$TUNPIPE -a 10.77.0.1/24 -k 2" </dev/null 2>"$T/peer.log" &
	remember $!
	wait_for 5 peer_listening
	sd make -s -C "$BATS_TEST_DIRNAME/.." install
	sanitized_units
}

# sanitized_units: under make check SANITIZE=1, the units' services get
# the sanitizers' options, which a service's clean environment lacks, and
# LeakSanitizer's ptrace at exit (@debug), which @system-service leaves
# out.  The units themselves are the same.
sanitized_units() {
	local unit
	[ -n "${ASAN_OPTIONS:-}" ] || return 0
	for unit in tunpipe@ tunpipe-mesh tunpipe-mesh-link@; do
		sd sh -c "mkdir -p /etc/systemd/system/$unit.service.d &&
		    cat >/etc/systemd/system/$unit.service.d/sanitize.conf" <<-CONF
		[Service]
		Environment=ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=${UBSAN_OPTIONS:-}
		SystemCallFilter=@debug
		CONF
	done
	sd systemctl daemon-reload
}

teardown() {
	"$SDC" stop "$T/sd" || true
	kill_remembered
	ip netns pids "$NS_A" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	ip netns del "$NS_A" 2>/dev/null || true
}

peer_listening() { listening A 33960; }

# sd COMMAND...: COMMAND where systemd runs, as its services see the system.
sd() { timeout 30 "$SDC" run "$T/sd" "$@"; }

# conf NAME: /etc/tunpipe/NAME.conf (there) from stdin.
conf() { sd sh -c "mkdir -p /etc/tunpipe && cat >/etc/tunpipe/$1.conf"; }

# prop UNIT PROPERTY: the unit's property's value.
prop() { sd systemctl show -P "$2" "$1"; }

# prop_is UNIT PROPERTY VALUE: whether the unit's property has that value.
prop_is() { [ "$(prop "$1" "$2")" = "$3" ]; }

# status_says UNIT TEXT: whether the unit's STATUS= text holds TEXT.
status_says() { [[ "$(prop "$1" StatusText)" == *"$2"* ]]; }

# The tunnel of most tests: -U drops to nobody, --up adds a route, but only
# after 2 s, and -r restarts the transport.
tunnel_conf() {
	conf t <<-'CONF'
	# The far end: a tunpipe behind socat.
	-a 10.77.0.2/24 -k 2 -r 2 -U nobody
	-u 'sleep 2; ip route add 10.77.5.0/24 dev "$TUNPIPE_IFNAME"'
	-e 'socat STDIO TCP:10.77.9.1:33960'
	CONF
}

@test "systemctl start returns once the device is configured and --up has run; the status says what it does" {
	tunnel_conf
	sd systemctl start tunpipe@t
	# No waiting: Type=notify made systemctl wait for READY=1.
	sd ip -o addr show dev tun0 | grep -q 'inet 10.77.0.2/24'
	sd ip -o link show dev tun0 | grep -q '[<,]UP[,>]'
	sd ip route show 10.77.5.0/24 | grep -q 'dev tun0'
	[ "$(prop tunpipe@t ActiveState)" = active ]
	run sd systemctl status --no-pager tunpipe@t
	[[ "$output" == *'Status: "tun0: up; stream: the -e command (pid '* ]]
	wait_for 15 sd ping -c 1 -W 1 10.77.0.1
	# The packet loop runs as nobody.
	[ "$(sd ps -o user= -p "$(prop tunpipe@t MainPID)")" = nobody ]
}

@test "a transport that dies: -r starts it again, and the status says so meanwhile" {
	tunnel_conf
	sd systemctl start tunpipe@t
	sd ping -c 1 -W 2 10.77.0.1
	# End the connection at the far end.
	ns A pkill -f "^$TUNPIPE -a 10.77.0.1/24"
	wait_for 10 status_says tunpipe@t 'tun0: no carrier: the -e command exited with status 0; starting it again in 2 s'
	wait_for 10 status_says tunpipe@t 'tun0: up; stream: the -e command (pid '
	status_says tunpipe@t ', started again (restart 1)'
	wait_for 10 sd ping -c 1 -W 1 10.77.0.1
	[ "$(prop tunpipe@t NRestarts)" = 0 ]
}

# readme_file PATH: the lines that follow "# PATH" in one of README.md's
# code blocks, up to the next comment or the block's end: a file the README
# tells the user to write.
readme_file() {
	awk -v path="$1" '
	    index($0, "    # " path) == 1 { on = 1; next }
	    on && (/^    # / || !/^    /) { exit }
	    on { sub(/^    /, ""); print }' "$BATS_TEST_DIRNAME/../README.md"
}

# sshd_with_tunpipe: sshd in namespace A on 10.77.9.1, where tunpipe is
# installed (sshd_tunpipe); and what a user would have set up for root to
# reach it, by the names server and b: a key, the host's key in
# known_hosts, /etc/hosts.
sshd_with_tunpipe() {
	ssh_keys
	mkdir -m 755 "$T/bin"
	cp "$TUNPIPE" "$T/bin/tunpipe"
	sshd_tunpipe A 10.77.9.1:22
	sd sh -c "mkdir -m 700 -p /root/.ssh &&
	    cp $T/ssh/client_key /root/.ssh/id_ed25519 &&
	    echo server,b \$(cut -d' ' -f1,2 $T/ssh/host_key.pub) >/root/.ssh/known_hosts &&
	    echo '10.77.9.1 server b' >>/etc/hosts"
}

@test "the README's tunnel over ssh: its file of options, systemctl enable --now, and status" {
	sshd_with_tunpipe
	readme_file /etc/tunpipe/office.conf | conf office
	sd cat /etc/tunpipe/office.conf | grep -q "^-a 10.0.0.2/24 .*-e 'ssh "
	sd systemctl enable --now tunpipe@office
	[ "$(prop tunpipe@office UnitFileState)" = enabled ]
	wait_for 15 sd ping -c 1 -W 1 10.0.0.1
	run sd systemctl status tunpipe@office
	[[ "$output" == *'Status: "tun0: up; stream: the -e command (pid '* ]]
}

# ospf_full PROTOCOL: whether the site's bird has a neighbour in Full
# state for PROTOCOL (mesh4, mesh6).
ospf_full() {
	sd birdc -s /run/tunpipe-mesh/bird.ctl show ospf neighbors "$1" | grep -q 'Full/PtP'
}

@test "the README's mesh site as units: a link over ssh brings bird; OSPF finds the far site, and a ping reaches it" {
	command -v bird >/dev/null && command -v birdc >/dev/null ||
	    skip_or_fail "no bird and birdc: run test/need-tools (Debian: bird2)"
	sshd_with_tunpipe
	# The far site, b, 10.77.0.2, as mesh.bats runs it.
	ns_bg A "$BATS_TEST_DIRNAME/../examples/mesh.sh" router "$T/bird.a" 10.77.0.2 fd77::2 \
	    </dev/null >/dev/null 2>"$T/bird.a.log" &
	remember $!
	sd mkdir -p /etc/tunpipe/mesh
	readme_file /etc/tunpipe/mesh/site.conf | sd sh -c 'cat >/etc/tunpipe/mesh/site.conf'
	readme_file /etc/tunpipe/mesh/mesh-ab.conf | sd sh -c 'cat >/etc/tunpipe/mesh/mesh-ab.conf'
	sd grep -qx MESH_ADDRESS4=10.77.0.1 /etc/tunpipe/mesh/site.conf
	sd grep -qx MESH_HOST=root@b /etc/tunpipe/mesh/mesh-ab.conf
	sd systemctl enable --now tunpipe-mesh-link@mesh-ab
	# Type=notify: the link's device is configured, and bird came too.
	sd ip -o addr show dev mesh-ab | grep -q 'inet 10.77.0.129/30'
	[ "$(prop tunpipe-mesh ActiveState)" = active ]
	wait_for 30 ospf_full mesh4
	wait_for 30 ospf_full mesh6
	run sd birdc -s /run/tunpipe-mesh/bird.ctl show ospf neighbors
	[[ "$output" == *'10.77.0.2'*'Full/PtP'* ]]
	wait_for 15 sd ping -c 1 -W 1 10.77.0.2
	wait_for 15 sd ping -c 1 -W 1 fd77::2
	status_says tunpipe-mesh-link@mesh-ab 'mesh-ab: up; stream: the -e command (pid '
}

@test "a packet loop stopped with SIGSTOP misses the watchdog, is killed, and is started again" {
	local before
	tunnel_conf
	sd systemctl start tunpipe@t
	before=$(prop tunpipe@t MainPID)
	sd kill -STOP "$before"
	# WatchdogSec=10s, then RestartSec=5s.
	wait_for 30 prop_is tunpipe@t NRestarts 1
	sd journalctl --no-pager -u tunpipe@t | grep -q 'tunpipe@t.service: Watchdog timeout'
	sd journalctl --no-pager -u tunpipe@t | grep -q "tunpipe@t.service: Failed with result 'watchdog'"
	wait_for 10 prop_is tunpipe@t ActiveState active
	[ "$(prop tunpipe@t MainPID)" != "$before" ]
	wait_for 10 sd ping -c 1 -W 1 10.77.0.1
}

@test "systemctl stop ends the tunnel: tunpipe says it is stopping, and nothing is left behind" {
	# --down takes 3 s, for the status to be seen meanwhile.
	conf t <<-'CONF'
	-a 10.77.0.2/24 -k 2 -r 2 -U nobody -d 'sleep 3'
	-u 'ip route add 10.77.5.0/24 dev "$TUNPIPE_IFNAME"'
	-e 'socat STDIO TCP:10.77.9.1:33960'
	CONF
	sd systemctl start tunpipe@t
	sd systemctl stop --no-block tunpipe@t
	wait_for 5 status_says tunpipe@t 'tun0: stopping: signal 15 (Terminated)'
	wait_for 10 prop_is tunpipe@t ActiveState inactive
	[ "$(prop tunpipe@t Result)" = success ]
	[ "$(prop tunpipe@t ExecMainStatus)" = 0 ]
	! sd ip link show dev tun0
	! sd pgrep -x tunpipe
	! sd pgrep -x socat
	! sd pgrep -x sleep
	! sd ip route show 10.77.5.0/24 | grep -q .
}

@test "a missing or wrong file of options fails the unit at once, saying why, and is not started again" {
	run sd systemctl start tunpipe@none
	[ "$status" != 0 ]
	[ "$(prop tunpipe@none SubState)" = failed ]
	[ "$(prop tunpipe@none ExecMainStatus)" = 2 ]
	sd journalctl --no-pager -u tunpipe@none |
	    grep -q '/etc/tunpipe/none.conf: cannot read it: write the tunnel options there'

	echo '-a 10.77.0.300/24' | conf bad
	run sd systemctl start tunpipe@bad
	[ "$status" != 0 ]
	[ "$(prop tunpipe@bad SubState)" = failed ]
	[ "$(prop tunpipe@bad ExecMainStatus)" = 2 ]
	sd journalctl --no-pager -u tunpipe@bad | grep -q -- '-a 10.77.0.300/24: '
}

@test "systemd-analyze verify finds nothing to say of the units, and their security figures are the README's" {
	local unit figure
	# The units as they are installed, without sanitized_units' drop-ins.
	sd sh -c 'rm -rf /etc/systemd/system/*.service.d && systemctl daemon-reload'
	for unit in tunpipe@t.service tunpipe-mesh.service tunpipe-mesh-link@mesh-ab.service; do
		run sd systemd-analyze verify "$unit"
		[ "$status" = 0 ]
		[ -z "$output" ]
		figure=$(sd systemd-analyze security "$unit" |
		    sed -n "s/.*Overall exposure level for $unit: \([0-9.]*\) .*/\1/p")
		[ -n "$figure" ]
		grep -q "| \`${unit/@*./@NAME.}\` | $figure |" "$BATS_TEST_DIRNAME/../README.md"
	done
}
