#!/bin/bash
# bench.sh: how fast tunpipe carries packets, next to the limit, to the
# incumbent and to the tunnels people pick instead.  Each run sets up, path
# after path, two fresh network namespaces joined by one of:
#
#   veth        a veth pair: the kernel alone, the limit every ratio
#               refers to
#   fifo        two tunpipes joined by two FIFOs (the default: the device's
#               offloads on, GSO packets cut and merged inside tunpipe)
#   fifo-tap    the same in TAP mode (-T): Ethernet frames between two TAP
#               devices, tap0, which carry the addresses; ARP included
#   plain       the same with -G: one ordinary packet a device read
#   capture     the fifo path, each end writing a capture with -w to
#               /dev/null: what -w itself costs (with a reader that keeps
#               up)
#   offload     two tunpipes with -O (GSO super-packets) joined by two FIFOs
#   tcp         two tunpipes whose stream is a TCP connection over a veth
#               pair between the namespaces: socat via -e, reading and
#               writing 128 KiB at a time (-b 131072)
#   ssh         two tunpipes whose stream is an ssh connection: a real sshd
#               in a, reached over a veth pair by ssh from b, which runs
#               the tunpipe in a as its remote command
#   ssh-offload the same with -O at both ends
#   ssh-passt   a's network reached with no privilege in a: tunpipe -T in
#               b (tap0, MTU 65520) over the same sshd, logged in as an
#               unprivileged account that exists for the run alone,
#               whose remote command starts passt and becomes
#               tunpipe -c on passt's socket; to a listener on a's
#               loopback, reached through passt's gateway address
#   sshw        OpenSSH's own tun forwarding (ssh -w) over the same sshd
#               (point-to-point addresses, the devices' MTU of 1500)
#   sshw-mtu    the same with an MTU of 16380 at both ends
#   sshuttle    sshuttle over the same sshd (--method nft, the subnet
#               10.77.0.0/24), to a listener on an address of a's
#               loopback; TCP only: its UDP and ping rows say so
#   openvpn     OpenVPN over TCP without crypto (--cipher none --auth
#               none), in user space (--disable-dco), point to point
#   socat       socat's own TUN address at both ends, joined by two FIFOs
#   socat-udp   (only when named in BENCH_PATHS) socat's TUN address at both
#               ends, joined by UDP over a veth link: as socat's manual has it
#   tcp-8k      (only when named in BENCH_PATHS) the tcp path with socat's
#               default 8 KiB block
#
# The ssh paths use one sshd_config and one cipher, aes128-gcm@openssh.com,
# without compression; the keys are made for the run.  Each path measures,
# from namespace a to namespace b (ssh -w from b to a, its faster way):
# TCP throughput with 1 and 4 streams, UDP packets delivered per second
# at 3 payload sizes, ping RTT idle and under a saturating TCP flow, the
# tunnel's CPU seconds per GB, its peak RSS, and its syscalls per packet
# (under strace, in a test of its own).  The whole set is run BENCH_RUNS
# times, path after path in each round, every path set up afresh each
# time, and the table gives the median of the runs, each figure with its
# ratio to the veth path's median: figures drift between runs on one
# machine, so only ratios within one run are to be compared.
# Under the table, head-to-head ratios of the paths users choose between.
#
# Nothing is added to the machine's own namespace; every process started
# (sshd and openvpn among them, kept in the foreground) and both namespaces
# are removed at exit, also on failure or Ctrl-C.
#
# usage: bench/bench.sh       (as root; `make bench` builds and installs
#                              iperf3, socat, strace, OpenSSH, OpenVPN,
#                              sshuttle and passt first)
# environment:
#   BENCH_RUNS         runs of every path, whose median is reported
#                      (default 3)
#   BENCH_SECONDS      length of each TCP test (default 8)
#   BENCH_UDP_SECONDS  length of each UDP test (default half of that)
#   BENCH_STRACE_MB    megabytes sent while strace counts (default 10 per
#                      BENCH_SECONDS)
#   BENCH_PATHS        which paths, in order (default: all but socat-udp
#                      and tcp-8k)
#   BENCH_TUNPIPE      the tunpipe to measure (default: the one built here)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
tunpipe=${BENCH_TUNPIPE:-$here/tunpipe}
tunpipe_source=$tunpipe		# what the header names; a copy runs

die() { echo "bench.sh: $*" >&2; exit 1; }
note() { echo "bench.sh: $*" >&2; }

# whole NAME VALUE: VALUE, a whole number above 0, or the end.
whole() {
	case $2 in ''|*[!0-9]*|0) die "$1 takes a whole number above 0, not '$2'";; esac
	echo "$2"
}
runs=$(whole BENCH_RUNS "${BENCH_RUNS:-3}")
tcp_seconds=$(whole BENCH_SECONDS "${BENCH_SECONDS:-8}")
udp_seconds=$(whole BENCH_UDP_SECONDS "${BENCH_UDP_SECONDS:-$(( (tcp_seconds + 1) / 2 ))}")
strace_mb=$(whole BENCH_STRACE_MB "${BENCH_STRACE_MB:-$(( tcp_seconds * 10 ))}")
all_paths="veth fifo fifo-tap plain capture offload tcp ssh ssh-offload ssh-passt sshw sshw-mtu sshuttle openvpn socat socat-udp tcp-8k"
paths=${BENCH_PATHS:-veth fifo fifo-tap plain capture offload tcp ssh ssh-offload ssh-passt sshw sshw-mtu sshuttle openvpn socat}
for p in $paths; do
	[[ " $all_paths " == *" $p "* ]] || die "BENCH_PATHS: no path '$p' ($all_paths)"
done

ns_a=tunpipe-bench-$$-a
ns_b=tunpipe-bench-$$-b
dir=
tracer=			# a running strace, if any: it lives outside the namespaces

# need TOOL...: each is installed, or the end.
need() {
	local tool
	for tool; do
		command -v "$tool" >/dev/null ||
		    die "no $tool: run 'make bench', which installs it"
	done
}

[ "$(id -u)" = 0 ] || die "network namespaces need root: run 'sudo make bench'"
[ -x "$tunpipe" ] || die "$tunpipe is not built: run 'make bench'"
need ip ss iperf3 ping socat strace timeout awk
[[ " $paths " != *" ssh"* ]] || need ssh sshd ssh-keygen mount
[[ " $paths " != *" openvpn "* ]] || need openvpn
[[ " $paths " != *" sshuttle "* ]] || need sshuttle nft
[[ " $paths " != *" ssh-passt "* ]] || need passt

# Commands prefixed with these run in a or b.  Arrays, not functions: a
# background "${in_a[@]}" cmd & is cmd's own pid once ip(8) has exec'd it,
# which a function run in the background would not be.
in_a=(ip netns exec "$ns_a")
in_b=(ip netns exec "$ns_b")

# --- processes and namespaces -------------------------------------------

# alive PID...: whether any of them still runs; a zombie does not.
alive() {
	local p state
	for p; do
		state=$(sed 's/.*) //; s/ .*//' "/proc/$p/stat" 2>/dev/null) || continue
		[ -z "$state" ] || [ "$state" = Z ] || return 0
	done
	return 1
}

# Stops these processes: TERM, up to 3 s to go, then KILL.
stop_pids() {
	local i
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null || true
	for i in $(seq 30); do
		alive "$@" || break
		sleep 0.1
	done
	kill -KILL "$@" 2>/dev/null || true
	# Reaps those that are our children, quietly (no "Terminated" lines).
	for i; do wait "$i" 2>/dev/null || true; done
}

# Every process inside our namespaces is one this script started (the
# tunnels, iperf3, socat, their timeouts), so they go by namespace.
namespace_pids() {
	local ns
	for ns in "$ns_a" "$ns_b"; do
		ip netns pids "$ns" 2>/dev/null || true
	done
}

