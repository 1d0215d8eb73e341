#!/usr/bin/env bats
# Live tunnels on real kernels of other architectures, with the seccomp
# filter on: QEMU (TCG) boots Debian 12's own kernel for KERNEL_ARCH
# (arm64, armhf, s390x, ppc64el or i386), fetched by test/foreign/fetch-kernel,
# with an initramfs of that architecture's static busybox, test/guest-init
# and the cross-built static tunpipe (GUEST_TUNPIPE, default
# cross/ARCH/tunpipe-static).  tunpipe runs in the guest as root on a
# virtio-serial port ("tunnel"), whose other end is a socket QEMU listens
# on ($G/tunnel.sock), reached by tunpipe in namespace A through socat:
#
#   namespace A: vm0 10.77.0.1 fd77::1  <- tunpipe -e socat ->  tunnel.sock
#   guest:       tp0 10.77.0.2 fd77::2  <- tunpipe <> /dev/virtio-ports/tunnel
#
# One boot per run of this file, for one architecture:
#   KERNEL_ARCH=arm64 bats test/foreign/kernels.bats   (make check-kernels
# runs it for each).  The guest's console is $G/console.log; it takes
# commands on a second virtio-serial port ("ctl"), see test/guest.bash.

TUNPIPE=${TUNPIPE:-$BATS_TEST_DIRNAME/../../tunpipe}
load ../helpers
load ../guest

ARCH=${KERNEL_ARCH:-}
KERNEL_CACHE=${KERNEL_CACHE:-$BATS_TEST_DIRNAME/cache}
GUEST_TUNPIPE=${GUEST_TUNPIPE:-$BATS_TEST_DIRNAME/../../cross/$ARCH/tunpipe-static}
# Bytes sent each way per transfer: TCG is slow, a few packets of 64 KiB
# (with -O) and many of MTU size are enough to show a wrong header.
BYTES=$((512 * 1024))

# bats cannot skip in setup_file: what the guest lacks is noted here, and
# each test skips (or in CI fails) with it.
setup_file() {
	arch_qemu
	guest_check
	export GUEST_MISSING
	[ -z "$GUEST_MISSING" ] || return 0
	export G=$BATS_FILE_TMPDIR NSMODE=root NS_A=tunpipe-test-$ARCH-$$-a
	T=$G
	# shellcheck disable=SC2046
	guest_root "$G/root" "$KERNEL_CACHE/$ARCH/busybox" \
	    $(sed "s|^|$KERNEL_CACHE/$ARCH/modules/|" "$KERNEL_CACHE/$ARCH/modules/order")
	cp "$GUEST_TUNPIPE" "$G/root/bin/tunpipe"
	tunnel_port_script >"$G/root/bin/tunnel-port"
	chmod 755 "$G/root/bin/tunnel-port"
	guest_cpio "$G/root" "$G/initramfs.cpio"
	ip netns add "$NS_A"
	ns A ip link set lo up
	# No duplicate address detection: the addresses work at once.
	ns A sysctl -qw net.ipv6.conf.default.accept_dad=0
	guest_ctl_pipes
	guest_boot
	guest "echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad"
}

# The guest, QEMU, the tunpipes, then the namespace.
teardown_file() { guest_teardown_file; }

setup() { guest_setup; }

# What went wrong with either tunpipe is shown with the failure; the
# guest's tunpipe is stopped, so that the next test can open the port.
teardown() {
	[ -z "$GUEST_MISSING" ] || return 0
	[ -n "${BATS_TEST_COMPLETED:-}" ] || tunpipes_said
	kill_remembered
	guest_tunpipe_stop
}

