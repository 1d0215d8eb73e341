#!/usr/bin/env bats
# examples/far-net.sh: the far host's network over ssh, with no privilege
# at the far end.  Three namespaces: near (A, where far-net.sh runs), far
# (B, with a real sshd and an ordinary user made for the test, who runs
# passt and tunpipe -c), and a LAN behind far (C, a host that near cannot
# reach otherwise, with a TCP listener, a UDP echo and a DNS server that
# knows the name lan-host.far.test).
#
#   near A 10.77.23.1 --veth-- 10.77.23.2 far B 10.77.24.2 --veth-- 10.77.24.3 lan C
#
# The lease is from 10.77.25.0/24 (--net): near's device gets 10.77.25.2,
# passt's gateway is 10.77.25.1.  Root only (ip netns, useradd).

load helpers

LAN=10.77.24.3
NAME=lan-host.far.test

setup() {
	need_root
	for tool in passt udhcpc dnsmasq socat sshd; do
		command -v $tool >/dev/null ||
		    skip_or_fail "no $tool (test/need-tools names its package)"
	done
	netns_setup
	NS_C=tunpipe-test-$$-c
	ip netns add "$NS_C"
	ns C ip link set lo up
	veth_pair A fna 10.77.23.1/24 B fnb 10.77.23.2/24
	veth_pair B fnl 10.77.24.2/24 C fnh $LAN/24
	# far's way to the world is the LAN: passt takes the interface of
	# the default route as its template.
	ns B ip route add default via $LAN
	# passt answers pings with ICMP echo sockets, which an ordinary user
	# may open only within ping_group_range (Debian's systemd sets it to
	# every group by default; a new namespace has none).
	ns B sysctl -q -w net.ipv4.ping_group_range="0 2147483647"
	ns B sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
	# near cannot reach the LAN by itself
	if ns A ping -c 1 -W 1 $LAN >/dev/null 2>&1; then
		fail "near reaches $LAN without far-net.sh"
	fi

	# The LAN host's services: DNS (far's resolver), a UDP echo.
	ns_bg C dnsmasq -k -C /dev/null --no-resolv --no-hosts \
	    --listen-address=$LAN --bind-interfaces --pid-file= \
	    --host-record=$NAME,$LAN 2>"$T/dnsmasq.err" &
	remember $!
	ns_bg C socat UDP4-RECVFROM:5007,bind=$LAN,fork PIPE &
	remember $!
	mkdir -p "/etc/netns/$NS_B"
	echo "nameserver $LAN" >"/etc/netns/$NS_B/resolv.conf"

	# The far user: no capability, no sudo, password "*" (not locked, so
	# that an sshd without PAM lets its key in).  Its tunpipe is this
	# tree's, in a directory of the test's that it can read.
	FARUSER=tpfar$$
	useradd -M -d / -s /bin/sh "$FARUSER"
	usermod -p '*' "$FARUSER"
	FARDIR=$(mktemp -d /tmp/tunpipe-farnet.XXXXXX)
	chmod 755 "$FARDIR"
	mkdir -m 755 "$FARDIR/bin"
	cp "$TUNPIPE" "$FARDIR/bin/tunpipe"
	chmod 755 "$FARDIR/bin/tunpipe"
	FAR_PATH=$FARDIR/bin:/usr/bin:/bin
	ssh_keys
	printf '%s:*:::::::\n' "$FARUSER" >>"$T/ssh/shadow"
	cp "$T/ssh/client_key.pub" "$FARDIR/authorized_keys"
	chmod 644 "$FARDIR/authorized_keys"
	sed -i -e "s/^AllowUsers .*/AllowUsers $FARUSER/" \
	    -e "s|^AuthorizedKeysFile .*|AuthorizedKeysFile $FARDIR/authorized_keys|" \
	    "$T/ssh/sshd_config"
	sshd_start B 10.77.23.2
	FAR=$FARUSER@10.77.23.2
	LOCAL_TUNPIPE=$(realpath "$TUNPIPE")
	# near's link-local addresses settled (DAD done)
	wait_for 5 eval '[ -z "$(ns A ip -6 addr show tentative)" ]'
	near_net >"$T/near-net.before"
}

