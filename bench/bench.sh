#!/bin/bash
# bench.sh: how fast tunpipe carries packets, next to the limit and to the
# incumbent.  One run sets up, path after path, two fresh network namespaces
# joined by one of:
#
#   veth      a veth pair: the kernel alone, the limit every ratio refers to
#   fifo      two tunpipes joined by two FIFOs
#   tcp       two tunpipes whose stream is a TCP connection (socat, via -e)
#             over a veth pair between the namespaces
#   offload   two tunpipes with -O (GSO super-packets) joined by two FIFOs
#   socat     socat's own TUN address at both ends, joined by two FIFOs
#   socat-udp (only when named in BENCH_PATHS) socat's TUN address at both
#             ends, joined by UDP over a veth link: as socat's manual has it
#
# and measures, from namespace a to namespace b: TCP throughput with 1 and
# 4 streams, UDP packets delivered per second at 3 payload sizes, ping RTT
# idle and under a saturating TCP flow, the tunnel processes' CPU seconds
# per GB, their peak RSS, and their syscalls per packet (under strace, in a
# run of its own).  It prints one table, each figure with its ratio to the
# veth path of the same run: figures drift between runs on one machine, so
# only ratios within one run are to be compared.
#
# Nothing is added to the machine's own namespace; every process started
# and both namespaces are removed at exit, also on failure or Ctrl-C.
#
# usage: bench/bench.sh       (as root; `make bench` builds and installs
#                              iperf3, socat and strace first)
# environment:
#   BENCH_SECONDS      length of each TCP test (default 10)
#   BENCH_UDP_SECONDS  length of each UDP test (default half of that)
#   BENCH_STRACE_MB    megabytes sent while strace counts (default 20 per
#                      BENCH_SECONDS)
#   BENCH_PATHS        which paths, in order (default: the first five)
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
tcp_seconds=$(whole BENCH_SECONDS "${BENCH_SECONDS:-10}")
udp_seconds=$(whole BENCH_UDP_SECONDS "${BENCH_UDP_SECONDS:-$(( (tcp_seconds + 1) / 2 ))}")
strace_mb=$(whole BENCH_STRACE_MB "${BENCH_STRACE_MB:-$(( tcp_seconds * 20 ))}")
paths=${BENCH_PATHS:-veth fifo tcp offload socat}

ns_a=tunpipe-bench-$$-a
ns_b=tunpipe-bench-$$-b
dir=
tracer=			# a running strace, if any: it lives outside the namespaces

[ "$(id -u)" = 0 ] || die "network namespaces need root: run 'sudo make bench'"
[ -x "$tunpipe" ] || die "$tunpipe is not built: run 'make bench'"
for tool in ip ss iperf3 ping socat strace timeout awk; do
	command -v "$tool" >/dev/null || die "no $tool: run 'make bench', which installs it"
done

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
	: >"$dir/a.log"
	: >"$dir/b.log"
	ip netns add "$ns_a"
	ip netns add "$ns_b"
	ip -n "$ns_a" link set lo up
	ip -n "$ns_b" link set lo up
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

# wait_ping ADDR: until ADDR answers from namespace a (about 10 s): the
# tunnels are up only once both ends have their device and stream.
wait_ping() {
	local i
	for i in $(seq 20); do
		"${in_a[@]}" timeout 2 ping -c 1 -W 0.5 "$1" >/dev/null 2>&1 && return 0
		sleep 0.3
	done
	return 1
}

# --- the paths ---------------------------------------------------------
# Each setup_PATH makes fresh namespaces and the link, and sets:
#   target  the address in b that a sends to
#   procs   the tunnel processes, a's first ("" for veth)
#   dev     the device in a whose counters count the packets a's process
#           carries ("" for veth)

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

setup_fifo() {
	new_namespaces
	cmd_a=("$tunpipe" -i tun0 -a 10.77.0.1/24)
	cmd_b=("$tunpipe" -i tun0 -a 10.77.0.2/24)
	fifo_pair
	target=10.77.0.2 dev=tun0
}

