#!/bin/bash
# failover.sh: how long traffic between two sites of a routed mesh stops
# when the link between them dies, with bird watching the devices' carrier
# and without.  Three network namespaces of its own, a, b and c, joined in a
# triangle by veth pairs, each running examples/mesh.sh router (bird, OSPFv2
# and OSPFv3, hello 1, dead 4), and three tunpipe links over TCP, each end
# `tunpipe -r 1 -k 1 -e socat ...` (a dials b and c, b dials c), so that
# both ends of a link keep their device while its stream is down.  a pings
# c's addresses (IPv4 and IPv6, from its own, every 20 ms); then the a-c
# link dies in one of two ways:
#
#   closed  a's socat is killed: the TCP connection closes, and both
#           tunpipes see their stream end at once; then the path drops
#           everything (blackhole routes to the far end, at both ends), so
#           that -r cannot bring the link back
#   silent  the path drops everything, the connection stays open: each
#           tunpipe hears nothing more, and -k 1 gives up a peer that sent
#           keepalives after 3 s of silence
#
# and the time from that moment to the first echo reply to a ping sent
# after it (through b) is the failover time: a ping sent while the link
# is being cut (a few milliseconds, for ip(8) to run) counts as one before.  Then the path comes back,
# the direct route with it, and the next trial starts.  Each way is tried
# FAILOVER_TRIALS times with bird watching the carrier (check link yes,
# mesh.sh's default: tunpipe turns the carrier off while the stream is
# down, and bird drops the neighbour at once) and as many times with bird
# blind to it (MESH_CHECK_LINK=no, check link no: only OSPF's dead
# interval, 4 s, ends the neighbour): the same tunpipe, the same links, a
# mesh built afresh for each setting.  The table gives the median and the
# range of each, and how often a's device was seen without its carrier.
#
# Nothing is added to the machine's own namespace; every process started
# and the namespaces are removed at exit, also on failure or Ctrl-C.
#
# usage: bench/failover.sh    (as root; `make bench-failover` builds and
#                              installs bird2 and socat first)
# environment:
#   FAILOVER_TRIALS  trials of each way and setting (default 5)
#   BENCH_TUNPIPE    the tunpipe to measure (default: the one built here)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
tunpipe=${BENCH_TUNPIPE:-$here/tunpipe}
mesh=$here/examples/mesh.sh

die() { echo "failover.sh: $*" >&2; exit 1; }
note() { echo "failover.sh: $*" >&2; }

trials=${FAILOVER_TRIALS:-5}
case $trials in ''|*[!0-9]*|0) die "FAILOVER_TRIALS takes a whole number above 0, not '$trials'";; esac

[ "$(id -u)" = 0 ] || die "network namespaces need root: run 'sudo make bench-failover'"
[ -x "$tunpipe" ] || die "$tunpipe is not built: run 'make bench-failover'"
for tool in ip ping socat bird birdc awk setsid; do
	command -v "$tool" >/dev/null || die "no $tool: run 'make bench-failover', which installs it"
done

prefix=tunpipe-failover-$$
dir=

# on SITE COMMAND...: COMMAND in namespace SITE (a, b or c).
on() {
	local site=$1
	shift
	ip netns exec "$prefix-$site" "$@"
}

# --- namespaces and processes -------------------------------------------

site_pids() {
	local s
	for s in a b c; do ip netns pids "$prefix-$s" 2>/dev/null || true; done
}

# Every process in the namespaces is this script's: TERM, up to 3 s, KILL.
teardown() {
	local pids s
	pids=$(site_pids)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086
		kill $pids 2>/dev/null || true
		for _ in $(seq 30); do
			[ -n "$(site_pids)" ] || break
			sleep 0.1
		done
		pids=$(site_pids)
		# shellcheck disable=SC2086
		[ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	for s in a b c; do ip netns del "$prefix-$s" 2>/dev/null || true; done
}

cleanup() {
	teardown
	[ -z "$dir" ] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dir=$(mktemp -d)
# A copy, so that a make elsewhere in the tree cannot swap it mid-run.
cp "$tunpipe" "$dir/tunpipe"

# underlay X Y DEV_X DEV_Y NET: a veth pair between sites X and Y, /24,
# each end NET.N, N the site's number (a 1, b 2, c 3).
underlay() {
	ip link add "$3" netns "$prefix-$1" type veth peer name "$4" netns "$prefix-$2"
	on "$1" ip addr add "$5.$(site_n "$1")/24" dev "$3"
	on "$2" ip addr add "$5.$(site_n "$2")/24" dev "$4"
	on "$1" ip link set "$3" up
	on "$2" ip link set "$4" up
}

site_n() { case $1 in a) echo 1 ;; b) echo 2 ;; c) echo 3 ;; esac; }