# arch_qemu: for $ARCH, the QEMU program and machine (QEMU_MACHINE), the
# console's kernel name (CONSOLE) and QEMU options (CONSOLE_OPTS), the
# virtio-serial controller (VIRTIO_SERIAL) and what uname -m says there
# (UNAME_M).  Unknown architectures leave QEMU empty.
arch_qemu() {
	QEMU='' CONSOLE_OPTS="-serial file:$BATS_FILE_TMPDIR/console.log"
	case $ARCH in
	arm64)
		QEMU=qemu-system-aarch64 QEMU_MACHINE="-M virt -cpu cortex-a57"
		CONSOLE=ttyAMA0 VIRTIO_SERIAL=virtio-serial-device UNAME_M=aarch64
		;;
	armhf)
		QEMU=qemu-system-arm QEMU_MACHINE="-M virt -cpu cortex-a15"
		CONSOLE=ttyAMA0 VIRTIO_SERIAL=virtio-serial-device UNAME_M=armv7l
		;;
	s390x)
		QEMU=qemu-system-s390x QEMU_MACHINE="-M s390-ccw-virtio"
		CONSOLE=ttysclp0 VIRTIO_SERIAL=virtio-serial-ccw UNAME_M=s390x
		CONSOLE_OPTS="-chardev file,id=con,path=$BATS_FILE_TMPDIR/console.log -device sclpconsole,chardev=con"
		;;
	ppc64el)
		QEMU=qemu-system-ppc64 QEMU_MACHINE="-M pseries"
		CONSOLE=hvc0 VIRTIO_SERIAL=virtio-serial-pci UNAME_M=ppc64le
		CONSOLE_OPTS="-chardev file,id=con,path=$BATS_FILE_TMPDIR/console.log -device spapr-vty,chardev=con"
		;;
	i386)
		QEMU=qemu-system-i386 QEMU_MACHINE="-M pc"
		CONSOLE=ttyS0 VIRTIO_SERIAL=virtio-serial-pci UNAME_M=i686
		;;
	esac
	export QEMU QEMU_MACHINE CONSOLE CONSOLE_OPTS VIRTIO_SERIAL UNAME_M
}

# guest_check: sets GUEST_MISSING to what the guest needs and lacks (an
# architecture, root, a program and its package, the kernel, the guest's
# tunpipe), else to nothing.
guest_check() {
	GUEST_MISSING=
	if [ -z "$QEMU" ]; then
		GUEST_MISSING="KERNEL_ARCH='$ARCH' names none of arm64 armhf s390x ppc64el i386: run KERNEL_ARCH=arm64 bats $BATS_TEST_FILENAME, or make check-kernels"
	elif [ "$(id -u)" != 0 ]; then
		GUEST_MISSING="needs root"
	elif ! command -v "$QEMU" >/dev/null; then
		GUEST_MISSING="no $QEMU (Debian: $(qemu_package))"
	elif ! command -v socat >/dev/null; then
		GUEST_MISSING="no socat (Debian: socat)"
	# The host's busybox packs the initramfs.
	elif ! [ -x /bin/busybox ]; then
		GUEST_MISSING="no /bin/busybox (Debian: busybox-static)"
	elif ! [ -f "$KERNEL_CACHE/$ARCH/ready" ]; then
		GUEST_MISSING="no $ARCH kernel in $KERNEL_CACHE/$ARCH: run test/foreign/fetch-kernel $ARCH $KERNEL_CACHE (make check-kernels does)"
	elif ! [ -x "$GUEST_TUNPIPE" ]; then
		GUEST_MISSING="no $GUEST_TUNPIPE: run make cross/$ARCH/tunpipe-static (make check-kernels does)"
	fi
}

# qemu_package: the Debian package of $QEMU.
qemu_package() {
	case $QEMU in
	qemu-system-aarch64 | qemu-system-arm) echo qemu-system-arm ;;
	qemu-system-ppc64) echo qemu-system-ppc ;;
	qemu-system-i386) echo qemu-system-x86 ;;
	*) echo qemu-system-misc ;;
	esac
}

# guest_boot: QEMU with the guest in namespace A, its console in
# $G/console.log, two virtio-serial ports: "ctl", the command port (a
# pipe), and "tunnel", a socket QEMU listens on ($G/tunnel.sock).  Notes
# the boot's seconds in $G/boot.seconds.
guest_boot() {
	local start=$SECONDS
	# shellcheck disable=SC2086
	ns_bg A "$QEMU" -accel tcg $QEMU_MACHINE -m 256 -nodefaults \
	    -no-user-config -display none -no-reboot \
	    -kernel "$KERNEL_CACHE/$ARCH/vmlinuz" -initrd "$G/initramfs.cpio" \
	    -append "console=$CONSOLE quiet panic=-1 guest.ctl=ctl" \
	    $CONSOLE_OPTS \
	    -device "$VIRTIO_SERIAL" \
	    -chardev "pipe,id=ctl,path=$G/ctl" \
	    -device virtserialport,chardev=ctl,name=ctl \
	    -chardev "socket,id=tunnel,path=$G/tunnel.sock,server=on,wait=off" \
	    -device virtserialport,chardev=tunnel,name=tunnel \
	    </dev/null >"$G/qemu.log" 2>&1 &
	QEMU_PID=$!
	remember $QEMU_PID
	guest_wait_ready 300 "Debian's $(cat "$KERNEL_CACHE/$ARCH/version") for $ARCH"
	echo $((SECONDS - start)) >"$G/boot.seconds"
}

