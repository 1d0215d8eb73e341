#!/bin/sh
# far-net.sh: the far host's network, here, over one ssh connection, with
# no privilege on the far host.  There, as the ssh user, passt(1) gives a
# virtual machine's network card the far host's network through its own
# sockets (TCP, UDP, ICMP echo, DHCP, DNS), and tunpipe -c carries passt's
# socket over the ssh stream; here, a tunpipe TAP device is that network
# card.  Every protocol passt carries reaches what the far host reaches: its
# LAN, or the internet as it sees it.
#
# usage: far-net.sh [far-net option...] [ssh option...] [user@]host [-- command [arg...]]
#    e.g. far-net.sh -r 192.168.1.0/24 -i ~/.ssh/lab user@gateway
#         far-net.sh -r default user@gateway -- curl http://intranet/
#         far-net.sh -p 2222 user@gateway            (not root: a shell)
#
# The far-net options come first, then ssh's own (-p, -i, -o, -J, -4 ...,
# passed to ssh as they are), then the host.
#   -r SUBNET        (root) route SUBNET (10.1.0.0/16) through the far host;
#                    repeatable.  -r default: everything but the ssh
#                    connection itself (two /1 routes: the default route
#                    stays, and a host route keeps the ssh server on the
#                    path it has now).
#   --net NET/PREFIX the private subnet of the lease (default
#                    10.254.77.0/24, or the next free 10.254.N.0/24 when
#                    this host already routes it): the address is its
#                    second host, passt's gateway its first.  It is not the
#                    far host's own address, as passt's default lease is,
#                    so that nothing here takes the ssh server's address or
#                    routes.  Give one that neither end uses.
#   --mtu MTU        the device's MTU, which passt offers too (default
#                    65520, the largest a len16 frame carries).
#   --respawn SECS   (root) when ssh ends, start it again after SECS
#                    (tunpipe -r); the device, address and routes stay.
#   --dev NAME       the TAP device's name (default: tap%d as the kernel
#                    picks; far0 inside the namespace of an ordinary user).
#   --lease-wait S   give up when passt's lease has not come in S seconds
#                    (default 20).
#   --namespace      as root too, the namespace mode of ordinary users.
#   --far-path PATH  the PATH where the far host's shell finds passt and
#                    tunpipe (default: its own); $HOME expands there.
#
# As root here: a TAP device, made by tunpipe -T, whose stream is ssh's
# (tunpipe -e), takes passt's lease with busybox udhcpc (address, MTU,
# gateway, DNS servers), and only the -r routes go through it, with host
# routes for the lease's DNS servers.  IPv6 is off on the device, so that
# passt's router advertisements add no route.  Without a command it stays
# until SIGINT or SIGTERM; with one, the command runs with the lease's DNS
# servers in its /etc/resolv.conf (a mount namespace of its own, and a
# PID namespace, so that what it starts ends with it), and when it ends,
# everything ends.  ssh runs away from the terminal, which the command
# keeps: it must log in without a prompt (a key, or an agent), which
# BatchMode=yes, the default here, makes sure of.
#
# As an ordinary user here: a user, network, mount and PID namespace
# (unshare --user --map-root-user), whose only network is the far host's:
# tunpipe and udhcpc run inside it, the default route goes through passt's
# gateway, /etc/resolv.conf names the lease's DNS servers, and the command
# (default: $SHELL) runs inside, as the namespace's root, which is you.
# ssh runs outside it, on this host's network, which stays as it was; two
# FIFOs in a private directory join it to tunpipe (each side opens "down"
# first, then "up", so neither waits for the other forever; no relay
# copies the stream).  --respawn is for root only: the namespace's tunpipe
# cannot start the ssh outside it again.
#
# What each end needs.  Here: tunpipe (or $TUNPIPE), ssh, ip, busybox's
# udhcpc (Debian: udhcpc, or busybox), unshare; as an ordinary user, user
# namespaces (Debian's default) and /dev/net/tun open to all (Debian's
# 0666).  There: passt (Debian 12 and later: passt) and tunpipe on the
# PATH of the ssh user's shell, a POSIX shell (sh, bash, dash, zsh), and,
# for ping, net.ipv4.ping_group_range covering the user (systemd sets it
# so by default).  No privilege there at all.
#
# When the command ends, or ssh ends or drops, everything ends: here the
# device (and with it its routes), the host route for the ssh server, the
# namespace; there, tunpipe -c reads the end of its input, passt (-1: one
# client) exits when tunpipe leaves its socket, and the far shell removes
# its directory.  A command still running when the connection ends gets
# SIGHUP, then SIGKILL 2 s later.  Ctrl-C is the command's; while a
# command runs, far-net.sh waits for it, and acts on SIGINT and SIGTERM
# only once it has ended.
#
# Exit status: the command's, when it ends by itself; 0 without a command,
# after SIGINT or SIGTERM; 2 usage; 3 this host lacks something (the
# message says what, and how to fix it); 4 the far host or ssh failed
# (login refused, another command forced, no passt or tunpipe there);
# 5 no lease came in time; 6 the connection ended while in use.
set -u

