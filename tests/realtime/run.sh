#!/bin/sh
# Runs the real-time (Socket.IO) black-box tests against the lms binary ($LMS_BINARY, default
# build/lms of this checkout). Exit code: 0 when every test passed.
#   tests/realtime/run.sh                                  every *.test.mjs
#   tests/realtime/run.sh heartbeat.test.mjs               some files
#   tests/realtime/run.sh --test-name-pattern=upgrade      node --test options
set -eu
. "$(dirname "$0")/../support/node_suite.sh"
absolute_lms_binary
cd "$(dirname "$0")"
skip_postgres_without_server
npm_packages . socket.io-client
run_node_tests 300000 "$@"
