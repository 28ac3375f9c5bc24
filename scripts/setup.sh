#!/usr/bin/env bash
# setup.sh — makes a fresh machine ready: installs what is missing (Debian
# packages with apt-get, npm packages with npm ci), builds the engine and lays
# out the store's models under models/ (links, git-ignored) with the shipped prior
# models/prior-store.bin fitted on the store's photos (git-ignored too).
#   scripts/setup.sh               everything
#   scripts/setup.sh --build-only  no model layout
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "setup: $*" >&2; }

# ---- Debian packages --------------------------------------------------------------
need=()
command -v emcc >/dev/null 2>&1 || need+=(emscripten)
[ -f /usr/include/stb/stb_image.h ] && [ -f /usr/include/stb/stb_image_write.h ] || need+=(libstb-dev)
command -v make >/dev/null 2>&1 || need+=(make)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
# Node's acorn for emscripten's optimizer (Debian's node-acorn, under /usr/share/nodejs)
[ -d /usr/share/nodejs/acorn ] || need+=(node-acorn)
# Debian's Chromium for tests/browser/ (driven by npm's playwright-core at
# /usr/bin/chromium; playwright's own browser download cannot work here).
# FEATVIZ_BROWSER_TESTS=0 skips both the install and those tests.
if [ "${FEATVIZ_BROWSER_TESTS:-1}" != 0 ] && [ -d web ] && ls tests/browser/*.test.mjs >/dev/null 2>&1; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
fi
# The job runners of tests/runners.test.mjs: a real single-node Slurm (slurm-wlm:
# slurmctld, slurmd and the commands; munge authenticates them) and GNU parallel.
command -v parallel >/dev/null 2>&1 || need+=(parallel)
{ command -v slurmctld && command -v slurmd && command -v sbatch; } >/dev/null 2>&1 || need+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || need+=(munge)
# PyTorch, torchvision and onnx for Debian's Python: tests/torchvision.test.mjs exports
# torchvision's architectures with scripts/torchvision_models.py (a test-time tool only;
# the engine never needs it). OpenBLAS: PyTorch on the reference BLAS is 3-10x slower.
# FEATVIZ_TORCH_TESTS=0 skips both the install and those tests.
if [ "${FEATVIZ_TORCH_TESTS:-1}" != 0 ]; then
  /usr/bin/python3 -c 'import torch, torchvision, onnx' >/dev/null 2>&1 || need+=(python3-torch python3-torchvision python3-onnx)
  ls /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 >/dev/null 2>&1 || need+=(libopenblas0-pthread)
fi
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} (apt-get)"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# ---- npm packages -------------------------------------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages (npm ci)"
  # onnxruntime-node's install script fetches extra (GPU) binaries and fails offline;
  # its CPU runtime is inside the package
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
fi

# ---- build ----------------------------------------------------------------------------------
log "building (make -f emcc.mk)"
make -s -f emcc.mk -j"$(nproc 2>/dev/null || echo 2)" all >&2

# ---- models ---------------------------------------------------------------------------------
if [ "${1:-}" != "--build-only" ]; then
  store="${FEATVIZ_MODELS:-../shared/models}"
  if [ -d "$store" ]; then
    for f in "$store"/*.tflite "$store"/*.onnx "$store"/imagenet_labels.txt; do
      [ -e "$f" ] && ln -sf "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" "models/$(basename "$f")"
    done
    # the store's photos, for the page's input detection (catalog.json "photos")
    images="${FEATVIZ_IMAGES:-$store/../images}"
    if [ -d "$images" ]; then
      mkdir -p models/photos
      for f in "$images"/*; do
        [ -f "$f" ] && ln -sf "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" "models/photos/$(basename "$f")"
      done
    fi
  else
    log "warning: no model store at $store (set FEATVIZ_MODELS)"
  fi
fi

# ---- the shipped prior -----------------------------------------------------------------------
# The patch prior (src/prior.h) fitted on the store's photos: a derivative of them of ~0.6 MB,
# so it is made here and git-ignored, not committed. The same photos give the same bytes.
if [ "${1:-}" != "--build-only" ]; then
  images="${FEATVIZ_IMAGES:-${FEATVIZ_MODELS:-../shared/models}/../images}"
  if [ ! -s models/prior-store.bin ] && [ -d "$images" ]; then
    log "fitting the shipped prior on $images (featviz prior fit, ~1 min)"
    node bin/featviz.mjs prior fit "$images" --out models/prior-store.bin >&2
  fi
fi
