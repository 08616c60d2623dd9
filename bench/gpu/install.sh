#!/usr/bin/env bash
# Join the bundle's parts, check its sha256, unpack it into GPU_WORK/bundle and install it into GPU_SITE
# ahead of the running Python's own packages, leaving one onnxruntime: the carried GPU build.
# S1 runs it on the GPU machine; check_image.sh runs it here into the image's Python 3.12 environment.
#   bash bench/gpu/install.sh PARTS_DIR      (PARTS_DIR holds part-* and SHA256SUMS)
set -euo pipefail
parts=$(cd "${1:?the folder with part-* and SHA256SUMS}" && pwd)
GPU_WORK=${GPU_WORK:-/tmp/gpu} GPU_SITE=${GPU_SITE:-/tmp/site}
mkdir -p "$GPU_WORK" "$GPU_SITE"
cat "$parts"/part-* > "$GPU_WORK/bundle.tar.xz"
(cd "$GPU_WORK" && grep ' bundle.tar.xz$' "$parts/SHA256SUMS" | sha256sum --check --quiet)
rm -rf "$GPU_WORK/bundle" && mkdir -p "$GPU_WORK/bundle"
tar -C "$GPU_WORK/bundle" -xJf "$GPU_WORK/bundle.tar.xz" && rm "$GPU_WORK/bundle.tar.xz"
if compgen -G "$GPU_WORK/bundle/wheels/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$GPU_SITE" \
        "$GPU_WORK"/bundle/wheels/*.whl
fi
if [ -d "$GPU_WORK/bundle/site/onnxruntime" ]; then
    cp -r "$GPU_WORK/bundle/site/." "$GPU_SITE/"
    python3 -m pip uninstall -y -q onnxruntime  # the image's CPU build: one onnxruntime, not two by path order
fi
touch "$GPU_SITE/.nsmckit-installed"
echo "installed into $GPU_SITE: $(ls "$GPU_SITE" | grep -c dist-info) distributions"
