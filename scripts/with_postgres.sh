#!/usr/bin/env bash
# Runs CMD... beside a private, throw-away PostgreSQL server (scripts/pg.sh in a fresh
# temporary folder): CMD sees LMS_TEST_POSTGRES_URL, the URL of its maintenance database.
# The server is stopped and its folder removed when CMD ends, fails or is interrupted; the
# exit status is CMD's.
#   scripts/with_postgres.sh ctest --output-on-failure
set -uo pipefail
[ $# -gt 0 ] || {
  echo "usage: scripts/with_postgres.sh CMD [ARGS...]" >&2
  exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/lms-pg-XXXXXX") || exit 1
cleanup() {
  bash "$here/pg.sh" stop "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
url=$(bash "$here/pg.sh" start "$dir" --fast) || {
  echo "with_postgres: could not start PostgreSQL" >&2
  exit 1
}
export LMS_TEST_POSTGRES_URL=$url
echo "with_postgres: PostgreSQL for the tests at $url" >&2
"$@"
