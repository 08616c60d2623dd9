#!/usr/bin/env bash
# S3: the same grid in bf16 (torch) and O4 fp16 (ONNX Runtime); then latency on a few thousand rows: batch 1
# (length-sorted) and fixed-512 at batch 32 (the notebook's padding), every backend.
export STAGE=s3
# shellcheck source=bench/gpu/env.sh
source "$(dirname "$0")/env.sh"
require_install
inference_grid 90 torch:bf16 "$ORT:$OPT"
all="torch:fp32,torch:bf16,$ORT:fp32,$ORT:$OPT"
step latency-batch1 120 "${KIT[@]}" bench --export "$EXPORT" --backends "$all" --strategies sorted --max-length 128 \
    --batch-sizes 1 --limit "$LATENCY_ROWS" --output "$RESULTS/latency-batch1"
step fixed-512 90 "${KIT[@]}" bench --export "$EXPORT" --backends "$all" --strategies fixed --fixed-lengths 512 \
    --max-length 512 --batch-sizes 32 --limit "$LATENCY_ROWS" --output "$RESULTS/fixed-512"
exit "$failed"