# link DIALER LISTENER NAME PORT DIALER_ADDRESS LISTENER_ADDRESS HOST: a
# tunpipe at each end, device NAME, the addresses /30; the LISTENER's socat
# listens on HOST:PORT, the DIALER's connects to it.
link() {
	on "$2" "$dir/tunpipe" -v -i "$3" -a "$6/30" -r 1 -k 1 \
	    -e "socat STDIO TCP-LISTEN:$4,bind=$7,reuseaddr" \
	    </dev/null >/dev/null 2>>"$dir/$3.$2.log" &
	for _ in $(seq 50); do
		on "$2" ss -Hltn "sport = :$4" | grep -q . && break
		sleep 0.1
	done
	on "$1" "$dir/tunpipe" -v -i "$3" -a "$5/30" -r 1 -k 1 \
	    -e "socat STDIO TCP:$7:$4" \
	    </dev/null >/dev/null 2>>"$dir/$3.$1.log" &
}

# route_dev SITE ADDRESS: the device of the route to ADDRESS there.
route_dev() {
	on "$1" ip route get "$2" 2>/dev/null |
	    awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }'
}

# direct: a and c route to each other over mesh-ac, IPv4 and IPv6, and
# every site reaches every other.
direct() {
	[ "$(route_dev a 10.77.0.3)" = mesh-ac ] && [ "$(route_dev a fd77::3)" = mesh-ac ] &&
	    [ "$(route_dev c 10.77.0.1)" = mesh-ac ] && [ "$(route_dev c fd77::1)" = mesh-ac ] &&
	    [ -n "$(route_dev a 10.77.0.2)" ] && [ -n "$(route_dev a fd77::2)" ] &&
	    [ -n "$(route_dev b 10.77.0.3)" ] && [ -n "$(route_dev b fd77::3)" ]
}

# settle: OSPF originates a router's LSA at most once in 5 s
# (MinLSInterval), and so postpones the first change after a recent one:
# each trial starts once the last change is 6 s old.  bird's timers tick
# every second from its start (hellos, the routing table calculation),
# and the last change came on one of those ticks: a random fraction of a
# second more keeps the trials from starting in step with them.
settle() { sleep "6.$(printf '%03d' $((RANDOM % 1000)))"; }

# wait_direct SECONDS: until direct holds, or fails.
wait_direct() {
	for _ in $(seq $(( $1 * 10 ))); do
		direct && return 0
		sleep 0.1
	done
	return 1
}

# mesh CHECK_LINK: the three sites and links afresh, bird's check link set
# to CHECK_LINK, converged.
mesh() {
	local s n
	teardown
	for s in a b c; do
		ip netns add "$prefix-$s"
		on "$s" ip link set lo up
	done
	underlay a b fab fba 10.78.0
	underlay a c fac fca 10.79.0
	underlay b c fbc fcb 10.78.1
	for s in a b c; do
		n=$(site_n "$s")
		on "$s" env MESH_CHECK_LINK="$1" setsid "$mesh" router "$dir/bird.$s" \
		    "10.77.0.$n" "fd77::$n" </dev/null >/dev/null 2>"$dir/bird.$s.log" &
	done
	link a b mesh-ab 7001 10.77.0.129 10.77.0.130 10.78.0.2
	link b c mesh-bc 7002 10.77.0.133 10.77.0.134 10.78.1.3
	link a c mesh-ac 7003 10.77.0.137 10.77.0.138 10.79.0.3
	wait_direct 60 || { cat "$dir"/*.log >&2; die "the mesh did not converge in 60 s"; }
	settle
}

# --- one trial ------------------------------------------------------------

# cut ON|OFF: the path between a and c drops everything (blackhole routes
# to the far end's underlay address at both ends), or no longer does.
cut() {
	local verb=add
	[ "$1" = on ] || verb=del
	on a ip route "$verb" blackhole 10.79.0.3/32
	on c ip route "$verb" blackhole 10.79.0.1/32
}

# dialer_socat: the PID of a's socat that carries mesh-ac.
dialer_socat() {
	local pid
	for pid in $(ip netns pids "$prefix-a"); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = socat ] &&
		    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'TCP:10.79.0.3:7003' &&
		    { echo "$pid"; return 0; }
	done
	return 1
}

now() { date +%s.%N; }

# first_after FILE T0 T1: seconds from T0 to the first reply, in ping -D's
# output FILE, to a ping sent after T1 (sent = received - round trip).
# T0 is when the link began to die, T1 when it was dead for sure: a ping
# sent between the two may still have crossed it.
first_after() {
	awk -v t0="$2" -v t1="$3" '
	    /bytes from/ && match($0, /^\[[0-9.]+\]/) {
		    rx = substr($0, 2, RLENGTH - 2)
		    rtt = $0; sub(/.* time=/, "", rtt); sub(/ .*/, "", rtt)
		    if (rx - rtt / 1000 > t1) { printf "%.3f\n", rx - t0; exit }
	    }' "$1"
}

