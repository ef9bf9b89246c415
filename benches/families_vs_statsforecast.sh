#!/usr/bin/env bash
# The statistical families, trendlab beside statsforecast 2.1.1, one after
# the other on one thread each (trendlab --jobs 1, statsforecast n_jobs=1):
# fit-and-forecast seconds of every family on the 200 Online Retail daily
# series (the last 28 days forecast), and the ratios. With `accuracy`, also
# statsforecast's MASE on the two setups of the README's table (slow:
# AutoARIMA's cross-validation takes minutes).
#
# Usage: benches/families_vs_statsforecast.sh [accuracy]
# Needs a Python with pandas, numpy and statsforecast==2.1.1: set PYTHON, e.g.
#   python3 -m venv /tmp/sf && /tmp/sf/bin/pip install pandas statsforecast==2.1.1
#   PYTHON=/tmp/sf/bin/python benches/families_vs_statsforecast.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/spec.toml" <<SPEC
[experiment]
name = "bench-families"
[data]
path = "$PWD/datasets/online_retail_daily.csv.gz"
time = "date"
id = "stock_code"
target = "quantity"
frequency = "D"
[evaluation]
horizon = 28
folds = 1
metrics = ["mase"]
season = 7
[[models]]
name = "AutoARIMA"
family = "arima"
auto = true
season = 7
[[models]]
name = "AutoETS"
family = "ets"
season = 7
[[models]]
name = "AutoTheta"
family = "theta"
season = 7
[[models]]
name = "CrostonClassic"
family = "croston"
[[models]]
name = "CrostonSBA"
family = "croston"
variant = "sba"
[[models]]
name = "CrostonOptimized"
family = "croston"
variant = "optimized"
[[models]]
name = "TSB"
family = "tsb"
alpha_d = 0.2
alpha_p = 0.1
[[models]]
name = "ADIDA"
family = "adida"
[[models]]
name = "IMAPA"
family = "imapa"
SPEC
cargo build --release --quiet
target/release/trendlab run "$work/spec.toml" --out "$work/out" --quiet --jobs 1 > /dev/null
"$python" benches/peers/statsforecast_families.py timing . > "$work/peer.json"
python3 - "$work/out/runs/bench-families" "$work/peer.json" <<'PY'
import glob, json, sys
runs = [json.load(open(f)) for f in glob.glob(f"{sys.argv[1]}/*/run.json")]
ours = {r["model"]: r["fit_seconds"] for r in sorted(runs, key=lambda r: r["model"])}
theirs = {name.split("(")[0]: s for name, s in json.load(open(sys.argv[2]))["seconds"].items()}
print(f"{'family':18} {'trendlab s':>11} {'statsforecast s':>16} {'ratio':>7}")
for name, t in ours.items():
    s = theirs[name]
    print(f"{name:18} {t:11.4f} {s:16.4f} {s / t if t else float('inf'):7.1f}x")
PY
if [ "${1:-}" = accuracy ]; then
  "$python" benches/peers/statsforecast_families.py accuracy .
fi