teardown() {
	if [ -f "$T/groups" ]; then
		while read -r g; do
			kill -TERM -- "-$g" 2>/dev/null || true
		done <"$T/groups"
	fi
	netns_teardown_all
	if [ -n "${FARUSER:-}" ]; then
		far_pids | xargs -r kill -9 2>/dev/null || true
		# what a far end killed before its clean-up left
		find /tmp -maxdepth 1 -user "$FARUSER" -exec rm -rf {} + 2>/dev/null || true
		userdel "$FARUSER" 2>/dev/null || true
	fi
	if [ -n "${NEARUSER:-}" ]; then
		ps -o pid= -u "$NEARUSER" | xargs -r kill -9 2>/dev/null || true
		userdel "$NEARUSER" 2>/dev/null || true
	fi
	[ -z "${FARDIR:-}" ] || rm -rf "$FARDIR"
	[ -z "${NS_B:-}" ] || rm -rf "/etc/netns/$NS_B"
}

# near_net: near's links, addresses and routes (IPv4 and IPv6).
near_net() {
	ns A ip -o link show | awk '{ print $2, $3 }'
	ns A ip -o addr show | awk '{ print $2, $3, $4 }'
	ns A ip route show table all
	ns A ip -6 route show table all
}

# far_pids: the far user's processes, one PID a line.
far_pids() { ps -o pid= -u "$FARUSER" | tr -d ' '; }
far_empty() { [ -z "$(far_pids)" ]; }
far_proc() {
	local pid
	for pid in $(far_pids); do
		case $(cat "/proc/$pid/comm" 2>/dev/null) in
		"$1" | "$1".*) echo "$pid" ;;	# passt.avx2, where the CPU has AVX2
		esac
	done
	return 0
}

# far_net [OPTION...] [-- COMMAND...]: far-net.sh as root in near, in a
# session of its own, with those options, the test's ssh options, $FAR
# and the command; its messages in $T/far-net.err.  Sets PID.
far_net() {
	far_args "$@"
	ns_bg A env TUNPIPE="$LOCAL_TUNPIPE" setsid "$EXAMPLES/far-net.sh" \
	    --net 10.77.25.0/24 --far-path "$FAR_PATH" "${ARGS[@]}" \
	    </dev/null >"$T/far-net.out" 2>"$T/far-net.err" &
	PID=$!
	echo "$PID" >>"$T/groups"
	remember "$PID"
}
EXAMPLES=$BATS_TEST_DIRNAME/../examples

# far_args [OPTION...] [-- COMMAND...]: ARGS, the options, then the ssh
# options and $FAR, then -- and the command.
far_args() {
	ARGS=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		ARGS+=("$1")
		shift
	done
	ARGS+=("${SSH_OPTS[@]}" "${FAR_SSH[@]+"${FAR_SSH[@]}"}" "$FAR" "$@")
}

# far_net_run [ARGS...] -- COMMAND...: far-net.sh in the foreground, as
# run does: $status, $output (stdout and stderr together).
far_net_run() {
	far_args "$@"
	run ns A timeout 60 env TUNPIPE="$LOCAL_TUNPIPE" "$EXAMPLES/far-net.sh" \
	    --net 10.77.25.0/24 --far-path "$FAR_PATH" "${ARGS[@]}"
}

said() {
	echo "far-net.sh said:" >&2
	cat "$T/far-net.err" >&2
}

# far_net_up: waits until far-net.sh says the device is up.
far_net_up() {
	wait_for 20 grep -q " on $FAR's network\| on 10.77.23.2's network" "$T/far-net.err" || {
		said
		cat "$T/ssh/sshd.B.log" >&2
		return 1
	}
}

