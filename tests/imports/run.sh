#!/bin/sh
# Runs the CSV import black-box tests against the lms binary ($LMS_BINARY, default build/lms of
# this checkout). Exit code: 0 when every test passed.
#   tests/imports/run.sh                                   every *.test.mjs
#   tests/imports/run.sh upload.test.mjs                   some files
#   tests/imports/run.sh --test-name-pattern=revert        node --test options
# Uses node's built-ins and the helpers of ../realtime (socket.io-client from its node_modules).
set -eu
# A relative binary path is relative to where we were called from.
if [ -n "${LMS_BINARY:-}" ]; then
  case "$LMS_BINARY" in /*) ;; *) LMS_BINARY="$PWD/$LMS_BINARY"; export LMS_BINARY ;; esac
fi
cd "$(dirname "$0")"

# LMS_TEST_ENGINE=postgres runs every server on a database of its own on the PostgreSQL server
# of LMS_TEST_POSTGRES_URL (make test and scripts/with_postgres.sh start one); without it the
# run is skipped (exit 77, which ctest reports as skipped).
if [ "${LMS_TEST_ENGINE:-sqlite}" = postgres ] && [ -z "${LMS_TEST_POSTGRES_URL:-}" ]; then
  echo "skipped: LMS_TEST_ENGINE=postgres but LMS_TEST_POSTGRES_URL is not set (run make test, or scripts/with_postgres.sh ctest ...)"
  exit 77
fi

if [ ! -f ../realtime/node_modules/socket.io-client/package.json ]; then
  (cd ../realtime && npm ci --no-audit --no-fund --loglevel=error)
fi

files=""
for arg in "$@"; do
  case "$arg" in *.test.mjs) files=yes ;; esac
done
[ -n "$files" ] || set -- "$@" ./*.test.mjs

# One file at a time (each starts its own servers); every test has its own timeout, and this
# one is a last resort so a hung test can never hang the run.
exec node --test --test-concurrency=1 --test-timeout=900000 "$@"
