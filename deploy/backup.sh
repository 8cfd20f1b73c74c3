#!/usr/bin/env bash
# Back up one Passerelle instance: its PostgreSQL database (pg_dump, custom format), with a
# checksum file and a manifest. The database holds all of the instance's state, the encrypted
# proof documents included, so it is the whole backup.
#
#   deploy/backup.sh OUTDIR        -> OUTDIR/passerelle-YYYYmmddTHHMMSSZ/
#
# Reads the instance's own configuration: PASSERELLE_DATABASE_URL (postgresql://...) and
# PASSERELLE_DATABASE_PASSWORD(_FILE). Run it where pg_dump of the server's major version (or
# newer) is installed.
#
# Keys are NOT in the backup (they are not in the database): back up the evidence keys, secret
# key and cache key separately (docs/operations.md, "Backup and restore"). A stolen backup then
# holds only ciphertext for the documents and sealed signing keys, and a backup without its keys
# cannot open them either.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"

[ $# -eq 1 ] || { say "usage: $0 OUTDIR"; exit 2; }
url=${PASSERELLE_DATABASE_URL:?set PASSERELLE_DATABASE_URL to the PostgreSQL database}
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
cat > "$out/manifest.json" <<JSON
{"created_at": "$stamp", "schema_revision": "$revision", "pg_dump": "$("$bin/pg_dump" --version)",
 "contains": ["database.dump"], "keys_included": false}
JSON
(cd "$out" && sha256sum database.dump manifest.json > SHA256SUMS)
echo "$out"
