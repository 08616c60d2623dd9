#!/usr/bin/env bash
# c4 (carry: .gpu-bundle/b-ad, .gpu-bundle/SHA256SUMS): bundle B joined and installed (one onnxruntime: the GPU
# build), the CUDA probe, the O4 export validated on CUDA, then ONNX Runtime CUDA (IO binding) against
# PyTorch bf16 in one run, O4 first; batch-1 latency.
export STAGE=c4
# shellcheck source=bench/gpu/env.sh
source "$(dirname "$0")/env.sh"
require a
step keep-part 5 bash bench/gpu/install.sh keep b-ad
step install-b 30 bash bench/gpu/install.sh b
require b
step probe 15 sh -c "python3 bench/gpu/probe.py --provider $PROVIDER > $RESULTS/probe.json"
step export 60 "${KIT[@]}" export --onnx "$MODEL" "${ARCH[@]}" --optimize "$OPT" --max-length 128 \
    "${VALIDATION[@]}" --output "$EXPORT" --force
cp "$EXPORT/export.json" "$RESULTS/" 2>/dev/null
step inference 35 "${KIT[@]}" bench --export "$EXPORT" --backends "$ORT:$OPT,torch:bf16,$ORT:fp32" \
    --strategies bucketed,fixed --fixed-lengths 128 --max-length 128 --batch-sizes 128 --limit "$ROWS" \
    --output "$RESULTS/inference"
step latency 20 "${KIT[@]}" bench --export "$EXPORT" --backends "$ORT:$OPT,$ORT:fp32" --strategies bucketed \
    --max-length 128 --batch-sizes 1 --limit "$LATENCY_ROWS" --output "$RESULTS/latency"
exit "$failed"