# tunnel_port_script: /bin/tunnel-port in the guest, a command for
# tunpipe -e whose stdin and stdout are the tunnel port: opened once (a
# virtio-serial port opens only once), read by one cat, written by
# another, their PIDs in /tmp/tunnel-port.pids for guest_tunpipe_stop.
tunnel_port_script() {
	cat <<-'EOF'
	#!/bin/sh
	exec 3<>/dev/virtio-ports/tunnel
	cat <&3 3>&- &
	echo $! $$ >/tmp/tunnel-port.pids
	exec cat >&3 3>&-
	EOF
}

# tunnel_pair [OPTIONS...]: tunpipe in namespace A (vm0, 10.77.0.1/24 and
# fd77::1/64) on the tunnel port's socket, then tunpipe in the guest (tp0,
# 10.77.0.2/24 and fd77::2/64) on the port, each with -v and OPTIONS.
# GUEST_OPTS adds options for the guest's end only; GUEST_STREAM, when
# set, replaces its stdin and stdout on the port (by tunpipe options:
# -e tunnel-port).  The host's tunpipe is
# HOST_PID, its stderr in $T/host.err; the guest's stderr is in
# /tmp/tunpipe.err there, and its exit status, once it has ended, in
# /tmp/tunpipe.status.
tunnel_pair() {
	local stream=${GUEST_STREAM:-"<>/dev/virtio-ports/tunnel >&0"}
	ns_bg A "$TUNPIPE" -v -i vm0 -a 10.77.0.1/24 -a fd77::1/64 "$@" \
	    -e "socat STDIO UNIX-CONNECT:$G/tunnel.sock" 2>"$T/host.err" &
	HOST_PID=$!
	remember $!
	wait_for 5 has_link A vm0 || { cat "$T/host.err" >&2; return 1; }
	# The port reads end of file until QEMU has a peer on its socket.
	guest "rm -f /tmp/tunpipe.status; (tunpipe -v -i tp0 -a 10.77.0.2/24 -a fd77::2/64 $* ${GUEST_OPTS:-} $stream 2>/tmp/tunpipe.err; echo \$? >/tmp/tunpipe.status) >/dev/null 2>&1 &"
	wait_for 20 guest "[ -e /tmp/tunpipe.status ] || ip addr show tp0 | grep -q 10.77.0.2"
	guest_tunpipe_alive
	guest "ip addr show tp0 | grep -q 10.77.0.2" || {
		echo "tunpipe in the $ARCH guest gave tp0 no address in 20 s" >&2
		return 1
	}
}

# guest_tunpipe_alive: tunpipe still runs in the guest; if it has ended
# (the filter stops it with SIGSYS), fails with its status and stderr.
guest_tunpipe_alive() {
	guest '[ ! -e /tmp/tunpipe.status ] && pidof tunpipe' >/dev/null && return 0
	echo "tunpipe in the $ARCH guest has ended, status $(guest cat /tmp/tunpipe.status 2>&1)" >&2
	return 1
}

# tunpipes_said: both tunpipes' stderr, for a failed test.
tunpipes_said() {
	echo "tunpipe in the $ARCH guest said:" >&2
	guest cat /tmp/tunpipe.err >&2 || true
	echo "tunpipe in namespace A said:" >&2
	cat "$T/host.err" >&2 2>/dev/null || true
}

# guest_tunpipe_stop: no tunpipe runs in the guest within 5 s: its peer
# has gone (end of file), or it is told to stop; nor what tunnel-port
# started, which would keep the port open.
guest_tunpipe_stop() {
	# shellcheck disable=SC2016
	guest 'i=0; while pidof tunpipe >/dev/null; do [ $i = 10 ] && kill $(pidof tunpipe); [ $i -lt 50 ] || exit 1; i=$((i + 1)); sleep 0.1; done; [ ! -e /tmp/tunnel-port.pids ] || kill $(cat /tmp/tunnel-port.pids) 2>/dev/null; rm -f /tmp/tunnel-port.pids' ||
	    echo "tunpipe in the $ARCH guest did not stop in 5 s" >&2
}

