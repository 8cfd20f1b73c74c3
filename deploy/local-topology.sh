#!/usr/bin/env bash
# The compose topology without a container runtime, from installed Debian packages and the
# project's Python: one PostgreSQL cluster, the migration, the DSO simulator, two Passerelle
# replicas on that one database, and nginx terminating TLS in front of them. Everything listens
# on 127.0.0.1 at free ports and lives in one state directory.
#
#   deploy/local-topology.sh up       start what is not running (idempotent), print the URLs
#   deploy/local-topology.sh status   say what runs; exit 0 only if everything does
#   deploy/local-topology.sh down     stop everything and delete the state directory
#
# Environment:
#   PASSERELLE_TOPOLOGY_DIR   state directory (default ${TMPDIR:-/tmp}/passerelle-topology)
#   PASSERELLE_PYTHON         Python with Passerelle's dependencies (default: .venv, else python3)
#   PASSERELLE_TOPOLOGY_DEMO  1 to seed the demo data (replica 1 seeds, then replica 2 starts)
#
# The replicas read the simulator over HTTP (PASSERELLE_UPSTREAM_URL), as they would a DSO; its
# admin routes (fault injection) take the bearer token in $STATE/secrets/simulator_admin_token.
#
# Needs: PostgreSQL server binaries (initdb, pg_ctl, psql), nginx, openssl. As root, PostgreSQL
# runs as user postgres (initdb refuses root) and nginx workers as nobody.
# $STATE/topology.json describes the running topology for programs (tests/support/topology.py).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
STATE=${PASSERELLE_TOPOLOGY_DIR:-${TMPDIR:-/tmp}/passerelle-topology}
if [ -z "${PASSERELLE_PYTHON:-}" ]; then
  if [ -x "$root/.venv/bin/python" ]; then PASSERELLE_PYTHON=$root/.venv/bin/python
  else PASSERELLE_PYTHON=python3; fi
fi
PY=$PASSERELLE_PYTHON
DEMO=${PASSERELLE_TOPOLOGY_DEMO:-0}

# shellcheck source=lib/common.sh
. "$here/lib/common.sh"

# ---- locating tools ------------------------------------------------------------------------
nginx_bin() {
  command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } \
    || die "nginx not found (Debian package: nginx-light)"
}
as_postgres() {  # initdb and the server refuse to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
free_ports() {  # free_ports N: N distinct free TCP ports on 127.0.0.1
  "$PY" - "$1" <<'PYTHON'
import socket, sys
sockets = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); sockets.append(s)
print(" ".join(str(s.getsockname()[1]) for s in sockets))
PYTHON
}
wait_http() {  # wait_http URL SECONDS [CAFILE]: until URL answers 2xx
  "$PY" - "$@" <<'PYTHON' || return 1
import ssl, sys, time, urllib.request
url, limit = sys.argv[1], float(sys.argv[2])
context = ssl.create_default_context(cafile=sys.argv[3]) if len(sys.argv) > 3 else None
deadline = time.monotonic() + limit
while True:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context):
            sys.exit(0)
    except Exception as exc:
        if time.monotonic() > deadline:
            sys.exit(f"{url} did not answer in {limit:.0f} s: {exc}")
        time.sleep(0.1)
PYTHON
}
running() {  # running PID: the process exists and is not a zombie awaiting its reaper
  local state=""
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] && read -r _ _ state _ < "/proc/$1/stat"
  [ "$state" != Z ]
}
alive() { [ -s "$1" ] && running "$(head -n 1 "$1")"; }

# ---- state ---------------------------------------------------------------------------------
load_ports() {
  if [ ! -s "$STATE/ports" ]; then
    read -r PG_PORT SIM_PORT R1_PORT R2_PORT HTTPS_PORT HTTP_PORT <<<"$(free_ports 6)"
    cat > "$STATE/ports" <<EOF
PG_PORT=$PG_PORT
SIM_PORT=$SIM_PORT
R1_PORT=$R1_PORT
R2_PORT=$R2_PORT
HTTPS_PORT=$HTTPS_PORT
HTTP_PORT=$HTTP_PORT
EOF
  fi
  # shellcheck disable=SC1091
  . "$STATE/ports"
}

