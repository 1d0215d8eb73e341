#!/usr/bin/env bats
# The README's commands, run as the README gives them.  The first test
# checks that every command line in README.md is run by some test; the
# others run here those that no other test runs in the README's words,
# between two network namespaces joined by a veth link (10.77.1.1 and
# 10.77.1.2), where the name `server` is the second one.  Each end has a
# /tmp of its own, so that `/tmp/f` means what it says at each end.

load helpers

ROOT=$BATS_TEST_DIRNAME/..

setup() {
	T=$BATS_TEST_TMPDIR
	# tunpipe and the examples by the names the README uses.
	PATH=$(cd "$ROOT" && pwd):$(cd "$ROOT/examples" && pwd):$PATH
	export PATH
	# And in $T/bin, which the lines and sshd's sessions see as
	# /usr/local/bin: a line's own /tmp hides the source tree when it lies
	# under /tmp, as a clean clone's may.
	mkdir -m 755 "$T/bin"
	cp "$ROOT/tunpipe" "$ROOT"/examples/*.sh "$T/bin"
	chmod 755 "$T"/bin/*
}

teardown() {
	example_teardown
	farnet_teardown
	local ns
	for ns in "${NS_A:-}" "${NS_B:-}" "${NS_C:-}"; do
		[ -z "$ns" ] || rm -rf "/etc/netns/$ns"
	done
}

# readme_commands: the command lines of README.md's indented code blocks,
# one a line, blanks squeezed.  A block holds commands when its first
# line starts with a shell comment or a command word (lower case, no
# colon) and has no run of blanks but the one before a trailing comment;
# any other block is a figure, a table or output, and is skipped.  In a
# command block, comment lines and trailing comments are dropped, a line
# ending in `\` or `|` goes on in the next, and a usage synopsis (an
# optional part in brackets, or two placeholders in capitals in a row) is
# skipped.  A comment that names a path (`# /etc/...`) begins a file the
# README tells the user to write, up to the next comment or blank line: it
# stands as `readme_file PATH`, which a test runs to read that file out of
# the README and use it.
readme_commands() {
	awk '
	function flush() { if (cmd != "") print cmd; cmd = "" }
	function squeeze(s) {
		gsub(/[ \t]+/, " ", s); sub(/^ /, "", s); sub(/ $/, "", s)
		return s
	}
	/^```/ { fence = !fence; next }
	fence { next }
	/^    / && (blank || inblock) {
		line = substr($0, 5)
		if (!inblock) {
			inblock = 1
			commands = (line ~ /^#/ || line ~ /^[a-z][a-z0-9._-]*([ =]|$)/) &&
			    line !~ /[^ ]  +[^ #]/
		}
		blank = 0
		if (commands && line ~ /^# \//) {
			flush()
			path = substr(line, 3)
			sub(/[: ].*$/, "", path)
			print "readme_file " path
			infile = 1
			next
		}
		if (infile && line !~ /^#/)
			next
		infile = 0
		if (!commands || line ~ /^[ \t]*#/)
			next
		sub(/[ \t]+#[ \t].*$/, "", line)
		line = squeeze(line)
		if (cmd == "" && (line ~ /\[[-a-z][^]]*\]/ ||
		    line ~ /(^| )[A-Z][A-Z0-9\/]+ [A-Z][A-Z0-9\/]+( |$)/))
			next
		cmd = cmd (cmd == "" ? "" : " ") line
		if (cmd ~ /\\$/) { sub(/ ?\\$/, "", cmd); next }
		if (cmd ~ /\|$/)
			next
		flush()
		next
	}
	/^$/ { blank = 1; infile = 0; next }
	{ inblock = 0; blank = 0; infile = 0; flush() }
	' "$ROOT/README.md"
}

# tested_lines: every line of the tests (bats files, their helpers, the
# test guest's init), blanks squeezed, comments left out.
tested_lines() {
	cat "$BATS_TEST_DIRNAME"/*.bats "$BATS_TEST_DIRNAME"/helpers.bash \
	    "$BATS_TEST_DIRNAME"/guest-init |
	    sed -e 's/[[:space:]]\{1,\}/ /g' -e 's/^ //' -e 's/ $//' |
	    grep -v '^#'
}

# is_run COMMAND: the README's COMMAND is run by a test: it is a whole
# line of one (a heredoc here), or in single quotes the argument of one of
# the runners here, or the command of systemd.bats's sd (which runs it
# where its systemd runs); a README file is read by readme_file.
is_run() {
	local runner
	grep -qxF -- "$1" "$T/tested" && return 0
	grep -qxF -e "sd $1" -e "run sd $1" "$T/tested" && return 0
	case $1 in
	"readme_file "*) grep -qF -- "$1 " "$T/tested" && return 0 ;;
	esac
	for runner in "readme_run A" "readme_run B" "readme_run C" "readme_bg A" \
	    "readme_bg B" "readme_bg C" \
	    server_up make_dry; do
		grep -qF -- "$runner '$1'" "$T/tested" && return 0
	done
	return 1
}

# README lines that no test can run here, each with the reason.
CANNOT_RUN=(
	# A display, and Wireshark (not among the test tools): the test of -w
	# to a FIFO reads it with the README's other reader, tcpdump -r.
	'wireshark -k -i /tmp/cap &'
	# "..." stands for the machine's own options; qemu.bats boots a guest
	# with these -netdev and -device options, and the socat lines before
	# them run here.
	'qemu-system-x86_64 ... -netdev stream,id=n0,server=off,addr.type=unix,addr.path=/tmp/vm.sock -device virtio-net-pci,netdev=n0'
	'qemu-system-x86_64 ... -netdev socket,id=n1,connect=127.0.0.1:5555 -device virtio-net-pci,netdev=n1'
	# The kernel's SLIP driver, which this machine's kernel lacks:
	# test/guest-init runs the ldattach line in qemu.bats's guest, then
	# these two with the address the test gives.
	'ip link set sl0 mtu 1500 up'
	'ip addr add 10.0.0.2/24 dev sl0'
)

@test "every command in the README is run by a test, or said here why it cannot be" {
	readme_commands >"$T/commands"
	tested_lines >"$T/tested"
	# The rule finds the commands: a README that it misread would
	# give few or none.
	[ "$(wc -l <"$T/commands")" -ge 40 ]
	grep -qxF 'ping 10.0.0.1' "$T/commands"
	if grep -q '^tunpipe \[' "$T/commands"; then
		fail "the usage synopsis taken for a command"
	fi
	local cmd missing=0 allowed
	for allowed in "${CANNOT_RUN[@]}"; do
		grep -qxF -- "$allowed" "$T/commands" ||
		    fail "listed as one that cannot run, but not in the README: $allowed" ||
		    missing=$((missing + 1))
	done
	while IFS= read -r cmd; do
		is_run "$cmd" && continue
		for allowed in "${CANNOT_RUN[@]}"; do
			[ "$cmd" != "$allowed" ] || continue 2
		done
		echo "no test runs this README command: $cmd" >&2
		missing=$((missing + 1))
	done <"$T/commands"
	[ "$missing" = 0 ]
}

# ---- two namespaces, with the README's names ----

# readme_netns: namespaces A (the client) and B (the server), loopback up,
# joined by a veth pair: A 10.77.1.1/24 on tra, B 10.77.1.2/24 on trb.  In
# A the name `server` is B's address (ip netns exec mounts
# /etc/netns/NAME/hosts on /etc/hosts); each has a /tmp of its own,
# $T/tmp.A and $T/tmp.B, unless SHARED_TMP names one for both.
readme_netns() {
	need_root
	NSMODE=root
	NS_A=tprc-$$-a
	NS_B=tprc-$$-b
	local side
	for side in A B; do
		mkdir -p "/etc/netns/$(ns_name $side)"
		: >"/etc/netns/$(ns_name $side)/resolv.conf"
		mkdir -m 1777 "$T/tmp.$side"
	done
	printf '127.0.0.1 localhost\n10.77.1.2 server\n' >"/etc/netns/$NS_A/hosts"
	printf '127.0.0.1 localhost\n10.77.1.1 client\n' >"/etc/netns/$NS_B/hosts"
	ip netns add "$NS_A"
	ip netns add "$NS_B"
	ns A ip link set lo up
	ns B ip link set lo up
	veth_pair A tra 10.77.1.1/24 B trb 10.77.1.2/24
}

# readme_netns_c: a third namespace C, loopback up, with a /tmp of its
# own ($T/tmp.C) unless SHARED_TMP names one.
readme_netns_c() {
	NS_C=tprc-$$-c
	mkdir -p "/etc/netns/$NS_C"
	: >"/etc/netns/$NS_C/resolv.conf"
	printf '127.0.0.1 localhost\n' >"/etc/netns/$NS_C/hosts"
	mkdir -m 1777 "$T/tmp.C"
	ip netns add "$NS_C"
	ns C ip link set lo up
}

readme_tmp() { echo "${SHARED_TMP:-$T/tmp.$1}"; }

# readme_sh: the script that runs a README line ($2) in the mounts that
# it sees: tunpipe and the examples in /usr/local/bin ($7), its /tmp
# ($1), and, when README_RUN is set, a /run of its own
# ($3), when README_HOME names one, root's home ($4); with README_USER
# set to a uid ($6), as that user, no privilege, with FARDIR's passwd and
# group ($5) and a /dev/net/tun open to all, as stock Debian has it.
# shellcheck disable=SC2016
READme_SH='mount --bind "$7" /usr/local/bin || exit
	[ -z "$3" ] || mount --bind "$3" /run || exit
	[ -z "$4" ] || mount --bind "$4" ~root || exit
	[ -z "$5" ] || { mount --bind "$5/passwd" /etc/passwd &&
	    mount --bind "$5/group" /etc/group && mount --bind "$5/tun" /dev/net/tun; } || exit
	mount --bind "$1" /tmp && cd /tmp || exit
	[ -n "$5" ] || exec sh -c "$2"
	exec setpriv --reuid="$6" --regid="$6" --clear-groups sh -c "$2"'

readme_args() {
	local run=
	[ -z "${README_RUN:-}" ] || run=$T/run.$1
	[ -z "$run" ] || mkdir -p "$run"
	printf '%s\0' "$(readme_tmp "$1")" "$2" "$run" "${README_HOME:-}" \
	    "${README_USER:+$FARDIR}" "${README_USER:-}" "$T/bin"
}

# readme_run SIDE LINE: runs the README's LINE with sh in that namespace,
# in its /tmp.
readme_run() {
	local args
	mapfile -d '' args < <(readme_args "$1" "$2")
	ns "$1" sh -c "$READme_SH" sh "${args[@]}"
}

# readme_bg SIDE LINE &: readme_run in a session of its own, then
# example_started $!: teardown stops the whole group.
readme_bg() {
	local args
	mapfile -d '' args < <(readme_args "$1" "$2")
	ns_bg "$1" setsid sh -c "$READme_SH" sh "${args[@]}"
}

# readme_home HOST...: root's home for the README's ssh lines, in
# $T/home: an ~/.ssh/config that uses the test's key and knows the
# test's host key as each HOST's.  README_HOME names it.
readme_home() {
	local host
	# Paths under ~, since $T is under /tmp, which the line's own hides.
	mkdir -p "$T/home/.ssh"
	cp "$T/ssh/client_key" "$T/home/.ssh/id_ed25519"
	printf 'Host *\n\tIdentityFile ~/.ssh/id_ed25519\n\tIdentitiesOnly yes\n\tBatchMode yes\n\tIdentityAgent none\n\tUserKnownHostsFile ~/.ssh/known_hosts\n\tGlobalKnownHostsFile /dev/null\n\tStrictHostKeyChecking yes\n' \
	    >"$T/home/.ssh/config"
	for host; do
		echo "$host $(cut -d' ' -f1,2 "$T/ssh/host_key.pub")"
	done >"$T/home/.ssh/known_hosts"
	README_HOME=$T/home
}

# Quick start's client, which most of the README's servers are used with.
quick_start_client() {
	local client
	client=$(cat <<-'EOF'
		nc server 33960 </tmp/f | tunpipe -a 10.0.0.2/24 -a fd00::2/64 -u 'ip route add 192.168.7.0/24 dev "$TUNPIPE_IFNAME"' >/tmp/f
	EOF
	)
	fifo_end A "$client" "$T/client.err"
	CLIENT=$FIFO_END
	wait_for 5 addr_dev A 10.0.0.2 || { cat "$T/client.err" >&2; return 1; }
}

# server_up LINE: `mkfifo /tmp/f`, then the server's LINE in B, its stderr
# in $T/server.err; sets SERVER.
server_up() {
	fifo_end B "$1" "$T/server.err"
	SERVER=$FIFO_END
	wait_for 5 listening B 33960 || { cat "$T/server.err" >&2; return 1; }
}

# fifo_end SIDE LINE ERR: `mkfifo /tmp/f`, then the README's LINE in SIDE
# (readme_bg), its stderr in ERR; sets FIFO_END to its PID.
fifo_end() {
	readme_run "$1" 'mkfifo /tmp/f'
	readme_bg "$1" "$2" 2>"$3" &
	FIFO_END=$!
	example_started $FIFO_END
}

# pings SIDE ADDRESS: the tunnel carries pings to ADDRESS (the first may
# wait for the device to come up).
pings() {
	wait_for 10 ns "$1" ping -c 1 -W 1 "$2"
	ns "$1" ping -c 3 -i 0.2 -W 2 "$2"
}

# tunnel_ended: stops the client as Ctrl-C would (ctrl_c); its status in
# CLIENT_STATUS; the server's pipeline sees the stream end and exits, its
# status in $status.
tunnel_ended() {
	ctrl_c "$CLIENT"
	wait_exit 5 "$CLIENT"
	CLIENT_STATUS=$status
	wait_exit 5 "$SERVER"
}

@test "the lines at the top: an nc tunnel, each end with a FIFO of its own, both started in one /tmp" {
	readme_netns
	SHARED_TMP=$T/tmp.A
	local server client
	server=$(cat <<-'EOF'
		d=$(mktemp -d); mkfifo "$d/f"; nc -l 33960 <"$d/f" | tunpipe -a 10.0.0.1/24 >"$d/f"
	EOF
	)
	client=$(cat <<-'EOF'
		d=$(mktemp -d); mkfifo "$d/f"; nc server 33960 <"$d/f" | tunpipe -a 10.0.0.2/24 >"$d/f"
	EOF
	)
	readme_bg B "$server" 2>"$T/server.err" &
	SERVER=$!
	example_started $SERVER
	wait_for 5 listening B 33960
	readme_bg A "$client" 2>"$T/client.err" &
	CLIENT=$!
	example_started $CLIENT
	pings A 10.0.0.1
	# Two FIFOs, one in each end's own directory of the one /tmp.
	[ "$(find "$SHARED_TMP" -type p | wc -l)" = 2 ]
	[ "$(find "$SHARED_TMP" -type p -exec dirname {} \; | sort -u | wc -l)" = 2 ]
	tunnel_ended
	[ "$status" = 0 ]
}

@test "Quick start: the server's -v names the device, the client's --up routes the server's network, ping answers, Ctrl-C ends both" {
	readme_netns
	local server
	server=$(cat <<-'EOF'
		nc -l 33960 </tmp/f | tunpipe -v -a 10.0.0.1/24 -a fd00::1/64 >/tmp/f
	EOF
	)
	# The network behind the server: an address of it, 192.168.7.1, on
	# the server's loopback.
	ns B ip addr add 192.168.7.1/24 dev lo
	server_up "$server"
	quick_start_client
	readme_bg A 'ping 10.0.0.1' >"$T/ping.out" 2>&1 &
	example_started $!
	wait_for 10 grep -q 'bytes from 10.0.0.1' "$T/ping.out"
	grep -qxF 'tunpipe: device tun0 (tun, offloads)' "$T/server.err"
	# Without -v the client says nothing.
	[ ! -s "$T/client.err" ]
	[ "$(addr_dev A 10.0.0.2)" = tun0 ]
	ns A ip route show 192.168.7.0/24 | grep -q 'dev tun0'
	pings A 192.168.7.1
	wait_for 5 ns A ping -6 -c 1 -W 1 fd00::1
	tunnel_ended
	[ "$status" = 0 ]
	[ "$CLIENT_STATUS" = 0 ]
	no_link A tun0
	no_link B tun0
}

@test "the line over ssh: tunpipe -e runs ssh, which runs tunpipe on the server" {
	readme_netns
	local line
	line=$(cat <<-'EOF'
		tunpipe -a 10.0.0.2/24 -e 'ssh root@server tunpipe -a 10.0.0.1/24'
	EOF
	)
	ssh_keys
	sshd_tunpipe B 10.77.1.2:22
	readme_home server
	readme_bg A "$line" </dev/null 2>"$T/client.err" &
	CLIENT=$!
	example_started $CLIENT
	pings A 10.0.0.1 || { cat "$T/client.err" "$T/ssh/sshd.B.log" >&2; return 1; }
	[ "$(ns_procs B tunpipe | wc -l)" = 1 ]
}

# ---- Pipeline experiments: the server's lines, Quick start's client ----

@test "pv -cN in the middle shows each direction's bytes on the terminal" {
	readme_netns
	local server
	server=$(cat <<-'EOF2'
		nc -l 33960 </tmp/f | pv -cN in | tunpipe -a 10.0.0.1/24 | pv -cN out >/tmp/f
	EOF2
	)
	readme_run B 'mkfifo /tmp/f'
	# The server on a terminal, whose screen script(1) records, and whose
	# keyboard is the FIFO keys.
	mkfifo "$T/keys"
	# shellcheck disable=SC2016
	ns_bg B env LINE="$server" TMPB="$T/tmp.B" BIN="$T/bin" SHELL=/bin/sh setsid script -qfe \
	    -c 'mount --bind "$BIN" /usr/local/bin && mount --bind "$TMPB" /tmp &&
	    cd /tmp && exec sh -c "$LINE"' \
	    "$T/screen" <"$T/keys" >/dev/null 2>&1 &
	SERVER=$!
	exec 8<>"$T/keys"
	example_started $SERVER
	# pv -c asks the terminal where its cursor is (ESC [ 6 n), and waits
	# for the answer, as a terminal gives it: row 1, column 1.
	wait_for 5 grep -q "$(printf '\033\\[6n')" "$T/screen"
	printf '\033[1;1R' >&8
	exec 8>&-
	wait_for 5 listening B 33960
	quick_start_client
	pings A 10.0.0.1
	tunnel_ended
	tr '\r' '\n' <"$T/screen" >"$T/screen.lines"
	grep -aqE 'in: +[1-9][0-9.]* ?[KMG]?i?B ' "$T/screen.lines"
	grep -aqE 'out: +[1-9][0-9.]* ?[KMG]?i?B ' "$T/screen.lines"
}

@test "tee records each direction of the stream; tunpipe -N turns a recording into a capture" {
	readme_netns
	local server replay
	server=$(cat <<-'EOF2'
		nc -l 33960 </tmp/f | tee in.bin | tunpipe -a 10.0.0.1/24 | tee out.bin >/tmp/f
	EOF2
	)
	replay=$(cat <<-'EOF2'
		tunpipe -N -w in.pcapng <in.bin
	EOF2
	)
	server_up "$server"
	quick_start_client
	pings A 10.0.0.1
	tunnel_ended
	run readme_run B "$replay"
	[ "$status" = 0 ]
	# What the server read: the client's echo requests, among them.
	capture_fields "$T/tmp.B/in.pcapng" ip.src ip.dst icmp.type >"$T/in.fields"
	[ "$(grep -c "^10.0.0.2	10.0.0.1	8$" "$T/in.fields")" -ge 3 ]
	# What it wrote: the replies.
	"$TUNPIPE" -N -w "$T/out.pcapng" <"$T/tmp.B/out.bin"
	capture_fields "$T/out.pcapng" ip.src ip.dst icmp.type >"$T/out.fields"
	[ "$(grep -c "^10.0.0.1	10.0.0.2	0$" "$T/out.fields")" -ge 3 ]
}

@test "-w to a FIFO: a reader there sees the packets as they cross" {
	readme_netns
	local server
	server=$(cat <<-'EOF2'
		nc -l 33960 </tmp/f | tunpipe -a 10.0.0.1/24 -w /tmp/cap >/tmp/f
	EOF2
	)
	readme_run B 'mkfifo /tmp/cap'
	# The README's other reader (beside Wireshark's line).
	readme_bg B 'tcpdump -n -r /tmp/cap' >"$T/cap.out" 2>"$T/cap.err" &
	example_started $!
	server_up "$server"
	quick_start_client
	pings A 10.0.0.1
	tunnel_ended
	wait_for 5 grep -q 'ICMP echo reply' "$T/cap.out"
	grep -q 'IP 10.0.0.2 > 10.0.0.1: ICMP echo request' "$T/cap.out"
	grep -q 'IP 10.0.0.1 > 10.0.0.2: ICMP echo reply' "$T/cap.out"
}

@test "tcpdump -i on the device shows what the kernel sends and receives there" {
	readme_netns
	server_up 'nc -l 33960 </tmp/f | tunpipe -v -a 10.0.0.1/24 -a fd00::1/64 >/tmp/f'
	quick_start_client
	pings A 10.0.0.1
	readme_bg B 'tcpdump -n -i tun0' >"$T/dump.out" 2>"$T/dump.err" &
	local dump=$!
	example_started $dump
	wait_for 5 grep -q 'listening on tun0' "$T/dump.err"
	pings A 10.0.0.1
	# tcpdump without --immediate-mode takes packets from the kernel in
	# blocks, at least each second: a Ctrl-C at once would find none.
	sleep 2
	kill -INT -- "-$dump"
	wait_for 5 example_ended "$dump"
	grep -q 'IP 10.0.0.2 > 10.0.0.1: ICMP echo request' "$T/dump.out"
	grep -q 'IP 10.0.0.1 > 10.0.0.2: ICMP echo reply' "$T/dump.out"
}

@test "netem on the device at each end delays both ways, or tc says the kernel lacks it" {
	readme_netns
	local netem
	netem=$(cat <<-'EOF2'
		tc qdisc add dev tun0 root netem delay 50ms loss 1%
	EOF2
	)
	server_up 'nc -l 33960 </tmp/f | tunpipe -v -a 10.0.0.1/24 -a fd00::1/64 >/tmp/f'
	quick_start_client
	pings A 10.0.0.1
	run readme_run A "$netem"
	if [ "$status" != 0 ]; then
		# As the README says of a kernel without sch_netem.
		echo "$output"
		[[ $output == *"Specified qdisc kind is unknown"* ]]
		return 0
	fi
	readme_run B "$netem"
	# 50 ms each way at least, however many pings the 1% loses.
	run ns A ping -c 10 -i 0.2 -W 2 10.0.0.1
	echo "$output"
	local min
	min=$(awk -F'[/ =]+' '/^rtt/ { print int($7) }' <<<"$output")
	[ "$min" -ge 100 ]
	readme_run A 'tc qdisc del dev tun0 root'
	readme_run B 'tc qdisc del dev tun0 root'
	if ns A tc qdisc show dev tun0 | grep -q netem; then
		fail "netem still on the device"
	fi
}

# ctrl_c PGID: SIGINT to each process of the group that readme_bg started
# but its leader, the sh that runs the line, which stands for the user's
# shell: Ctrl-C on a terminal reaches the job, not the shell.  The sh then
# exits with the line's status.
ctrl_c() {
	local pid
	for pid in $(ps -o pid= -g "$1"); do
		[ "$pid" = "$1" ] || kill -INT "$pid" 2>/dev/null || true
	done
}

# elapsed COMMAND...: runs COMMAND; ELAPSED is the time it took, in ms.
elapsed() {
	local start=${EPOCHREALTIME/./}
	"$@" || return
	ELAPSED=$(((${EPOCHREALTIME/./} - start) / 1000))
	echo "took $ELAPSED ms"
}

@test "pv -L in the server's stream limits what it sends; a transfer arrives intact" {
	readme_netns
	server_up 'nc -l 33960 </tmp/f | tunpipe -a 10.0.0.1/24 | pv -q -L 1m >/tmp/f'
	quick_start_client
	pings A 10.0.0.1
	# 4 MB from the server at 1 MiB/s: nearly 4 s.
	elapsed transfer A 10.0.0.2 4 B
	[ "$ELAPSED" -ge 3000 ]
}

@test "tbf on the server's device limits what it sends; tc qdisc del takes it away" {
	readme_netns
	local tbf
	tbf=$(cat <<-'EOF2'
		tc qdisc add dev tun0 root tbf rate 8mbit burst 32kbit latency 50ms
	EOF2
	)
	server_up 'nc -l 33960 </tmp/f | tunpipe -v -a 10.0.0.1/24 -a fd00::1/64 >/tmp/f'
	quick_start_client
	pings A 10.0.0.1
	readme_run B "$tbf"
	# 4 MB at 8 Mbit/s: 4 s.
	elapsed transfer A 10.0.0.2 4 B
	[ "$ELAPSED" -ge 3000 ]
	ns B tc -s qdisc show dev tun0 | tee "$T/qdisc"
	grep -q 'qdisc tbf' "$T/qdisc"
	readme_run B 'tc qdisc del dev tun0 root'
	if ns B tc qdisc show dev tun0 | grep -q tbf; then
		fail "tbf still on the device"
	fi
	transfer A 10.0.0.2 2 B
}

@test "SLIP over UDP: socat carries the stream in datagrams, the client finds the server by name" {
	readme_netns
	local server client
	server=$(cat <<-'EOF2'
		tunpipe -f slip -a 10.0.0.1/24 -e 'socat -b 1472 STDIO UDP-LISTEN:33960,rcvbuf=4194304'
	EOF2
	)
	client=$(cat <<-'EOF2'
		tunpipe -f slip -a 10.0.0.2/24 -e 'socat -b 1472 STDIO UDP:server:33960,rcvbuf=4194304'
	EOF2
	)
	readme_bg B "$server" </dev/null 2>"$T/server.err" &
	SERVER=$!
	example_started $SERVER
	wait_for 5 eval "ns B ss -Hlun 'sport = :33960' | grep -q 33960"
	readme_bg A "$client" </dev/null 2>"$T/client.err" &
	CLIENT=$!
	example_started $CLIENT
	pings A 10.0.0.1
	ns A ss -Hun | grep -q '10.77.1.2:33960'
	transfer B 10.0.0.1 4
}

# ---- make's targets ----

@test "make install and make uninstall, as given, into /usr/local (the test's own)" {
	need_root
	# /usr/local, and /tmp, of a mount namespace of the test's own.
	mkdir "$T/local" "$T/tmp"
	cat >"$T/install.sh" <<-'EOF2'
		make install
		cp -a /usr/local/. "$1/installed"
		make uninstall
		cp -a /usr/local/. "$1/uninstalled"
		mount --bind "$1/tmp" /tmp
		make install PREFIX=/usr DESTDIR=/tmp/pkg
	EOF2
	# shellcheck disable=SC2016
	unshare -m sh -e -c 'cd "$2" && mount --bind "$1/local" /usr/local && . "$1/install.sh"' \
	    sh "$T" "$ROOT"
	cmp "$ROOT/tunpipe" "$T/installed/bin/tunpipe"
	[ -x "$T/installed/bin/tunpipe" ]
	cmp "$ROOT/tunpipe.1" "$T/installed/share/man/man1/tunpipe.1"
	[ ! -e "$T/uninstalled/bin/tunpipe" ]
	[ ! -e "$T/uninstalled/share/man/man1/tunpipe.1" ]
	cmp "$ROOT/tunpipe" "$T/tmp/pkg/usr/bin/tunpipe"
	cmp "$ROOT/tunpipe.1" "$T/tmp/pkg/usr/share/man/man1/tunpipe.1"
}

# make_dry LINE PATTERN...: `make -n` of the README's `make ...` LINE, run
# in the source tree, prints a recipe holding each PATTERN (grep -E): the
# target exists and runs what the README says.  The long targets (the
# whole suite, valgrind, the fuzzers, QEMU) are checked so, not run.
make_dry() {
	local line=$1 pattern
	shift
	# shellcheck disable=SC2086
	# -B: the recipe even when the target is up to date.
	run make -C "$ROOT" -n -B ${line#make }
	echo "$output"
	[ "$status" = 0 ]
	for pattern; do
		grep -qE -- "$pattern" <<<"$output" || fail "make -n ${line#make }: no $pattern"
	done
}

@test "make demo, static, check, memcheck, fuzz, check-cross and check-kernels are targets that run what the README says" {
	make_dry 'make demo' '^examples/demo\.sh$'
	make_dry 'make static' ' -static '
	make_dry 'make check' '^test/need-tools$' '^bats +([^ ]+ +)*test$'
	make_dry 'make memcheck' 'valgrind' 'TUNPIPE=.*/test/valgrind-tunpipe' 'test/tunnel\.bats'
	# shellcheck disable=SC2016 # make prints $f as it is
	make_dry 'make fuzz' 'clang libfuzzer' 'test/fuzz-\$f -max_total_time=60 '
	make_dry 'make check-cross' 'test/need-tools .*qemu' 'cross'
	make_dry 'make check-kernels' 'test/foreign/fetch-kernel' 'test/foreign/kernels\.bats'
}

