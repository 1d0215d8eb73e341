#!/bin/sh
# nc-server.sh: the listening end of a tunpipe tunnel over plain TCP, with
# netcat (Debian: netcat-openbsd).  Nothing is encrypted or authenticated:
# use it on a network you trust, or tls-server.sh, or ssh.
#
# usage: nc-server.sh PORT ADDRESS/PREFIX [tunpipe options...]
#   e.g. nc-server.sh 33960 10.0.0.1/24 -v     (the peer: nc-client.sh)
#
# It serves one client.  When the client goes away, nc ends, tunpipe reads
# the end of its input and exits with status 0, its device removed, and so
# does this script (run it in a loop to serve the next client).  Stop it with
# Ctrl-C, or by signalling its process group (kill -TERM -PGID).
# TUNPIPE=/path/to/tunpipe runs that binary instead of tunpipe from PATH.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 PORT ADDRESS/PREFIX [tunpipe options...]" >&2
	exit 2
fi
port=$1
address=$2
shift 2

# The FIFO carries tunpipe's output back into nc; its directory goes at exit.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
mkfifo "$dir/f"

# nc -l: wait for one client.  When the connection ends, nc closes its
# output and tunpipe reads the end of its input.  When tunpipe ends, nc
# ends too (its output lost its reader); -N, as soon as its input ends,
# also shuts the connection down: the client ends either way.  The
# script's status is tunpipe's.
# shellcheck disable=SC2094 # one FIFO, read by nc, written by tunpipe
nc -N -l "$port" <"$dir/f" | "${TUNPIPE:-tunpipe}" -a "$address" "$@" >"$dir/f"
