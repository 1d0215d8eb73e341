#!/usr/bin/env bats
# Installing tunpipe: make install and uninstall, a manual page that agrees
# with the program, and a static binary that carries a tunnel.

load helpers

TOP=$BATS_TEST_DIRNAME/..
MANPAGE=$TOP/tunpipe.1

teardown() {
	[ -z "${T:-}" ] || netns_teardown
}

# need COMMAND PACKAGE: skips (fails in CI) when COMMAND is missing.
need() {
	command -v "$1" >/dev/null 2>&1 ||
	    skip_or_fail "$1 is not installed (Debian: $2; make check installs it)"
}

# build_copy: copies the sources to $SRC and builds there, so that the
# tests never touch the ./tunpipe the other tests run.
build_copy() {
	SRC=$BATS_TEST_TMPDIR/src
	mkdir -p "$SRC"
	cp "$TOP/Makefile" "$TOP"/*.[ch] "$MANPAGE" "$SRC"
	mkdir -p "$SRC/examples/systemd"
	cp "$TOP/examples/mesh.sh" "$SRC/examples"
	cp "$TOP"/examples/systemd/*.service "$SRC/examples/systemd"
}

# rendered: the manual page as text, without overstrikes.
rendered() {
	mandoc -T utf8 "$MANPAGE" | col -b
}

@test "make install puts the program, its manual, its units and mesh.sh under DESTDIR; make uninstall removes them" {
	local root=$BATS_TEST_TMPDIR/root
	build_copy
	make -C "$SRC" install DESTDIR="$root" PREFIX=/usr
	[ -x "$root/usr/bin/tunpipe" ]
	[ "$(stat -c %a "$root/usr/bin/tunpipe")" = 755 ]
	[ "$(stat -c %a "$root/usr/share/man/man1/tunpipe.1")" = 644 ]
	cmp "$MANPAGE" "$root/usr/share/man/man1/tunpipe.1"
	run "$root/usr/bin/tunpipe" --version
	[ "$status" = 0 ]
	[[ "$output" =~ ^tunpipe\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	# The unit starts the tunpipe installed beside it.
	[ "$(stat -c %a "$root/usr/lib/systemd/system/tunpipe@.service")" = 644 ]
	grep -q '^ *exec /usr/bin/tunpipe "\$\$@"'"'"'$' \
	    "$root/usr/lib/systemd/system/tunpipe@.service"
	grep -q '^ExecStart=/usr/lib/tunpipe/mesh.sh router ' \
	    "$root/usr/lib/systemd/system/tunpipe-mesh.service"
	grep -q '^ExecStart=/usr/lib/tunpipe/mesh.sh link ' \
	    "$root/usr/lib/systemd/system/tunpipe-mesh-link@.service"
	cmp "$TOP/examples/mesh.sh" "$root/usr/lib/tunpipe/mesh.sh"
	[ -x "$root/usr/lib/tunpipe/mesh.sh" ]
	! grep -r @ "$root/usr/lib/systemd/system" | grep -v 'tunpipe@\|mesh-link@\|root@'

	make -C "$SRC" uninstall DESTDIR="$root" PREFIX=/usr
	[ -z "$(find "$root" -type f)" ]
	[ ! -e "$root/usr/lib/tunpipe" ]
}

@test "BINDIR, MANDIR, UNITDIR and LIBEXECDIR choose where make install puts each file" {
	local root=$BATS_TEST_TMPDIR/root dirs
	build_copy
	dirs=(BINDIR=/opt/tp/sbin MANDIR=/opt/tp/man UNITDIR=/opt/tp/units
	    LIBEXECDIR=/opt/tp/lib)
	make -C "$SRC" install DESTDIR="$root" "${dirs[@]}"
	[ -x "$root/opt/tp/sbin/tunpipe" ]
	[ -f "$root/opt/tp/man/man1/tunpipe.1" ]
	grep -q 'exec /opt/tp/sbin/tunpipe ' "$root/opt/tp/units/tunpipe@.service"
	grep -q '^ExecStart=/opt/tp/lib/mesh.sh ' "$root/opt/tp/units/tunpipe-mesh.service"
	grep -q '^Environment=TUNPIPE=/opt/tp/sbin/tunpipe$' "$root/opt/tp/units/tunpipe-mesh-link@.service"
	make -C "$SRC" uninstall DESTDIR="$root" "${dirs[@]}"
	[ -z "$(find "$root" -type f)" ]
}

@test "the manual page passes mandoc -T lint" {
	need mandoc mandoc
	local out
	# Cross-references are looked up among the manuals installed on this
	# machine, which says nothing about the page itself.
	out=$(mandoc -T lint "$MANPAGE" 2>&1 |
	    grep -v -e 'referenced manual not found' -e 'outdated mandoc.db') || true
	[ -z "$out" ] || { echo "$out"; return 1; }
}

@test "the manual's SYNOPSIS is the usage line of tunpipe -h" {
	need mandoc mandoc
	need col bsdextrautils
	local usage synopsis
	usage=$("$TUNPIPE" -h 2>&1 | head -1)
	usage=$(printf '%s\n' "${usage#usage: }" | tr -s '[:space:]' ' ')
	synopsis=$(rendered | sed -n '/^SYNOPSIS$/,/^$/p' | sed 1d |
	    tr -s '[:space:]' ' ')
	synopsis=${synopsis# }
	echo "usage:    '${usage% }'"
	echo "SYNOPSIS: '${synopsis% }'"
	[ -n "$synopsis" ]
	[ "${synopsis% }" = "${usage% }" ]
}

@test "tunpipe -h, the manual and the README list the options in the same order" {
	local help page readme
	help=$("$TUNPIPE" -h | sed -n 's/^  -\([[:alnum:]]\), --.*/\1/p' | tr -d '\n')
	page=$(sed -n '/^The options are as follows:/,/^\.Sh /s/^\.It Fl \([[:alnum:]]\) .*/\1/p' \
	    "$MANPAGE" | tr -d '\n')
	readme=$(sed -n 's/^| `-\([[:alnum:]]\)`, `--.*/\1/p' "$TOP/README.md" | tr -d '\n')
	echo "-h:        $help"
	echo "tunpipe.1: $page"
	echo "README.md: $readme"
	[ -n "$page" ]
	[ "$help" = "$page" ]
	[ "$readme" = "$page" ]
}

