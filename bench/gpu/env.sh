# shellcheck shell=bash disable=SC2034  # sourced: the stages use these variables
# Sourced by every stage of the GPU run (bench/gpu/s*.sh): where things are, the run's sizes, and the
# EXIT trap that leaves ONE archive and ONE log per stage in $OUT, so a stage cut off by its time limit
# still returns what it measured. REHEARSAL=1 runs the same stages at toy size on a CPU (rehearse.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

STAGE=${STAGE:?set by the stage script}
GPU_WORK=${GPU_WORK:-/tmp/gpu}          # the machine's scratch: parts, the unpacked bundle, the export
GPU_SITE=${GPU_SITE:-/tmp/site}         # carried Python packages, ahead of the image's own
OUT=${OUT:?the device tool sets OUT: the folder that comes back}
RESULTS=$GPU_WORK/results/$STAGE        # what this stage archives
mkdir -p "$RESULTS"
exec > >(tee "$OUT/$STAGE.log") 2>&1
LOG_PID=$!

finish() {
    local code=$?
    tar -C "$GPU_WORK/results" -czf "$OUT/$STAGE.tar.gz" "$STAGE" 2>/dev/null || true
    echo "== $STAGE ended with exit code $code; $OUT/$STAGE.tar.gz holds $(find "$RESULTS" -type f | wc -l) files"
    exec >&- 2>&-
    wait "$LOG_PID" || true  # the log is complete before the call returns
}
trap finish EXIT

# step NAME SECONDS COMMAND...: one timed, bounded step; a step that fails or times out does not stop the
# stage (the next steps may still measure), but the stage's exit code says so.
failed=0
step() {
    local name=$1 seconds=$2
    shift 2
    echo "== $STAGE/$name (at most ${seconds}s): $*"
    local start=$SECONDS
    if timeout --kill-after=10 "$seconds" "$@"; then
        echo "== $STAGE/$name: ok in $((SECONDS - start))s"
    else
        echo "== $STAGE/$name: FAILED (exit $?) after $((SECONDS - start))s"
        failed=1
    fi
}

# inference_grid SECONDS BACKEND...: fixed-128 / dynamic / sorted x BATCHES on ROWS, one bench run per backend,
# each into RESULTS/<backend> (results written after every cell).
inference_grid() {
    local seconds=$1 backend
    shift
    for backend in "$@"; do
        step "bench-${backend/:/-}" "$seconds" "${KIT[@]}" bench --export "$EXPORT" --backends "$backend" \
            --strategies fixed,dynamic,sorted --fixed-lengths 128 --max-length 128 --batch-sizes "$BATCHES" \
            "${ROWS[@]}" --output "$RESULTS/${backend/:/-}"
    done
}

# Stages after the install need it: a machine given back (30 s idle) comes back bare.
require_install() {
    if [ ! -f "$GPU_SITE/.nsmckit-installed" ]; then
        echo "$GPU_SITE is missing: this machine is not the one S1 installed (it was given back after 30 s idle)." \
            "Run the part calls and S1 again, back to back (bench/gpu/README.md)." >&2
        exit 3
    fi
}

DATA=$GPU_WORK/bundle/data
export NSMC_DATA_DIR=$DATA/nsmc
MODEL=$DATA/klue-bert-base
EXPORT=$GPU_WORK/export
export PYTHONPATH=$GPU_SITE:$PWD
# onnxruntime-gpu has no RUNPATH to CUDA: the image's CUDA and cuDNN wheels (there for torch) go on the
# loader's path, for the server that imports no torch.
NVIDIA_LIBS=$(python3 -c 'import glob, site; print(":".join(sorted(p for d in site.getsitepackages() for p in glob.glob(d + "/nvidia/*/lib"))))')
export LD_LIBRARY_PATH=$NVIDIA_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
KIT=(python3 -m kit.cli)  # nsmckit from this checkout (a function would not run under `timeout`)

if [ "${REHEARSAL:-0}" = 1 ]; then
    # The same stages on a CPU: a 2-layer klue architecture, a few hundred rows, ONNX Runtime on the CPU.
    ORT=ort-cpu OPT=O2 PROVIDER=cpu
    ARCH=(--no-weights --config-overrides "num_hidden_layers=2,hidden_size=64,intermediate_size=128,num_attention_heads=2")
    ROWS=(--limit 300) LATENCY_ROWS=60 TRAIN_ROWS=400 TRAIN_STEPS=3 EPOCH=(--limit 300) SECONDS_PER_LEVEL=1
    CONCURRENCY=1,4 BATCHES=8,32 TRAIN_BATCHES=8,16
else
    ORT=ort-cuda OPT=O4 PROVIDER=cuda
    ARCH=(--no-weights)  # klue/bert-base itself, random weights: speed does not depend on their values
    ROWS=(--all-rows) LATENCY_ROWS=3000 TRAIN_ROWS=20000 TRAIN_STEPS=100 EPOCH=() SECONDS_PER_LEVEL=12
    CONCURRENCY=1,8,32,64,128,256 BATCHES=32,128,512 TRAIN_BATCHES=32,128
fi