# ---- components ----------------------------------------------------------------------------
start_postgres() {
  local bin; bin=$(pg_bin)
  local pgdir=$STATE/pg
  if [ ! -s "$pgdir/data/PG_VERSION" ]; then
    mkdir -p "$pgdir"
    if [ "$(id -u)" = 0 ]; then
      runuser -u postgres -- test -x "$STATE" \
        || die "user postgres cannot enter $STATE: choose a PASSERELLE_TOPOLOGY_DIR under /tmp"
      chown postgres:postgres "$pgdir"
    fi
    as_postgres "$bin/initdb" -D "$pgdir/data" -U postgres --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 --locale=C >"$pgdir/initdb.log" 2>&1 \
      || die "initdb failed, see $pgdir/initdb.log"
  fi
  if ! as_postgres "$bin/pg_ctl" -D "$pgdir/data" status >/dev/null 2>&1; then
    as_postgres "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$pgdir" \
      start >/dev/null || die "PostgreSQL did not start, see $pgdir/server.log"
  fi
  local psql=("$bin/psql" -h "$pgdir" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA)
  if [ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'passerelle'")" ]; then
    # The password goes through stdin and a psql variable: never on a command line (ps).
    "${psql[@]}" -v pw="$(cat "$STATE/secrets/db_password")" >/dev/null <<'SQL'
CREATE ROLE passerelle LOGIN PASSWORD :'pw';
CREATE DATABASE passerelle OWNER passerelle;
SQL
  fi
}

passerelle_env() {  # the environment every Passerelle process gets (the compose file's)
  export PYTHONPATH=$root${PYTHONPATH:+:$PYTHONPATH}
  export PASSERELLE_DATA_DIR=$STATE/data
  export PASSERELLE_DATABASE_URL=postgresql://passerelle@127.0.0.1:$PG_PORT/passerelle
  export PASSERELLE_DATABASE_PASSWORD_FILE=$STATE/secrets/db_password
  export PASSERELLE_SECRET_KEY_FILE=$STATE/secrets/secret_key
  export PASSERELLE_EVIDENCE_KEYS_FILE=$STATE/secrets/evidence_keys
  export PASSERELLE_CACHE_KEY_FILE=$STATE/secrets/cache_key
  export PASSERELLE_METRICS_TOKEN_FILE=$STATE/secrets/metrics_token
  export PASSERELLE_SIMULATOR_SECRET_FILE=$STATE/secrets/simulator_secret
  export PASSERELLE_SIMULATOR_ADMIN_TOKEN_FILE=$STATE/secrets/simulator_admin_token
  # The replicas read the topology's simulator over HTTP, as they would a DSO.
  export PASSERELLE_UPSTREAM_URL=http://127.0.0.1:$SIM_PORT
  export PASSERELLE_UPSTREAM_CLIENT_SECRET_FILE=$STATE/secrets/simulator_secret
  export PASSERELLE_PUBLIC_URL=https://localhost:$HTTPS_PORT
  export PASSERELLE_LOG_FORMAT=json
  export PASSERELLE_TRUSTED_PROXIES=127.0.0.1
  export PASSERELLE_MIGRATE_ON_START=false
  export PASSERELLE_DEMO=$DEMO
}

spawn() {  # spawn NAME COMMAND...: run in the background, its own session, logged, pid kept
  local name=$1; shift
  alive "$STATE/run/$name.pid" && return 0
  setsid "$@" >>"$STATE/logs/$name.log" 2>&1 </dev/null &
  echo $! > "$STATE/run/$name.pid"
}

