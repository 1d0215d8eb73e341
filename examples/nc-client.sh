#!/bin/sh
# nc-client.sh: the connecting end of a tunpipe tunnel over plain TCP, with
# netcat (Debian: netcat-openbsd).  Nothing is encrypted or authenticated:
# use it on a network you trust, or tls-client.sh, or ssh.
#
# usage: nc-client.sh HOST PORT ADDRESS/PREFIX [tunpipe options...]
#   e.g. nc-client.sh server.example 33960 10.0.0.2/24 -v
#        (on the server: nc-server.sh 33960 10.0.0.1/24)
#
# When the server goes away, nc ends, tunpipe reads the end of its input and
# exits with status 0, its device removed, and so does this script.  Stop it
# with Ctrl-C, or by signalling its process group (kill -TERM -PGID): the
# server side then ends too.
# TUNPIPE=/path/to/tunpipe runs that binary instead of tunpipe from PATH.
set -eu

if [ $# -lt 3 ]; then
	echo "usage: $0 HOST PORT ADDRESS/PREFIX [tunpipe options...]" >&2
	exit 2
fi
host=$1
port=$2
address=$3
shift 3

# The FIFO carries tunpipe's output back into nc; its directory goes at exit.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
mkfifo "$dir/f"

# When the connection ends, nc closes its output and tunpipe reads the
# end of its input.  When tunpipe ends, nc ends too (its output lost its
# reader); -N, as soon as its input ends, also shuts the connection
# down: the server ends either way.  The script's status is tunpipe's.
# shellcheck disable=SC2094 # one FIFO, read by nc, written by tunpipe
nc -N "$host" "$port" <"$dir/f" | "${TUNPIPE:-tunpipe}" -a "$address" "$@" >"$dir/f"