@test "make check SANITIZE=1 builds with ASan and UBSan, then runs the suite" {
	make_dry 'make check SANITIZE=1' '-fsanitize=address,undefined' '^bats +([^ ]+ +)*test$'
}

# ---- Interoperability: the listeners that QEMU and passt join ----

# tap_pings SIDE DEV ADDR OTHER ODEV OADDR: addresses ADDR/24 on DEV in
# namespace SIDE, OADDR/24 on ODEV in OTHER, both up; OTHER pings ADDR
# across the TAP link (ARP first).
tap_pings() {
	ns "$1" ip addr add "$3/24" dev "$2"
	ns "$1" ip link set "$2" up
	ns "$4" ip addr add "$6/24" dev "$5"
	ns "$4" ip link set "$5" up
	pings "$4" "$3"
}

@test "QEMU's sockets: socat's UNIX and TCP listeners join a len32 peer to a TAP device" {
	readme_netns
	local unix tcp
	unix=$(cat <<-'EOF2'
		socat -b 131072 UNIX-LISTEN:/tmp/vm.sock EXEC:'tunpipe -T -f len32 -i vm0'
	EOF2
	)
	tcp=$(cat <<-'EOF2'
		socat -b 131072 TCP-LISTEN:5555,bind=127.0.0.1 EXEC:'tunpipe -T -f len32 -i vm1'
	EOF2
	)
	# QEMU's part: a len32 TAP peer in namespace B, connected from there
	# to the Unix socket, and from A to 127.0.0.1:5555.
	readme_bg A "$unix" 2>"$T/unix.err" &
	example_started $!
	wait_for 5 test -S "$T/tmp.A/vm.sock"
	ns_bg B setsid socat UNIX-CONNECT:"$T/tmp.A/vm.sock" \
	    EXEC:"$TUNPIPE -T -f len32 -i qemu0" 2>"$T/qemu0.err" &
	example_started $!
	wait_for 5 has_link A vm0
	wait_for 5 has_link B qemu0
	tap_pings A vm0 10.77.2.1 B qemu0 10.77.2.2
	readme_bg A "$tcp" 2>"$T/tcp.err" &
	example_started $!
	wait_for 5 listening A 5555
	ns_bg A setsid socat TCP:127.0.0.1:5555 \
	    EXEC:"ip netns exec $NS_B $TUNPIPE -T -f len32 -i qemu1" 2>"$T/qemu1.err" &
	example_started $!
	wait_for 5 has_link A vm1
	wait_for 5 has_link B qemu1
	tap_pings A vm1 10.77.3.1 B qemu1 10.77.3.2
}

