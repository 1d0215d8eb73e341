#!/bin/bash
# demo.sh: tunpipe's main job on one machine.  Two network namespaces, each
# with a tunpipe, joined by two FIFOs as a stream; a ping and a checksummed
# TCP transfer through the tunnel; the results printed; everything removed
# afterwards.  Nothing is added to the machine's own namespace.
#
# usage: examples/demo.sh        (as root; `make demo` builds first)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
tunpipe=$here/tunpipe
[ "$(id -u)" = 0 ] || { echo "demo.sh: network namespaces need root: run 'sudo make demo'" >&2; exit 1; }
[ -x "$tunpipe" ] || { echo "demo.sh: $tunpipe is not built: run 'make demo'" >&2; exit 1; }

a=tunpipe-demo-$$-a
b=tunpipe-demo-$$-b
dir=$(mktemp -d)
pids=

cleanup() {
	[ -z "$pids" ] || kill $pids 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del "$a" 2>/dev/null || true
	ip netns del "$b" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }

step "two namespaces, $a (10.77.0.1, fd77::1) and $b (10.77.0.2, fd77::2),"
echo "   joined by FIFOs through two tunpipes"
ip netns add "$a"
ip netns add "$b"
mkfifo "$dir/ab" "$dir/ba"
# The opening order matters: each FIFO open waits for the other end.
ip netns exec "$a" "$tunpipe" -v -i tun0 -a 10.77.0.1/24 -a fd77::1/64 \
    <"$dir/ba" >"$dir/ab" &
pids="$pids $!"
ip netns exec "$b" "$tunpipe" -v -i tun0 -a 10.77.0.2/24 -a fd77::2/64 \
    >"$dir/ba" <"$dir/ab" &
pids="$pids $!"
for ns in "$a" "$b"; do
	for _ in $(seq 50); do
		ip -n "$ns" -o addr show dev tun0 2>/dev/null | grep -q fd77 && break
		sleep 0.1
	done
done
ip -n "$a" addr show dev tun0

step "ping through the tunnel, IPv4 then IPv6"
ip netns exec "$a" ping -c 3 -i 0.2 10.77.0.2
ip netns exec "$a" ping -6 -c 3 -i 0.2 fd77::2

step "a 50 MB TCP transfer from $a to $b, checked by SHA-256"
head -c $((50 * 1024 * 1024)) /dev/urandom >"$dir/sent"
ip netns exec "$b" timeout 60 socat -u TCP-LISTEN:5001,bind=10.77.0.2 \
    "CREATE:$dir/received" &
listener=$!
for _ in $(seq 50); do
	ip netns exec "$b" ss -Hltn 'sport = :5001' | grep -q LISTEN && break
	sleep 0.1
done
start=$(date +%s.%N)
ip netns exec "$a" timeout 60 socat -u "FILE:$dir/sent" TCP:10.77.0.2:5001
wait "$listener"
end=$(date +%s.%N)
sent=$(sha256sum <"$dir/sent" | cut -d' ' -f1)
received=$(sha256sum <"$dir/received" | cut -d' ' -f1)
echo "sent     $sent"
echo "received $received"
awk -v s="$start" -v e="$end" \
    'BEGIN { printf "50 MB in %.2f s: %.0f Mbit/s\n", e - s, 50 * 8 * 1.048576 / (e - s) }'

step "counters (SIGUSR1) and peak memory of each tunpipe"
kill -USR1 $pids
sleep 0.3
for pid in $pids; do
	echo "tunpipe $pid: peak RSS $(awk '/VmHWM/ { print $2, $3 }' "/proc/$pid/status")"
done

step "result"
if [ "$sent" = "$received" ]; then
	echo "the transfer arrived intact; cleaning up"
else
	echo "the transfer was corrupted" >&2
	exit 1
fi
