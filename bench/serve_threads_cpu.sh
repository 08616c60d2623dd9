#!/usr/bin/env bash
# Where the 2 CPU cores go under load (issue: serving): the int8 export served with dynamic batching and with
# --max-batch-size 1, each with ONNX Runtime on 2 intra-op threads (spinning or not) or on 1 thread (one or
# two batches in the model at once), load-tested at concurrency 64. Writes bench/results/serve-threads-cpu/<config>/ and summary.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/serve_lib.sh
REQUESTS=${REQUESTS:-1500}
results=bench/results/serve-threads-cpu
configs=(
    "dynamic-t2-spin|--spin"
    "dynamic-t2-nospin|"
    "dynamic-t1|--threads 1"
    "dynamic-t1-p2|--threads 1 --parallel-calls 2"
    "batch1-t2-spin|--max-batch-size 1 --spin"
    "batch1-t2-nospin|--max-batch-size 1"
    "batch1-t1|--max-batch-size 1 --threads 1"
    "batch1-t1-p2|--max-batch-size 1 --threads 1 --parallel-calls 2"
)
for entry in "${configs[@]}"; do
    read -r -a flags <<< "${entry#*|}"
    serve_and_loadtest "$results/${entry%%|*}" "${flags[@]}" -- --concurrency 64 --requests "$REQUESTS" --duration 600
done
python bench/serve_summary.py "$results" > "$results/summary.md"
cat "$results/summary.md"