# lan_transfer FROM MEGABYTES: random bytes over TCP from namespace FROM
# (A) to the LAN host, arriving intact.
lan_transfer() {
	local mb=$2 listener
	head -c $((mb * 1024 * 1024)) /dev/urandom >"$T/sent"
	ns_bg C timeout 60 socat -u TCP-LISTEN:5001,bind=$LAN,reuseaddr \
	    "CREATE:$T/received" &
	listener=$!
	remember $listener
	wait_for 5 eval "ns C ss -Hltn 'sport = :5001' | grep -q LISTEN"
	ns "$1" timeout 60 socat -u "FILE:$T/sent" TCP:$LAN:5001 || { said; return 1; }
	wait_exit 10 $listener
	[ "$status" = 0 ]
	[ "$(sha256sum <"$T/sent")" = "$(sha256sum <"$T/received")" ]
}

# udp_echo SIDE: a datagram to the LAN host's echo comes back.
udp_echo() {
	local got
	got=$(echo "far-net $$" | ns "$1" timeout 5 socat -T 3 - UDP4:$LAN:5007)
	[ "$got" = "far-net $$" ]
}

# nothing_left: no process of the far user, none in near's namespace, and
# no file of the far user's left in /tmp (the far end's directory).
nothing_left() {
	wait_for 10 far_empty || { ps -f -u "$FARUSER" >&2; return 1; }
	if [ -n "$(find /tmp -maxdepth 1 -user "$FARUSER")" ]; then
		fail "the far end left $(find /tmp -maxdepth 1 -user "$FARUSER")"
	fi
	# shellcheck disable=SC2046 # a list of PIDs
	wait_for 10 eval '[ -z "$(ip netns pids "$NS_A")" ]' ||
	    { ps -f $(ip netns pids "$NS_A") >&2; return 1; }
}

@test "far-net.sh as root: TCP (8 MB, sha256), UDP and ping reach far's LAN through -r; SIGTERM ends both ends" {
	far_net -r 10.77.24.0/24
	far_net_up
	ns A ip route show 10.77.24.0/24 | grep -q "via 10.77.25.1"
	ns A ping -c 3 -i 0.2 -W 5 $LAN
	udp_echo A
	lan_transfer A 8
	kill "$PID"
	wait_exit 10 "$PID"
	[ "$status" = 0 ]
	nothing_left
	# the device and its routes are gone: near's network as it was
	near_net | diff "$T/near-net.before" -
}

@test "far-net.sh as root, with a command: a name far's resolver knows resolves, the command's status is the script's, and its end ends everything" {
	cp /etc/resolv.conf "$T/resolv.before" 2>/dev/null || : >"$T/resolv.before"
	far_net_run -r 10.77.24.0/24 -- sh -c "getent hosts $NAME; cat /etc/resolv.conf; exit 7"
	[ "$status" = 7 ] || { echo "$output" >&2; return 1; }
	echo "$output" | grep -q "^$LAN  *$NAME"
	echo "$output" | grep -q "^nameserver $LAN"
	nothing_left
	# near's own resolv.conf, and its network, as they were
	ns A cat /etc/resolv.conf 2>/dev/null | cmp - "$T/resolv.before"
	near_net | diff "$T/near-net.before" -
}

@test "far-net.sh as root, -r default: everything but the ssh connection goes through far; the default route stays" {
	# near's default route, and a host the LAN host stands for on the
	# far side's "internet"
	ns A ip route add default via 10.77.23.2
	ns C ip addr add 10.77.26.3/32 dev lo
	near_net >"$T/near-net.before"
	far_net -r default
	far_net_up
	ns A ip route show | grep -q "^0.0.0.0/1 via 10.77.25.1 "
	ns A ip route show | grep -q "^128.0.0.0/1 via 10.77.25.1 "
	ns A ip route show | grep -q "^default via 10.77.23.2 dev fna"
	# the ssh server keeps its way, and the lease's DNS server has one
	ns A ip route get 10.77.23.2 | grep -q "dev fna"
	ns A ip route get $LAN | grep -q "via 10.77.25.1"
	# far's world is reached: the LAN host, and an address beyond it
	ns A ping -c 2 -i 0.2 -W 5 10.77.26.3
	lan_transfer A 2
	kill "$PID"
	wait_exit 10 "$PID"
	[ "$status" = 0 ]
	nothing_left
	near_net | diff "$T/near-net.before" -
}

