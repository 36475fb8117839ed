#!/usr/bin/env bash
# A private PostgreSQL server for the tests and for `make run DB=postgres`: its own data
# folder, a free loopback port, trust authentication on 127.0.0.1 only, superuser `lms`.
#
#   scripts/pg.sh start DIR [--fast]   initdb DIR if it is new, start the server, print its URL
#   scripts/pg.sh stop DIR             stop it (fast shutdown); nothing to do when it is not running
#   scripts/pg.sh url DIR              print the URL of the running server
#   scripts/pg.sh status DIR           exit 0 when it runs, 3 when it does not
#   scripts/pg.sh db DIR NAME          create database NAME on the running server unless it
#                                      exists; print its URL
#
# The URL is postgres://lms@127.0.0.1:PORT/postgres (the maintenance database: create your
# own databases on it). --fast turns off fsync, synchronous commit and full-page writes: for
# throw-away test servers, whose data need not survive a crash of the machine.
#
# PostgreSQL refuses to run as root: run as root, this script runs the server as the
# `postgres` system user of Debian's package (or a dedicated `lms-postgres` user it creates)
# and gives DIR to that user; run as anyone else, the server runs as you. Binaries come from
# $PG_BIN (default /usr/lib/postgresql/15/bin, Debian's postgresql-15; scripts/setup.sh
# installs it). Starting twice prints the URL of the running server; the port may differ
# from one start to the next (the URL is printed, and `url` tells it).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
SUPERUSER=lms

die() {
  echo "pg.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: scripts/pg.sh start DIR [--fast] | stop DIR | url DIR | status DIR | db DIR NAME" >&2
  exit 2
}

[ $# -ge 2 ] || usage
command=$1
dir_arg=$2
shift 2
fast=no
database=
if [ "$command" = db ]; then
  [ $# -eq 1 ] || usage
  database=$1
  [[ $database =~ ^[a-z_][a-z0-9_]*$ ]] || die "database name '$database': lower-case letters, digits and _ only"
  shift
fi
for a in "$@"; do
  case "$a" in
    --fast) [ "$command" = start ] || usage; fast=yes ;;
    *) usage ;;
  esac
done
case "$command" in start | stop | url | status | db) ;; *) usage ;; esac
[ -n "$dir_arg" ] || die "DIR is empty"

for b in initdb pg_ctl pg_isready postgres psql; do
  [ -x "$PG_BIN/$b" ] || die "$PG_BIN/$b not found: install Debian's postgresql-15 (scripts/setup.sh does) or set PG_BIN"
done

# DIR as an absolute path (it may not exist yet).
DIR=$(realpath -m -- "$dir_arg") || die "bad folder name: $dir_arg"
DATA=$DIR/data
LOG=$DIR/server.log

# Who runs the server, and how we run a command as them.
if [ "$(id -u)" -eq 0 ]; then
  if id -u postgres >/dev/null 2>&1; then
    OWNER=postgres
  else
    OWNER=lms-postgres
    if ! id -u "$OWNER" >/dev/null 2>&1; then
      useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$OWNER" ||
        die "cannot create the system user $OWNER to run PostgreSQL (it refuses to run as root)"
    fi
  fi
  as_owner() { (cd / && runuser -u "$OWNER" -- "$@"); }
else
  OWNER=$(id -un)
  as_owner() { (cd / && "$@"); }
fi

# The port of the running server (line 4 of postmaster.pid), or nothing.
running_port() {
  [ -f "$DATA/postmaster.pid" ] || return 0
  as_owner "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1 || return 0
  sed -n 4p "$DATA/postmaster.pid"
}

url_for() { echo "postgres://$SUPERUSER@127.0.0.1:$1/postgres"; }

# True when nothing listens on 127.0.0.1:$1.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A port below the kernel's ephemeral range (where `--port 0` servers land), free right now.
free_port() {
  local low=32768 port tries
  if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
    read -r low _ </proc/sys/net/ipv4/ip_local_port_range || true
  fi
  [ "$low" -gt 12000 ] || low=32768
  for tries in $(seq 1 200); do
    port=$((10000 + RANDOM % (low - 10000)))
    [ "$port" -eq 55432 ] && continue
    if port_free "$port"; then
      echo "$port"
      return 0
    fi
  done
  die "no free loopback port found"
}

