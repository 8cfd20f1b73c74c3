#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into an EMPTY database, then bring the schema to
# this release's head.
#
#   deploy/restore.sh BACKUPDIR
#
# Same configuration variables as backup.sh (the target instance's). The keys (evidence keys,
# secret key, cache key) must be put back separately, exactly as they were at backup time.
# Refuses to run if a checksum does not match or the target is not empty. Afterwards: start
# one replica, check /readyz, and verify the evidence log (docs/operations.md).
#
# A backup of an earlier release also holds data.tar.gz (the documents directory): its documents
# are moved into the restored database by `passerelle documents import-files`, which needs the
# evidence keys of that time now (PASSERELLE_EVIDENCE_KEYS(_FILE)). A refused document fails the
# restore after the database is in place, with the importer's report.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"

[ $# -eq 1 ] || { say "usage: $0 BACKUPDIR"; exit 2; }
backup=$1
url=${PASSERELLE_DATABASE_URL:?set PASSERELLE_DATABASE_URL to the (empty) target database}
PY=${PASSERELLE_PYTHON:-python3}
uri=$(libpq_uri "$url")
bin=$(pg_bin)
use_database_password

(cd "$backup" && sha256sum --quiet --check SHA256SUMS) || die "$backup: checksums do not match"
tables=$("$bin/psql" "$uri" -qtA -v ON_ERROR_STOP=1 \
  -c "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
[ "$tables" = 0 ] || die "the target database is not empty ($tables tables)"

work=$(mktemp -d)
trap 'rm -rf "$work"; rm -f "${PGPASSFILE:-}"' EXIT
data_dir=${PASSERELLE_DATA_DIR:-$work/instance}
"$bin/pg_restore" --no-owner --no-privileges --exit-on-error --single-transaction \
  --dbname="$uri" "$backup/database.dump"
# A backup from an older release is upgraded like any database.
"$PY" -m proxy migrate --database-url "$url" --data-dir "$data_dir" >/dev/null
if [ -f "$backup/data.tar.gz" ]; then
  mkdir "$work/old"
  tar -C "$work/old" -xzf "$backup/data.tar.gz"
  if [ -d "$work/old/documents" ]; then
    "$PY" -m proxy documents import-files --from "$work/old/documents" \
      --database-url "$url" --data-dir "$data_dir" --actor "restore:${USER:-operator}" >&2 \
      || die "the backup's documents were not all imported (report above)"
  fi
fi
echo "restored $backup (schema $("$bin/psql" "$uri" -qtA -c "SELECT version_num FROM alembic_version"))"
