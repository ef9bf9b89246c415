#!/usr/bin/env bash
# LSTM training throughput, trendlab beside PyTorch, one after the other on
# the same machine: the workload of benches/peers/torch_lstm_reference.py
# (1-layer LSTM 8→64 + linear head on the last step, X[12800, 28, 8],
# batch 256, Adam 1e-3, MSE; median of 3 epochs after a warm-up), both on
# 2 threads; then trendlab on 1 thread and the same network on burn's flex
# backend with autodiff (the tensor path GPUs take). Prints JSON lines and
# the ratio PyTorch s/epoch ÷ trendlab s/epoch.
#
# Usage: benches/lstm_vs_pytorch.sh
# Needs a Python with torch==2.9.0: set PYTHON, e.g.
#   python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch==2.9.0
#   PYTHON=/tmp/torch/bin/python benches/lstm_vs_pytorch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
cargo bench --bench lstm --no-run --quiet 2> /dev/null
bench() { cargo bench --quiet --bench lstm -- "$@" 2> /dev/null | tail -1; }
ours=$(bench --threads 2)
echo "$ours"
peer=$("$python" benches/peers/torch_lstm_reference.py 2> /dev/null | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)))')
echo "$peer"
one=$(bench --threads 1)
echo "$one"
burn=$(bench --threads 2 --path burn)
echo "$burn"
python3 - "$ours" "$peer" "$one" "$burn" <<'PY'
import json, sys
ours, peer, one, burn = (json.loads(a) for a in sys.argv[1:5])
print(json.dumps({
    "pytorch_over_trendlab_epoch_time": round(peer["median_epoch_s"] / ours["median_epoch_s"], 2),
    "pytorch_over_trendlab_1_thread": round(peer["median_epoch_s"] / one["median_epoch_s"], 2),
    "burn_autodiff_over_trendlab_kernel": round(burn["median_epoch_s"] / ours["median_epoch_s"], 2),
    "inference_pytorch_over_trendlab": round(min(peer["inference_all_12800_batch256_s"]) / ours["inference_all_12800_s"], 2),
}))
PY