# ns_pids NS NAME...: the processes in NS called one of NAMEs (as in
# /proc/PID/comm), one a line.
ns_pids() {
	local ns=$1 p name
	shift
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		name=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		[[ " $* " != *" $name "* ]] || echo "$p"
	done
}

teardown() {
	[ -z "$tracer" ] || stop_pids "$tracer"
	tracer=
	# Our background jobs too, so that those already dead are reaped.
	# shellcheck disable=SC2046
	stop_pids $(namespace_pids) $(jobs -p)
	ip netns del "$ns_a" 2>/dev/null || true
	ip netns del "$ns_b" 2>/dev/null || true
}

cleanup() {
	teardown
	[ -z "$dir" ] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dir=$(mktemp -d)

# A sanitizer build (make SANITIZE=1) measures the sanitizer, not tunpipe.
grep -qa '__asan_init\|__ubsan_handle' "$tunpipe" &&
    die "$tunpipe is built with sanitizers: run 'make bench', without SANITIZE=1"
# The run uses its own copy: a make elsewhere in the tree mid-run must not
# swap the program between paths.
cp "$tunpipe" "$dir/tunpipe"
tunpipe=$dir/tunpipe
has_offload=no
"$tunpipe" -h 2>&1 | grep -q -- --offload && has_offload=yes

new_namespaces() {
	teardown
	tcp_only=no peer_seen='' dev_ns=$ns_a
	in_client=("${in_a[@]}") in_server=("${in_b[@]}") server_ns=$ns_b
	client_opts=() server_opts=()
	: >"$dir/a.log"
	: >"$dir/b.log"
	ip netns add "$ns_a"
	ip netns add "$ns_b"
	ip -n "$ns_a" link set lo up
	ip -n "$ns_b" link set lo up
}

# sends_from_b [OPTION...]: iperf3's client and ping run in b, toward
# target, an address in a, with OPTIONs, and iperf3's server in a, bound
# to target.  For sshuttle, whose connections start in b (-R: a sends,
# as on the other paths); for ssh -w, which carries more from ssh's end
# than from sshd's (1.6 to 1.9 times as much here, where tunpipe over
# ssh carries the same both ways), so that it is measured the faster way.
sends_from_b() {
	in_client=("${in_b[@]}") in_server=("${in_a[@]}") server_ns=$ns_a
	client_opts=("$@") server_opts=(-B "$target")
}

# veth_link ADDR_A ADDR_B: a veth pair between the namespaces, /24.
veth_link() {
	ip link add veth-a netns "$ns_a" type veth peer name veth-b netns "$ns_b"
	ip -n "$ns_a" addr add "$1/24" dev veth-a
	ip -n "$ns_b" addr add "$2/24" dev veth-b
	ip -n "$ns_a" link set veth-a up
	ip -n "$ns_b" link set veth-b up
}

# wait_listen NS PORT: until a TCP socket listens on PORT in NS (5 s).
wait_listen() {
	local i
	for i in $(seq 50); do
		ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# wait_ping ADDR: until ADDR answers from namespace a (b for a path that
# sends_from_b; about 10 s): the tunnels are up only once both ends have
# their device and stream.
wait_ping() {
	local i
	for i in $(seq 20); do
		"${in_client[@]}" timeout 2 ping -c 1 -W 0.5 "$1" >/dev/null 2>&1 && return 0
		sleep 0.3
	done
	return 1
}

# --- the paths ---------------------------------------------------------
# Each setup_PATH makes fresh namespaces and the link, and sets:
#   target  the address in b that a sends to (for ssh -w and sshuttle,
#           the address in a that b sends to or connects to:
#           sends_from_b)
#   procs   the tunnel programs, a's first ("" for veth): the two
#           tunpipes, socats or openvpns; for ssh -w, sshd's session
#           process and ssh; for sshuttle, its server and client
#   dev     the device in a whose counters count the packets a's side
#           carries ("" for veth and sshuttle); in b for ssh-passt,
#           whose a has no device: dev_ns, the namespace of dev
#   tcp_only  yes for sshuttle: it carries TCP alone, and its
#           connections start in b (new_namespaces sets it to no)
#   peer_seen  the address that iperf3's server in a must see its TCP
#           connections come from, where only the tunnel's own sockets
#           make them: sshuttle's and passt's ("" for the rest)
# Once the path carries, bring_up finds the rest of what makes the
# tunnel (below).

setup_veth() {
	new_namespaces
	veth_link 10.77.9.1 10.77.9.2
	target=10.77.9.2 procs='' dev=''
}

# fifo_pair: the commands in the arrays cmd_a and cmd_b, in a and b,
# joined by two FIFOs.
fifo_pair() {
	rm -f "$dir/ab" "$dir/ba"
	mkfifo "$dir/ab" "$dir/ba"
	# The opening order matters: each FIFO open waits for the other end.
	"${in_a[@]}" "${cmd_a[@]}" <"$dir/ba" >"$dir/ab" 2>"$dir/a.log" &
	procs=$!
	"${in_b[@]}" "${cmd_b[@]}" >"$dir/ba" <"$dir/ab" 2>"$dir/b.log" &
	procs="$procs $!"
}

# fifo_tunpipes OPTIONS...: two tunpipes with OPTIONS joined by two FIFOs,
# each with its device, tun0 (tap0 with -T), and its address.
fifo_tunpipes() {
	local name=tun0
	[[ " $* " != *" -T "* ]] || name=tap0
	new_namespaces
	cmd_a=("$tunpipe" "$@" -i "$name" -a 10.77.0.1/24)
	cmd_b=("$tunpipe" "$@" -i "$name" -a 10.77.0.2/24)
	fifo_pair
	target=10.77.0.2 dev=$name
}

setup_fifo() { fifo_tunpipes; }
setup_fifo_tap() { fifo_tunpipes -T; }
setup_plain() { fifo_tunpipes -G; }
setup_capture() { fifo_tunpipes -w /dev/null; }
setup_offload() { fifo_tunpipes -O; }

# socat's TUN address: tun-name names the device, iff-no-pi drops the
# 4-byte packet information header that tunpipe does not send either.
setup_socat() {
	new_namespaces
	cmd_a=(socat 'TUN:10.77.0.1/24,tun-name=tun0,iff-up,iff-no-pi' STDIO)
	cmd_b=(socat 'TUN:10.77.0.2/24,tun-name=tun0,iff-up,iff-no-pi' STDIO)
	fifo_pair
	target=10.77.0.2 dev=tun0
}

# Not in the default paths: socat TUN the way socat's manual uses it, over
# UDP, whose datagrams keep each packet whole, on a veth link whose MTU
# leaves room for the 28 bytes of outer headers (no fragments).
setup_socat_udp() {
	new_namespaces
	veth_link 10.78.0.1 10.78.0.2
	ip -n "$ns_a" link set veth-a mtu 1600
	ip -n "$ns_b" link set veth-b mtu 1600
	# UDP-DATAGRAM, not UDP: a connected UDP socket dies of the ICMP
	# "port unreachable" the first packet draws before the peer binds.
	cmd_a=(socat 'TUN:10.77.0.1/24,tun-name=tun0,iff-up,iff-no-pi'
	    'UDP-DATAGRAM:10.78.0.2:7000,bind=10.78.0.1:7000')
	cmd_b=(socat 'TUN:10.77.0.2/24,tun-name=tun0,iff-up,iff-no-pi'
	    'UDP-DATAGRAM:10.78.0.1:7000,bind=10.78.0.2:7000')
	"${in_a[@]}" "${cmd_a[@]}" </dev/null >/dev/null 2>"$dir/a.log" &
	procs=$!
	"${in_b[@]}" "${cmd_b[@]}" </dev/null >/dev/null 2>"$dir/b.log" &
	procs="$procs $!"
	target=10.77.0.2 dev=tun0
}

# tcp_transport BLOCK: two tunpipes whose -e runs socat over TCP, reading
# and writing BLOCK bytes at a time.
tcp_transport() {
	new_namespaces
	veth_link 10.78.0.1 10.78.0.2
	"${in_a[@]}" "$tunpipe" -i tun0 -a 10.77.0.1/24 \
	    -e "socat -b $1 STDIO TCP-LISTEN:7000,bind=10.78.0.1,reuseaddr" \
	    </dev/null >/dev/null 2>"$dir/a.log" &
	procs=$!
	# b connects once, so it starts only when a listens.
	wait_listen "$ns_a" 7000 || return 1
	"${in_b[@]}" "$tunpipe" -i tun0 -a 10.77.0.2/24 \
	    -e "socat -b $1 STDIO TCP:10.78.0.1:7000" \
	    </dev/null >/dev/null 2>"$dir/b.log" &
	procs="$procs $!"
	target=10.77.0.2 dev=tun0
}

# socat moves at most 8 KiB a read and a write unless told (-b): 128 KiB,
# what tunpipe reads of its stream at once, cuts socat's system calls
# per byte by up to 16.
setup_tcp() { tcp_transport 131072; }
setup_tcp_8k() { tcp_transport 8192; }

# ssh_keys: the host key, the client key and the files around them, made
# once for the run in $dir/ssh, and the ssh options that use them and
# nothing of the user's: no ssh configuration, key, agent or known_hosts,
# no prompt.  Every ssh path names the same cipher, no compression.
ssh_keys() {
	local d=$dir/ssh
	[ ! -d "$d" ] || return 0
	"$here/test/sshd-keys" "$d" tunpipe-bench
	printf '%s\n' "PidFile none" "Ciphers $ssh_cipher" "Compression no" \
	    "PermitTunnel yes" >>"$d/sshd_config"
	# Without PAM, sshd turns away an account whose password is locked
	# ("!" in /etc/shadow), as root's often is: sshd gets a shadow file
	# of one line, root with no password but not locked.
	printf 'root:*:::::::\n' >"$d/shadow"
	far_account "$d"
	ssh_opts=(-F /dev/null -i "$d/client_key" -o IdentitiesOnly=yes
	    -o IdentityAgent=none -o "UserKnownHostsFile=$d/known_hosts"
	    -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes
	    -o BatchMode=yes -o ConnectTimeout=5 -c "$ssh_cipher"
	    -o Compression=no)
}
ssh_cipher=aes128-gcm@openssh.com

# far_account DIR: the unprivileged account that ssh-passt's far end logs
# in to, far_user with the uid and gid far_uid (the first of 64000 to
# 64999 that no user or group of the machine has), home $dir/far, shell
# /bin/sh.  It exists only for sshd and what it starts: DIR/passwd, the
# machine's with far_user added, is bound over /etc/passwd in sshd's
# mount namespace, as DIR/shadow is (far_user's password "*", not
# locked).  sshd reads authorized_keys as far_user: $dir opens to others
# for that (x only), and DIR is 0755.  far_user's home holds the copy of
# tunpipe that the far end runs.
far_account() {
	local d=$1 u
	far_user=tunpipe-bench far_uid=
	for u in $(seq 64000 64999); do
		getent passwd "$u" >/dev/null || getent group "$u" >/dev/null ||
		    { far_uid=$u; break; }
	done
	[ -n "$far_uid" ] || die "no free uid in 64000-64999 for $far_user"
	! getent passwd "$far_user" >/dev/null ||
	    die "the machine has a user $far_user: ssh-passt's far account would shadow it"
	{ cat /etc/passwd; echo "$far_user:x:$far_uid:$far_uid:tunpipe bench, far end:$dir/far:/bin/sh"; } \
	    >"$d/passwd"
	echo "$far_user:*:::::::" >>"$d/shadow"
	sed -i "s/^AllowUsers root\$/AllowUsers root $far_user/" "$d/sshd_config"
	grep -q "^AllowUsers root $far_user\$" "$d/sshd_config" ||
	    die "sshd-keys' sshd_config has no 'AllowUsers root'"
	chmod 0711 "$dir"
	chmod 0755 "$d"
	mkdir -m 0755 "$dir/far"
	cp "$tunpipe" "$dir/far/tunpipe"
	chmod 0755 "$dir/far/tunpipe"
	chown "$far_uid:$far_uid" "$dir/far"
}

# sshd_start: an sshd in a on 10.78.0.1:22, in the foreground (-D), its
# log in a.log; sets sshd_pid.  Call it after veth_link.
sshd_start() {
	ssh_keys
	# sshd will not start without its privilege separation directory,
	# which openssh-server's service makes at boot: an empty directory.
	[ -d /run/sshd ] || mkdir -m 0755 /run/sshd
	# The shadow and passwd files are bound over /etc's in the mount
	# namespace that ip netns exec makes for sshd: the machine's stay as
	# they are.
	# shellcheck disable=SC2016
	"${in_a[@]}" sh -c 'mount --bind "$1" /etc/shadow &&
	    mount --bind "$2" /etc/passwd && exec "$3" -D -e -f "$4"' \
	    sh "$dir/ssh/shadow" "$dir/ssh/passwd" "$(command -v sshd)" \
	    "$dir/ssh/sshd_config" </dev/null >/dev/null 2>"$dir/a.log" &
	sshd_pid=$!
	wait_listen "$ns_a" 22
}

# ssh_transport [-O]: a tunpipe in b whose -e runs ssh to a's sshd, whose
# remote command is the tunpipe in a.
ssh_transport() {
	local pid_b
	new_namespaces
	veth_link 10.78.0.1 10.78.0.2
	sshd_start || return 1
	"${in_b[@]}" "$tunpipe" "$@" -i tun0 -a 10.77.0.2/24 \
	    -e "ssh ${ssh_opts[*]} root@10.78.0.1 $tunpipe $* -i tun0 -a 10.77.0.1/24" \
	    </dev/null >/dev/null 2>"$dir/b.log" &
	pid_b=$!
	target=10.77.0.2 dev=tun0
	# The tunpipe in a is sshd's grandchild: found once it carries.
	wait_ping "$target" || return 1
	procs="$(ns_pids "$ns_a" tunpipe) $pid_b"
	[ "$(wc -w <<<"$procs")" = 2 ] || { note "not one tunpipe in a: $procs"; return 1; }
}

setup_ssh() { ssh_transport; }
setup_ssh_offload() { ssh_transport -O; }

# OpenSSH's tun forwarding: ssh in b opens tun0 there, sshd opens tun0 in
# a for the session (PermitTunnel); each end is given its point-to-point
# address here, as in ssh(1)'s VPN example.  sshw_tunnel MTU: with that
# MTU at both ends.  ssh and sshd move one packet a read, a write and an
# ssh message, so the MTU sets what a packet's cost carries: the sshw
# path keeps the devices' 1500, what the example gives; sshw-mtu raises
# it to 16380, the most OpenSSH takes, as a user who tunes ssh -w for
# throughput would: its tun filter (sys_tun_infilter, in
# openbsd-compat/port-net.c) puts a 4-byte header before each packet in a
# buffer of 16 KiB (CHAN_RBUF), and a longer packet closes the channel
# (an MTU of 16384 ends the tunnel at the first full packet).
sshw_tunnel() {
	local i agreed
	new_namespaces
	veth_link 10.78.0.1 10.78.0.2
	sshd_start || return 1
	"${in_b[@]}" ssh "${ssh_opts[@]}" -v -N -w 0:0 -o Tunnel=point-to-point \
	    -o ExitOnForwardFailure=yes root@10.78.0.1 \
	    </dev/null >/dev/null 2>"$dir/b.log" &
	procs=$!
	for i in $(seq 50); do
		ip -n "$ns_a" link show tun0 >/dev/null 2>&1 &&
		    ip -n "$ns_b" link show tun0 >/dev/null 2>&1 && break
		sleep 0.1
	done
	ip -n "$ns_a" addr add 10.77.0.1 peer 10.77.0.2 dev tun0 || return 1
	ip -n "$ns_b" addr add 10.77.0.2 peer 10.77.0.1 dev tun0 || return 1
	ip -n "$ns_a" link set tun0 mtu "$1" up
	ip -n "$ns_b" link set tun0 mtu "$1" up
	# The cipher that ssh -v says it agreed on, both ways: the one named.
	agreed=no
	for i in $(seq 50); do
		if [ "$(grep -c "kex: .* cipher: $ssh_cipher MAC: <implicit> compression: none" \
		    "$dir/b.log")" = 2 ]; then
			agreed=yes
			break
		fi
		sleep 0.1
	done
	[ "$agreed" = yes ] ||
	    { note "ssh -w: not $ssh_cipher without compression both ways"; return 1; }
	# sshd's session process is the sshd in a that is not the listener.
	procs="$(ns_pids "$ns_a" sshd | grep -vx "$sshd_pid") $procs"
	[ "$(wc -w <<<"$procs")" = 2 ] || { note "not one sshd session in a: $procs"; return 1; }
	target=10.77.0.1 dev=tun0
	sends_from_b
}

setup_sshw() { sshw_tunnel 1500; }
setup_sshw_mtu() { sshw_tunnel 16380; }

# sshuttle over the same sshd: its client in b (as root it sets up nft's
# rules itself) redirects b's TCP connections to 10.77.0.0/24 to itself
# and carries them over ssh to its server in a (Debian's python3, named:
# the PATH's may be another), which opens them there anew.  a has
# 10.77.0.1 on its loopback; b's route to the subnet leads to a gateway
# that is not there, so that only sshuttle's redirect reaches it.  TCP
# only: iperf3's client runs in b, with -R, so the data still goes from
# a to b.
setup_sshuttle() {
	new_namespaces
	tcp_only=yes
	veth_link 10.78.0.1 10.78.0.2
	ip -n "$ns_a" addr add 10.77.0.1/32 dev lo
	ip -n "$ns_b" route add 10.77.0.0/24 via 10.78.0.3
	sshd_start || return 1
	"${in_b[@]}" sshuttle --method nft --python /usr/bin/python3 \
	    -e "ssh ${ssh_opts[*]}" -r root@10.78.0.1 10.77.0.0/24 \
	    </dev/null >"$dir/b.log" 2>&1 &
	procs=$!
	target=10.77.0.1 dev='' peer_seen=10.77.0.1
	sends_from_b -R
	# Up once a connection from b to a listener in a gets through; the
	# listener tells whom it sees: sshuttle's server, in a, connects
	# from a's own address, where b itself would come from 10.78.0.2.
	listener_sees 10.77.0.1 10.77.0.1 || return 1
	[ "$peer" = 10.77.0.1 ] ||
	    { note "sshuttle: the listener saw '${peer:-nothing}', not 10.77.0.1"; return 1; }
	note "sshuttle: a's listener sees b's connection come from $peer (a's own address): it goes through sshuttle"
	# The server is the python3 in a (sshd's session runs it).
	procs="$(ns_pids "$ns_a" python3) $procs"
	[ "$(wc -w <<<"$procs")" = 2 ] || { note "not one sshuttle server in a: $procs"; return 1; }
}

# listener_sees BIND ADDR: sets peer to the address that a listener in a,
# on BIND port 7001, sees a connection from b to ADDR port 7001 come from
# ("" when none got through in 10 s, or the tunnel ended).
listener_sees() {
	local i listener
	peer=
	# shellcheck disable=SC2016
	"${in_a[@]}" timeout 60 socat -U \
	    "TCP-LISTEN:7001,bind=$1,reuseaddr,fork" \
	    SYSTEM:'echo $SOCAT_PEERADDR' </dev/null >/dev/null 2>&1 &
	listener=$!
	wait_listen "$ns_a" 7001 || { stop_pids "$listener"; return 1; }
	for i in $(seq 20); do
		tunnel_alive || break
		peer=$("${in_b[@]}" timeout 3 socat -u \
		    "TCP:$2:7001,connect-timeout=1" STDOUT 2>/dev/null) || true
		[ -z "$peer" ] || break
		sleep 0.5
	done
	stop_pids "$listener"
}

# ssh-passt: a's network reached from b with no privilege in a.  b's
# tunpipe (-T, tap0, MTU 65520 as passt's DHCP gives it) runs ssh to a's
# sshd as far_user, whose remote command starts passt (its socket in
# far_user's home) and then becomes tunpipe -c on passt's socket: passt
# and that tunpipe run as far_user, without a capability.  tap0 has the
# address passt is told to give its guest (-a, -n), and passt's gateway
# (-g) is 10.77.0.1, which passt maps to a's loopback: iperf3's server in
# a listens on 127.0.0.1 alone, which only passt's sockets reach, and sees
# them come from there (peer_seen).  passt answers pings with ICMP echo
# sockets toward the address pinged: 10.77.0.1 is on a's loopback too,
# and ping_group_range lets far_user open them.  As for sshuttle, the
# connections start in b (-R: a sends).
setup_ssh_passt() {
	local far=$dir/far far_cmd pid_b pids p
	new_namespaces
	veth_link 10.78.0.1 10.78.0.2
	ip -n "$ns_a" addr add 10.77.0.1/32 dev lo
	ssh_keys
	# /proc/sys/net is that of the namespace of the process that opens it.
	# shellcheck disable=SC2016
	"${in_a[@]}" sh -c 'echo "$1 $1" >/proc/sys/net/ipv4/ping_group_range' sh "$far_uid"
	sshd_start || return 1
	rm -f "$far/passt.socket" "$far/passt.log"
	# Run by far_user's /bin/sh in a; the socket is waited for (5 s).
	# passt takes -a, -n and -g as given (its default would be a's own
	# address and gateway, which b reaches over veth and must keep so,
	# for ssh); -i veth-a, since a has no default route to pick an
	# interface by, and -4, since it has no IPv6 address either.
	far_cmd="cd $far && { passt -q -f -1 -4 -i veth-a -a 10.77.0.2 -n 24 \
-g 10.77.0.1 -s $far/passt.socket </dev/null >/dev/null 2>passt.log & } && \
for i in \$(seq 50); do [ -S passt.socket ] && break; sleep 0.1; done && \
exec ./tunpipe -c $far/passt.socket"
	"${in_b[@]}" "$tunpipe" -T -i tap0 -a 10.77.0.2/24 -m 65520 \
	    -e "ssh ${ssh_opts[*]} $far_user@10.78.0.1 '$far_cmd'" \
	    </dev/null >/dev/null 2>"$dir/b.log" &
	pid_b=$!
	target=10.77.0.1 dev=tap0 dev_ns=$ns_b peer_seen=127.0.0.1
	sends_from_b -R
	server_opts=(-B 127.0.0.1)
	wait_ping "$target" || { cat "$far/passt.log" >&2 2>/dev/null; return 1; }
	# a's tunpipe (-c) and passt are sshd's descendants: found once
	# they carry.
	pids="$(ns_pids "$ns_a" tunpipe) $(ns_pids "$ns_a" passt passt.avx2)"
	# shellcheck disable=SC2086
	[ "$(wc -w <<<"$pids")" = 2 ] ||
	    { note "not one tunpipe and one passt in a: $(proc_names $pids)"; return 1; }
	procs="$pids $pid_b"
	# Each runs as far_user alone (real, effective, saved and file
	# system ids), with no capability in its user namespace (passt
	# makes one of its own).
	for p in $pids; do
		awk -v u="$far_uid" '/^[UG]id:/ && ($2 != u || $3 != u || $4 != u || $5 != u) { bad = 1 }
		    /^Cap(Prm|Eff):/ && $2 !~ /^0+$/ { bad = 1 }
		    END { exit bad }' "/proc/$p/status" ||
		    { note "$(proc_names "$p")in a does not run as $far_user alone, without capabilities"; return 1; }
	done
	listener_sees 127.0.0.1 10.77.0.1 || return 1
	[ "$peer" = 127.0.0.1 ] ||
	    { note "ssh-passt: the listener saw '${peer:-nothing}', not 127.0.0.1"; return 1; }
	# shellcheck disable=SC2086
	note "ssh-passt: $(proc_names $pids)in a run as $far_user (uid $far_uid); a's listener on 127.0.0.1 sees b's connection come from $peer: it goes through passt"
}

# OpenVPN 2.6 runs without TLS and, told --cipher none --auth none,
# without crypto (it warns of both, and that 2.7 will not run without
# TLS).  --disable-dco keeps the data in its user-space relay, which is
# what is compared, rather than in the kernel module, where it has one.
# --ifconfig LOCAL REMOTE gives tun0 a point-to-point address.
setup_openvpn() {
	local vpn=(openvpn --dev tun0 --dev-type tun --cipher none --auth none
	    --disable-dco --verb 3)
	new_namespaces
	veth_link 10.78.0.1 10.78.0.2
	"${in_a[@]}" "${vpn[@]}" --proto tcp-server --local 10.78.0.1 \
	    --lport 1194 --ifconfig 10.77.0.1 10.77.0.2 \
	    </dev/null >"$dir/a.log" 2>&1 &
	procs=$!
	wait_listen "$ns_a" 1194 || return 1
	"${in_b[@]}" "${vpn[@]}" --proto tcp-client --remote 10.78.0.1 1194 \
	    --ifconfig 10.77.0.2 10.77.0.1 </dev/null >"$dir/b.log" 2>&1 &
	procs="$procs $!"
	target=10.77.0.2 dev=tun0
}

# --- reading results ---------------------------------------------------

# json_end FILE SECTION KEY: KEY of SECTION (sum, sum_received, ...) in the
# "end" part of iperf3's -J output; iperf3 prints one key a line, tabs
# before, so awk suffices without a JSON parser.
json_end() {
	awk -v sec="$2" -v key="$3" '
		/^\t"end":/ { inend = 1; next }
		inend && index($0, "\t\t\"" sec "\":") == 1 { insec = 1; next }
		insec && /}/ { exit }
		insec && index($0, "\"" key "\":") {
			v = $0; sub(/^[^:]*:[ \t]*/, "", v); sub(/,$/, "", v)
			print v; exit
		}' "$1"
}

# cpu_ticks PID...: user and system clock ticks spent so far, summed.
cpu_ticks() {
	local p n t=0
	for p; do
		# Fields 14 and 15; the command name before them is cut first.
		n=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null |
		    awk '{ print $12 + $13 }')
		[ -n "$n" ] || return 0		# gone: no figure
		t=$(( t + n ))
	done
	echo "$t"
}

