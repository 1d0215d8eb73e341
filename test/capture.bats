#!/usr/bin/env bats
# Seeing what crosses: -w writes every packet, both ways, as a pcapng
# capture that tshark and tcpdump read; -s prints figures a script can
# parse; -N reads a recorded stream without a device.

load helpers

# IPv6 is off (ipv6_off): its chatter would add packets the tests cannot
# predict.
setup() {
	netns_setup
	ipv6_off
}
teardown() {
	netns_teardown
	[ -z "${NOBODY_DIR:-}" ] || rm -rf "$NOBODY_DIR"
	[ -z "${SMALL_FS:-}" ] || umount "$SMALL_FS" || umount -l "$SMALL_FS"
}

# directions FILE: for each packet of the capture, its direction (1 in,
# 2 out, as epb_flags has them), its protocols and its length.
directions() {
	capture_fields "$1" frame.packet_flags_direction frame.protocols frame.len
}

# stats_field FILE KEY: KEY's value in the last -s line of FILE.
stats_field() {
	grep -E '^tunpipe: tp[ab]: t=' "$1" | tail -n 1 |
	    tr ' ' '\n' | sed -n "s/^$2=//p"
}

@test "-w: the capture holds exactly the pings sent, each way, with their directions" {
	A_OPTS=(-w "$T/a.pcapng")
	ipv4_only_tunnel
	ns A ping -c 5 -i 0.2 -s 100 -W 2 10.77.0.1 >/dev/null	# its own: no packet
	ns A ping -c 5 -i 0.2 -s 100 -W 2 10.77.0.2
	ns B ping -c 3 -i 0.2 -s 200 -W 2 10.77.0.1
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	directions "$T/a.pcapng" >"$T/dirs"
	cat "$T/dirs"
	# A sent 5 requests of 128 bytes and got 5 replies; B sent 3 of 228
	[ "$(grep -c $'^0x00000002\traw:ip:icmp:data\t128$' "$T/dirs")" = 5 ]
	[ "$(grep -c $'^0x00000001\traw:ip:icmp:data\t128$' "$T/dirs")" = 5 ]
	[ "$(grep -c $'^0x00000001\traw:ip:icmp:data\t228$' "$T/dirs")" = 3 ]
	[ "$(grep -c $'^0x00000002\traw:ip:icmp:data\t228$' "$T/dirs")" = 3 ]
	[ "$(wc -l <"$T/dirs")" = 16 ]
	# tcpdump reads it too, and counts as many packets.
	[ "$(quiet tcpdump -n -r "$T/a.pcapng" | wc -l)" = 16 ]
}

@test "-w: a TCP transfer's every segment, both ways, as many as tunpipe counted" {
	A_OPTS=(-w "$T/a.pcapng")
	ipv4_only_tunnel
	transfer B 10.77.0.2 5
	kill -USR1 "$PID_A"
	wait_for 5 grep -q 'to stream:' "$T/a.err"
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	local out in
	out=$(grep -o 'to stream: [0-9]* packets' "$T/a.err" | tail -n 1 | tr -dc 0-9)
	in=$(grep -o 'from stream: [0-9]* packets' "$T/a.err" | tail -n 1 | tr -dc 0-9)
	directions "$T/a.pcapng" >"$T/dirs"
	echo "counted $out out, $in in"
	[ "$(grep -c '^0x00000002' "$T/dirs")" = "$out" ]
	[ "$(grep -c '^0x00000001' "$T/dirs")" = "$in" ]
	# every packet on the wire is an ordinary one: none over the MTU
	[ "$(cut -f3 "$T/dirs" | sort -n | tail -n 1)" -le 1500 ]
	grep -q $'raw:ip:tcp' "$T/dirs"
}

@test "-w in TAP mode: Ethernet frames, ARP among them" {
	A_OPTS=(-T -w "$T/a.pcapng")
	B_OPTS=(-T)
	ipv4_only_tunnel
	ns A ping -c 2 -i 0.2 -W 2 10.77.0.2
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	directions "$T/a.pcapng" >"$T/dirs"
	grep -q $'^0x00000002\teth:ethertype:arp' "$T/dirs"
	grep -q $'^0x00000001\teth:ethertype:arp' "$T/dirs"
	[ "$(grep -c $'eth:ethertype:ip:icmp' "$T/dirs")" = 4 ]
}