@test "far-net.sh: nothing at far runs as root or with a capability (passt and tunpipe -c)" {
	far_net -r 10.77.24.0/24
	far_net_up
	passt=$(far_proc passt) tunpipe=$(far_proc tunpipe)
	[ -n "$passt" ]
	[ -n "$tunpipe" ]
	for pid in $passt $tunpipe; do
		uid=$(id -u "$FARUSER")
		grep -Eq "^Uid:	$uid	$uid	$uid	$uid$" "/proc/$pid/status"
		grep -Eq "^CapEff:	0+$" "/proc/$pid/status"
		grep -Eq "^CapPrm:	0+$" "/proc/$pid/status"
	done
	# nor anything else at far but sshd (whose privileged part serves
	# every session)
	for pid in $(ip netns pids "$NS_B"); do
		case $(cat "/proc/$pid/comm") in sshd*) continue ;; esac
		[ "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" != 0 ] ||
		    fail "$pid runs as root: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
	done
}

# ssh_killed_ends MESSAGE: kills far-net.sh's one ssh; far-net.sh must
# end with status 6, saying MESSAGE (a grep pattern), and leave nothing at
# either end, near's network as it was.
ssh_killed_ends() {
	local ssh
	ssh=$(ns_procs A ssh)
	[ "$(echo "$ssh" | wc -w)" = 1 ]
	kill -9 "$ssh"
	wait_exit 15 "$PID"
	[ "$status" = 6 ]
	grep -q "$1" "$T/far-net.err"
	nothing_left
	near_net | diff "$T/near-net.before" -
}

@test "far-net.sh as root: killing its ssh ends everything at both ends, and the script says so (status 6)" {
	far_net -r 10.77.24.0/24
	far_net_up
	ssh_killed_ends "the connection to .* ended"
}

@test "far-net.sh as root, with a command: killing its ssh hangs up the command, and everything ends (status 6)" {
	far_net -r 10.77.24.0/24 -- sh -c 'echo ready; exec sleep 3600'
	wait_for 20 grep -qx ready "$T/far-net.out" || { said; return 1; }
	ssh_killed_ends "the connection to .* ended; the command was hung up"
}

@test "far-net.sh as root: a 20 MB TCP transfer through the whole path arrives intact" {
	far_net -r 10.77.24.0/24
	far_net_up
	lan_transfer A 20
}

# near_user: an ordinary user at near, with its own copies of the test's
# ssh key and known_hosts (in $FARDIR/near); sets USER_SSH_OPTS.
near_user() {
	NEARUSER=tpnear$$
	useradd -M -d / -s /bin/sh "$NEARUSER"
	mkdir -m 755 "$FARDIR/near"
	cp "$T/ssh/client_key" "$T/ssh/known_hosts" "$FARDIR/near/"
	chown "$NEARUSER" "$FARDIR/near/client_key"
	chmod 600 "$FARDIR/near/client_key"
	chmod 644 "$FARDIR/near/known_hosts"
	USER_SSH_OPTS=(-F /dev/null -i "$FARDIR/near/client_key" -o IdentitiesOnly=yes
	    -o IdentityAgent=none -o "UserKnownHostsFile=$FARDIR/near/known_hosts"
	    -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes
	    -o BatchMode=yes -o ConnectTimeout=5)
}

# as_near_user [OPTION...] -- COMMAND...: far-net.sh as the near user, with
# /dev/net/tun as stock Debian has it (test/as-user), as run does.
as_near_user() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	run ns A timeout 60 "$BATS_TEST_DIRNAME/as-user" "$NEARUSER" \
	    env TUNPIPE="$LOCAL_TUNPIPE" SHELL=/bin/sh "$EXAMPLES/far-net.sh" \
	    --net 10.77.25.0/24 --far-path "$FAR_PATH" "${opts[@]}" \
	    "${USER_SSH_OPTS[@]}" "$FAR" "$@"
}

