#!/usr/bin/env bash
# Regenerates docs/report-quickstart.png, the README's picture of a report:
# runs the quickstart (release build) into a temporary folder and has
# headless Chromium (Debian's `chromium`) photograph its index.html.
#   scripts/screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
profile=$(mktemp -d)
trap 'rm -rf "$out" "$profile"' EXIT
cargo run --release --quiet -- run experiments/quickstart.toml --out "$out" --quiet > /dev/null
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile" \
  --window-size=1280,2300 --screenshot="$PWD/docs/report-quickstart.png" \
  "file://$out/reports/quickstart/index.html" 2> /dev/null
echo "docs/report-quickstart.png"