setup_offload() {
	new_namespaces
	cmd_a=("$tunpipe" -O -i tun0 -a 10.77.0.1/24)
	cmd_b=("$tunpipe" -O -i tun0 -a 10.77.0.2/24)
	fifo_pair
	target=10.77.0.2 dev=tun0
}

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

setup_tcp() {
	new_namespaces
	veth_link 10.78.0.1 10.78.0.2
	"${in_a[@]}" "$tunpipe" -i tun0 -a 10.77.0.1/24 \
	    -e 'socat STDIO TCP-LISTEN:7000,bind=10.78.0.1,reuseaddr' \
	    </dev/null >/dev/null 2>"$dir/a.log" &
	procs=$!
	# b connects once, so it starts only when a listens.
	wait_listen "$ns_a" 7000 || return 1
	"${in_b[@]}" "$tunpipe" -i tun0 -a 10.77.0.2/24 \
	    -e 'socat STDIO TCP:10.78.0.1:7000' \
	    </dev/null >/dev/null 2>"$dir/b.log" &
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

# iperf_server LIMIT FILE: a one-off iperf3 server in b, JSON to FILE.
iperf_server() {
	"${in_b[@]}" timeout $(( $1 + 10 )) iperf3 -s -1 -J >"$2" 2>&1 &
	server=$!
	wait_listen "$ns_b" 5201
}

# iperf_client LIMIT ARGS...: one iperf3 test from a to b, at most LIMIT
# seconds, its JSON in $dir/client.json.  A tunnel that dies ends it at
# once rather than at LIMIT.
iperf_client() {
	local limit=$1 client i ok=0
	shift
	iperf_server "$limit" "$dir/server.json" || { stop_pids "$server"; return 1; }
	"${in_a[@]}" timeout "$limit" iperf3 -c "$target" -J "$@" \
	    >"$dir/client.json" 2>&1 &
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
	tcp_bytes=$(json_end "$dir/client.json" sum_received bytes)
	val=$(json_end "$dir/client.json" sum_received bits_per_second)
}

# udp_rate SIZE: packets a second that reached b, sent flat out (-b 0);
# b's own count: its packets (by sequence number) less those lost.
udp_rate() {
	val=
	iperf_client $(( udp_seconds + 20 )) -u -b 0 -l "$1" -t "$udp_seconds" || return 0
	val=$(awk -v p="$(json_end "$dir/server.json" sum packets)" \
	    -v l="$(json_end "$dir/server.json" sum lost_packets)" \
	    -v s="$(json_end "$dir/server.json" sum seconds)" \
	    'BEGIN { if (p != "" && s > 0) print (p - l) / s }')
}

# ping_avg: average RTT in ms of 20 pings, 50 ms apart.
ping_avg() {
	val=$("${in_a[@]}" timeout 15 ping -q -c 20 -i 0.05 -W 2 "$target" 2>/dev/null |
	    awk -F/ '/^rtt|^round-trip/ { print $5 }')
}

# ping_loaded: ping_avg while a TCP flow from a to b fills the path; the
# flow gets 1.5 s to fill the queues first and is stopped after the pings.
ping_loaded() {
	local flow
	val=
	iperf_server 30 "$dir/server-load.json" || { stop_pids "$server"; return 0; }
	"${in_a[@]}" timeout 30 iperf3 -c "$target" -t 10 >/dev/null 2>&1 &
	flow=$!
	sleep 1.5
	ping_avg
	alive "$flow" || val=	# a flow that ended early loaded nothing
	stop_pids "$flow" "$server"
}

# syscalls_per_packet: strace -c counts the syscalls of a's tunnel process
# while BENCH_STRACE_MB cross; divided by the packets its device carried
# in both directions meanwhile (data out, ACKs in).
syscalls_per_packet() {
	local pid=${procs%% *} before after calls i
	val=
	# timeout passes its TERM on to strace, which then detaches.
	timeout $(( strace_mb + 60 )) strace -c -f -o "$dir/strace.txt" \
	    -p "$pid" 2>"$dir/strace.err" &
	tracer=$!
	for i in $(seq 50); do
		grep -q attached "$dir/strace.err" 2>/dev/null && break
		sleep 0.1
	done
	before=$(dev_packets "$ns_a" "$dev")
	# Under strace at no less than 1 MB/s, or it is too slow to count.
	if iperf_client $(( strace_mb + 20 )) -n "${strace_mb}M"; then
		after=$(dev_packets "$ns_a" "$dev")
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

declare -A result		# result[PATH,METRIC]: a number, "" or words
declare -A death		# death[PATH]: what the tunnel said as it first died
declare -A died_in		# died_in[PATH]: the tests it died in
metrics="tcp1 tcp4 udp64 udp512 udp1400 rtt_idle rtt_load cpu rss syscalls"
clk_tck=$(getconf CLK_TCK)

# tunnel_procs_ok: whether procs are the tunnel programs themselves (their
# CPU, memory and syscalls are measured), not a shell or ip(8) before them.
tunnel_procs_ok() {
	local p
	for p in $procs; do
		case $(cat "/proc/$p/comm" 2>/dev/null) in
		tunpipe|socat) ;;
		*) note "process $p is not the tunnel"; return 1;;
		esac
	done
}