@test "passt: socat hands passt's socket to a TAP tunpipe, and udhcpc takes passt's lease" {
	readme_netns
	readme_netns_c
	local join
	join=$(cat <<-'EOF2'
		socat UNIX-CONNECT:/tmp/passt/passt.sock EXEC:'tunpipe -T -f len32 -i tp0',nofork
	EOF2
	)
	# passt in B, whose world is A (10.77.1.1, and 10.77.4.1 beyond it);
	# tunpipe in C, where B's /tmp is /tmp too.  passt answers pings with
	# ICMP echo sockets as nobody, whose group ping_group_range must hold.
	SHARED_TMP=$T/tmp.B
	ns B ip route add default via 10.77.1.1
	ns A ip addr add 10.77.4.1/32 dev lo
	ns B sysctl -q -w net.ipv4.ping_group_range="0 2147483647"
	readme_run B 'mkdir /tmp/passt && chown nobody /tmp/passt'
	readme_bg B 'passt -f -s /tmp/passt/passt.sock' </dev/null >/dev/null 2>"$T/passt.err" &
	example_started $!
	wait_for 5 test -S "$T/tmp.B/passt/passt.sock" || { cat "$T/passt.err" >&2; return 1; }
	readme_bg C "$join" 2>"$T/tunpipe.err" &
	example_started $!
	wait_for 5 has_link C tp0
	readme_bg C 'udhcpc -i tp0 -q' </dev/null >"$T/udhcpc.out" 2>&1 &
	local udhcpc=$!
	example_started $udhcpc
	wait_exit 30 $udhcpc || { cat "$T/udhcpc.out" "$T/passt.err" >&2; return 1; }
	[ "$status" = 0 ]
	# The lease: B's own address and gateway, passt's MTU of 65520.
	[ "$(addr_dev C 10.77.1.2)" = tp0 ]
	[ "$(link_field C tp0 mtu)" = 65520 ]
	ns C ip route show default | grep -q 'via 10.77.1.1 dev tp0'
	pings C 10.77.4.1
	transfer A 10.77.4.1 4 C
}

