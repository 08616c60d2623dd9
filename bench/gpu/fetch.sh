#!/usr/bin/env bash
# Run HERE (no GPU needed) before the calls: what the GPU run carries, in the git-ignored folder .gpu-bundle/:
#   a.tar.xz           bundle A, with call c1: wheels-a.txt (cp312) + NSMC + the klue/bert-base config/tokenizer
#   b-aa ... b-ad      bundle B cut into the parts of bench/gpu/plan.py, one riding with each of c1-c4:
#                      wheels-b.txt + onnxruntime-gpu (the Dockerfile's ORT_GPU pin) unpacked, as xz shrinks
#                      its CUDA library better than the wheel's zip does
#   SHA256SUMS, STAMP  checksums; what the bundle was made from (a current bundle is reused, not rebuilt)
# Takes about 1.5 minutes on a 2-core machine (downloads ~5 s, xz of bundle B ~65 s); prints how long it took.
# REHEARSAL=1 (rehearse.sh): tiny wheels made here and this Python's own onnxruntime, so nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$SECONDS
out=${GPU_BUNDLE:-.gpu-bundle}
data=${NSMC_DATA_DIR:-../shared/data/nsmc} klue=${KLUE_DIR:-../shared/models/klue-bert-base}
ort=$(sed -n 's/^ARG ORT_GPU=\([^[]*\)\[.*\]\(==.*\)$/\1\2/p' Dockerfile)  # onnxruntime-gpu==X, no extras
stamp=$(
    cat bench/gpu/wheels-a.txt bench/gpu/wheels-b.txt bench/gpu/plan.py bench/gpu/toy_wheel.py
    echo "$ort REHEARSAL=${REHEARSAL:-0}"
    ls -lL "$data"/ratings_{train,test}.txt "$klue"
)
stamp=$(sha256sum <<< "$stamp" | cut -d' ' -f1)
if [ "$(cat "$out/STAMP" 2>/dev/null)" = "$stamp" ] \
    && (cd "$out" && grep -v ' b.tar.xz$' SHA256SUMS | sha256sum --check --quiet 2>/dev/null); then
    echo "$out is current (made from the same lists, pin, plan and data): reused in $((SECONDS - start)) s"
    exit 0
fi
work=$(mktemp -d /tmp/nsmckit-bundle.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/a/{wheels,data/nsmc} "$work"/b/{wheels,site} "$work/ort"
cp "$data"/ratings_{train,test}.txt "$work/a/data/nsmc/"
cp -r "$klue" "$work/a/data/klue-bert-base"
if [ "${REHEARSAL:-0}" = 1 ]; then
    python3 bench/gpu/toy_wheel.py nsmckit_rehearsal_a "$work/a/wheels" >/dev/null
    python3 bench/gpu/toy_wheel.py nsmckit_rehearsal_b "$work/b/wheels" >/dev/null
    python3 -c 'import onnxruntime, os, sys; print(os.path.dirname(onnxruntime.__file__))' \
        | xargs -I{} cp -r {} "$work/b/site/"
    level=-0
else
    pip_download() {  # cp312 manylinux wheels, whatever Python runs here
        python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
            --platform manylinux2014_x86_64 --platform any "$@"
    }
    # shellcheck disable=SC2046  # one requirement per word, on purpose
    pip_download -d "$work/a/wheels" $(grep -v '^#' bench/gpu/wheels-a.txt)
    # shellcheck disable=SC2046
    pip_download -d "$work/b/wheels" $(grep -v '^#' bench/gpu/wheels-b.txt)
    pip_download -d "$work/ort" "$ort"
    (cd "$work/b/site" && python3 -m zipfile -e "$work"/ort/*.whl .)
    level=-6
fi
echo "downloaded in $((SECONDS - start)) s; compressing (xz $level)"
rm -rf "$out" && mkdir -p "$out"
tar -C "$work/a" -cf - wheels data | xz -T0 "$level" > "$out/a.tar.xz"
a_mib=$(du -m "$out/a.tar.xz" | cut -f1)
max_a=$(python3 -c 'import sys; sys.path.insert(0, "bench/gpu"); import plan; print(plan.A_MAX_MIB)')
[ "$a_mib" -le "$max_a" ] || { echo "bundle A is $a_mib MiB, more than plan.A_MAX_MIB ($max_a)" >&2; exit 1; }
tar -C "$work/b" -cf - wheels site | xz -T0 "$level" > "$work/b.tar.xz"
python3 bench/gpu/plan.py cut "$work/b.tar.xz" "$out"
(cd "$out" && sha256sum a.tar.xz b-a?) > "$out/SHA256SUMS"
(cd "$work" && sha256sum b.tar.xz) >> "$out/SHA256SUMS"  # what install.sh b checks once the parts are joined
echo "$stamp" > "$out/STAMP"
echo "  a.tar.xz: ${a_mib} MiB"
echo "made $out in $((SECONDS - start)) s; next: the calls in bench/gpu/README.md"
