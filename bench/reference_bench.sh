#!/usr/bin/env bash
# Accuracy next to speed, on the reference model (bench/reference_model.sh): export it with O2, O3 and the
# CPU's int8 (each approximate variant judged on 2,000 labeled reviews), then every variant x fixed-128 /
# dynamic / sorted batches of 32 on all 50,000 NSMC test reviews, with accuracy, F1, agreement and the
# accuracy difference to torch fp32 (paired 95% interval). About 40 minutes on 2 CPU cores.
# torch bf16 runs on the first 2,000 rows only, beside torch fp32: a CPU without AVX-512 BF16/AMX emulates
# bf16 matmuls (8x slower than fp32 here), so 50,000 rows of it would take over an hour.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${NSMC_DATA_DIR:-../shared/data/nsmc}
EXPORT=exports/reference
OUT=bench/results/reference-bench-cpu
[[ -f $EXPORT/export.json ]] || nsmckit export --onnx runs/reference --optimize O2 --optimize O3 --quantize int8 \
    --data-dir "$DATA" --output "$EXPORT"
mkdir -p "$OUT"
cp "$EXPORT/export.json" "$OUT/"
nsmckit bench --export "$EXPORT" --backends torch:fp32,ort-cpu:fp32,ort-cpu:O2,ort-cpu:O3,ort-cpu:int8 \
    --strategies fixed,dynamic,bucketed --fixed-lengths 128 --batch-sizes 32 --all-rows --data-dir "$DATA" --output "$OUT"
nsmckit bench --export "$EXPORT" --backends torch:fp32,torch:bf16 \
    --strategies fixed,dynamic,bucketed --fixed-lengths 128 --batch-sizes 32 --limit 2000 --data-dir "$DATA" --output "$OUT-bf16"