start_passerelle() {
  passerelle_env
  [ -e "$STATE/run/migrated" ] || {
    "$PY" -m proxy migrate >>"$STATE/logs/migrate.log" 2>&1 \
      || die "migration failed, see $STATE/logs/migrate.log"
    touch "$STATE/run/migrated"
  }
  # With the demo seeded, the simulator serves the demo households' meters as seeded.
  local sim_demo=()
  [ "$DEMO" = 1 ] && sim_demo=(--demo)
  spawn simulator "$PY" -m proxy simulator --host 127.0.0.1 --port "$SIM_PORT" "${sim_demo[@]}"
  wait_http "http://127.0.0.1:$SIM_PORT/api/v1/health" 60 \
    || die "the simulator did not start, see $STATE/logs/simulator.log"
  # One after the other: the first seeds the demo (if asked) before the second looks for it.
  # Each has its own data directory, as on separate hosts: they share nothing but PostgreSQL.
  local i port
  for i in 1 2; do
    port=$([ $i = 1 ] && echo "$R1_PORT" || echo "$R2_PORT")
    mkdir -p "$STATE/data/replica-$i"
    spawn "replica-$i" env PASSERELLE_DATA_DIR="$STATE/data/replica-$i" \
      "$PY" -m proxy serve --host 127.0.0.1 --port "$port"
    wait_http "http://127.0.0.1:$port/readyz" 90 \
      || die "replica $i is not ready, see $STATE/logs/replica-$i.log"
  done
}

start_nginx() {
  local nginx; nginx=$(nginx_bin)
  local prefix=$STATE/nginx
  mkdir -p "$prefix/conf.d"
  mkdir -p "$prefix/tmp"
  chmod 1777 "$prefix/tmp"  # nginx workers run as nobody when the master is root
  local user_directive=""
  if [ "$(id -u)" = 0 ]; then user_directive="user nobody $(id -gn nobody);"; fi
  NGINX_PREFIX=$prefix NGINX_USER_DIRECTIVE=$user_directive \
    "$PY" "$here/render_template.py" "$here/nginx/local-main.conf.template" "$prefix/nginx.conf"
  NGINX_SERVER_NAME="localhost 127.0.0.1" \
  NGINX_PUBLIC_ORIGIN=https://localhost:$HTTPS_PORT \
  NGINX_HTTPS_PORT=127.0.0.1:$HTTPS_PORT NGINX_HTTP_PORT=127.0.0.1:$HTTP_PORT \
  NGINX_UPSTREAM_1=127.0.0.1:$R1_PORT NGINX_UPSTREAM_2=127.0.0.1:$R2_PORT \
  NGINX_TLS_CERT=$STATE/secrets/tls.crt NGINX_TLS_KEY=$STATE/secrets/tls.key \
  NGINX_SNIPPETS=$here/nginx/snippets NGINX_ACCESS_LOG=$STATE/logs/nginx-access.log \
    "$PY" "$here/render_template.py" "$here/nginx/templates/passerelle.conf.template" \
      "$prefix/conf.d/passerelle.conf"
  "$nginx" -t -q -c "$prefix/nginx.conf" -e "$prefix/error.log" \
    || die "nginx -t rejected $prefix/nginx.conf"
  alive "$prefix/nginx.pid" || "$nginx" -c "$prefix/nginx.conf" -e "$prefix/error.log" \
    </dev/null >>"$STATE/logs/nginx.log" 2>&1
  wait_http "https://localhost:$HTTPS_PORT/healthz" 30 "$STATE/secrets/tls.crt" \
    || die "nginx does not answer over TLS, see $prefix/error.log"
}

