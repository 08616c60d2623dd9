#!/usr/bin/env bash
# Serving under load on CPU (issue: serving). Serves an export (default: the klue/bert-base architecture with
# random weights, int8) twice, with dynamic batching and with --max-batch-size 1, and load-tests each at
# concurrency 64 with real NSMC test reviews, then sweeps concurrency. Writes bench/results/loadtest-cpu-{dynamic,batch1,sweep}/.
#   nsmckit export --onnx ../shared/models/klue-bert-base --no-weights --quantize int8 --max-length 128 \
#       --output exports/klue-bert-base-random
set -euo pipefail
cd "$(dirname "$0")/.."
EXPORT=${EXPORT:-exports/klue-bert-base-random}
VARIANT=${VARIANT:-int8}
REQUESTS=${REQUESTS:-10000}
REQUESTS_BATCH1=${REQUESTS_BATCH1:-3000}  # the slow baseline: enough requests for a stable rate
export NSMC_DATA_DIR=${NSMC_DATA_DIR:-../shared/data/nsmc}

run() {  # name, extra serve flags...; then the loadtest flags after --
    local name=$1; shift
    local serve_flags=() lt_flags=()
    while [[ $# -gt 0 && $1 != -- ]]; do serve_flags+=("$1"); shift; done
    shift
    lt_flags=("$@")
    nsmckit serve "$EXPORT" --variant "$VARIANT" --host 127.0.0.1 --port 8123 --no-access-log "${serve_flags[@]}" \
        > "/tmp/nsmckit-serve-$name.log" 2>&1 &
    local pid=$!
    until curl -sf http://127.0.0.1:8123/health > /dev/null; do sleep 0.5; done
    nsmckit loadtest http://127.0.0.1:8123 "${lt_flags[@]}" --output "bench/results/loadtest-cpu-$name"
    kill -TERM "$pid" && wait "$pid"
}

run dynamic -- --concurrency 64 --requests "$REQUESTS" --duration 600
run batch1 --max-batch-size 1 -- --concurrency 64 --requests "$REQUESTS_BATCH1" --duration 600
run sweep -- --concurrency 1,8,32,128 --duration 10
