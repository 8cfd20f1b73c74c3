#!/usr/bin/env bash
# Create the secret files of one Passerelle instance in DIR (default deploy/secrets), each
# missing file only: running it again changes nothing. Files are mode 0600.
#
#   db_password       PostgreSQL password of the passerelle role   -> PASSERELLE_DATABASE_PASSWORD_FILE
#   secret_key        64 hex digits: session, CSRF, consent bridge  -> PASSERELLE_SECRET_KEY_FILE
#   evidence_keys     base64 key-encryption keys, last one current  -> PASSERELLE_EVIDENCE_KEYS_FILE
#   cache_key         base64, 32 bytes: sealed upstream-data cache  -> PASSERELLE_CACHE_KEY_FILE
#   metrics_token     bearer token that /metrics requires           -> PASSERELLE_METRICS_TOKEN_FILE
#   simulator_secret  client secret of the DSO simulator            -> PASSERELLE_SIMULATOR_SECRET_FILE
#   tls.crt, tls.key  a SELF-SIGNED certificate for HOST (default localhost): for tests and
#                     local trials only; production uses a certificate from a real CA.
#
# Usage: deploy/make-secrets.sh [DIR] [HOST]. Needs openssl. Back these files up (evidence_keys
# above all: without it, sealed signing keys and proof documents cannot be read).
set -euo pipefail
dir=${1:-"$(dirname "$0")/secrets"}
host=${2:-localhost}
umask 077
mkdir -p "$dir"

make() {  # make NAME COMMAND...: write NAME from COMMAND's output unless it exists
  local name=$1; shift
  [ -s "$dir/$name" ] && return 0
  "$@" > "$dir/$name.tmp"
  mv "$dir/$name.tmp" "$dir/$name"
  echo "created $dir/$name"
}
evidence_keys() {
  echo "# Passerelle evidence keys (base64); the last one is current."
  openssl rand -base64 32
}

make db_password openssl rand -hex 24
make secret_key openssl rand -hex 32
make evidence_keys evidence_keys
make cache_key openssl rand -base64 32
make metrics_token openssl rand -hex 32
make simulator_secret openssl rand -hex 24
if [ ! -s "$dir/tls.crt" ] || [ ! -s "$dir/tls.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=$host" -addext "subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
  echo "created $dir/tls.crt and $dir/tls.key (self-signed for $host, 30 days)"
fi
