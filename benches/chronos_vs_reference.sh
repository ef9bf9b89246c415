#!/usr/bin/env bash
# Chronos-Bolt forecasting throughput, trendlab beside the reference package
# (chronos-forecasting 2.3), one after the other on the same machine and
# thread count: for each size, a model of the published configuration with
# seeded random weights (built and saved by the reference, read by both),
# forecasting the 200 Online Retail weekly series (h = 8) and the 50 M5
# sample series (h = 28) from their whole histories. Prints JSON lines (series
# per second, peak memory) and the ratio trendlab ÷ reference.
#
# Usage: PYTHON=/path/to/python-with-chronos-forecasting benches/chronos_vs_reference.sh [SIZES] [THREADS]
#   defaults: "small base" 2
#   python3 -m venv /tmp/chronos && /tmp/chronos/bin/pip install chronos-forecasting==2.3.0
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
sizes=${1:-small base}
threads=${2:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo bench --bench chronos --no-run --quiet 2> /dev/null
for size in $sizes; do
  for data in retail m5; do
    peer=$("$python" benches/peers/chronos_bolt_reference.py --size "$size" --data "$data" \
      --checkpoint "$work/$size" --threads "$threads" 2> /dev/null | tail -1)
    ours=$(cargo bench --quiet --bench chronos -- --checkpoint "$work/$size" --data "$data" \
      --threads "$threads" 2> /dev/null | tail -1)
    echo "$peer"
    echo "$ours"
    python3 - "$size" "$ours" "$peer" <<'PY'
import json, sys
size, ours, peer = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(json.dumps({"size": size, "data": ours["data"],
                  "trendlab_over_reference_series_per_s": round(ours["series_per_s"] / peer["series_per_s"], 2)}))
PY
  done
done
