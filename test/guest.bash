# guest.bash: the small QEMU guests that qemu.bats (the host's amd64
# kernel) and foreign/kernels.bats (Debian's kernels of other
# architectures) boot: their initramfs (busybox and test/guest-init), the
# wait for their start, and their command port, a QEMU pipe chardev
# ($G/ctl.in and $G/ctl.out, read into $G/ctl.log) on which guest-init
# runs commands.  $G is the guest's directory, $QEMU_PID its QEMU; test
# files load helpers.bash first.

GUEST_INIT=$(dirname "${BASH_SOURCE[0]}")/guest-init

# guest_teardown_file: teardown_file's work: the guest, QEMU and all
# else in namespace A, then the namespace; nothing if setup_file made no
# guest ($G).
guest_teardown_file() {
	[ -n "${G:-}" ] || return 0
	T=$G
	netns_teardown_all
}

# guest_setup: setup's work: a test skips (in CI: fails) with what the
# guest lacks (GUEST_MISSING, which setup_file sets), else gets its own
# $T.
guest_setup() {
	[ -z "$GUEST_MISSING" ] || skip_or_fail "$GUEST_MISSING"
	T=$BATS_TEST_TMPDIR
}

# guest_root ROOT BUSYBOX MODULE...: the guest's tree in ROOT: the static
# BUSYBOX (the initramfs has no C library) as /bin/busybox and /bin/sh,
# test/guest-init as /init, and the kernel's MODULE files, in the order
# given (dependencies first), with that order in /modules/order.
guest_root() {
	local root=$1 busybox=$2 ko
	shift 2
	mkdir -p "$root"/bin "$root"/dev "$root"/proc "$root"/sys \
	    "$root"/tmp "$root"/modules
	cp "$busybox" "$root/bin/busybox"
	ln -sf busybox "$root/bin/sh"
	cp "$GUEST_INIT" "$root/init"
	chmod 755 "$root/init"
	: >"$root/modules/order"
	for ko; do
		cp "$ko" "$root/modules/"
		basename "$ko" >>"$root/modules/order"
	done
}

# guest_cpio ROOT FILE: ROOT packed into FILE, an initramfs (newc cpio),
# by the host's static busybox.
guest_cpio() {
	(cd "$1" && find . | /bin/busybox cpio -o -H newc) >"$2" 2>/dev/null
}

# guest_ctl_pipes: the FIFOs of the command port, for QEMU's
# "-chardev pipe,id=ctl,path=$G/ctl", and the reader that logs what the
# guest says on it.
guest_ctl_pipes() {
	mkfifo "$G/ctl.in" "$G/ctl.out"
	cat "$G/ctl.out" >"$G/ctl.log" &
	remember $!
}

# guest_wait_ready SECONDS WHAT: waits for the guest to say it is ready on
# its console ($G/console.log); if it does not, fails with what QEMU and
# the console said, naming the guest WHAT.
guest_wait_ready() {
	# A kernel that panics ends QEMU (-no-reboot): no need to wait on.
	wait_for "$1" guest_booted && grep -q "guest-init: ready" "$G/console.log" || {
		echo "the guest did not boot in $1 s ($2); QEMU said:" >&2
		cat "$G/qemu.log" >&2
		echo "and its console:" >&2
		cat "$G/console.log" >&2
		return 1
	}
}

# guest_booted: the guest is ready, or QEMU has ended.
guest_booted() {
	grep -q "guest-init: ready" "$G/console.log" || ! kill -0 "$QEMU_PID"
}

# guest COMMAND: runs COMMAND in the guest (busybox sh) and prints its
# output; fails with its status.  At most GUEST_SECONDS (default 60).
guest() {
	local id status seconds=${GUEST_SECONDS:-60}
	id=$(date +%s%N)
	# Opening the FIFO waits for its reader, QEMU: 10 s at most.
	# shellcheck disable=SC2016
	timeout 10 sh -c 'printf "%s\n" "$1" >"$2"' sh "$id $*" "$G/ctl.in" || {
		echo "the guest's command port is closed: has QEMU ended?" >&2
		return 1
	}
	wait_for "$seconds" grep -q "^guest-done $id " "$G/ctl.log" || {
		echo "the guest did not finish in $seconds s: $*" >&2
		return 1
	}
	sed -n "/^guest-begin $id\$/,/^guest-done $id /p" "$G/ctl.log" | sed '1d;$d'
	status=$(sed -n "s/^guest-done $id //p" "$G/ctl.log")
	return "$status"
}

# guest_listens PORT: a TCP socket listens on PORT in the guest.
guest_listens() {
	guest "netstat -ltn | grep -q ':$1 '"
}

# to_guest ADDRESS BYTES: sends that many random bytes over TCP from
# namespace A to the guest at ADDRESS, where sha256sum reads them and
# answers with their digest, which must be ours.
to_guest() {
	local digest
	head -c "$2" /dev/urandom >"$T/sent"
	guest "nc -l -p 5001 -e sha256sum >/dev/null 2>&1 &"
	wait_for 10 guest_listens 5001
	digest=$(ns A timeout 60 socat -t 60 - "TCP:$1:5001" <"$T/sent")
	[ "${digest%% *}" = "$(sha256sum <"$T/sent" | cut -d' ' -f1)" ]
}

# from_guest ADDRESS BYTES: the guest makes that many random bytes and
# sends them over TCP from ADDRESS to namespace A, where they must have the
# digest the guest computed.
from_guest() {
	local digest
	digest=$(guest "head -c $2 /dev/urandom >/tmp/out && sha256sum </tmp/out")
	guest "nc -l -p 5002 -e cat /tmp/out >/dev/null 2>&1 &"
	wait_for 10 guest_listens 5002
	ns A timeout 60 socat -u "TCP:$1:5002" "CREATE:$T/received"
	[ "${digest%% *}" = "$(sha256sum <"$T/received" | cut -d' ' -f1)" ]
}
