#!/usr/bin/env bash
# c1 (carry: .gpu-bundle/a.tar.xz, .gpu-bundle/b-aa, .gpu-bundle/SHA256SUMS): bundle A, then PyTorch on the GPU
# with the klue/bert-base architecture (random weights: speed does not depend on them), no export needed.
# Headline cells first: training bucketed vs fixed-128, inference bucketed vs fixed-128, batch-1 latency.
export STAGE=c1
# shellcheck source=bench/gpu/env.sh
source "$(dirname "$0")/env.sh"
step install-a 25 bash bench/gpu/install.sh a b-aa
require a
step device 10 python3 bench/gpu/device.py "$RESULTS/device.json" "${DEVICE[@]}"
step train 40 "${KIT[@]}" bench --scenario train --model "$MODEL" "${ARCH[@]}" --backends torch:bf16 \
    --strategies bucketed,fixed --max-length 128 --batch-sizes 128 --train-steps "$TRAIN_STEPS" --limit "$TRAIN_ROWS" \
    --output "$RESULTS/train"
step inference 35 "${KIT[@]}" bench --model "$MODEL" "${ARCH[@]}" --backends torch:bf16,torch:fp32 \
    --strategies bucketed,fixed --fixed-lengths 128 --max-length 128 --batch-sizes 128 --limit "$ROWS" \
    --output "$RESULTS/inference"
step latency 25 "${KIT[@]}" bench --model "$MODEL" "${ARCH[@]}" --backends torch:bf16,torch:fp32 \
    --strategies bucketed --max-length 128 --batch-sizes 1 --limit "$LATENCY_ROWS" --output "$RESULTS/latency"
exit "$failed"
