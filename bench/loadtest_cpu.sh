#!/usr/bin/env bash
# Serving under load on CPU (issue: serving). Serves an export (default: the klue/bert-base architecture with
# random weights, int8) twice, with dynamic batching and with --max-batch-size 1, and load-tests each at
# concurrency 64 with real NSMC test reviews, then sweeps concurrency. Writes bench/results/loadtest-cpu-{dynamic,batch1,sweep}/.
# SERVE_FLAGS (e.g. "--threads 1 --no-spin") go to every server.
#   nsmckit export --onnx ../shared/models/klue-bert-base --no-weights --quantize int8 --max-length 128 \
#       --output exports/klue-bert-base-random
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/serve_lib.sh
REQUESTS=${REQUESTS:-10000}
REQUESTS_BATCH1=${REQUESTS_BATCH1:-3000}  # the slow baseline: enough requests for a stable rate
read -r -a flags <<< "${SERVE_FLAGS:-}"
results=bench/results/loadtest-cpu

serve_and_loadtest "$results-dynamic" "${flags[@]}" -- --concurrency 64 --requests "$REQUESTS" --duration 600
serve_and_loadtest "$results-batch1" "${flags[@]}" --max-batch-size 1 -- \
    --concurrency 64 --requests "$REQUESTS_BATCH1" --duration 600
serve_and_loadtest "$results-sweep" "${flags[@]}" -- --concurrency 1,8,32,128 --duration 10
