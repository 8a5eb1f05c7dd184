#!/usr/bin/env bash
# Run every fuzz target in BUILD_DIR for a share of SECONDS, from its seed
# corpus in fuzz/corpus/<name>/.  Fails on the first crash.
#   CC=clang bash scripts/build.sh build-fuzz -DJPKI_FUZZ=ON
#   bash scripts/fuzz.sh build-fuzz 60
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-fuzz}
total=${2:-60}
targets=()
for f in fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
per=$(( total / ${#targets[@]} )); [ "$per" -ge 5 ] || per=5
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  if [ -d "fuzz/corpus/$t" ]; then cp -r "fuzz/corpus/$t/." "$work/"; fi
  echo "fuzz: $t for ${per}s"
  "$dir/$t" -max_total_time="$per" -max_len=4096 -print_final_stats=0 \
      -artifact_prefix="$dir/$t-" "$work" 2>"$dir/$t.log" || {
    echo "fuzz: $t crashed; see $dir/$t.log" >&2; tail -30 "$dir/$t.log" >&2; exit 1; }
  rm -rf "$work"
done
