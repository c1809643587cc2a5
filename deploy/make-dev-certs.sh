#!/usr/bin/env bash
# Makes a development certificate authority, a server certificate and one
# client certificate per organisation, for caselined's mutual TLS
# (docs/access.md). For development and tests only: the CA key sits unencrypted
# next to the certificates.
#
#   deploy/make-dev-certs.sh OUT_DIR [--server-name NAME]... ORG_ID...
#
# Writes OUT_DIR/ca.pem, ca.key, server.pem, server.key and, for each ORG_ID,
# OUT_DIR/<ORG_ID>.pem and <ORG_ID>.key. An organisation certificate names
# its organisation in the SAN URI caseline:org:<ORG_ID> (the server reads the
# organisation from there) and in its CN. The server certificate is valid for
# localhost, 127.0.0.1 and ::1 plus each --server-name. Existing files are
# kept, so organisations can be added to an existing OUT_DIR later.
set -euo pipefail

usage() {
  echo "usage: $0 OUT_DIR [--server-name NAME]... ORG_ID..." >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
out=$1
shift
server_names=(localhost)
orgs=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --server-name) [[ $# -ge 2 ]] || usage; server_names+=("$2"); shift 2 ;;
    -*) usage ;;
    *)
      if [[ ! $1 =~ ^[A-Za-z0-9._-]{1,128}$ ]]; then
        echo "$0: organisation id \"$1\" must be 1-128 letters, digits, '.', '_' or '-'" >&2
        exit 2
      fi
      orgs+=("$1"); shift ;;
  esac
done
[[ ${#orgs[@]} -ge 1 ]] || usage
command -v openssl >/dev/null || { echo "$0: openssl is not installed (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$out"
umask 077
days=825

if [[ ! -f $out/ca.pem ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days "$days" \
    -keyout "$out/ca.key" -out "$out/ca.pem" \
    -subj "/CN=Caseline development CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  echo "$out/ca.pem: development CA"
fi

# sign NAME SUBJECT EXTENSIONS: a key and a certificate signed by the CA.
sign() {
  local name=$1 subject=$2 extensions=$3
  [[ -f $out/$name.pem ]] && return 0
  openssl req -newkey rsa:2048 -nodes -keyout "$out/$name.key" \
    -out "$out/$name.csr" -subj "$subject" 2>/dev/null
  openssl x509 -req -in "$out/$name.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
    -CAcreateserial -days "$days" -sha256 -out "$out/$name.pem" \
    -extfile <(printf '%s\n' "$extensions") 2>/dev/null
  rm -f "$out/$name.csr"
  echo "$out/$name.pem: $subject"
}

san="DNS:${server_names[0]}"
for name in "${server_names[@]:1}"; do san+=",DNS:$name"; done
san+=",IP:127.0.0.1,IP:::1"
# clientAuth too: in a cluster each node presents this certificate to the
# others' peer channel (docs/cluster.md).
sign server "/CN=caselined" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$san"

for org in "${orgs[@]}"; do
  sign "$org" "/CN=$org" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
subjectAltName=URI:caseline:org:$org"
done
