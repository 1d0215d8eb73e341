#!/bin/sh
# tls-client.sh: the connecting end of a tunpipe tunnel over TLS, with
# socat.  It checks the server's certificate against ca.crt and against
# HOST (the certificate's subjectAltName must name it), and presents its own
# client certificate, which the server requires.  tls-certs.sh makes them.
#
# usage: tls-client.sh DIR HOST PORT ADDRESS/PREFIX [tunpipe options...]
#   DIR holds ca.crt, client.crt and client.key (from tls-certs.sh)
#   e.g. tls-client.sh ~/tunpipe-tls vpn.example.org 33961 10.0.0.2/24 -v
#        (on the server: tls-server.sh /etc/tunpipe-tls 33961 10.0.0.1/24)
#
# tunpipe starts once the server is verified.  When the server goes away,
# tunpipe reads the end of its input and exits with status 0, its device
# removed, and so does this script.  With TLS 1.3 the client's handshake is
# over before the server has checked the client's certificate: a server
# that refuses it shows here as a connection that ends at once (status 0);
# the server's socat says why.
# TUNPIPE=/path/to/tunpipe runs that binary instead of tunpipe from PATH.
set -eu

if [ $# -lt 4 ]; then
	echo "usage: $0 DIR HOST PORT ADDRESS/PREFIX [tunpipe options...]" >&2
	exit 2
fi
dir=$1
host=$2
port=$3
address=$4
shift 4

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
# would cost a system call every few packets.  verify=1 with cafile: the server's certificate must be signed by ca.crt
# and name HOST, or socat ends before tunpipe starts.
exec socat -b 131072 "OPENSSL:$(esc "$host"):$port,verify=1,cafile=$(esc "$dir/ca.crt"),cert=$(esc "$dir/client.crt"),key=$(esc "$dir/client.key")" \
    "SYSTEM:$(esc "$cmd")"
