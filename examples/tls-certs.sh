#!/bin/sh
# tls-certs.sh: makes the certificates for tls-server.sh and tls-client.sh:
# a private certificate authority (CA), and a server and a client
# certificate signed by it, so that each end of the TLS connection verifies
# the other.  Keys are EC (P-256), mode 600; certificates last 825 days.
#
# usage: tls-certs.sh DIR [SERVER-NAME]
#   SERVER-NAME: the host name or IP address that clients connect to
#   (default: this machine's name, uname -n); it goes into the server
#   certificate's subjectAltName, which the client checks.
#   e.g. tls-certs.sh /etc/tunpipe-tls vpn.example.org
#
# It writes into DIR (created if needed; existing keys are never replaced):
#   ca.crt                     both ends: the CA that signs the peer's cert
#   ca.key                     keep it offline: it signs new certificates
#   server.crt, server.key     the server's
#   client.crt, client.key     the client's
# Copy ca.crt, client.crt and client.key to the client's DIR.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 DIR [SERVER-NAME]" >&2
	exit 2
fi
dir=$1
name=${2:-$(uname -n)}

# An IP address goes into the certificate as IP:, a name as DNS:.
case $name in
*:*) san=IP:$name ;;         # IPv6
*[!0-9.]*) san=DNS:$name ;;  # not IPv4
*) san=IP:$name ;;
esac

umask 077 # keys (and everything else here) readable by the owner only
mkdir -p "$dir"
cd "$dir"
for f in ca.key server.key client.key; do
	if [ -e "$f" ]; then
		echo "$0: $dir/$f exists; not replacing it" >&2
		exit 1
	fi
done

# ssl ARGS...: openssl ARGS, whose chatter on stderr shows only if it fails.
ssl() {
	openssl "$@" 2>openssl.err || { cat openssl.err >&2; exit 1; }
}

# The CA: a self-signed certificate that may sign others.
ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.crt -days 825 -subj "/CN=tunpipe CA" \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign

# sign NAME EXTENSIONS: a key and a certificate request for NAME, and the
# certificate the CA makes of it with these X.509 v3 extensions.
sign() {
	ssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$1.key" -out "$1.csr" -subj "/CN=tunpipe $1"
	printf '%s\n' "$2" >"$1.ext"
	ssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key \
	    -CAcreateserial -days 825 -extfile "$1.ext" -out "$1.crt"
	rm -f "$1.csr" "$1.ext"
}
sign server "subjectAltName=$san
extendedKeyUsage=serverAuth"
sign client "extendedKeyUsage=clientAuth"
rm -f ca.srl openssl.err

# Certificates are public; the keys stay 600.
chmod 644 ca.crt server.crt client.crt
echo "$dir: ca.crt ca.key server.crt server.key client.crt client.key ($san)"
