#!/usr/bin/env bash
# S4: training samples/s per strategy in bf16 (batch 32 and 128), the notebook's recipe (fixed-512, fp32,
# batch 8), and one epoch of `nsmckit finetune --no-weights` on the train split with its run.json.
export STAGE=s4
# shellcheck source=bench/gpu/env.sh
source "$(dirname "$0")/env.sh"
require_install
step train-bf16 150 "${KIT[@]}" bench --scenario train --model "$MODEL" "${ARCH[@]}" --backends torch:bf16 \
    --batch-sizes "$TRAIN_BATCHES" --max-length 128 --train-steps "$TRAIN_STEPS" --limit "$TRAIN_ROWS" \
    --output "$RESULTS/train-bf16"
step train-notebook 60 "${KIT[@]}" bench --scenario train --model "$MODEL" "${ARCH[@]}" --backends torch:fp32 \
    --batch-sizes 8 --max-length 512 --train-steps "$TRAIN_STEPS" --limit "$TRAIN_ROWS" \
    --output "$RESULTS/train-notebook"
step finetune-epoch 180 "${KIT[@]}" finetune --model "$MODEL" "${ARCH[@]}" --epochs 1 --strategy bucketed \
    --batch-size 128 --pad-to-multiple-of 8 --precision auto "${EPOCH[@]}" --output "$GPU_WORK/finetune" --overwrite
cp "$GPU_WORK/finetune/run.json" "$GPU_WORK/finetune/curves.png" "$RESULTS/" 2>/dev/null || true
exit "$failed"
