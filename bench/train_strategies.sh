#!/usr/bin/env bash
# Training cost of each batching strategy (issue: foundation). klue/bert-base architecture with random
# weights (speed does not depend on the weight values), real NSMC, CPU. Writes bench/results/train-strategies-cpu/.
set -euo pipefail
cd "$(dirname "$0")/.."
nsmckit bench --scenario train --model "${NSMC_MODEL:-../shared/models/klue-bert-base}" --no-weights \
    --data-dir "${NSMC_DATA_DIR:-../shared/data/nsmc}" --limit 4000 --batch-sizes 32 --max-length 128 \
    --train-steps "${STEPS:-12}" --backends torch:fp32 --output bench/results/train-strategies-cpu "$@"
