#!/usr/bin/env bash
# S1, after the part calls: join and verify the bundle, install it into GPU_SITE ahead of the image's
# packages (one onnxruntime: the carried GPU build), probe that ONNX Runtime really runs on CUDA without
# torch and that the server imports, then export the model with O4 and validate it on CUDA.
export STAGE=s1
# shellcheck source=bench/gpu/env.sh
source "$(dirname "$0")/env.sh"
step install 240 bash bench/gpu/install.sh "$GPU_WORK/parts"
[ "$failed" = 0 ] || exit 1  # nothing after this can run without the install
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$RESULTS/gpu.csv" 2>&1 || true
step probe 120 sh -c "python3 bench/gpu/probe.py --provider $PROVIDER > $RESULTS/probe.json"
step export 360 "${KIT[@]}" export --onnx "$MODEL" "${ARCH[@]}" --optimize "$OPT" --max-length 512 \
    --output "$EXPORT" --force
cp "$EXPORT/export.json" "$RESULTS/" 2>/dev/null || true
step probe-export 120 sh -c \
    "python3 bench/gpu/probe.py --provider $PROVIDER --export $EXPORT --variant $OPT > $RESULTS/probe-export.json"
exit "$failed"
