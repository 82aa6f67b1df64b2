#!/bin/sh
# Builds the importer fuzzer and runs it for SECONDS (default 600) at low
# priority, seeded with the bad-input corpus and the MLP example.
set -eu
SECONDS_TO_RUN=${1:-600}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${KILN_FUZZ_BUILD:-$ROOT/build-fuzz}
WORK=${KILN_FUZZ_WORK:-$BUILD/fuzz-work}
cmake -G Ninja -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 -DKILN_BUILD_FUZZERS=ON >/dev/null
nice -n 19 ninja -C "$BUILD" -j1 kiln-import-fuzzer
rm -rf "$WORK/seeds-tree"
mkdir -p "$WORK/corpus" "$WORK/seeds" "$WORK/artifacts"
python3 "$ROOT/test/onnx-bad/corpus.py" write "$WORK/seeds-tree"
for model in "$WORK"/seeds-tree/*/model.onnx; do
  cp "$model" "$WORK/seeds/$(basename "$(dirname "$model")").onnx"
done
cp "$ROOT/examples/mlp/mlp.onnx" "$WORK/seeds/"
cp "$ROOT"/test/Import/Inputs/*.onnx "$WORK/seeds/" 2>/dev/null || true
exec nice -n 19 "$BUILD/bin/kiln-import-fuzzer" "$WORK/corpus" "$WORK/seeds" \
  -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=4096 -timeout=20 \
  -artifact_prefix="$WORK/artifacts/" -print_final_stats=1