@test "-w to a FIFO nobody reads: the tunnel carries on, the lost records are counted, memory stays flat" {
	mkfifo "$T/cap"
	A_OPTS=(-w "$T/cap")
	ipv4_only_tunnel
	transfer B 10.77.0.2 20
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$PID_A/status" >"$T/rss"
	transfer B 10.77.0.2 20
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$PID_A/status" >>"$T/rss"
	kill -USR1 "$PID_A"
	wait_for 5 grep -q 'capture: [1-9][0-9]* lost' "$T/a.err"
	echo "RSS (KiB): $(tr '\n' ' ' <"$T/rss")"
	# make check SANITIZE=1 (ASAN_OPTIONS set): ASan's shadow memory and
	# its larger code take about 5.5 MiB more at the start; flat all the same.
	local most=8192
	[[ -z ${ASAN_OPTIONS:-} ]] || most=16384
	[ "$(sort -n "$T/rss" | tail -n 1)" -le "$most" ]
	[ "$(( $(tail -n 1 "$T/rss") - $(head -n 1 "$T/rss") ))" -le 256 ]
}

@test "-w to a FIFO read live: a reader that comes late gets a whole capture, header first" {
	mkfifo "$T/cap"
	A_OPTS=(-w "$T/cap")
	ipv4_only_tunnel
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	timeout 10 cat "$T/cap" >"$T/live.pcapng" &
	local reader=$!
	ns A ping -c 2 -i 0.2 -W 2 10.77.0.2
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	wait "$reader" || true
	[ "$(capture_fields "$T/live.pcapng" frame.len | wc -l)" = 10 ]
}

# small_fs: a file system of 128 KiB at $SMALL_FS, for a capture to fill;
# teardown unmounts it.
small_fs() {
	need_root
	SMALL_FS=$T/small
	mkdir "$SMALL_FS"
	mount -t tmpfs -o size=128k tunpipe-test "$SMALL_FS" || {
		SMALL_FS=
		return 1
	}
}

# recording COUNT LEN [-O]: a recorded stream, on stdout, of COUNT IPv4
# packets of LEN bytes (20 to 65535), each with its number as its ID: in
# len16 frames, or with -O as -O carries them, in len32 frames each with
# a virtio-net header (an ordinary packet) first.
recording() {
	local vnet='' framing=len16 payload i
	if [ "${3:-}" = -O ]; then
		vnet=00000000000000000000
		framing=len32
	fi
	payload=$(head -c "$(($2 - 20))" /dev/zero | od -An -v -tx1 | tr -d ' \n')
	for ((i = 1; i <= $1; i++)); do
		printf '%s4500%04x%04x400040fd00000a4d00010a4d0002%s\n' "$vnet" \
		    "$2" "$i" "$payload"
	done | "$BATS_TEST_DIRNAME/framing-driver" encode -f "$framing"
}

# readable FILE: tshark and tcpdump read the whole capture FILE without
# a complaint, each exiting 0.
readable() {
	local tool
	for tool in tshark tcpdump; do
		"$tool" -n -r "$1" >/dev/null 2>"$T/$tool.err" ||
		    fail "$tool -r $1: status $?" "$(cat "$T/$tool.err")" || return 1
		! grep -iE 'damaged|corrupt|cut short|truncated|error' \
		    "$T/$tool.err" || fail "$tool -r $1 complained" || return 1
	done
}

@test "-w on a file system that fills up, then has room again: the capture stays whole, and every record lost is counted and said" {
	small_fs
	A_OPTS=(-s 60 -w "$SMALL_FS/a.pcapng")
	ipv4_only_tunnel
	ns A ping -c 10 -i 0.05 -s 1000 -W 2 10.77.0.2 >/dev/null
	# The filler takes what room is left, and dd stops at the full disk.
	dd if=/dev/zero of="$SMALL_FS/filler" bs=4k 2>/dev/null || true
	ns A ping -c 40 -i 0.05 -s 1000 -W 2 10.77.0.2 >/dev/null
	rm "$SMALL_FS/filler"
	ns A ping -c 10 -i 0.2 -s 1000 -W 2 10.77.0.2 >/dev/null
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	cat "$T/a.err"
	readable "$SMALL_FS/a.pcapng"
	local records crossed lost
	records=$(capture_fields "$SMALL_FS/a.pcapng" frame.number | wc -l)
	crossed=$(( $(stats_field "$T/a.err" out_packets) + $(stats_field "$T/a.err" in_packets) ))
	lost=$(stats_field "$T/a.err" capture_lost)
	echo "$records records, $lost lost, $crossed packets crossed"
	[ "$crossed" = 120 ]
	[ "$lost" -gt 0 ]
	[ "$(( records + lost ))" = "$crossed" ]
	# Said as it happened, naming the file and the error, and at the end.
	local w="-w $SMALL_FS/a.pcapng"
	grep -q ": $w: No space left on device: [0-9]* packets lost so far; the capture stays readable$" "$T/a.err"
	grep -q ": $w: writing again, after [0-9]* packets lost$" "$T/a.err"
	grep -q ": $w: $lost packets lost to writes that failed (No space left on device)$" "$T/a.err"
}

