#!/usr/bin/env bash
# Run HERE whenever wheels-a.txt, wheels-b.txt, the ORT pin or an import changes: the GPU image's Python (3.12,
# with the image's versions, bench/gpu/image.txt), then the whole rehearsal with that Python and the REAL
# bundle: its wheels installed as c1 and c4 install them, onnxruntime-gpu (which must run the CPU cells here
# and refuse CUDA), every call at toy size. Prints the first failure. Downloads the image's torch once (GBs).
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
if [ ! -x "$image/venv/bin/python3" ] || [ bench/gpu/image.txt -nt "$image/venv/bin/python3" ]; then
    rm -rf "$image/venv"
    "$python" -m venv "$image/venv"
    "$image/venv/bin/pip" install -q --upgrade pip
    # shellcheck disable=SC2046  # one requirement per word, on purpose
    "$image/venv/bin/pip" install -q $(grep -v '^#' bench/gpu/image.txt)
fi
export PATH=$PWD/$image/venv/bin:$PATH
python3 --version
bash bench/gpu/fetch.sh
if ! BUNDLE=real GPU_BUNDLE=$PWD/.gpu-bundle bash bench/gpu/rehearse.sh "$image/results" > "$image/rehearsal.log" 2>&1 \
    || grep -q "FAILED" "$image/rehearsal.log"; then
    first=$(grep -n "FAILED\|^Error\|Traceback" "$image/rehearsal.log" | head -1 | cut -d: -f1)
    sed -n "$((${first:-1} > 30 ? ${first:-1} - 30 : 1)),$((${first:-1} + 3))p" "$image/rehearsal.log"
    echo "check_image: the first failure is above (whole log: $image/rehearsal.log)" >&2
    exit 1
fi
grep -h "carried distributions import" "$image"/results/c*/c*.log
echo "check_image: the image's Python with the real bundle ran every call ($image/rehearsal.log)"
