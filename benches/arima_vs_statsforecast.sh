#!/usr/bin/env bash
# Auto-ARIMA, trendlab beside statsforecast, on the same 200 synthetic daily
# series, one after the other: trendlab on one thread (--jobs 1) and on two
# (--jobs 2), statsforecast with n_jobs=1; seconds, MASE (m = 7) and ratios.
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
metrics = ["mase", "coverage"]
season = 7
[[models]]
name = "auto_arima"
family = "arima"
auto = true
season = 7
SPEC
cargo build --release --quiet
# trendlab_run JOBS: prints "seconds mase" of one timed run.
trendlab_run() {
  rm -rf "$work/out"
  local start end
  start=$(date +%s.%N)
  target/release/trendlab run "$work/spec.toml" --out "$work/out" --quiet --jobs "$1" > /dev/null
  end=$(date +%s.%N)
  echo "$(echo "$end - $start" | bc) $(python3 -c "import json,glob; print(json.load(open(glob.glob('$work/out/runs/bench-auto-arima/*/metrics.json')[0]))['aggregate']['mase'])")"
}
read -r t1 mase1 < <(trendlab_run 1)
read -r t2 mase2 < <(trendlab_run 2)
echo "{\"trendlab\": {\"series\": $series, \"jobs=1\": {\"seconds\": $t1, \"mase\": $mase1}, \"jobs=2\": {\"seconds\": $t2, \"mase\": $mase2}}}"
peer=$("$python" benches/peers/statsforecast_autoarima.py "$work/synth.csv" 1 | tail -1)
echo "$peer"
python3 - "$t1" "$mase1" "$t2" "$mase2" "$peer" <<'PY'
import json, sys
t1, m1, t2, m2 = map(float, sys.argv[1:5])
sf = json.loads(sys.argv[5])["n_jobs=1"]
print(json.dumps({
    "speedup_vs_statsforecast_single_thread": round(sf["seconds"] / t1, 2),
    "mase_vs_statsforecast_percent": round(100 * (m1 / sf["mase"] - 1), 3),
    "jobs2_speedup": round(t1 / t2, 2),
    "jobs2_same_mase": m1 == m2,
}))
PY