# peak_rss PID...: the largest VmHWM of them, in KiB.
peak_rss() {
	local p
	for p; do awk '/^VmHWM:/ { print $2 }' "/proc/$p/status"; done |
	    sort -n | tail -n 1
}

# dev_packets NS DEV: packets received plus sent by DEV, as ip(8) counts.
dev_packets() {
	ip -n "$1" -s link show dev "$2" |
	    awk '/^ *[RT]X:/ { getline; n += $2 } END { print n + 0 }'
}

# --- measurements ------------------------------------------------------
# Each sets val to one number, or to "" when the measurement failed.  They
# run in this shell, not in $(...), so that cleanup knows every process.

# tunnel_alive: whether every tunnel process still runs (veth: no process).
tunnel_alive() {
	local p
	for p in $procs; do alive "$p" || return 1; done
}

# iperf_server LIMIT FILE: a one-off iperf3 server in b (in a for a path
# that sends_from_b), JSON to FILE.
iperf_server() {
	"${in_server[@]}" timeout $(( $1 + 10 )) iperf3 -s -1 -J "${server_opts[@]}" \
	    >"$2" 2>&1 &
	server=$!
	wait_listen "$server_ns" 5201
}

# iperf_client LIMIT ARGS...: one iperf3 test from a to b, at most LIMIT
# seconds, its JSON in $dir/client.json.  A tunnel that dies ends it at
# once rather than at LIMIT.  For sshuttle, the client runs in b with -R:
# the data goes from a to b all the same.
iperf_client() {
	local limit=$1 client i ok=0
	shift
	iperf_server "$limit" "$dir/server.json" || { stop_pids "$server"; return 1; }
	"${in_client[@]}" timeout "$limit" iperf3 -c "$target" -J "${client_opts[@]}" \
	    "$@" >"$dir/client.json" 2>&1 &
	client=$!
	for i in $(seq $(( limit * 5 + 10 ))); do
		{ alive "$client" && tunnel_alive; } || break
		sleep 0.2
	done
	if alive "$client"; then
		stop_pids "$client"
		ok=1
	else
		wait "$client" 2>/dev/null || ok=1
	fi
	# The server ends with its test; one that does not (5 s) is stopped.
	for i in $(seq 50); do alive "$server" || break; sleep 0.1; done
	stop_pids "$server"
	return $ok
}