prog=far-net
tunpipe=${TUNPIPE:-tunpipe}
routes='' route_default='' net='' mtu=65520 respawn='' dev='' lease_wait=20
namespace='' far_path='' sshq='' host='' have_command=''

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
usage() {
	echo "usage: $0 [-r SUBNET]... [--net NET/PREFIX] [--mtu MTU] [--respawn SECS] [--dev NAME] [--lease-wait SECS] [--namespace] [--far-path PATH] [ssh option...] [user@]host [-- command...]" >&2
	exit 2
}
# quote WORD: WORD in single quotes, for a shell to read back.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
# number WORD MIN MAX: WORD is a decimal number from MIN to MAX.
number() {
	case $1 in '' | *[!0-9]*) return 1 ;; esac
	[ "${#1}" -le 6 ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}
# ipv4 WORD: WORD is a dotted IPv4 address, or with /PREFIX (0-32) an
# IPv4 subnet; prints it as NUMBER PREFIX.
ipv4() {
	printf '%s\n' "$1" | awk -F'[./]' '
	    !/^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(\/[0-9]+)?$/ { exit 1 }
	    { for (i = 1; i <= 4; i++) if ($i > 255) exit 1
	      p = NF == 5 ? $5 : 32; if (p > 32) exit 1
	      printf "%.0f %d\n", (($1 * 256 + $2) * 256 + $3) * 256 + $4, p }'
}
# dotted NUMBER: the IPv4 address NUMBER, dotted.
dotted() {
	awk -v n="$1" 'BEGIN { printf "%d.%d.%d.%d\n", int(n / 16777216),
	    int(n / 65536) % 256, int(n / 256) % 256, n % 256 }'
}
# overlap NET1/P NET2/P: whether the two subnets share an address.
overlap() {
	# shellcheck disable=SC2046 # two words each
	set -- $(ipv4 "$1") $(ipv4 "$2")
	awk -v a="$1" -v p="$2" -v b="$3" -v q="$4" 'BEGIN {
	    m = p < q ? p : q; s = 2 ^ (32 - m)
	    exit !(int(a / s) == int(b / s)) }'
}

