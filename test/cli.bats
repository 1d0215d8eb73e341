#!/usr/bin/env bats
# The command line: help, version, and clear refusals of bad arguments.

load helpers

teardown() {
	[ -z "${NS_A:-}" ] || netns_teardown
}

@test "--help describes every option and exits 0" {
	run "$TUNPIPE" --help
	[ "$status" = 0 ]
	[[ "${lines[0]}" == "usage: tunpipe "* ]]
	for o in -a --address -c --connect -d --down -h --help -i --interface -k --keepalive -m --mtu \
	    -o --owner -p --persist -q --quiet -T --tap -U --user -u --up -V --version \
	    -v --verbose; do
		[[ "$output" == *" $o"* ]] || { echo "missing $o"; return 1; }
	done
}

@test "--version prints the version" {
	run "$TUNPIPE" --version
	[ "$status" = 0 ]
	[[ "$output" =~ ^tunpipe\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "an unknown option or a stray argument is a usage error, status 2" {
	run "$TUNPIPE" --frobnicate </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"usage: tunpipe"* ]]
	run "$TUNPIPE" extra </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"unexpected argument 'extra'"* ]]
}

@test "an interface name of 16 characters or more is refused, not truncated" {
	run "$TUNPIPE" -i abcdefghijklmnop </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"'abcdefghijklmnop' is too long: at most 15 characters"* ]]
}

@test "-i refuses, naming them, the names the kernel refuses, and only those" {
	local name refused="the kernel refuses an empty name, '.' and '..', and any name with '/', ':' or white space (space, \t, \n, \v, \f, \r or byte 0xa0) in it"
	for name in '' . .. a/b a:b 'a b' $'a\tb' $'a\nb' $'a\vb' $'a\fb' $'a\rb' \
	    $'a\240b' à; do
		run "$TUNPIPE" -i "$name" </dev/null
		[ "$status" = 2 ] && [[ "$output" == *": interface name '$name' is not valid: $refused" ]] ||
		    fail "-i $(printf %q "$name"): status $status: $output"
	done
	# What the message allows, the kernel takes.
	netns_setup
	for name in 'a|b' "a'b" 'a*' é 'a@b' a.b a-b_c; do
		run ns A timeout 5 "$TUNPIPE" -v -i "$name" </dev/null >/dev/null
		[ "$status" = 0 ] && [[ "$output" == *"device $name (tun"* ]] ||
		    fail "-i $(printf %q "$name"): status $status: $output"
	done
}

@test "without the privilege to open the device, the error says how to fix it" {
	[ "$(id -u)" = 0 ] || skip_or_fail "needs root to run tunpipe as nobody"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$TUNPIPE" </dev/null >/dev/null
	[ "$status" = 3 ]
	[[ "$output" == *"run as root"*"ip tuntap add dev NAME mode tun user USER"* ]]
}

# Every C file at the top is one of tunpipe's (the design keeps them flat).
@test "the sources build without a warning under gcc and under clang" {
	for cc in gcc clang; do
		run "$cc" -O2 -Wall -Wextra -o "$BATS_TEST_TMPDIR/tunpipe-$cc" \
		    "$BATS_TEST_DIRNAME"/../*.c
		echo "$cc: $output"
		[ "$status" = 0 ]
		[ -z "$output" ]
	done
}

@test "-f takes len16, len32 or slip, and refuses what cannot work" {
	run "$TUNPIPE" -f len64 </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-f len64: the framings are len16 (the default), len32 and slip"* ]]
	run "$TUNPIPE" -f slip -T </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-f slip carries IP packets only"* ]]
	run "$TUNPIPE" -O -f len16 </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-O sends frames too large for -f len16"* ]]
}

@test "a closed standard input or output is refused, naming which, unless -e carries the stream" {
	run bash -c '"$0" <&-' "$TUNPIPE"
	[ "$status" = 2 ]
	[[ "$output" == *"standard input is closed: tunpipe carries the stream on standard input and output"* ]]
	run bash -c '"$0" >&- </dev/null' "$TUNPIPE"
	[ "$status" = 2 ]
	[[ "$output" == *"standard output is closed"*"or let a command carry it with -e"* ]]
}

@test "-q with -v, and the same address twice, are usage errors" {
	run "$TUNPIPE" -v -q </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-q and -v ask for opposite things: give one"* ]]
	run "$TUNPIPE" -q -v </dev/null
	[ "$status" = 2 ]
	run "$TUNPIPE" -a 10.77.0.1/24 -a 10.77.0.1/16 </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"-a 10.77.0.1/16: 10.77.0.1 is given twice"* ]]
	run "$TUNPIPE" -a fd77::1/64 -a fd77:0::1/64 </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"is given twice"* ]]
}

@test "-c: no socket there, a file that is not a socket, and a device's options are refused, each naming the fix" {
	run "$TUNPIPE" -c "$BATS_TEST_TMPDIR/none" </dev/null
	[ "$status" = 3 ]
	[[ "$output" == *"-c $BATS_TEST_TMPDIR/none: no such socket: start passt (passt -s $BATS_TEST_TMPDIR/none) or QEMU"* ]]
	: >"$BATS_TEST_TMPDIR/file"
	run "$TUNPIPE" -c "$BATS_TEST_TMPDIR/file" </dev/null
	[ "$status" = 3 ]
	[[ "$output" == *"nothing listens there: passt or QEMU ended (passt -1 serves one client, then exits), or $BATS_TEST_TMPDIR/file is not a socket"* ]]
	for o in "-a 10.77.0.1/24" "-m 1400" "-i tp0" "-O" "-G" "-N" "-u true"; do
		# shellcheck disable=SC2086
		run "$TUNPIPE" -c "$BATS_TEST_TMPDIR/file" $o </dev/null
		[ "$status" = 2 ]
		[[ "$output" == *"-c carries a socket's frames and has no device"* ]]
	done
}