# tcp_rate STREAMS: bits/s received; the bytes in tcp_bytes.
tcp_rate() {
	val='' tcp_bytes=''
	iperf_client $(( tcp_seconds + 20 )) -t "$tcp_seconds" -P "$1" || return 0
	# Through sshuttle, the server in a sees its connections come from
	# a's own address (sshuttle's server), through passt from a's
	# loopback (passt's sockets): peer_seen, or it measured something
	# else.
	if [ -n "$peer_seen" ] && grep "\"remote_host\":" "$dir/server.json" |
	    grep -qv "\"$peer_seen\""; then
		note "not through the tunnel: $(grep -m 1 '"remote_host":' "$dir/server.json")"
		return 0
	fi
	tcp_bytes=$(json_end "$dir/client.json" sum_received bytes)
	val=$(json_end "$dir/client.json" sum_received bits_per_second)
}

# udp_rate SIZE: packets a second that reached b, sent flat out (-b 0);
# b's own count: its packets (by sequence number) less those lost.  The
# receiver's JSON has it: the server's, or with -R the client's.
udp_rate() {
	local json=$dir/server.json
	val=
	[[ " ${client_opts[*]} " != *" -R "* ]] || json=$dir/client.json
	iperf_client $(( udp_seconds + 20 )) -u -b 0 -l "$1" -t "$udp_seconds" || return 0
	val=$(awk -v p="$(json_end "$json" sum packets)" \
	    -v l="$(json_end "$json" sum lost_packets)" \
	    -v s="$(json_end "$json" sum seconds)" \
	    'BEGIN { if (p != "" && s > 0) print (p - l) / s }')
}

