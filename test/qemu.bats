#!/usr/bin/env bats
# QEMU and the Linux SLIP driver, real peers: one small guest, booted once
# for this file with TCG, is joined to tunpipe three ways:
#   eth0  -netdev stream (the README's line: socat UNIX-LISTEN, tunpipe -T
#         -f len32 -i vm0), 10.77.0.2 and fd77::2 in the guest, vm0 10.77.0.1
#         and fd77::1 in namespace A;
#   eth1  -netdev socket,connect= to socat TCP-LISTEN and tunpipe -T -f len32
#         -i vm1, 10.77.1.2 in the guest, vm1 10.77.1.1;
#   eth2  -netdev stream,server=on, which tunpipe -c joins as the far end
#         of a stream cut in pieces (test/relay) from tunpipe -T -i vm2,
#         10.77.3.2 in the guest, vm2 10.77.3.1;
#   sl0   the guest's second serial port under the kernel's SLIP line
#         discipline (ldattach), carried by a socket to tunpipe -f slip -i sl,
#         10.77.2.2 in the guest, sl 10.77.2.1.
# The guest is Debian's kernel with an initramfs built here from installed
# packages (busybox-static, the kernel's modules, util-linux's ldattach) and
# test/guest-init.  QEMU and every tunpipe run in namespace A; the guest's
# console is $G/console.log, and it takes commands on its third serial port
# (guest, in test/guest.bash).

load helpers
load guest

# bats cannot skip in setup_file: what the guest lacks is noted here, and
# each test skips (or in CI fails) with it.
setup_file() {
	guest_check
	export GUEST_MISSING
	[ -z "$GUEST_MISSING" ] || return 0
	export G=$BATS_FILE_TMPDIR NSMODE=root NS_A=tunpipe-test-$$-a
	T=$G
	guest_initramfs
	ip netns add "$NS_A"
	ns A ip link set lo up
	ns_bg A socat -b 131072 UNIX-LISTEN:"$G/vm.sock" \
	    EXEC:"$TUNPIPE -T -f len32 -i vm0" 2>"$G/vm0.err" &
	remember $!
	ns_bg A socat -b 131072 TCP-LISTEN:5555,bind=127.0.0.1,reuseaddr \
	    EXEC:"$TUNPIPE -T -f len32 -i vm1" 2>"$G/vm1.err" &
	remember $!
	wait_for 5 test -S "$G/vm.sock"
	wait_for 5 listening A 5555
	guest_boot
	# QEMU connected at start-up: each socat has started its tunpipe.
	wait_for 5 has_link A vm0 || { cat "$G/vm0.err" >&2; return 1; }
	wait_for 5 has_link A vm1 || { cat "$G/vm1.err" >&2; return 1; }
	ns A ip addr add 10.77.0.1/24 dev vm0
	ns A ip -6 addr add fd77::1/64 dev vm0 nodad
	ns A ip link set vm0 up
	ns A ip addr add 10.77.1.1/24 dev vm1
	ns A ip link set vm1 up
}

# The guest, QEMU, the socats and their tunpipes, then the namespace.
teardown_file() { guest_teardown_file; }

setup() { guest_setup; }
teardown() { kill_remembered; }

