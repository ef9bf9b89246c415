#!/usr/bin/env bash
# Fuzzes the parsers that read what users and other processes write: the
# spec (`spec`), the long-format data loaders (`long_csv`, `parquet`), the
# transaction log loader (`transactions`), the work-unit manifest
# (`manifest`), `--future` files (`future_csv`), saved models
# (`saved_model`) and the run store's files (`store_files`); see
# fuzz/README.md.
#
#   scripts/fuzz.sh                 every target for 30 s (what CI runs)
#   scripts/fuzz.sh --seconds 600   every target for 10 minutes
#   scripts/fuzz.sh --runs 1000000  every target for a million executions
#   scripts/fuzz.sh --runs 1000000 spec manifest   only those targets
#
# Needs only the stable toolchain: cargo-fuzz (cached in ~/.cache/trendlab)
# builds the targets with libFuzzer's coverage instrumentation and without
# a sanitizer (trendlab is safe Rust), with debug assertions on so that an
# integer overflow is a finding. Each target starts from the committed seeds
# (fuzz/seeds/<target>) and the corpus earlier runs grew here
# (fuzz/corpus/<target>, not committed). A panic, an abort, an input that
# takes over 10 s or 2 GB stops the target: libFuzzer keeps the input in
# fuzz/artifacts/<target>/ and this script exits 1. Add such an input to
# tests/bad_inputs/cases once it is fixed.
set -euo pipefail
cd "$(dirname "$0")/.."

limit=(-max_total_time=30)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2"); shift 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(spec long_csv transactions manifest parquet future_csv saved_model store_files)

fuzz_root="${TRENDLAB_CARGO_FUZZ_DIR:-$HOME/.cache/trendlab/cargo-fuzz-0.13.2}"
if [ ! -x "$fuzz_root/bin/cargo-fuzz" ]; then
  echo "installing cargo-fuzz 0.13.2 into $fuzz_root"
  cargo install --quiet --locked --root "$fuzz_root" cargo-fuzz@0.13.2
fi
export PATH="$fuzz_root/bin:$PATH"

cargo fuzz build -O -s none --debug-assertions
bin=fuzz/target/x86_64-unknown-linux-gnu/release
status=0
for target in "${targets[@]}"; do
  case "$target" in
    spec) dict=(-dict=fuzz/dicts/spec.dict) ;;
    long_csv|transactions|future_csv) dict=(-dict=fuzz/dicts/csv.dict) ;;
    saved_model|store_files) dict=(-dict=fuzz/dicts/json.dict) ;;
    *) dict=() ;;
  esac
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  log=$(mktemp)
  start=$(date +%s.%N)
  if "$bin/$target" "${dict[@]}" "${limit[@]}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="fuzz/artifacts/$target/" "fuzz/corpus/$target" "fuzz/seeds/$target" > "$log" 2>&1; then
    seconds=$(python3 -c "import time; print(f'{time.time() - $start:.0f}')")
    runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
    rate=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$log")
    rss=$(awk '/stat::peak_rss_mb/ { print $2 }' "$log")
    echo "fuzz $target: $runs executions in $seconds s ($rate/s, peak $rss MB), no crash"
  else
    status=1
    echo "fuzz $target: FOUND A CRASH (input kept in fuzz/artifacts/$target/):"
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -20 || tail -30 "$log"
  fi
  rm -f "$log"
done
exit "$status"