@test "far-net.sh as an ordinary user: in its namespace, TCP (8 MB, sha256), UDP, ping and DNS reach far's LAN; near's network is untouched" {
	near_user
	head -c $((8 * 1024 * 1024)) /dev/urandom >"$FARDIR/sent"
	chmod 644 "$FARDIR/sent"
	ns_bg C timeout 60 socat -u TCP-LISTEN:5001,bind=$LAN,reuseaddr \
	    "CREATE:$FARDIR/received" &
	listener=$!
	remember $listener
	wait_for 5 eval "ns C ss -Hltn 'sport = :5001' | grep -q LISTEN"
	as_near_user -- sh -c "
	    set -e
	    id -u
	    ip -o -4 addr show dev far0
	    ip route show default
	    ping -c 2 -i 0.2 -W 5 $LAN >/dev/null && echo ping ok
	    echo udp-$$ | timeout 5 socat -T 3 - UDP4:$LAN:5007
	    getent hosts $NAME
	    timeout 30 socat -u FILE:$FARDIR/sent TCP:$LAN:5001 && echo sent
	    # the end of the transfer, before the namespace and its network go
	    i=0
	    until [ \"\$(stat -c %s $FARDIR/received)\" = $((8 * 1024 * 1024)) ]; do
		[ \$i -lt 200 ] || exit 1; i=\$((i + 1)); sleep 0.1
	    done
	    exit 3"
	echo "$output"
	[ "$status" = 3 ]
	echo "$output" | grep -qx 0	# root in its own user namespace
	echo "$output" | grep -q "far0    inet 10.77.25.2/24 "
	echo "$output" | grep -q "^default via 10.77.25.1 dev far0"
	echo "$output" | grep -qx "ping ok"
	echo "$output" | grep -qx "udp-$$"
	echo "$output" | grep -q "^$LAN  *$NAME"
	echo "$output" | grep -qx sent
	wait_exit 10 $listener
	[ "$status" = 0 ]
	[ "$(sha256sum <"$FARDIR/sent")" = "$(sha256sum <"$FARDIR/received")" ]
	nothing_left
	wait_for 5 eval '[ -z "$(ps -o pid= -u "$NEARUSER")" ]'
	near_net | diff "$T/near-net.before" -
}

@test "far-net.sh as an ordinary user: killing its ssh hangs up the command, ends everything at both ends (status 6)" {
	near_user
	as_near_user_bg -- sh -c 'echo ready; exec sleep 3600'
	wait_for 20 grep -qx ready "$T/far-net.out" || { said; return 1; }
	ssh=$(ns_procs A ssh)
	[ "$(echo "$ssh" | wc -w)" = 1 ]
	kill -9 "$ssh"
	wait_exit 15 "$PID"
	said
	[ "$status" = 6 ]
	grep -q "the connection to .* ended; the command was hung up" "$T/far-net.err"
	nothing_left
	wait_for 5 eval '[ -z "$(ps -o pid= -u "$NEARUSER")" ]'
	near_net | diff "$T/near-net.before" -
}

# as_near_user_bg [OPTION...] -- COMMAND... &: as_near_user, in the
# background, its messages in $T/far-net.err; sets PID.
as_near_user_bg() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	ns_bg A "$BATS_TEST_DIRNAME/as-user" "$NEARUSER" \
	    env TUNPIPE="$LOCAL_TUNPIPE" "$EXAMPLES/far-net.sh" \
	    --net 10.77.25.0/24 --far-path "$FAR_PATH" "${opts[@]}" \
	    "${USER_SSH_OPTS[@]}" "$FAR" "$@" </dev/null >"$T/far-net.out" 2>"$T/far-net.err" &
	PID=$!
	remember $PID
}

# far_bin NAME COMMAND...: $FARDIR/NAME, a directory of links to the
# COMMANDs, for a far PATH that has only them.
far_bin() {
	local cmd
	mkdir -m 755 "$FARDIR/$1"
	for cmd in "${@:2}"; do
		ln -s "$(command -v "$cmd")" "$FARDIR/$1/$cmd"
	done
}
FAR_TOOLS=(sh uname mktemp id grep tr sleep rm)

