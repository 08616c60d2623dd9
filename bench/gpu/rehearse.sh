#!/usr/bin/env bash
# The GPU run's whole call sequence on this CPU, at toy size, through the same scripts: fetch (data only),
# every part call, S1-S5 (a 2-layer klue architecture, a few hundred rows, ONNX Runtime on the CPU), then
# collect. Each call gets its own empty OUT, as the device tool gives it. A renamed flag or a broken stage
# fails here (tests/test_gpu_plan.py runs this in CI) instead of on the GPU.
#   bash bench/gpu/rehearse.sh [RESULTS_DIR]     (default: a scratch folder; never bench/results)
set -euo pipefail
cd "$(dirname "$0")/../.."
scratch=$(mktemp -d /tmp/nsmckit-rehearsal.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
# GPU_SITE may be given: check_image.sh installs the real bundle there first, into the image's Python.
export REHEARSAL=1 GPU_WORK=$scratch/machine GPU_SITE=${GPU_SITE:-$scratch/machine/site} GPU_BUNDLE=$scratch/bundle \
    PART_MIB=4
results=${1:-$scratch/results}
call() {  # OUT_NAME COMMAND...: one device call
    local out=$scratch/calls/$1
    shift
    mkdir -p "$out"
    OUT=$out "$@"
}
bash bench/gpu/fetch.sh
for part in "$GPU_BUNDLE"/part-*; do
    call "${part##*/}" bash bench/gpu/part.sh "${part##*-}"
done
for stage in s1_install s2_inference_fp32 s3_inference_fast s4_train s5_serve; do
    call "$stage" bash "bench/gpu/$stage.sh"
    ls "$scratch/calls/$stage"
done
bash bench/gpu/collect.sh --output "$results" "$scratch"/calls/s*
