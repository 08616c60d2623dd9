#!/usr/bin/env bash
# S2: inference on the NSMC test split (all 50,000 rows) in fp32: torch and ONNX Runtime (CUDA, IO binding),
# fixed-128 / dynamic / sorted x batch 32/128/512; one bench run per backend, results written per cell.
export STAGE=s2
# shellcheck source=bench/gpu/env.sh
source "$(dirname "$0")/env.sh"
require_install
inference_grid 200 torch:fp32 "$ORT:fp32"
exit "$failed"