# bring_up PATH: sets PATH up, until a ping crosses it.
bring_up() {
	note "$1: setting up"
	"setup_${1//-/_}" && wait_ping "$target" && tunnel_procs_ok && return 0
	note "$1: the path did not come up; its logs:"
	cat "$dir/a.log" "$dir/b.log" >&2 || true
	return 1
}

# last_words: the last line each end of the tunnel logged.
last_words() {
	local end
	for end in a b; do
		[ -s "$dir/$end.log" ] || continue
		# socat's lines begin with a date and time: left out.
		printf '\n    %s: %s' "$end" "$(tail -n 1 "$dir/$end.log" |
		    sed 's|^[0-9/]* [0-9:]* ||')"
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
	t0=$(cpu_ticks $procs)
	tcp_rate 1
	rate=$val
	# shellcheck disable=SC2086
	t1=$(cpu_ticks $procs)
	[ -z "$procs" ] || [ -z "$t0" ] || [ -z "$t1" ] ||
	    result[$1,cpu]=$(awk -v t="$((t1 - t0))" -v hz="$clk_tck" \
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
		bring_up "$p" || { result[$p,$m]=setup-failed; return 0; }
	fi
	note "$p: $3"
	val=''
	"test_$m" "$p"
	if tunnel_alive; then
		result[$p,$m]=$val
	else
		result[$p,$m]=died
		[ "$m" != tcp1 ] || result[$p,cpu]=died
		# The first death's words tell why; the list, how often.
		death[$p]=${death[$p]:-"$(last_words)"}
		died_in[$p]="${died_in[$p]:+${died_in[$p]}; }$(label "$m" | sed 's/ \*$//; s/, delivered$//')"
		note "$p: the tunnel died:$(last_words)"
	fi
}

# run_path PATH: sets PATH up, runs every test, takes it down.
run_path() {
	local p=$1 m
	if [ "$p" = offload ] && [ "$has_offload" = no ]; then
		for m in $metrics; do result[$p,$m]="n/a (no -O)"; done
		return 0
	fi
	if ! bring_up "$p"; then
		for m in $metrics; do result[$p,$m]=setup-failed; done
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
			result[$p,rss]=$(peak_rss $procs)
		else
			result[$p,rss]=died
		fi
	fi
	teardown
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
	tcp) echo "tunpipe, TCP";;
	offload) echo "tunpipe -O, FIFOs";;
	socat) echo "socat TUN, FIFOs";;
	socat-udp) echo "socat TUN, UDP";;
	*) echo "$1";;
	esac
}