# gso_crossed: the stream carried packets larger than the MTU (1500) both
# ways, on average: GSO packets, with their virtio-net header, went to the
# guest and came back.  From the counters that tunpipe in namespace A
# prints on SIGUSR1 ("to stream: N packets, N bytes; from stream: ...").
gso_crossed() {
	local counts number='([0-9]+)'
	kill -USR1 "$HOST_PID"
	wait_for 5 grep -q "to stream:" "$T/host.err"
	counts=$(grep -m 1 "to stream:" "$T/host.err")
	if [[ $counts =~ to\ stream:\ $number\ packets,\ $number\ bytes\;\ from\ stream:\ $number\ packets,\ $number\ bytes ]] &&
	    [ "${BASH_REMATCH[1]}" -gt 0 ] && [ "${BASH_REMATCH[3]}" -gt 0 ] &&
	    [ $((BASH_REMATCH[2] / BASH_REMATCH[1])) -gt 1500 ] &&
	    [ $((BASH_REMATCH[4] / BASH_REMATCH[3])) -gt 1500 ]; then
		return 0
	fi
	echo "no GSO packets crossed the stream both ways with -O: $counts" >&2
	return 1
}

# pings_and_transfers: ping both ways over IPv4 and IPv6, a checksummed
# TCP transfer each way, and the guest's tunpipe still alive at the end.
pings_and_transfers() {
	ns A ping -c 3 -i 0.2 -W 10 10.77.0.2
	guest ping -c 3 -i 0.2 -w 15 10.77.0.1
	ns A ping -6 -c 3 -i 0.2 -W 10 fd77::2
	guest ping -6 -c 3 -i 0.2 -w 15 fd77::1
	to_guest 10.77.0.2 "$BYTES"
	from_guest 10.77.0.2 "$BYTES"
	guest_tunpipe_alive
}

@test "$ARCH: the guest runs Debian 12's own kernel for $ARCH" {
	local booted
	booted=$(guest uname -m -r)
	echo "# $ARCH: $booted, booted in $(cat "$G/boot.seconds") s under TCG" >&3
	[ "${booted#* }" = "$UNAME_M" ]
	[ "${booted% *}" = "$(sed 's/^linux-image-\([^ ]*\) .*/\1/' "$KERNEL_CACHE/$ARCH/version")" ]
}

@test "$ARCH: tunpipe in the guest runs confined by its seccomp filter (Seccomp: 2), and SIGUSR1 reads its MTU under it" {
	local seccomp
	tunnel_pair
	ns A ping -c 2 -i 0.2 -W 10 10.77.0.2
	# shellcheck disable=SC2016
	seccomp=$(guest 'sed -n "s/^Seccomp:[[:space:]]*//p" /proc/$(pidof tunpipe)/status')
	[ "$seccomp" = 2 ] || {
		echo "tunpipe in the $ARCH guest is not confined: Seccomp: $seccomp" >&2
		false
	}
	# SIGUSR1's counters read the device's MTU: an ioctl that the filter
	# allows by its request, read at the low half of the argument.
	guest 'kill -USR1 $(pidof tunpipe)'
	wait_for 10 guest "grep -q 'tp0 (tun, mtu 1500' /tmp/tunpipe.err" || {
		echo "tunpipe in the $ARCH guest printed no counters on SIGUSR1" >&2
		false
	}
	guest_tunpipe_alive
}

@test "$ARCH, TUN with the default offloads: ping both ways, IPv4 and IPv6; a TCP transfer each way intact" {
	tunnel_pair
	pings_and_transfers
}

@test "$ARCH, -O on both ends: GSO packets and their virtio-net header cross the stream both ways; ping both ways; a TCP transfer each way intact" {
	tunnel_pair -O
	pings_and_transfers
	gso_crossed
}

@test "$ARCH, -T (TAP) on both ends: ping both ways; a TCP transfer each way intact" {
	tunnel_pair -T
	pings_and_transfers
}

@test "$ARCH, the guest's stream through -e's command (its starter under the filter): ping both ways; a TCP transfer each way intact" {
	GUEST_STREAM="-e tunnel-port" tunnel_pair
	pings_and_transfers
}

@test "$ARCH, -k, -s and -w in the guest (its clock, timers and a capture file under the filter): a TCP transfer each way intact" {
	local captured
	GUEST_OPTS="-s 1 -w /tmp/capture.pcapng" tunnel_pair -k 1
	to_guest 10.77.0.2 "$BYTES"
	from_guest 10.77.0.2 "$BYTES"
	# Idle for more than -k's second: empty frames go both ways.
	sleep 2
	guest_tunpipe_alive
	guest grep -q out_packets= /tmp/tunpipe.err || {
		echo "tunpipe -s 1 in the $ARCH guest printed no figures" >&2
		false
	}
	captured=$(guest 'wc -c </tmp/capture.pcapng')
	[ "$captured" -gt $((2 * BYTES)) ] || {
		echo "tunpipe -w in the $ARCH guest captured $captured bytes, less than the transfers' $((2 * BYTES))" >&2
		false
	}
}
