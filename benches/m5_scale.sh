#!/usr/bin/env bash
# M5 at full size on this machine: generates the 30,490-series panel with
# benches/peers/synth_m5.py (49 M rows, 1.19 GB CSV), runs benches/m5_scale.toml
# (naive, seasonal naive, mean, direct ridge; horizon 28, 3 folds, --jobs 2)
# from an empty store and prints wall seconds, peak RSS, store and report size,
# and the report's load and draw time in headless Chromium
# (benches/report_open.py). With pyarrow, also the seconds `trendlab plan`
# takes to load the panel from CSV and from Parquet.
#
# Usage: benches/m5_scale.sh            (M5_WORK=DIR keeps and reuses the panel)
# Needs: python3 with numpy and pandas (pyarrow for the Parquet line),
#        /usr/bin/time, chromium and chromedriver for the draw time;
#        PROFILE=1 adds a perf profile of the run (where the time goes).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
python=${PYTHON:-python3}
work=${M5_WORK:-$(mktemp -d)}
[ -n "${M5_WORK:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
if [ ! -s "$work/panel.csv" ]; then
  echo "generating the panel (30,490 series x 1,941 days) in $work ..."
  "$python" benches/peers/synth_m5.py 30490 1941 "$work/panel.csv"
fi
cp benches/m5_scale.toml "$work/spec.toml"
cargo build --release --quiet
bin=$repo/target/release/trendlab
rm -rf "$work/out"
record=()
[ "${PROFILE:-0}" = 1 ] && record=(perf record -F 199 -g -o "$work/perf.data" --)
/usr/bin/time -v -o "$work/time.txt" "${record[@]}" "$bin" run "$work/spec.toml" --jobs 2 --out "$work/out" --quiet > "$work/run.txt"
cat "$work/run.txt"
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
store=$(du -sb "$work/out/runs" | cut -f1)
report="$work/out/reports/m5-scale/index.html"
printf '\n%-34s %s\n' "csv size (MB)" "$(( $(stat -c %s "$work/panel.csv") / 1000000 ))"
printf '%-34s %s\n' "wall (m:ss)" "$wall"
printf '%-34s %.2f\n' "peak RSS (GB)" "$(echo "$rss_kb / 1000000" | bc -l)"
printf '%-34s %.1f\n' "run store (MB)" "$(echo "$store / 1000000" | bc -l)"
printf '%-34s %.2f\n' "report index.html (MB)" "$(echo "$(stat -c %s "$report") / 1000000" | bc -l)"
if command -v chromedriver > /dev/null; then
  "$python" benches/report_open.py --repeat 3 "$report"
fi
if "$python" -c "import pyarrow" 2> /dev/null; then
  [ -s "$work/panel.parquet" ] || "$python" -c "import pandas as pd; pd.read_csv('$work/panel.csv').to_parquet('$work/panel.parquet', index=False)"
  sed 's/panel.csv/panel.parquet/' "$work/spec.toml" > "$work/spec_parquet.toml"
  for spec in spec.toml spec_parquet.toml; do
    start=$(date +%s.%N)
    "$bin" plan "$work/$spec" > /dev/null
    printf '%-34s %.1f\n' "load + plan, $spec (s)" "$(echo "$(date +%s.%N) - $start" | bc -l)"
  done
fi
if [ "${PROFILE:-0}" = 1 ]; then
  perf report -i "$work/perf.data" --no-children --percent-limit 2 --stdio 2> /dev/null | grep -E '^ +[0-9]' | head -20
fi
