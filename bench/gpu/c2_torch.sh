#!/usr/bin/env bash
# c2 (carry: .gpu-bundle/b-ab, .gpu-bundle/SHA256SUMS): the notebook recipe against dynamic padding in training:
# fixed-512 vs dynamic, fp32 and bf16, batch 32 (the notebooks padded every review to 512 before batching).
export STAGE=c2
# shellcheck source=bench/gpu/env.sh
source "$(dirname "$0")/env.sh"
require a
step keep-part 5 bash bench/gpu/install.sh keep b-ab
step train-notebook 40 "${KIT[@]}" bench --scenario train --model "$MODEL" "${ARCH[@]}" \
    --backends torch:bf16,torch:fp32 --strategies fixed,dynamic --max-length 512 --batch-sizes 32 \
    --train-steps "$TRAIN_STEPS" --limit "$TRAIN_ROWS" --output "$RESULTS/train-notebook"
exit "$failed"
