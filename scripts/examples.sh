#!/usr/bin/env bash
# Regenerates the committed example reports in docs/examples/ from the
# report templates: runs each example experiment into a run store under
# target/examples/ (kept between calls, so a second call only re-renders)
# and copies its reports/<experiment>/ folder to docs/examples/<experiment>/.
# A user's `trendlab run` writes reports/ (ignored) and never touches these.
#
#   scripts/examples.sh                  # every example
#   scripts/examples.sh quickstart       # some, by spec name
#
# The BERT-fusion example needs all-MiniLM-L6-v2 (scripts/fetch_minilm.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
examples=("$@")
[ ${#examples[@]} -gt 0 ] || examples=(quickstart arima_weekly lstm_retail bert_fusion_retail ensemble_retail retail_weekly_families m5_families architectures_m5)
cargo build --release --locked --quiet
store="target/examples"
mkdir -p "$store"
for spec in "${examples[@]}"; do
  name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "experiments/$spec.toml" | head -1)
  echo "== $spec ($name)"
  target/release/trendlab run "experiments/$spec.toml" --out "$store" --jobs 2 --quiet > /dev/null
  rm -rf "docs/examples/$name"
  cp -r "$store/reports/$name" "docs/examples/$name"
done