# ---- Many sites: the README's mesh, sites a, b and c ----

# mesh_routed SIDE ADDRESS DEVICE: the route to ADDRESS there leaves
# through DEVICE.
mesh_routed() {
	ns "$1" ip route get "$2" | grep -q " dev $3 "
}

mesh_full() {
	mesh_routed A 10.77.0.2 mesh-ab && mesh_routed A 10.77.0.3 mesh-ac &&
	    mesh_routed B 10.77.0.1 mesh-ab && mesh_routed B 10.77.0.3 mesh-bc &&
	    mesh_routed C 10.77.0.1 mesh-ac && mesh_routed C 10.77.0.2 mesh-bc &&
	    mesh_routed A fd77::2 mesh-ab && mesh_routed A fd77::3 mesh-ac &&
	    mesh_routed B fd77::3 mesh-bc && mesh_routed C fd77::1 mesh-ac
}

@test "Many sites: the three sites' commands as given route every site over its own link; birdc shows the neighbours" {
	command -v bird >/dev/null && command -v birdc >/dev/null ||
	    skip_or_fail "no bird and birdc: run test/need-tools (Debian: bird2)"
	readme_netns
	readme_netns_c
	# Sites a, b and c are A, B and C, in a triangle: a-b 10.77.1.0/24,
	# a-c 10.77.6.0/24, b-c 10.77.7.0/24; a finds b and c by name, b c.
	veth_pair A trac 10.77.6.1/24 C trca 10.77.6.3/24
	veth_pair B trbc 10.77.7.2/24 C trcb 10.77.7.3/24
	printf '127.0.0.1 localhost\n10.77.1.2 b\n10.77.6.3 c\n' >"/etc/netns/$NS_A/hosts"
	printf '127.0.0.1 localhost\n10.77.7.3 c\n' >"/etc/netns/$NS_B/hosts"
	ssh_keys
	sshd_tunpipe B 10.77.1.2:22
	sshd_tunpipe C 10.77.6.3:22 10.77.7.3:22
	readme_home b c
	# Each site's /run/mesh is its own.
	README_RUN=1
	# The README's lines, and the site each runs on.
	local lines sides=(A B C A A B) i side
	mapfile -t lines <<-'EOF2'
		mesh.sh router /run/mesh 10.77.0.1 fd77::1
		mesh.sh router /run/mesh 10.77.0.2 fd77::2
		mesh.sh router /run/mesh 10.77.0.3 fd77::3
		mesh.sh link mesh-ab root@b 10.77.0.129/30 10.77.0.130/30
		mesh.sh link mesh-ac root@c 10.77.0.137/30 10.77.0.138/30
		mesh.sh link mesh-bc root@c 10.77.0.133/30 10.77.0.134/30
	EOF2
	for i in "${!lines[@]}"; do
		readme_bg "${sides[i]}" "${lines[i]}" </dev/null >/dev/null 2>"$T/site.$i.log" &
		example_started $!
	done
	wait_for 40 mesh_full || {
		tail -n 20 "$T"/site.*.log "$T"/ssh/sshd.*.log >&2
		return 1
	}
	local birdc
	birdc=$(cat <<-'EOF2'
		birdc -s /run/mesh/bird.ctl show ospf neighbors
	EOF2
	)
	for side in A B C; do
		readme_run "$side" "$birdc" >"$T/neighbors.$side"
		cat "$T/neighbors.$side"
		# Two neighbours in each of OSPFv2 and OSPFv3, both Full.
		[ "$(grep -c 'Full' "$T/neighbors.$side")" = 4 ]
	done
	grep -q '^10\.77\.0\.2 .*mesh-ab' "$T/neighbors.A"
	grep -q '^10\.77\.0\.3 .*mesh-ac' "$T/neighbors.A"
	ns A ping -c 2 -i 0.2 -W 2 -I 10.77.0.1 10.77.0.3
	ns B ping -6 -c 2 -i 0.2 -W 2 -I fd77::2 fd77::3
}

