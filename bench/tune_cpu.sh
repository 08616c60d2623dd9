#!/usr/bin/env bash
# nsmckit tune on this CPU with the reference export (bench/reference_model.sh trains the model into
# runs/reference; the export is bench/reference_bench.sh's, made here if missing): serve mode at p99 <= 200 ms
# and at a tighter 100 ms, each with the server's default settings searched first in the same run (the
# baseline the choice must beat), offline mode at 200 ms; then what coordinated omission hides: the int8
# server closed-loop at concurrency 64, and open-loop at the rate that achieved.
# Writes bench/results/tune-cpu/. About 30 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export EXPORT=${EXPORT:-exports/reference}
source bench/serve_lib.sh
DATA=${NSMC_DATA_DIR:-../shared/data/nsmc}
OUT=bench/results/tune-cpu
BUDGET_S=${BUDGET_S:-600}
[[ -f $EXPORT/export.json ]] || nsmckit export --onnx runs/reference --optimize O2 --optimize O3 --quantize int8 \
    --data-dir "$DATA" --output "$EXPORT"
mkdir -p "$OUT"
for p99 in 200 100; do
    nsmckit tune "$EXPORT" --mode serve --p99-ms "$p99" --budget-s "$BUDGET_S" --data-dir "$DATA" \
        --output "$OUT/serve-p99-$p99" | tee "$OUT/serve-p99-$p99.log"
done
nsmckit tune "$EXPORT" --mode offline --p99-ms 200 --data-dir "$DATA" --output "$OUT/offline-p99-200"
serve_and_loadtest "$OUT/closed-loop" -- --concurrency 64 --duration 30
rate=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['cells'][0]['samples_per_s'])" \
    "$OUT/closed-loop/results.json")
serve_and_loadtest "$OUT/open-loop" -- --rate "$rate" --duration 30