# guest_check: sets GUEST_MISSING to what the guest needs and lacks (root,
# or a program and its package), else to nothing, and KVER and VMLINUZ to
# the newest kernel in /boot whose modules include SLIP.
guest_check() {
	local v
	GUEST_MISSING=
	KVER=
	if [ "$(id -u)" != 0 ]; then
		GUEST_MISSING="needs root"
	elif ! command -v qemu-system-x86_64 >/dev/null; then
		GUEST_MISSING="no qemu-system-x86_64 (Debian: qemu-system-x86)"
	elif ! command -v socat >/dev/null; then
		GUEST_MISSING="no socat (Debian: socat)"
	elif ! command -v ldattach >/dev/null; then
		GUEST_MISSING="no ldattach (Debian: util-linux)"
	elif ! command -v modprobe >/dev/null; then
		GUEST_MISSING="no modprobe (Debian: kmod)"
	# The initramfs has no C library for busybox: it must be static.
	elif ! [ -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
		GUEST_MISSING="no statically linked /bin/busybox (Debian: busybox-static)"
	fi
	[ -z "$GUEST_MISSING" ] || return 0
	for v in $(ls /boot | sed -n 's/^vmlinuz-//p' | sort -V); do
		modprobe -S "$v" --show-depends slip >/dev/null 2>&1 && KVER=$v
	done
	[ -n "$KVER" ] || GUEST_MISSING="no kernel in /boot with modules for virtio-net and SLIP (Debian: linux-image-amd64)"
	VMLINUZ=/boot/vmlinuz-$KVER
}

# guest_initramfs: $G/initramfs.cpio: test/guest-init as /init, static
# busybox, the modules for virtio-net and SLIP with their dependencies
# (their load order in /modules/order), and ldattach with its libraries.
guest_initramfs() {
	local root=$G/root lib
	# shellcheck disable=SC2046
	guest_root "$root" /bin/busybox $(for m in virtio_pci virtio_net slip; do
		modprobe -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++')
	cp "$(command -v ldattach)" "$root/bin/"
	for lib in $(ldd "$(command -v ldattach)" | grep -o '/[^ ]*'); do
		cp -L --parents "$lib" "$root"
	done
	guest_cpio "$root" "$G/initramfs.cpio"
}

# guest_boot: QEMU with the guest in namespace A: eth0 on the README's
# -netdev stream, eth1 on -netdev socket, eth2 on -netdev stream listening
# on $G/vm2.sock, ttyS0 the console, ttyS1 the
# SLIP line (a socket QEMU listens on, $G/slip.sock), ttyS2 the command
# port (a pipe: $G/ctl.in and $G/ctl.out, read into $G/ctl.log).
guest_boot() {
	guest_ctl_pipes
	ns_bg A qemu-system-x86_64 -accel tcg -m 256 -nodefaults -no-user-config \
	    -display none -no-reboot -kernel "$VMLINUZ" -initrd "$G/initramfs.cpio" \
	    -append "console=ttyS0 quiet panic=-1 guest.eth0=10.77.0.2/24 guest.eth0=fd77::2/64 guest.eth1=10.77.1.2/24 guest.eth2=10.77.3.2/24 guest.sl0=10.77.2.2/24" \
	    -serial "file:$G/console.log" \
	    -chardev "socket,id=slip,path=$G/slip.sock,server=on,wait=off" \
	    -serial chardev:slip \
	    -chardev "pipe,id=ctl,path=$G/ctl" -serial chardev:ctl \
	    -netdev stream,id=n0,server=off,addr.type=unix,addr.path="$G/vm.sock" \
	    -device virtio-net-pci,netdev=n0 \
	    -netdev socket,id=n1,connect=127.0.0.1:5555 \
	    -device virtio-net-pci,netdev=n1 \
	    -netdev stream,id=n2,server=on,addr.type=unix,addr.path="$G/vm2.sock" \
	    -device virtio-net-pci,netdev=n2 \
	    </dev/null >"$G/qemu.log" 2>&1 &
	QEMU_PID=$!
	remember $QEMU_PID
	guest_wait_ready 120 "kernel $KVER"
}

@test "QEMU -netdev stream, joined by the README's socat line: ping both ways, IPv4 and IPv6" {
	ns A ping -c 3 -i 0.2 -W 5 10.77.0.2
	guest ping -c 3 -i 0.2 -w 10 10.77.0.1
	ns A ping -6 -c 3 -i 0.2 -W 5 fd77::2
	guest ping -6 -c 3 -i 0.2 -w 10 fd77::1
}

@test "QEMU -netdev stream: a TCP transfer each way arrives intact" {
	to_guest 10.77.0.2 $((4 * 1024 * 1024))
	from_guest 10.77.0.2 $((4 * 1024 * 1024))
}

@test "QEMU -netdev socket,connect=: ping both ways" {
	ns A ping -c 3 -i 0.2 -W 5 10.77.1.2
	guest ping -c 3 -i 0.2 -w 10 10.77.1.1
}

@test "QEMU -netdev socket,connect=: a TCP transfer each way arrives intact" {
	to_guest 10.77.1.2 $((4 * 1024 * 1024))
	from_guest 10.77.1.2 $((4 * 1024 * 1024))
}

@test "QEMU -netdev stream,server=on, joined by tunpipe -c at the far end of a stream cut in pieces: ping both ways, a transfer each way intact" {
	wait_for 5 test -S "$G/vm2.sock"
	ns_bg A "$TUNPIPE" -v -T -i vm2 -a 10.77.3.1/24 -e "$RELAY -c 20000 \
	    -p 200 | exec $TUNPIPE -v -c $G/vm2.sock" 2>"$T/vm2.err" &
	remember $!
	wait_for 5 has_link A vm2 || { cat "$T/vm2.err" >&2; false; }
	ns A ping -c 3 -i 0.2 -W 5 10.77.3.2
	guest ping -c 3 -i 0.2 -w 10 10.77.3.1
	to_guest 10.77.3.2 $((4 * 1024 * 1024))
	from_guest 10.77.3.2 $((4 * 1024 * 1024))
	grep -q "device $G/vm2.sock (a socket, len32)" "$T/vm2.err"
}

@test "Linux SLIP (ldattach in the guest) on a serial port: ping both ways, a transfer each way intact" {
	ns_bg A "$TUNPIPE" -v -f slip -i sl -a 10.77.2.1/24 \
	    -e "socat STDIO UNIX-CONNECT:$G/slip.sock" 2>"$T/sl.err" &
	remember $!
	wait_for 5 has_link A sl || { cat "$T/sl.err" >&2; false; }
	ns A ping -c 3 -i 0.2 -W 5 10.77.2.2
	guest ping -c 3 -i 0.2 -w 10 10.77.2.1
	# full-size packets: the guest's sl0 took MTU 1500
	ns A ping -c 2 -s 1472 -M do -W 5 10.77.2.2
	to_guest 10.77.2.2 $((256 * 1024))
	from_guest 10.77.2.2 $((256 * 1024))
}
