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
