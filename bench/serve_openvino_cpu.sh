#!/usr/bin/env bash
# Serving on OpenVINO against ONNX Runtime (issue: OpenVINO backend): the export of bench/openvino_cpu.sh
# (klue/bert-base architecture, random weights) served with ONNX Runtime's int8 and with ov-int8, each with
# dynamic batching and with --max-batch-size 1, load-tested at concurrency 64 with NSMC test reviews; ov-int8
# also with two streams (--parallel-calls 2 --threads 1). Writes bench/results/openvino-<isa>/serve/*/ (summary.md: bench/serve_summary.py).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/serve_lib.sh
EXPORT=exports/klue-random-ov
ISA=$(python -c "from kit.export.onnx import cpu_isa; print(cpu_isa())")
out=bench/results/openvino-$ISA/serve
for VARIANT in int8 ov-int8; do
    serve_and_loadtest "$out/$VARIANT-dynamic" -- --concurrency 64 --requests "${REQUESTS:-3000}" --duration 600
    serve_and_loadtest "$out/$VARIANT-batch1" --max-batch-size 1 -- \
        --concurrency 64 --requests "${REQUESTS_BATCH1:-1000}" --duration 600
done
VARIANT=ov-int8 serve_and_loadtest "$out/ov-int8-2streams" --parallel-calls 2 --threads 1 -- \
    --concurrency 64 --requests "${REQUESTS:-3000}" --duration 600
python bench/serve_summary.py "$out" > "$out/summary.md"