# ping_avg: average RTT in ms of 20 pings, 50 ms apart.
ping_avg() {
	val=$("${in_client[@]}" timeout 15 ping -q -c 20 -i 0.05 -W 2 "$target" 2>/dev/null |
	    awk -F/ '/^rtt|^round-trip/ { print $5 }')
}

# ping_loaded: ping_avg while a TCP flow from a to b fills the path; the
# flow gets 1.5 s to fill the queues first and is stopped after the pings.
ping_loaded() {
	local flow
	val=
	iperf_server 30 "$dir/server-load.json" || { stop_pids "$server"; return 0; }
	"${in_client[@]}" timeout 30 iperf3 -c "$target" "${client_opts[@]}" -t 10 \
	    >/dev/null 2>&1 &
	flow=$!
	sleep 1.5
	ping_avg
	alive "$flow" || val=	# a flow that ended early loaded nothing
	stop_pids "$flow" "$server"
}

# syscalls_per_packet: strace -c counts the syscalls of the processes
# that make a's side of the tunnel (carriers_a) while BENCH_STRACE_MB
# cross; divided by the packets its device carried in both directions
# meanwhile (data out, ACKs in).
syscalls_per_packet() {
	local before after calls i n p traced=()
	val=
	for p in $carriers_a; do traced+=(-p "$p"); done
	# timeout passes its TERM on to strace, which then detaches.
	timeout $(( strace_mb + 60 )) strace -c -f -o "$dir/strace.txt" \
	    "${traced[@]}" 2>"$dir/strace.err" &
	tracer=$!
	for i in $(seq 50); do
		n=$(grep -c attached "$dir/strace.err" 2>/dev/null || true)
		[ "${n:-0}" -lt $(( ${#traced[@]} / 2 )) ] || break
		sleep 0.1
	done
	before=$(dev_packets "$dev_ns" "$dev")
	# Under strace at no less than 1 MB/s, or it is too slow to count.
	if iperf_client $(( strace_mb + 20 )) -n "${strace_mb}M"; then
		after=$(dev_packets "$dev_ns" "$dev")
	fi
	# TERM makes strace detach and write its summary (INT would not: a
	# background job of a script ignores it).
	kill -TERM "$tracer" 2>/dev/null || true
	for i in $(seq 50); do alive "$tracer" || break; sleep 0.1; done
	stop_pids "$tracer"
	tracer=
	[ -n "${after:-}" ] || return 0
	calls=$(awk '$NF == "total" { print $4 }' "$dir/strace.txt")
	val=$(awk -v c="$calls" -v n="$((after - before))" \
	    'BEGIN { if (c != "" && n > 0) print c / n }')
}

# --- one path ----------------------------------------------------------

declare -A result		# result[PATH,METRIC,RUN]: a number, "" or words
declare -A death		# death[PATH]: what the tunnel said as it first died
declare -A died_runs		# died_runs[PATH,METRIC]: the runs it died in
declare -A path_seconds		# path_seconds[PATH]: its time, all runs
metrics="tcp1 tcp4 udp64 udp512 udp1400 rtt_idle rtt_load cpu rss syscalls"
clk_tck=$(getconf CLK_TCK)
run=1				# the run under way, from 1 to BENCH_RUNS

# tunnel_procs_ok: whether procs are the tunnel programs themselves (their
# memory is measured), not a shell or ip(8) before them.
tunnel_procs_ok() {
	local p
	for p in $procs; do
		case $(cat "/proc/$p/comm" 2>/dev/null) in
		tunpipe|socat|openvpn|ssh|sshd|sshuttle|python3|passt|passt.avx2) ;;
		*) note "process $p is not the tunnel"; return 1;;
		esac
	done
}

# proc_names PID...: their names, as in /proc/PID/comm.
proc_names() {
	local p
	for p; do printf '%s ' "$(cat "/proc/$p/comm" 2>/dev/null)"; done
}

# The names of the programs that make a tunnel or carry its stream;
# sshuttle's client is "sshuttle", its firewall process and its server
# "python3".
carrier_names="tunpipe socat ssh sshd openvpn sshuttle python3 passt passt.avx2"

# bring_up PATH: sets PATH up, until a ping crosses it.  Then every
# process in each namespace that is a tunnel program or carries one's
# stream is one that makes the tunnel: carriers_a and carriers_b, whose
# CPU and syscalls are counted.  Nothing else runs there yet; sshd's
# listener, idle, is among them.
bring_up() {
	note "$1: setting up (run $run of $runs)"
	# sshuttle's setup has seen a connection through (it carries no ping).
	if "setup_${1//-/_}" && { [ "$tcp_only" = yes ] || wait_ping "$target"; } &&
	    tunnel_procs_ok; then
		# shellcheck disable=SC2086
		carriers_a=$(ns_pids "$ns_a" $carrier_names)
		# shellcheck disable=SC2086
		carriers_b=$(ns_pids "$ns_b" $carrier_names)
		# shellcheck disable=SC2086
		note "$1: counting a: $(proc_names $carriers_a); b: $(proc_names $carriers_b)"
		return 0
	fi
	note "$1: the path did not come up; its logs:"
	cat "$dir/a.log" "$dir/b.log" >&2 || true
	return 1
}

# last_words: the last line each end of the tunnel logged.
last_words() {
	local end
	for end in a b; do
		[ -s "$dir/$end.log" ] || continue
		# socat's and openvpn's lines begin with a date and time: left
		# out.
		printf '\n    %s: %s' "$end" "$(tail -n 1 "$dir/$end.log" |
		    sed 's|^[0-9/-]* [0-9:]* ||')"
	done
}

test_rtt_idle() { ping_avg; }
test_tcp4() { tcp_rate 4; }
test_udp64() { udp_rate 64; }
test_udp512() { udp_rate 512; }
test_udp1400() { udp_rate 1400; }
test_rtt_load() { ping_loaded; }
test_syscalls() { syscalls_per_packet; }

# The tunnel's CPU time over the bytes the one-stream test carried.
test_tcp1() {
	local t0 t1 rate
	# shellcheck disable=SC2086
	t0=$(cpu_ticks $carriers_a $carriers_b)
	tcp_rate 1
	rate=$val
	# shellcheck disable=SC2086
	t1=$(cpu_ticks $carriers_a $carriers_b)
	[ -z "$procs" ] || [ -z "$t0" ] || [ -z "$t1" ] ||
	    result[$1,cpu,$run]=$(awk -v t="$((t1 - t0))" -v hz="$clk_tck" \
		-v b="$tcp_bytes" 'BEGIN { if (b > 0) print t / hz / (b / 1e9) }')
	val=$rate
}

# run_test PATH METRIC TITLE: one test on a live tunnel.  A tunnel that
# died in an earlier test is set up afresh, so that each test gets its
# chance; one that dies in this test marks it "died".
run_test() {
	local p=$1 m=$2
	if ! tunnel_alive; then
		teardown
		bring_up "$p" || { result[$p,$m,$run]=setup-failed; return 0; }
	fi
	note "$p: $3"
	val=''
	"test_$m" "$p"
	if tunnel_alive; then
		result[$p,$m,$run]=$val
	else
		result[$p,$m,$run]=died
		[ "$m" != tcp1 ] || result[$p,cpu,$run]=died
		# The first death's words tell why; the list, how often.
		death[$p]=${death[$p]:-"$(last_words)"}
		died_runs[$p,$m]+="${died_runs[$p,$m]:+ }$run"
		note "$p: the tunnel died:$(last_words)"
	fi
}

# run_path PATH: sets PATH up, runs every test, takes it down.
run_path() {
	local p=$1 m
	if [[ $p == offload || $p == ssh-offload ]] && [ "$has_offload" = no ]; then
		for m in $metrics; do result[$p,$m,$run]="n/a (no -O)"; done
		return 0
	fi
	if ! bring_up "$p"; then
		for m in $metrics; do result[$p,$m,$run]=setup-failed; done
		teardown
		return 0
	fi
	if [ "$tcp_only" = yes ]; then
		run_test "$p" tcp1 "TCP, 1 stream, ${tcp_seconds}s"
		run_test "$p" tcp4 "TCP, 4 streams, ${tcp_seconds}s"
		for m in udp64 udp512 udp1400 rtt_idle rtt_load; do
			result[$p,$m,$run]="n/a (TCP only)"
		done
		# No device whose packets to count.
		result[$p,syscalls,$run]="n/a (no device)"
		if tunnel_alive; then
			# shellcheck disable=SC2086
			result[$p,rss,$run]=$(peak_rss $procs)
		else
			result[$p,rss,$run]=died
		fi
		teardown
		return 0
	fi
	run_test "$p" rtt_idle "ping, idle"
	run_test "$p" tcp1 "TCP, 1 stream, ${tcp_seconds}s"
	run_test "$p" tcp4 "TCP, 4 streams, ${tcp_seconds}s"
	run_test "$p" udp64 "UDP, 64 bytes, ${udp_seconds}s"
	run_test "$p" udp512 "UDP, 512 bytes, ${udp_seconds}s"
	run_test "$p" udp1400 "UDP, 1400 bytes, ${udp_seconds}s"
	run_test "$p" rtt_load "ping under a TCP flow"
	if [ -n "$procs" ]; then
		run_test "$p" syscalls "syscalls under strace, ${strace_mb} MB"
		# At the end of the path's tests, as they leave it.
		if tunnel_alive; then
			# shellcheck disable=SC2086
			result[$p,rss,$run]=$(peak_rss $procs)
		else
			result[$p,rss,$run]=died
		fi
	fi
	teardown
}

# --- the medians -------------------------------------------------------

declare -A med			# med[PATH,METRIC]: the median, or words
declare -A short		# short[PATH]: the metrics with fewer figures than runs

# median NUMBER...: the middle one, or the mean of the two in the middle.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]
		else if (NR) print (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}

# medians: med from result.  A metric that no run measured keeps the
# first run's word (died, setup-failed, or "" for a failed measurement);
# one that some runs measured gets the median of those, and goes in short.
medians() {
	local p m r v nums
	for p in $paths; do
		for m in $metrics; do
			nums=()
			for (( r = 1; r <= runs; r++ )); do
				v=${result[$p,$m,$r]-none}
				! isnum "$v" || nums+=("$v")
			done
			if [ ${#nums[@]} -gt 0 ]; then
				med[$p,$m]=$(median "${nums[@]}")
			elif [ -n "${result[$p,$m,1]+set}" ]; then
				med[$p,$m]=${result[$p,$m,1]}
			fi
			if [ ${#nums[@]} -gt 0 ] && [ ${#nums[@]} -lt "$runs" ]; then
				short[$p]="${short[$p]:+${short[$p]}, }$(label "$m" |
				    sed 's/ \*$//; s/, delivered$//') (${#nums[@]})"
			fi
		done
	done
}

# --- the table ---------------------------------------------------------

# figure METRIC VALUE: VALUE with its unit.
figure() {
	awk -v m="$1" -v v="$2" 'BEGIN {
		if (m ~ /^tcp/) {
			if (v >= 1e9) printf "%.2f Gbit/s", v / 1e9
			else printf "%.0f Mbit/s", v / 1e6
		} else if (m ~ /^udp/) printf "%.0f kpkt/s", v / 1e3
		else if (m ~ /^rtt/) printf "%.3f ms", v
		else if (m == "cpu") printf "%.2f s/GB", v
		else if (m == "rss") printf "%.1f MiB", v / 1024
		else printf "%.2f", v
	}'
}

ratio() {
	awk -v v="$1" -v b="$2" 'BEGIN {
		r = v / b
		printf(r >= 10 ? "(%.0f)" : r >= 0.1 ? "(%.2f)" : "(%.3f)", r)
	}'
}

isnum() { [[ $1 =~ ^[0-9.e+-]+$ ]]; }

label() {
	case $1 in
	tcp1) echo "TCP, 1 stream";;
	tcp4) echo "TCP, 4 streams";;
	udp*) echo "UDP ${1#udp} B, delivered";;
	rtt_idle) echo "ping RTT, idle";;
	rtt_load) echo "ping RTT, TCP flow";;
	cpu) echo "CPU per GB (TCP) *";;
	rss) echo "peak RSS *";;
	syscalls) echo "syscalls/packet *";;
	esac
}