@test "-w up to the file size limit (ulimit -f): the tunnel carries on, and the capture ends at its last whole record, every other counted lost" {
	recording 300 1000 >"$T/rec.bin"
	# 64 KiB: less than the 300 records of about 1 KiB.
	run bash -c 'ulimit -f 64 && exec "$0" -N -w "$1"' "$TUNPIPE" \
	    "$T/limit.pcapng" <"$T/rec.bin"
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"from stream: 300 packets"* ]]
	[ "$(stat -c %s "$T/limit.pcapng")" -le 65536 ]
	readable "$T/limit.pcapng"
	local records lost
	records=$(capture_fields "$T/limit.pcapng" frame.number | wc -l)
	lost=$(grep -o 'capture: [0-9]* lost' <<<"$output" | tr -dc 0-9)
	echo "$records records, $lost lost"
	[ "$records" -gt 0 ]
	[ "$(( records + lost ))" = 300 ]
	[[ "$output" == *"-w $T/limit.pcapng: File too large: "*" packets lost so far; the capture stays readable"* ]]
	[[ "$output" == *"-w $T/limit.pcapng: $lost packets lost to writes that failed (File too large)"* ]]
}

@test "-s: lines of key=value figures every second, whose totals agree with the traffic sent; SIGUSR1 prints one at once" {
	A_OPTS=(-s 1)
	ipv4_only_tunnel
	ns A ping -c 4 -i 0.2 -s 100 -W 2 10.77.0.2
	wait_for 5 eval '[ "$(grep -c "^tunpipe: tpa: t=" "$T/a.err")" -ge 2 ]'
	# every line is the device, then key=value pairs
	grep '^tunpipe: tpa: ' "$T/a.err" | cut -d' ' -f3- | tr ' ' '\n' |
	    grep -vE '^[a-z_]+=[0-9.]+$' && return 1
	kill -USR1 "$PID_A"
	sleep 0.5
	[ "$(stats_field "$T/a.err" out_packets)" = 4 ]
	[ "$(stats_field "$T/a.err" out_bytes)" = 512 ]
	[ "$(stats_field "$T/a.err" in_packets)" = 4 ]
	[ "$(stats_field "$T/a.err" drops)" = 0 ]
	[ "$(stats_field "$T/a.err" backlog)" = 0 ]
	grep -qE '^tunpipe: tpa: t=[0-9.]+ out_pps=[0-9]+ out_bps=[0-9]+ in_pps=[0-9]+ in_bps=[0-9]+ out_packets=' "$T/a.err"
}

@test "-N: a recording made with tee gives the packets of the live capture, and exits as a live run would" {
	# A's stream passes through tee on its way to B.
	mkfifo "$T/ab" "$T/ba" "$T/a.out"
	ns_bg A "$TUNPIPE" -i tpa -w "$T/live.pcapng" <"$T/ba" >"$T/a.out" 2>"$T/a.err" &
	PID_A=$!
	remember $PID_A
	tee "$T/rec.bin" <"$T/a.out" >"$T/ab" &
	remember $!
	ns_bg B "$TUNPIPE" -i tpb >"$T/ba" <"$T/ab" 2>"$T/b.err" &
	remember $!
	wait_for 5 has_link A tpa
	wait_for 5 has_link B tpb
	ns A ip addr add 10.77.0.1/24 dev tpa
	ns B ip addr add 10.77.0.2/24 dev tpb
	ns A ip link set tpa up
	ns B ip link set tpb up
	transfer B 10.77.0.2 1
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	# No device, no privilege: as nobody, in a directory of nobody's
	# (the test's own is root's alone), removed in teardown.
	NOBODY_DIR=$(mktemp -d /tmp/tunpipe-test-nobody.XXXXXX)
	chmod 777 "$NOBODY_DIR"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$TUNPIPE" -N -w "$NOBODY_DIR/rec.pcapng" <"$T/rec.bin"
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"stream (tun, no device, up "*"from stream: "*" packets"*"dropped: 0 not IP"* ]]
	capture_hex "$T/live.pcapng" 'frame.packet_flags_direction == 2' >"$T/live.txt"
	capture_hex "$NOBODY_DIR/rec.pcapng" >"$T/rec.txt"
	[ "$(grep -c '^IP ' "$T/rec.txt")" -gt 700 ]
	cmp "$T/live.txt" "$T/rec.txt"
	# Cut short, the recording is a stream error that says where.
	head -c 100000 "$T/rec.bin" >"$T/cut.bin"
	run "$TUNPIPE" -N <"$T/cut.bin"
	[ "$status" = 4 ]
	[[ "$output" =~ "input stream ended inside a frame: "[0-9]+" of "[0-9]+" bytes of its packet arrived (the frame starts at byte "[0-9]+")" ]]
}

