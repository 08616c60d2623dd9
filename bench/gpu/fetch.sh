#!/usr/bin/env bash
# Run HERE (no GPU needed): everything the GPU run carries, as one bundle cut into parts that fit a device
# call (the working tree travels too, 64 MiB a call in all), in the git-ignored folder .gpu-bundle/:
#   bundle.tar.xz = wheels/ (bench/gpu/wheels.txt, cp312) + site/ (onnxruntime-gpu, unpacked: xz shrinks its
#                   CUDA library better than the wheel's zip does) + data/ (NSMC, klue/bert-base config+tokenizer)
#   part-aa, part-ab, ...  (PART_MIB each) and SHA256SUMS (every part, and the bundle)
# REHEARSAL=1: the data only, for bench/gpu/rehearse.sh (which also sets GPU_BUNDLE and PART_MIB).
set -euo pipefail
cd "$(dirname "$0")/../.."
PART_MIB=${PART_MIB:-56}
out=${GPU_BUNDLE:-.gpu-bundle}
work=$(mktemp -d /tmp/nsmckit-bundle.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/wheels" "$work/site" "$work/data/nsmc"
cp "${NSMC_DATA_DIR:-../shared/data/nsmc}"/ratings_{train,test}.txt "$work/data/nsmc/"
cp -r "${KLUE_DIR:-../shared/models/klue-bert-base}" "$work/data/klue-bert-base"
if [ "${REHEARSAL:-0}" != 1 ]; then
    pip_download() {
        python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
            --platform manylinux2014_x86_64 --platform any "$@"
    }
    # shellcheck disable=SC2046  # one requirement per word, on purpose
    pip_download -d "$work/wheels" $(grep -v '^#' bench/gpu/wheels.txt)
    ort=$(sed -n 's/^ARG ORT_GPU=\([^[]*\)\[.*\]\(==.*\)$/\1\2/p' Dockerfile)  # onnxruntime-gpu==X, no extras
    pip_download -d "$work/ort" "$ort"
    (cd "$work/site" && python3 -m zipfile -e "$work"/ort/onnxruntime_gpu-*.whl .)
fi
rm -rf "$out" && mkdir -p "$out"
tar -C "$work" -cf - wheels site data | xz -T0 -6 > "$out/bundle.tar.xz"
(cd "$out" && split -b "${PART_MIB}M" bundle.tar.xz part- && sha256sum part-* bundle.tar.xz > SHA256SUMS && rm bundle.tar.xz)
du -sh "$out"/part-* | sed 's|^|  |'
echo "$(ls "$out"/part-* | wc -l) parts in $out; next: the calls in bench/gpu/README.md"