# ---- options: far-net's, then ssh's, then the host ----
need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || { say "$1 needs an argument"; usage; }; }
while [ $# -gt 0 ]; do
	case $1 in
	-r | --route)
		need_arg "$@"
		if [ "$2" = default ]; then
			route_default=1
		elif ipv4 "$2" >/dev/null; then
			routes="$routes $2"
		else
			say "-r $2: not an IPv4 subnet (10.1.0.0/16) or default"
			exit 2
		fi
		shift 2 ;;
	--net) need_arg "$@"; net=$2; shift 2 ;;
	--mtu) need_arg "$@"; mtu=$2; shift 2 ;;
	--respawn) need_arg "$@"; respawn=$2; shift 2 ;;
	--dev) need_arg "$@"; dev=$2; shift 2 ;;
	--lease-wait) need_arg "$@"; lease_wait=$2; shift 2 ;;
	--namespace) namespace=1; shift ;;
	--far-path) need_arg "$@"; far_path=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	--) usage ;;
	--*) say "unknown option $1"; usage ;;
	-?*)
		# An ssh option, and its argument when its last letter takes
		# one (ssh's getopt string) and the word does not hold it.
		sshq="$sshq $(quote "$1")"
		letters=${1#-} takes=
		while [ -n "$letters" ]; do
			c=${letters%"${letters#?}"} letters=${letters#?}
			case $c in
			[BbcDEeFIiJLlmOoPpQRSWw])
				[ -z "$letters" ] && takes=1
				break ;;
			esac
		done
		shift
		if [ -n "$takes" ]; then
			[ $# -gt 0 ] || { say "ssh's option needs an argument"; usage; }
			sshq="$sshq $(quote "$1")"
			shift
		fi ;;
	*) host=$1; shift; break ;;
	esac
done
[ -n "$host" ] || usage
if [ $# -gt 0 ]; then
	[ "$1" = -- ] || { say "after the host, only -- and a command: $1"; usage; }
	shift
	[ $# -gt 0 ] || { say "-- without a command"; usage; }
	have_command=1
fi
number "$mtu" 576 65520 || { say "--mtu $mtu: from 576 to 65520"; exit 2; }
number "$lease_wait" 1 3600 || { say "--lease-wait $lease_wait: seconds, from 1 to 3600"; exit 2; }
[ -z "$respawn" ] || number "$respawn" 1 3600 ||
    { say "--respawn $respawn: seconds, from 1 to 3600"; exit 2; }
case $far_path in *[\"\\\`]*) say "--far-path: no quote, backslash or backquote"; exit 2 ;; esac
case $dev in *[!A-Za-z0-9_.-]*) say "--dev $dev: letters, digits, _ . - only"; exit 2 ;; esac
[ "${#dev}" -le 15 ] || { say "--dev $dev: at most 15 characters"; exit 2; }
if [ -n "$net" ]; then
	set_net=$(ipv4 "$net") || { say "--net $net: not an IPv4 subnet (10.254.77.0/24)"; exit 2; }
	[ "${set_net#* }" -ge 8 ] && [ "${set_net#* }" -le 30 ] ||
	    { say "--net $net: a prefix from 8 to 30"; exit 2; }
fi

mode=root
[ "$(id -u)" = 0 ] && [ -z "$namespace" ] || mode=namespace
if [ "$mode" = namespace ]; then
	[ -z "$routes$route_default" ] ||
	    { say "-r is for root: in the namespace, everything goes through the far host"; exit 2; }
	[ -z "$respawn" ] ||
	    { say "--respawn is for root: ssh runs outside the namespace, where its tunpipe cannot start it again"; exit 2; }
	[ -n "$have_command" ] || set -- "${SHELL:-/bin/sh}"
	have_command=1
	dev=${dev:-far0}
fi

# ---- what this host needs ----
command -v "$tunpipe" >/dev/null 2>&1 ||
    { say "no tunpipe here ($tunpipe): build it (make) and put it on PATH, or name it in \$TUNPIPE"; exit 3; }
command -v ssh >/dev/null 2>&1 || { say "no ssh here: install it (Debian: openssh-client)"; exit 3; }
command -v ip >/dev/null 2>&1 || { say "no ip here: install it (Debian: iproute2)"; exit 3; }
if command -v udhcpc >/dev/null 2>&1; then
	udhcpc=udhcpc
elif command -v busybox >/dev/null 2>&1 && busybox udhcpc --help >/dev/null 2>&1; then
	udhcpc="busybox udhcpc"
else
	say "no udhcpc here (busybox's DHCP client, which takes passt's lease): install it (Debian: udhcpc, or busybox)"
	exit 3
fi
if [ ! -c /dev/net/tun ]; then
	say "no /dev/net/tun here: load the tun module (modprobe tun, as root)"
	exit 3
fi
if [ "$mode" = namespace ]; then
	command -v unshare >/dev/null 2>&1 || { say "no unshare here: install it (Debian: util-linux)"; exit 3; }
	if [ "$(id -u)" != 0 ] && ! { [ -r /dev/net/tun ] && [ -w /dev/net/tun ]; }; then
		say "/dev/net/tun is closed to you ($(ls -l /dev/net/tun | cut -d' ' -f1)): a user namespace's TAP device needs it open to all, as Debian ships it (crw-rw-rw-); as root: chmod 0666 /dev/net/tun; or run far-net.sh as root"
		exit 3
	fi
	if ! unshare --user --map-root-user --net --mount --pid --fork true 2>"${TMPDIR:-/tmp}/far-net.$$.err"; then
		why=$(cat "${TMPDIR:-/tmp}/far-net.$$.err")
		rm -f "${TMPDIR:-/tmp}/far-net.$$.err"
		if [ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null)" = 0 ]; then
			say "user namespaces are off for ordinary users ($why): as root, sysctl -w kernel.unprivileged_userns_clone=1 (Debian); or run far-net.sh as root"
		elif [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null)" = 0 ]; then
			say "user namespaces are off ($why): as root, sysctl -w user.max_user_namespaces=10000; or run far-net.sh as root"
		elif [ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null)" = 1 ]; then
			say "AppArmor keeps user namespaces from ordinary users ($why): as root, sysctl -w kernel.apparmor_restrict_unprivileged_userns=0; or run far-net.sh as root"
		else
			say "cannot make a user namespace ($why): user namespaces may be off (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone); or run far-net.sh as root"
		fi
		exit 3
	fi
	rm -f "${TMPDIR:-/tmp}/far-net.$$.err"
fi

# ---- the ssh server, and the lease's subnet ----
# The address ssh connects to (after its configuration), whose route the
# routes here must not take over.
server=
if [ "$mode" = root ]; then
	name=$(eval "ssh -G $sshq $(quote "$host")" 2>/dev/null | awk '$1 == "hostname" { print $2; exit }')
	case $(eval "ssh -G $sshq $(quote "$host")" 2>/dev/null | awk '$1 == "proxyjump" || $1 == "proxycommand" { print "x"; exit }') in
	x) [ -z "$route_default$routes" ] ||
	    say "warning: ssh goes through a proxy; make sure that no -r takes the route to it" ;;
	esac
	if [ -n "$name" ]; then
		server=$(getent ahostsv4 "$name" 2>/dev/null | awk '{ print $1; exit }')
	fi
	[ -n "$server" ] || [ -z "$route_default$routes" ] ||
	    say "warning: the ssh server's IPv4 address is unknown (ssh -G, getent); make sure that no -r takes the route to it"
fi
# in_use NET: a route here (other than a default one) or the ssh server
# falls within NET.
in_use() {
	[ -z "$server" ] || ! overlap "$1" "$server/32" || return 0
	for r in $(ip -4 route show table main 2>/dev/null | awk '$1 != "default" { print $1 }'); do
		case $r in */*) ;; *) r=$r/32 ;; esac
		overlap "$1" "$r" && return 0
	done
	return 1
}
if [ -n "$net" ]; then
	if [ "$mode" = root ] && in_use "$net"; then
		say "--net $net: this host already routes addresses in it (or the ssh server is one); choose another subnet"
		exit 3
	fi
else
	for third in 77 78 79 80 81 82 83 84; do
		net=10.254.$third.0/24
		[ "$mode" = root ] && in_use "$net" || break
	done
	[ "$mode" = namespace ] || ! in_use "$net" ||
	    { say "10.254.77-84.0/24 are all routed here: choose a subnet with --net"; exit 3; }
fi
n=$(ipv4 "$net")
prefix=${n#* } base=${n% *}
base=$(awk -v b="$base" -v p="$prefix" 'BEGIN { s = 2 ^ (32 - p); printf "%.0f\n", int(b / s) * s }')
gateway=$(dotted "$((base + 1))") address=$(dotted "$((base + 2))")
net=$(dotted "$base")/$prefix

# ---- the far end ----
# Run by the far user's shell: passt in QEMU mode with our lease, for one
# client, then tunpipe -c on its socket until the stream ends.  Its
# messages start with "far-net:", which the near end looks for.
far_script="set -u
${far_path:+PATH=\"$far_path\"; export PATH
}host=\$(uname -n)
command -v passt >/dev/null 2>&1 || { echo \"far-net: no passt on \$host (PATH \$PATH): install it there (Debian 12 and later, Ubuntu: apt install passt; Fedora: dnf install passt), or name its directory with --far-path\" >&2; exit 40; }
command -v tunpipe >/dev/null 2>&1 || { echo \"far-net: no tunpipe on \$host (PATH \$PATH): build it there (make) and put it on the PATH, or name its directory with --far-path\" >&2; exit 41; }
d=\$(mktemp -d) || { echo \"far-net: mktemp -d failed on \$host\" >&2; exit 42; }
passt -q -f -1 -s \"\$d/passt.socket\" -a $address -n $prefix -g $gateway -m $mtu </dev/null >\"\$d/passt.log\" 2>&1 &
p=\$!
i=0
while [ ! -S \"\$d/passt.socket\" ]; do
	if ! kill -0 \$p 2>/dev/null || [ \$i -ge 100 ]; then
		echo \"far-net: passt did not start on \$host: \$(grep -v 'to syslog\$' \"\$d/passt.log\" | tr '\\n' ' ')\" >&2
		kill \$p 2>/dev/null; rm -rf \"\$d\"; exit 43
	fi
	i=\$((i + 1)); sleep 0.1
done
echo \"far-net: far end ready on \$host: passt \$p, as \$(id -un)\" >&2
tunpipe -q -c \"\$d/passt.socket\"
s=\$?
kill \$p 2>/dev/null; wait \$p 2>/dev/null; rm -rf \"\$d\"; exit \$s"

ssh_opts="-T"
[ "$mode" = namespace ] || ssh_opts="$ssh_opts -o BatchMode=yes"
[ -z "$respawn" ] || ssh_opts="$ssh_opts -o ServerAliveInterval=10 -o ServerAliveCountMax=3"
# The user's options first: ssh takes the first value it is given.
ssh_cmd="ssh$sshq $ssh_opts $(quote "$host") $(quote "$far_script")"

# ---- clean-up, whatever happens ----
dir=$(mktemp -d "${TMPDIR:-/tmp}/far-net.XXXXXX") || exit 3
watcher='' outer='' host_route=''
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	trap - EXIT HUP INT TERM
	if [ -n "$watcher" ] && [ -s "$dir/tunpipe.pid" ]; then
		rm -f "$dir/command.pid"
		kill "$(cat "$dir/tunpipe.pid")" 2>/dev/null
	fi
	if [ -n "$outer" ]; then
		# ssh ends by itself once the stream has: the far end then
		# ends as it should.  At most 2 s.
		i=0
		while kill -0 "$outer" 2>/dev/null && [ $i -lt 20 ]; do
			i=$((i + 1)); sleep 0.1
		done
		kill "$outer" 2>/dev/null
	fi
	[ -z "$watcher" ] || wait "$watcher" 2>/dev/null
	[ -z "$outer" ] || wait "$outer" 2>/dev/null
	# shellcheck disable=SC2086 # ADDRESS/32 via GATEWAY dev DEVICE
	[ -z "$host_route" ] || ip route del $host_route 2>/dev/null
	rm -rf "$dir"
}
trap 'cleanup' EXIT
trap 'exit 129' HUP
trap 'exit 0' INT TERM

# The lease's variables, one "NAME VALUE" a line, in $dir/lease (udhcpc's
# own script would rewrite /etc/resolv.conf and the routes).
cat >"$dir/lease.sh" <<SCRIPT
#!/bin/sh
case \$1 in
bound | renew)
	printf '%s %s\\n' ip "\${ip:-}" mask "\${mask:-}" router "\${router%% *}" \\
	    mtu "\${mtu:-}" domain "\${domain:-}" >"$dir/lease.new"
	for d in \${dns:-}; do printf 'dns %s\\n' "\$d"; done >>"$dir/lease.new"
	mv "$dir/lease.new" "$dir/lease" ;;
esac
exit 0
SCRIPT
chmod 755 "$dir/lease.sh"

# diagnose: why the far end or ssh failed, from what ssh, the far shell and
# tunpipe said (in $dir/log); exits.
diagnose() {
	if grep -q '^far-net: \(no passt\|no tunpipe\|passt did not\|mktemp\)' "$dir/log"; then
		grep '^far-net: ' "$dir/log" >&2
		exit 4
	fi
	if grep -q 'exited with status 255\|^ssh: \|Permission denied\|Host key verification failed' "$dir/log" ||
	    [ "${ssh_status:-}" = 255 ]; then
		say "ssh could not connect to $host or log in; ssh said:"
		grep -v '^tunpipe: \|^far-net: ' "$dir/log" | sed 's/^/    /' >&2
		say "check the host, the port (-p), the key (-i, or an agent) and that $host lets you in (as root, far-net.sh gives ssh no terminal for a password: use a key or an agent)"
		exit 4
	fi
	if ! grep -q '^far-net: far end ready' "$dir/log"; then
		say "$host did not run far-net's command: its sshd forces another (ForceCommand in sshd_config, command= in authorized_keys), or the login shell is no POSIX shell; ssh's session said:"
		grep -v '^far-net: ' "$dir/log" | sed 's/^/    /' >&2
		say "let this key run commands (no forced command) and give the user sh, bash, dash or zsh"
		exit 4
	fi
	say "no DHCP lease from passt on $host within $lease_wait s; what tunpipe and the far end said:"
	sed 's/^/    /' "$dir/log" >&2
	say "the far end started but its passt gave no lease: is it passt (--no-dhcp?), and does the stream get through (same tunpipe framing at both ends)?"
	exit 5
}
: >"$dir/log"

# take_lease DEV: the lease, within $lease_wait s, applied to DEV: MTU,
# address; sets router, and writes $dir/resolv.conf.  Fails when no lease
# came, or tunpipe ended first.
take_lease() {
	ip link set dev "$1" mtu "$mtu" up || return 1
	$udhcpc -i "$1" -f -q -n -s "$dir/lease.sh" -t "$lease_wait" -T 1 -A 1 \
	    </dev/null >/dev/null 2>>"$dir/udhcpc.log" || return 1
	[ -s "$dir/lease" ] || return 1
	ip='' mask='' router='' lmtu='' dns='' domain=''
	while read -r k v; do
		case $k in
		ip) ip=$v ;; mask) mask=$v ;; router) router=$v ;; mtu) lmtu=$v ;;
		domain) domain=$v ;; dns) dns="$dns $v" ;;
		esac
	done <"$dir/lease"
	ipv4 "$ip/$mask" >/dev/null && ipv4 "$router" >/dev/null ||
	    { say "the lease makes no sense: $(tr '\n' ' ' <"$dir/lease")"; return 1; }
	[ -z "$lmtu" ] || [ "$lmtu" = "$mtu" ] || ip link set dev "$1" mtu "$lmtu"
	ip addr add "$ip/$mask" dev "$1" || return 1
	{
		for d in $dns; do echo "nameserver $d"; done
		[ -z "$domain" ] || echo "search $domain"
	} >"$dir/resolv.conf"
}

# watch_tunpipe IN OUT TUNPIPE-COMMAND...: runs the command with stdin IN
# and stdout OUT, its PID in $dir/tunpipe.pid; when it ends, writes its
# status to $dir/tunpipe.status and hangs up the command, if one runs
# ($dir/command.pid), killing it 2 s later.
watch_tunpipe() {
	in=$1 out=$2
	shift 2
	"$@" <"$in" >"$out" 2>>"$dir/log" &
	echo $! >"$dir/tunpipe.pid"
	wait $!
	echo $? >"$dir/tunpipe.status"
	c=$(cat "$dir/command.pid" 2>/dev/null) && [ -n "$c" ] &&
	    kill -HUP "$c" 2>/dev/null && sleep 2 && kill -KILL "$c" 2>/dev/null
}

# run_command: the command, in the foreground, in a mount namespace where
# /etc/resolv.conf is the lease's, and a PID namespace whose end ends what
# it started; its PID (as this PID namespace sees it: /proc is still
# this one's) in $dir/command.pid, for the watcher.  Its status.
run_command() {
	# shellcheck disable=SC2016
	unshare -m -p -f --kill-child sh -c '
		mount --bind "$1" /etc/resolv.conf ||
		    echo "far-net: /etc/resolv.conf left as it is" >&2
		shift
		sh -c "read -r p _ </proc/self/stat; echo \$p >\"\$0\"; exec \"\$@\"" "$@"' \
	    far-net "$dir/resolv.conf" "$dir/command.pid" "$@"
}

# ---- namespace mode: everything in a user and network namespace ----
if [ "$mode" = namespace ]; then
	mkfifo "$dir/down" "$dir/up" || exit 3
	# ssh, outside, on this host's network; it opens "down" first.
	sh -c "exec $ssh_cmd" >"$dir/down" <"$dir/up" 2>>"$dir/log" &
	outer=$!
	export dir tunpipe udhcpc dev mtu lease_wait prog
	# Inside: tunpipe (which opens "down" first), the lease, the route,
	# the command.  The watcher subshell waits for tunpipe, and hangs up
	# the command when the stream ends.
	# Ctrl-C is the command's, as above.
	trap : INT TERM
	status=0
	# shellcheck disable=SC2016
	unshare --user --map-root-user --net --mount --pid --fork --kill-child \
	    sh -c "$(sed -n '/^say()/p;/^ipv4()/,/^}/p;/^take_lease()/,/^}/p;/^watch_tunpipe()/,/^}/p' "$0")"'
		ip link set lo up
		watch_tunpipe "$dir/down" "$dir/up" "$tunpipe" -T -q -i "$dev" &
		i=0
		until ip link show "$dev" >/dev/null 2>&1; do
			[ ! -e "$dir/tunpipe.status" ] && [ $i -lt 100 ] || exit 64
			i=$((i + 1)); sleep 0.1
		done
		take_lease "$dev" || exit 65
		ip route add default via "$router" dev "$dev" || exit 65
		mount --bind "$dir/resolv.conf" /etc/resolv.conf ||
		    echo "far-net: /etc/resolv.conf left as it is" >&2
		[ ! -e "$dir/tunpipe.status" ] || exit 64
		sh -c "echo \$\$ >\"\$0\"; exec \"\$@\"" "$dir/command.pid" "$@"
		s=$?
		rm -f "$dir/command.pid"
		[ ! -e "$dir/tunpipe.status" ] || exit 66
		exit $s' far-net "$@" || status=$?
	case $status in
	64 | 65)
		if [ "$status" = 64 ] && grep -q "^tunpipe: " "$dir/log" &&
		    ! grep -q "^far-net: far end ready" "$dir/log"; then
			say "tunpipe could not make its device in the namespace:"
			grep "^tunpipe: " "$dir/log" | sed "s/^/    /" >&2
			exit 3
		fi
		kill "$outer" 2>/dev/null
		ssh_status=0
		wait "$outer" || ssh_status=$?
		outer=
		[ -s "$dir/lease" ] || diagnose
		say "the lease could not be set on the namespace's device: $(cat "$dir/udhcpc.log" 2>/dev/null)"
		exit 3 ;;
	66)
		say "the connection to $host ended; the command was hung up"
		grep -v '^far-net: far end ready' "$dir/log" | sed 's/^/    /' >&2
		exit 6 ;;
	esac
	exit "$status"
fi

# ---- root mode: a TAP device here ----
# setsid: tunpipe would hand the terminal to ssh, and the command needs it.
watch_tunpipe /dev/null /dev/null setsid "$tunpipe" -T -q ${dev:+-i "$dev"} \
    ${respawn:+-r "$respawn"} -u "echo \"\$TUNPIPE_IFNAME\" >$dir/ifname" \
    -e "$ssh_cmd" &
watcher=$!
i=0
until [ -s "$dir/ifname" ]; do
	if [ -e "$dir/tunpipe.status" ] || [ $i -ge 100 ]; then
		say "tunpipe could not make its device:"
		sed 's/^/    /' "$dir/log" >&2
		exit 3
	fi
	i=$((i + 1)); sleep 0.1
done
dev=$(cat "$dir/ifname")
# No IPv6 on the device: passt's router advertisements would add routes.
[ ! -e "/proc/sys/net/ipv6/conf/$dev/disable_ipv6" ] ||
    echo 1 >"/proc/sys/net/ipv6/conf/$dev/disable_ipv6"
take_lease "$dev" || {
	[ ! -s "$dir/lease" ] || { say "the lease could not be set on $dev"; exit 3; }
	[ -e "$dir/tunpipe.status" ] || kill "$(cat "$dir/tunpipe.pid")" 2>/dev/null
	wait "$watcher"
	watcher=
	diagnose
}

# The ssh server keeps the route it has now, before any -r takes it.
if [ -n "$server" ] && [ -n "$route_default$routes" ]; then
	via=$(ip -4 route get "$server" 2>/dev/null | awk '{
	    for (i = 1; i < NF; i++) if ($i == "via" || $i == "dev") printf "%s %s ", $i, $(i + 1)
	    exit }')
	case $via in
	*"dev $dev "*) say "the ssh server $server is routed through $dev already" ;;
	*dev*)
		# shellcheck disable=SC2086 # via GATEWAY dev DEVICE
		if ip route add "$server/32" $via 2>/dev/null; then
			host_route="$server/32 $via"
		fi ;;
	esac
fi
for r in $routes; do
	ip route add "$r" via "$router" dev "$dev" ||
	    { say "-r $r: the route could not be added (ip route add $r via $router dev $dev)"; exit 3; }
done
if [ -n "$route_default" ]; then
	ip route add 0.0.0.0/1 via "$router" dev "$dev" &&
	    ip route add 128.0.0.0/1 via "$router" dev "$dev" ||
	    { say "-r default: the routes could not be added"; exit 3; }
fi
for d in $dns; do
	[ "$d" = "$router" ] || ip route add "$d/32" via "$router" dev "$dev" 2>/dev/null
done
say "$dev is $ip/$mask on $host's network, gateway $router, MTU $(cat /sys/class/net/"$dev"/mtu 2>/dev/null || echo "$mtu");" \
    "routes:${routes:- none}${route_default:+ default (but $server)}; DNS:${dns:- none}"

if [ -z "$have_command" ]; then
	wait "$watcher"
	watcher=
	say "the connection to $host ended:"
	sed 's/^/    /' "$dir/log" >&2
	exit 6
fi
# Ctrl-C is the command's (its process group is ours); this script
# waits for the command, so SIGTERM too takes effect when it has ended.
trap : INT TERM
status=0
run_command "$@" || status=$?
if [ -e "$dir/tunpipe.status" ]; then
	say "the connection to $host ended; the command was hung up"
	sed 's/^/    /' "$dir/log" >&2
	exit 6
fi
exit "$status"
