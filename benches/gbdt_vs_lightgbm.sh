#!/usr/bin/env bash
# `gbdt` (hessboost) beside Python LightGBM on the same feature matrix and
# objective, one after the other, one thread each: the direct-strategy rows
# of every fold and horizon step of each experiment (benches/gbdt_matrix.rs
# writes them and fits trendlab's trees; benches/peers/lightgbm_matrix.py
# fits LightGBM on the same files and scores both by MASE).
#
# Usage: benches/gbdt_vs_lightgbm.sh [SPEC ...]
#   (default: experiments/retail_weekly_families.toml experiments/m5_families.toml)
# Needs a Python with lightgbm, numpy and pandas: set PYTHON, e.g.
#   python3 -m venv /tmp/lgb && /tmp/lgb/bin/pip install lightgbm pandas
#   PYTHON=/tmp/lgb/bin/python benches/gbdt_vs_lightgbm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
specs=("$@")
[ ${#specs[@]} -gt 0 ] || specs=(experiments/retail_weekly_families.toml experiments/m5_families.toml)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo bench --bench gbdt_matrix --no-run --quiet 2> /dev/null
for spec in "${specs[@]}"; do
  dir="$work/$(basename "$spec" .toml)"
  RAYON_NUM_THREADS=1 cargo bench --bench gbdt_matrix --quiet -- --spec "$spec" --out "$dir" > /dev/null
  echo "$spec: $("$python" benches/peers/lightgbm_matrix.py "$dir")"
done