# ---- Far networks: the README's far-net.sh lines ----

# farnet_setup: near (A), far (B, the name `gateway` at near, with an sshd
# on ports 22 and 2222 and the far account `user`, no privilege), and the
# far LAN, 192.168.1.0/24 (C, 192.168.1.1, the name `intranet` in far's
# resolver, with a web page), which near cannot reach by itself.  `user`
# exists only in sshd's /etc/passwd (FARDIR's); near's root has the
# test's key in ~/.ssh/lab.
farnet_setup() {
	local tool
	for tool in passt udhcpc dnsmasq socat curl; do
		command -v $tool >/dev/null ||
		    skip_or_fail "no $tool (test/need-tools names its package)"
	done
	readme_netns
	readme_netns_c
	printf '127.0.0.1 localhost\n10.77.1.2 gateway\n' >"/etc/netns/$NS_A/hosts"
	veth_pair B trbl 192.168.1.2/24 C trlb 192.168.1.1/24
	ns B ip route add default via 192.168.1.1
	ns B sysctl -q -w net.ipv4.ping_group_range="0 2147483647"
	ns B sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
	echo 'nameserver 192.168.1.1' >"/etc/netns/$NS_B/resolv.conf"
	if ns A ping -c 1 -W 1 192.168.1.1 >/dev/null 2>&1; then
		fail "near reaches the far LAN without far-net.sh"
	fi
	ns_bg C dnsmasq -k -C /dev/null --no-resolv --no-hosts \
	    --listen-address=192.168.1.1 --bind-interfaces --pid-file= \
	    --host-record=intranet,192.168.1.1 2>"$T/dnsmasq.err" &
	remember $!
	printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nthe intranet\n' >"$T/page"
	# As an HTTP server does, the page comes after the request's first
	# line, not before it.
	ns_bg C socat TCP-LISTEN:80,bind=192.168.1.1,reuseaddr,fork \
	    SYSTEM:"read -r request; cat $T/page" &
	remember $!
	wait_for 5 listening C 80
	# `user`, and `anyone` at near: uids that no account of the machine has.
	FARUID=$((61000 + $$ % 2000))
	while getent passwd $FARUID >/dev/null || getent passwd $((FARUID + 1)) >/dev/null; do
		FARUID=$((FARUID + 2))
		[ $FARUID -lt 65000 ] || fail "no free uid"
	done
	FARDIR=$(mktemp -d /tmp/tprc-farnet.XXXXXX)
	chmod 755 "$FARDIR"
	{ cat /etc/passwd; echo "user:x:$FARUID:$FARUID::/:/bin/sh"
	  echo "anyone:x:$((FARUID + 1)):$((FARUID + 1))::/root:/bin/sh"; } >"$FARDIR/passwd"
	{ cat /etc/group; echo "user:x:$FARUID:"; echo "anyone:x:$((FARUID + 1)):"; } >"$FARDIR/group"
	mknod "$FARDIR/tun" c 10 200
	chmod 666 "$FARDIR/tun"
	ssh_keys
	echo 'user:*:::::::' >>"$T/ssh/shadow"
	cp "$T/ssh/client_key.pub" "$FARDIR/authorized_keys"
	chmod 644 "$FARDIR/authorized_keys"
	sed -i -e 's/^AllowUsers .*/AllowUsers root user/' \
	    -e "s|^AuthorizedKeysFile .*|AuthorizedKeysFile $FARDIR/authorized_keys|" \
	    "$T/ssh/sshd_config"
	sshd_tunpipe B 10.77.1.2:22 10.77.1.2:2222
	readme_home gateway '[gateway]:2222'
	cp "$T/ssh/client_key" "$T/home/.ssh/lab"
}

