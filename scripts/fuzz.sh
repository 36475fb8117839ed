#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang and runs each for a short time
# (default 15 s; `scripts/fuzz.sh 300` for a longer run). Skips cleanly without clang's
# libFuzzer runtime. Crashes are saved in build-fuzz/ and fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "fuzz: clang's libFuzzer is not installed; skipping"
  exit 0
fi
out=build-fuzz
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -Wno-ambiguous-reversed-operator -fsanitize=fuzzer,address,undefined -include utility -Isrc -DLMS_VERSION=\"fuzz\")
common=(src/common/json.cpp src/common/validate.cpp src/common/time.cpp src/accounts/model.cpp src/auth/tokens.cpp src/realtime/packets.cpp src/realtime/event_bus.cpp src/realtime/websocket.cpp src/imports/csv_reader.cpp src/imports/header_mapping.cpp src/leads/model.cpp)
libs=(-lsodium -lcrypto)
for target in fuzz/fuzz_*.cpp; do
  name=$(basename "$target" .cpp)
  if [ ! -x "$out/$name" ] || [ -n "$(find src fuzz -newer "$out/$name" -name '*.cpp' -o -newer "$out/$name" -name '*.h' | head -1)" ]; then
    clang++ "${flags[@]}" "$target" "${common[@]}" "${libs[@]}" -o "$out/$name"
  fi
  mkdir -p "$out/corpus-$name"
  echo "fuzz: $name for ${seconds}s"
  (cd "$out" && "./$name" -max_total_time="$seconds" -max_len=4096 -print_final_stats=0 "corpus-$name" 2>&1 | tail -n 2)
done
echo "fuzz: no crashes"