heading() {
	case $1 in
	veth) echo "veth (limit)";;
	fifo) echo "tunpipe, FIFOs";;
	fifo-tap) echo "tunpipe -T, FIFOs";;
	plain) echo "tunpipe -G, FIFOs";;
	capture) echo "tunpipe -w, FIFOs";;
	offload) echo "tunpipe -O, FIFOs";;
	tcp) echo "tunpipe, socat TCP";;
	tcp-8k) echo "tunpipe, socat TCP 8k";;
	ssh) echo "tunpipe, ssh";;
	ssh-offload) echo "tunpipe -O, ssh";;
	ssh-passt) echo "tunpipe, ssh to passt";;
	sshw) echo "ssh -w";;
	sshw-mtu) echo "ssh -w, MTU 16380";;
	sshuttle) echo "sshuttle (TCP only)";;
	openvpn) echo "OpenVPN, TCP";;
	socat) echo "socat TUN, FIFOs";;
	socat-udp) echo "socat TUN, UDP";;
	*) echo "$1";;
	esac
}

# cell PATH METRIC: its median with unit and ratio, or what became of it.
cell() {
	local p=$1 m=$2 v base
	# The base is veth's figure; the rows veth has no process for
	# (marked *) are compared with tunpipe over FIFOs instead.
	base=${med[veth,$m]:-}
	isnum "$base" || base=${med[fifo,$m]:-}
	v=${med[$p,$m]-none}
	if [ "$v" = none ] && [ "$p" = veth ]; then
		v="- (no process)"
	elif [ -z "$v" ] || [ "$v" = none ]; then
		v=failed
	elif isnum "$v"; then
		if isnum "$base" && awk -v b="$base" 'BEGIN { exit !(b > 0) }'; then
			v="$(figure "$m" "$v") $(ratio "$v" "$base")"
		else
			v=$(figure "$m" "$v")
		fi
	fi
	echo "$v"
}

