# Shared by the node --test suites' run.sh (tests/realtime, tests/imports, tests/web): sourced
# from the suite's own folder after `set -eu`. Each run.sh states what it needs and calls these.

# A relative $LMS_BINARY is relative to where run.sh was called from; call before cd.
absolute_lms_binary() {
  if [ -n "${LMS_BINARY:-}" ]; then
    case "$LMS_BINARY" in /*) ;; *) LMS_BINARY="$PWD/$LMS_BINARY"; export LMS_BINARY ;; esac
  fi
}

# LMS_TEST_ENGINE=postgres runs every server on a database of its own on the PostgreSQL server
# of LMS_TEST_POSTGRES_URL (make test and scripts/with_postgres.sh start one); without it the
# run is skipped (exit 77, which ctest reports as skipped).
skip_postgres_without_server() {
  if [ "${LMS_TEST_ENGINE:-sqlite}" = postgres ] && [ -z "${LMS_TEST_POSTGRES_URL:-}" ]; then
    echo "skipped: LMS_TEST_ENGINE=postgres but LMS_TEST_POSTGRES_URL is not set (run make test, or scripts/with_postgres.sh ctest ...)"
    exit 77
  fi
}

# npm ci in FOLDER when PACKAGE is missing there or its lock file is newer than the install.
npm_packages() {
  if [ ! -f "$1/node_modules/$2/package.json" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Runs the given *.test.mjs files (every one in this folder when none is named) and node --test
# options, one file at a time (each starts its own servers). TIMEOUT_MS is a last resort per
# file, so a hung test can never hang the run; every test has its own timeout too.
run_node_tests() {
  timeout_ms=$1
  shift
  files=""
  for arg in "$@"; do
    case "$arg" in *.test.mjs) files=yes ;; esac
  done
  [ -n "$files" ] || set -- "$@" ./*.test.mjs
  exec node --test --test-concurrency=1 --test-timeout="$timeout_ms" "$@"
}
