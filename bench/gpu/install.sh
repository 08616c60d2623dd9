#!/usr/bin/env bash
# The carried bundles on the GPU machine (fetch.sh makes them here; each call carries its share):
#   install.sh a PART   bundle A: NSMC + the klue config/tokenizer into GPU_WORK/a, its wheels into GPU_SITE;
#                       then keeps PART (a piece of bundle B that rode along)
#   install.sh keep PART   check PART's sha256 and keep it in GPU_WORK/parts for the call that joins them
#   install.sh b        join the parts, check, unpack: wheels into GPU_SITE, onnxruntime-gpu (unpacked) beside
#                       them; then the image's CPU onnxruntime is uninstalled (IMAGE_PYTHON: from that environment),
#                       so one onnxruntime is left, not two in path order
# Every carried distribution is then checked to import from GPU_SITE, at the carried version, ahead of the
# image's own (transformers 4.57 over the image's 5.x, the GPU onnxruntime over the CPU one).
set -euo pipefail
cd "$(dirname "$0")/../.."
GPU_WORK=${GPU_WORK:-/tmp/gpu} GPU_SITE=${GPU_SITE:-/tmp/site} bundle=${GPU_BUNDLE:-.gpu-bundle}
image_pip=(python3 -m pip ${IMAGE_PYTHON:+--python "$IMAGE_PYTHON"})  # the rehearsal's: a scratch environment
mkdir -p "$GPU_WORK/parts" "$GPU_SITE"

sums=$(cd "$bundle" && pwd)/SHA256SUMS
verify() {  # FOLDER NAME: NAME checked against its line of the carried SHA256SUMS
    (cd "$1" && grep " $2\$" "$sums" | sha256sum --check --quiet)
}

keep() {
    verify "$bundle" "$1"
    cp "$bundle/$1" "$GPU_WORK/parts/"
    echo "$1: sha256 ok; kept: $(cd "$GPU_WORK/parts" && echo b-*)"
}

unpack() {  # NAME.tar.xz FOLDER: unpack, pip install its wheels into GPU_SITE, check they import from there
    rm -rf "$2" && mkdir -p "$2"
    tar -C "$2" -xJf "$1"
    if compgen -G "$2/wheels/*.whl" >/dev/null; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$GPU_SITE" \
            "$2"/wheels/*.whl
        PYTHONPATH=$GPU_SITE python3 bench/gpu/carried.py "$GPU_SITE" "$2"/wheels/*.whl
    fi
}

case ${1:?a, keep or b} in
    a)
        verify "$bundle" a.tar.xz
        unpack "$bundle/a.tar.xz" "$GPU_WORK/a"
        touch "$GPU_SITE/.installed-a"
        keep "${2:?the part of bundle B that rode along}"
        ;;
    keep)
        keep "${2:?which part: b-aa, b-ab, ...}"
        ;;
    b)
        cat "$GPU_WORK"/parts/b-* > "$GPU_WORK/b.tar.xz"
        verify "$GPU_WORK" b.tar.xz
        unpack "$GPU_WORK/b.tar.xz" "$GPU_WORK/b" && rm "$GPU_WORK/b.tar.xz"
        cp -r "$GPU_WORK/b/site/." "$GPU_SITE/"
        env -u PYTHONPATH "${image_pip[@]}" uninstall -y -q onnxruntime 2>&1 | grep -v "WARNING: Skipping" || true
        if env -u PYTHONPATH "${IMAGE_PYTHON:-python3}" -c "import importlib.util as u; exit(u.find_spec('onnxruntime') is None)"; then
            echo "the image's onnxruntime is still there after the uninstall" >&2
            exit 1
        fi
        echo "the image's onnxruntime is uninstalled: the carried GPU build is the only one"
        PYTHONPATH=$GPU_SITE python3 bench/gpu/carried.py "$GPU_SITE" onnxruntime
        touch "$GPU_SITE/.installed-b"
        ;;
    *)
        echo "usage: install.sh a PART | keep PART | b" >&2
        exit 2
        ;;
esac