# trial WAY: one failover of the a-c link, the way named, under bird's
# check link $setting; appends the
# IPv4 and IPv6 failover times to $dir/result.WAY.SETTING.4 and .6, and
# a line to .carrier when a's mesh-ac lost its carrier meanwhile.
trial() {
	local way=$1 t0 t1 p4 p6 f4='' f6='' pid seen=0
	on a ping -D -n -i 0.02 -W 1 -I 10.77.0.1 10.77.0.3 >"$dir/ping4" 2>&1 &
	p4=$!
	on a ping -6 -D -n -i 0.02 -W 1 -I fd77::1 fd77::3 >"$dir/ping6" 2>&1 &
	p6=$!
	sleep 1
	if [ "$way" = closed ]; then
		pid=$(dialer_socat) || die "no socat for mesh-ac in a"
		t0=$(now)
		kill -9 "$pid"
		# The close goes out before the path is cut.
		while [ -e "/proc/$pid" ]; do sleep 0.01; done
		t1=$(now)
		cut on
	else
		t0=$(now)
		cut on
		t1=$(now)
	fi
	for _ in $(seq 300); do
		on a ip -o link show dev mesh-ac | grep -q NO-CARRIER && seen=1
		f4=$(first_after "$dir/ping4" "$t0" "$t1")
		f6=$(first_after "$dir/ping6" "$t0" "$t1")
		[ -n "$f4" ] && [ -n "$f6" ] && break
		sleep 0.1
	done
	kill "$p4" "$p6" 2>/dev/null || true
	wait "$p4" "$p6" 2>/dev/null || true
	if [ -z "$f4" ] || [ -z "$f6" ]; then
		die "no traffic through b 30 s after the link died ($way)"
	fi
	echo "$f4" >>"$dir/result.$way.$setting.4"
	echo "$f6" >>"$dir/result.$way.$setting.6"
	[ "$seen" = 0 ] || echo >>"$dir/result.$way.$setting.carrier"
	note "$setting, $way: IPv4 $f4 s, IPv6 $f6 s, carrier off seen: $seen"
	cut off
	wait_direct 60 || die "the direct link did not come back in 60 s"
	settle
}

# --- the report ------------------------------------------------------------

# stats FILE: "median s (min-max)" of the numbers in FILE.
stats() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f s (%.2f-%.2f)", m, v[1], v[NR] }'
}

carrier_count() {
	[ -f "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0
}

started=$(date '+%Y-%m-%d %H:%M')
for setting in yes no; do
	note "bird's check link $setting: building the mesh"
	mesh "$setting"
	for way in closed silent; do
		for _ in $(seq "$trials"); do
			trial "$way"
		done
	done
done
teardown

echo
echo "failover.sh, $started: $("$tunpipe" -V 2>&1 | head -n 1), $(bird --version 2>&1 | head -n 1),"
echo "Linux $(uname -r); median (min-max) of $trials trials, time from the a-c link's death"
echo "to the first echo reply through b to a ping sent after it (pings every 20 ms)"
echo
printf '%-24s | %-28s | %-28s\n' "" "carrier followed (check link)" "dead interval only (4 s)"
printf '%-24s-+-%-28s-+-%-28s\n' "" "" "" | tr ' ' -
for way in closed silent; do
	for family in 4 6; do
		printf '%-24s | %-28s | %-28s\n' "stream $way, IPv$family" \
		    "$(stats "$dir/result.$way.yes.$family")" \
		    "$(stats "$dir/result.$way.no.$family")"
	done
done
for way in closed silent; do
	printf '%-24s | %-28s | %-28s\n' "a's NO-CARRIER, $way" \
	    "$(carrier_count "$dir/result.$way.yes.carrier") of $trials trials" \
	    "$(carrier_count "$dir/result.$way.no.carrier") of $trials trials"
done
