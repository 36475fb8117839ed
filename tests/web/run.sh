#!/bin/sh
# Runs the desk's end-to-end tests in Debian's chromium (playwright-core) against the lms binary
# ($LMS_BINARY, default build/lms of this checkout). Exit code: 0 when every test passed.
#   tests/web/run.sh                       every *.test.mjs
#   tests/web/run.sh leads.test.mjs        some files
set -eu
if [ -n "${LMS_BINARY:-}" ]; then
  case "$LMS_BINARY" in /*) ;; *) LMS_BINARY="$PWD/$LMS_BINARY"; export LMS_BINARY ;; esac
fi
cd "$(dirname "$0")"

if [ "${LMS_TEST_ENGINE:-sqlite}" = postgres ] && [ -z "${LMS_TEST_POSTGRES_URL:-}" ]; then
  echo "skipped: LMS_TEST_ENGINE=postgres but LMS_TEST_POSTGRES_URL is not set"
  exit 77
fi
if [ ! -x "${LMS_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "chromium is missing: make setup installs it (Debian package chromium)" >&2
  exit 1
fi
if [ ! -f node_modules/playwright-core/package.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f ../realtime/node_modules/socket.io-client/package.json ]; then
  (cd ../realtime && npm ci --no-audit --no-fund --loglevel=error)
fi

files=""
for arg in "$@"; do
  case "$arg" in *.test.mjs) files=yes ;; esac
done
[ -n "$files" ] || set -- "$@" ./*.test.mjs

exec node --test --test-concurrency=1 --test-timeout=300000 "$@"
