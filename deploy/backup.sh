#!/usr/bin/env bash
# Back up one Passerelle instance: the PostgreSQL database (pg_dump, custom format) and the data
# directory (encrypted proof documents), with checksums and a manifest.
#
#   deploy/backup.sh OUTDIR        -> OUTDIR/passerelle-YYYYmmddTHHMMSSZ/
#
# Reads the instance's own configuration: PASSERELLE_DATABASE_URL (postgresql://...),
# PASSERELLE_DATABASE_PASSWORD(_FILE), PASSERELLE_DATA_DIR. Run it where pg_dump of the
# server's major version (or newer) is installed.
#
# Keys are NOT in the backup: the data directory's key files (secret.key, cache.key,
# secrets/evidence.keys) are left out, and instances configured with *_FILE secrets keep them
# elsewhere anyway. Back the keys up separately (docs/operations.md, "Backup and restore"): a
# stolen backup then holds only ciphertext for the documents, and a backup without its keys
# cannot open them either.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"

[ $# -eq 1 ] || { say "usage: $0 OUTDIR"; exit 2; }
url=${PASSERELLE_DATABASE_URL:?set PASSERELLE_DATABASE_URL to the PostgreSQL database}
data_dir=${PASSERELLE_DATA_DIR:?set PASSERELLE_DATA_DIR}
case "$url" in postgres*) ;; *) die "only PostgreSQL is backed up here (got ${url%%:*})" ;; esac
uri=$(libpq_uri "$url")
bin=$(pg_bin)
use_database_password

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$1/passerelle-$stamp"
umask 077
mkdir -p "$out"

revision=$("$bin/psql" "$uri" -qtA -v ON_ERROR_STOP=1 -c "SELECT version_num FROM alembic_version")
"$bin/pg_dump" --format=custom --compress=6 --no-owner --no-privileges \
  --file="$out/database.dump" "$uri"
tar -C "$data_dir" --exclude=./secret.key --exclude=./cache.key --exclude=./secrets \
  --exclude=./passerelle.db --exclude='./passerelle.db-*' -czf "$out/data.tar.gz" .
cat > "$out/manifest.json" <<JSON
{"created_at": "$stamp", "schema_revision": "$revision", "pg_dump": "$("$bin/pg_dump" --version)",
 "contains": ["database.dump", "data.tar.gz"], "keys_included": false}
JSON
(cd "$out" && sha256sum database.dump data.tar.gz manifest.json > SHA256SUMS)
echo "$out"