describe() {  # topology.json for programs, URLs for people
  cat > "$STATE/topology.json" <<EOF
{
  "state_dir": "$STATE",
  "edge_url": "https://localhost:$HTTPS_PORT",
  "edge_http_url": "http://127.0.0.1:$HTTP_PORT",
  "ca_file": "$STATE/secrets/tls.crt",
  "replicas": ["http://127.0.0.1:$R1_PORT", "http://127.0.0.1:$R2_PORT"],
  "replica_logs": ["$STATE/logs/replica-1.log", "$STATE/logs/replica-2.log"],
  "nginx_access_log": "$STATE/logs/nginx-access.log",
  "simulator_url": "http://127.0.0.1:$SIM_PORT",
  "database_url": "postgresql://passerelle@127.0.0.1:$PG_PORT/passerelle",
  "secrets_dir": "$STATE/secrets"
}
EOF
  cat <<EOF
Passerelle topology up (state in $STATE)
  edge, TLS     https://localhost:$HTTPS_PORT   (CA file: $STATE/secrets/tls.crt)
  edge, HTTP    http://127.0.0.1:$HTTP_PORT     (redirects to TLS)
  replica 1     http://127.0.0.1:$R1_PORT
  replica 2     http://127.0.0.1:$R2_PORT
  simulator     http://127.0.0.1:$SIM_PORT
  PostgreSQL    postgresql://passerelle@127.0.0.1:$PG_PORT/passerelle (password: $STATE/secrets/db_password)
  metrics       curl -H "Authorization: Bearer \$(cat $STATE/secrets/metrics_token)" http://127.0.0.1:$R1_PORT/metrics
  logs          $STATE/logs/
EOF
}

# ---- commands ------------------------------------------------------------------------------
cmd_up() {
  command -v openssl >/dev/null 2>&1 || die "openssl not found (Debian package: openssl)"
  mkdir -p "$STATE"
  chmod 0755 "$STATE"  # PostgreSQL, running as postgres, must reach its directory inside
  mkdir -p "$STATE/logs" "$STATE/run" "$STATE/data"
  bash "$here/make-secrets.sh" "$STATE/secrets" localhost >/dev/null
  # Faults are injected into the simulator through its admin routes (tests only, never the DSO).
  [ -s "$STATE/secrets/simulator_admin_token" ] \
    || (umask 077; openssl rand -hex 24 > "$STATE/secrets/simulator_admin_token")
  load_ports
  start_postgres
  start_passerelle
  start_nginx
  describe
}

component_status() {  # prints "name state", returns 1 if stopped
  local name=$1 pidfile=$2
  if alive "$pidfile"; then echo "$name running (pid $(head -n 1 "$pidfile"))"; return 0; fi
  echo "$name stopped"; return 1
}

cmd_status() {
  [ -d "$STATE" ] || { echo "no topology at $STATE"; return 3; }
  local bad=0
  component_status postgresql "$STATE/pg/data/postmaster.pid" || bad=1
  component_status simulator "$STATE/run/simulator.pid" || bad=1
  component_status replica-1 "$STATE/run/replica-1.pid" || bad=1
  component_status replica-2 "$STATE/run/replica-2.pid" || bad=1
  component_status nginx "$STATE/nginx/nginx.pid" || bad=1
  return $((bad ? 3 : 0))
}

stop_pids() {  # stop_pids PIDFILE...: TERM them all, then KILL what still runs after 10 s
  local pidfile pids=() pid i
  for pidfile in "$@"; do
    alive "$pidfile" && pids+=("$(head -n 1 "$pidfile")")
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for i in $(seq 100); do
    local left=0
    for pid in "${pids[@]}"; do running "$pid" && left=1; done
    [ $left = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
}

cmd_down() {
  [ -d "$STATE" ] || { echo "no topology at $STATE"; return 0; }
  stop_pids "$STATE/nginx/nginx.pid" "$STATE/run/replica-2.pid" "$STATE/run/replica-1.pid" \
    "$STATE/run/simulator.pid"
  if [ -s "$STATE/pg/data/postmaster.pid" ]; then
    as_postgres "$(pg_bin)/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$STATE"
  echo "topology at $STATE stopped and removed"
}

case "${1:-}" in
  up) cmd_up ;;
  status) cmd_status ;;
  down) cmd_down ;;
  *) say "usage: $0 up|status|down"; exit 2 ;;
esac
