#!/bin/sh
# Runs the desk's end-to-end tests in Debian's chromium (playwright-core) against the lms binary
# ($LMS_BINARY, default build/lms of this checkout). Exit code: 0 when every test passed.
#   tests/web/run.sh                       every *.test.mjs
#   tests/web/run.sh leads.test.mjs        some files
set -eu
. "$(dirname "$0")/../support/node_suite.sh"
absolute_lms_binary
cd "$(dirname "$0")"
skip_postgres_without_server
if [ ! -x "${LMS_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "chromium is missing: make setup installs it (Debian package chromium)" >&2
  exit 1
fi
npm_packages . playwright-core
npm_packages ../realtime socket.io-client
run_node_tests 300000 "$@"