init_cluster() {
  # DIR for the owner: created if missing, given to them when we are root.
  mkdir -p "$DIR" || die "cannot create $DIR"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$OWNER:" "$DIR"
  elif [ ! -O "$DIR" ]; then
    die "$DIR is not yours ($(stat -c %U "$DIR")): PostgreSQL needs its data folder to belong to the user it runs as"
  fi
  chmod 700 "$DIR"
  as_owner test -w "$DIR" ||
    die "$OWNER cannot write $DIR: a folder above it is not searchable by $OWNER (choose a DIR under /tmp, or one $OWNER can reach)"
  if [ -e "$DATA" ] && [ -n "$(ls -A "$DATA" 2>/dev/null)" ]; then
    die "$DATA exists but is not a PostgreSQL data folder (no PG_VERSION): remove it or choose another DIR"
  fi
  echo "pg.sh: initdb in $DATA (as $OWNER)" >&2
  if ! as_owner "$PG_BIN/initdb" -D "$DATA" -U "$SUPERUSER" -A trust -E UTF8 --locale=C.UTF-8 \
    >"$DIR/initdb.log" 2>&1; then
    cat "$DIR/initdb.log" >&2
    die "initdb failed (its output is above and in $DIR/initdb.log)"
  fi
  # The Unix socket lives in DIR when its path fits in sun_path (107 bytes); else TCP only.
  local sockets=$DIR
  [ ${#DIR} -le 90 ] || sockets=
  as_owner sh -c 'cat >>"$1"' sh "$DATA/postgresql.conf" <<EOF

# scripts/pg.sh: a private server on loopback (the port is given at each start)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockets'
max_connections = 300
logging_collector = off
log_min_messages = warning
log_min_error_statement = panic
EOF
}

start() {
  if [ -f "$DATA/PG_VERSION" ]; then
    [ "$(cat "$DATA/PG_VERSION")" = "$("$PG_BIN/postgres" -V | sed -E 's/.* ([0-9]+)[.].*/\1/')" ] ||
      die "$DATA is a PostgreSQL $(cat "$DATA/PG_VERSION") data folder, not one for $PG_BIN"
    if [ "$(id -u)" -eq 0 ] && [ "$(stat -c %U "$DATA")" != "$OWNER" ]; then
      die "$DATA belongs to $(stat -c %U "$DATA"), not $OWNER"
    fi
  else
    init_cluster
  fi
  local port
  port=$(running_port)
  if [ -n "$port" ]; then
    echo "pg.sh: already running in $DIR" >&2
    url_for "$port"
    return 0
  fi
  local options="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
  [ $fast = no ] || options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  # The port is free when probed but may be taken before the server binds it: try a few.
  # The port of the last start first, so the URL stays the same when it can.
  local attempt last=
  [ ! -f "$DIR/port" ] || last=$(cat "$DIR/port")
  for attempt in 1 2 3 4 5; do
    if [ "$attempt" -eq 1 ] && [ -n "$last" ] && port_free "$last"; then
      port=$last
    else
      port=$(free_port)
    fi
    if as_owner "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 -s -o "-p $port $options" start >/dev/null 2>&1; then
      break
    fi
    port=
    # A server that did start but was not ready in time is stopped before the next try.
    as_owner "$PG_BIN/pg_ctl" -D "$DATA" -m immediate -s stop >/dev/null 2>&1 || true
  done
  [ -n "$port" ] || {
    tail -n 20 "$LOG" >&2 2>/dev/null || true
    die "PostgreSQL did not start in $DATA (the end of $LOG is above)"
  }
  local waited
  for waited in $(seq 1 100); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$SUPERUSER" -d postgres && break
    sleep 0.1
  done
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$SUPERUSER" -d postgres ||
    die "PostgreSQL started in $DATA but does not accept connections on 127.0.0.1:$port (see $LOG)"
  echo "$port" >"$DIR/port" 2>/dev/null || as_owner sh -c 'echo "$1" >"$2"' sh "$port" "$DIR/port" || true
  echo "pg.sh: PostgreSQL running in $DIR on 127.0.0.1:$port (log $LOG)" >&2
  url_for "$port"
}

stop() {
  if [ ! -f "$DATA/PG_VERSION" ]; then
    echo "pg.sh: no PostgreSQL data folder in $DIR: nothing to stop" >&2
    return 0
  fi
  if [ -z "$(running_port)" ]; then
    echo "pg.sh: PostgreSQL in $DIR is not running" >&2
    return 0
  fi
  as_owner "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 -s stop ||
    die "pg_ctl stop failed for $DATA"
  echo "pg.sh: stopped PostgreSQL in $DIR" >&2
}

case "$command" in
  start) start ;;
  stop) stop ;;
  url)
    port=$(running_port)
    [ -n "$port" ] || die "no PostgreSQL running in $DIR (scripts/pg.sh start $dir_arg)"
    url_for "$port"
    ;;
  db)
    port=$(running_port)
    [ -n "$port" ] || die "no PostgreSQL running in $DIR (scripts/pg.sh start $dir_arg)"
    psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$(url_for "$port")")
    exists=$("${psql[@]}" -Atc "SELECT 1 FROM pg_database WHERE datname = '$database'") ||
      die "cannot query the server in $DIR"
    if [ "$exists" != 1 ]; then
      "${psql[@]}" -c "CREATE DATABASE $database" || die "CREATE DATABASE $database failed"
      echo "pg.sh: created database $database" >&2
    fi
    echo "postgres://$SUPERUSER@127.0.0.1:$port/$database"
    ;;
  status)
    port=$(running_port)
    if [ -n "$port" ]; then
      echo "pg.sh: running in $DIR: $(url_for "$port")"
    else
      echo "pg.sh: not running in $DIR"
      exit 3
    fi
    ;;
esac