@test "the manual page describes every long option of tunpipe --help" {
	need mandoc mandoc
	need col bsdextrautils
	local page opts o
	run "$TUNPIPE" --help
	[ "$status" = 0 ]
	opts=$(printf '%s\n' "$output" | grep -o -- '--[a-z][a-z-]*' | sort -u)
	[ -n "$opts" ]
	page=$(rendered)
	for o in $opts; do
		# An entry of the options list: "-x, --long [argument]".
		printf '%s\n' "$page" | grep -Eq -- "^ +-[[:alnum:]], $o( |\$)" ||
		    { echo "tunpipe.1 has no entry for $o"; return 1; }
	done
}

@test "make static builds a statically linked tunpipe" {
	build_copy
	make -C "$SRC" static
	run ldd "$SRC/tunpipe-static"
	echo "$output"
	[[ "$output" == *"not a dynamic executable"* ||
	    "$output" == *"statically linked"* ]]
	run "$SRC/tunpipe-static" --version
	[ "$status" = 0 ]
	[[ "$output" == "tunpipe "* ]]
}

@test "the static tunpipe carries a ping both ways" {
	local opts=()
	netns_setup
	build_copy
	make -C "$SRC" static
	TUNPIPE=$SRC/tunpipe-static
	# -U looks a user up, which a static glibc cannot do alone.
	[ "$NSMODE" != root ] || opts=(-U nobody)
	tunnel_up "${opts[@]}"
	address_tunnel
	ns A ping -c 3 -i 0.2 -W 2 10.77.0.2
	ns B ping -c 3 -i 0.2 -W 2 10.77.0.1
	[ "$NSMODE" != root ] || grep -q 'running as nobody' "$T/a.err"
}

@test "need-tools waits for a lock another apt-get holds, rather than fail" {
	[ "$(id -u)" = 0 ] || skip_or_fail "need-tools installs only as root"
	# An apt-get that finds the lists locked twice, as while another
	# apt-get runs, then works; it logs how it was called.
	mkdir "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/apt-get" <<-'STUB'
		#!/bin/sh
		echo "$*" >>"$STUB_LOG"
		case "$*" in *update*)
			[ "$(grep -c update "$STUB_LOG")" -gt 2 ] && exit 0
			echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 1 (apt-get)" >&2
			exit 100;;
		esac
	STUB
	chmod +x "$BATS_TEST_TMPDIR/bin/apt-get"
	STUB_LOG=$BATS_TEST_TMPDIR/log NEED_TOOLS_WAIT=1 \
	    PATH="$BATS_TEST_TMPDIR/bin:$PATH" \
	    run "$BATS_TEST_DIRNAME/need-tools" tunpipe-test-no-such-tool
	echo "$output"
	[ "$status" = 0 ]
	[ "$(grep -c update "$BATS_TEST_TMPDIR/log")" = 3 ]
	grep -q -- '-o DPkg::Lock::Timeout=600 install .*tunpipe-test-no-such-tool' \
	    "$BATS_TEST_TMPDIR/log"
}
