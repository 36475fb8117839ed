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
bash "$here/pg.sh" start "$dir" >/dev/null || exit 1
stop() { bash "$here/pg.sh" stop "$dir" || true; }
trap stop EXIT
url=$(bash "$here/pg.sh" db "$dir" lms) || exit 1
echo "lms: PostgreSQL database $url (data in $dir)"
# Ctrl-C reaches lms too (same process group): we wait for it to stop, then stop PostgreSQL.
trap 'true' INT TERM
"$@" --db "$url"
