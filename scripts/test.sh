#!/usr/bin/env bash
# Install what is missing, build, and run every test:
#   1. the unit and system tests (CTest),
#   2. the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. each fuzz target for a bounded time (JPKI_FUZZ_SECONDS, default 60 in all).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== build"
bash scripts/build.sh build
echo "== unit and system tests"
(cd build && ctest --output-on-failure -j2)

echo "== unit tests under ASan+UBSan"
bash scripts/build.sh build-asan -DJPKI_SANITIZE=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
   UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
   ctest --output-on-failure -j2 -L unit)

if ls fuzz/fuzz_*.c >/dev/null 2>&1; then
  echo "== fuzz targets"
  CC=clang bash scripts/build.sh build-fuzz -DJPKI_FUZZ=ON
  bash scripts/fuzz.sh build-fuzz "${JPKI_FUZZ_SECONDS:-60}"
fi
echo "== all tests passed"
