#!/usr/bin/env bash
# Compiles C++ files for errors only (no objects), with the project's flags: a quick check of a
# file before it joins the build, without touching build/. Usage: scripts/syntax_check.sh FILE...
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
status=0
for f in "$@"; do
  extra=()
  case "$f" in tests/*|*/tests/*) extra=(-I"$root/tests") ;; esac
  c++ -fsyntax-only -std=c++20 -Wall -Wextra -Wno-missing-field-initializers -include utility \
    -Wno-mismatched-new-delete -Wno-restrict -DBOOST_ASIO_DISABLE_BOOST_COROUTINE -DBOOST_ASIO_NO_DEPRECATED \
    -DBOOST_BEAST_USE_STD_STRING_VIEW -DSPDLOG_FMT_EXTERNAL -DLMS_VERSION=\"0.1.0\" \
    -I"$root/src" -I/usr/include/postgresql "${extra[@]}" "$f" || status=1
done
exit $status
