#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: the unit tests of each
# framework crate and the integration test binary (tests/integration) with
# the feature `service-tests` (the tests that need the services and tools
# installed and started here), after a formatting check, clippy with
# `-D warnings`, a check that the CUDA build compiles, the book built with
# its links checked, and 30 s of fuzzing per fuzz target (scripts/fuzz.sh);
# then the neural crate built with LibTorch (`tch`, against PyPI's torch
# 2.9.0 in a cached virtualenv) and its tests run on LibTorch's CPU device.
# Extra arguments go to `cargo test`. Plain `cargo test --workspace` runs every test that needs
# none of them.
#
# The BERT tests need the pretrained all-MiniLM-L6-v2 (from PyPI, cached in
# ~/.cache/trendlab; see scripts/fetch_minilm.sh).
#
# The browser test needs Debian's Chromium and ChromeDriver (installed here
# when missing, with apt-get, as root or through sudo).
#
# The Kubernetes test validates the Indexed Jobs against the Kubernetes
# OpenAPI schema with the Python package kubernetes-validate (cached
# virtualenv, 23 MB).
#
# The Slurm test needs a real cluster: scripts/slurm-cluster.sh installs
# Debian's slurm-wlm and munge when missing and starts a single-node
# cluster (munged, slurmctld, slurmd) in a temporary folder; SLURM_CONF
# points at it, and it is stopped on exit.
#
# The tracking tests need a real MLflow server: this script installs the
# Python package `mlflow` into a cached virtualenv (first time: about a
# minute, ~850 MB), starts a server on a free local port, waits until it
# answers /health, and stops it (its whole process group) on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked --quiet -- -D warnings
cargo clippy --workspace --all-targets --locked --quiet --features service-tests -- -D warnings
# The GPU backend compiles on machines without a GPU (CubeCL loads CUDA at
# run time). DOCS_RS=1 keeps tracel-llvm-bundler, a build dependency of
# cubecl-cuda, from downloading an LLVM bundle that only linking needs.
# (That the crates reading results build without burn is a test:
# tests/integration/dependencies.rs.)
DOCS_RS=1 cargo check --locked --quiet -p trendlab-engine --features trendlab-engine/cuda

# The book (docs/): mdBook 0.4.52, cached in ~/.cache/trendlab, then every
# link of the README and the book checked.
mdbook_dir="${TRENDLAB_MDBOOK_DIR:-$HOME/.cache/trendlab/mdbook-0.4.52}"
if [ ! -x "$mdbook_dir/bin/mdbook" ]; then
  echo "installing mdbook 0.4.52 into $mdbook_dir"
  cargo install --quiet --locked --root "$mdbook_dir" mdbook@0.4.52 --no-default-features --features search
fi
# A clean build: no error and no warning.
book_log=$("$mdbook_dir/bin/mdbook" build docs 2>&1) || { echo "$book_log"; echo "mdbook build docs failed"; exit 1; }
if grep -E "WARN|ERROR" <<< "$book_log"; then echo "mdbook build docs warned"; exit 1; fi
python3 scripts/check_links.py

# Every fuzz target for 30 s (fuzz/README.md); a crash fails the run.
scripts/fuzz.sh --seconds "${TRENDLAB_FUZZ_SECONDS:-30}"

scripts/fetch_minilm.sh

if ! command -v chromium > /dev/null || ! command -v chromedriver > /dev/null; then
  echo "installing Debian's chromium and chromium-driver"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver > /dev/null
fi
export TRENDLAB_CHROMIUM="$(command -v chromium)"
export TRENDLAB_CHROMEDRIVER="$(command -v chromedriver)"