# print_table PATH...: the table of these paths' medians.
print_table() {
	local m p row
	printf '%-22s' ""
	for p; do printf ' | %-21s' "$(heading "$p")"; done
	echo
	printf '%-22s' "" | tr ' ' -
	for p; do printf -- '-+-%s' "$(printf '%-21s' "" | tr ' ' -)"; done
	echo
	for m in $metrics; do
		row=$(printf '%-22s' "$(label "$m")")
		for p; do row="$row | $(printf '%-21s' "$(cell "$p" "$m")")"; done
		echo "$row"
	done
}

# print_tables: the table, three paths across at most, so that it stays
# within 100 columns (98 when indented as a code block); every cell
# carries its own ratio.
print_tables() {
	local p chunk=()
	for p in $paths; do
		chunk+=("$p")
		[ ${#chunk[@]} -lt 3 ] && continue
		print_table "${chunk[@]}"
		echo
		chunk=()
	done
	[ ${#chunk[@]} -eq 0 ] || { print_table "${chunk[@]}"; echo; }
}

# versus A B TITLE: A's medians over B's, for what users weigh first.
versus() {
	local m line=
	[[ " $paths " == *" $1 "* && " $paths " == *" $2 "* ]] || return 0
	for m in tcp1 tcp4 udp64 rtt_load cpu; do
		case $m in
		tcp1) line+="TCP 1 stream ";;
		tcp4) line+=", TCP 4 streams ";;
		udp64) line+=", UDP 64 B ";;
		rtt_load) line+=", RTT under load ";;
		cpu) line+=", CPU per GB ";;
		esac
		if isnum "${med[$1,$m]:-}" && isnum "${med[$2,$m]:-}" &&
		    awk -v b="${med[$2,$m]}" 'BEGIN { exit !(b > 0) }'; then
			line+=$(awk -v a="${med[$1,$m]}" -v b="${med[$2,$m]}" \
			    'BEGIN { printf "%.2f", a / b }')
		else
			line+="-"
		fi
	done
	echo "$3: $line" | fold -s -w 74 | sed '2,$s/^/    /; s/ *$//'
}

print_versus() {
	local out
	out=$(
		versus ssh sshw "tunpipe over ssh / ssh -w"
		versus ssh sshw-mtu "tunpipe over ssh / ssh -w, MTU 16380"
		versus ssh-offload sshw-mtu "tunpipe -O over ssh / ssh -w, MTU 16380"
		versus ssh ssh-offload "tunpipe over ssh / tunpipe -O over ssh"
		versus ssh sshuttle "tunpipe over ssh / sshuttle"
		versus ssh-passt sshuttle "tunpipe over ssh to passt / sshuttle"
		versus ssh-passt ssh "tunpipe over ssh to passt / tunpipe over ssh"
		versus tcp openvpn "tunpipe over TCP / OpenVPN over TCP"
		versus fifo offload "tunpipe over FIFOs / tunpipe -O over FIFOs"
		versus fifo plain "tunpipe over FIFOs / tunpipe -G over FIFOs"
		versus fifo-tap fifo "tunpipe -T over FIFOs / tunpipe over FIFOs"
		versus capture fifo "tunpipe -w over FIFOs / tunpipe over FIFOs"
		versus tcp tcp-8k "socat -b 131072 / socat's 8 KiB block"
	)
	[ -n "$out" ] || return 0
	echo "Head to head, the first path's medians over the second's (TCP, UDP:"
	echo "above 1, the first carries more; RTT, CPU: below 1, the first is better):"
	echo "$out"
	echo
}

