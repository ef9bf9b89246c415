#!/usr/bin/env bash
# trendlab's neural families beside neuralforecast 3.3's, one after the
# other on the same machine and thread count (2), on the same backtest (3
# rolling windows, step = horizon, one network per window) with the same
# hyperparameters and number of optimiser steps (input 2 × horizon, MAE,
# a standard scaler per window, no validation or early stopping):
#   - m5:     the M5 sample, last 730 days, horizon 28, RMSSE with M5's one-step scale;
#   - retail: Online Retail weekly, horizon 8, MASE with m = 1.
# Prints, per family and setup, both means, the paired Wilcoxon test over
# series × windows, seconds per optimiser step (trendlab: the wall time of
# its whole run, data loading included, over the steps of the three
# windows; neuralforecast: its `fit` calls over theirs) and the ratio
# neuralforecast ÷ trendlab.
#
# Usage: benches/neural_vs_neuralforecast.sh [STEPS] [FAMILIES] [SETUPS]
#   defaults: 500 "nhits" "m5 retail"
# Needs a Python with neuralforecast==3.3.0: set PYTHON, e.g.
#   python3 -m venv /tmp/nf && /tmp/nf/bin/pip install neuralforecast==3.3.0
#   PYTHON=/tmp/nf/bin/python benches/neural_vs_neuralforecast.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
steps=${1:-500}
families=${2:-nhits}
setups=${3:-m5 retail}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet

spec() { # family setup
  local data horizon metric
  case $2 in
    m5) data='path = "'"$PWD"'/datasets/m5_sample50_daily.csv.gz"
time = "date"
id = "series_id"
target = "value"
frequency = "D"
since = "2014-05-24"'
        horizon=28 metric=rmsse ;;
    retail) data='path = "'"$PWD"'/datasets/online_retail_weekly.csv"
time = "week_start"
id = "stock_code"
target = "quantity"
frequency = "W-MON"'
        horizon=8 metric=mase ;;
  esac
  cat <<SPEC
[experiment]
name = "bench-$1-$2"
seed = 1
[data]
$data
[evaluation]
horizon = $horizon
folds = 3
step = $horizon
metrics = ["$metric"]
season = 1
[[models]]
name = "$1"
family = "$1"
input_size = $((2 * horizon))
max_steps = $steps
val_check_steps = $steps
patience = 0
validation = 0
scaler = "standard"
SPEC
  # neuralforecast's DeepAR feeds each period's distribution mean back and
  # forecasts it: forecast the same way.
  if [ "$1" = deepar ]; then printf 'point = "mean"\nfeedback = "mean"\n'; fi
}

for family in $families; do
  for setup in $setups; do
    spec "$family" "$setup" > "$work/$family-$setup.toml"
    # Two worker threads: the windows' runs share them (two at a time, each
    # product spread over both); the time per step is the wall time of all
    # three windows' training over their steps.
    started=$(date +%s.%N)
    target/release/trendlab run "$work/$family-$setup.toml" --out "$work/out" --quiet --jobs 2 > /dev/null
    wall=$(python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$started" "$(date +%s.%N)")
    "$python" benches/peers/neuralforecast_models.py "$family" "$setup" "$steps" . 2 2> /dev/null > "$work/peer.json"
    "$python" - "$work/out/runs/bench-$family-$setup" "$work/peer.json" "$steps" "$wall" <<'PY'
import glob, json, sys
import pandas as pd
from scipy.stats import wilcoxon
runs = [json.load(open(f)) for f in glob.glob(f"{sys.argv[1]}/*/run.json")]
peer = json.load(open(sys.argv[2]))
steps = int(sys.argv[3])
metric = peer["metric"]
ours = []
for r in runs:
    table = pd.read_parquet(f"{sys.argv[1]}/{r['run_id']}/series_metrics.parquet")
    table = table[["series_id", metric]].rename(columns={"series_id": "series", metric: "score"})
    table["cutoff"] = r["cutoff"]
    ours.append(table)
ours = pd.concat(ours).dropna()
theirs = pd.DataFrame(peer["scores"])
both = ours.merge(theirs, on=["series", "cutoff"], suffixes=("_trendlab", "_nf"))
mean = lambda c: both.groupby("cutoff")[c].mean().mean()
p = wilcoxon(both.score_trendlab, both.score_nf).pvalue
wall = float(sys.argv[4])
per_step = wall / (len(runs) * steps)
print(json.dumps({
    "family": peer["model"], "setup": peer["setup"], "metric": metric, "pairs": len(both),
    "trendlab": round(mean("score_trendlab"), 4), "neuralforecast": round(mean("score_nf"), 4),
    "wilcoxon_p": round(float(p), 4),
    "trendlab_s_per_step": round(per_step, 5), "neuralforecast_s_per_step": peer["seconds_per_step"],
    "neuralforecast_over_trendlab_step_time": round(peer["seconds_per_step"] / per_step, 2),
}))
PY
  done
done
