#!/bin/sh
# ssh-respawn.sh: a tunnel over ssh that comes back by itself.  The local
# tunpipe runs ssh, which runs the remote tunpipe (-e), and when ssh exits
# or its stream breaks, starts it again (-r 2: after 2 s, doubling while it
# keeps failing, up to 60 s).  The local device and its address stay all
# along; each connection brings a new remote end.
#
# usage: ssh-respawn.sh HOST LOCAL_ADDRESS/PREFIX REMOTE_ADDRESS/PREFIX [ssh option...]
#    e.g. ssh-respawn.sh root@server 10.0.0.2/24 10.0.0.1/24 -i ~/.ssh/tunnel
#
# Environment: TUNPIPE, TUNPIPE_REMOTE and SSH, as for ssh.sh.  ssh must log
# in without a prompt (a key; -o BatchMode=yes makes sure), since nobody
# is there to answer at the next respawn.
#
# The keepalives go in pairs.  ServerAliveInterval=10 with
# ServerAliveCountMax=3 makes ssh exit once the server has not answered for
# 30 s: over a dead path ssh would otherwise wait on TCP for many minutes.
# -k 10, at each end, writes an empty frame after 10 s without traffic, so
# an idle tunnel keeps NAT and firewall state alive, and each end takes 30 s
# of silence from the other as a dead transport: the local tunpipe stops
# ssh and starts it again, and the old remote tunpipe and its address go
# away instead of staying for good.
set -eu

if [ $# -lt 3 ]; then
	echo "usage: $0 HOST LOCAL_ADDRESS/PREFIX REMOTE_ADDRESS/PREFIX [ssh option...]" >&2
	exit 2
fi
host=$1 local=$2 remote=$3
shift 3

# quote WORD: WORD in single quotes, for the /bin/sh that runs the -e command.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
opts=
for arg in "$@"; do
	opts="$opts $(quote "$arg")"
done

# -T: no pseudo-terminal, which would mangle the binary stream.
exec "${TUNPIPE:-tunpipe}" -a "$local" -r 2 -k 10 -e \
    "${SSH:-ssh} -T -o ServerAliveInterval=10 -o ServerAliveCountMax=3$opts $(quote "$host") $(quote "${TUNPIPE_REMOTE:-tunpipe} -a $remote -k 10")"
