#!/usr/bin/env bash
# fuzz.sh — build a libFuzzer target and run it for a while.
#
#   scripts/fuzz.sh TARGET SECONDS     e.g. scripts/fuzz.sh tflite 300
#
# Builds build/fuzz/TARGET_fuzz (clang, -fsanitize=fuzzer,address,undefined;
# see emcc.mk), seeds a corpus under tests/fuzz/corpus/TARGET (git-ignored),
# runs libFuzzer, and prints the number of executions and any findings
# (crash-*, leak-*, timeout-*, oom-* files in tests/fuzz/findings/TARGET).
# Exit status: 0 when nothing was found, 1 when something was.
#
# For tflite and onnx the time is split: two thirds on small inputs (-max_len=65536,
# seeded with the hand-built models from tests/c/tflite_test.c and small
# truncations of the store's models), which runs thousands of inputs a second;
# one third on the store's whole models (-max_len=4000000), which are slow
# to load but reach the dequantization of real-sized weights.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: scripts/fuzz.sh TARGET SECONDS}
secs=${2:-60}
bin=build/fuzz/${target}_fuzz
corpus=tests/fuzz/corpus/$target
findings=tests/fuzz/findings/$target
models=${FEATVIZ_MODELS:-../shared/models}
images=${FEATVIZ_IMAGES:-${FEATVIZ_MODELS:-../shared/models}/../images}

# libFuzzer comes with clang and its runtime (Debian: clang, libclang-rt-14-dev)
if ! command -v clang >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
fi
[ -d node_modules/kissfft-js ] || npm ci --no-audit --no-fund --loglevel=error
make -f emcc.mk "$bin"
mkdir -p "$corpus" "$findings"

# ---- seeds ---------------------------------------------------------------
case "$target" in
  tflite)
    mkdir -p "$corpus/small" "$corpus/full"
    make -f emcc.mk -j2 build/native/tests/tflite_test >/dev/null
    build/native/tests/tflite_test --write-seeds "$corpus/small"
    for f in "$models"/*.tflite; do
      [ -e "$f" ] || continue
      b=$(basename "$f" .tflite)
      cp "$f" "$corpus/full/$b.tflite"
      # a small truncation: the root table and the start of the weights
      head -c 4096 "$f" >"$corpus/small/$b.head4k"
    done
    cp "$corpus"/small/built_* "$corpus/full/"
    ;;
  onnx)
    # the hand-built models of tests/c/onnx_test.c (every op the loader lowers, and the
    # refusals), small; the store's int8 GoogLeNet whole (7 MB), for a third of the time
    mkdir -p "$corpus/small" "$corpus/full"
    make -f emcc.mk -j2 build/native/tests/onnx_test >/dev/null
    build/native/tests/onnx_test --write-seeds "$corpus/small" >/dev/null || true
    [ -e "$models/googlenet_bvlc_int8.onnx" ] && cp "$models/googlenet_bvlc_int8.onnx" "$corpus/full/"
    cp "$corpus"/small/built_* "$corpus/full/"
    ;;
  prior)
    # real prior.bin files (1 and 2 components, ~72 and ~144 KB) fitted on the store's photos
    [ -e wasm/featviz.wasm ] || make -f emcc.mk -j2 wasm/featviz.wasm
    node bin/featviz.mjs prior fit "$images" --out "$corpus/k1.bin" --components 1 --iterations 2 >/dev/null
    node bin/featviz.mjs prior fit "$images" --out "$corpus/k2.bin" --components 2 --iterations 2 >/dev/null
    ;;
  image)
    # the head of each store photo (a truncated JPEG/BMP still exercises the
    # decoders) next to the tiny checked-in seeds; small inputs run fast
    for f in "$images"/*; do [ -e "$f" ] && head -c 16384 "$f" >"$corpus/$(basename "$f").head16k"; done
    ;;
esac
# any target: checked-in seeds and a libFuzzer dictionary, when present
if [ -d "tests/fuzz/seeds/$target" ]; then cp -r "tests/fuzz/seeds/$target/." "$corpus/"; fi
dict=()
if [ -f "tests/fuzz/$target.dict" ]; then dict=(-dict="tests/fuzz/$target.dict"); fi

# ---- run -----------------------------------------------------------------
# UBSan reports are made fatal so libFuzzer records them as findings.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() { # corpus-dir max_len seconds
  "$bin" "$1" -max_len="$2" -max_total_time="$3" -timeout=20 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$findings/" ${dict[@]+"${dict[@]}"} >>"$log" 2>&1 || true
}
if [ "$target" = tflite ] || [ "$target" = onnx ]; then
  small=$((secs * 2 / 3)); full=$((secs - small))
  [ "$small" -gt 0 ] && run "$corpus/small" 65536 "$small"
  [ "$full" -gt 0 ] && run "$corpus/full" 8000000 "$full"
elif [ "$target" = image ]; then
  run "$corpus" 4096 "$secs"
elif [ "$target" = prior ]; then
  run "$corpus" 200000 "$secs"
else
  run "$corpus" 8192 "$secs"
fi

execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
echo "fuzz $target: $execs executions in ${secs}s"
grep -E 'ERROR: |SUMMARY: |runtime error' "$log" | sort | uniq -c | head -20 || true
found=$(find "$findings" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
if [ -n "$found" ]; then
  echo "findings:"
  echo "$found"
  exit 1
fi
echo "findings: none"