print_table() {
	local m p v base row
	printf '%-22s' ""
	for p in $paths; do printf ' | %-21s' "$(heading "$p")"; done
	echo
	printf '%-22s' "" | tr ' ' -
	for p in $paths; do printf -- '-+-%s' "$(printf '%-21s' "" | tr ' ' -)"; done
	echo
	for m in $metrics; do
		# The base is veth's figure; the rows veth has no process for
		# (marked *) are compared with tunpipe over FIFOs instead.
		base=${result[veth,$m]:-}
		isnum "$base" || base=${result[fifo,$m]:-}
		row=$(printf '%-22s' "$(label "$m")")
		for p in $paths; do
			v=${result[$p,$m]-none}
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
			row="$row | $(printf '%-21s' "$v")"
		done
		echo "$row"
	done
}

print_report() {
	local commit base
	commit=$(git -C "$here" describe --always --dirty 2>/dev/null || echo unknown)
	echo "tunpipe benchmark"
	echo "command: ${BENCH_TUNPIPE:+BENCH_TUNPIPE=$BENCH_TUNPIPE }BENCH_SECONDS=$tcp_seconds BENCH_UDP_SECONDS=$udp_seconds BENCH_STRACE_MB=$strace_mb BENCH_PATHS='$paths' bench/bench.sh"
	echo "date:    $started_at"
	echo "kernel:  $(uname -sr)"
	echo "cpu:     $(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores"
	echo "tunpipe: $("$tunpipe" -V 2>&1 | head -n 1), $tunpipe_source, tree at $commit"
	echo "tools:   $(iperf3 --version | head -n 1 | cut -d' ' -f1,2), $(socat -V | awk '/socat version/ { print "socat", $3; exit }'), $(strace -V | awk '{ print "strace", $NF; exit }')"
	echo
	print_table
	echo
	for p in $paths; do
		[ -n "${death[$p]:-}" ] || continue
		echo "$(heading "$p"): the tunnel died, and was set up afresh after, in:"
		echo "${died_in[$p]}" | fold -s -w 72 | sed 's/^/  /; s/ *$//'
		echo "  as it first died, it said:${death[$p]}"
		echo
	done
	if [[ " $paths " == *" veth "* ]]; then
		base="the veth path of this same run; in * rows, where veth has no process, to tunpipe over FIFOs"
	else
		base="tunpipe over FIFOs in this same run"
	fi
	fold -s -w 74 <<-EOF | sed 's/ *$//'
	(x) is the ratio to $base. Figures drift between runs on this machine: compare ratios within one run, not figures across runs.
	All from a to b. TCP: ${tcp_seconds} s a test. UDP: ${udp_seconds} s a size, sent flat out (-b 0), counted at b (its packets less those lost). RTT: the average of 20 pings 50 ms apart, idle and during a TCP flow.
	CPU, RSS and syscalls are the tunnel processes' own (tunpipe, or socat for socat TUN; not the socat that tunpipe -e runs). CPU: both ends' user+system time during the 1-stream TCP test, over the GB it carried. RSS: the larger VmHWM of the two ends, at the end. Syscalls: a's process under strace -c -f during a ${strace_mb} MB transfer, over the packets its device carried both ways.
	EOF
}

# --- main --------------------------------------------------------------

started=$(date +%s)
started_at=$(date '+%Y-%m-%d %H:%M:%S %z')
for p in $paths; do
	case $p in
	veth|fifo|tcp|offload|socat|socat-udp) ;;
	*) die "BENCH_PATHS: no path '$p' (veth fifo tcp offload socat socat-udp)";;
	esac
done
[ "$has_offload" = yes ] || note "this tunpipe has no --offload: its column is n/a"
for p in $paths; do run_path "$p"; done
print_report
echo "(the run took $(( $(date +%s) - started )) s)"