farnet_teardown() {
	[ -n "${FARUID:-}" ] || return 0
	ps -o pid= -u "$FARUID" -u $((FARUID + 1)) | xargs -r kill -9 2>/dev/null || true
	find /tmp -maxdepth 1 \( -uid "$FARUID" -o -uid $((FARUID + 1)) \) \
	    -exec rm -rf {} + 2>/dev/null || true
	rm -rf "$FARDIR"
}

# near_unchanged: near has its two links (lo and the veth) and one route
# (the veth's), as before far-net.sh ran.
near_unchanged() {
	[ "$(ns A ip -o link show | wc -l)" = 2 ]
	[ "$(ns A ip route show | wc -l)" = 1 ]
}

@test "far-net.sh as root: the far LAN through the far host, -i ~/.ssh/lab; Ctrl-C ends it with status 0" {
	farnet_setup
	local line
	line=$(cat <<-'EOF2'
		far-net.sh -r 192.168.1.0/24 -i ~/.ssh/lab user@gateway
	EOF2
	)
	# Only ~/.ssh/lab lets near's root in.
	rm "$T/home/.ssh/id_ed25519"
	readme_bg A "$line" </dev/null >"$T/far-net.out" 2>"$T/far-net.err" &
	local farnet=$!
	example_started $farnet
	wait_for 30 grep -q "'s network" "$T/far-net.err" || {
		cat "$T/far-net.err" "$T/ssh/sshd.B.log" >&2
		return 1
	}
	pings A 192.168.1.1
	transfer C 192.168.1.1 4 A
	# passt and tunpipe at the far end run as `user`.
	pgrep -u "$FARUID" '^passt' >/dev/null
	ctrl_c $farnet
	wait_exit 10 $farnet
	cat "$T/far-net.err"
	[ "$status" = 0 ]
	near_unchanged
}

