#!/usr/bin/env bash
# `make run DB=postgres`: a private PostgreSQL server kept in DIR (default ./data/pg, its data
# survives between runs), database `lms` on it, and `LMS [ARGS...] --db <its URL>` in the
# foreground. PostgreSQL is stopped when lms exits (Ctrl-C included).
#   scripts/run_postgres.sh DIR LMS serve --port 8080 --demo
set -uo pipefail
[ $# -ge 2 ] || {
  echo "usage: scripts/run_postgres.sh DIR LMS [ARGS...]" >&2
  exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
shift
# As root, PostgreSQL runs as the `postgres` user, which cannot enter a checkout under /root:
# keep its data under /var/lib/lms-pg then (one folder per checkout), and say so.
if [ "$(id -u)" -eq 0 ] && id -u postgres >/dev/null 2>&1; then
  wanted=$(realpath -m "$dir")
  existing=$(dirname "$wanted")
  while [ ! -d "$existing" ]; do existing=$(dirname "$existing"); done
  if ! runuser -u postgres -- test -x "$existing" 2>/dev/null; then
    dir=/var/lib/lms-pg/$(printf '%s' "$wanted" | md5sum | cut -c1-12)
    mkdir -p /var/lib/lms-pg
    chmod 755 /var/lib/lms-pg
    echo "lms: the postgres user cannot reach $wanted; PostgreSQL keeps its data in $dir instead" >&2
  fi
fi
bash "$here/pg.sh" start "$dir" >/dev/null || exit 1
stop() { bash "$here/pg.sh" stop "$dir" || true; }
trap stop EXIT
url=$(bash "$here/pg.sh" db "$dir" lms) || exit 1
echo "lms: PostgreSQL database $url (data in $dir)"
# Ctrl-C reaches lms too (same process group): we wait for it to stop, then stop PostgreSQL.
trap 'true' INT TERM
"$@" --db "$url"
