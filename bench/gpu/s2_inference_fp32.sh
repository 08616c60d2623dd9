#!/usr/bin/env bash
# S2: inference on the NSMC test split (all 50,000 rows) in fp32: torch and ONNX Runtime (CUDA, IO binding),
# fixed-128 / dynamic / sorted x batch 32/128/512; one bench run per backend, results written per cell.
export STAGE=s2
# shellcheck source=bench/gpu/env.sh
source "$(dirname "$0")/env.sh"
require_install
for backend in torch:fp32 "$ORT:fp32"; do
    step "bench-${backend/:/-}" 200 "${KIT[@]}" bench --export "$EXPORT" --backends "$backend" \
        --strategies fixed,dynamic,sorted --fixed-lengths 128 --max-length 128 --batch-sizes "$BATCHES" \
        "${ROWS[@]}" --output "$RESULTS/${backend/:/-}"
done
exit "$failed"
