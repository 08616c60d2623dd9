#!/usr/bin/env bash
# c3 (carry: .gpu-bundle/b-ac, .gpu-bundle/SHA256SUMS): inference in bf16 beyond c1's cells: bucketed and dynamic
# at batch 32 and 512, and fixed-512 (the notebook's padding).
export STAGE=c3
# shellcheck source=bench/gpu/env.sh
source "$(dirname "$0")/env.sh"
require a
step keep-part 5 bash bench/gpu/install.sh keep b-ac
step inference-bf16 40 "${KIT[@]}" bench --model "$MODEL" "${ARCH[@]}" --backends torch:bf16 \
    --strategies bucketed,dynamic,fixed --fixed-lengths 512 --max-length 128 --batch-sizes 512,32 --limit "$ROWS" \
    --output "$RESULTS/inference-bf16"
exit "$failed"