# print_streams: TCP with 4 streams over TCP with 1, path by path: below
# 1, several flows at once carry less than one.
print_streams() {
	local p line=
	for p in $paths; do
		isnum "${med[$p,tcp1]:-}" && isnum "${med[$p,tcp4]:-}" || continue
		line+="${line:+; }$p $(awk -v a="${med[$p,tcp4]}" -v b="${med[$p,tcp1]}" \
		    'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }')"
	done
	[ -n "$line" ] || return 0
	echo "TCP, 4 streams over 1 stream, path by path: $line" |
	    fold -s -w 74 | sed '2,$s/^/    /; s/ *$//'
	echo
}

# print_spread: each run's 1-stream TCP figure, path by path, to show how
# far the runs lie from their median.
print_spread() {
	local p r v line=
	[ "$runs" -gt 1 ] || return 0
	for p in $paths; do
		line+="${line:+; }$p"
		for (( r = 1; r <= runs; r++ )); do
			v=${result[$p,tcp1,$r]:-failed}
			isnum "$v" && v=$(awk -v v="$v" 'BEGIN { printf "%.2f", v / 1e9 }')
			line+=" $v"
		done
	done
	echo "TCP, 1 stream, run by run (Gbit/s): $line" |
	    fold -s -w 74 | sed '2,$s/^/    /; s/ *$//'
	echo
}

# died_in PATH: the tests PATH died in, and in which runs.
died_in() {
	local m r list=
	for m in $metrics; do
		r=${died_runs[$1,$m]:-}
		[ -n "$r" ] || continue
		list+="${list:+; }$(label "$m" | sed 's/ \*$//; s/, delivered$//')"
		if [ "$runs" = 1 ]; then
			:
		elif [ "$(wc -w <<<"$r")" = "$runs" ]; then
			list+=" (every run)"
		elif [[ $r == *" "* ]]; then
			list+=" (runs ${r// /, })"
		else
			list+=" (run $r)"
		fi
	done
	echo "$list"
}

# tool_versions: the versions of the tools that this run used.
tool_versions() {
	local v
	v="$(iperf3 --version | head -n 1 | cut -d' ' -f1,2), $(socat -V | awk '/socat version/ { print "socat", $3; exit }'), $(strace -V | awk '{ print "strace", $NF; exit }')"
	[[ " $paths " != *" ssh"* ]] || v+=", $(ssh -V 2>&1 | cut -d' ' -f1)"
	[[ " $paths " != *" openvpn "* ]] || v+=", $(openvpn --version | awk '{ print $1, $2; exit }')"
	echo "$v"
}

print_report() {
	local commit base p times=
	commit=$(git -C "$here" describe --always --dirty 2>/dev/null || echo unknown)
	echo "tunpipe benchmark"
	echo "command: ${BENCH_TUNPIPE:+BENCH_TUNPIPE=$BENCH_TUNPIPE }BENCH_RUNS=$runs BENCH_SECONDS=$tcp_seconds BENCH_UDP_SECONDS=$udp_seconds BENCH_STRACE_MB=$strace_mb BENCH_PATHS='$paths' bench/bench.sh"
	echo "date:    $started_at"
	echo "kernel:  $(uname -sr)"
	echo "cpu:     $(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores"
	echo "tunpipe: $("$tunpipe" -V 2>&1 | head -n 1), $tunpipe_source, tree at $commit"
	echo "tools:   $(tool_versions)" | fold -s -w 78 | sed '2,$s/^/         /; s/ *$//'
	echo
	print_tables
	print_versus
	print_streams
	print_spread
	for p in $paths; do
		[ -n "${death[$p]:-}" ] || continue
		echo "$(heading "$p"): the tunnel died, and was set up afresh after, in:"
		died_in "$p" | fold -s -w 72 | sed 's/^/  /; s/ *$//'
		echo "  as it first died, it said:${death[$p]}"
		echo
	done
	for p in $paths; do
		[ -n "${short[$p]:-}" ] || continue
		echo "$(heading "$p"): medians of fewer runs (how many) in: ${short[$p]}" |
		    fold -s -w 74 | sed '2,$s/^/  /; s/ *$//'
	done
	if [[ " $paths " == *" veth "* ]]; then
		base="the veth path's median; in * rows, where veth has no process, to tunpipe over FIFOs'"
	else
		base="tunpipe over FIFOs' median"
	fi
	for p in $paths; do times+="${times:+, }$p ${path_seconds[$p]:-0}s"; done
	fold -s -w 74 <<-EOF | sed 's/ *$//'
	$(if [ "$runs" = 1 ]; then echo "Each figure is from one run; (x) is its ratio to ${base/median/figure}."; else echo "Each figure is the median of $runs runs, taken in rounds over all the paths, every path set up afresh in each; (x) is its ratio to $base."; fi) Figures drift between runs on this machine: compare ratios within one run, not figures across runs.
	All from a to b. TCP: ${tcp_seconds} s a test. UDP: ${udp_seconds} s a size, sent flat out (-b 0), counted at b (its packets less those lost). RTT: the average of 20 pings 50 ms apart, idle and during a TCP flow. sshuttle, which carries TCP alone, is measured from b (iperf3 -R: a sends), to a listener on a's loopback address that only its redirect reaches; tunpipe over ssh to passt likewise (its connections too start in b, the near end), to a listener on a's 127.0.0.1 that only passt's sockets reach. ssh -w is measured from b to a, from its ssh to its sshd: the faster way for it (tunpipe over ssh carries the same both ways).
	CPU and syscalls count every process that makes the tunnel: tunpipe (with -e, also its starter process, idle) and what carries its stream: socat over TCP, ssh and sshd over ssh (sshd's session process, and its listener, idle); for ssh -w, ssh and sshd; for sshuttle, ssh and its client and firewall process (sshuttle, python3) in b, sshd and its server (python3) in a; for tunpipe over ssh to passt, tunpipe, its starter and ssh in b, sshd, tunpipe -c and passt in a; openvpn; socat for socat TUN. CPU: both ends' user+system time during the 1-stream TCP test, over the GB it carried. Syscalls: a's side under strace -c -f while ${strace_mb} MB cross, over the packets its device carried both ways (for tunpipe over ssh to passt, whose a has no device, b's). RSS: the larger VmHWM of the tunnel programs at the two ends, at the end: tunpipe (not the ssh, sshd or socat that carry its stream); socat; openvpn; for ssh -w, ssh and sshd's session process; for sshuttle, its client and server; for tunpipe over ssh to passt, both tunpipes and passt.
	Time per path, all runs: $times.
	EOF
}

# --- main --------------------------------------------------------------

started=$(date +%s)
started_at=$(date '+%Y-%m-%d %H:%M:%S %z')
[ "$has_offload" = yes ] || note "this tunpipe has no --offload: the -O columns are n/a"
# In rounds, so that a slow spell of the machine touches every path.
for (( run = 1; run <= runs; run++ )); do
	for p in $paths; do
		t0=$(date +%s)
		run_path "$p"
		path_seconds[$p]=$(( ${path_seconds[$p]:-0} + $(date +%s) - t0 ))
	done
done
medians
print_report
echo "(the run took $(( $(date +%s) - started )) s)"
