#!/usr/bin/env bash
# Installs the Debian packages lms needs to build, test and benchmark, when missing.
# Safe to run again: it only calls apt-get when something is absent.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost1.74-dev libsqlite3-dev sqlite3 libsodium-dev libssl-dev
  libspdlog-dev libfmt-dev libcli11-dev rapidjson-dev libsimdjson-dev
  libphonenumber-dev libpq-dev libhiredis-dev libyaml-cpp-dev
  postgresql-15  # the tests run every suite on PostgreSQL too (scripts/pg.sh starts private servers; pg_trgm is in it)
  libgtest-dev libgmock-dev libbenchmark-dev
  curl wrk procps
  prometheus  # only for promtool: the tests check /metrics with Prometheus' own parser
  redis-server nginx  # scripts/cluster (a loopback cluster behind nginx); the deploy checks
  chromium  # the desk's end-to-end tests (tests/web, driven by playwright-core from npm)
)
# Node.js may come from another source that bundles npm; only ask Debian when it is absent.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm packages, each folder from its lock file: the desk's build (Preact, socket.io-client,
# Chart.js, esbuild), the real-time tests' stock socket.io-client, and the desk's browser tests
# (playwright-core, axe-core).
cd "$(dirname "$0")/.."
npm_folder() {  # folder, a package that shows it is installed, what it is for
  if [ ! -f "$1/node_modules/$2/package.json" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
    echo "setup: installing $3 (npm ci in $1)"
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_folder web esbuild "the web desk's build"
npm_folder tests/realtime socket.io-client "the real-time test client"
npm_folder tests/web playwright-core "the browser test driver"
