#!/bin/sh
# Runs the CSV import black-box tests against the lms binary ($LMS_BINARY, default build/lms of
# this checkout). Exit code: 0 when every test passed.
#   tests/imports/run.sh                                   every *.test.mjs
#   tests/imports/run.sh upload.test.mjs                   some files
#   tests/imports/run.sh --test-name-pattern=revert        node --test options
# Uses node's built-ins and the helpers of ../realtime (socket.io-client from its node_modules).
set -eu
. "$(dirname "$0")/../support/node_suite.sh"
absolute_lms_binary
cd "$(dirname "$0")"
skip_postgres_without_server
npm_packages ../realtime socket.io-client
run_node_tests 900000 "$@"
