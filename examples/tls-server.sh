#!/bin/sh
# tls-server.sh: the listening end of a tunpipe tunnel over TLS, with socat.
# Both ends verify each other: the server requires a client certificate
# signed by its CA, and the client checks the server's certificate against
# the same CA and the name it connects to.  tls-certs.sh makes them all.
#
# usage: tls-server.sh DIR PORT ADDRESS/PREFIX [tunpipe options...]
#   DIR holds ca.crt, server.crt and server.key (from tls-certs.sh)
#   e.g. tls-server.sh /etc/tunpipe-tls 33961 10.0.0.1/24 -v
#        (the peer: tls-client.sh)
#
# It serves one client, and starts tunpipe only once the TLS handshake has
# verified that client.  When the client goes away, tunpipe reads the end of
# its input and exits with status 0, its device removed, and so does this
# script (run it in a loop to serve the next client).
# TUNPIPE=/path/to/tunpipe runs that binary instead of tunpipe from PATH.
set -eu

if [ $# -lt 3 ]; then
	echo "usage: $0 DIR PORT ADDRESS/PREFIX [tunpipe options...]" >&2
	exit 2
fi
dir=$1
port=$2
address=$3
shift 3

# esc STRING: STRING with a backslash before every character that is not a
# letter or a digit, so that socat's address parser takes none of them for
# its own (: , ! quotes brackets backslash) and passes STRING as it is.
esc() { printf '%s' "$1" | sed 's/[^A-Za-z0-9]/\\&/g'; }
# shq STRING: STRING quoted for sh.
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# The command that socat's SYSTEM: address hands to /bin/sh: tunpipe and
# every argument, each quoted for sh, so that options with spaces, quotes or
# $ (an -u command, say) arrive unchanged.
cmd="exec $(shq "${TUNPIPE:-tunpipe}") -a $(shq "$address")"
for arg; do
	cmd="$cmd $(shq "$arg")"
done

# -b 131072: socat moves 128 KiB at a time, not its default 8 KiB, which
# would cost a system call every few packets.  verify=1 with cafile: the client must present a certificate that ca.crt
# signed, or the handshake fails and tunpipe never starts.
exec socat -b 131072 "OPENSSL-LISTEN:$port,reuseaddr,verify=1,cafile=$(esc "$dir/ca.crt"),cert=$(esc "$dir/server.crt"),key=$(esc "$dir/server.key")" \
    "SYSTEM:$(esc "$cmd")"
