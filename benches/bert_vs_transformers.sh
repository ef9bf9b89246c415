#!/usr/bin/env bash
# Embedding throughput of all-MiniLM-L6-v2, trendlab beside Hugging Face
# transformers, one after the other on the same machine and thread count
# (the 200 Online Retail descriptions; see benches/bert.rs and
# benches/peers/hf_minilm_embed.py), then trendlab's fusion training
# s/epoch. Prints JSON lines and the ratio of the two throughputs.
#
# Usage: PYTHON=/path/to/python-with-torch-and-transformers benches/bert_vs_transformers.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
threads=${1:-2}
scripts/fetch_minilm.sh
cargo bench --bench bert --no-run --quiet 2> /dev/null
ours=$(cargo bench --quiet --bench bert -- --threads "$threads" 2> /dev/null)
echo "$ours"
peer=$("$python" benches/peers/hf_minilm_embed.py --threads "$threads" 2> /dev/null | tail -1)
echo "$peer"
python3 - "$(echo "$ours" | head -1)" "$peer" <<'PY'
import json, sys
ours, peer = (json.loads(a) for a in sys.argv[1:3])
print(json.dumps({"trendlab_over_transformers_descriptions_per_s": round(ours["descriptions_per_s"] / peer["descriptions_per_s"], 2)}))
PY