# Taplo, the TOML language server's checker (npm @taplo/cli), for the test
# of `trendlab schema` in an editor; cached in ~/.cache/trendlab.
taplo_dir="${TRENDLAB_TAPLO_DIR:-$HOME/.cache/trendlab/taplo-0.7.0}"
if [ ! -x "$taplo_dir/node_modules/.bin/taplo" ]; then
  if ! command -v npm > /dev/null; then
    echo "installing Debian's npm"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq npm > /dev/null
  fi
  echo "installing @taplo/cli 0.7.0 into $taplo_dir"
  mkdir -p "$taplo_dir"
  npm install --silent --no-audit --no-fund --prefix "$taplo_dir" @taplo/cli@0.7.0 > /dev/null
fi
export TRENDLAB_TAPLO="$taplo_dir/node_modules/.bin/taplo"

# Installs the PyPI package $2 at version $3 into a cached virtualenv ($1,
# or ~/.cache/trendlab/$2-$3) unless it has the command $4 (default $2),
# and prints the virtualenv's folder.
cached_venv() {
  local venv="${1:-$HOME/.cache/trendlab/$2-$3}"
  if [ ! -x "$venv/bin/${4:-$2}" ]; then
    echo "installing $2 $3 into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$2==$3" >&2
  fi
  echo "$venv"
}
mlflow_venv=$(cached_venv "${TRENDLAB_MLFLOW_VENV:-}" mlflow 3.17.2)
validate_venv=$(cached_venv "${TRENDLAB_KUBERNETES_VALIDATE_VENV:-}" kubernetes-validate 1.37.0)
export TRENDLAB_MLFLOW_BIN="$mlflow_venv/bin/mlflow"
export TRENDLAB_KUBERNETES_VALIDATE="$validate_venv/bin/kubernetes-validate"

state=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setsid "$TRENDLAB_MLFLOW_BIN" server --backend-store-uri "sqlite:///$state/mlflow.db" \
  --artifacts-destination "$state/artifacts" --host 127.0.0.1 --port "$port" --workers 1 \
  > "$state/server.log" 2>&1 &
server=$!
disown "$server"
stop_server() {
  scripts/slurm-cluster.sh stop "$state/slurm" || true
  kill -TERM -- "-$server" 2>/dev/null || true
  for _ in $(seq 1 20); do
    kill -0 "$server" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL -- "-$server" 2>/dev/null || true
  rm -rf "$state"
}
trap stop_server EXIT
export TRENDLAB_TEST_MLFLOW_URI="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  curl -sf "$TRENDLAB_TEST_MLFLOW_URI/health" > /dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$state/server.log"; echo "mlflow server exited"; exit 1; }
  sleep 1
done
curl -sf "$TRENDLAB_TEST_MLFLOW_URI/health" > /dev/null || { tail -20 "$state/server.log"; echo "mlflow server did not start"; exit 1; }
echo "mlflow server at $TRENDLAB_TEST_MLFLOW_URI (pid $server)"

scripts/slurm-cluster.sh start "$state/slurm"
export SLURM_CONF="$state/slurm/slurm.conf"

log="$state/cargo-test.log"
status=0
cargo test --workspace --locked --features service-tests "$@" 2>&1 | tee "$log" || status=$?

# burn-tch, the design's LibTorch backend (`--features tch`), built against
# the libtorch inside PyPI's torch wheel at the version tch 0.22 needs
# (2.9.0; a cached virtualenv, about 7 GB the first time), then the neural
# crate's tests on it: every family's training step (LSTM, BERT-fusion's
# network and encoder tuning, N-HiTS, PatchTST, DeepAR) on LibTorch's CPU
# device against the default backend, within 1e-4.
torch_venv=$(cached_venv "${TRENDLAB_TORCH_VENV:-}" torch 2.9.0 torchrun)
torch_lib=$("$torch_venv/bin/python" -c 'import pathlib, torch; print(pathlib.Path(torch.__file__).parent / "lib")')
(
  export VIRTUAL_ENV="$torch_venv" PATH="$torch_venv/bin:$PATH" LIBTORCH_USE_PYTORCH=1
  export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  cargo test --locked -p trendlab-neural --features tch --lib 2>&1
) | tee -a "$log" || status=$?
# One closing line over every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