@test "-N -O -w of a recording of large GSO packets: a record for each, none lost, whatever one read of the stream brings" {
	# 40 frames of 64 KiB: each read of the stream brings 8, more than
	# the 512 KiB of records that may wait.
	recording 40 65535 -O >"$T/gso.bin"
	run "$TUNPIPE" -N -O -w "$T/gso.pcapng" <"$T/gso.bin"
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"from stream: 40 packets, 2621400 bytes"*"capture: 0 lost" ]]
	[[ "$output" != *"lost to"* ]]
	capture_fields "$T/gso.pcapng" frame.len ip.id >"$T/records"
	[ "$(wc -l <"$T/records")" = 40 ]
	[ "$(cut -f1 "$T/records" | sort -u)" = 65535 ]
	[ "$(cut -f2 "$T/records" | tr '\n' ' ')" = "$(printf '0x%04x ' $(seq 1 40))" ]
}

@test "-w - and -N with device options are refused; -w's file is opened before -U, and the filter stays on" {
	run "$TUNPIPE" -w - </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-w -: standard output is the stream; name a file or a FIFO"* ]]
	run "$TUNPIPE" -N -a 10.77.0.1/24 </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-N reads a recording and has no device"* ]]
	run "$TUNPIPE" -N -w "$T/nowhere/x.pcapng" </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-w $T/nowhere/x.pcapng: No such file or directory"* ]]
	# root's directory, nobody's packet loop
	mkdir -m 700 "$T/root"
	A_OPTS=(-U nobody -w "$T/root/a.pcapng")
	ipv4_only_tunnel
	ns A ping -c 2 -i 0.2 -W 2 10.77.0.2
	[ "$(awk '$1 == "Seccomp:" { print $2 }' "/proc/$PID_A/status")" = 2 ]
	[ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$PID_A/status")" = "$(id -u nobody)" ]
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	[ "$(capture_fields "$T/root/a.pcapng" frame.len | wc -l)" = 4 ]
}

@test "-w refuses a symbolic link, which could point the capture at another file, and leaves what it points at alone; a FIFO is still welcome" {
	need_root
	echo "root's own" >"$T/victim"
	ln -s "$T/victim" "$T/cap.pcapng"
	# As in /tmp, where anyone may leave a link: root, dropping to nobody.
	run ns A "$TUNPIPE" -U nobody -i tpa -w "$T/cap.pcapng" </dev/null
	echo "$output"
	[ "$status" = 2 ]
	[[ "$output" == *"-w $T/cap.pcapng is a symbolic link, which -w does not follow: a link in a shared directory could point the capture at another file; name the file itself"* ]]
	[ "$(cat "$T/victim")" = "root's own" ]
	[ "$(stat -c %U "$T/victim")" = root ]
	no_link A tpa
	# A link to nothing yet: refused, and nothing is created.
	ln -s "$T/new" "$T/dangling.pcapng"
	run "$TUNPIPE" -N -w "$T/dangling.pcapng" </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-w $T/dangling.pcapng is a symbolic link"* ]]
	[ ! -e "$T/new" ]
	# A FIFO at its own path is welcome, through a link it is not.
	mkfifo "$T/fifo"
	ln -s "$T/fifo" "$T/fifo-link"
	run "$TUNPIPE" -N -w "$T/fifo-link" </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-w $T/fifo-link is a symbolic link"* ]]
	run "$TUNPIPE" -N -w "$T/fifo" </dev/null
	[ "$status" = 0 ]
}

@test "-w with -U: a capture that tunpipe creates belongs to that user and group, as with tcpdump -Z; a file that was there keeps its owner" {
	need_root
	A_OPTS=(-U nobody -w "$T/a.pcapng")
	ipv4_only_tunnel
	ns A ping -c 2 -i 0.2 -W 2 10.77.0.2
	kill -TERM "$PID_A"
	wait_exit 5 "$PID_A"
	[ "$(stat -c %U:%G "$T/a.pcapng")" = "nobody:$(id -gn nobody)" ]
	[ "$(capture_fields "$T/a.pcapng" frame.len | wc -l)" = 4 ]
	# A file that was there: written over, still root's.
	echo "an old capture" >"$T/old.pcapng"
	run ns A "$TUNPIPE" -U nobody -i tpc -w "$T/old.pcapng" </dev/null
	[ "$status" = 0 ]
	[ "$(stat -c %U:%G "$T/old.pcapng")" = root:root ]
	[ "$(hexof "$T/old.pcapng" | head -c 8)" = 0a0d0d0a ]
}
