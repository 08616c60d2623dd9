#!/usr/bin/env bash
# The GPU run's whole call sequence on this CPU, at toy size, through the same scripts and paths: fetch.sh
# (tiny wheels and this Python's onnxruntime as the "GPU build", so nothing is downloaded), c1-c5 in order,
# each with an empty OUT of its own as the device tool gives it, the bundles installed by the real
# `pip install --target`, the CPU onnxruntime uninstalled from a scratch copy of an environment (never from
# this one), the same cells and step order (a 2-layer klue architecture, ONNX Runtime on the CPU, O2 for
# O4), serving at concurrency 64; then collect.sh. A renamed flag or a broken call fails here (CI:
# tests/test_gpu_plan.py) instead of on the rare GPU lease.
#   bash bench/gpu/rehearse.sh [RESULTS_DIR]     (default: a scratch folder; never bench/results)
# GPU_BUNDLE: a bundle already made (fetch.sh reuses it when current); BUNDLE=real: the real one (real wheels,
# onnxruntime-gpu), as check_image.sh runs it with the image's Python.
set -euo pipefail
cd "$(dirname "$0")/../.."
scratch=$(mktemp -d /tmp/nsmckit-rehearsal.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
export REHEARSAL=1 GPU_WORK=$scratch/machine GPU_SITE=$scratch/machine/site GPU_BUNDLE=${GPU_BUNDLE:-$scratch/bundle}
results=${1:-$scratch/results}

# The image's environment, as far as the uninstall goes: a scratch venv holding a copy of this onnxruntime.
python3 -m venv --without-pip "$scratch/image"
image_site=$("$scratch/image/bin/python3" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
python3 -c 'import glob, onnxruntime, os; d = os.path.dirname(os.path.dirname(onnxruntime.__file__)); \
print("\n".join([os.path.dirname(onnxruntime.__file__), *glob.glob(d + "/onnxruntime-*.dist-info")]))' \
    | xargs -I{} cp -r {} "$image_site/"
export IMAGE_PYTHON=$scratch/image/bin/python3

REHEARSAL=$([ "${BUNDLE:-toy}" = real ] && echo 0 || echo 1) bash bench/gpu/fetch.sh
for call in c1_torch c2_torch c3_torch c4_onnxruntime c5_serve; do
    out=$scratch/calls/${call%%_*}
    mkdir -p "$out"
    OUT=$out bash "bench/gpu/$call.sh" || echo "rehearse: $call exited $?"
    ls "$out"
done
bash bench/gpu/collect.sh --output "$results" "$scratch"/calls/c*
