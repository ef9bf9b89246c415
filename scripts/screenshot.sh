#!/usr/bin/env bash
# Regenerates the README's pictures of reports with headless Chromium
# (Debian's `chromium`), from runs into a temporary folder (release build):
# - docs/report-quickstart.png: the quickstart's report (leaderboard with
#   its tests, critical-difference diagram, segments);
# - docs/forecast-retail-daily.png: the Forecast section of
#   experiments/retail_daily_forecast.toml after `trendlab forecast` (about a
#   minute: the backtest trains an LSTM).
#   scripts/screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
profile=$(mktemp -d)
trap 'rm -rf "$out" "$profile"' EXIT
cargo build --release --locked --quiet
shoot() { # page, size, png
  chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile" \
    --window-size="$2" --screenshot="$PWD/$3" "file://$out/reports/$1/index.html" 2> /dev/null
  echo "$3"
}
target/release/trendlab run experiments/quickstart.toml --out "$out" --quiet > /dev/null
shoot quickstart 1400,2300 docs/report-quickstart.png
target/release/trendlab run experiments/retail_daily_forecast.toml --out "$out" --jobs 2 --quiet > /dev/null
target/release/trendlab forecast experiments/retail_daily_forecast.toml --out "$out" --horizon 28 > /dev/null
shoot retail-daily-forecast 1280,1300 docs/forecast-retail-daily.png
