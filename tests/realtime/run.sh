#!/bin/sh
# Runs the real-time (Socket.IO) black-box tests against the lms binary ($LMS_BINARY, default
# build/lms of this checkout). Exit code: 0 when every test passed.
#   tests/realtime/run.sh                                  every *.test.mjs
#   tests/realtime/run.sh heartbeat.test.mjs               some files
#   tests/realtime/run.sh --test-name-pattern=upgrade      node --test options
set -eu
# A relative binary path is relative to where we were called from.
if [ -n "${LMS_BINARY:-}" ]; then
  case "$LMS_BINARY" in /*) ;; *) LMS_BINARY="$PWD/$LMS_BINARY"; export LMS_BINARY ;; esac
fi
cd "$(dirname "$0")"

if [ ! -f node_modules/socket.io-client/package.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

files=""
for arg in "$@"; do
  case "$arg" in *.test.mjs) files=yes ;; esac
done
[ -n "$files" ] || set -- "$@" ./*.test.mjs

# One file at a time (each starts its own servers); every test has its own timeout, and this
# one is a last resort so a hung test can never hang the run.
exec node --test --test-concurrency=1 --test-timeout=300000 "$@"
