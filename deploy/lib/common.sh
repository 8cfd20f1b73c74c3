# shellcheck shell=bash
# Shell functions shared by the deploy/ scripts (sourced, not run). Needs bash.

say() { printf '%s\n' "$*" >&2; }
die() { say "${0##*/}: $*"; exit 1; }

pg_bin() {  # the bin directory of the newest installed PostgreSQL (Debian layout, else PATH)
  local dir
  dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5 -n | tail -1)
  if [ -x "$dir/initdb" ] || [ -x "$dir/pg_dump" ]; then echo "$dir"; return; fi
  command -v pg_dump >/dev/null 2>&1 && { dirname "$(command -v pg_dump)"; return; }
  die "PostgreSQL binaries not found (Debian packages: postgresql or postgresql-client)"
}

libpq_uri() {  # libpq_uri URL: a Passerelle (SQLAlchemy) URL as libpq understands it
  printf '%s\n' "$1" | sed -E 's#^postgres(ql)?(\+[a-z0-9]+)?://#postgresql://#; s#([?&])ssl=#\1sslmode=#g'
}

use_database_password() {  # make libpq find the password of PASSERELLE_DATABASE_PASSWORD(_FILE)
  local password=${PASSERELLE_DATABASE_PASSWORD:-}
  if [ -n "${PASSERELLE_DATABASE_PASSWORD_FILE:-}" ]; then
    password=$(cat "$PASSERELLE_DATABASE_PASSWORD_FILE")
  fi
  [ -n "$password" ] || return 0
  # A private password file, never PGPASSWORD (other users' ps) nor the command line.
  PGPASSFILE=$(mktemp)
  export PGPASSFILE
  chmod 600 "$PGPASSFILE"
  printf '*:*:*:*:%s\n' "$(printf '%s' "$password" | sed 's/[\\:]/\\&/g')" > "$PGPASSFILE"
  trap 'rm -f "$PGPASSFILE"' EXIT
}
