#!/usr/bin/env bash
# Auto-ARIMA, trendlab beside statsforecast, on the same 200 synthetic daily
# series, one after the other (single thread each): seconds and MASE (m = 7).
#
# Usage: benches/arima_vs_statsforecast.sh [SERIES]   (default 200)
# Needs a Python with pandas, numpy and statsforecast==2.1.1: set PYTHON, e.g.
#   python3 -m venv /tmp/sf && /tmp/sf/bin/pip install pandas statsforecast==2.1.1
#   PYTHON=/tmp/sf/bin/python benches/arima_vs_statsforecast.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
series=${1:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" benches/peers/synth_daily.py "$work/all.csv" > /dev/null
awk -F, -v n="$series" 'NR == 1 { print; next } { id = substr($1, 2) + 0; if (id < n) print }' "$work/all.csv" > "$work/synth.csv"
cat > "$work/spec.toml" <<SPEC
[experiment]
name = "bench-auto-arima"
[data]
path = "synth.csv"
time = "ds"
id = "unique_id"
target = "y"
frequency = "D"
[evaluation]
horizon = 28
folds = 1
metrics = ["mase"]
season = 7
[[models]]
name = "auto_arima"
family = "arima"
auto = true
season = 7
SPEC
cargo build --release --quiet
start=$(date +%s.%N)
target/release/trendlab run "$work/spec.toml" --out "$work/out" --quiet > /dev/null
end=$(date +%s.%N)
mase=$(python3 -c "import json,glob; print(round(json.load(open(glob.glob('$work/out/runs/bench-auto-arima/*/metrics.json')[0]))['aggregate']['mase'], 5))")
echo "{\"trendlab\": {\"series\": $series, \"seconds\": $(echo "$end - $start" | bc), \"mase\": $mase}}"
"$python" benches/peers/statsforecast_autoarima.py "$work/synth.csv" 1 | tail -1