@test "far-net.sh as root, -r default, for one command: curl reaches the far LAN's intranet by its name" {
	farnet_setup
	local line
	line=$(cat <<-'EOF2'
		far-net.sh -r default user@gateway -- curl http://intranet/
	EOF2
	)
	readme_bg A "$line" </dev/null >"$T/far-net.out" 2>"$T/far-net.err" &
	local farnet=$!
	example_started $farnet
	wait_exit 60 $farnet || { cat "$T/far-net.err" >&2; return 1; }
	cat "$T/far-net.err"
	[ "$status" = 0 ]
	[ "$(cat "$T/far-net.out")" = "the intranet" ]
	near_unchanged
}

@test "far-net.sh as anyone: a shell whose whole network is the far host's, over ssh on port 2222" {
	farnet_setup
	local line
	line=$(cat <<-'EOF2'
		far-net.sh -p 2222 user@gateway
	EOF2
	)
	# `anyone`'s home is /root in its mount namespace: the test's, its own.
	chown -R $((FARUID + 1)) "$T/home"
	README_USER=$((FARUID + 1))
	printf '%s\n' 'id -u' 'ping -c 1 -W 5 192.168.1.1 >/dev/null && echo reached the far LAN' \
	    'ip -o link show | wc -l' >"$T/commands.sh"
	chmod 644 "$T/commands.sh"
	SHELL=/bin/sh readme_bg A "$line" <"$T/commands.sh" >"$T/far-net.out" 2>"$T/far-net.err" &
	local farnet=$!
	example_started $farnet
	wait_exit 60 $farnet || { cat "$T/far-net.err" >&2; return 1; }
	cat "$T/far-net.err" "$T/far-net.out"
	[ "$status" = 0 ]
	# Root in its namespace, which is `anyone`; the LAN reached; a
	# namespace whose links are lo and the device.
	[ "$(sed -n 1p "$T/far-net.out")" = 0 ]
	[ "$(sed -n 2p "$T/far-net.out")" = "reached the far LAN" ]
	[ "$(sed -n 3p "$T/far-net.out")" = 2 ]
	near_unchanged
}
