#!/bin/sh
# ssh.sh: a tunnel over one ssh connection.  A local tunpipe and a tunpipe
# that ssh starts on HOST, joined by two FIFOs, each end with its address.
# The tunnel lasts as long as the connection; stopping this script (Ctrl-C,
# SIGTERM) ends both ends, and each tunpipe removes its device.
#
# usage: ssh.sh HOST LOCAL_ADDRESS/PREFIX REMOTE_ADDRESS/PREFIX [ssh option...]
#    e.g. ssh.sh root@server 10.0.0.2/24 10.0.0.1/24 -p 2222
#
# Both ends need the privilege to create a TUN device (root, say).
# Environment: TUNPIPE, the local tunpipe (default: tunpipe, from PATH);
# TUNPIPE_REMOTE, the command that runs tunpipe on HOST (default: tunpipe;
# or "sudo tunpipe", "./tunpipe-static"); SSH, the ssh command and options
# (default: ssh).  The arguments after the addresses are ssh options too.
# The exit status is the local tunpipe's if it failed, else ssh's (255:
# the connection failed; otherwise the remote tunpipe's).
set -eu

if [ $# -lt 3 ]; then
	echo "usage: $0 HOST LOCAL_ADDRESS/PREFIX REMOTE_ADDRESS/PREFIX [ssh option...]" >&2
	exit 2
fi
host=$1 local=$2 remote=$3
shift 3

dir=$(mktemp -d)
pids=
trap '[ -z "$pids" ] || kill $pids 2>/dev/null; rm -rf "$dir"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
mkfifo "$dir/up" "$dir/down"

# -T: no pseudo-terminal, which would mangle the binary stream.  ssh hands
# the remote command to the remote user's shell as one line.  Both open
# "down" first, then "up": opening a FIFO waits for its other end, so the
# opposite order would leave each waiting for the other.
# shellcheck disable=SC2086
${SSH:-ssh} -T "$@" "$host" "${TUNPIPE_REMOTE:-tunpipe} -a $remote" \
    >"$dir/down" <"$dir/up" &
ssh_pid=$!
"${TUNPIPE:-tunpipe}" -a "$local" <"$dir/down" >"$dir/up" &
tunpipe_pid=$!
pids="$ssh_pid $tunpipe_pid"

# Whichever end stops, the other reads the end of its input and stops too.
tunpipe_status=0 ssh_status=0
wait "$tunpipe_pid" || tunpipe_status=$?
wait "$ssh_pid" || ssh_status=$?
pids=
[ "$tunpipe_status" = 0 ] || exit "$tunpipe_status"
exit "$ssh_status"
