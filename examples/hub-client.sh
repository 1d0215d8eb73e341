#!/bin/sh
# hub-client.sh: joins a hub started with hub.sh.  Connects to the hub over
# TCP with socat and runs tunpipe on the connection with the given tunnel
# address, so that the whole tunnel network (the hub and every other client)
# is reached through this one device.  Runs until the hub or the connection
# goes, or until interrupted.
#
# usage: hub-client.sh HOST PORT ADDRESS/PREFIX [TUNPIPE_OPTION...]
#        e.g. hub-client.sh 192.168.1.5 33960 10.77.0.23/24   (as root)
#
# ADDRESS must be the one the hub gives this client: the hub's /24 network
# and, as last number, the last number of this host's IPv4 address as the
# hub sees it (see hub.sh).  Extra options go to tunpipe (-v, -k 30, -i NAME);
# socat splits them at spaces, so no option may hold a space, ':' or ','.
# tunpipe comes from PATH, or from the TUNPIPE environment variable.
set -eu

if [ $# -lt 3 ]; then
	echo "usage: hub-client.sh HOST PORT ADDRESS/PREFIX [TUNPIPE_OPTION...]" >&2
	exit 2
fi
host=$1 port=$2 address=$3
shift 3
tunpipe=$(command -v "${TUNPIPE:-tunpipe}") ||
    { echo "hub-client.sh: tunpipe not found: put it on PATH or set TUNPIPE" >&2; exit 1; }

# Extra options only when there are some: a trailing space would give
# tunpipe an empty argument.  -b 131072: see hub.sh.
cmd="$tunpipe -a $address"
[ $# -eq 0 ] || cmd="$cmd $*"
exec socat -b 131072 "TCP:$host:$port" "EXEC:$cmd"
