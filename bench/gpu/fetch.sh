#!/usr/bin/env bash
# Run HERE (no GPU needed): gather what the GPU machine lacks into git-ignored folders.
#   .whl/       python 3.12 wheels from bench/gpu/wheels.txt          (carry: .whl)
#   .whl-ort/   onnxruntime-gpu (CUDA 13 build) split into 60 MB parts (carry one part per call)
#   .gpu-data/  NSMC files and the klue/bert-base config + tokenizer   (carry: .gpu-data)
set -euo pipefail
cd "$(dirname "$0")/../.."
ORT=onnxruntime-gpu==1.31.1
platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux1_x86_64)
pip_download() {
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        "${platforms[@]}" --platform any "$@"
}
mkdir -p .whl .whl-ort .gpu-data
# shellcheck disable=SC2046  # one requirement per word, on purpose
pip_download -d .whl $(grep -v '^#' bench/gpu/wheels.txt)
pip_download -d /tmp/nsmckit-ort "$ORT"
(cd /tmp/nsmckit-ort && sha256sum onnxruntime_gpu-*.whl) > .whl-ort/SHA256SUMS
split -b 60M /tmp/nsmckit-ort/onnxruntime_gpu-*.whl .whl-ort/part-
cp ../shared/data/nsmc/ratings_*.txt .gpu-data/
cp -r ../shared/models/klue-bert-base .gpu-data/
du -sh .whl .whl-ort .gpu-data
ls .whl-ort