@test "far-net.sh: no passt on the far host: says so, names the package, leaves nothing (status 4)" {
	far_bin nopasst "${FAR_TOOLS[@]}"
	ln -s "$FARDIR/bin/tunpipe" "$FARDIR/nopasst/tunpipe"
	FAR_PATH=$FARDIR/nopasst
	far_net_run -r 10.77.24.0/24
	echo "$output"
	[ "$status" = 4 ]
	echo "$output" | grep -q "far-net: no passt on .*: install it there (Debian 12 and later, Ubuntu: apt install passt"
	nothing_left
	near_net | diff "$T/near-net.before" -
}

@test "far-net.sh: no tunpipe on the far host: says so and how to put it there, leaves nothing (status 4)" {
	FAR_PATH=/usr/bin:/bin
	far_net_run -r 10.77.24.0/24
	echo "$output"
	[ "$status" = 4 ]
	echo "$output" | grep -q "far-net: no tunpipe on .*: build it there (make) and put it on the PATH"
	nothing_left
	near_net | diff "$T/near-net.before" -
}

@test "far-net.sh: a key the far host refuses: says ssh could not log in, and what to check; leaves nothing (status 4)" {
	ssh-keygen -q -t ed25519 -N '' -f "$T/other_key"
	SSH_OPTS=("${SSH_OPTS[@]/$T\/ssh\/client_key/$T/other_key}")
	far_net_run -r 10.77.24.0/24
	echo "$output"
	[ "$status" = 4 ]
	echo "$output" | grep -q "ssh could not connect to .* or log in"
	echo "$output" | grep -q "Permission denied"
	echo "$output" | grep -q "check the host, the port (-p), the key (-i, or an agent)"
	nothing_left
	near_net | diff "$T/near-net.before" -
}

@test "far-net.sh: a far sshd that forces another command: says so and what to change; leaves nothing (status 4)" {
	kill "$SSHD_PID"
	wait_for 5 eval "! kill -0 $SSHD_PID"
	echo "ForceCommand echo this account only shows the weather" >>"$T/ssh/sshd_config"
	sshd_start B 10.77.23.2
	far_net_run -r 10.77.24.0/24
	echo "$output"
	[ "$status" = 4 ]
	echo "$output" | grep -q "did not run far-net's command: its sshd forces another (ForceCommand"
	nothing_left
	near_net | diff "$T/near-net.before" -
}

@test "far-net.sh: a passt that gives no lease: says none came in time; leaves nothing at either end (status 5)" {
	mkdir -m 755 "$FARDIR/nodhcp"
	printf '#!/bin/sh\nexec /usr/bin/passt --no-dhcp "$@"\n' >"$FARDIR/nodhcp/passt"
	chmod 755 "$FARDIR/nodhcp/passt"
	FAR_PATH=$FARDIR/nodhcp:$FAR_PATH
	far_net_run --lease-wait 3 -r 10.77.24.0/24
	echo "$output"
	[ "$status" = 5 ]
	echo "$output" | grep -q "no DHCP lease from passt on .* within 3 s"
	nothing_left
	near_net | diff "$T/near-net.before" -
}

@test "far-net.sh as an ordinary user: /dev/net/tun closed to users: says so and how to open it (status 3)" {
	near_user
	# shellcheck disable=SC2016
	run ns A unshare -m sh -c '
		dir=$(mktemp -d)
		mknod "$dir/tun" c 10 200
		chmod 600 "$dir/tun"
		mount --bind "$dir/tun" /dev/net/tun
		rm -rf "$dir"
		exec setpriv --reuid="$0" --regid="$(id -g "$0")" --init-groups "$@"
	    ' "$NEARUSER" env TUNPIPE="$LOCAL_TUNPIPE" "$EXAMPLES/far-net.sh" \
	    "${USER_SSH_OPTS[@]}" "$FAR" -- true
	echo "$output"
	[ "$status" = 3 ]
	echo "$output" | grep -q "/dev/net/tun is closed to you (crw-------): .*Debian ships it (crw-rw-rw-); as root: chmod 0666 /dev/net/tun"
	nothing_left
}

