#!/usr/bin/env bash
# Run HERE whenever wheels.txt, the ORT pin or an import changes: the GPU image's Python (3.12, with the
# image's versions, bench/gpu/image.txt) plus the carried bundle installed as S1 installs it, then the whole
# rehearsal (every stage's commands, at toy size, on this CPU: the GPU build of onnxruntime included, where
# it must fall back to nothing silently) run with that Python. Prints the first failure.
#   bash bench/gpu/check_image.sh        (needs python3.12; the environment is kept in .gpu-image/)
set -euo pipefail
cd "$(dirname "$0")/../.."
image=.gpu-image
python=${PYTHON312:-}
for candidate in python3.12 "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.12*/bin/python3; do
    [ -n "$python" ] && break
    "$candidate" --version >/dev/null 2>&1 && python=$candidate
done
[ -n "$python" ] || { echo "check_image: no Python 3.12 here; set PYTHON312 to one" >&2; exit 1; }
[ -f .gpu-bundle/SHA256SUMS ] || bash bench/gpu/fetch.sh
if [ ! -x "$image/venv/bin/python3" ] || [ bench/gpu/image.txt -nt "$image/venv/bin/python3" ]; then
    rm -rf "$image/venv"
    "$python" -m venv "$image/venv"
    "$image/venv/bin/pip" install -q --upgrade pip
    # shellcheck disable=SC2046  # one requirement per word, on purpose
    "$image/venv/bin/pip" install -q $(grep -v '^#' bench/gpu/image.txt)
fi
export PATH=$PWD/$image/venv/bin:$PATH
python3 --version
rm -rf "$image/site" "$image/work"
GPU_WORK=$PWD/$image/work GPU_SITE=$PWD/$image/site bash bench/gpu/install.sh .gpu-bundle
imported=$(PYTHONPATH=$image/site python3 -c "import onnxruntime; print(onnxruntime.__file__)")
case $imported in
    "$PWD/$image/site/"*) echo "onnxruntime: the carried GPU build ($imported)" ;;
    *) echo "check_image: onnxruntime comes from $imported, not the carried GPU build" >&2; exit 1 ;;
esac
if ! GPU_SITE=$PWD/$image/site bash bench/gpu/rehearse.sh "$image/results" > "$image/rehearsal.log" 2>&1 \
    || grep -q "FAILED" "$image/rehearsal.log"; then
    first=$(grep -n "FAILED\|^Error\|Traceback" "$image/rehearsal.log" | head -1 | cut -d: -f1)
    sed -n "$((${first:-1} > 30 ? ${first:-1} - 30 : 1)),$((${first:-1} + 3))p" "$image/rehearsal.log"
    echo "check_image: the first failure is above (whole log: $image/rehearsal.log)" >&2
    exit 1
fi
echo "check_image: the image's Python with the carried bundle ran every stage ($image/rehearsal.log)"