@test "far-net.sh in a namespace where user namespaces are off: says so and which sysctl turns them on (status 3)" {
	# user.max_user_namespaces is per user namespace: 0 in one of the
	# test's own, where far-net.sh runs (--namespace: as a user would)
	run ns A unshare -U -r sh -c 'echo 0 >/proc/sys/user/max_user_namespaces && exec "$@"' sh \
	    env TUNPIPE="$LOCAL_TUNPIPE" "$EXAMPLES/far-net.sh" --namespace \
	    "${SSH_OPTS[@]}" "$FAR" -- true
	echo "$output"
	[ "$status" = 3 ]
	echo "$output" | grep -q "user namespaces are off .*sysctl -w user.max_user_namespaces="
	nothing_left
}

@test "far-net.sh: no udhcpc (nor busybox) here: says so and names the package (status 3)" {
	mkdir "$T/nobusybox"
	for f in /usr/bin/* /usr/sbin/*; do
		case ${f##*/} in busybox | udhcpc) continue ;; esac
		ln -sf "$f" "$T/nobusybox/"
	done
	run ns A env PATH="$T/nobusybox" TUNPIPE="$LOCAL_TUNPIPE" "$EXAMPLES/far-net.sh" \
	    "${SSH_OPTS[@]}" "$FAR" -- true
	echo "$output"
	[ "$status" = 3 ]
	echo "$output" | grep -q "no udhcpc here (busybox's DHCP client, .*): install it (Debian: udhcpc, or busybox)"
	nothing_left
}

@test "far-net.sh as root, --respawn: after its ssh is killed the far network comes back, on the same device and address" {
	far_net --respawn 1 -r 10.77.24.0/24
	far_net_up
	ns A ping -c 1 -W 5 $LAN
	dev=$(addr_dev A 10.77.25.2)
	old_ssh=$(ns_procs A ssh)
	kill -9 "$old_ssh"
	wait_for 15 ns A ping -c 1 -W 1 $LAN || { said; return 1; }
	new_ssh=$(ns_procs A ssh)
	[ -n "$new_ssh" ]
	[ "$new_ssh" != "$old_ssh" ]
	[ "$(addr_dev A 10.77.25.2)" = "$dev" ]
	kill -0 "$PID"
	lan_transfer A 2
	# one far end at a time: the old one ended with its stream
	wait_for 10 eval '[ "$(far_proc passt | wc -w)" = 1 ]'
	kill "$PID"
	wait_exit 10 "$PID"
	nothing_left
}

@test "far-net.sh as an ordinary user: no passt on the far host: says so; nothing left at either end (status 4)" {
	near_user
	far_bin nopasst "${FAR_TOOLS[@]}"
	ln -s "$FARDIR/bin/tunpipe" "$FARDIR/nopasst/tunpipe"
	FAR_PATH=$FARDIR/nopasst
	as_near_user -- true
	echo "$output"
	[ "$status" = 4 ]
	echo "$output" | grep -q "far-net: no passt on .*: install it there (Debian 12 and later, Ubuntu: apt install passt"
	nothing_left
	wait_for 5 eval '[ -z "$(ps -o pid= -u "$NEARUSER")" ]'
	near_net | diff "$T/near-net.before" -
}

@test "far-net.sh as an ordinary user, without a command: the user's \$SHELL, in the namespace, reading what it is given" {
	near_user
	run ns A timeout 60 "$BATS_TEST_DIRNAME/as-user" "$NEARUSER" \
	    env TUNPIPE="$LOCAL_TUNPIPE" SHELL=/bin/sh "$EXAMPLES/far-net.sh" \
	    --net 10.77.25.0/24 --far-path "$FAR_PATH" "${USER_SSH_OPTS[@]}" "$FAR" \
	    <<<"ip route show default; ping -c 1 -W 5 $LAN >/dev/null && echo reached; exit 9"
	echo "$output"
	[ "$status" = 9 ]
	echo "$output" | grep -q "^default via 10.77.25.1 dev far0"
	echo "$output" | grep -qx reached
	nothing_left
}
